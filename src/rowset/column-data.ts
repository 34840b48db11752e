import * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { arrowTypeOf } from '../common/arrow-type.js';
import { compactValuesOf, type CompactValues } from '../common/compact-column.js';
import type { ColumnSchema, DataType, Value } from '../common/types.js';

/**
 * Arrow column helpers for the storage path: building columns from row values, reading one
 * value, gathering selected rows, constants. Hot paths work on `data.values` typed arrays;
 * nothing here calls Vector.get.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const TWO32 = 4294967296;


export function arrowField(col: ColumnSchema): arrow.Field {
  return new arrow.Field(col.name, arrowTypeOf(col), col.nullable);
}

export function arrowSchema(cols: readonly ColumnSchema[]): arrow.Schema {
  return new arrow.Schema(cols.map(arrowField));
}

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/** Splits an int64 given as number or bigint into (hi signed 32, lo unsigned 32). */
export function int64Parts(v: number | bigint): [number, number] {
  if (typeof v === 'bigint') return [Number(BigInt.asIntN(32, v >> 32n)), Number(v & 0xffffffffn)];
  const hi = Math.floor(v / TWO32);
  return [hi | 0, v - hi * TWO32];
}

/** Writes a 128-bit two's complement bigint as four little-endian uint32 words at words[4*i..]. */
export function writeDecimal(words: Uint32Array, i: number, v: bigint): void {
  if (v >= -9007199254740991n && v <= 9007199254740991n) {
    const n = Number(v);
    const hi = Math.floor(n / TWO32);
    words[4 * i] = n - hi * TWO32;
    words[4 * i + 1] = hi >>> 0;
    const ext = hi < 0 ? 0xffffffff : 0;
    words[4 * i + 2] = ext;
    words[4 * i + 3] = ext;
    return;
  }
  let u = BigInt.asUintN(128, v);
  for (let k = 0; k < 4; k++) {
    words[4 * i + k] = Number(u & 0xffffffffn);
    u >>= 32n;
  }
}

export function readDecimal(words: Uint32Array, i: number): bigint {
  const w0 = words[4 * i] as number;
  const w1 = words[4 * i + 1] as number;
  const w2 = words[4 * i + 2] as number;
  const w3 = words[4 * i + 3] as number;
  if ((w3 === 0 && w2 === 0 && w1 < 0x200000) || (w3 === 0xffffffff && w2 === 0xffffffff && w1 >= 0xffe00000)) {
    return BigInt((w1 | 0) * TWO32 + w0);
  }
  const u = (BigInt(w3) << 96n) | (BigInt(w2) << 64n) | (BigInt(w1) << 32n) | BigInt(w0);
  return BigInt.asIntN(128, u);
}

function isValid(bitmap: Uint8Array | undefined, i: number): boolean {
  return bitmap === undefined || ((bitmap[i >> 3] as number) & (1 << (i & 7))) !== 0;
}

export function hasNulls(data: arrow.Data): boolean {
  return data.nullBitmap !== undefined && data.nullBitmap.length > 0 && data.nullCount > 0;
}

/** Reads one value (not for hot loops). */
export function readValue(type: DataType, data: arrow.Data, i: number): Value {
  assert(data.offset === 0, 'storage columns have offset 0');
  if (hasNulls(data) && !isValid(data.nullBitmap, i)) return null;
  const values = data.values as unknown;
  switch (type) {
    case 'bool': return (((values as Uint8Array)[i >> 3] as number) & (1 << (i & 7))) !== 0;
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
      return (values as Int32Array)[i] as number;
    case 'int64': return (values as BigInt64Array)[i] as bigint;
    case 'timestamp': return Number((values as BigInt64Array)[i] as bigint);
    case 'decimal': return readDecimal(values as Uint32Array, i);
    case 'string': case 'binary': {
      const off = data.valueOffsets as Int32Array;
      const bytes = (values as Uint8Array).subarray(off[i] as number, off[i + 1] as number);
      return type === 'string' ? textDecoder.decode(bytes) : bytes.slice();
    }
  }
}

function typedCtor(type: DataType): { new (n: number): ArrayBufferView & { length: number } } {
  switch (type) {
    case 'int8': return Int8Array;
    case 'int16': return Int16Array;
    case 'int32': case 'date': return Int32Array;
    case 'float': return Float32Array;
    case 'double': return Float64Array;
    default: return Float64Array;
  }
}

function makeColumnData(col: ColumnSchema, n: number, nullCount: number, bitmap: Uint8Array | undefined,
  values: ArrayBufferView, offsets?: Int32Array): arrow.Data {
  const type = arrowTypeOf(col);
  const props: Record<string, unknown> = { type, length: n, nullCount, data: values };
  if (nullCount > 0 && bitmap !== undefined) props['nullBitmap'] = bitmap;
  if (offsets !== undefined) props['valueOffsets'] = offsets;
  return arrow.makeData(props as never) as arrow.Data;
}

/** Builds an Arrow column from `n` values (index i read via get(i)); null = SQL NULL. */
export function buildColumn(col: ColumnSchema, n: number, get: (i: number) => Value | undefined): arrow.Data {
  let nullCount = 0;
  let bitmap: Uint8Array | undefined;
  const markNull = (i: number): void => {
    if (bitmap === undefined) bitmap = new Uint8Array((n + 7) >> 3).fill(0xff);
    bitmap[i >> 3] = (bitmap[i >> 3] as number) & ~(1 << (i & 7));
    nullCount++;
  };
  switch (col.type) {
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) markNull(i);
        else if (v) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
      }
      return makeColumnData(col, n, nullCount, bitmap, bits);
    }
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const Ctor = typedCtor(col.type);
      const arr = new Ctor(n) as unknown as Float64Array;
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) markNull(i);
        else arr[i] = Number(v);
      }
      return makeColumnData(col, n, nullCount, bitmap, arr);
    }
    case 'int64': case 'timestamp': {
      const buf = new ArrayBuffer(n * 8);
      const w = new Int32Array(buf);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) { markNull(i); continue; }
        const [hi, lo] = int64Parts(v as number | bigint);
        w[2 * i] = lo | 0;
        w[2 * i + 1] = hi;
      }
      return makeColumnData(col, n, nullCount, bitmap, new BigInt64Array(buf));
    }
    case 'decimal': {
      const words = new Uint32Array(n * 4);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) { markNull(i); continue; }
        writeDecimal(words, i, typeof v === 'bigint' ? v : BigInt(v as number));
      }
      return makeColumnData(col, n, nullCount, bitmap, words);
    }
    case 'string': case 'binary': {
      const offsets = new Int32Array(n + 1);
      let buf = new Uint8Array(Math.max(64, n * 8));
      let len = 0;
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) { markNull(i); offsets[i + 1] = len; continue; }
        if (typeof v === 'string') {
          const need = len + v.length * 3;
          if (need > buf.length) { const nb = new Uint8Array(Math.max(need, buf.length * 2)); nb.set(buf.subarray(0, len)); buf = nb; }
          len += textEncoder.encodeInto(v, buf.subarray(len)).written;
        } else {
          const b = v as Uint8Array;
          if (len + b.length > buf.length) { const nb = new Uint8Array(Math.max(len + b.length, buf.length * 2)); nb.set(buf.subarray(0, len)); buf = nb; }
          buf.set(b, len);
          len += b.length;
        }
        offsets[i + 1] = len;
      }
      return makeColumnData(col, n, nullCount, bitmap, buf.subarray(0, len), offsets);
    }
  }
}

export function constantColumn(col: ColumnSchema, n: number, v: Value): arrow.Data {
  return buildColumn(col, n, () => v);
}

/** Copies the rows sel[0..count) of `data` into a new column. */
export function gather(col: ColumnSchema, data: arrow.Data, sel: Int32Array, count: number): arrow.Data {
  assert(data.offset === 0, 'storage columns have offset 0');
  const nulls = hasNulls(data) ? data.nullBitmap : undefined;
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (nulls !== undefined) {
    bitmap = new Uint8Array((count + 7) >> 3);
    for (let k = 0; k < count; k++) {
      const i = sel[k] as number;
      if (((nulls[i >> 3] as number) & (1 << (i & 7))) !== 0) bitmap[k >> 3] = (bitmap[k >> 3] as number) | (1 << (k & 7));
      else nullCount++;
    }
  }
  switch (col.type) {
    case 'bool': {
      const src = data.values as Uint8Array;
      const bits = new Uint8Array((count + 7) >> 3);
      for (let k = 0; k < count; k++) {
        const i = sel[k] as number;
        if (((src[i >> 3] as number) & (1 << (i & 7))) !== 0) bits[k >> 3] = (bits[k >> 3] as number) | (1 << (k & 7));
      }
      return makeColumnData(col, count, nullCount, bitmap, bits);
    }
    case 'int32': case 'date': {
      // One monomorphic loop per element type (a shared loop over several typed-array kinds is
      // megamorphic and several times slower).
      const v = data.values as unknown as ArrayBufferView;
      const out = new Int32Array(count);
      gatherI32(out, new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2), sel, count, 1);
      return makeColumnData(col, count, nullCount, bitmap, out);
    }
    case 'double': {
      const src = data.values as Float64Array;
      const out = new Float64Array(count);
      for (let k = 0; k < count; k++) out[k] = src[sel[k] as number] as number;
      return makeColumnData(col, count, nullCount, bitmap, out);
    }
    case 'int8': case 'int16': case 'float': {
      const src = data.values as Float64Array;
      const Ctor = typedCtor(col.type);
      const out = new Ctor(count) as unknown as Float64Array;
      for (let k = 0; k < count; k++) out[k] = src[sel[k] as number] as number;
      return makeColumnData(col, count, nullCount, bitmap, out);
    }
    case 'int64': case 'timestamp': case 'decimal': {
      const v = data.values as unknown as ArrayBufferView;
      const src = new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
      const stride = col.type === 'decimal' ? 4 : 2;
      const out = new Int32Array(count * stride);
      const compact = compactValuesOf(data);
      // An int32 compact copy: read 4 bytes per row instead of 8 or 16, sign-extend the rest.
      if (compact instanceof Int32Array && compact.length === data.length) gatherWidenI32(out, compact, sel, count, stride);
      else gatherI32(out, src, sel, count, stride);
      const values = col.type === 'decimal' ? new Uint32Array(out.buffer) : new BigInt64Array(out.buffer);
      return makeColumnData(col, count, nullCount, bitmap, values);
    }
    case 'string': case 'binary': {
      const off = data.valueOffsets as Int32Array;
      const src = data.values as Uint8Array;
      let total = 0;
      for (let k = 0; k < count; k++) { const i = sel[k] as number; total += (off[i + 1] as number) - (off[i] as number); }
      const out = new Uint8Array(total);
      const offsets = new Int32Array(count + 1);
      let p = 0;
      for (let k = 0; k < count; k++) {
        const i = sel[k] as number;
        const s = off[i] as number;
        const e = off[i + 1] as number;
        // Short values byte by byte: a subarray view per row costs more than the copy.
        if (e - s <= 32) for (let j = s; j < e; j++) out[p++] = src[j] as number;
        else { out.set(src.subarray(s, e), p); p += e - s; }
        offsets[k + 1] = p;
      }
      return makeColumnData(col, count, nullCount, bitmap, out, offsets);
    }
  }
}

/**
 * The compact copy (see common/compact-column.ts) of a Decimal128 (4 words per value) or
 * INT64 / TIMESTAMP (2 words) column: an Int32Array when every non-null value fits int32, else a
 * Float64Array when every one lies within +-(2^53-1) (exact as a double), else null.
 * SharedArrayBuffer-backed.
 */
export function buildCompactValues(data: arrow.Data, words: 2 | 4): CompactValues | null {
  assert(data.offset === 0, 'storage columns have offset 0');
  const n = data.length;
  const v = data.values as unknown as ArrayBufferView | undefined;
  if (v === undefined || v.byteLength < n * words * 4) return null;
  const w = new Int32Array(v.buffer, v.byteOffset, n * words);
  const nulls = hasNulls(data) ? data.nullBitmap : undefined;
  let int32 = true;
  for (let i = 0; i < n; i++) {
    if (nulls !== undefined && ((nulls[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const p = i * words;
    const hi = w[p + 1] as number;
    if (words === 4) {
      const s = hi >> 31;
      if (((w[p + 2] as number) ^ s) !== 0 || ((w[p + 3] as number) ^ s) !== 0) return null;
    }
    if (hi !== (w[p] as number) >> 31) {
      int32 = false;
      // value = hi * 2^32 + lo (unsigned) lies in [-2^53, 2^53) exactly when hi is in [-2^21, 2^21); -2^53 itself is out.
      if (((hi + 2097152) >>> 0) > 4194303 || (hi === -2097152 && (w[p] as number) === 0)) return null;
    }
  }
  if (int32) {
    const out = new Int32Array(new SharedArrayBuffer(n * 4));
    if (words === 4) for (let i = 0; i < n; i++) out[i] = w[i << 2] as number;
    else for (let i = 0; i < n; i++) out[i] = w[i << 1] as number;
    return out;
  }
  const out = new Float64Array(new SharedArrayBuffer(n * 8));
  for (let i = 0; i < n; i++) {
    const p = i * words;
    out[i] = (w[p + 1] as number) * TWO32 + ((w[p] as number) >>> 0);
  }
  return out;
}

/** out[k*stride .. +stride) = the words of compact[sel[k]] sign-extended to stride (2 or 4) words. */
function gatherWidenI32(out: Int32Array, compact: Int32Array, sel: Int32Array, count: number, stride: number): void {
  if (stride === 2) {
    for (let k = 0; k < count; k++) {
      const x = compact[sel[k] as number] as number, o = k * 2;
      out[o] = x; out[o + 1] = x >> 31;
    }
  } else {
    assert(stride === 4, 'gather stride is 2 or 4 words');
    for (let k = 0; k < count; k++) {
      const x = compact[sel[k] as number] as number, o = k * 4, h = x >> 31;
      out[o] = x; out[o + 1] = h; out[o + 2] = h; out[o + 3] = h;
    }
  }
}

/** out[k*stride .. +stride) = src[sel[k]*stride .. +stride) for k < count (stride 1, 2 or 4, unrolled). */
function gatherI32(out: Int32Array, src: Int32Array, sel: Int32Array, count: number, stride: number): void {
  if (stride === 1) {
    for (let k = 0; k < count; k++) out[k] = src[sel[k] as number] as number;
  } else if (stride === 2) {
    for (let k = 0; k < count; k++) {
      const i = (sel[k] as number) * 2, o = k * 2;
      out[o] = src[i] as number; out[o + 1] = src[i + 1] as number;
    }
  } else {
    assert(stride === 4, 'gather stride is 1, 2 or 4 words');
    for (let k = 0; k < count; k++) {
      const i = (sel[k] as number) * 4, o = k * 4;
      out[o] = src[i] as number; out[o + 1] = src[i + 1] as number; out[o + 2] = src[i + 2] as number; out[o + 3] = src[i + 3] as number;
    }
  }
}

function badValue(col: ColumnSchema, v: Value): SaigaError {
  return new SaigaError('InvalidArgument', `column ${col.name} expects ${col.type}, got ${typeof v === 'object' ? 'binary' : typeof v} ${typeof v === 'bigint' || typeof v === 'number' ? String(v) : ''}`.trim());
}

/** 10^p for decimal precision checks, computed once per precision. */
const DECIMAL_LIMITS: bigint[] = Array.from({ length: 39 }, (_, p) => 10n ** BigInt(p));
/** 10^p as a double where it is exact enough to decide |v| < 10^p for safe integers. */
const DECIMAL_LIMITS_NUM: number[] = Array.from({ length: 39 }, (_, p) => 10 ** p);

/**
 * Normalizes an API value to the column type's canonical representation, or throws InvalidArgument.
 * Called once per written cell: the common cases are decided by typeof checks without allocating.
 */
export function coerceValue(col: ColumnSchema, v: Value): Value {
  if (v === null) return null;
  switch (col.type) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw badValue(col, v);
    case 'int8': case 'int16': case 'int32': case 'date': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw badValue(col, v);
      const lim = col.type === 'int8' ? 0x80 : col.type === 'int16' ? 0x8000 : 0x80000000;
      if (n < -lim || n >= lim) throw new SaigaError('InvalidArgument', `value ${n} out of range for ${col.type} column ${col.name}`);
      return n;
    }
    case 'int64': {
      if (typeof v === 'bigint') {
        if (v < -(1n << 63n) || v >= 1n << 63n) throw new SaigaError('InvalidArgument', `value ${v} out of range for int64 column ${col.name}`);
        return v;
      }
      if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
      throw badValue(col, v);
    }
    case 'timestamp': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw badValue(col, v);
      return n;
    }
    case 'float': case 'double':
      if (typeof v === 'number') return col.type === 'float' ? Math.fround(v) : v;
      if (typeof v === 'bigint') return Number(v);
      throw badValue(col, v);
    case 'decimal': {
      const p = col.precision ?? 38;
      if (typeof v === 'bigint') {
        // Safe-integer range: decide with doubles (exact there), else with bigint.
        if (v >= -9007199254740991n && v <= 9007199254740991n) {
          const n = Number(v);
          if (p >= 16 || (n < (DECIMAL_LIMITS_NUM[p] as number) && n > -(DECIMAL_LIMITS_NUM[p] as number))) return v;
        }
        const lim = DECIMAL_LIMITS[p] as bigint;
        if (v >= lim || v <= -lim) throw new SaigaError('InvalidArgument', `unscaled value ${v} exceeds precision ${p} of column ${col.name}`);
        return v;
      }
      if (typeof v === 'number' && Number.isSafeInteger(v)) return coerceValue(col, BigInt(v));
      throw badValue(col, v);
    }
    case 'string':
      if (typeof v === 'string') return v;
      throw badValue(col, v);
    case 'binary':
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string') return textEncoder.encode(v);
      throw badValue(col, v);
  }
}

/** Total order on canonical non-null values of one type (strings in UTF-8 byte order). */
export function compareValues(type: DataType, a: Value, b: Value): number {
  switch (type) {
    case 'bool': return (a ? 1 : 0) - (b ? 1 : 0);
    case 'int64': case 'decimal': {
      const x = a as bigint;
      const y = b as bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string': {
      const x = a as string;
      const y = b as string;
      if (x === y) return 0;
      return compareUtf8(x, y);
    }
    case 'binary': {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      return x.length - y.length;
    }
    default: {
      const x = a as number;
      const y = b as number;
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

/** Compares strings by UTF-8 bytes (= code points), which differs from UTF-16 order for astral characters. */
export function compareUtf8(x: string, y: string): number {
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const a = x.codePointAt(i) as number;
    const b = y.codePointAt(j) as number;
    if (a !== b) return a - b;
    i += a > 0xffff ? 2 : 1;
    j += b > 0xffff ? 2 : 1;
  }
  return (x.length - i) - (y.length - j);
}

export function cellSizeBytes(v: Value): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; encode only when the bound could matter.
  if (typeof v === 'string') return v.length * 3 <= 65536 ? v.length : textEncoder.encode(v).length;
  if (v instanceof Uint8Array) return v.length;
  return 8;
}

/** Rough in-memory size of a row, for flush thresholds. */
export function rowSizeBytes(row: ReadonlyArray<Value | undefined>): number {
  let s = 48;
  for (const v of row) {
    if (typeof v === 'string') s += 16 + v.length * 2;
    else if (v instanceof Uint8Array) s += 64 + v.length;
    else s += 8;
  }
  return s;
}

/**
 * Min, max (null when every row is NULL) and NULL count of a column, as the footer stats keep
 * them; a typed-array pass that materializes only the two winning values.
 */
export function columnMinMax(col: ColumnSchema, data: arrow.Data): [Value, Value, number] {
  assert(data.offset === 0, 'storage columns have offset 0');
  const n = data.length;
  const nulls = hasNulls(data) ? data.nullBitmap : undefined;
  const valid = (i: number): boolean => nulls === undefined || ((nulls[i >> 3] as number) & (1 << (i & 7))) !== 0;
  let lo = -1;
  let hi = -1;
  let nullCount = 0;
  switch (col.type) {
    case 'bool': {
      const bits = data.values as Uint8Array;
      let sawFalse = false;
      let sawTrue = false;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { nullCount++; continue; }
        if (((bits[i >> 3] as number) & (1 << (i & 7))) !== 0) sawTrue = true;
        else sawFalse = true;
      }
      if (!sawFalse && !sawTrue) return [null, null, nullCount];
      return [!sawFalse, sawTrue, nullCount];
    }
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const v = data.values as Float64Array;
      let mn = 0;
      let mx = 0;
      for (let i = 0; i < n; i++) {
        if (nulls !== undefined && !valid(i)) { nullCount++; continue; }
        const x = v[i] as number;
        if (lo < 0) { lo = hi = i; mn = mx = x; continue; }
        if (x < mn) { mn = x; lo = i; }
        if (x > mx) { mx = x; hi = i; }
      }
      break;
    }
    case 'int64': case 'timestamp': case 'decimal': {
      const view = data.values as unknown as ArrayBufferView;
      const w = new Uint32Array(view.buffer, view.byteOffset, view.byteLength >> 2);
      const stride = col.type === 'decimal' ? 4 : 2;
      // Two's complement compare: top word signed, the rest unsigned, most significant first.
      const cmp = (a: number, b: number): number => {
        const ta = (w[a * stride + stride - 1] as number) | 0;
        const tb = (w[b * stride + stride - 1] as number) | 0;
        if (ta !== tb) return ta < tb ? -1 : 1;
        for (let k = stride - 2; k >= 0; k--) {
          const x = w[a * stride + k] as number;
          const y = w[b * stride + k] as number;
          if (x !== y) return x < y ? -1 : 1;
        }
        return 0;
      };
      // Fast pass: while every value lies within ±2^53 it is exactly lo + (hi|0) * 2^32 as a double.
      let safe = true;
      let mn = 0;
      let mx = 0;
      for (let i = 0; i < n; i++) {
        if (nulls !== undefined && !valid(i)) { nullCount++; continue; }
        const b = i * stride;
        const h = (w[b + 1] as number) | 0;
        if (h < -0x200000 || h >= 0x200000 || (stride === 4 && ((w[b + 2] as number) !== (h < 0 ? 0xffffffff : 0) || (w[b + 3] as number) !== (h < 0 ? 0xffffffff : 0)))) {
          safe = false;
          break;
        }
        const x = (w[b] as number) + h * TWO32;
        if (lo < 0) { lo = hi = i; mn = mx = x; continue; }
        if (x < mn) { mn = x; lo = i; }
        if (x > mx) { mx = x; hi = i; }
      }
      if (safe) break;
      lo = -1;
      hi = -1;
      nullCount = 0;
      for (let i = 0; i < n; i++) {
        if (nulls !== undefined && !valid(i)) { nullCount++; continue; }
        if (lo < 0) { lo = hi = i; continue; }
        if (cmp(i, lo) < 0) lo = i;
        if (cmp(i, hi) > 0) hi = i;
      }
      break;
    }
    case 'string': case 'binary': {
      const off = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      // Byte order = code point order for UTF-8, the order compareValues uses.
      const cmp = (x: number, y: number): number => compareUtf8Cells(off, b, x, y);
      // First byte of a cell (-1 when empty): most cells are decided against lo / hi by it alone.
      const first = (x: number): number => ((off[x + 1] as number) > (off[x] as number) ? (b[off[x] as number] as number) : -1);
      let loFirst = 0;
      let hiFirst = 0;
      for (let i = 0; i < n; i++) {
        if (nulls !== undefined && !valid(i)) { nullCount++; continue; }
        if (lo < 0) { lo = hi = i; loFirst = hiFirst = first(i); continue; }
        const f = first(i);
        if (f <= loFirst && (f < loFirst || cmp(i, lo) < 0)) { lo = i; loFirst = f; }
        if (f >= hiFirst && (f > hiFirst || cmp(i, hi) > 0)) { hi = i; hiFirst = f; }
      }
      break;
    }
  }
  if (lo < 0) return [null, null, nullCount];
  return [readValue(col.type, data, lo), readValue(col.type, data, hi), nullCount];
}

/** buildColumn for column `ci` of row arrays, without a per-cell callback. */
export function buildColumnFromRows(col: ColumnSchema, rows: readonly (readonly Value[])[], ci: number): arrow.Data {
  const n = rows.length;
  switch (col.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const Ctor = typedCtor(col.type);
      const arr = new Ctor(n) as unknown as Float64Array;
      let bitmap: Uint8Array | undefined;
      let nullCount = 0;
      for (let i = 0; i < n; i++) {
        const v = (rows[i] as readonly Value[])[ci];
        if (typeof v === 'number') arr[i] = v;
        else if (v === null || v === undefined) {
          if (bitmap === undefined) bitmap = new Uint8Array((n + 7) >> 3).fill(0xff);
          bitmap[i >> 3] = (bitmap[i >> 3] as number) & ~(1 << (i & 7));
          nullCount++;
        } else arr[i] = Number(v);
      }
      return makeColumnData(col, n, nullCount, bitmap, arr);
    }
    default:
      return buildColumn(col, n, (i) => (rows[i] as readonly Value[])[ci]);
  }
}

/** Byte-wise comparison of cells x and y of a UTF-8 / binary column (offsets + bytes). */
export function compareUtf8Cells(off: Int32Array, b: Uint8Array, x: number, y: number): number {
  const xs = off[x] as number;
  const ys = off[y] as number;
  const xl = (off[x + 1] as number) - xs;
  const yl = (off[y + 1] as number) - ys;
  const m = xl < yl ? xl : yl;
  for (let k = 0; k < m; k++) {
    const d = (b[xs + k] as number) - (b[ys + k] as number);
    if (d !== 0) return d;
  }
  return xl - yl;
}
