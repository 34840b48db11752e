import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { prepareArrowBatch } from '../../src/tablet/prepare-batch.js';

/**
 * Range checks of integer columns: a source no wider than the column skips the check (its values
 * always fit), a wider one is checked value by value.
 */
const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'int32', nullable: false },
    { name: 'small', type: 'int16', nullable: true },
    { name: 'day', type: 'date', nullable: true },
  ],
};

function batch(k: arrow.Data, small: arrow.Data, day: arrow.Data): arrow.RecordBatch {
  return new arrow.RecordBatch({ k, small, day });
}

describe('prepareArrowBatch integer ranges', () => {
  it('checks values from wider sources and takes narrower ones as they are', () => {
    const k = arrow.makeData({ type: new arrow.Int32(), length: 4, data: Int32Array.from([1, 2, 3, 4]) });
    const wide = arrow.makeData({ type: new arrow.Int32(), length: 4, data: Int32Array.from([5, 40000, -32768, -40000]) });
    const day = arrow.makeData({ type: new arrow.DateDay(), length: 4, data: Int32Array.from([0, 1, -1, 20000]) });
    const p = prepareArrowBatch(schema, 'insert', batch(k, wide, day));
    expect(p.rowErrors.map((e) => e.rowIndex)).toEqual([1, 3]);
    expect(p.rowErrors[0]?.message).toContain('out of range for int16');
    expect(Array.from(p.columns[1]?.values as Float64Array)).toEqual([5, -32768]);

    const narrow = arrow.makeData({ type: new arrow.Int8(), length: 4, data: Int8Array.from([-128, 127, 0, 1]) });
    const q = prepareArrowBatch(schema, 'insert', batch(k, narrow, day));
    expect(q.rowErrors).toEqual([]);
    expect(Array.from(q.columns[1]?.values as Float64Array)).toEqual([-128, 127, 0, 1]);
    expect(Array.from(q.columns[2]?.values as Float64Array)).toEqual([0, 1, -1, 20000]);

    const big = arrow.makeData({ type: new arrow.Int64(), length: 4, data: BigInt64Array.from([1n, 2n, 3n, 1n << 40n]) });
    const r = prepareArrowBatch(schema, 'insert', batch(big, narrow, day));
    expect(r.rowErrors.map((e) => e.rowIndex)).toEqual([3]);
  });
});
