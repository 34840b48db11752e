import type * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { valueAt } from './column-batch.js';
import { writeDecimal } from './column-data.js';

/**
 * Row values of the MemRowSet stored column by column in typed arrays, so an inserted row leaves
 * no per-row objects behind (no row array, no boxed bigint, no string) for the garbage
 * collector to trace and copy. Rows are appended once and never changed; a row is materialized
 * into a Value[] only when a read, update or flush needs it.
 *
 * Rows live in segments of consecutive row indexes, each in the canonical columnar layout
 * (column-batch.ts): a bulk append of a large batch becomes its own segment (keeping the
 * batch's arrays when the caller hands them over, else one exact-size copy: no regrowth by
 * doubling), smaller appends and single rows go to an open segment that grows up to
 * OPEN_ROWS_MAX rows and is then sealed.
 *
 * | type                                  | storage (per segment)                     |
 * |---------------------------------------|-------------------------------------------|
 * | int8/16/32, date, float, double, ts   | Float64Array (exact for all these)        |
 * | int64                                 | BigInt64Array                             |
 * | decimal                               | Uint32Array, 4 little-endian words a row  |
 * | string, binary                        | bytes (Uint8Array) + Int32 offsets (n+1; row i = bytes[offsets[i], offsets[i+1])) |
 * | bool                                  | Uint8Array 0/1                            |
 * Nulls: a validity bitmap (bit set = valid, LSB first), absent when the segment has none.
 */

const textEncoder = new TextEncoder();

export type Kind = 'num' | 'i64' | 'dec' | 'str' | 'bin' | 'bool';

function kindOf(c: ColumnSchema): Kind {
  switch (c.type) {
    case 'int64': return 'i64';
    case 'decimal': return 'dec';
    case 'string': return 'str';
    case 'binary': return 'bin';
    case 'bool': return 'bool';
    default: return 'num';
  }
}

/** One column of one segment. `values` is a Float64Array, BigInt64Array, Uint32Array or Uint8Array by kind. */
export interface SegmentColumn {
  readonly kind: Kind;
  readonly values: Float64Array | BigInt64Array | Uint32Array | Uint8Array;
  /** str / bin only: n+1 offsets into `values`. */
  readonly offsets: Int32Array | undefined;
  /** Validity bitmap of the segment's rows (bit i = row i is not NULL); undefined: no NULL. */
  readonly validity: Uint8Array | undefined;
}

/** Rows [base, base+length) of the store. */
export interface Segment {
  readonly base: number;
  readonly length: number;
  readonly columns: readonly SegmentColumn[];
}

/** Rows an open segment holds before it is sealed. */
const OPEN_ROWS_MAX = 16 * 1024;
/** Bulk appends of at least this many rows become their own segment. */
const SEGMENT_ROWS_MIN = 4 * 1024;

/**
 * Store arrays live on SharedArrayBuffers, so a frozen MemRowSet goes to the flush worker
 * (tablet/background-flush.ts) without a copy; batches taken on shared buffers are kept as they are.
 */
function shared<T>(ctor: { new (b: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }, n: number): T {
  return new ctor(new SharedArrayBuffer(Math.max(0, n) * ctor.BYTES_PER_ELEMENT));
}

/** A copy of `a` on a SharedArrayBuffer. */
function sharedCopy<T extends Float64Array | BigInt64Array | Uint32Array | Uint8Array | Int32Array>(a: T): T {
  const c = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  (c as Uint8Array).set(a as unknown as Uint8Array);
  return c;
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

export function isValid(validity: Uint8Array | undefined, i: number): boolean {
  return validity === undefined || ((validity[i >> 3] as number) & (1 << (i & 7))) !== 0;
}

/** The open segment's column: growable arrays in the segment layout. */
class OpenColumn {
  values: Float64Array | BigInt64Array | Uint32Array | Uint8Array;
  offsets: Int32Array | undefined;
  validity: Uint8Array | undefined;
  bytesUsed = 0;

  constructor(readonly kind: Kind, cap: number) {
    this.values = OpenColumn.alloc(kind, cap);
    this.offsets = kind === 'str' || kind === 'bin' ? shared(Int32Array, cap + 1) : undefined;
  }

  private static alloc(kind: Kind, cap: number): Float64Array | BigInt64Array | Uint32Array | Uint8Array {
    switch (kind) {
      case 'num': return shared(Float64Array, cap);
      case 'i64': return shared(BigInt64Array, cap);
      case 'dec': return shared(Uint32Array, 4 * cap);
      case 'bool': return shared(Uint8Array, cap);
      default: return shared(Uint8Array, Math.max(4096, cap * 8));
    }
  }

  grow(cap: number, rows: number): void {
    const k = this.kind;
    if (k === 'str' || k === 'bin') {
      const o = shared(Int32Array, cap + 1);
      o.set((this.offsets as Int32Array).subarray(0, rows + 1));
      this.offsets = o;
    } else {
      const v = OpenColumn.alloc(k, cap);
      (v as Float64Array).set((this.values as Float64Array).subarray(0, k === 'dec' ? 4 * rows : rows));
      this.values = v;
    }
    if (this.validity !== undefined) {
      const b = shared(Uint8Array, (cap + 7) >> 3).fill(0xff);
      b.set(this.validity.subarray(0, (rows + 7) >> 3));
      this.validity = b;
    }
  }

  private reserveBytes(extra: number): Uint8Array {
    const b = this.values as Uint8Array;
    const need = this.bytesUsed + extra;
    if (need <= b.length) return b;
    const n = shared(Uint8Array, Math.max(need, b.length * 2));
    n.set(b.subarray(0, this.bytesUsed));
    this.values = n;
    return n;
  }

  setNull(i: number, cap: number): void {
    if (this.validity === undefined) this.validity = shared(Uint8Array, (cap + 7) >> 3).fill(0xff);
    this.validity[i >> 3] = (this.validity[i >> 3] as number) & ~(1 << (i & 7));
  }

  set(i: number, v: Value, cap: number): void {
    if (v === null) {
      this.setNull(i, cap);
      if (this.offsets !== undefined) this.offsets[i + 1] = this.bytesUsed;
      return;
    }
    switch (this.kind) {
      // Canonical values are number / bigint; a raw column default may be the other one.
      case 'num': (this.values as Float64Array)[i] = typeof v === 'number' ? v : Number(v); return;
      case 'i64': (this.values as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(v as number); return;
      case 'dec': writeDecimal(this.values as Uint32Array, i, typeof v === 'bigint' ? v : BigInt(v as number)); return;
      case 'bool': (this.values as Uint8Array)[i] = v ? 1 : 0; return;
      case 'str': case 'bin': {
        const s = v as string | Uint8Array;
        const b = this.reserveBytes(typeof s === 'string' ? s.length * 3 : s.length);
        if (typeof s === 'string') this.bytesUsed += textEncoder.encodeInto(s, b.subarray(this.bytesUsed)).written;
        else { b.set(s, this.bytesUsed); this.bytesUsed += s.length; }
        (this.offsets as Int32Array)[i + 1] = this.bytesUsed;
      }
    }
  }

  /** Copies rows [from, from+count) of a canonical column to rows [at, at+count). */
  copyFrom(d: arrow.Data, from: number, count: number, at: number, cap: number): void {
    copyNulls(d, from, count, at, () => {
      if (this.validity === undefined) this.validity = shared(Uint8Array, (cap + 7) >> 3).fill(0xff);
      return this.validity;
    });
    switch (this.kind) {
      case 'num': case 'i64': case 'bool':
        (this.values as Float64Array).set((d.values as Float64Array).subarray(from, from + count), at);
        return;
      case 'dec': (this.values as Uint32Array).set((d.values as Uint32Array).subarray(4 * from, 4 * (from + count)), 4 * at); return;
      case 'str': case 'bin': {
        const offs = d.valueOffsets as Int32Array;
        const s0 = offs[from] as number;
        const s1 = offs[from + count] as number;
        const b = this.reserveBytes(s1 - s0);
        b.set((d.values as Uint8Array).subarray(s0, s1), this.bytesUsed);
        const shift = this.bytesUsed - s0;
        const o = this.offsets as Int32Array;
        for (let i = 1; i <= count; i++) o[at + i] = (offs[from + i] as number) + shift;
        this.bytesUsed += s1 - s0;
      }
    }
  }

  /** The first `rows` rows as a segment column (trimmed when the arrays are mostly unused). */
  view(rows: number, trim: boolean): SegmentColumn {
    const k = this.kind;
    let values = this.values;
    let offsets = this.offsets;
    if (k === 'str' || k === 'bin') {
      values = (values as Uint8Array).subarray(0, this.bytesUsed);
      offsets = (offsets as Int32Array).subarray(0, rows + 1);
      if (trim) { values = sharedCopy(values); offsets = sharedCopy(offsets); }
    } else {
      values = (values as Float64Array).subarray(0, k === 'dec' ? 4 * rows : rows);
      if (trim) values = sharedCopy(values);
    }
    let validity = this.validity?.subarray(0, (rows + 7) >> 3);
    if (validity !== undefined && trim) validity = sharedCopy(validity);
    return { kind: k, values, offsets, validity };
  }
}

/** Clears the validity bits of rows [at, at+count) that are NULL in rows [from, from+count) of `d`. */
function copyNulls(d: arrow.Data, from: number, count: number, at: number, target: () => Uint8Array): void {
  const bm = d.nullBitmap;
  if (d.nullCount === 0 || bm === undefined || bm.length === 0) return;
  let out: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const k = from + i;
    if (((bm[k >> 3] as number) & (1 << (k & 7))) === 0) {
      out ??= target();
      const j = at + i;
      out[j >> 3] = (out[j >> 3] as number) & ~(1 << (j & 7));
    }
  }
}

/**
 * Rows [from, from+count) of a canonical column as a segment column: views when `owned` and on
 * shared buffers, else exact-size copies on shared buffers.
 */
function segmentColumn(kind: Kind, d: arrow.Data, from: number, count: number, owned: boolean): SegmentColumn {
  let validity: Uint8Array | undefined;
  copyNulls(d, from, count, 0, () => {
    validity ??= shared(Uint8Array, (count + 7) >> 3).fill(0xff);
    return validity;
  });
  switch (kind) {
    case 'str': case 'bin': {
      const offs = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      if (owned && isShared(bytes) && isShared(offs)) return { kind, values: bytes, offsets: offs.subarray(from, from + count + 1), validity };
      const s0 = offs[from] as number;
      const s1 = offs[from + count] as number;
      const offsets = shared(Int32Array, count + 1);
      for (let i = 1; i <= count; i++) offsets[i] = (offs[from + i] as number) - s0;
      return { kind, values: sharedCopy(bytes.subarray(s0, s1)), offsets, validity };
    }
    case 'dec': {
      const v = (d.values as Uint32Array).subarray(4 * from, 4 * (from + count));
      return { kind, values: owned && isShared(v) ? v : sharedCopy(v), offsets: undefined, validity };
    }
    default: {
      const v = (d.values as Float64Array).subarray(from, from + count);
      return { kind, values: owned && isShared(v) ? v : sharedCopy(v), offsets: undefined, validity };
    }
  }
}

function getValue(c: SegmentColumn, i: number): Value {
  return isValid(c.validity, i) ? valueAt(c.kind, c.values, c.offsets, i) : null;
}

function segmentColumnBytes(c: SegmentColumn, rows: number): number {
  const v = c.kind === 'str' || c.kind === 'bin' ? ((c.offsets as Int32Array)[rows] as number) - ((c.offsets as Int32Array)[0] as number) + 4 * rows
    : c.kind === 'dec' ? 16 * rows : c.kind === 'bool' ? rows : 8 * rows;
  return v + (c.validity === undefined ? 0 : (rows + 7) >> 3);
}

/** Append-only columnar row storage: `append(row)` returns the row's index. */
export class MrsColumns {
  private readonly kinds: Kind[];
  /** Sealed segments, in row order. */
  private readonly sealed: Segment[] = [];
  private sealedBytes = 0;
  /** The open segment: rows [openBase, openBase + openRows). */
  private open: OpenColumn[] | undefined;
  private openBase = 0;
  private openRows = 0;
  private openCap = 0;
  rowCount = 0;

  constructor(readonly columns: readonly ColumnSchema[]) {
    this.kinds = columns.map(kindOf);
  }

  /** A store holding `segments` (from another store's segments(), e.g. posted to a worker). */
  static fromSegments(columns: readonly ColumnSchema[], segments: readonly Segment[], rowCount: number): MrsColumns {
    const m = new MrsColumns(columns);
    let at = 0;
    for (const seg of segments) {
      assert(seg.base === at && seg.columns.length === m.kinds.length, () => `store segment at row ${seg.base} of ${seg.columns.length} columns, expected row ${at} of ${m.kinds.length}`);
      m.pushSealed(seg);
      at += seg.length;
    }
    assert(at === rowCount, () => `store segments hold ${at} rows, expected ${rowCount}`);
    m.rowCount = rowCount;
    return m;
  }

  /** Room for `extra` more rows in the open segment (sealing it first when it would pass OPEN_ROWS_MAX). */
  private reserveOpen(extra: number): OpenColumn[] {
    if (this.open !== undefined && this.openRows + extra > OPEN_ROWS_MAX) this.seal();
    if (this.open === undefined) {
      this.openCap = Math.max(256, extra);
      this.open = this.kinds.map((k) => new OpenColumn(k, this.openCap));
      this.openBase = this.rowCount;
      this.openRows = 0;
    } else if (this.openRows + extra > this.openCap) {
      const cap = Math.max(this.openCap * 2, this.openRows + extra);
      for (const c of this.open) c.grow(cap, this.openRows);
      this.openCap = cap;
    }
    return this.open;
  }

  private seal(): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    if (this.openRows === 0) return;
    const trim = this.openRows < this.openCap / 2;
    const seg: Segment = { base: this.openBase, length: this.openRows, columns: open.map((c) => c.view(this.openRows, trim)) };
    this.pushSealed(seg);
  }

  private pushSealed(seg: Segment): void {
    this.sealed.push(seg);
    for (const c of seg.columns) this.sealedBytes += segmentColumnBytes(c, seg.length);
  }

  append(row: readonly Value[]): number {
    assert(row.length === this.kinds.length, () => `MemRowSet row of ${row.length} values, expected ${this.kinds.length}`);
    const open = this.reserveOpen(1);
    const at = this.openRows;
    for (let c = 0; c < open.length; c++) (open[c] as OpenColumn).set(at, row[c] as Value, this.openCap);
    this.openRows = at + 1;
    return this.rowCount++;
  }

  /**
   * Appends rows [from, from+count) of canonical columns (one per store column); returns the
   * first row index. `owned`: the columns' buffers were allocated for this batch and nobody
   * else writes them, so a large append may keep them instead of copying.
   */
  appendColumns(cols: readonly arrow.Data[], from: number, count: number, owned = false): number {
    assert(cols.length === this.kinds.length, () => `MemRowSet batch of ${cols.length} columns, expected ${this.kinds.length}`);
    const first = this.rowCount;
    if (count === 0) return first;
    if (count >= SEGMENT_ROWS_MIN) {
      this.seal();
      this.pushSealed({ base: first, length: count, columns: this.kinds.map((k, c) => segmentColumn(k, cols[c] as arrow.Data, from, count, owned)) });
    } else {
      const open = this.reserveOpen(count);
      for (let c = 0; c < open.length; c++) (open[c] as OpenColumn).copyFrom(cols[c] as arrow.Data, from, count, this.openRows, this.openCap);
      this.openRows += count;
    }
    this.rowCount = first + count;
    return first;
  }

  /** Segments in row order (the open one as a view valid until the next append). */
  segments(): Segment[] {
    const out = this.sealed.slice();
    if (this.open !== undefined && this.openRows > 0) {
      const rows = this.openRows;
      out.push({ base: this.openBase, length: rows, columns: this.open.map((c) => c.view(rows, false)) });
    }
    return out;
  }

  /** Index in `segs` (from segments()) of the segment holding row i. */
  static segmentIndex(segs: readonly Segment[], i: number): number {
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segs[mid] as Segment).base <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private locate(i: number): { col: (c: number) => SegmentColumn; at: number } | undefined {
    if (this.open !== undefined && i >= this.openBase) {
      const open = this.open;
      const rows = this.openRows;
      return { col: (c) => (open[c] as OpenColumn).view(rows, false), at: i - this.openBase };
    }
    if (this.sealed.length === 0) return undefined;
    const seg = this.sealed[MrsColumns.segmentIndex(this.sealed, i)] as Segment;
    return { col: (c) => seg.columns[c] as SegmentColumn, at: i - seg.base };
  }

  row(i: number): Value[] {
    assert(i >= 0 && i < this.rowCount, () => `MemRowSet row ${i} of ${this.rowCount}`);
    const out = new Array<Value>(this.kinds.length);
    if (this.open !== undefined && i >= this.openBase) {
      const at = i - this.openBase;
      const open = this.open;
      for (let c = 0; c < out.length; c++) out[c] = openValue(open[c] as OpenColumn, at);
      return out;
    }
    const seg = this.sealed[MrsColumns.segmentIndex(this.sealed, i)] as Segment;
    const at = i - seg.base;
    for (let c = 0; c < out.length; c++) out[c] = getValue(seg.columns[c] as SegmentColumn, at);
    return out;
  }

  value(i: number, c: number): Value {
    assert(i >= 0 && i < this.rowCount, () => `MemRowSet row ${i} of ${this.rowCount}`);
    const l = this.locate(i) as { col: (c: number) => SegmentColumn; at: number };
    return getValue(l.col(c), l.at);
  }

  sizeBytes(): number {
    let s = this.sealedBytes;
    if (this.open !== undefined) {
      for (const c of this.open) {
        const k = c.kind;
        s += k === 'str' || k === 'bin' ? c.bytesUsed + 4 * this.openRows : k === 'dec' ? 16 * this.openRows : k === 'bool' ? this.openRows : 8 * this.openRows;
      }
    }
    return s;
  }
}

function openValue(c: OpenColumn, i: number): Value {
  return getValue({ kind: c.kind, values: c.values, offsets: c.offsets, validity: c.validity }, i);
}
