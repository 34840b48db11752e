import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { prepareArrowBatch } from '../../src/tablet/prepare-batch.js';

// Fixed-width keys are encoded column by column when no row is in error, row by row otherwise:
// both must give encodeKey's bytes.

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
}

const schema: Schema = {
  keyColumnCount: 3,
  columns: [
    { name: 't', type: 'timestamp', nullable: false },
    { name: 'd', type: 'date', nullable: false },
    { name: 'i', type: 'int32', nullable: false },
    { name: 'v', type: 'int8', nullable: true },
  ],
};

function check(seed: number, badRows: readonly number[]): void {
  const r = rng(seed);
  const n = 300;
  const edgesUs = [0, -1, 1, 2 ** 40, -(2 ** 40), 2 ** 52, -(2 ** 52), 2 ** 32, -(2 ** 32) - 1];
  const t = new BigInt64Array(n);
  const tNum: number[] = [];
  for (let k = 0; k < n; k++) {
    const us = k < edgesUs.length ? (edgesUs[k] as number) : Math.floor((r() - 0.5) * 2 ** 50);
    tNum.push(us);
    t[k] = BigInt(us);
  }
  const d = Int32Array.from({ length: n }, (_, k) => (k === 0 ? -(2 ** 31) : k === 1 ? 2 ** 31 - 1 : Math.floor((r() - 0.5) * 2 ** 20)));
  const i = Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) - 2 ** 31);
  // v is int8: 1000 is out of range, so those rows are in error (the row-by-row path).
  const v = Int32Array.from({ length: n }, (_, k) => (badRows.includes(k) ? 1000 : k % 100));
  const batch = new arrow.RecordBatch({
    t: arrow.makeData({ type: new arrow.TimestampMicrosecond(), length: n, data: t }),
    d: arrow.makeData({ type: new arrow.DateDay(), length: n, data: d }),
    i: arrow.makeData({ type: new arrow.Int32(), length: n, data: i }),
    v: arrow.makeData({ type: new arrow.Int32(), length: n, data: v }),
  });
  const p = prepareArrowBatch(schema, 'insert', batch);
  expect(p.rowErrors.map((e) => e.rowIndex), `seed ${seed}`).toEqual([...badRows]);
  const kept = Array.from({ length: n }, (_, k) => k).filter((k) => !badRows.includes(k));
  expect(p.rowCount).toBe(kept.length);
  kept.forEach((k, j) => {
    const got = p.keyBytes.subarray(p.keyOffsets[j] as number, p.keyOffsets[j + 1] as number);
    const want = encodeKey(schema, [tNum[k], d[k], i[k], null] as Value[]);
    expect(Buffer.from(got).equals(Buffer.from(want)), `seed ${seed} row ${k}`).toBe(true);
  });
}

describe('fixed-width key encoding by column', () => {
  it('timestamp, date, int32 keys: encodeKey bytes with no row in error (by column)', () => {
    for (const seed of [11, 12]) check(seed, []);
  });
  it('the same keys with rows in error (row by row, bad rows left out)', () => {
    for (const seed of [13, 14]) check(seed, [0, 7, 299]);
  });
});
