import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { hasFusedKernel, runFusedFragment } from '../../src/query/coprocessor-kernel.js';
import { runGeneric } from '../../src/query/coprocessor-worker.js';
import type { Expr } from '../../src/query/expr.js';
import { serializeColumn, type FragmentSpec, type FragmentTask } from '../../src/query/fragment.js';
import type { AggCall } from '../../src/query/logical-plan.js';
import type { Chunk, SqlType } from '../../src/query/vector.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * The fused fragment kernel must give exactly the generic path's partial aggregate, and must
 * decline (null) batches it cannot answer exactly: values beyond 2^53, partial sums beyond 2^53,
 * NULLs, multi-byte group keys, unsupported expressions.
 */
const DEC: SqlType = { type: 'decimal', precision: 15, scale: 2 };
const DEC38: SqlType = { type: 'decimal', precision: 38, scale: 2 };
const DEC4: SqlType = { type: 'decimal', precision: 38, scale: 4 };
const DATE: SqlType = { type: 'date' };
const STR: SqlType = { type: 'string' };
const I32: SqlType = { type: 'int32' };
const I64: SqlType = { type: 'int64' };
const BOOL: SqlType = { type: 'bool' };
const DBL: SqlType = { type: 'double' };

const col = (index: number, type: SqlType): Expr => ({ kind: 'col', index, type });
const lit = (value: number, type: SqlType): Expr => ({ kind: 'lit', value, type });
const call = (fn: string, args: Expr[], type: SqlType): Expr => ({ kind: 'call', fn, args, type });

/** Decimal128 words of an unscaled bigint. */
function decData(vals: readonly bigint[], nulls?: readonly boolean[]): arrow.Data {
  const w = new Uint32Array(vals.length * 4);
  vals.forEach((v, i) => { const u = BigInt.asUintN(128, v); for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn); });
  return withNulls(arrow.makeData({ type: new arrow.Decimal(2, 15, 128), length: vals.length, data: w }), nulls);
}
function withNulls(d: arrow.Data, nulls?: readonly boolean[]): arrow.Data {
  if (nulls === undefined || !nulls.includes(true)) return d;
  const bm = new Uint8Array(Math.ceil(d.length / 8));
  let nc = 0;
  for (let i = 0; i < d.length; i++) { if (nulls[i]) nc++; else bm[i >> 3]! |= 1 << (i & 7); }
  return arrow.makeData({ type: d.type, length: d.length, nullCount: nc, nullBitmap: bm, data: d.values, ...(d.valueOffsets !== undefined ? { valueOffsets: d.valueOffsets } : {}) } as unknown as Parameters<typeof arrow.makeData>[0]);
}
function strData(vals: readonly string[]): arrow.Data {
  const bytes = Buffer.from(vals.join(''), 'utf8');
  const offs = new Int32Array(vals.length + 1);
  let at = 0;
  vals.forEach((v, i) => { at += Buffer.byteLength(v); offs[i + 1] = at; });
  return arrow.makeData({ type: new arrow.Utf8(), length: vals.length, valueOffsets: offs, data: new Uint8Array(bytes) });
}
const dateData = (v: readonly number[]): arrow.Data => arrow.makeData({ type: new arrow.DateDay(), length: v.length, data: Int32Array.from(v) });
const i32Data = (v: readonly number[]): arrow.Data => arrow.makeData({ type: new arrow.Int32(), length: v.length, data: Int32Array.from(v) });
const i64Data = (v: readonly bigint[]): arrow.Data => arrow.makeData({ type: new arrow.Int64(), length: v.length, data: BigInt64Array.from(v) });

function task(fragment: FragmentSpec, datas: readonly arrow.Data[]): FragmentTask {
  return { fragment, columns: datas.map((d) => serializeColumn([d])), length: datas[0]!.length };
}

/** Rows of a chunk as plain values (NULL for invalid), so representation details don't matter. */
function rows(c: Chunk): unknown[][] {
  const out: unknown[][] = [];
  for (let i = 0; i < c.length; i++) {
    out.push(c.columns.map((v) => {
      if (v.valid !== null && v.valid[i] !== 1) return null;
      if (v.kind === 'num' && v.exact?.[i] !== undefined) return v.exact[i];
      return v.values[i];
    }));
  }
  return out;
}

// Columns: 0 qty DEC, 1 price DEC, 2 disc DEC, 3 tax DEC, 4 flag STR, 5 status STR, 6 shipdate DATE, 7 k INT32, 8 big INT64
const TYPES: SqlType[] = [DEC, DEC, DEC, DEC, STR, STR, DATE, I32, I64];

function lineitem(rnd: () => number, n: number): arrow.Data[] {
  const qty: bigint[] = [], price: bigint[] = [], disc: bigint[] = [], tax: bigint[] = [];
  const flag: string[] = [], status: string[] = [], ship: number[] = [], k: number[] = [], big: bigint[] = [];
  for (let i = 0; i < n; i++) {
    qty.push(BigInt(Math.floor(rnd() * 50 + 1) * 100));
    price.push(BigInt(Math.floor(rnd() * 10_000_000) - 100_000));
    disc.push(BigInt(Math.floor(rnd() * 11)));
    tax.push(BigInt(Math.floor(rnd() * 9)));
    flag.push('ARN'[Math.floor(rnd() * 3)]!);
    status.push(rnd() < 0.1 ? '' : 'OF'[Math.floor(rnd() * 2)]!);
    ship.push(8000 + Math.floor(rnd() * 2500));
    k.push(Math.floor(rnd() * 100) - 50);
    big.push(BigInt(Math.floor(rnd() * 1e6)) - 500000n);
  }
  return [decData(qty), decData(price), decData(disc), decData(tax), strData(flag), strData(status), dateData(ship), i32Data(k), i64Data(big)];
}

const q1: FragmentSpec = (() => {
  const oneMinusDisc = call('-', [lit(100, DEC38), col(2, DEC)], DEC38);
  const disc = call('*', [col(1, DEC), oneMinusDisc], DEC4);
  const charge = call('*', [disc, call('+', [lit(100, DEC38), col(3, DEC)], DEC38)], { type: 'decimal', precision: 38, scale: 6 });
  const aggs: AggCall[] = [
    { fn: 'sum', arg: col(0, DEC), type: DEC38 },
    { fn: 'sum', arg: col(1, DEC), type: DEC38 },
    { fn: 'sum', arg: disc, type: DEC4 },
    { fn: 'sum', arg: charge, type: { type: 'decimal', precision: 38, scale: 6 } },
    { fn: 'count', arg: col(0, DEC), type: I64 },
    { fn: 'count_star', arg: null, type: I64 },
    { fn: 'min', arg: col(7, I32), type: I32 },
    { fn: 'max', arg: col(6, DATE), type: DATE },
    { fn: 'sum', arg: col(8, I64), type: DEC38 },
  ];
  return { types: TYPES, filter: call('<=', [col(6, DATE), lit(10400, DATE)], BOOL), groups: [col(4, STR), col(5, STR)], aggs };
})();

const q6: FragmentSpec = {
  types: TYPES,
  filter: {
    kind: 'and', type: BOOL, args: [
      call('>=', [col(6, DATE), lit(8766, DATE)], BOOL), call('<', [col(6, DATE), lit(9131, DATE)], BOOL),
      call('>=', [col(2, DEC), lit(5, DEC)], BOOL), call('<=', [col(2, DEC), lit(7, DEC)], BOOL),
      call('<', [col(0, DEC), lit(2400, DEC)], BOOL),
    ],
  },
  groups: [],
  aggs: [{ fn: 'sum', arg: call('*', [col(1, DEC), col(2, DEC)], DEC4), type: DEC4 }],
};

describe('fused fragment kernels', () => {
  it('equal the generic path on Q1 / Q6 shapes and random filters', () => {
    const seed = 4242;
    const rnd = mulberry32(seed);
    const data = lineitem(rnd, 5000);
    for (const f of [q1, q6]) {
      expect(hasFusedKernel(f)).toBe(true);
      const t = task(f, data);
      const fused = runFusedFragment(t);
      expect(fused, `seed ${seed}`).not.toBeNull();
      expect(rows(fused!), `seed ${seed}`).toEqual(rows(runGeneric(t)));
      expect(fused!.length).toBeGreaterThan(0);
    }
    for (let r = 0; r < 30; r++) {
      const ops = ['<', '<=', '>', '>=', '=', '<>'];
      const op = ops[Math.floor(rnd() * ops.length)]!;
      const c = Math.floor(rnd() * 100) - 50;
      const filter: Expr = {
        kind: rnd() < 0.5 ? 'and' : 'or', type: BOOL, args: [
          call(op, [col(7, I32), lit(c, I32)], BOOL),
          { kind: 'in', arg: col(2, DEC), list: [lit(1, DEC), lit(Math.floor(rnd() * 11), DEC)], negated: rnd() < 0.5, type: BOOL },
          { kind: 'not', arg: call('>', [col(8, I64), lit(c * 1000, I64)], BOOL), type: BOOL },
        ],
      };
      const f: FragmentSpec = { ...q1, filter, groups: rnd() < 0.5 ? [col(5, STR)] : [] };
      const t = task(f, data);
      const fused = runFusedFragment(t);
      expect(fused, `seed ${seed} round ${r}`).not.toBeNull();
      expect(rows(fused!), `seed ${seed} round ${r}`).toEqual(rows(runGeneric(t)));
    }
  });

  it('merged int32 range bounds (one unsigned compare) equal the generic path, also at the int32 extremes', () => {
    const seed = 9157;
    const rnd = mulberry32(seed);
    const n = 3000;
    const MIN = -2147483648, MAX = 2147483647;
    const edge = [MIN, MIN + 1, -1, 0, 1, MAX - 1, MAX];
    const ints: number[] = [], dates: number[] = [];
    for (let i = 0; i < n; i++) {
      ints.push(rnd() < 0.1 ? edge[Math.floor(rnd() * edge.length)]! : Math.floor(rnd() * 200) - 100);
      dates.push(8000 + Math.floor(rnd() * 2500));
    }
    const types: SqlType[] = [I32, DATE, DEC];
    const data = [i32Data(ints), dateData(dates), decData(ints.map((_, i) => BigInt(i)))];
    const aggs: AggCall[] = [{ fn: 'count_star', arg: null, type: I64 }, { fn: 'sum', arg: col(2, DEC), type: DEC38 }];
    const bounds = [...edge, -2147483649, 2147483648, 1e12, -1e12, 2.5, -2.5, 0.5];
    const ops = ['<', '<=', '>', '>='];
    let nonEmpty = 0;
    for (let r = 0; r < 80; r++) {
      const c = r % 2;
      const pick = (): number => (rnd() < 0.4 ? bounds[Math.floor(rnd() * bounds.length)]! : (c === 0 ? Math.floor(rnd() * 240) - 120 : 7900 + Math.floor(rnd() * 2700)) + (rnd() < 0.2 ? 0.5 : 0));
      const t = types[c]!;
      const conj: Expr[] = [];
      const k = 2 + Math.floor(rnd() * 3);
      for (let j = 0; j < k; j++) {
        const op = j === 0 ? (rnd() < 0.5 ? '>' : '>=') : j === 1 ? (rnd() < 0.5 ? '<' : '<=') : ops[Math.floor(rnd() * ops.length)]!;
        // Literal on either side: `lit op col` is the mirrored bound.
        conj.push(rnd() < 0.3 ? call(op, [lit(pick(), t), col(c, t)], BOOL) : call(op, [col(c, t), lit(pick(), t)], BOOL));
      }
      const f: FragmentSpec = { types, filter: { kind: 'and', type: BOOL, args: conj }, groups: [], aggs };
      const tk = task(f, data);
      const fused = runFusedFragment(tk);
      expect(fused, `seed ${seed} round ${r}`).not.toBeNull();
      const want = rows(runGeneric(tk));
      expect(rows(fused!), `seed ${seed} round ${r} ${JSON.stringify(conj)}`).toEqual(want);
      if (want[0]?.[0] !== 0) nonEmpty++;
    }
    // The random ranges select rows in many rounds, not only the empty result.
    expect(nonEmpty).toBeGreaterThan(20);
  });

  it('aggregates every batch of a multi-batch task into one partial (groups first seen late, a bail in a later batch)', () => {
    const seed = 77;
    const rnd = mulberry32(seed);
    const a = lineitem(rnd, 700), b = lineitem(rnd, 900), c = lineitem(rnd, 50);
    a[4] = strData(new Array<string>(700).fill('A')); // flags R and N appear only in later batches
    const part = (d: arrow.Data[]) => ({ columns: d.map((x) => serializeColumn([x])), length: d[0]!.length });
    const t: FragmentTask = { fragment: q1, ...part(a), more: [part(b), part(c)] };
    const fused = runFusedFragment(t);
    expect(fused, `seed ${seed}`).not.toBeNull();
    const generic = runGeneric(t);
    expect(rows(fused!), `seed ${seed}`).toEqual(rows(generic));
    expect(fused!.columns[9]!.values).not.toEqual(runGeneric(task(q1, a)).columns[9]!.values);
    const bad = c.slice();
    bad[4] = strData(new Array<string>(50).fill('XY'));
    const tb: FragmentTask = { fragment: q1, ...part(a), more: [part(b), part(bad)] };
    expect(runFusedFragment(tb)).toBeNull();
    expect(runGeneric(tb).length).toBeGreaterThan(3);
  });

  it('hashed group keys (ints, dates, int64, decimals, mixed with strings) equal the generic path, also past the first table size', () => {
    const seed = 31337;
    const rnd = mulberry32(seed);
    const data = lineitem(rnd, 6000);
    const keySets: Expr[][] = [
      [col(7, I32)], [col(6, DATE)], [col(8, I64)], [col(2, DEC)], [col(7, I32), col(4, STR)],
      [col(4, STR), col(5, STR), col(2, DEC)], [col(6, DATE), col(7, I32), col(5, STR)], [col(4, STR), col(5, STR), col(4, STR)],
    ];
    for (const groups of keySets) {
      for (const filter of [q1.filter, q6.filter]) {
        const f: FragmentSpec = { ...q1, filter, groups };
        expect(hasFusedKernel(f)).toBe(true);
        const t = task(f, data);
        const fused = runFusedFragment(t);
        const what = `seed ${seed} keys ${groups.map((g) => (g.kind === 'col' ? g.index : '?')).join(',')}`;
        expect(fused, what).not.toBeNull();
        expect(rows(fused!), what).toEqual(rows(runGeneric(t)));
      }
    }
    // More groups than the first table holds (256): the kernel grows and restarts.
    const many = task({ ...q1, filter: null, groups: [col(6, DATE)] }, data);
    const fused = runFusedFragment(many)!;
    expect(fused.length).toBeGreaterThan(2000);
    expect(rows(fused)).toEqual(rows(runGeneric(many)));
  });

  it('an empty grouped result has no rows; an ungrouped one has NULL sums and zero counts', () => {
    const data = lineitem(mulberry32(7), 300);
    for (const groups of [[col(4, STR)], []]) {
      const f: FragmentSpec = { ...q1, filter: call('<', [col(6, DATE), lit(0, DATE)], BOOL), groups };
      const t = task(f, data);
      const fused = runFusedFragment(t);
      expect(fused).not.toBeNull();
      expect(rows(fused!)).toEqual(rows(runGeneric(t)));
      expect(fused!.length).toBe(groups.length === 0 ? 1 : 0);
    }
  });

  it('declines batches it cannot answer exactly, and the generic path still answers them', () => {
    const base = lineitem(mulberry32(11), 200);
    base[6] = dateData(new Array<number>(200).fill(9000)); // every row passes Q1's filter
    const cases: [string, arrow.Data[]][] = [];
    const big = base.slice();
    big[1] = decData([...Array(200).keys()].map((i) => (i === 57 ? 2n ** 60n : BigInt(i))));
    cases.push(['a decimal beyond 2^53', big]);
    const sumOverflow = base.slice();
    sumOverflow[0] = decData([...Array(200).keys()].map(() => 2n ** 50n));
    cases.push(['a partial sum beyond 2^53', sumOverflow]);
    const nulls = base.slice();
    nulls[2] = decData([...Array(200).keys()].map((i) => BigInt(i % 11)), [...Array(200).keys()].map((i) => i === 3));
    cases.push(['a NULL', nulls]);
    const longKey = base.slice();
    longKey[4] = strData([...Array(200).keys()].map((i) => (i === 150 ? 'AB' : 'A')));
    cases.push(['a two-byte key', longKey]);
    const product = base.slice();
    product[1] = decData([...Array(200).keys()].map(() => 2n ** 46n));
    cases.push(['a product beyond 2^53', product]);
    for (const [what, data] of cases) {
      const t = task(q1, data);
      expect(runFusedFragment(t), what).toBeNull();
      const generic = runGeneric(t);
      expect(generic.length, what).toBeGreaterThan(0);
    }
  });

  it('has no kernel for shapes it does not cover', () => {
    const like: FragmentSpec = { ...q6, filter: { kind: 'like', arg: col(4, STR), pattern: { kind: 'lit', value: 'A%', type: STR }, negated: false, type: BOOL } };
    const div: FragmentSpec = { ...q6, aggs: [{ fn: 'sum', arg: call('/', [col(1, DEC), col(2, DEC)], DEC4), type: DEC4 }] };
    const numKey: FragmentSpec = { ...q6, groups: [col(7, I32)] };
    const dbl: FragmentSpec = { ...q6, aggs: [{ fn: 'sum', arg: { kind: 'cast', arg: col(1, DEC), type: DBL }, type: DBL }] };
    expect(hasFusedKernel(like)).toBe(false);
    expect(hasFusedKernel(div)).toBe(false);
    expect(hasFusedKernel(numKey)).toBe(true);
    const dblKey: FragmentSpec = { ...q6, types: [...TYPES, DBL], groups: [col(9, DBL)] };
    expect(hasFusedKernel(dblKey)).toBe(false);
    expect(hasFusedKernel(dbl)).toBe(true);
    const t = task(dbl, lineitem(mulberry32(3), 500));
    expect(rows(runFusedFragment(t)!)).toEqual(rows(runGeneric(t)));
  });
});
