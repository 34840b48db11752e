import * as arrow from 'apache-arrow';
import type { Value } from '../common/types.js';
import { arrowTypeOf } from '../common/arrow-type.js';
import { buildColumnFromRows, int64Parts, writeDecimal } from './column-data.js';
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
  let anyStore = false;
  for (let i = 0; i < n; i++) if ((storeIdx[i] as number) >= 0) { anyStore = true; break; }
  if (!anyStore || store === undefined) {
    const rows = (values.length === n ? values : values.slice(0, n)) as (readonly Value[])[];
    return buildColumnFromRows(col, rows, ci);
  }
  const segs = store.segments();
  const view = contiguousView(col, segs, ci, storeIdx, n);
  if (view !== undefined) return view;
  const out = new ColumnOut(col, n);
  let i = 0;
  while (i < n) {
    const s = storeIdx[i] as number;
    if (s < 0) {
      out.value((values[i] as readonly Value[])[ci] as Value, i);
      i++;
      continue;
    }
    // A run of consecutive store rows, copied segment by segment.
    let j = i + 1;
    while (j < n && (storeIdx[j] as number) === s + (j - i)) j++;
    let at = i;
    let row = s;
    while (at < j) {
      const seg = segs[MrsColumns.segmentIndex(segs, row)] as Segment;
      const m = Math.min(j - at, seg.base + seg.length - row);
      out.range(seg.columns[ci] as SegmentColumn, row - seg.base, m, at);
      at += m;
      row += m;
    }
    i = j;
  }
  return out.finish();
}

/**
 * A batch that is one run of store rows inside one segment, without nulls, of a type whose
 * segment layout is the file's (int64, double, decimal; strings with rebased offsets): a view
 * on the segment's arrays, no copy. The flush writes the batch before the store changes.
 */
function contiguousView(col: StoredColumn, segs: readonly Segment[], ci: number, storeIdx: Int32Array, n: number): arrow.Data | undefined {
  const t = col.type;
  if (t !== 'int64' && t !== 'double' && t !== 'decimal' && t !== 'string' && t !== 'binary') return undefined;
  const r0 = storeIdx[0] as number;
  if (r0 < 0 || (storeIdx[n - 1] as number) !== r0 + n - 1) return undefined;
  for (let i = 1; i < n; i++) if ((storeIdx[i] as number) !== r0 + i) return undefined;
  const seg = segs[MrsColumns.segmentIndex(segs, r0)] as Segment;
  const s0 = r0 - seg.base;
  if (s0 + n > seg.length) return undefined;
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
  private nullCount = 0;
  private readonly nums: Int8Array | Int16Array | Int32Array | Float32Array | Float64Array | undefined;
  /** int64 / timestamp words (lo, hi) per row. */
  private readonly w64: Int32Array | undefined;
  private readonly dec: Uint32Array | undefined;
  private readonly bits: Uint8Array | undefined;
  private readonly offsets: Int32Array | undefined;
  private bytes = new Uint8Array(0);
  private bytesUsed = 0;

  constructor(private readonly col: StoredColumn, private readonly n: number) {
    switch (col.type) {
      case 'int8': this.nums = new Int8Array(n); break;
      case 'int16': this.nums = new Int16Array(n); break;
      case 'int32': case 'date': this.nums = new Int32Array(n); break;
      case 'float': this.nums = new Float32Array(n); break;
      case 'double': this.nums = new Float64Array(n); break;
      case 'int64': case 'timestamp': this.w64 = new Int32Array(2 * n); break;
      case 'decimal': this.dec = new Uint32Array(4 * n); break;
      case 'bool': this.bits = new Uint8Array((n + 7) >> 3); break;
      case 'string': case 'binary': this.offsets = new Int32Array(n + 1); this.bytes = new Uint8Array(Math.max(64, n * 8)); break;
    }
  }

  private markNull(i: number): void {
    if (this.bitmap === undefined) this.bitmap = new Uint8Array((this.n + 7) >> 3).fill(0xff);
    this.bitmap[i >> 3] = (this.bitmap[i >> 3] as number) & ~(1 << (i & 7));
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
      if (offsets !== undefined) offsets[at + 1] = this.bytesUsed;
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
    let data: ArrayBufferView;
    switch (c.type) {
      case 'int64': case 'timestamp': data = new BigInt64Array((this.w64 as Int32Array).buffer); break;
      case 'decimal': data = this.dec as Uint32Array; break;
      case 'bool': data = this.bits as Uint8Array; break;
      case 'string': case 'binary': data = this.bytes.subarray(0, this.bytesUsed); break;
      default: data = this.nums as Float64Array;
    }
    const props: Record<string, unknown> = { type: arrowTypeOf(c), length: this.n, nullCount: this.nullCount, data };
    if (this.nullCount > 0 && this.bitmap !== undefined) props['nullBitmap'] = this.bitmap;
    if (this.offsets !== undefined) props['valueOffsets'] = this.offsets;
    return arrow.makeData(props as never) as arrow.Data;
  }
}
