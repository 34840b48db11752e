import { status } from '@grpc/grpc-js';
import type { RecordBatch } from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { SaigaError } from '../../src/common/errors.js';
import type { BulkLoad, StorageApi, WriteOpKind, WriteResult } from '../../src/common/storage-api.js';
import type { ColumnSchema, Row } from '../../src/common/types.js';
import type { QueryEngine } from '../../src/query/api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { FlightClient } from '../../src/server/flight/client.js';
import { startFlightServer, type FlightServer } from '../../src/server/flight/server.js';
import { batchRows, buildBatch } from './fixtures.js';

/**
 * DoPut with several storage writes in flight: results and row order as if one at a time, and
 * an exact account of what is durable when a write in the middle fails.
 */
const SEED = Number(process.env['SEED'] ?? 5);

const COLUMNS: ColumnSchema[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'v', type: 'int32', nullable: true },
];

let dir: string;
let storage: StorageApi;
let engine: QueryEngine;
let server: FlightServer;
let client: FlightClient;
/** writeArrow calls seen by the proxy, and which call number (1-based) should fail. */
let writeCalls = 0;
let failCall = 0;

/** Whether DoPut sees the storage's bulkLoad (else it writes with writeArrow). */
let bulkMode = false;

/** A bulk load whose write call `failCall` (counted with writeCalls) fails, odd calls slowed down. */
function failingLoad(real: BulkLoad): BulkLoad {
  return {
    write: async (batch: RecordBatch): Promise<WriteResult> => {
      const n = ++writeCalls;
      if (n === failCall) {
        await new Promise((r) => setTimeout(r, 30));
        throw new SaigaError('IOError', `injected failure of write ${n}`);
      }
      const p = real.write(batch);
      if (n % 2 === 1) await new Promise((r) => setTimeout(r, 5));
      return p;
    },
    finish: () => real.finish(),
    abort: () => real.abort(),
  };
}

/** The real storage, except that writeArrow call `failCall` fails, and odd calls are slowed down so later writes overtake them. */
function proxied(real: StorageApi): StorageApi {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'bulkLoad') {
        if (!bulkMode || target.bulkLoad === undefined) return undefined;
        const bulkLoad = target.bulkLoad.bind(target);
        return (db: string, table: string): BulkLoad => failingLoad(bulkLoad(db, table));
      }
      if (prop === 'writeArrow') {
        return async (db: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> => {
          const n = ++writeCalls;
          if (n === failCall) {
            await new Promise((r) => setTimeout(r, 30));
            throw new SaigaError('IOError', `injected failure of write ${n}`);
          }
          const p = target.writeArrow(db, table, kind, batch);
          if (n % 2 === 1) await new Promise((r) => setTimeout(r, 5));
          return p;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function ids(table: string): Promise<Map<bigint, number | null>> {
  const out = new Map<bigint, number | null>();
  for await (const b of storage.scan('t', table, { projection: ['id', 'v'], readMode: { kind: 'latest' } })) {
    for (const [id, v] of batchRows(b, ['int64', 'int32'])) out.set(id as bigint, v as number | null);
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-flight-ingest-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  engine = createQueryEngine({ storage });
  await storage.createDatabase('t');
  for (const name of ['up', 'fail', 'bulk', 'bulkfail']) {
    await storage.createTable({ database: 't', name, schema: { columns: COLUMNS, keyColumnCount: 1 }, partitionSchema: { hash: [{ columns: ['id'], buckets: 2, seed: 0 }], rangeColumns: [] } });
  }
  server = await startFlightServer({ storage: proxied(storage), engine, port: 0, limits: { putWritesInFlightMax: 3 } });
  client = new FlightClient(`127.0.0.1:${server.port}`);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await engine?.close();
  await storage?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('DoPut with writes in flight', () => {
  it(`upserts of the same keys in consecutive batches apply in upload order (seed ${SEED})`, async () => {
    failCall = 0;
    const batches: RecordBatch[] = [];
    const want = new Map<bigint, number>();
    let x = SEED;
    for (let i = 0; i < 12; i++) {
      const rows: Row[] = [];
      for (let k = 0; k < 40; k++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const id = BigInt(x % 60);
        if (rows.some((r) => r[0] === id)) continue;
        rows.push([id, i * 1000 + k]);
        want.set(id, i * 1000 + k);
      }
      batches.push(buildBatch(COLUMNS, rows));
    }
    const results = await client.putBatches({ type: 'path', path: ['t', 'up'] }, batches[0]!.schema, batches, 'upsert') as { firstRow: number; rowCount: number; appliedCount: number }[];
    // one PutResult per batch, in upload order
    expect(results.map((r) => r.rowCount)).toEqual(batches.map((b) => b.numRows));
    let first = 0;
    for (const r of results) {
      expect(r.firstRow).toBe(first);
      expect(r.appliedCount).toBe(r.rowCount);
      first += r.rowCount;
    }
    expect(Object.fromEntries(await ids('up'))).toEqual(Object.fromEntries(want));
  });

  for (const [label, table] of [['writeArrow', 'fail'], ['bulk load', 'bulkfail']] as const) {
  it(`a failed write in the middle: the status names exactly the durable rows (${label})`, async () => {
    writeCalls = 0;
    failCall = 4;
    bulkMode = table === 'bulkfail';
    const batches = Array.from({ length: 10 }, (_, i) => buildBatch(COLUMNS, Array.from({ length: 100 }, (_, k): Row => [BigInt(i * 100 + k), i])));
    let err: { code: number; details: string } | undefined;
    try {
      await client.putBatches({ type: 'path', path: ['t', table] }, batches[0]!.schema, batches);
    } catch (e) {
      err = e as { code: number; details: string };
    }
    failCall = 0;
    bulkMode = false;
    expect(err?.code).toBe(status.INTERNAL);
    expect(err?.details).toContain('injected failure of write 4');
    const m = /(\d+) rows of this upload were written and are durable(?: \(upload rows (.*?)\))?; the other/.exec(err?.details ?? '');
    expect(m, err?.details).not.toBeNull();
    const stored = await ids(table);
    expect(stored.size).toBe(Number(m![1]));
    // batch 4 (rows 300..399) is not there; batches 1-3 are
    for (let k = 0; k < 300; k++) expect(stored.has(BigInt(k))).toBe(true);
    for (let k = 300; k < 400; k++) expect(stored.has(BigInt(k))).toBe(false);
    // the ranges named (or [0, n) when none are) hold exactly the stored rows
    const ranges = m![2] === undefined ? [[0, Number(m![1])]] : [...m![2].matchAll(/\[(\d+), (\d+)\)/g)].map((x) => [Number(x[1]), Number(x[2])]);
    expect(ranges.reduce((n, [a, b]) => n + b! - a!, 0)).toBe(stored.size);
    for (const id of stored.keys()) expect(ranges.some(([a, b]) => Number(id) >= a! && Number(id) < b!)).toBe(true);
  });
  }

  it('a bulk load: one PutResult per batch after the commit, duplicates and out-of-order batches reported per row', async () => {
    bulkMode = true;
    writeCalls = 0;
    failCall = 0;
    try {
      // Ordered batches (staged), then a batch repeating two keys of batch 0 and one new key (the
      // tablets leave bulk mode: committed, then the ordinary path), then ordered again.
      const batches = [
        ...Array.from({ length: 4 }, (_, i) => buildBatch(COLUMNS, Array.from({ length: 500 }, (_, k): Row => [BigInt(1000 + i * 500 + k), i]))),
        buildBatch(COLUMNS, [[1000n, 99], [1001n, 99], [10n, 99]]),
        buildBatch(COLUMNS, Array.from({ length: 300 }, (_, k): Row => [BigInt(5000 + k), 5])),
      ];
      const results = await client.putBatches({ type: 'path', path: ['t', 'bulk'] }, batches[0]!.schema, batches) as { firstRow: number; rowCount: number; appliedCount: number; rowErrorCount: number; rowErrors: { rowIndex: number; code: string }[] }[];
      expect(results.map((r) => r.rowCount)).toEqual(batches.map((b) => b.numRows));
      expect(results.map((r) => r.appliedCount)).toEqual([500, 500, 500, 500, 1, 300]);
      expect(results[4]!.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[2000, 'AlreadyPresent'], [2001, 'AlreadyPresent']]);
      const stored = await ids('bulk');
      expect(stored.size).toBe(2301);
      expect(stored.get(1000n)).toBe(0);
      expect(stored.get(10n)).toBe(99);
    } finally {
      bulkMode = false;
    }
  });
});
