import * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { Value } from '../common/types.js';
import { arrowTypeOf } from '../common/arrow-type.js';
import { buildColumnFromRows, columnMinMax, compareUtf8Cells as compareCells, hasNulls, int64Parts, readValue, writeDecimal } from './column-data.js';
import { MrsColumns, isValid, type Segment, type SegmentColumn } from './mrs-columns.js';
import type { StoredColumn } from './scan-plan.js';

/**
 * Builds one DiskRowSet base-data column (the file's Arrow type, see common/arrow-type.ts arrowTypeOf)
 * for a batch of rows taken from the MemRowSet's columnar store and/or from explicit row
 * values. Row i of the batch is store row `storeIdx[i]` when that is >= 0, else
 * `values[i][ci]`. Consecutive store rows are copied as typed-array ranges (one `set` for
 * numbers, int64 and decimals; one byte copy plus an offset rebase for strings); no Value is
 * materialized for them.
 */
export function assembleBaseColumn(col: StoredColumn, ci: number, n: number, storeIdx: Int32Array,
  values: readonly (readonly Value[] | undefined)[], store: MrsColumns | undefined): arrow.Data {
  const pieces = new BatchPieces(n);
  pieces.find(n, storeIdx, store);
  return assembleInto(new ColumnOut(col, n), col, ci, pieces, values, store);
}

/**
 * A batch's rows cut into pieces once for all of its columns: a run of consecutive store rows
 * inside one segment (segment index, first row in it, length), or one row given by value
 * (segment -1). Found once per batch rather than once per column.
 */
class BatchPieces {
  n = 0;
  count = 0;
  anyStore = false;
  readonly at: Int32Array;
  readonly seg: Int32Array;
  readonly from: Int32Array;
  readonly len: Int32Array;

  constructor(cap: number) {
    this.at = new Int32Array(cap);
    this.seg = new Int32Array(cap);
    this.from = new Int32Array(cap);
    this.len = new Int32Array(cap);
  }

  find(n: number, storeIdx: Int32Array, store: MrsColumns | undefined): void {
    this.n = n;
    this.count = 0;
    this.anyStore = false;
    const segs = store?.segments();
    let i = 0;
    while (i < n) {
      const s = storeIdx[i] as number;
      if (s < 0 || segs === undefined) {
        this.push(i, -1, 0, 1);
        i++;
        continue;
      }
      this.anyStore = true;
      let j = i + 1;
      while (j < n && (storeIdx[j] as number) === s + (j - i)) j++;
      let at = i;
      let row = s;
      while (at < j) {
        const si = MrsColumns.segmentIndex(segs, row);
        const seg = segs[si] as Segment;
        const m = Math.min(j - at, seg.base + seg.length - row);
        this.push(at, si, row - seg.base, m);
        at += m;
        row += m;
      }
      i = j;
    }
  }

  private push(at: number, seg: number, from: number, len: number): void {
    const k = this.count++;
    this.at[k] = at;
    this.seg[k] = seg;
    this.from[k] = from;
    this.len[k] = len;
  }
}

/**
 * assembleBaseColumn for every column of a writer's batches, with one set of output arrays per
 * column reused from batch to batch (no allocation, zero-filling or garbage per batch). Call
 * beginBatch, then assemble each column. A column it returns is valid until the next
 * assemble() of the same column: the writer writes each batch before it assembles the next.
 */
export class BaseColumnAssembler {
  private readonly outs: ColumnOut[];
  private readonly pieces: BatchPieces;
  private store: MrsColumns | undefined;

  constructor(private readonly columns: readonly StoredColumn[], rowCapacity: number) {
    this.outs = columns.map((c) => new ColumnOut(c, rowCapacity));
    this.pieces = new BatchPieces(rowCapacity);
  }

  /** Row i of the next batch is store row storeIdx[i] when >= 0, else the row given by value. */
  beginBatch(n: number, storeIdx: Int32Array, store: MrsColumns | undefined): void {
    this.store = store;
    this.pieces.find(n, storeIdx, store);
  }

  assemble(ci: number, values: readonly (readonly Value[] | undefined)[]): arrow.Data {
    return assembleInto(this.outs[ci] as ColumnOut, this.columns[ci] as StoredColumn, ci, this.pieces, values, this.store);
  }
}

function assembleInto(out: ColumnOut, col: StoredColumn, ci: number, pieces: BatchPieces,
  values: readonly (readonly Value[] | undefined)[], store: MrsColumns | undefined): arrow.Data {
  const n = pieces.n;
  if (!pieces.anyStore || store === undefined) {
    const rows = (values.length === n ? values : values.slice(0, n)) as (readonly Value[])[];
    return buildColumnFromRows(col, rows, ci);
  }
  const segs = store.segments();
  if (pieces.count === 1) {
    const view = contiguousView(col, segs[pieces.seg[0] as number] as Segment, ci, pieces.from[0] as number, n);
    if (view !== undefined) return view;
  }
  out.reset(n);
  for (let k = 0; k < pieces.count; k++) {
    const at = pieces.at[k] as number;
    const si = pieces.seg[k] as number;
    if (si < 0) out.value((values[at] as readonly Value[])[ci] as Value, at);
    else out.range((segs[si] as Segment).columns[ci] as SegmentColumn, pieces.from[k] as number, pieces.len[k] as number, at);
  }
  return out.finish();
}

/**
 * A batch that is one run of store rows inside one segment (rows s0 .. s0+n-1 of `seg`),
 * without nulls, of a type whose segment layout is the file's (int64, double, decimal; strings
 * with rebased offsets): a view on the segment's arrays, no copy. The flush writes the batch
 * before the store changes.
 */
function contiguousView(col: StoredColumn, seg: Segment, ci: number, s0: number, n: number): arrow.Data | undefined {
  const t = col.type;
  if (t !== 'int64' && t !== 'double' && t !== 'decimal' && t !== 'string' && t !== 'binary') return undefined;
  assert(s0 + n <= seg.length, () => `a piece of ${n} rows from row ${s0} of a segment of ${seg.length}`);
  const raw = seg.columns[ci] as SegmentColumn;
  const validity = raw.validity;
  if (validity !== undefined) for (let i = 0; i < n; i++) if (!isValid(validity, s0 + i)) return undefined;
  const props: Record<string, unknown> = { type: arrowTypeOf(col), length: n, nullCount: 0 };
  switch (t) {
    case 'int64': props['data'] = (raw.values as BigInt64Array).subarray(s0, s0 + n); break;
    case 'double': props['data'] = (raw.values as Float64Array).subarray(s0, s0 + n); break;
    case 'decimal': props['data'] = (raw.values as Uint32Array).subarray(4 * s0, 4 * (s0 + n)); break;
    default: {
      const offs = raw.offsets as Int32Array;
      const start = offs[s0] as number;
      const offsets = new Int32Array(n + 1);
      for (let i = 1; i <= n; i++) offsets[i] = (offs[s0 + i] as number) - start;
      props['data'] = (raw.values as Uint8Array).subarray(start, offs[s0 + n] as number);
      props['valueOffsets'] = offsets;
    }
  }
  return arrow.makeData(props as never) as arrow.Data;
}

const TWO32 = 4294967296;
const textEncoder = new TextEncoder();

class ColumnOut {
  private bitmap: Uint8Array | undefined;
  /** Whether this batch's bitmap is initialised (all valid) yet. */
  private bitmapLive = false;
  private nullCount = 0;
  private n = 0;
  private readonly nums: Int8Array | Int16Array | Int32Array | Float32Array | Float64Array | undefined;
  /** int64 / timestamp words (lo, hi) per row. */
  private readonly w64: Int32Array | undefined;
  private readonly dec: Uint32Array | undefined;
  private readonly bits: Uint8Array | undefined;
  private readonly offsets: Int32Array | undefined;
  private bytes = new Uint8Array(0);
  private bytesUsed = 0;

  /** Arrays for up to `cap` rows; reset(n) before each batch of n <= cap rows. */
  constructor(private readonly col: StoredColumn, private readonly cap: number) {
    switch (col.type) {
      case 'int8': this.nums = new Int8Array(cap); break;
      case 'int16': this.nums = new Int16Array(cap); break;
      case 'int32': case 'date': this.nums = new Int32Array(cap); break;
      case 'float': this.nums = new Float32Array(cap); break;
      case 'double': this.nums = new Float64Array(cap); break;
      case 'int64': case 'timestamp': this.w64 = new Int32Array(2 * cap); break;
      case 'decimal': this.dec = new Uint32Array(4 * cap); break;
      case 'bool': this.bits = new Uint8Array((cap + 7) >> 3); break;
      case 'string': case 'binary': this.offsets = new Int32Array(cap + 1); this.bytes = new Uint8Array(Math.max(64, Math.min(cap, 1024) * 8)); break;
    }
  }

  reset(n: number): void {
    assert(n <= this.cap, () => `a batch of ${n} rows in column arrays for ${this.cap}`);
    this.n = n;
    this.nullCount = 0;
    this.bitmapLive = false;
    this.bytesUsed = 0;
    if (this.bits !== undefined) this.bits.fill(0, 0, (n + 7) >> 3);
    if (this.offsets !== undefined) this.offsets[0] = 0;
  }

  private markNull(i: number): void {
    if (!this.bitmapLive) {
      this.bitmap ??= new Uint8Array((this.cap + 7) >> 3);
      this.bitmap.fill(0xff, 0, (this.n + 7) >> 3);
      this.bitmapLive = true;
    }
    const bm = this.bitmap as Uint8Array;
    bm[i >> 3] = (bm[i >> 3] as number) & ~(1 << (i & 7));
    this.nullCount++;
  }

  private reserve(extra: number): void {
    const need = this.bytesUsed + extra;
    if (need <= this.bytes.length) return;
    const b = new Uint8Array(Math.max(need, this.bytes.length * 2));
    b.set(this.bytes.subarray(0, this.bytesUsed));
    this.bytes = b;
  }

  /** Row `at` from a Value (canonical or raw default). */
  value(v: Value, at: number): void {
    const offsets = this.offsets;
    if (v === null || v === undefined) {
      this.markNull(at);
      // Arrays are reused from batch to batch: a NULL's slot is written as zeros, as in a fresh array.
      if (offsets !== undefined) offsets[at + 1] = this.bytesUsed;
      else if (this.nums !== undefined) this.nums[at] = 0;
      else if (this.w64 !== undefined) { this.w64[2 * at] = 0; this.w64[2 * at + 1] = 0; } else if (this.dec !== undefined) this.dec.fill(0, 4 * at, 4 * at + 4);
      return;
    }
    if (this.nums !== undefined) { this.nums[at] = typeof v === 'number' ? v : Number(v); return; }
    if (this.w64 !== undefined) {
      const [hi, lo] = int64Parts(v as number | bigint);
      this.w64[2 * at] = lo | 0;
      this.w64[2 * at + 1] = hi;
      return;
    }
    if (this.dec !== undefined) { writeDecimal(this.dec, at, typeof v === 'bigint' ? v : BigInt(v as number)); return; }
    if (this.bits !== undefined) {
      if (v) this.bits[at >> 3] = (this.bits[at >> 3] as number) | (1 << (at & 7));
      return;
    }
    if (offsets !== undefined) {
      if (typeof v === 'string') {
        this.reserve(v.length * 3);
        this.bytesUsed += textEncoder.encodeInto(v, this.bytes.subarray(this.bytesUsed)).written;
      } else {
        const b = v as Uint8Array;
        this.reserve(b.length);
        this.bytes.set(b, this.bytesUsed);
        this.bytesUsed += b.length;
      }
      offsets[at + 1] = this.bytesUsed;
    }
  }

  /** Rows [at, at+count) from rows [from, from+count) of a store segment's column. */
  range(raw: SegmentColumn, from: number, count: number, at: number): void {
    const validity = raw.validity;
    if (validity !== undefined) for (let k = 0; k < count; k++) if (!isValid(validity, from + k)) this.markNull(at + k);
    switch (this.col.type) {
      case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
        (this.nums as Float64Array).set((raw.values as Float64Array).subarray(from, from + count), at);
        return;
      case 'int64':
        new BigInt64Array((this.w64 as Int32Array).buffer).set((raw.values as BigInt64Array).subarray(from, from + count), at);
        return;
      case 'timestamp': {
        // The store keeps timestamps as exact doubles: split into (lo, hi) words without BigInt.
        const w = this.w64 as Int32Array;
        const src = raw.values as Float64Array;
        for (let k = 0; k < count; k++) {
          const x = src[from + k] as number;
          const hi = Math.floor(x / TWO32);
          w[2 * (at + k)] = (x - hi * TWO32) | 0;
          w[2 * (at + k) + 1] = hi;
        }
        return;
      }
      case 'decimal':
        (this.dec as Uint32Array).set((raw.values as Uint32Array).subarray(4 * from, 4 * (from + count)), 4 * at);
        return;
      case 'bool': {
        const bits = this.bits as Uint8Array;
        const flags = raw.values as Uint8Array;
        for (let k = 0; k < count; k++) {
          if (flags[from + k] === 1) {
            const i = at + k;
            bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
          }
        }
        return;
      }
      case 'string': case 'binary': {
        const offs = raw.offsets as Int32Array;
        const s0 = offs[from] as number;
        const s1 = offs[from + count] as number;
        this.reserve(s1 - s0);
        this.bytes.set((raw.values as Uint8Array).subarray(s0, s1), this.bytesUsed);
        const shift = this.bytesUsed - s0;
        const offsets = this.offsets as Int32Array;
        for (let k = 1; k <= count; k++) offsets[at + k] = (offs[from + k] as number) + shift;
        this.bytesUsed += s1 - s0;
      }
    }
  }

  finish(): arrow.Data {
    const c = this.col;
    const n = this.n;
    let data: ArrayBufferView;
    switch (c.type) {
      case 'int64': case 'timestamp': data = new BigInt64Array((this.w64 as Int32Array).buffer, 0, n); break;
      case 'decimal': data = (this.dec as Uint32Array).subarray(0, 4 * n); break;
      case 'bool': data = (this.bits as Uint8Array).subarray(0, (n + 7) >> 3); break;
      case 'string': case 'binary': data = this.bytes.subarray(0, this.bytesUsed); break;
      default: data = (this.nums as Float64Array).subarray(0, n);
    }
    const props: Record<string, unknown> = { type: arrowTypeOf(c), length: n, nullCount: this.nullCount, data };
    if (this.nullCount > 0 && this.bitmap !== undefined) props['nullBitmap'] = this.bitmap.subarray(0, (n + 7) >> 3);
    if (this.offsets !== undefined) props['valueOffsets'] = this.offsets.subarray(0, n + 1);
    return arrow.makeData(props as never) as arrow.Data;
  }
}

/**
 * columnMinMax (column-data.ts) for a batch the flush just assembled, with one specialised loop
 * per layout: no closure or per-cell null test when the column has no NULLs, int64 / decimal
 * compared word by word without doubles or BigInt. The winners are read with readValue, so the
 * stats are exactly columnMinMax's (columns with NULLs and bool columns use it directly).
 */
export function batchMinMax(col: StoredColumn, data: arrow.Data): [Value, Value, number] {
  const n = data.length;
  if (n === 0 || hasNulls(data) || data.offset !== 0) return columnMinMax(col, data);
  let lo = 0;
  let hi = 0;
  switch (col.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const v = data.values as Float64Array;
      let mn = v[0] as number;
      let mx = mn;
      for (let i = 1; i < n; i++) {
        const x = v[i] as number;
        if (x < mn) { mn = x; lo = i; } else if (x > mx) { mx = x; hi = i; }
      }
      break;
    }
    case 'int64': case 'timestamp': {
      const b = data.values as BigInt64Array;
      const w = new Int32Array(b.buffer, b.byteOffset, 2 * n);
      // (high word signed, low word unsigned): two's complement order.
      let mnH = w[1] as number;
      let mnL = (w[0] as number) >>> 0;
      let mxH = mnH;
      let mxL = mnL;
      for (let i = 1; i < n; i++) {
        const h = w[2 * i + 1] as number;
        const l = (w[2 * i] as number) >>> 0;
        if (h < mnH || (h === mnH && l < mnL)) { mnH = h; mnL = l; lo = i; } else if (h > mxH || (h === mxH && l > mxL)) { mxH = h; mxL = l; hi = i; }
      }
      break;
    }
    case 'decimal': {
      const v = data.values as Uint32Array;
      const w = new Uint32Array(v.buffer, v.byteOffset, 4 * n);
      // While every value lies within ±2^53 it is exactly w0 + (w1|0) * 2^32 as a double.
      let mn = 0;
      let mx = 0;
      let safe = true;
      for (let i = 0; i < n; i++) {
        const h = (w[4 * i + 1] as number) | 0;
        const ext = h < 0 ? 0xffffffff : 0;
        if (h < -0x200000 || h >= 0x200000 || (w[4 * i + 2] as number) !== ext || (w[4 * i + 3] as number) !== ext) { safe = false; break; }
        const x = (w[4 * i] as number) + h * TWO32;
        if (i === 0) { mn = mx = x; continue; }
        if (x < mn) { mn = x; lo = i; } else if (x > mx) { mx = x; hi = i; }
      }
      if (safe) break;
      lo = 0;
      hi = 0;
      for (let i = 1; i < n; i++) {
        if (cmp128(w, i, lo) < 0) lo = i;
        else if (cmp128(w, i, hi) > 0) hi = i;
      }
      break;
    }
    case 'string': case 'binary': {
      const off = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      // Byte order = code point order for UTF-8 (compareValues' order). Most cells are decided
      // against lo / hi by their first byte (-1: empty).
      let loFirst = (off[1] as number) > (off[0] as number) ? (b[off[0] as number] as number) : -1;
      let hiFirst = loFirst;
      for (let i = 1; i < n; i++) {
        const s = off[i] as number;
        const f = (off[i + 1] as number) > s ? (b[s] as number) : -1;
        if (f <= loFirst && (f < loFirst || compareCells(off, b, i, lo) < 0)) { lo = i; loFirst = f; } else if (f >= hiFirst && (f > hiFirst || compareCells(off, b, i, hi) > 0)) { hi = i; hiFirst = f; }
      }
      break;
    }
    default: return columnMinMax(col, data);
  }
  return [readValue(col.type, data, lo), readValue(col.type, data, hi), 0];
}

/** Order of two 128-bit two's complement values (4 little-endian words each) at indexes a, b. */
function cmp128(w: Uint32Array, a: number, b: number): number {
  const ta = (w[4 * a + 3] as number) | 0;
  const tb = (w[4 * b + 3] as number) | 0;
  if (ta !== tb) return ta < tb ? -1 : 1;
  for (let k = 2; k >= 0; k--) {
    const x = w[4 * a + k] as number;
    const y = w[4 * b + k] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

