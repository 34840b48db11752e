import * as arrow from 'apache-arrow';
import { arrowTypeOf } from '../common/arrow-type.js';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { DataType, Value } from '../common/types.js';
import { decimalBigIntAt, decimalSetBigInt } from './decimal.js';

/**
 * The kernels' column: plain typed arrays, no methods, structured-clone friendly (a Column can
 * be posted to a worker as is). Row i of every buffer is row i of the column (Arrow offsets are
 * applied on extraction).
 *
 * | type              | values                                   |
 * |-------------------|------------------------------------------|
 * | bool              | Uint8Array bitmap, bit i = row i         |
 * | int8/int16        | Int8Array / Int16Array                   |
 * | int32, date       | Int32Array (date: days since 1970-01-01) |
 * | int64, timestamp  | BigInt64Array (timestamp: µs UTC)        |
 * | float / double    | Float32Array / Float64Array              |
 * | decimal           | Uint32Array, 4 LE words per row (i128)   |
 * | string / binary   | null; offsets (length+1) + data bytes    |
 */
export type ColumnValues =
  | Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array | Uint32Array;

export interface Column {
  readonly type: DataType;
  readonly length: number;
  readonly values: ColumnValues | null;
  /** Validity bitmap, bit i set = row i is not NULL; null = no NULLs. */
  readonly validity: Uint8Array | null;
  readonly offsets: Int32Array | null;
  readonly data: Uint8Array | null;
  /** Decimal only (0 otherwise). */
  readonly precision: number;
  readonly scale: number;
}

/** A typed constant for the kernels. `value` uses the API representation (types.ts). */
export interface Scalar {
  readonly type: DataType;
  readonly value: Value;
  readonly precision: number;
  readonly scale: number;
}

export function scalar(type: DataType, value: Value, precision = 0, scale = 0): Scalar {
  return { type, value, precision: type === 'decimal' ? (precision || 38) : 0, scale: type === 'decimal' ? scale : 0 };
}

export const textEncoder = new TextEncoder();
export const textDecoder = new TextDecoder();

export function isValidAt(validity: Uint8Array | null, i: number): boolean {
  return validity === null || ((validity[i >> 3] as number) & (1 << (i & 7))) !== 0;
}

export function bitmapBytes(length: number): number {
  return (length + 7) >> 3;
}

/** An all-valid bitmap of `length` bits. */
export function newValidity(length: number, valid: boolean): Uint8Array {
  const b = new Uint8Array(bitmapBytes(length));
  if (valid) b.fill(255);
  return b;
}

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
}

export function clearBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] as number) & ~(1 << (i & 7));
}

export function getBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] as number) & (1 << (i & 7))) !== 0;
}

/** Int32 view over int64/timestamp/decimal values (2 or 4 words per row, little-endian). */
export function words32(col: Column): Int32Array {
  const v = col.values;
  assert(v !== null && (v instanceof BigInt64Array || v instanceof Uint32Array), `words32 needs int64/timestamp/decimal values, got ${col.type}`);
  return new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
}

export function nullCount(col: Column): number {
  const v = col.validity;
  if (v === null) return 0;
  let n = 0;
  for (let i = 0; i < col.length; i++) if (((v[i >> 3] as number) & (1 << (i & 7))) === 0) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Allocation

export interface ColumnTypeInfo {
  readonly type: DataType;
  readonly precision?: number;
  readonly scale?: number;
}

/** Allocates a fixed-width values array for `length` rows of `type`. */
export function allocValues(type: DataType, length: number): ColumnValues {
  switch (type) {
    case 'bool': return new Uint8Array(bitmapBytes(length));
    case 'int8': return new Int8Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': case 'date': return new Int32Array(length);
    case 'int64': case 'timestamp': return new BigInt64Array(length);
    case 'float': return new Float32Array(length);
    case 'double': return new Float64Array(length);
    case 'decimal': return new Uint32Array(length * 4);
    case 'string': case 'binary':
      throw new SaigaError('InvalidArgument', `allocValues: ${type} has no fixed-width values`);
  }
}

export function makeColumn(
  type: DataType, length: number, values: ColumnValues | null, validity: Uint8Array | null,
  precision = 0, scale = 0, offsets: Int32Array | null = null, data: Uint8Array | null = null,
): Column {
  return { type, length, values, validity, offsets, data, precision: type === 'decimal' ? precision : 0, scale: type === 'decimal' ? scale : 0 };
}

/** Drops the validity bitmap when it has no NULL bit. */
export function normalizeValidity(validity: Uint8Array | null, length: number): Uint8Array | null {
  if (validity === null) return null;
  const full = length >> 3;
  for (let k = 0; k < full; k++) if (validity[k] !== 255) return validity;
  for (let i = full << 3; i < length; i++) if (!isValidAt(validity, i)) return validity;
  return null;
}

/** Growable byte buffer + offsets for building string/binary columns without per-row objects. */
export class VarBinaryBuilder {
  private data: Uint8Array;
  private offsets: Int32Array;
  private validity: Uint8Array | null = null;
  private n = 0;
  private size = 0;

  constructor(rowCapacity = 1024, byteCapacity = 16 * 1024) {
    this.data = new Uint8Array(Math.max(16, byteCapacity));
    this.offsets = new Int32Array(Math.max(2, rowCapacity + 1));
  }

  get length(): number { return this.n; }

  private ensureRows(extra: number): void {
    if (this.n + extra + 1 <= this.offsets.length) return;
    const o = new Int32Array(Math.max(this.offsets.length * 2, this.n + extra + 1));
    o.set(this.offsets.subarray(0, this.n + 1));
    this.offsets = o;
  }

  /** Makes room for `bytes` more bytes and returns the buffer and write position. */
  reserve(bytes: number): Uint8Array {
    if (this.size + bytes > this.data.length) {
      const d = new Uint8Array(Math.max(this.data.length * 2, this.size + bytes));
      d.set(this.data.subarray(0, this.size));
      this.data = d;
    }
    return this.data;
  }

  get byteLength(): number { return this.size; }

  /** Appends bytes[start, end). */
  appendBytes(bytes: Uint8Array, start: number, end: number): void {
    this.ensureRows(1);
    const len = end - start;
    const d = this.reserve(len);
    d.set(bytes.subarray(start, end), this.size);
    this.size += len;
    this.n++;
    this.offsets[this.n] = this.size;
  }

  /** Finishes a row whose bytes were written directly after reserve(): `len` bytes at byteLength. */
  commitRow(len: number): void {
    this.ensureRows(1);
    this.size += len;
    this.n++;
    this.offsets[this.n] = this.size;
  }

  appendString(s: string): void {
    const d = this.reserve(s.length * 3);
    const { written } = textEncoder.encodeInto(s, d.subarray(this.size));
    this.commitRow(written);
  }

  appendNull(): void {
    this.ensureRows(1);
    if (this.validity === null) {
      this.validity = newValidity(Math.max(this.offsets.length, 8), true);
    }
    if (this.validity.length * 8 < this.n + 1) {
      const v = newValidity(Math.max(this.validity.length * 16, this.n + 1), true);
      v.set(this.validity);
      this.validity = v;
    }
    clearBit(this.validity, this.n);
    this.n++;
    this.offsets[this.n] = this.size;
  }

  finish(type: 'string' | 'binary' = 'string'): Column {
    let validity: Uint8Array | null = null;
    if (this.validity !== null) {
      validity = newValidity(this.n, true);
      const m = Math.min(this.validity.length, validity.length);
      validity.set(this.validity.subarray(0, m));
    }
    return makeColumn(type, this.n, null, validity, 0, 0, this.offsets.slice(0, this.n + 1), this.data.slice(0, this.size));
  }
}

// ---------------------------------------------------------------------------------------------
// Values <-> columns (not for hot loops)

/** Builds a column from API values (tests, constants, small results). */
export function columnFromValues(type: DataType, values: readonly Value[], precision = 0, scale = 0): Column {
  const n = values.length;
  let validity: Uint8Array | null = null;
  const markNull = (i: number): void => {
    if (validity === null) validity = newValidity(n, true);
    clearBit(validity, i);
  };
  if (type === 'string' || type === 'binary') {
    const b = new VarBinaryBuilder(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) { b.appendNull(); continue; }
      if (typeof v === 'string') b.appendString(v);
      else if (v instanceof Uint8Array) b.appendBytes(v, 0, v.length);
      else throw new SaigaError('InvalidArgument', `expected a ${type} value, found ${typeof v}`);
    }
    return b.finish(type);
  }
  const vals = allocValues(type, n);
  const w = type === 'decimal' ? new Int32Array(vals.buffer, vals.byteOffset, n * 4) : null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) { markNull(i); continue; }
    switch (type) {
      case 'bool': if (v === true) setBit(vals as Uint8Array, i); break;
      case 'int64': case 'timestamp': (vals as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))); break;
      case 'decimal': decimalSetBigInt(w as Int32Array, i, typeof v === 'bigint' ? v : BigInt(Math.round(Number(v)))); break;
      default: (vals as Float64Array)[i] = Number(v);
    }
  }
  return makeColumn(type, n, vals, validity, type === 'decimal' ? (precision || 38) : 0, scale);
}

/** The API value of row i (types.ts representation). Not for hot loops. */
export function columnValue(col: Column, i: number): Value {
  assert(i >= 0 && i < col.length, `row ${i} outside column of ${col.length} rows`);
  if (!isValidAt(col.validity, i)) return null;
  switch (col.type) {
    case 'bool': return getBit(col.values as Uint8Array, i);
    case 'int64': case 'timestamp': {
      const v = (col.values as BigInt64Array)[i] as bigint;
      return col.type === 'timestamp' ? Number(v) : v;
    }
    case 'decimal': return decimalBigIntAt(words32(col), i);
    case 'string': case 'binary': {
      const o = col.offsets as Int32Array;
      const bytes = (col.data as Uint8Array).subarray(o[i] as number, o[i + 1] as number);
      return col.type === 'string' ? textDecoder.decode(bytes) : bytes.slice();
    }
    default: return (col.values as Float64Array)[i] as number;
  }
}

export function columnToValues(col: Column): Value[] {
  const out: Value[] = new Array<Value>(col.length);
  for (let i = 0; i < col.length; i++) out[i] = columnValue(col, i);
  return out;
}

/** A column of `length` copies of a scalar. */
export function columnFromScalar(s: Scalar, length: number): Column {
  const vals: Value[] = new Array<Value>(length).fill(s.value);
  return columnFromValues(s.type, vals, s.precision, s.scale);
}

// ---------------------------------------------------------------------------------------------
// Arrow <-> columns

export function arrowTypeFor(type: DataType, precision = 38, scale = 0): arrow.DataType {
  return arrowTypeOf({ type, precision, scale });
}

export interface ArrowTypeMapping { readonly type: DataType; readonly precision: number; readonly scale: number }

/** Saiga type of an Arrow type; throws NotSupported for types Saiga has no column type for. */
export function dataTypeFromArrow(t: arrow.DataType): ArrowTypeMapping {
  const plain = (type: DataType): ArrowTypeMapping => ({ type, precision: 0, scale: 0 });
  if (arrow.DataType.isDictionary(t)) return dataTypeFromArrow(t.dictionary);
  switch (t.typeId) {
    case arrow.Type.Bool: return plain('bool');
    case arrow.Type.Int: {
      const it = t as arrow.Int;
      if (it.isSigned) return plain(it.bitWidth === 8 ? 'int8' : it.bitWidth === 16 ? 'int16' : it.bitWidth === 32 ? 'int32' : 'int64');
      return plain(it.bitWidth === 8 ? 'int16' : it.bitWidth === 16 ? 'int32' : 'int64');
    }
    case arrow.Type.Float: return plain((t as arrow.Float).precision === arrow.Precision.DOUBLE ? 'double' : 'float');
    case arrow.Type.Decimal: {
      const d = t as arrow.Decimal;
      if (d.bitWidth !== 128) break;
      return { type: 'decimal', precision: d.precision, scale: d.scale };
    }
    case arrow.Type.Utf8: return plain('string');
    case arrow.Type.Binary: return plain('binary');
    case arrow.Type.Date: return plain('date');
    case arrow.Type.Timestamp: return plain('timestamp');
    default: break;
  }
  throw new SaigaError('NotSupported', `expected an Arrow type Saiga can store, found ${String(t)}`);
}

/** Validity bitmap aligned at row 0 (zero-copy when the Arrow offset is a multiple of 8). */
function alignBitmap(bits: Uint8Array | null | undefined, offset: number, length: number): Uint8Array | null {
  if (bits === null || bits === undefined || bits.length === 0) return null;
  if ((offset & 7) === 0) return bits.subarray(offset >> 3, (offset >> 3) + bitmapBytes(length));
  const out = new Uint8Array(bitmapBytes(length));
  for (let i = 0; i < length; i++) {
    const j = offset + i;
    if (((bits[j >> 3] as number) & (1 << (j & 7))) !== 0) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}

function concatColumns(cols: readonly Column[]): Column {
  const first = cols[0];
  assert(first !== undefined, 'concatColumns needs at least one column');
  if (cols.length === 1) return first;
  let n = 0;
  for (const c of cols) n += c.length;
  const anyNull = cols.some((c) => c.validity !== null);
  const validity = anyNull ? newValidity(n, true) : null;
  let at = 0;
  if (first.type === 'string' || first.type === 'binary') {
    let bytes = 0;
    for (const c of cols) bytes += ((c.offsets as Int32Array)[c.length] as number) - ((c.offsets as Int32Array)[0] as number);
    const data = new Uint8Array(bytes);
    const offsets = new Int32Array(n + 1);
    let pos = 0;
    for (const c of cols) {
      const o = c.offsets as Int32Array;
      const base = o[0] as number;
      data.set((c.data as Uint8Array).subarray(base, o[c.length] as number), pos);
      for (let i = 0; i < c.length; i++) {
        offsets[at + i + 1] = pos + (o[i + 1] as number) - base;
        if (validity !== null && !isValidAt(c.validity, i)) clearBit(validity, at + i);
      }
      pos += (o[c.length] as number) - base;
      at += c.length;
    }
    return makeColumn(first.type, n, null, validity, 0, 0, offsets, data);
  }
  const vals = allocValues(first.type, n);
  for (const c of cols) {
    if (first.type === 'bool') {
      for (let i = 0; i < c.length; i++) if (getBit(c.values as Uint8Array, i)) setBit(vals as Uint8Array, at + i);
    } else {
      const per = first.type === 'decimal' ? 4 : 1;
      (vals as Float64Array).set((c.values as Float64Array).subarray(0, c.length * per), at * per);
    }
    if (validity !== null) for (let i = 0; i < c.length; i++) if (!isValidAt(c.validity, i)) clearBit(validity, at + i);
    at += c.length;
  }
  return makeColumn(first.type, n, vals, validity, first.precision, first.scale);
}

/**
 * The kernels' view of an Arrow Data or Vector. Zero-copy for one chunk of a native type
 * (a sliced bool/validity bitmap not on a byte boundary is copied); dictionary, unsigned,
 * DateMillisecond and non-µs timestamps are converted; several chunks are concatenated.
 */
export function columnFromArrow(src: arrow.Data | arrow.Vector): Column {
  if (src instanceof arrow.Vector) {
    if (src.data.length === 1) return columnFromArrow(src.data[0] as arrow.Data);
    if (src.data.length === 0) {
      const m = dataTypeFromArrow(src.type);
      return emptyColumn(m.type, m.precision, m.scale);
    }
    return concatColumns(src.data.map((d) => columnFromArrow(d)));
  }
  const d = src;
  const t = d.type as arrow.DataType;
  const m = dataTypeFromArrow(t);
  const n = d.length;
  const validity = d.nullCount === 0 ? null : alignBitmap(d.nullBitmap, d.offset, n);
  if (arrow.DataType.isDictionary(t)) {
    const dict = columnFromArrow(d.dictionary as arrow.Vector);
    const keys = d.values as ArrayLike<number | bigint>;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = Number(keys[i]);
    const taken = takeForDictionary(dict, idx);
    return { ...taken, validity: validity === null ? taken.validity : validity };
  }
  switch (m.type) {
    case 'bool': {
      const vals = alignBitmap(d.values as Uint8Array, d.offset, n) ?? new Uint8Array(bitmapBytes(n));
      return makeColumn('bool', n, vals, validity);
    }
    case 'string': case 'binary':
      return makeColumn(m.type, n, null, validity, 0, 0, d.valueOffsets as Int32Array, d.values as Uint8Array);
    case 'date': {
      if (d.values instanceof Int32Array) return makeColumn('date', n, d.values.subarray(0, n), validity);
      const ms = d.values as unknown as BigInt64Array | Int32Array;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(Number(ms[i] ?? 0) / 86400000);
      return makeColumn('date', n, out, validity);
    }
    case 'timestamp': {
      const unit = (t as arrow.Timestamp).unit;
      const v = d.values as BigInt64Array;
      if (unit === arrow.TimeUnit.MICROSECOND) return makeColumn('timestamp', n, v.subarray(0, n), validity);
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const x = v[i] as bigint;
        out[i] = unit === arrow.TimeUnit.SECOND ? x * 1000000n : unit === arrow.TimeUnit.MILLISECOND ? x * 1000n : x / 1000n;
      }
      return makeColumn('timestamp', n, out, validity);
    }
    case 'decimal':
      return makeColumn('decimal', n, (d.values as Uint32Array).subarray(0, n * 4), validity, m.precision, m.scale);
    default: {
      const it = t as arrow.Int;
      if (t.typeId === arrow.Type.Int && !it.isSigned) {
        const src2 = d.values as ArrayLike<number | bigint>;
        const out = allocValues(m.type, n);
        for (let i = 0; i < n; i++) {
          if (out instanceof BigInt64Array) out[i] = BigInt(src2[i] as number | bigint);
          else (out as Int32Array)[i] = Number(src2[i]);
        }
        return makeColumn(m.type, n, out, validity);
      }
      return makeColumn(m.type, n, (d.values as Int32Array).subarray(0, n), validity);
    }
  }
}

function takeForDictionary(dict: Column, idx: Int32Array): Column {
  // Local gather to keep column.ts free of a dependency on take.ts (which imports this file).
  if (dict.type === 'string' || dict.type === 'binary') {
    const b = new VarBinaryBuilder(idx.length);
    const o = dict.offsets as Int32Array;
    const data = dict.data as Uint8Array;
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i] as number;
      if (!isValidAt(dict.validity, r)) b.appendNull();
      else b.appendBytes(data, o[r] as number, o[r + 1] as number);
    }
    return b.finish(dict.type);
  }
  const vals: Value[] = [];
  for (let i = 0; i < idx.length; i++) vals.push(columnValue(dict, idx[i] as number));
  return columnFromValues(dict.type, vals, dict.precision, dict.scale);
}

export function emptyColumn(type: DataType, precision = 0, scale = 0): Column {
  if (type === 'string' || type === 'binary') return makeColumn(type, 0, null, null, 0, 0, new Int32Array(1), new Uint8Array(0));
  return makeColumn(type, 0, allocValues(type, 0), null, precision, scale);
}

/** Arrow Data over the column's buffers (no copy). */
export function columnToArrowData(col: Column): arrow.Data {
  const n = col.length;
  const type = arrowTypeFor(col.type, col.precision || 38, col.scale);
  const nullBitmap = col.validity ?? undefined;
  const nc = col.validity === null ? 0 : nullCount(col);
  const props = { type, length: n, nullCount: nc, ...(nullBitmap === undefined || nc === 0 ? {} : { nullBitmap }) };
  if (col.type === 'string' || col.type === 'binary') {
    return arrow.makeData({ ...props, type: type as arrow.Utf8, valueOffsets: col.offsets as Int32Array, data: col.data as Uint8Array }) as arrow.Data;
  }
  return arrow.makeData({ ...props, type: type as arrow.Int32, data: col.values as Int32Array }) as arrow.Data;
}

export function columnToVector(col: Column): arrow.Vector {
  return arrow.makeVector(columnToArrowData(col));
}

export function columnsFromBatch(batch: arrow.RecordBatch): Column[] {
  const out: Column[] = [];
  for (let i = 0; i < batch.numCols; i++) {
    const child = batch.data.children[i];
    assert(child !== undefined, `batch child ${i} missing`);
    out.push(columnFromArrow(child));
  }
  return out;
}

/** A RecordBatch over the columns' buffers (no copy). All columns must have the same length. */
export function batchFromColumns(names: readonly string[], cols: readonly Column[], nullable?: readonly boolean[]): arrow.RecordBatch {
  assert(names.length === cols.length, `batchFromColumns: ${names.length} names for ${cols.length} columns`);
  const n = cols[0]?.length ?? 0;
  const fields: arrow.Field[] = [];
  const children: arrow.Data[] = [];
  cols.forEach((c, i) => {
    assert(c.length === n, `batchFromColumns: column ${i} has ${c.length} rows, expected ${n}`);
    const data = columnToArrowData(c);
    fields.push(new arrow.Field(names[i] as string, data.type, nullable?.[i] ?? true));
    children.push(data);
  });
  const schema = new arrow.Schema(fields);
  const struct = arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children });
  return new arrow.RecordBatch(schema, struct);
}
