import type * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { readDecimal, writeDecimal } from './column-data.js';

/**
 * Row values of the MemRowSet stored column by column in growable typed arrays, so an inserted
 * row leaves no per-row objects behind (no row array, no boxed bigint, no string) for the
 * garbage collector to trace and copy. Rows are appended once and never changed; a row is
 * materialized into a Value[] only when a read, update or flush needs it.
 *
 * | type                                  | storage                                   |
 * |---------------------------------------|-------------------------------------------|
 * | int8/16/32, date, float, double, ts   | Float64Array (exact for all these)        |
 * | int64                                 | BigInt64Array                             |
 * | decimal                               | Uint32Array, 4 little-endian words a row  |
 * | string, binary                        | bytes (Uint8Array) + Int32 end offsets    |
 * | bool                                  | Uint8Array 0/1                            |
 * Nulls: a Uint8Array flag per row (1 = NULL), allocated on the first NULL.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

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

class ColumnStore {
  nums: Float64Array = new Float64Array(0);
  i64 = new BigInt64Array(0);
  words = new Uint32Array(0);
  bytes = new Uint8Array(0);
  bytesUsed = 0;
  ends = new Int32Array(0);
  flags = new Uint8Array(0);
  nulls: Uint8Array | undefined;
  constructor(readonly kind: Kind) {}

  grow(cap: number): void {
    const k = this.kind;
    if (k === 'num') this.nums = growF64(this.nums, cap);
    else if (k === 'i64') { const n = new BigInt64Array(cap); n.set(this.i64); this.i64 = n; }
    else if (k === 'dec') { const n = new Uint32Array(cap * 4); n.set(this.words); this.words = n; }
    else if (k === 'bool') { const n = new Uint8Array(cap); n.set(this.flags); this.flags = n; }
    else { const n = new Int32Array(cap); n.set(this.ends); this.ends = n; }
    if (this.nulls !== undefined) { const n = new Uint8Array(cap); n.set(this.nulls); this.nulls = n; }
  }

  set(i: number, v: Value, cap: number): void {
    if (v === null) {
      if (this.nulls === undefined) this.nulls = new Uint8Array(cap);
      this.nulls[i] = 1;
      if (this.kind === 'str' || this.kind === 'bin') this.ends[i] = this.bytesUsed;
      return;
    }
    switch (this.kind) {
      // Canonical values are number / bigint; a raw column default may be the other one.
      case 'num': this.nums[i] = typeof v === 'number' ? v : Number(v); return;
      case 'i64': this.i64[i] = typeof v === 'bigint' ? v : BigInt(v as number); return;
      case 'dec': writeDecimal(this.words, i, typeof v === 'bigint' ? v : BigInt(v as number)); return;
      case 'bool': this.flags[i] = v ? 1 : 0; return;
      case 'str': case 'bin': {
        const s = v as string | Uint8Array;
        const need = this.bytesUsed + (typeof s === 'string' ? s.length * 3 : s.length);
        if (need > this.bytes.length) {
          const n = new Uint8Array(Math.max(need, this.bytes.length * 2, 4096));
          n.set(this.bytes.subarray(0, this.bytesUsed));
          this.bytes = n;
        }
        if (typeof s === 'string') this.bytesUsed += textEncoder.encodeInto(s, this.bytes.subarray(this.bytesUsed)).written;
        else { this.bytes.set(s, this.bytesUsed); this.bytesUsed += s.length; }
        this.ends[i] = this.bytesUsed;
      }
    }
  }

  /** Copies rows [from, from+count) of a canonical column (column-batch.ts) to rows [at, at+count). */
  appendFrom(d: arrow.Data, from: number, count: number, at: number, cap: number): void {
    const bm = d.nullBitmap;
    if (d.nullCount > 0 && bm !== undefined && bm.length > 0) {
      if (this.nulls === undefined) this.nulls = new Uint8Array(cap);
      const nulls = this.nulls;
      for (let i = 0; i < count; i++) {
        const k = from + i;
        nulls[at + i] = ((bm[k >> 3] as number) & (1 << (k & 7))) === 0 ? 1 : 0;
      }
    }
    switch (this.kind) {
      case 'num': this.nums.set((d.values as Float64Array).subarray(from, from + count), at); return;
      case 'i64': this.i64.set((d.values as BigInt64Array).subarray(from, from + count), at); return;
      case 'dec': this.words.set((d.values as Uint32Array).subarray(4 * from, 4 * (from + count)), 4 * at); return;
      case 'bool': this.flags.set((d.values as Uint8Array).subarray(from, from + count), at); return;
      case 'str': case 'bin': {
        const offs = d.valueOffsets as Int32Array;
        const s0 = offs[from] as number;
        const s1 = offs[from + count] as number;
        const need = this.bytesUsed + (s1 - s0);
        if (need > this.bytes.length) {
          const n = new Uint8Array(Math.max(need, this.bytes.length * 2, 4096));
          n.set(this.bytes.subarray(0, this.bytesUsed));
          this.bytes = n;
        }
        this.bytes.set((d.values as Uint8Array).subarray(s0, s1), this.bytesUsed);
        const shift = this.bytesUsed - s0;
        const ends = this.ends;
        for (let i = 0; i < count; i++) ends[at + i] = (offs[from + i + 1] as number) + shift;
        this.bytesUsed = need;
      }
    }
  }

  get(i: number): Value {
    if (this.nulls !== undefined && this.nulls[i] === 1) return null;
    switch (this.kind) {
      case 'num': return this.nums[i] as number;
      case 'i64': return this.i64[i] as bigint;
      case 'dec': return readDecimal(this.words, i);
      case 'bool': return this.flags[i] === 1;
      case 'str': case 'bin': {
        const s = i === 0 ? 0 : (this.ends[i - 1] as number);
        const b = this.bytes.subarray(s, this.ends[i] as number);
        return this.kind === 'str' ? textDecoder.decode(b) : b.slice();
      }
    }
  }

  sizeBytes(rows: number): number {
    switch (this.kind) {
      case 'dec': return rows * 16;
      case 'bool': return rows;
      case 'str': case 'bin': return rows * 4 + this.bytesUsed;
      default: return rows * 8;
    }
  }
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const n = new Float64Array(cap);
  n.set(a);
  return n;
}

/** Append-only columnar row storage: `append(row)` returns the row's index. */
export class MrsColumns {
  private readonly stores: ColumnStore[];
  private cap = 0;
  rowCount = 0;

  constructor(readonly columns: readonly ColumnSchema[]) {
    this.stores = columns.map((c) => new ColumnStore(kindOf(c)));
  }

  append(row: readonly Value[]): number {
    assert(row.length === this.stores.length, () => `MemRowSet row of ${row.length} values, expected ${this.stores.length}`);
    const i = this.rowCount;
    if (i >= this.cap) {
      this.cap = Math.max(1024, this.cap * 2);
      for (const s of this.stores) s.grow(this.cap);
    }
    for (let c = 0; c < this.stores.length; c++) (this.stores[c] as ColumnStore).set(i, row[c] as Value, this.cap);
    this.rowCount = i + 1;
    return i;
  }

  /** Appends rows [from, from+count) of canonical columns (one per store column); returns the first row index. */
  appendColumns(cols: readonly arrow.Data[], from: number, count: number): number {
    assert(cols.length === this.stores.length, () => `MemRowSet batch of ${cols.length} columns, expected ${this.stores.length}`);
    const at = this.rowCount;
    if (at + count > this.cap) {
      this.cap = Math.max(1024, this.cap * 2, at + count);
      for (const s of this.stores) s.grow(this.cap);
    }
    for (let c = 0; c < this.stores.length; c++) (this.stores[c] as ColumnStore).appendFrom(cols[c] as arrow.Data, from, count, at, this.cap);
    this.rowCount = at + count;
    return at;
  }

  /** The store's raw arrays of column c (for writing Arrow columns at flush without rows). */
  raw(c: number): { readonly kind: Kind; readonly nums: Float64Array; readonly i64: BigInt64Array; readonly words: Uint32Array; readonly bytes: Uint8Array; readonly ends: Int32Array; readonly flags: Uint8Array; readonly nulls: Uint8Array | undefined } {
    return this.stores[c] as ColumnStore;
  }

  row(i: number): Value[] {
    assert(i >= 0 && i < this.rowCount, () => `MemRowSet row ${i} of ${this.rowCount}`);
    const out = new Array<Value>(this.stores.length);
    for (let c = 0; c < this.stores.length; c++) out[c] = (this.stores[c] as ColumnStore).get(i);
    return out;
  }

  value(i: number, c: number): Value {
    return (this.stores[c] as ColumnStore).get(i);
  }

  sizeBytes(): number {
    let s = 0;
    for (const st of this.stores) s += st.sizeBytes(this.rowCount);
    return s;
  }
}
