import type * as arrow from 'apache-arrow';
import type { StorageApi, TableInfo } from '../common/storage-api.js';
import type { DataType } from '../common/types.js';
import type { Expr } from './expr.js';
import { fmix32 } from '../columnar/index.js';

/**
 * Column statistics computed by COMPUTE STATS and read by the optimizer's estimates.
 *
 * One full scan computes per column: null count, min/max (numbers, dates, timestamps and
 * decimals as doubles in the column's domain — decimals as their real value, dates as days,
 * timestamps as µs; strings as strings in UTF-8 byte order), max/avg value size and a distinct
 * estimate: exact (a set of 32-bit value hashes) up to EXACT_MAX distinct hashes, then a
 * HyperLogLog sketch (2^HLL_P registers, standard error about 1.04/sqrt(2^HLL_P) = 1.6%).
 *
 * The stats live in memory, one store per query engine, keyed by table id and schema version:
 * a DROP / re-CREATE gets a new id and an ALTER a new schema version, so stale entries are
 * never used even when a statement on another edge changed the table.
 */

export interface ColumnStats {
  readonly name: string;
  readonly type: DataType;
  /** Distinct non-null values (estimate). */
  readonly ndv: number;
  /** True when ndv was counted exactly (of hashes; a 32-bit collision can only lower it). */
  readonly ndvExact: boolean;
  readonly nulls: number;
  /** Null when the column has no non-null value or min/max are not kept for its type (binary). */
  readonly min: number | string | null;
  readonly max: number | string | null;
  /** Bytes of the largest / average non-null value (fixed width for fixed-width types). */
  readonly maxSize: number;
  readonly avgSize: number;
}

export interface TableColumnStats {
  readonly tableId: string;
  readonly schemaVersion: number;
  readonly rowCount: number;
  readonly columns: ReadonlyMap<string, ColumnStats>;
}

/** Resolves a column index of an expression's input to that column's stats. */
export type StatsOf = (col: number) => ColumnStats | undefined;

export class ColumnStatsStore {
  private readonly byTable = new Map<string, TableColumnStats>();

  /** Stats of this table, or undefined when none were computed for its current id/schema version. */
  get(info: TableInfo): TableColumnStats | undefined {
    const s = this.byTable.get(info.tableId);
    if (s === undefined) return undefined;
    if (s.schemaVersion !== info.schemaVersion) { this.byTable.delete(info.tableId); return undefined; }
    return s;
  }

  set(stats: TableColumnStats): void {
    this.byTable.set(stats.tableId, stats);
  }

  invalidate(tableId: string): void {
    this.byTable.delete(tableId);
  }

  get size(): number {
    return this.byTable.size;
  }
}

export const HLL_P = 12;
const HLL_M = 1 << HLL_P;
export const EXACT_MAX = 1 << 14;
const TWO32 = 4294967296;

/** Folds one 32-bit word into a running hash (murmur3's body step); finish with fmix32. */
function mixWord(h: number, w: number): number {
  h = Math.imul(h ^ w, 0xcc9e2d51);
  return (h << 15) | (h >>> 17);
}

const EXACT_SLOTS = EXACT_MAX * 2;

/**
 * Distinct counter: exact (an open-addressing Int32Array set of hashes, load at most 1/2) until
 * more than EXACT_MAX distinct hashes, then HyperLogLog alone. The registers are kept from the
 * start so the switch loses nothing.
 */
export class DistinctCounter {
  private slots: Int32Array | null = new Int32Array(EXACT_SLOTS);
  private used: Uint8Array | null = new Uint8Array(EXACT_SLOTS);
  private count = 0;
  private readonly registers = new Uint8Array(HLL_M);

  add(hash: number): void {
    const idx = hash >>> (32 - HLL_P);
    const rest = (hash << HLL_P) >>> 0;
    const rank = rest === 0 ? 32 - HLL_P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[idx]!) this.registers[idx] = rank;
    const slots = this.slots;
    if (slots === null) return;
    const used = this.used!;
    const h = hash | 0;
    let i = h & (EXACT_SLOTS - 1); // hashes are already mixed: low bits index the set, high bits the registers
    while (used[i] === 1) {
      if (slots[i] === h) return;
      i = (i + 1) & (EXACT_SLOTS - 1);
    }
    used[i] = 1;
    slots[i] = h;
    if (++this.count > EXACT_MAX) { this.slots = null; this.used = null; }
  }

  get isExact(): boolean {
    return this.slots !== null;
  }

  estimate(): number {
    if (this.slots !== null) return this.count;
    let sum = 0, zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      const r = this.registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    let e = (alpha * HLL_M * HLL_M) / sum;
    if (e <= 2.5 * HLL_M && zeros > 0) e = HLL_M * Math.log(HLL_M / zeros);
    else if (e > TWO32 / 30) e = -TWO32 * Math.log(1 - e / TWO32);
    return Math.round(e);
  }
}

const FIXED_WIDTH: Partial<Record<DataType, number>> = {
  bool: 1, int8: 1, int16: 2, int32: 4, int64: 8, float: 4, double: 8, decimal: 16, date: 4, timestamp: 8,
};

/** Byte-order comparison of raw[s, e) with b (usually decided by the first byte). */
function compareRange(raw: Uint8Array, s: number, e: number, b: Uint8Array): number {
  const n = Math.min(e - s, b.length);
  for (let k = 0; k < n; k++) {
    const x = raw[s + k]!, y = b[k]!;
    if (x !== y) return x - y;
  }
  return (e - s) - b.length;
}

/** Per-column accumulator over Arrow Data chunks (typed arrays only, never Vector.get). */
class ColumnAccumulator {
  readonly distinct = new DistinctCounter();
  nulls = 0;
  nonNull = 0;
  min = Infinity;
  max = -Infinity;
  minBytes: Uint8Array | null = null;
  maxBytes: Uint8Array | null = null;
  bytes = 0;
  maxSize = 0;
  private readonly decScale: number;

  constructor(readonly name: string, readonly type: DataType, scale: number) {
    this.decScale = 10 ** scale;
  }

  addData(d: arrow.Data): void {
    const n = d.length;
    const bm = d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
    const off = d.offset;
    const t = this.type;
    const valid = (i: number): boolean => bm === null || ((bm[(off + i) >> 3]! >> ((off + i) & 7)) & 1) === 1;
    if (t === 'string' || t === 'binary') {
      const offs = d.valueOffsets as Int32Array;
      const raw = d.values as Uint8Array;
      const isString = t === 'string';
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { this.nulls++; continue; }
        const s = offs[i]!, e = offs[i + 1]!;
        let h = 0x811c9dc5 ^ (e - s);
        let k = s;
        for (; k + 4 <= e; k += 4) h = Math.imul(h ^ (raw[k]! | (raw[k + 1]! << 8) | (raw[k + 2]! << 16) | (raw[k + 3]! << 24)), 0x01000193) ^ (h >>> 15);
        for (; k < e; k++) h = Math.imul(h ^ raw[k]!, 0x01000193);
        this.distinct.add(fmix32(h));
        this.nonNull++;
        this.bytes += e - s;
        if (e - s > this.maxSize) this.maxSize = e - s;
        if (isString) {
          if (this.minBytes === null || compareRange(raw, s, e, this.minBytes) < 0) this.minBytes = raw.slice(s, e);
          if (this.maxBytes === null || compareRange(raw, s, e, this.maxBytes) > 0) this.maxBytes = raw.slice(s, e);
        }
      }
      return;
    }
    if (t === 'bool') {
      const bits = d.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { this.nulls++; continue; }
        const b = off + i;
        this.noteNumber((bits[b >> 3]! >> (b & 7)) & 1, fmix32(((bits[b >> 3]! >> (b & 7)) & 1) + 1));
      }
      return;
    }
    const src = d.values as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number };
    if (t === 'decimal') {
      const w = new Uint32Array(src.buffer, src.byteOffset, n * 4);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { this.nulls++; continue; }
        const w0 = w[i * 4]!, w1 = w[i * 4 + 1]!, w2 = w[i * 4 + 2]!, w3 = w[i * 4 + 3]!;
        const neg = (w3 & 0x80000000) !== 0;
        // Beyond 2^64 the double keeps the magnitude only roughly: fine for min/max estimates.
        const lo = neg ? -((~w0 >>> 0) + (~w1 >>> 0) * TWO32 + 1) : w0 + w1 * TWO32;
        const x = (w2 === (neg ? 0xffffffff : 0) && w3 === (neg ? 0xffffffff : 0)) ? lo : (w3 | 0) * TWO32 * TWO32 * TWO32 + w2 * TWO32 * TWO32 + lo;
        this.noteNumber(x / this.decScale, fmix32(mixWord(mixWord(mixWord(mixWord(0x1234567, w0), w1), w2), w3)));
      }
      return;
    }
    if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
      const w = new Int32Array(src.buffer, src.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { this.nulls++; continue; }
        const lo = w[i * 2]!, hi = w[i * 2 + 1]!;
        this.noteNumber((lo >>> 0) + hi * TWO32, fmix32(mixWord(mixWord(0x2345678, lo), hi)));
      }
      return;
    }
    if (src instanceof Float64Array || src instanceof Float32Array) {
      const f = new Float64Array(1);
      const fw = new Int32Array(f.buffer);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { this.nulls++; continue; }
        const x = src[i]!;
        f[0] = x === 0 ? 0 : x; // -0 and 0 are one value
        this.noteNumber(x, fmix32(mixWord(mixWord(0x3456789, fw[0]!), fw[1]!)));
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      if (!valid(i)) { this.nulls++; continue; }
      const x = src[i]!;
      this.noteNumber(x, fmix32(mixWord(0x2345678, x | 0)));
    }
  }

  private noteNumber(x: number, hash: number): void {
    this.nonNull++;
    this.distinct.add(hash);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  result(): ColumnStats {
    const fixed = FIXED_WIDTH[this.type];
    const isStr = this.type === 'string' || this.type === 'binary';
    let min: number | string | null = null, max: number | string | null = null;
    if (this.type === 'string') {
      min = this.minBytes === null ? null : Buffer.from(this.minBytes).toString('utf8');
      max = this.maxBytes === null ? null : Buffer.from(this.maxBytes).toString('utf8');
    } else if (!isStr && this.nonNull > 0) {
      min = this.min; max = this.max;
    }
    return {
      name: this.name, type: this.type, ndv: this.distinct.estimate(), ndvExact: this.distinct.isExact, nulls: this.nulls, min, max,
      maxSize: isStr ? this.maxSize : fixed ?? -1,
      avgSize: isStr ? (this.nonNull > 0 ? this.bytes / this.nonNull : 0) : fixed ?? -1,
    };
  }
}

/** Scans the whole table once (latest snapshot) and computes every visible column's stats. */
export async function computeColumnStats(storage: StorageApi, db: string, info: TableInfo, hidden: ReadonlySet<string> = new Set()): Promise<TableColumnStats> {
  const cols = info.schema.columns.filter((c) => !hidden.has(c.name));
  const accs = cols.map((c) => new ColumnAccumulator(c.name, c.type, c.type === 'decimal' ? c.scale ?? 0 : 0));
  let rowCount = 0;
  for await (const batch of storage.scan(db, info.name, { projection: cols.map((c) => c.name) })) {
    rowCount += batch.numRows;
    for (let k = 0; k < accs.length; k++) {
      const v = batch.getChildAt(k);
      if (v === null) continue;
      for (const d of v.data) accs[k]!.addData(d as arrow.Data);
    }
  }
  const columns = new Map<string, ColumnStats>();
  for (const a of accs) columns.set(a.name, a.result());
  return { tableId: info.tableId, schemaVersion: info.schemaVersion, rowCount, columns };
}

// ---------- selectivity from stats ----------

/** A literal in the stats domain of a numeric / date column (decimal literals are unscaled). */
function litNumber(e: Expr): number | null {
  if (e.kind !== 'lit' || e.value === null) return null;
  const v = e.value;
  if (typeof v !== 'number' && typeof v !== 'bigint') return null;
  const scale = e.type.type === 'decimal' ? e.type.scale ?? 0 : 0;
  return Number(v) / 10 ** scale;
}

function isRangeType(t: DataType): boolean {
  return t !== 'string' && t !== 'binary' && t !== 'bool';
}

/** Fraction of rows with the column not null. */
function nonNullFraction(s: ColumnStats, rows: number): number {
  return rows > 0 ? Math.max(0, 1 - s.nulls / rows) : 1;
}

/**
 * Fraction of the column's rows a range keeps, by linear interpolation between min and max;
 * null when it cannot tell (no min/max, not a numeric-like column).
 */
function rangeFraction(s: ColumnStats, op: string, x: number): number | null {
  if (!isRangeType(s.type) || typeof s.min !== 'number' || typeof s.max !== 'number') return null;
  const lo = s.min, hi = s.max;
  if (hi <= lo) {
    const keep = op === '<' ? x > lo : op === '<=' ? x >= lo : op === '>' ? x < lo : x <= lo;
    return keep ? 1 : 0;
  }
  const clamp = (f: number): number => Math.min(1, Math.max(0, f));
  let below: (v: number, inclusive: boolean) => number;
  if (s.type === 'int8' || s.type === 'int16' || s.type === 'int32' || s.type === 'int64' || s.type === 'date') {
    // Integer domains: hi - lo + 1 values, x <= v is x < floor(v) + 1.
    const span = hi - lo + 1;
    below = (v, inclusive) => clamp(((inclusive ? Math.floor(v) + 1 : Math.ceil(v)) - lo) / span);
  } else {
    below = (v) => clamp((v - lo) / (hi - lo));
  }
  switch (op) {
    case '<': return below(x, false);
    case '<=': return below(x, true);
    case '>': return 1 - below(x, true);
    case '>=': return 1 - below(x, false);
    default: return null;
  }
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

/**
 * Fraction of rows a (non-AND) condition keeps according to column statistics, or null when
 * the stats say nothing about it (the caller then uses its guess). rows is the table's row
 * count the stats describe (for the null fraction).
 */
export function statsSelectivity(e: Expr, statsOf: StatsOf, rows: number): number | null {
  if (e.kind === 'call' && e.args.length === 2 && e.fn in FLIP) {
    let [a, b] = e.args as [Expr, Expr];
    let op = e.fn;
    if (a.kind === 'lit' && b.kind === 'col') { [a, b] = [b, a]; op = FLIP[op]!; }
    if (a.kind !== 'col' || b.kind !== 'lit') return null;
    const s = statsOf(a.index);
    if (s === undefined) return null;
    if (b.value === null) return 0;
    const nn = nonNullFraction(s, rows);
    if (op === '=') {
      const x = litNumber(b);
      if (x !== null && typeof s.min === 'number' && typeof s.max === 'number' && (x < s.min || x > s.max)) return 0;
      if (typeof b.value === 'string' && typeof s.min === 'string' && typeof s.max === 'string') {
        const v = Buffer.from(b.value);
        if (Buffer.compare(v, Buffer.from(s.min)) < 0 || Buffer.compare(v, Buffer.from(s.max)) > 0) return 0;
      }
      return s.ndv > 0 ? nn / s.ndv : 0;
    }
    const x = litNumber(b);
    if (x === null) return null;
    const f = rangeFraction(s, op, x);
    return f === null ? null : f * nn;
  }
  if (e.kind === 'in' && !e.negated && e.arg.kind === 'col' && e.list.every((x) => x.kind === 'lit')) {
    const s = statsOf(e.arg.index);
    if (s === undefined) return null;
    const distinct = new Set(e.list.map((x) => String((x as Extract<Expr, { kind: 'lit' }>).value))).size;
    return s.ndv > 0 ? Math.min(1, distinct / s.ndv) * nonNullFraction(s, rows) : 0;
  }
  if (e.kind === 'isNull' && e.arg.kind === 'col') {
    const s = statsOf(e.arg.index);
    if (s === undefined || rows <= 0) return null;
    const f = Math.min(1, s.nulls / rows);
    return e.negated ? 1 - f : f;
  }
  if (e.kind === 'call' && e.fn === 'between' && e.args.length === 3) {
    const [a, lo, hi] = e.args as [Expr, Expr, Expr];
    if (a.kind !== 'col') return null;
    const s = statsOf(a.index);
    const l = litNumber(lo), h = litNumber(hi);
    if (s === undefined || l === null || h === null) return null;
    const fl = rangeFraction(s, '>=', l), fh = rangeFraction(s, '<=', h);
    if (fl === null || fh === null) return null;
    return Math.max(0, fl + fh - 1) * nonNullFraction(s, rows);
  }
  return null;
}

/**
 * Fraction of rows a conjunction keeps by column statistics: range bounds on the same column
 * are intersected (lo <= x < hi keeps f(lo) + f(hi) - 1, not their product); every other
 * conjunct multiplies in, by `one` (statsSelectivity or the caller's guess).
 */
export function conjunctionSelectivity(conjuncts: readonly Expr[], statsOf: StatsOf, rows: number, one: (e: Expr) => number): number {
  const bounds = new Map<number, { lower: number; upper: number; s: ColumnStats }>();
  let product = 1;
  for (const e of conjuncts) {
    const r = rangeBound(e, statsOf);
    if (r === null) { product *= one(e); continue; }
    const b = bounds.get(r.col) ?? { lower: 1, upper: 1, s: r.s };
    if (r.lowerBound) b.lower = Math.min(b.lower, r.f); else b.upper = Math.min(b.upper, r.f);
    bounds.set(r.col, b);
  }
  for (const b of bounds.values()) product *= Math.max(0, b.lower + b.upper - 1) * nonNullFraction(b.s, rows);
  return product;
}

/** col (< | <= | > | >=) numeric literal with min/max stats: the fraction of non-null rows it keeps. */
function rangeBound(e: Expr, statsOf: StatsOf): { col: number; s: ColumnStats; lowerBound: boolean; f: number } | null {
  if (e.kind !== 'call' || e.args.length !== 2 || !(e.fn === '<' || e.fn === '<=' || e.fn === '>' || e.fn === '>=')) return null;
  let [a, b] = e.args as [Expr, Expr];
  let op = e.fn;
  if (a.kind === 'lit' && b.kind === 'col') { [a, b] = [b, a]; op = FLIP[op]!; }
  if (a.kind !== 'col' || b.kind !== 'lit') return null;
  const s = statsOf(a.index);
  const x = litNumber(b);
  if (s === undefined || x === null) return null;
  const f = rangeFraction(s, op, x);
  return f === null ? null : { col: a.index, s, lowerBound: op === '>' || op === '>=', f };
}
