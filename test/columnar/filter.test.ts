import { describe, expect, it } from 'vitest';
import type { DataType, Value } from '../../src/common/types.js';
import {
  columnFromValues, columnToValues, columnFromArrow, columnToVector, scalar, filterCompare, filterBetween, filterIn,
  filterIsNull, filterLike, filterCompareColumns, filterTrue, inListTri, triAnd, triOr, triNot, compareTri, allRows,
  selectionUnion, selectionIntersect, selectionDifference, filterRange,
} from '../../src/columnar/index.js';
import type { CompareOp, Scalar } from '../../src/columnar/index.js';
import { pass, randomValues, refCompare, rng } from './gen.js';

const SEED = Number(process.env['SEED'] ?? 20240601);
const OPS: CompareOp[] = ['=', '<>', '<', '<=', '>', '>='];
const TYPES: DataType[] = ['bool', 'int8', 'int16', 'int32', 'int64', 'float', 'double', 'decimal', 'string', 'binary', 'date', 'timestamp'];

function randomSel(n: number, r: () => number): Int32Array | null {
  if (r() < 0.3) return null;
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (r() < 0.6) out.push(i);
  return Int32Array.from(out);
}

function rowsOf(sel: Int32Array | null, n: number): number[] {
  return sel === null ? Array.from({ length: n }, (_, i) => i) : Array.from(sel);
}

describe(`filter kernels (seed ${SEED})`, () => {
  it('column round-trips through Arrow for every type', () => {
    const r = rng(SEED);
    for (const t of TYPES) {
      const vals = randomValues(t, 50, r);
      const col = columnFromValues(t, vals, 30, 2);
      const back = columnFromArrow(columnToVector(col));
      expect(columnToValues(back), t).toEqual(vals);
      // sliced Arrow data (offset not on a byte boundary)
      const sliced = columnToVector(col).slice(3, 40);
      expect(columnToValues(columnFromArrow(sliced)), `${t} sliced`).toEqual(vals.slice(3, 40));
    }
  });

  it('compare column vs constant matches the reference for every type and op', () => {
    const r = rng(SEED + 1);
    for (const t of TYPES) {
      for (let trial = 0; trial < 6; trial++) {
        const n = 200;
        const vals = randomValues(t, n, r);
        const col = columnFromValues(t, vals, 30, 2);
        const consts = randomValues(t, 1, r, 0.1);
        let c: Scalar = scalar(t, consts[0] as Value, 30, 2);
        let cScale = t === 'decimal' ? 2 : 0;
        if (t === 'decimal' && trial % 3 === 1) { c = scalar('decimal', 12345n, 30, 3); cScale = 3; }
        if (t === 'decimal' && trial % 3 === 2) { c = scalar('double', 0.505); cScale = 0; }
        if ((t === 'int32' || t === 'int64') && trial === 3) { c = scalar('double', 150000.5); }
        const sel = randomSel(n, r);
        for (const op of OPS) {
          const got = Array.from(filterCompare(col, op, c, sel));
          const want = rowsOf(sel, n).filter((i) => vals[i] !== null && c.value !== null
            && pass(refCompare(vals[i] as Value, c.value, t === 'decimal' ? 2 : 0, cScale), op));
          expect(got, `${t} ${op} ${String(c.value)} seed ${SEED}`).toEqual(want);
        }
      }
    }
  });

  it('BETWEEN, IS NULL, IN and NOT IN follow SQL semantics', () => {
    const r = rng(SEED + 2);
    for (const t of TYPES) {
      const n = 300;
      const vals = randomValues(t, n, r);
      const col = columnFromValues(t, vals, 30, 2);
      const sc = t === 'decimal' ? 2 : 0;
      const [a, b] = randomValues(t, 2, r, 0);
      const lo = refCompare(a as Value, b as Value, sc, sc) <= 0 ? a : b;
      const hi = lo === a ? b : a;
      const sel = randomSel(n, r);
      const rows = rowsOf(sel, n);
      const between = Array.from(filterBetween(col, scalar(t, lo as Value, 30, 2), scalar(t, hi as Value, 30, 2), sel));
      expect(between, `${t} between`).toEqual(rows.filter((i) => vals[i] !== null
        && refCompare(vals[i] as Value, lo as Value, sc, sc) >= 0 && refCompare(vals[i] as Value, hi as Value, sc, sc) <= 0));
      const notBetween = Array.from(filterBetween(col, scalar(t, lo as Value, 30, 2), scalar(t, hi as Value, 30, 2), sel, true));
      expect(notBetween, `${t} not between`).toEqual(rows.filter((i) => vals[i] !== null
        && (refCompare(vals[i] as Value, lo as Value, sc, sc) < 0 || refCompare(vals[i] as Value, hi as Value, sc, sc) > 0)));
      expect(Array.from(filterIsNull(col, sel)), `${t} is null`).toEqual(rows.filter((i) => vals[i] === null));
      expect(Array.from(filterIsNull(col, sel, true)), `${t} is not null`).toEqual(rows.filter((i) => vals[i] !== null));
      for (const withNull of [false, true]) {
        const list = randomValues(t, 4, r, 0);
        if (withNull) list.push(null);
        const scalars = list.map((v) => scalar(t, v, 30, 2));
        const isIn = (v: Value): boolean => list.some((x) => x !== null && refCompare(v, x, sc, sc) === 0);
        const tri = inListTri(col, scalars, sel);
        expect(Array.from(tri.trueRows), `${t} in`).toEqual(rows.filter((i) => vals[i] !== null && isIn(vals[i] as Value)));
        expect(Array.from(tri.nullRows), `${t} in nulls`).toEqual(rows.filter((i) => vals[i] === null || (withNull && !isIn(vals[i] as Value))));
        expect(Array.from(filterIn(col, scalars, sel, true)), `${t} not in`).toEqual(
          rows.filter((i) => vals[i] !== null && !withNull && !isIn(vals[i] as Value)));
      }
    }
  });

  it('column vs column compare', () => {
    const r = rng(SEED + 3);
    const pairs: [DataType, DataType][] = [['int32', 'int32'], ['int32', 'double'], ['int64', 'int64'], ['decimal', 'decimal'],
      ['decimal', 'int32'], ['string', 'string'], ['date', 'date'], ['float', 'double']];
    for (const [ta, tb] of pairs) {
      const n = 200;
      const va = randomValues(ta, n, r), vb = randomValues(tb, n, r);
      const a = columnFromValues(ta, va, 30, 2), b = columnFromValues(tb, vb, 30, 3);
      const sel = randomSel(n, r);
      for (const op of OPS) {
        const got = Array.from(filterCompareColumns(a, op, b, sel));
        const want = rowsOf(sel, n).filter((i) => va[i] !== null && vb[i] !== null
          && pass(refCompare(va[i] as Value, vb[i] as Value, ta === 'decimal' ? 2 : 0, tb === 'decimal' ? 3 : 0), op));
        expect(got, `${ta} ${op} ${tb}`).toEqual(want);
      }
    }
  });

  it('LIKE with fast paths and the general matcher', () => {
    const r = rng(SEED + 4);
    const vals = randomValues('string', 400, r);
    const col = columnFromValues('string', vals);
    const patterns = ['a%', '%a', '%b%', 'ab', '', '%', 'a_', '_', '__', '%é%', 'h_llo', '%l%o', 'a\\%b', 'x\\_y', '%a%b%', 'Z%', '_%_'];
    const toRe = (p: string, flags: string): RegExp => {
      let re = '';
      for (let i = 0; i < p.length; i++) {
        const ch = p[i] as string;
        if (ch === '\\') { re += (p[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
        re += ch === '%' ? '[\\s\\S]*' : ch === '_' ? '[\\s\\S]' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      return new RegExp(`^${re}$`, `u${flags}`);
    };
    for (const p of patterns) {
      for (const ic of [false, true]) {
        const re = toRe(p, ic ? 'i' : '');
        const got = Array.from(filterLike(col, p, null, false, { ignoreCase: ic }));
        const want = vals.map((v, i) => (v !== null && re.test(v as string) ? i : -1)).filter((i) => i >= 0);
        expect(got, `LIKE ${p} ic=${ic}`).toEqual(want);
        const gotNot = Array.from(filterLike(col, p, null, true, { ignoreCase: ic }));
        expect(gotNot, `NOT LIKE ${p}`).toEqual(vals.map((v, i) => (v !== null && !re.test(v as string) ? i : -1)).filter((i) => i >= 0));
      }
    }
  });

  it('three-valued AND / OR / NOT and selection set operations', () => {
    const r = rng(SEED + 5);
    const n = 300;
    const va = randomValues('int32', n, r), vb = randomValues('int32', n, r);
    const a = columnFromValues('int32', va), b = columnFromValues('int32', vb);
    const pa = compareTri(a, '<', scalar('int32', 0), null);
    const pb = compareTri(b, '>=', scalar('int32', 100000), null);
    const tv = (v: Value, f: (x: number) => boolean): boolean | null => (v === null ? null : f(v as number));
    const A = va.map((v) => tv(v, (x) => x < 0));
    const B = vb.map((v) => tv(v, (x) => x >= 100000));
    const and3 = (x: boolean | null, y: boolean | null): boolean | null => (x === false || y === false ? false : x === null || y === null ? null : true);
    const or3 = (x: boolean | null, y: boolean | null): boolean | null => (x === true || y === true ? true : x === null || y === null ? null : false);
    const check = (t: { trueRows: Int32Array; nullRows: Int32Array }, want: (boolean | null)[], what: string): void => {
      expect(Array.from(t.trueRows), what).toEqual(want.map((w, i) => (w === true ? i : -1)).filter((i) => i >= 0));
      expect(Array.from(t.nullRows), what).toEqual(want.map((w, i) => (w === null ? i : -1)).filter((i) => i >= 0));
    };
    check(triAnd(pa, pb), A.map((x, i) => and3(x, B[i] as boolean | null)), 'and');
    check(triOr(pa, pb), A.map((x, i) => or3(x, B[i] as boolean | null)), 'or');
    check(triNot(triAnd(pa, pb), null, n), A.map((x, i) => { const v = and3(x, B[i] as boolean | null); return v === null ? null : !v; }), 'not and');
    const s1 = Int32Array.from([1, 3, 5, 7]), s2 = Int32Array.from([3, 4, 5, 9]);
    expect(Array.from(selectionUnion(s1, s2))).toEqual([1, 3, 4, 5, 7, 9]);
    expect(Array.from(selectionIntersect(s1, s2))).toEqual([3, 5]);
    expect(Array.from(selectionDifference(s1, s2))).toEqual([1, 7]);
    expect(Array.from(allRows(3))).toEqual([0, 1, 2]);
    const bools = columnFromValues('bool', [true, false, null, true]);
    expect(Array.from(filterTrue(bools, null))).toEqual([0, 3]);
    expect(Array.from(filterTrue(bools, null, true))).toEqual([1]);
  });
});

describe('filterRange', () => {
  it('matches two compares for every bound combination', () => {
    const r = rng(SEED + 9);
    for (const t of ['int32', 'date', 'double', 'decimal', 'int64', 'string'] as DataType[]) {
      const vals = randomValues(t, 300, r);
      const col = columnFromValues(t, vals, 30, 2);
      const [a, b] = randomValues(t, 2, r, 0);
      const lo = scalar(t, a as Value, 30, 2), hi = scalar(t, b as Value, 30, 2);
      for (const li of [true, false]) for (const hiInc of [true, false]) {
        const want = filterCompare(col, hiInc ? '<=' : '<', hi, filterCompare(col, li ? '>=' : '>', lo, null));
        expect(Array.from(filterRange(col, lo, li, hi, hiInc, null)), `${t} ${li} ${hiInc}`).toEqual(Array.from(want));
      }
    }
  });
});

describe('Arrow batches', () => {
  it('dictionary vectors decode and batches round-trip', async () => {
    const arrow = await import('apache-arrow');
    const { batchFromColumns, columnsFromBatch } = await import('../../src/columnar/index.js');
    const dict = arrow.vectorFromArray(['a', 'b', null, 'a']);
    expect(columnToValues(columnFromArrow(dict))).toEqual(['a', 'b', null, 'a']);
    const cols = [columnFromValues('int32', [1, null, 3]), columnFromValues('string', ['x', 'yy', null]), columnFromValues('decimal', [5n, -7n, null], 9, 2)];
    const batch = batchFromColumns(['i', 's', 'd'], cols);
    expect(batch.numRows).toBe(3);
    expect(batch.schema.fields.map((f) => String(f.type))).toEqual(['Int32', 'Utf8', 'Decimal[9e+2]']);
    expect(columnsFromBatch(batch).map((c) => columnToValues(c))).toEqual(cols.map((c) => columnToValues(c)));
    // Arrow's own reader agrees on values (get() used only in this test, never in kernels).
    expect(batch.getChildAt(1)?.get(1)).toBe('yy');
    expect(batch.getChildAt(0)?.get(1)).toBeNull();
  });
});
