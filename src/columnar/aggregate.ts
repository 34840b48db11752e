import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { TypeInfo } from './arith.js';
import type { Column } from './column.js';
import { allocValues, bitmapBytes, columnFromValues, makeColumn, normalizeValidity } from './column.js';
import { decimalSetBigInt, decimalSetDouble, divRoundHalfAway, MAX_SAFE, pow10n, TWO_32 } from './decimal.js';
import { compareBytes } from './filter.js';
import { KeyTable } from './hash-table.js';
import { readNumeric } from './numeric-input.js';
import type { Selection } from './selection.js';
import { take } from './take.js';

/**
 * Hash aggregation: per-group accumulators in typed arrays. Every accumulator has a partial
 * state made only of Columns (typed arrays), so partials computed per tablet in worker threads
 * can be posted to the gateway and merged there.
 */

export type AggKind = 'count_star' | 'count' | 'sum' | 'avg' | 'min' | 'max' | 'count_distinct';

export interface AggSpec {
  readonly kind: AggKind;
  /** Input column type; null for count_star. */
  readonly input: TypeInfo | null;
}

/** A partial aggregate state: columns of `groupCount` rows (count_distinct: distinct (group, value) pairs). */
export interface AggState {
  readonly kind: AggKind;
  readonly groupCount: number;
  readonly columns: readonly Column[];
}

const INT64: TypeInfo = { type: 'int64', precision: 0, scale: 0 };
const DOUBLE: TypeInfo = { type: 'double', precision: 0, scale: 0 };

function isExactNumeric(t: TypeInfo): boolean {
  return t.type === 'bool' || t.type === 'int8' || t.type === 'int16' || t.type === 'int32' || t.type === 'int64' || t.type === 'decimal';
}

/** MySQL result types: SUM(int|decimal) -> DECIMAL(38, s); AVG(int|decimal) -> DECIMAL(38, s+4); float -> DOUBLE; COUNT -> BIGINT. */
export function aggregateResultType(spec: AggSpec): TypeInfo {
  const t = spec.input;
  switch (spec.kind) {
    case 'count_star': case 'count': case 'count_distinct': return INT64;
    case 'min': case 'max':
      assert(t !== null, `${spec.kind} needs an input type`);
      return t;
    case 'sum': case 'avg': {
      assert(t !== null, `${spec.kind} needs an input type`);
      if (t.type === 'float' || t.type === 'double') return DOUBLE;
      if (!isExactNumeric(t)) throw new SaigaError('InvalidArgument', `${spec.kind.toUpperCase()} expects a number, found ${t.type}`);
      const s = t.type === 'decimal' ? t.scale : 0;
      return { type: 'decimal', precision: 38, scale: spec.kind === 'avg' ? Math.min(38, s + 4) : s };
    }
  }
}

export interface Accumulator {
  readonly spec: AggSpec;
  /** groupIds[i] is the group of row sel[i] (or row i); `groupCount` groups exist after the call. */
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void;
  state(groupCount: number): AggState;
  /** Merges a partial state; its group g becomes this accumulator's group groupMap[g]. */
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void;
  result(groupCount: number): Column;
}

function grow<T extends Float64Array | Uint8Array>(a: T, n: number): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

function rowOf(sel: Selection | null, i: number): number {
  return sel === null ? i : (sel[i] as number);
}

function validRow(col: Column, r: number): boolean {
  const v = col.validity;
  return v === null || ((v[r >> 3] as number) & (1 << (r & 7))) !== 0;
}

class CountAcc implements Accumulator {
  counts = new Float64Array(16);
  constructor(readonly spec: AggSpec) {}
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void {
    this.counts = grow(this.counts, groupCount);
    const c = this.counts;
    if (col === null || col.validity === null) {
      for (let i = 0; i < groupIds.length; i++) c[groupIds[i] as number] = (c[groupIds[i] as number] as number) + 1;
      return;
    }
    const v = col.validity;
    for (let i = 0; i < groupIds.length; i++) {
      const r = rowOf(sel, i);
      if (((v[r >> 3] as number) & (1 << (r & 7))) !== 0) c[groupIds[i] as number] = (c[groupIds[i] as number] as number) + 1;
    }
  }
  state(groupCount: number): AggState {
    return { kind: this.spec.kind, groupCount, columns: [makeColumn('double', groupCount, this.counts.slice(0, groupCount), null)] };
  }
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void {
    this.counts = grow(this.counts, groupCount);
    const src = (state.columns[0] as Column).values as Float64Array;
    for (let g = 0; g < state.groupCount; g++) this.counts[groupMap[g] as number] = (this.counts[groupMap[g] as number] as number) + (src[g] as number);
  }
  result(groupCount: number): Column {
    const out = new BigInt64Array(groupCount);
    const w = new Int32Array(out.buffer);
    for (let g = 0; g < groupCount; g++) {
      const x = (this.counts[g] ?? 0);
      const hi = Math.floor(x / TWO_32);
      w[g << 1] = (x - hi * TWO_32) | 0;
      w[(g << 1) + 1] = hi | 0;
    }
    return makeColumn('int64', groupCount, out, null);
  }
}

/** SUM: doubles for float inputs; exact for ints/decimals (double fast path, bigint per group on overflow). */
class SumAcc implements Accumulator {
  sums = new Float64Array(16);
  has = new Uint8Array(16);
  big = new Map<number, bigint>();
  readonly exact: boolean;
  readonly out: TypeInfo;
  constructor(readonly spec: AggSpec) {
    this.out = aggregateResultType({ kind: 'sum', input: spec.input });
    this.exact = this.out.type === 'decimal';
  }
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void {
    assert(col !== null, 'SUM needs an input column');
    this.sums = grow(this.sums, groupCount);
    this.has = grow(this.has, groupCount);
    const inp = readNumeric(col, sel, this.exact ? 'unscaled' : 'double');
    if (this.exact && col.type === 'decimal') assert(col.scale === this.out.scale, `SUM input scale ${col.scale}, expected ${this.out.scale}`);
    const vals = inp.vals, valid = inp.valid, sums = this.sums, has = this.has;
    const n = groupIds.length;
    if (!this.exact) {
      for (let i = 0; i < n; i++) {
        if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
        const g = groupIds[i] as number;
        sums[g] = (sums[g] as number) + (vals[i] as number);
        has[g] = 1;
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
      const g = groupIds[i] as number;
      has[g] = 1;
      const x = vals[i] as number;
      const t = (sums[g] as number) + x;
      if (t <= MAX_SAFE && t >= -MAX_SAFE) { sums[g] = t; continue; }
      // Overflow or an unsafe input: move this group's running sum to bigint.
      const bx = x === x ? BigInt(x) : inp.big(i);
      this.big.set(g, (this.big.get(g) ?? 0n) + BigInt(sums[g] as number) + bx);
      sums[g] = 0;
    }
  }
  /** Exact sum of group g (unscaled). */
  exactSum(g: number): bigint {
    return (this.big.get(g) ?? 0n) + BigInt(this.sums[g] ?? 0);
  }
  hasValue(g: number): boolean { return this.has[g] === 1; }
  state(groupCount: number): AggState {
    return { kind: this.spec.kind, groupCount, columns: [this.result(groupCount)] };
  }
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void {
    this.update(groupMap.subarray(0, state.groupCount), state.columns[0] as Column, null, groupCount);
  }
  result(groupCount: number): Column {
    const validity = new Uint8Array(bitmapBytes(groupCount));
    for (let g = 0; g < groupCount; g++) if (this.has[g] === 1) validity[g >> 3] = (validity[g >> 3] as number) | (1 << (g & 7));
    if (!this.exact) return makeColumn('double', groupCount, this.sums.slice(0, groupCount), normalizeValidity(validity, groupCount));
    const out = new Uint32Array(groupCount * 4);
    const w = new Int32Array(out.buffer);
    for (let g = 0; g < groupCount; g++) {
      if (this.big.has(g)) decimalSetBigInt(w, g, this.exactSum(g));
      else decimalSetDouble(w, g, this.sums[g] ?? 0);
    }
    return makeColumn('decimal', groupCount, out, normalizeValidity(validity, groupCount), this.out.precision, this.out.scale);
  }
}

class AvgAcc implements Accumulator {
  readonly sum: SumAcc;
  readonly count: CountAcc;
  readonly out: TypeInfo;
  constructor(readonly spec: AggSpec) {
    this.sum = new SumAcc({ kind: 'sum', input: spec.input });
    this.count = new CountAcc({ kind: 'count', input: spec.input });
    this.out = aggregateResultType(spec);
  }
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void {
    this.sum.update(groupIds, col, sel, groupCount);
    this.count.update(groupIds, col, sel, groupCount);
  }
  state(groupCount: number): AggState {
    return { kind: 'avg', groupCount, columns: [this.sum.result(groupCount), this.count.state(groupCount).columns[0] as Column] };
  }
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void {
    this.sum.merge({ kind: 'sum', groupCount: state.groupCount, columns: [state.columns[0] as Column] }, groupMap, groupCount);
    this.count.merge({ kind: 'count', groupCount: state.groupCount, columns: [state.columns[1] as Column] }, groupMap, groupCount);
  }
  result(groupCount: number): Column {
    const validity = new Uint8Array(bitmapBytes(groupCount));
    const counts = this.count.counts;
    if (this.out.type === 'double') {
      const out = new Float64Array(groupCount);
      for (let g = 0; g < groupCount; g++) {
        const c = counts[g] ?? 0;
        if (c === 0) continue;
        validity[g >> 3] = (validity[g >> 3] as number) | (1 << (g & 7));
        out[g] = (this.sum.sums[g] as number) / c;
      }
      return makeColumn('double', groupCount, out, normalizeValidity(validity, groupCount));
    }
    const out = new Uint32Array(groupCount * 4);
    const w = new Int32Array(out.buffer);
    const up = pow10n(this.out.scale - this.sum.out.scale);
    for (let g = 0; g < groupCount; g++) {
      const c = counts[g] ?? 0;
      if (c === 0) continue;
      validity[g >> 3] = (validity[g >> 3] as number) | (1 << (g & 7));
      decimalSetBigInt(w, g, divRoundHalfAway(this.sum.exactSum(g) * up, BigInt(c)));
    }
    return makeColumn('decimal', groupCount, out, normalizeValidity(validity, groupCount), this.out.precision, this.out.scale);
  }
}

/** MIN / MAX over numbers (exact for int64/decimal), dates, timestamps, bools and strings (byte order). */
class MinMaxAcc implements Accumulator {
  best = new Float64Array(16);
  bestBig = new Map<number, bigint>();
  bestBytes: (Uint8Array | null)[] = [];
  has = new Uint8Array(16);
  readonly sign: number;
  readonly input: TypeInfo;
  readonly bytes: boolean;
  constructor(readonly spec: AggSpec) {
    assert(spec.input !== null, `${spec.kind} needs an input type`);
    this.input = spec.input;
    this.sign = spec.kind === 'min' ? -1 : 1;
    this.bytes = spec.input.type === 'string' || spec.input.type === 'binary';
  }
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void {
    assert(col !== null, `${this.spec.kind} needs an input column`);
    this.best = grow(this.best, groupCount);
    this.has = grow(this.has, groupCount);
    const n = groupIds.length, has = this.has, sign = this.sign;
    if (this.bytes) {
      const o = col.offsets as Int32Array, d = col.data as Uint8Array;
      while (this.bestBytes.length < groupCount) this.bestBytes.push(null);
      for (let i = 0; i < n; i++) {
        const r = rowOf(sel, i);
        if (!validRow(col, r)) continue;
        const g = groupIds[i] as number;
        const cur = this.bestBytes[g] ?? null;
        const s = o[r] as number, e = o[r + 1] as number;
        if (cur === null || compareBytes(d, s, e, cur, 0, cur.length) * sign > 0) this.bestBytes[g] = d.slice(s, e);
        has[g] = 1;
      }
      return;
    }
    const inp = readNumeric(col, sel, 'unscaled');
    const vals = inp.vals, valid = inp.valid, best = this.best;
    for (let i = 0; i < n; i++) {
      if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
      const g = groupIds[i] as number;
      const x = vals[i] as number;
      if (has[g] === 0) {
        has[g] = 1;
        best[g] = x;
        if (x !== x) this.bestBig.set(g, inp.big(i)); else this.bestBig.delete(g);
        continue;
      }
      const b = best[g] as number;
      if (x === x && b === b) {
        if ((x - b) * sign > 0) best[g] = x;
        continue;
      }
      // Slow path: one side is not exactly a double (huge int64/decimal) or a float NaN.
      if (this.input.type === 'float' || this.input.type === 'double') continue;
      const bx = x === x ? BigInt(x) : inp.big(i);
      const bb = b === b ? BigInt(b) : (this.bestBig.get(g) as bigint);
      if ((bx > bb ? 1 : bx < bb ? -1 : 0) * sign > 0) {
        best[g] = x;
        if (x !== x) this.bestBig.set(g, bx); else this.bestBig.delete(g);
      }
    }
  }
  state(groupCount: number): AggState {
    return { kind: this.spec.kind, groupCount, columns: [this.result(groupCount)] };
  }
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void {
    this.update(groupMap.subarray(0, state.groupCount), state.columns[0] as Column, null, groupCount);
  }
  result(groupCount: number): Column {
    const t = this.input;
    if (this.bytes) {
      const vals = [];
      for (let g = 0; g < groupCount; g++) {
        const b = this.has[g] === 1 ? this.bestBytes[g] ?? null : null;
        vals.push(b === null ? null : t.type === 'string' ? new TextDecoder().decode(b) : b);
      }
      return columnFromValues(t.type, vals);
    }
    const validity = new Uint8Array(bitmapBytes(groupCount));
    const out = allocValues(t.type, groupCount);
    const w = out instanceof BigInt64Array || out instanceof Uint32Array ? new Int32Array(out.buffer) : null;
    for (let g = 0; g < groupCount; g++) {
      if (this.has[g] !== 1) continue;
      validity[g >> 3] = (validity[g >> 3] as number) | (1 << (g & 7));
      const x = this.best[g] as number;
      switch (t.type) {
        case 'bool': if (x === 1) (out as Uint8Array)[g >> 3] = ((out as Uint8Array)[g >> 3] as number) | (1 << (g & 7)); break;
        case 'decimal':
          if (x === x) decimalSetDouble(w as Int32Array, g, x); else decimalSetBigInt(w as Int32Array, g, this.bestBig.get(g) as bigint);
          break;
        case 'int64': case 'timestamp':
          if (x === x) { const hi = Math.floor(x / TWO_32); (w as Int32Array)[g << 1] = (x - hi * TWO_32) | 0; (w as Int32Array)[(g << 1) + 1] = hi | 0; }
          else (out as BigInt64Array)[g] = this.bestBig.get(g) as bigint;
          break;
        default: (out as Float64Array)[g] = x;
      }
    }
    return makeColumn(t.type, groupCount, out, normalizeValidity(validity, groupCount), t.precision, t.scale);
  }
}

/** COUNT(DISTINCT col): a KeyTable over (group id, value) pairs. */
class CountDistinctAcc implements Accumulator {
  readonly pairs: KeyTable;
  counts = new Float64Array(16);
  constructor(readonly spec: AggSpec) {
    assert(spec.input !== null, 'COUNT(DISTINCT) needs an input type');
    this.pairs = new KeyTable([{ type: 'int32', precision: 0, scale: 0 }, spec.input]);
  }
  update(groupIds: Int32Array, col: Column | null, sel: Selection | null, groupCount: number): void {
    assert(col !== null, 'COUNT(DISTINCT) needs an input column');
    this.counts = grow(this.counts, groupCount);
    // Keep only non-NULL rows.
    const keep: number[] = [];
    const rows: number[] = [];
    for (let i = 0; i < groupIds.length; i++) {
      const r = rowOf(sel, i);
      if (validRow(col, r)) { keep.push(groupIds[i] as number); rows.push(r); }
    }
    const gcol = makeColumn('int32', keep.length, Int32Array.from(keep), null);
    const vcol = take(col, Int32Array.from(rows));
    let next = this.pairs.groupCount;
    const ids = this.pairs.findOrInsert([gcol, vcol], null);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === next) {
        const g = keep[i] as number;
        this.counts[g] = (this.counts[g] as number) + 1;
        next++;
      }
    }
  }
  state(groupCount: number): AggState {
    return { kind: 'count_distinct', groupCount, columns: this.pairs.keyColumns() };
  }
  merge(state: AggState, groupMap: Int32Array, groupCount: number): void {
    const [g, v] = state.columns as [Column, Column];
    const mapped = new Int32Array(g.length);
    const gv = g.values as Int32Array;
    for (let i = 0; i < g.length; i++) mapped[i] = groupMap[gv[i] as number] as number;
    this.update(mapped, v, null, groupCount);
  }
  result(groupCount: number): Column {
    const cc = new CountAcc({ kind: 'count', input: null });
    cc.counts = grow(this.counts, groupCount);
    return cc.result(groupCount);
  }
}

export function createAccumulator(spec: AggSpec): Accumulator {
  switch (spec.kind) {
    case 'count_star': case 'count': return new CountAcc(spec);
    case 'sum': return new SumAcc(spec);
    case 'avg': return new AvgAcc(spec);
    case 'min': case 'max': return new MinMaxAcc(spec);
    case 'count_distinct': return new CountDistinctAcc(spec);
  }
}
