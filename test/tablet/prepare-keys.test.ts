import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { prepareArrowBatch } from '../../src/tablet/prepare-batch.js';

// prepareArrowBatch's batch key encoder (fixed-width fast paths) must give encodeKey's bytes, row by row.

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
}

function int64s(r: () => number, n: number): BigInt64Array {
  const out = new BigInt64Array(n);
  const edge = [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 31n];
  for (let i = 0; i < n; i++) {
    out[i] = i < edge.length ? (edge[i] as bigint) : BigInt.asIntN(64, (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32)));
  }
  return out;
}

function expectKeys(schema: Schema, keyRows: Value[][], p: ReturnType<typeof prepareArrowBatch>, seed: number): void {
  expect(p.rowErrors, `seed ${seed}`).toEqual([]);
  expect(p.keyOffsets.length).toBe(keyRows.length + 1);
  for (let i = 0; i < keyRows.length; i++) {
    const got = p.keyBytes.subarray(p.keyOffsets[i] as number, p.keyOffsets[i + 1] as number);
    const want = encodeKey(schema, keyRows[i] as Value[]);
    expect(Buffer.from(got).equals(Buffer.from(want)), `seed ${seed} row ${i}`).toBe(true);
  }
}

describe('batch key encoding', () => {
  it('one int64 key: same bytes as encodeKey (edges, random, a sliced batch)', () => {
    const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int64', nullable: true }] };
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const n = 300;
      const k = int64s(r, n);
      const v = int64s(r, n);
      const full = new arrow.RecordBatch({
        k: arrow.makeData({ type: new arrow.Int64(), length: n, data: k }),
        v: arrow.makeData({ type: new arrow.Int64(), length: n, data: v }),
      });
      expectKeys(schema, Array.from(k, (x, i) => [x, v[i] as bigint]), prepareArrowBatch(schema, 'upsert', full), seed);
      const from = 17;
      const sliced = full.slice(from, n - 5);
      expectKeys(schema, Array.from(k.subarray(from, n - 5), (x, i) => [x, v[from + i] as bigint]), prepareArrowBatch(schema, 'upsert', sliced), seed);
    }
  });

  it('compound fixed-width key (int8, int16, int32, int64): same bytes as encodeKey', () => {
    const schema: Schema = {
      keyColumnCount: 4,
      columns: [
        { name: 'a', type: 'int8', nullable: false },
        { name: 'b', type: 'int16', nullable: false },
        { name: 'c', type: 'int32', nullable: false },
        { name: 'd', type: 'int64', nullable: false },
        { name: 'v', type: 'int32', nullable: true },
      ],
    };
    for (const seed of [5, 6]) {
      const r = rng(seed);
      const n = 200;
      const a = Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128);
      const b = Int16Array.from({ length: n }, () => Math.floor(r() * 65536) - 32768);
      const c = Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) - 2 ** 31);
      const d = int64s(r, n);
      const v = new Int32Array(n);
      const batch = new arrow.RecordBatch({
        a: arrow.makeData({ type: new arrow.Int8(), length: n, data: a }),
        b: arrow.makeData({ type: new arrow.Int16(), length: n, data: b }),
        c: arrow.makeData({ type: new arrow.Int32(), length: n, data: c }),
        d: arrow.makeData({ type: new arrow.Int64(), length: n, data: d }),
        v: arrow.makeData({ type: new arrow.Int32(), length: n, data: v }),
      });
      const rows = Array.from({ length: n }, (_, i): Value[] => [a[i] as number, b[i] as number, c[i] as number, d[i] as bigint, 0]);
      expectKeys(schema, rows, prepareArrowBatch(schema, 'upsert', batch), seed);
    }
  });
});
