import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { setCompactValues } from '../../src/common/compact-column.js';
import { buildCompactValues } from '../../src/rowset/column-data.js';
import { runFusedFragment } from '../../src/query/coprocessor-kernel.js';
import { runGeneric } from '../../src/query/coprocessor-worker.js';
import type { Expr } from '../../src/query/expr.js';
import { serializeColumn, type FragmentPart, type FragmentSpec, type FragmentTask } from '../../src/query/fragment.js';
import type { AggCall } from '../../src/query/logical-plan.js';
import type { Chunk, SqlType } from '../../src/query/vector.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * The fused kernel reading storage's compact copies of DECIMAL / INT64 columns (Int32Array or
 * Float64Array beside the wide words) must answer exactly what it answers from the wide words and
 * what the generic path answers, batch by batch, also when one task mixes batches with and
 * without copies.
 */
const DEC: SqlType = { type: 'decimal', precision: 15, scale: 2 };
const DEC38: SqlType = { type: 'decimal', precision: 38, scale: 2 };
const DEC4: SqlType = { type: 'decimal', precision: 38, scale: 4 };
const DEC3: SqlType = { type: 'decimal', precision: 15, scale: 3 };
const DATE: SqlType = { type: 'date' };
const I64: SqlType = { type: 'int64' };
const BOOL: SqlType = { type: 'bool' };

const col = (index: number, type: SqlType): Expr => ({ kind: 'col', index, type });
const lit = (value: number, type: SqlType): Expr => ({ kind: 'lit', value, type });
const call = (fn: string, args: Expr[], type: SqlType): Expr => ({ kind: 'call', fn, args, type });

function decData(vals: readonly bigint[]): arrow.Data {
  const w = new Uint32Array(vals.length * 4);
  vals.forEach((v, i) => { const u = BigInt.asUintN(128, v); for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn); });
  return arrow.makeData({ type: new arrow.Decimal(2, 15, 128), length: vals.length, data: w });
}
const dateData = (v: readonly number[]): arrow.Data => arrow.makeData({ type: new arrow.DateDay(), length: v.length, data: Int32Array.from(v) });
const i64Data = (v: readonly bigint[]): arrow.Data => arrow.makeData({ type: new arrow.Int64(), length: v.length, data: BigInt64Array.from(v) });

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

// Columns: 0 price DEC, 1 disc DEC, 2 qty DEC, 3 ship DATE, 4 big INT64
const TYPES: SqlType[] = [DEC, DEC, DEC, DATE, I64];

/** One batch; `wide` makes price need doubles (beyond int32) in this batch. */
function batch(rnd: () => number, n: number, wide: boolean): arrow.Data[] {
  const price: bigint[] = [], disc: bigint[] = [], qty: bigint[] = [], ship: number[] = [], big: bigint[] = [];
  for (let i = 0; i < n; i++) {
    price.push(BigInt(Math.floor(rnd() * 10_000_000) - 100_000) * (wide ? 1000n : 1n));
    disc.push(BigInt(Math.floor(rnd() * 11)));
    qty.push(BigInt(Math.floor(rnd() * 50 + 1) * 100));
    ship.push(8000 + Math.floor(rnd() * 2500));
    big.push(BigInt(Math.floor(rnd() * 1e6) - 500000) * (rnd() < 0.5 ? 1n : 100000n));
  }
  return [decData(price), decData(disc), decData(qty), dateData(ship), i64Data(big)];
}

/** The batch's columns with compact copies where they exist (as a DiskRowSet registers them). */
function withCopies(ds: readonly arrow.Data[]): arrow.Data[] {
  return ds.map((d, i) => {
    const words = TYPES[i]!.type === 'decimal' ? 4 : TYPES[i]!.type === 'int64' ? 2 : 0;
    if (words === 0) return d;
    const copy = arrow.makeData({ type: d.type, length: d.length, data: d.values } as unknown as Parameters<typeof arrow.makeData>[0]);
    const c = buildCompactValues(copy, words);
    if (c !== null) setCompactValues(copy, c);
    return copy;
  });
}

const part = (ds: readonly arrow.Data[]): FragmentPart => ({ columns: ds.map((d) => serializeColumn([d])), length: ds[0]!.length });
function task(f: FragmentSpec, parts: readonly FragmentPart[]): FragmentTask {
  const [first, ...more] = parts as [FragmentPart, ...FragmentPart[]];
  return more.length === 0 ? { fragment: f, ...first } : { fragment: f, ...first, more };
}

const q6: FragmentSpec = {
  types: TYPES,
  filter: {
    kind: 'and', type: BOOL, args: [
      call('>=', [col(3, DATE), lit(8766, DATE)], BOOL), call('<', [col(3, DATE), lit(9131, DATE)], BOOL),
      call('>=', [col(1, DEC), lit(5, DEC)], BOOL), call('<=', [col(1, DEC), lit(7, DEC)], BOOL),
      call('<', [col(2, DEC), lit(2400, DEC)], BOOL),
    ],
  },
  groups: [],
  aggs: [{ fn: 'sum', arg: call('*', [col(0, DEC), col(1, DEC)], DEC4), type: DEC4 }, { fn: 'count_star', arg: null, type: I64 }],
};

describe('fused kernels over compact copies', () => {
  it('serializeColumn carries the copy; the kernel reads it and answers as from the wide words', () => {
    const seed = 6006;
    const rnd = mulberry32(seed);
    const wide = batch(rnd, 4000, false);
    const copies = withCopies(wide);
    const p = part(copies);
    expect(p.columns[0]!.compact).toBeInstanceOf(Int32Array);
    expect(p.columns[4]!.compact).toBeInstanceOf(Float64Array);
    expect(p.columns[3]!.compact).toBeUndefined();
    const a = runFusedFragment(task(q6, [p]));
    const b = runFusedFragment(task(q6, [part(wide)]));
    expect(a, `seed ${seed}`).not.toBeNull();
    expect(rows(a!), `seed ${seed}`).toEqual(rows(b!));
    expect(rows(a!), `seed ${seed}`).toEqual(rows(runGeneric(task(q6, [p]))));
    expect(a!.columns[1]!.values[0]).toBeGreaterThan(0);
    // The kernel reads the copy, not the wide words: a copy that disagrees changes the answer.
    const skewed = { ...p.columns[0]!, compact: (p.columns[0]!.compact as Int32Array).map((x) => x + 1) };
    const c = runFusedFragment(task(q6, [{ ...p, columns: [skewed, ...p.columns.slice(1)] }]));
    expect(rows(c!)).not.toEqual(rows(a!));
  });

  it('random range filters, sums and decimal / int64 group keys equal the generic path; tasks mix batches with and without copies', () => {
    const seed = 8128;
    const rnd = mulberry32(seed);
    const batches = [batch(rnd, 1500, false), batch(rnd, 1200, true), batch(rnd, 900, false)];
    const ops = ['<', '<=', '>', '>=', '=', '<>'];
    let nonEmpty = 0;
    for (let r = 0; r < 60; r++) {
      const conj: Expr[] = [];
      const k = 1 + Math.floor(rnd() * 4);
      for (let j = 0; j < k; j++) {
        const c = Math.floor(rnd() * 5);
        const op = ops[Math.floor(rnd() * ops.length)]!;
        const t = TYPES[c]!;
        const v = c === 0 ? Math.floor(rnd() * 12_000_000) - 1_000_000 : c === 1 ? Math.floor(rnd() * 13) - 1 : c === 2 ? Math.floor(rnd() * 5200) : c === 3 ? 7900 + Math.floor(rnd() * 2700) : Math.floor(rnd() * 2e6) - 1e6;
        // Sometimes a half-unit literal (ceil / floor of merged bounds) or a literal of another scale (no merge).
        const lt = t.type === 'decimal' && rnd() < 0.15 ? DEC3 : t;
        const lv = rnd() < 0.1 ? v + 0.5 : v;
        conj.push(rnd() < 0.3 ? call(op, [lit(lv, lt), col(c, t)], BOOL) : call(op, [col(c, t), lit(lv, lt)], BOOL));
      }
      const groups: Expr[] = [[], [col(1, DEC)], [col(4, I64)], [col(1, DEC), col(3, DATE)]][r % 4]!;
      const aggs: AggCall[] = [
        { fn: 'sum', arg: call('*', [col(0, DEC), col(1, DEC)], DEC4), type: DEC4 },
        { fn: 'sum', arg: col(2, DEC), type: DEC38 },
        { fn: 'min', arg: col(0, DEC), type: DEC },
        { fn: 'max', arg: col(4, I64), type: I64 },
        { fn: 'count_star', arg: null, type: I64 },
      ];
      const f: FragmentSpec = { types: TYPES, filter: { kind: 'and', type: BOOL, args: conj }, groups, aggs };
      const mix = batches.map((b, i) => part((r + i) % 2 === 0 ? withCopies(b) : b));
      const t = task(f, mix);
      const what = `seed ${seed} round ${r} ${JSON.stringify(conj)}`;
      const fused = runFusedFragment(t);
      const generic = rows(runGeneric(t));
      if (fused !== null) expect(rows(fused), what).toEqual(generic);
      // The same task with every batch read from its copies.
      const fc = runFusedFragment(task(f, batches.map((b) => part(withCopies(b)))));
      if (fc !== null) expect(rows(fc), what).toEqual(generic);
      if (fused !== null && fc !== null && generic.length > 0 && generic[0]![4] !== 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(20);
  });

  it('merges both bounds of a compact int32 decimal column, also at the int32 extremes', () => {
    const seed = 99;
    const rnd = mulberry32(seed);
    const MIN = -2147483648, MAX = 2147483647;
    const edge = [MIN, MIN + 1, -1, 0, 1, MAX - 1, MAX];
    const n = 2000;
    const v: bigint[] = [];
    for (let i = 0; i < n; i++) v.push(BigInt(rnd() < 0.1 ? edge[Math.floor(rnd() * edge.length)]! : Math.floor(rnd() * 200) - 100));
    const types: SqlType[] = [DEC];
    const d = withCopies([decData(v)]);
    expect(part(d).columns[0]!.compact).toBeInstanceOf(Int32Array);
    const bounds = [...edge, -2147483649, 2147483648, 1e12, -1e12, 2.5, -2.5];
    for (let r = 0; r < 40; r++) {
      const pick = (): number => (rnd() < 0.4 ? bounds[Math.floor(rnd() * bounds.length)]! : Math.floor(rnd() * 240) - 120);
      const f: FragmentSpec = {
        types,
        filter: { kind: 'and', type: BOOL, args: [call(rnd() < 0.5 ? '>' : '>=', [col(0, DEC), lit(pick(), DEC)], BOOL), call(rnd() < 0.5 ? '<' : '<=', [col(0, DEC), lit(pick(), DEC)], BOOL)] },
        groups: [],
        aggs: [{ fn: 'count_star', arg: null, type: I64 }, { fn: 'sum', arg: col(0, DEC), type: DEC38 }],
      };
      const t = task(f, [part(d)]);
      const fused = runFusedFragment(t);
      expect(fused, `seed ${seed} round ${r}`).not.toBeNull();
      expect(rows(fused!), `seed ${seed} round ${r}`).toEqual(rows(runGeneric(t)));
    }
  });
});
