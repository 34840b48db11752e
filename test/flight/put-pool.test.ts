import type { Data, RecordBatch } from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import type { StorageApi, WriteOpKind, WriteResult } from '../../src/common/storage-api.js';
import type { ColumnSchema, Row } from '../../src/common/types.js';
import type { QueryEngine } from '../../src/query/api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { FlightClient } from '../../src/server/flight/client.js';
import { POOLED_MESSAGE_BYTES_MIN } from '../../src/server/flight/put-receive.js';
import { startFlightServer, type FlightServer } from '../../src/server/flight/server.js';
import { batchRows, buildBatch } from './fixtures.js';

/**
 * DoPut reads large messages into reused buffers (put-receive.ts): a buffer must not be reused
 * while the write that received its batch is still in flight. The storage here holds every
 * batch until a later timer, then checks that its bytes are still the ones it was handed.
 */
const SEED = Number(process.env['SEED'] ?? 3);

const COLUMNS: ColumnSchema[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 's', type: 'string', nullable: false },
];

let dir: string;
let storage: StorageApi;
let engine: QueryEngine;
let server: FlightServer;
let client: FlightClient;
/** Batches whose bytes changed while their write was in flight. */
const changed: string[] = [];

function bytesOf(d: Data): Buffer {
  const parts: Buffer[] = [];
  for (const b of [d.values as unknown, d.valueOffsets as unknown]) if (ArrayBuffer.isView(b)) parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  for (const c of d.children) parts.push(bytesOf(c));
  return Buffer.concat(parts);
}

/** The real storage, but writeArrow holds the batch 1-8 ms before writing it, then checks it is unchanged. */
function holding(real: StorageApi): StorageApi {
  let calls = 0;
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'writeArrow') {
        return async (db: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> => {
          const n = ++calls;
          const before = bytesOf(batch.data);
          await new Promise((r) => setTimeout(r, 1 + ((n * 7 + SEED) % 8)));
          if (!bytesOf(batch.data).equals(before)) changed.push(`write ${n}`);
          return target.writeArrow(db, table, kind, batch);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-flight-pool-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  engine = createQueryEngine({ storage });
  await storage.createDatabase('t');
  await storage.createTable({ database: 't', name: 'p', schema: { columns: COLUMNS, keyColumnCount: 1 }, partitionSchema: { hash: [{ columns: ['id'], buckets: 3, seed: 0 }], rangeColumns: [] } });
  server = await startFlightServer({ storage: holding(storage), engine, port: 0, limits: { putWritesInFlightMax: 3 } });
  client = new FlightClient(`127.0.0.1:${server.port}`);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await engine?.close();
  await storage?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('DoPut message buffer reuse', () => {
  it(`large batches arrive intact while earlier writes are in flight, and every row is stored (seed ${SEED})`, async () => {
    let x = SEED;
    const want = new Map<bigint, string>();
    const batches: RecordBatch[] = [];
    let id = 0n;
    for (let i = 0; i < 14; i++) {
      const rows: Row[] = [];
      // ~3000 rows of 20-60 byte strings: each message is well above the pooling threshold.
      for (let k = 0; k < 3000; k++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const s = `b${i}r${k}:` + 'abcdefghijklmnopqrstuvwxyz'.repeat(2).slice(0, 12 + (x % 40));
        rows.push([id, s]);
        want.set(id, s);
        id++;
      }
      batches.push(buildBatch(COLUMNS, rows));
    }
    expect(bytesOf(batches[0]!.data).byteLength).toBeGreaterThan(POOLED_MESSAGE_BYTES_MIN);
    const results = await client.putBatches({ type: 'path', path: ['t', 'p'] }, batches[0]!.schema, batches) as { appliedCount: number }[];
    expect(results.reduce((n, r) => n + r.appliedCount, 0)).toBe(want.size);
    expect(changed).toEqual([]);
    const got = new Map<bigint, string>();
    for await (const b of storage.scan('t', 'p', { projection: ['id', 's'], readMode: { kind: 'latest' } })) {
      for (const [k, s] of batchRows(b, ['int64', 'string'])) got.set(k as bigint, s as string);
    }
    expect(got.size).toBe(want.size);
    for (const [k, s] of want) if (got.get(k) !== s) expect(got.get(k), `row ${k}`).toBe(s);
  });
});
