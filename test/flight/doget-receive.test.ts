import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSchema, Row, Value } from '../../src/common/types.js';
import { FlightClient, type LeasedBatch } from '../../src/server/flight/client.js';
import { GrpcCallError, GrpcStreamSession } from '../../src/server/flight/h2-receive.js';
import { encodeFlightMessage } from '../../src/server/flight/proto.js';
import { FRESH_MESSAGE_BUFFERS } from '../../src/server/flight/put-receive.js';
import { mulberry32 as rng } from '../../bench/random.js';
import { batchRows, buildBatch, openFlightTestbed, type FlightTestbed } from './fixtures.js';

// DoGet's own receive path (h2-receive.ts) and leased batches on reused buffers.

const SEED = Number(process.env['SEED'] ?? 11);
const COLUMNS: ColumnSchema[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'name', type: 'string', nullable: true },
  { name: 'price', type: 'double', nullable: true },
];
const TYPES = COLUMNS.map((c) => c.type);
const ROWS = 20_000;
// 3000-row batches of these columns are ~90 KB messages: large enough to be pooled (>= 64 KiB).
const BATCH_ROWS = 3000;

let bed: FlightTestbed;
let client: FlightClient;
let want: Value[][];

function sortRows(rows: Value[][]): Value[][] {
  return [...rows].sort((a, b) => (BigInt(a[0] as bigint) < BigInt(b[0] as bigint) ? -1 : 1));
}

beforeAll(async () => {
  const r = rng(SEED);
  const rows: Row[] = Array.from({ length: ROWS }, (_, i) => [BigInt(i), r() < 0.1 ? null : `n${i}-${'x'.repeat(Math.floor(r() * 9))}`, r() < 0.1 ? null : r() * 100]);
  want = sortRows(rows.map((row) => [...row]));
  bed = await openFlightTestbed('saiga-doget-receive-', async (storage) => {
    await storage.createDatabase('shop');
    await storage.createTable({ database: 'shop', name: 't', schema: { columns: COLUMNS, keyColumnCount: 1 }, partitionSchema: { hash: [{ columns: ['id'], buckets: 2, seed: 0 }], rangeColumns: [] } });
    await storage.writeArrow('shop', 't', 'insert', buildBatch(COLUMNS, rows));
  }, { database: 'shop', limits: { batchRowsMax: BATCH_ROWS } });
  client = bed.client;
});

afterAll(async () => {
  await bed?.close();
});

describe(`DoGet receive path (seed ${SEED})`, () => {
  it('leased batches read before release() hold the rows; their buffers are reused', async () => {
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 't'] });
    const got: Value[][] = [];
    // memory of the batches received into pooled buffers (capacity rounded up to 1 MiB; smaller
    // messages, e.g. a tablet's last short batch, get a buffer of their own)
    const pooled = new Set<ArrayBufferLike>();
    let pooledBatches = 0;
    // Endpoints in parallel on one connection, as the bench reads them.
    await Promise.all(info.tickets.map((t) => client.doGetLeased(t, (b) => {
      got.push(...batchRows(b.batch, TYPES));
      const memory = (b.batch.data.children[0]?.values as Uint8Array).buffer;
      if (memory.byteLength >= 1 << 20) {
        pooled.add(memory);
        pooledBatches++;
      }
      b.release();
    })));
    expect(sortRows(got)).toEqual(want);
    expect(pooledBatches).toBeGreaterThanOrEqual(2 * info.tickets.length);
    // one buffer per stream being received, reused for every later message
    expect(pooled.size).toBeLessThanOrEqual(info.tickets.length);
  });

  it('a leased batch kept (not released) stays intact while later messages arrive', async () => {
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 't'] });
    const kept: LeasedBatch[] = [];
    const atArrival: Value[][][] = [];
    for (const t of info.tickets) {
      await client.doGetLeased(t, (b) => {
        kept.push(b);
        atArrival.push(batchRows(b.batch, TYPES));
      });
    }
    expect(kept.map((b) => batchRows(b.batch, TYPES))).toEqual(atArrival);
    expect(sortRows(atArrival.flat())).toEqual(want);
    for (const b of kept) b.release();
    // released twice is harmless
    for (const b of kept) b.release();
  });

  it('doGetEach batches have buffers of their own', async () => {
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 't'] });
    const memories = new Set<ArrayBufferLike>();
    let batches = 0;
    const all = await Promise.all(info.tickets.map((t) => client.doGet(t)));
    for (const p of all) for (const b of p.batches) {
      memories.add((b.data.children[0]?.values as Uint8Array).buffer);
      batches++;
    }
    expect(memories.size).toBe(batches);
    expect(sortRows(all.flatMap((p) => p.batches.flatMap((b) => batchRows(b, TYPES))))).toEqual(want);
  });

  it('a reader that throws cancels the call and gets its own error; the client goes on', async () => {
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 't'] });
    let seen = 0;
    await expect(client.doGetLeased(info.tickets[0]!, () => {
      if (++seen === 2) throw new Error('reader stops here');
    })).rejects.toThrow('reader stops here');
    expect(seen).toBe(2);
    const again = await client.doGet(info.tickets[0]!);
    expect(again.batches.reduce((n, b) => n + b.numRows, 0)).toBeGreaterThan(0);
  });

  it('errors carry the gRPC status: bad ticket, unknown method, oversized message, no server', async () => {
    const bad = await client.doGet(new Uint8Array([1, 2, 3])).then(() => undefined, (e: unknown) => e as GrpcCallError);
    expect(bad?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad?.message).toMatch(/^3 INVALID_ARGUMENT: /);

    const s = new GrpcStreamSession(`127.0.0.1:${bed.server.port}`, 1 << 20, 1000);
    try {
      const unknown = await s.serverStream('/arrow.flight.protocol.FlightService/NoSuchMethod', new Uint8Array(0), { buffers: FRESH_MESSAGE_BUFFERS }, () => undefined)
        .then(() => undefined, (e: unknown) => e as GrpcCallError);
      expect(unknown?.code).toBe(status.UNIMPLEMENTED);
      // a DoGet batch message exceeds this session's 1000-byte limit
      const info = await client.getFlightInfo({ type: 'path', path: ['shop', 't'] });
      const ticket = encodeFlightMessage('Ticket', { ticket: info.tickets[0]! });
      const big = await s.serverStream('/arrow.flight.protocol.FlightService/DoGet', ticket, { buffers: FRESH_MESSAGE_BUFFERS }, () => undefined)
        .then(() => undefined, (e: unknown) => e as GrpcCallError);
      expect(big?.code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      s.close();
    }

    const nobody = new FlightClient('127.0.0.1:1');
    try {
      const e = await nobody.doGet(new Uint8Array([1])).then(() => undefined, (x: unknown) => x as GrpcCallError);
      expect(e?.code).toBe(status.UNAVAILABLE);
    } finally {
      nobody.close();
    }
  });
});
