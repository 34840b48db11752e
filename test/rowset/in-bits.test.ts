import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../src/common/types.js';
import { bindPredicate, filterColumn, type BoundPredicate } from '../../src/rowset/predicate-eval.js';
import { mulberry32 } from '../query/tpch-mini.js';

/**
 * IN over integers with a narrow value span reads presence bits instead of a Set: same rows,
 * also for doubles with fractions, -0, NaN and values outside the span; a wide span keeps the Set.
 */
describe('IN presence bits', () => {
  it('selects what the Set selects', () => {
    const seed = 1729;
    const rnd = mulberry32(seed);
    const n = 4000;
    const ints = Int32Array.from({ length: n }, () => Math.floor(rnd() * 400) - 200);
    const dbls = Float64Array.from({ length: n }, (_, i) => (i % 50 === 0 ? NaN : i % 37 === 0 ? -0 : (Math.floor(rnd() * 80) - 40) / (rnd() < 0.3 ? 2 : 1)));
    const cases: [ColumnSchema, arrow.Data][] = [
      [{ name: 'i', type: 'int32', nullable: false }, arrow.makeData({ type: new arrow.Int32(), length: n, data: ints })],
      [{ name: 'd', type: 'double', nullable: false }, arrow.makeData({ type: new arrow.Float64(), length: n, data: dbls })],
    ];
    let withBits = 0;
    for (let q = 0; q < 60; q++) {
      for (const [column, data] of cases) {
        const k = 1 + Math.floor(rnd() * 6);
        const values = Array.from({ length: k }, () => Math.floor(rnd() * 300) - 150);
        if (q % 10 === 0) values.push(0);
        const p = bindPredicate({ kind: 'in', column: column.name, values }, column, 0);
        if (p.numberBits !== undefined) withBits++;
        const { numberBits: _drop, ...rest } = p;
        const setOnly: BoundPredicate = rest;
        const run = (bp: BoundPredicate): number[] => {
          const sel = Int32Array.from({ length: n }, (_, i) => i);
          return Array.from(sel.subarray(0, filterColumn(bp, data, sel, n)));
        };
        const want = run(setOnly);
        expect(run(p), `seed ${seed} query ${q} ${column.name} IN ${values.join(',')}`).toEqual(want);
      }
    }
    expect(withBits).toBe(120);
    const wide = bindPredicate({ kind: 'in', column: 'i', values: [0, 1 << 25] }, cases[0]![0], 0);
    expect(wide.numberBits).toBeUndefined();
    expect(wide.numberSet?.has(1 << 25)).toBe(true);
    // Keys spread over millions of values (a runtime join filter) still get bits.
    const spread = bindPredicate({ kind: 'in', column: 'i', values: [1, 5_999_999, 3_000_000] }, cases[0]![0], 0);
    expect(spread.numberBits?.span).toBe(5_999_999);
    const big = arrow.makeData({ type: new arrow.Int32(), length: 5, data: Int32Array.from([0, 1, 3_000_000, 5_999_999, 6_000_000]) });
    const sel = Int32Array.from([0, 1, 2, 3, 4]);
    expect(Array.from(sel.subarray(0, filterColumn(spread, big, sel, 5)))).toEqual([1, 2, 3]);
  });
});
