import {
  DateDay, Decimal, Field, Int32, RecordBatch, Schema as ArrowSchema, Struct, Utf8, makeData,
} from 'apache-arrow';
import type { Data } from 'apache-arrow';

/**
 * Column builders over typed arrays for the TPC-H generator: no per-row objects, Utf8 built as
 * one data buffer plus Int32 offsets, Decimal128 written as four 32-bit words per value.
 */

export type GenColumnType = 'int32' | 'decimal' | 'date' | 'string';

export interface GenColumnSpec {
  readonly name: string;
  readonly type: GenColumnType;
}

export const DECIMAL_PRECISION = 15;
export const DECIMAL_SCALE = 2;

export function arrowTypeOf(t: GenColumnType): Int32 | Decimal | DateDay | Utf8 {
  switch (t) {
    case 'int32': return new Int32();
    case 'decimal': return new Decimal(DECIMAL_SCALE, DECIMAL_PRECISION, 128);
    case 'date': return new DateDay();
    case 'string': return new Utf8();
  }
}

export function arrowSchemaOf(cols: readonly GenColumnSpec[]): ArrowSchema {
  return new ArrowSchema(cols.map((c) => new Field(c.name, arrowTypeOf(c.type), false)));
}

export class Int32Column {
  values: Int32Array;
  constructor(capacity: number) { this.values = new Int32Array(capacity); }
  finish(length: number): Data {
    return makeData({ type: new Int32(), length, nullCount: 0, data: this.values.subarray(0, length) });
  }
}

export class DateColumn {
  values: Int32Array;
  constructor(capacity: number) { this.values = new Int32Array(capacity); }
  finish(length: number): Data {
    return makeData({ type: new DateDay(), length, nullCount: 0, data: this.values.subarray(0, length) });
  }
}

const TWO_32 = 4294967296;

/** Decimal(15,2) values given as integer cents (|v| < 2^53). */
export class DecimalColumn {
  words: Uint32Array;
  constructor(capacity: number) { this.words = new Uint32Array(capacity * 4); }
  set(row: number, cents: number): void {
    const hi = Math.floor(cents / TWO_32);
    const lo = cents - hi * TWO_32;
    const w = this.words;
    const k = row * 4;
    w[k] = lo;
    w[k + 1] = hi >>> 0;
    const ext = hi < 0 ? 0xffffffff : 0;
    w[k + 2] = ext;
    w[k + 3] = ext;
  }
  finish(length: number): Data {
    return makeData({
      type: new Decimal(DECIMAL_SCALE, DECIMAL_PRECISION, 128), length, nullCount: 0,
      data: this.words.subarray(0, length * 4),
    });
  }
}

/** Reads back one Decimal128 value's unscaled amount as a JS number (exact below 2^53). */
export function decimalWordsToNumber(words: Uint32Array, row: number): number {
  const lo = words[row * 4] ?? 0;
  const hi = words[row * 4 + 1] ?? 0;
  return (hi | 0) * TWO_32 + lo;
}

export class Utf8Column {
  offsets: Int32Array;
  bytes: Uint8Array;
  length = 0;
  pos = 0;
  constructor(capacity: number, avgBytes: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = new Uint8Array(Math.max(64, capacity * avgBytes));
  }
  private reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
  }
  /** Appends bytes of an ASCII-only string. */
  pushAscii(s: string): void {
    this.reserve(s.length);
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
    this.offsets[++this.length] = p;
  }
  pushBytes(src: Uint8Array, start: number, len: number): void {
    this.reserve(len);
    const b = this.bytes;
    let p = this.pos;
    if (len > 24) {
      b.set(src.subarray(start, start + len), p);
      p += len;
    } else {
      for (let i = 0; i < len; i++) b[p++] = src[start + i] as number;
    }
    this.pos = p;
    this.offsets[++this.length] = p;
  }
  /** prefix + zero-padded decimal number of `width` digits (e.g. Customer#000000001). */
  pushPrefixedNumber(prefix: Uint8Array, n: number, width: number): void {
    this.reserve(prefix.length + width);
    const b = this.bytes;
    let p = this.pos;
    b.set(prefix, p);
    p += prefix.length;
    let v = n;
    for (let i = width - 1; i >= 0; i--) {
      b[p + i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    p += width;
    this.pos = p;
    this.offsets[++this.length] = p;
  }
  /** Starts a value to be written piecewise with putByte/putDigits; end with endValue(). */
  putByte(c: number): void {
    this.reserve(1);
    this.bytes[this.pos++] = c;
  }
  putDigits(n: number, width: number): void {
    this.reserve(width);
    let v = n;
    for (let i = width - 1; i >= 0; i--) {
      this.bytes[this.pos + i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.pos += width;
  }
  endValue(): void {
    this.offsets[++this.length] = this.pos;
  }
  finish(): Data {
    return makeData({
      type: new Utf8(), length: this.length, nullCount: 0,
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      data: this.bytes.subarray(0, this.pos),
    });
  }
  reset(): void {
    // Finished data keep views on the old buffers; start fresh ones.
    this.offsets = new Int32Array(this.offsets.length);
    this.bytes = new Uint8Array(this.bytes.length);
    this.length = 0;
    this.pos = 0;
  }
}

export function makeBatch(schema: ArrowSchema, children: readonly Data[], length: number): RecordBatch {
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: [...children] });
  return new RecordBatch(schema, data);
}
