import { describe, expect, it } from 'vitest';
import type { DataType, Value } from '../../src/common/types.js';
import {
  columnFromValues, columnToValues, hashJoin, sortIndexes, topN, take, boundaryFlags, rowNumber, rank, denseRank, windowAggregate,
} from '../../src/columnar/index.js';
import type { JoinKind, SortKey } from '../../src/columnar/index.js';
import { randomValues, refCompare, rng } from './gen.js';

const SEED = Number(process.env['SEED'] ?? 99);

const key = (v: Value): string => (v instanceof Uint8Array ? Array.from(v).join(',') : `${typeof v}:${String(v)}`);

describe(`join, sort, window (seed ${SEED})`, () => {
  it('hash joins of every kind match a nested-loop reference', () => {
    const r = rng(SEED);
    for (const t of ['int32', 'string', 'decimal', 'int64'] as DataType[]) {
      const bv = randomValues(t, 80, r, 0.1), pv = randomValues(t, 120, r, 0.1);
      const b2 = randomValues('int8', 80, r, 0), p2 = randomValues('int8', 120, r, 0);
      const bk = [columnFromValues(t, bv, 30, 2), columnFromValues('int8', b2.map((x) => (x as number) % 2))];
      const pk = [columnFromValues(t, pv, 30, 2), columnFromValues('int8', p2.map((x) => (x as number) % 2))];
      const eq = (i: number, j: number): boolean => pv[i] !== null && bv[j] !== null && key(pv[i] as Value) === key(bv[j] as Value)
        && (p2[i] as number) % 2 === (b2[j] as number) % 2;
      const pairs = (res: { probeRows: Int32Array; buildRows: Int32Array }): string[] =>
        Array.from(res.probeRows).map((p, i) => `${p}:${res.buildRows[i] as number}`);
      const inner: string[] = [];
      const matchedB = new Set<number>();
      const left: string[] = [];
      for (let i = 0; i < pv.length; i++) {
        let any = false;
        for (let j = 0; j < bv.length; j++) if (eq(i, j)) { inner.push(`${i}:${j}`); left.push(`${i}:${j}`); matchedB.add(j); any = true; }
        if (!any) left.push(`${i}:-1`);
      }
      const unmatched = bv.map((_, j) => j).filter((j) => !matchedB.has(j)).map((j) => `-1:${j}`);
      const run = (k: JoinKind, nullAware = false): string[] => pairs(hashJoin(bk, pk, k, { nullAware }));
      expect(run('inner'), `${t} inner`).toEqual(inner);
      expect(run('left'), `${t} left`).toEqual(left);
      expect(run('right'), `${t} right`).toEqual([...inner, ...unmatched]);
      expect(run('full'), `${t} full`).toEqual([...left, ...unmatched]);
      const semi = pv.map((_, i) => i).filter((i) => bv.some((_, j) => eq(i, j)));
      expect(hashJoin(bk, pk, 'semi').probeRows.length, `${t} semi`).toBe(semi.length);
      expect(Array.from(hashJoin(bk, pk, 'semi').probeRows)).toEqual(semi);
      const anti = pv.map((_, i) => i).filter((i) => !bv.some((_, j) => eq(i, j)));
      expect(Array.from(hashJoin(bk, pk, 'anti').probeRows), `${t} anti`).toEqual(anti);
      // NOT IN: a NULL in the build keys empties the result.
      const buildHasNull = bv.some((x) => x === null);
      const notIn = buildHasNull ? [] : anti.filter((i) => pv[i] !== null);
      expect(Array.from(hashJoin(bk, pk, 'anti', { nullAware: true }).probeRows), `${t} not in`).toEqual(notIn);
      const mark = hashJoin(bk, pk, 'mark', { nullAware: true }).mark;
      expect(columnToValues(mark!), `${t} mark`).toEqual(pv.map((_, i) => (semi.includes(i) ? true : pv[i] === null || buildHasNull ? null : false)));
    }
  });

  it('sortIndexes is a stable multi-key sort with MySQL NULL order; topN agrees', () => {
    const r = rng(SEED + 1);
    for (const [t1, t2] of [['int32', 'string'], ['decimal', 'double'], ['int64', 'date'], ['string', 'decimal']] as [DataType, DataType][]) {
      const n = 300;
      const a = randomValues(t1, n, r), b = randomValues(t2, n, r);
      const ca = columnFromValues(t1, a, 30, 2), cb = columnFromValues(t2, b, 30, 2);
      for (const [d1, d2] of [[false, false], [true, false], [false, true], [true, true]]) {
        const keys: SortKey[] = [{ column: ca, descending: d1 }, { column: cb, descending: d2 }];
        const cmp1 = (x: Value, y: Value, desc: boolean | undefined, sc: number): number => {
          if (x === null || y === null) return x === y ? 0 : (x === null ? -1 : 1) * (desc ? -1 : 1);
          return Math.sign(refCompare(x, y, sc, sc)) * (desc ? -1 : 1);
        };
        const want = Array.from({ length: n }, (_, i) => i).sort((i, j) =>
          cmp1(a[i] as Value, a[j] as Value, d1, t1 === 'decimal' ? 2 : 0) || cmp1(b[i] as Value, b[j] as Value, d2, t2 === 'decimal' ? 2 : 0) || i - j);
        expect(Array.from(sortIndexes(keys, null)), `${t1},${t2} ${d1} ${d2}`).toEqual(want);
        const sel = Int32Array.from(want.filter((i) => i % 2 === 0).sort((x, y) => x - y));
        const wantSel = want.filter((i) => i % 2 === 0);
        expect(Array.from(topN(keys, sel, 17))).toEqual(wantSel.slice(0, 17));
        expect(Array.from(topN(keys, null, 1))).toEqual(want.slice(0, 1));
      }
    }
    const col = columnFromValues('int32', [3, 1, 2]);
    expect(columnToValues(take(col, sortIndexes([{ column: col }], null)))).toEqual([1, 2, 3]);
  });

  it('window functions over sorted partitions', () => {
    const r = rng(SEED + 2);
    const n = 200;
    const part = randomValues('int8', n, r, 0.05).map((x) => (x === null ? null : (x as number) % 3));
    const ord = randomValues('int8', n, r, 0.1).map((x) => (x === null ? null : (x as number) % 5));
    const val = randomValues('decimal', n, r, 0.2);
    const cp = columnFromValues('int8', part), co = columnFromValues('int8', ord), cv = columnFromValues('decimal', val, 30, 2);
    const order = sortIndexes([{ column: cp }, { column: co }], null);
    const ps = boundaryFlags([cp], order);
    const peers = boundaryFlags([cp, co], order);
    const o = Array.from(order);
    const samePart = (i: number, j: number): boolean => key(part[o[i] as number] as Value) === key(part[o[j] as number] as Value);
    const samePeer = (i: number, j: number): boolean => samePart(i, j) && key(ord[o[i] as number] as Value) === key(ord[o[j] as number] as Value);
    const rn = columnToValues(rowNumber(ps)), rk = columnToValues(rank(ps, peers)), dr = columnToValues(denseRank(ps, peers));
    const sums = columnToValues(windowAggregate('sum', cv, order, ps, peers));
    const counts = columnToValues(windowAggregate('count', cv, order, ps, peers));
    const maxes = columnToValues(windowAggregate('max', cv, order, ps, null));
    const avgs = columnToValues(windowAggregate('avg', cv, order, ps, null));
    for (let i = 0; i < n; i++) {
      const before = o.map((_, j) => j).filter((j) => j < i && samePart(i, j));
      expect(rn[i]).toBe(BigInt(before.length + 1));
      expect(rk[i]).toBe(BigInt(before.filter((j) => !samePeer(i, j)).length + 1));
      const distinctBefore = new Set(before.filter((j) => !samePeer(i, j)).map((j) => key(ord[o[j] as number] as Value)));
      expect(dr[i]).toBe(BigInt(distinctBefore.size + 1));
      const frame = o.map((_, j) => j).filter((j) => samePart(i, j) && (j <= i || samePeer(i, j)));
      const fv = frame.map((j) => val[o[j] as number] as Value).filter((v) => v !== null) as bigint[];
      expect(sums[i]).toBe(fv.length === 0 ? null : fv.reduce((x, y) => x + y, 0n));
      expect(counts[i]).toBe(BigInt(fv.length));
      const whole = o.map((_, j) => j).filter((j) => samePart(i, j)).map((j) => val[o[j] as number] as Value).filter((v) => v !== null) as bigint[];
      expect(maxes[i]).toBe(whole.length === 0 ? null : whole.reduce((x, y) => (y > x ? y : x)));
      if (whole.length === 0) expect(avgs[i]).toBeNull();
      else {
        const s = whole.reduce((x, y) => x + y, 0n) * 10000n, c = BigInt(whole.length);
        const q = (s < 0n ? -s : s) / c, rem = (s < 0n ? -s : s) % c;
        const m = rem * 2n >= c ? q + 1n : q;
        expect(avgs[i]).toBe(s < 0n ? -m : m);
      }
    }
  });
});
