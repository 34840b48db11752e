import * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { encodeKeyView } from '../common/key-encoding.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import { MAX_CELL_SIZE_BYTES, MAX_KEY_SIZE_BYTES, type ColumnSchema, type Schema, type Value } from '../common/types.js';
import { canonicalIsNull, canonicalKind, canonicalValue, makeCanonical, type CanonicalKind } from '../rowset/column-batch.js';
import { writeDecimal } from '../rowset/column-data.js';
import { ipcStreamChunks, type IpcChunks } from '../rowset/ipc-chunks.js';
import { takeWarmBuffer } from './page-warmer.js';
import type { PreparedBatch } from './tablet-api.js';

/**
 * Validation, coercion and key encoding of a whole Arrow batch in one pass per column
 * (typed-array loops; per-row work only for rows in error and for key types without a fast
 * encoder). The result is the canonical columnar batch (src/rowset/column-batch.ts).
 */

const TWO32 = 4294967296;
const INT_LIMITS: Partial<Record<ColumnSchema['type'], number>> = { int8: 0x80, int16: 0x8000, int32: 0x80000000, date: 0x80000000 };
const textEncoder = new TextEncoder();

class Errors {
  readonly bad: Uint8Array;
  readonly list: RowError[] = [];
  constructor(n: number) {
    this.bad = new Uint8Array(n);
  }
  add(i: number, message: string): void {
    if (this.bad[i] === 1) return;
    this.bad[i] = 1;
    this.list.push({ rowIndex: i, code: 'InvalidArgument', message });
  }
  all(n: number, message: string): void {
    for (let i = 0; i < n; i++) this.add(i, message);
  }
}

function bitSet(bm: Uint8Array, i: number): void {
  bm[i >> 3] = (bm[i >> 3] as number) | (1 << (i & 7));
}

/** Output validity bitmap, all valid; returns the null count after marking input nulls. */
function copyNulls(v: arrow.Vector, out: Uint8Array): number {
  out.fill(0xff);
  let nulls = 0;
  let at = 0;
  for (const d of v.data as arrow.Data[]) {
    const bm = d.nullBitmap;
    if (d.nullCount > 0 && bm !== undefined && bm.length > 0) {
      for (let i = 0; i < d.length; i++) {
        const k = d.offset + i;
        if (((bm[k >> 3] as number) & (1 << (k & 7))) === 0) {
          out[(at + i) >> 3] = (out[(at + i) >> 3] as number) & ~(1 << ((at + i) & 7));
          nulls++;
        }
      }
    }
    at += d.length;
  }
  return nulls;
}

function isNullAt(bm: Uint8Array, i: number): boolean {
  return ((bm[i >> 3] as number) & (1 << (i & 7))) === 0;
}

function unsupported(col: ColumnSchema, t: arrow.DataType): SaigaError {
  return new SaigaError('InvalidArgument', `column '${col.name}': Arrow type ${String(t)} is not supported for ${col.type}`);
}

/** Reads every value of an integer / float / date / timestamp vector as a double (timestamps in µs, dates in days). */
function readNumbers(v: arrow.Vector, col: ColumnSchema, out: Float64Array): void {
  let at = 0;
  for (const d of v.data as arrow.Data[]) {
    const t = d.type as arrow.DataType;
    const n = d.length;
    // Arrow JS slices fixed-width value buffers (and value offsets) when it slices Data; `offset`
    // then only indexes the validity bitmap (and Bool's bit-packed values).
    const o = 0;
    if (arrow.DataType.isInt(t) && t.bitWidth === 64) {
      const w = new Int32Array((d.values as BigInt64Array).buffer, (d.values as BigInt64Array).byteOffset, (d.values as BigInt64Array).length * 2);
      const signed = t.isSigned;
      for (let i = 0; i < n; i++) {
        const lo = (w[2 * (o + i)] as number) >>> 0;
        const hi = w[2 * (o + i) + 1] as number;
        out[at + i] = (signed ? hi : hi >>> 0) * TWO32 + lo;
      }
    } else if (arrow.DataType.isInt(t) || arrow.DataType.isFloat(t) || (arrow.DataType.isDate(t) && t.unit === arrow.DateUnit.DAY)) {
      const vals = d.values as Int32Array | Float64Array;
      if (vals instanceof Uint16Array && arrow.DataType.isFloat(t)) throw unsupported(col, t);
      for (let i = 0; i < n; i++) out[at + i] = vals[o + i] as number;
    } else if (arrow.DataType.isTimestamp(t) || arrow.DataType.isDate(t)) {
      const b = d.values as BigInt64Array | Int32Array;
      const w = b instanceof BigInt64Array ? new Int32Array(b.buffer, b.byteOffset, b.length * 2) : b;
      const isDateMs = arrow.DataType.isDate(t);
      const unit = isDateMs ? -1 : (t as arrow.Timestamp).unit;
      for (let i = 0; i < n; i++) {
        const raw = (w[2 * (o + i) + 1] as number) * TWO32 + ((w[2 * (o + i)] as number) >>> 0);
        out[at + i] = isDateMs ? Math.floor(raw / 86_400_000)
          : unit === arrow.TimeUnit.SECOND ? raw * 1e6 : unit === arrow.TimeUnit.MILLISECOND ? raw * 1e3 : unit === arrow.TimeUnit.MICROSECOND ? raw : Math.floor(raw / 1e3);
      }
    } else if (arrow.DataType.isBool(t) && col.type !== 'bool') {
      throw unsupported(col, t);
    } else {
      throw unsupported(col, t);
    }
    at += n;
  }
}

const INT_BITS: Partial<Record<ColumnSchema['type'], number>> = { int8: 8, int16: 16, int32: 32, date: 32 };

/** Whether every chunk of `v` is a signed integer (or, for a date column, DateDay) no wider than the column: no range check needed. */
function fitsWithoutCheck(v: arrow.Vector, col: ColumnSchema): boolean {
  const bits = INT_BITS[col.type];
  if (bits === undefined) return false;
  for (const d of v.data as arrow.Data[]) {
    const t = d.type as arrow.DataType;
    const ok = (arrow.DataType.isInt(t) && t.isSigned && t.bitWidth <= bits) || (col.type === 'date' && arrow.DataType.isDate(t) && t.unit === arrow.DateUnit.DAY);
    if (!ok) return false;
  }
  return true;
}

function isNumericSource(t: arrow.DataType): boolean {
  return arrow.DataType.isInt(t) || arrow.DataType.isFloat(t) || arrow.DataType.isDate(t) || arrow.DataType.isTimestamp(t);
}

/** Converts one given column to canonical form, recording per-row errors. */
function convertColumn(v: arrow.Vector, col: ColumnSchema, isKey: boolean, n: number, err: Errors): arrow.Data {
  const kind = canonicalKind(col);
  const bm = new Uint8Array((n + 7) >> 3);
  const nullCount = copyNulls(v, bm);
  if (nullCount > 0 && (!col.nullable || isKey)) {
    for (let i = 0; i < n; i++) if (isNullAt(bm, i)) err.add(i, `column ${col.name} is not nullable, got NULL`);
  }
  const t0 = (v.data[0]?.type ?? v.type) as arrow.DataType;
  const nulls = nullCount > 0 ? { nullBitmap: bm, nullCount } : { nullCount: 0 };
  switch (kind) {
    case 'num': {
      const only = v.data.length === 1 ? (v.data[0] as arrow.Data) : undefined;
      if (!isKey && only !== undefined && (col.type === 'int32' || col.type === 'date') && only.values instanceof Int32Array && fitsWithoutCheck(v, col)) {
        return int32Canonical(col, n, (only.values as Int32Array).subarray(0, n), nulls);
      }
      const out = new Float64Array(n);
      readNumbers(v, col, out);
      const lim = INT_LIMITS[col.type];
      if (lim !== undefined && !fitsWithoutCheck(v, col)) {
        for (let i = 0; i < n; i++) {
          const x = out[i] as number;
          if (!Number.isInteger(x) || x < -lim || x >= lim) {
            if (nullCount > 0 && isNullAt(bm, i)) { out[i] = 0; continue; }
            err.add(i, Number.isInteger(x) ? `value ${x} out of range for ${col.type} column ${col.name}` : `value ${x} is not valid for ${col.type} column ${col.name}`);
          }
        }
      } else if (col.type === 'timestamp') {
        for (let i = 0; i < n; i++) {
          if (!Number.isSafeInteger(out[i] as number) && !(nullCount > 0 && isNullAt(bm, i))) err.add(i, `value ${out[i]} is not valid for timestamp column ${col.name}`);
        }
      } else if (col.type === 'float') {
        for (let i = 0; i < n; i++) out[i] = Math.fround(out[i] as number);
      }
      return makeCanonical(col, n, { values: out, ...nulls });
    }
    case 'i64': {
      if (v.data.length === 1 && arrow.DataType.isInt(t0) && t0.bitWidth === 64 && t0.isSigned) {
        // Already canonical: a view on the caller's buffer (the prepared batch lives only for this write).
        const d = v.data[0] as arrow.Data;
        return makeCanonical(col, n, { values: (d.values as BigInt64Array).subarray(0, n), ...nulls });
      }
      const out = new BigInt64Array(n);
      const tmp = new Float64Array(n);
      readNumbers(v, col, tmp);
      const w = new Int32Array(out.buffer);
      for (let i = 0; i < n; i++) {
        const x = tmp[i] as number;
        if (!Number.isSafeInteger(x)) {
          if (!(nullCount > 0 && isNullAt(bm, i))) err.add(i, `value ${x} is not valid for int64 column ${col.name}`);
          continue;
        }
        const hi = Math.floor(x / TWO32);
        w[2 * i] = x - hi * TWO32;
        w[2 * i + 1] = hi;
      }
      return makeCanonical(col, n, { values: out, ...nulls });
    }
    case 'dec': {
      const p = col.precision ?? 38;
      const lim = 10n ** BigInt(p);
      const only = v.data.length === 1 ? (v.data[0] as arrow.Data) : undefined;
      // Decimal128 in one chunk is already canonical: a view, no copy.
      const direct = only !== undefined && arrow.DataType.isDecimal(only.type) && (only.type as arrow.Decimal).bitWidth === 128;
      const out = direct ? (only.values as Uint32Array).subarray(0, 4 * n) : new Uint32Array(4 * n);
      let at = 0;
      for (const d of direct ? [] : v.data as arrow.Data[]) {
        const t = d.type as arrow.DataType;
        if (arrow.DataType.isDecimal(t) && t.bitWidth === 128) {
          out.set((d.values as Uint32Array).subarray(0, 4 * d.length), 4 * at);
        } else if (arrow.DataType.isInt(t)) {
          const tmp = new Float64Array(d.length);
          readNumbers(new arrow.Vector([d]), col, tmp);
          for (let i = 0; i < d.length; i++) {
            const x = tmp[i] as number;
            if (!Number.isSafeInteger(x)) err.add(at + i, `value ${x} is not valid for decimal column ${col.name}`);
            else writeDecimal(out, at + i, BigInt(x));
          }
        } else throw unsupported(col, t);
        at += d.length;
      }
      const data = makeCanonical(col, n, { values: out, ...nulls });
      // Precision: the common small values are decided with doubles; the rest exactly.
      const limNum = p >= 16 ? Infinity : Number(lim);
      for (let i = 0; i < n; i++) {
        const w1 = out[4 * i + 1] as number;
        const w2 = out[4 * i + 2] as number;
        const w3 = out[4 * i + 3] as number;
        const small = (w3 === 0 && w2 === 0 && w1 < 0x200000) || (w3 === 0xffffffff && w2 === 0xffffffff && w1 >= 0xffe00000);
        if (small && p >= 16) continue;
        if (small) {
          const x = (w1 | 0) * TWO32 + (out[4 * i] as number);
          if (x < limNum && x > -limNum) continue;
        }
        if (nullCount > 0 && isNullAt(bm, i)) continue;
        const x = canonicalValue('dec', data, i) as bigint;
        if (x >= lim || x <= -lim) err.add(i, `unscaled value ${x} exceeds precision ${p} of column ${col.name}`);
      }
      return data;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      let at = 0;
      for (const d of v.data as arrow.Data[]) {
        const t = d.type as arrow.DataType;
        if (arrow.DataType.isBool(t)) {
          const vals = d.values as Uint8Array;
          for (let i = 0; i < d.length; i++) {
            const k = d.offset + i;
            out[at + i] = ((vals[k >> 3] as number) >> (k & 7)) & 1;
          }
        } else if (isNumericSource(t)) {
          const tmp = new Float64Array(d.length);
          readNumbers(new arrow.Vector([d]), col, tmp);
          for (let i = 0; i < d.length; i++) {
            const x = tmp[i] as number;
            if (x === 0 || x === 1) out[at + i] = x;
            else if (!(nullCount > 0 && isNullAt(bm, at + i))) err.add(at + i, `value ${x} is not valid for bool column ${col.name}`);
          }
        } else throw unsupported(col, t);
        at += d.length;
      }
      return makeCanonical(col, n, { values: out, ...nulls });
    }
    case 'str': case 'bin': {
      let total = 0;
      for (const d of v.data as arrow.Data[]) {
        const t = d.type as arrow.DataType;
        if (!(arrow.DataType.isUtf8(t) || (kind === 'bin' && arrow.DataType.isBinary(t)))) throw unsupported(col, t);
        const offs = d.valueOffsets as Int32Array;
        total += (offs[d.length] as number) - (offs[0] as number);
      }
      const only = v.data.length === 1 ? (v.data[0] as arrow.Data) : undefined;
      if (only !== undefined && (only.valueOffsets as Int32Array)[0] === 0) {
        // One chunk whose offsets start at 0: views on the caller's buffers, no copy.
        const ends = (only.valueOffsets as Int32Array).subarray(0, n + 1);
        checkCellSizes(ends, n, col, err);
        return makeCanonical(col, n, { values: (only.values as Uint8Array).subarray(0, ends[n] as number), valueOffsets: ends, ...nulls });
      }
      const bytes = new Uint8Array(total);
      const ends = new Int32Array(n + 1);
      let at = 0;
      let pos = 0;
      for (const d of v.data as arrow.Data[]) {
        const offs = d.valueOffsets as Int32Array;
        const s0 = offs[0] as number;
        const s1 = offs[d.length] as number;
        bytes.set((d.values as Uint8Array).subarray(s0, s1), pos);
        const shift = pos - s0;
        for (let i = 0; i < d.length; i++) ends[at + i + 1] = (offs[i + 1] as number) + shift;
        pos += s1 - s0;
        at += d.length;
      }
      checkCellSizes(ends, n, col, err);
      return makeCanonical(col, n, { values: bytes, valueOffsets: ends, ...nulls });
    }
  }
}

/** Rows per block of checkCellSizes: a block whose bytes all fit one cell's bound has no cell over it. */
const CELL_CHECK_BLOCK_ROWS = 256;

/**
 * Records an error for every cell of `ends` (n + 1 offsets) over MAX_CELL_SIZE_BYTES. Blocks of
 * CELL_CHECK_BLOCK_ROWS rows holding at most that many bytes in all (every block of ordinary
 * text) are passed with one subtraction instead of one per row.
 */
function checkCellSizes(ends: Int32Array, n: number, col: ColumnSchema, err: Errors): void {
  for (let b = 0; b < n; b += CELL_CHECK_BLOCK_ROWS) {
    const e = Math.min(n, b + CELL_CHECK_BLOCK_ROWS);
    if ((ends[e] as number) - (ends[b] as number) <= MAX_CELL_SIZE_BYTES) continue;
    for (let i = b; i < e; i++) {
      if ((ends[i + 1] as number) - (ends[i] as number) > MAX_CELL_SIZE_BYTES) err.add(i, `cell of column ${col.name} is larger than ${MAX_CELL_SIZE_BYTES} bytes`);
    }
  }
}

/**
 * Int32 / DateDay values of an int32 / date column that need no check, by the canonical Float64
 * column standing for them (int32Canonical).
 */
const int32Sources = new WeakMap<arrow.Data, Int32Array>();

/**
 * The canonical Float64 column of exact Int32 values `src` (a view on the caller's batch),
 * materialized only when its `values` are read: a take (takeCanonical) converts straight from
 * `src` into its own buffer, so a bulk write never allocates the 8-byte-wide copy (lineitem: 5
 * such columns, 40 bytes a row of fresh memory per write). Every other reader sees a plain
 * Float64Array, made once.
 */
function int32Canonical(col: ColumnSchema, n: number, src: Int32Array, nulls: { nullBitmap?: Uint8Array; nullCount: number }): arrow.Data {
  const data = makeCanonical(col, n, { values: new Float64Array(0), ...nulls });
  let made: Float64Array | undefined;
  Object.defineProperty(data, 'values', {
    configurable: true,
    enumerable: true,
    get: (): Float64Array => (made ??= Float64Array.from(src)),
  });
  int32Sources.set(data, src);
  return data;
}

/** A column not given: its default (or NULL) in every row. */
function constantCanonical(col: ColumnSchema, n: number, v: Value): arrow.Data {
  const kind = canonicalKind(col);
  if (v === null) {
    const values = kind === 'num' ? new Float64Array(n) : kind === 'i64' ? new BigInt64Array(n) : kind === 'dec' ? new Uint32Array(4 * n) : new Uint8Array(kind === 'bool' ? n : 0);
    return makeCanonical(col, n, { values, nullBitmap: new Uint8Array((n + 7) >> 3), nullCount: n, ...(kind === 'str' || kind === 'bin' ? { valueOffsets: new Int32Array(n + 1) } : {}) });
  }
  switch (kind) {
    case 'num': return makeCanonical(col, n, { values: new Float64Array(n).fill(Number(v)), nullCount: 0 });
    case 'i64': return makeCanonical(col, n, { values: new BigInt64Array(n).fill(typeof v === 'bigint' ? v : BigInt(v as number)), nullCount: 0 });
    case 'bool': return makeCanonical(col, n, { values: new Uint8Array(n).fill(v === true || v === 1 ? 1 : 0), nullCount: 0 });
    case 'dec': {
      const w = new Uint32Array(4 * n);
      writeDecimal(w, 0, typeof v === 'bigint' ? v : BigInt(v as number));
      for (let i = 1; i < n; i++) w.copyWithin(4 * i, 0, 4);
      return makeCanonical(col, n, { values: w, nullCount: 0 });
    }
    case 'str': case 'bin': {
      const one = typeof v === 'string' ? textEncoder.encode(v) : (v as Uint8Array);
      const bytes = new Uint8Array(one.length * n);
      const ends = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) {
        bytes.set(one, i * one.length);
        ends[i + 1] = (i + 1) * one.length;
      }
      return makeCanonical(col, n, { values: bytes, valueOffsets: ends, nullCount: 0 });
    }
  }
}

const FAST_KEY_WIDTH: Partial<Record<ColumnSchema['type'], number>> = { int8: 1, int16: 2, int32: 4, date: 4, int64: 8, timestamp: 8 };

// Memcomparable fixed-width key fields (encodeKey's bytes), shared by encodeKeys' loops.
/** `u` (unsigned 32-bit) big-endian at bytes[p, p + 4). */
function putBE32(bytes: Uint8Array, p: number, u: number): void {
  bytes[p] = u >>> 24; bytes[p + 1] = u >>> 16; bytes[p + 2] = u >>> 8; bytes[p + 3] = u;
}
/** A 64-bit field from its signed high word and unsigned low word: sign bit flipped, big-endian. */
function putKey64(bytes: Uint8Array, p: number, hi: number, lo: number): void {
  putBE32(bytes, p, ((hi | 0) ^ 0x80000000) >>> 0);
  putBE32(bytes, p + 4, lo >>> 0);
}
/** A timestamp (µs as a double within 2^53). */
function putTimestampKey(bytes: Uint8Array, p: number, x: number): void {
  const h = Math.floor(x / TWO32);
  putKey64(bytes, p, h, x - h * TWO32);
}
function putInt16Key(bytes: Uint8Array, p: number, x: number): void {
  const y = x & 0xffff;
  bytes[p] = (y >>> 8) ^ 0x80;
  bytes[p + 1] = y & 0xff;
}
function putInt32Key(bytes: Uint8Array, p: number, x: number): void {
  putBE32(bytes, p, ((x | 0) ^ 0x80000000) >>> 0);
}

/**
 * encodeKeys of fixed-width key columns when no row is in error: every key is `width` bytes at
 * i * width, so each column is written by a loop of its own (no per-row dispatch over the key
 * columns' types). Same bytes as the row loop.
 */
function encodeFixedKeysByColumn(
  types: readonly ColumnSchema['type'][], i32: readonly (Int32Array | undefined)[], f64: readonly (Float64Array | undefined)[],
  width: number, n: number, bytes: Uint8Array, offsets: Int32Array,
): void {
  for (let i = 1; i <= n; i++) offsets[i] = i * width;
  let at = 0;
  for (let c = 0; c < types.length; c++) {
    const type = types[c] as ColumnSchema['type'];
    if (type === 'int64') {
      const w = i32[c] as Int32Array;
      for (let i = 0, p = at; i < n; i++, p += width) putKey64(bytes, p, w[2 * i + 1] as number, w[2 * i] as number);
      at += 8;
      continue;
    }
    const x = f64[c] as Float64Array;
    if (type === 'timestamp') {
      for (let i = 0, p = at; i < n; i++, p += width) putTimestampKey(bytes, p, x[i] as number);
      at += 8;
    } else if (type === 'int8') {
      for (let i = 0, p = at; i < n; i++, p += width) bytes[p] = ((x[i] as number) & 0xff) ^ 0x80;
      at += 1;
    } else if (type === 'int16') {
      for (let i = 0, p = at; i < n; i++, p += width) putInt16Key(bytes, p, x[i] as number);
      at += 2;
    } else {
      for (let i = 0, p = at; i < n; i++, p += width) putInt32Key(bytes, p, x[i] as number);
      at += 4;
    }
  }
}

/** Encodes the keys of every row (rows in error get an empty key). Same bytes as encodeKey. */
function encodeKeys(schema: Schema, cols: readonly arrow.Data[], kinds: readonly CanonicalKind[], n: number, err: Errors): { bytes: Uint8Array; offsets: Int32Array } {
  const kc = schema.keyColumnCount;
  const offsets = new Int32Array(n + 1);
  let width = 0;
  for (let c = 0; c < kc; c++) {
    const w = FAST_KEY_WIDTH[(schema.columns[c] as ColumnSchema).type];
    if (w === undefined) { width = -1; break; }
    width += w;
  }
  if (width > 0) {
    const bytes = new Uint8Array(width * n);
    // Views hoisted out of the row loop (one typed-array view per row cost more than the encoding).
    const types: ColumnSchema['type'][] = [];
    const i32: (Int32Array | undefined)[] = [];
    const f64: (Float64Array | undefined)[] = [];
    for (let c = 0; c < kc; c++) {
      const type = (schema.columns[c] as ColumnSchema).type;
      const d = cols[c] as arrow.Data;
      types.push(type);
      if (type === 'int64') {
        const v = d.values as BigInt64Array;
        i32.push(new Int32Array(v.buffer, v.byteOffset, 2 * n));
        f64.push(undefined);
      } else {
        i32.push(undefined);
        f64.push(d.values as Float64Array);
      }
    }
    let p = 0;
    if (kc === 1 && types[0] === 'int64') {
      // One int64 key (the common case): 8 big-endian bytes with the sign bit flipped.
      const w = i32[0] as Int32Array;
      const bad = err.bad;
      for (let i = 0; i < n; i++) {
        if (bad[i] === 1) { offsets[i + 1] = p; continue; }
        putKey64(bytes, p, w[2 * i + 1] as number, w[2 * i] as number);
        p += 8;
        offsets[i + 1] = p;
      }
      return { bytes: bytes.subarray(0, p), offsets };
    }
    if (err.list.length === 0) {
      encodeFixedKeysByColumn(types, i32, f64, width, n, bytes, offsets);
      return { bytes, offsets };
    }
    for (let i = 0; i < n; i++) {
      if (err.bad[i] === 1) { offsets[i + 1] = p; continue; }
      for (let c = 0; c < kc; c++) {
        const type = types[c] as ColumnSchema['type'];
        if (type === 'int64') {
          const w = i32[c] as Int32Array;
          putKey64(bytes, p, w[2 * i + 1] as number, w[2 * i] as number);
          p += 8;
          continue;
        }
        const x = (f64[c] as Float64Array)[i] as number;
        if (type === 'timestamp') {
          putTimestampKey(bytes, p, x);
          p += 8;
        } else if (type === 'int8') {
          bytes[p++] = (x & 0xff) ^ 0x80;
        } else if (type === 'int16') {
          putInt16Key(bytes, p, x);
          p += 2;
        } else {
          putInt32Key(bytes, p, x);
          p += 4;
        }
      }
      offsets[i + 1] = p;
    }
    return { bytes: bytes.subarray(0, p), offsets };
  }
  let bytes = new Uint8Array(Math.max(64, 16 * n));
  let p = 0;
  const key: Value[] = new Array<Value>(kc);
  for (let i = 0; i < n; i++) {
    if (err.bad[i] === 1) { offsets[i + 1] = p; continue; }
    for (let c = 0; c < kc; c++) key[c] = canonicalValue(kinds[c] as CanonicalKind, cols[c] as arrow.Data, i);
    const k = encodeKeyView(schema, key);
    if (k.length > MAX_KEY_SIZE_BYTES) {
      err.add(i, `encoded key of ${k.length} bytes is larger than ${MAX_KEY_SIZE_BYTES}`);
      offsets[i + 1] = p;
      continue;
    }
    if (p + k.length > bytes.length) {
      const nb = new Uint8Array(Math.max(2 * bytes.length, p + k.length));
      nb.set(bytes.subarray(0, p));
      bytes = nb;
    }
    bytes.set(k, p);
    p += k.length;
    offsets[i + 1] = p;
  }
  return { bytes: bytes.subarray(0, p), offsets };
}

/**
 * Typed arrays on SharedArrayBuffers: taken batches are applied into the MemRowSet without a
 * copy, and a frozen MemRowSet goes to the flush worker without one (background-flush.ts).
 */
type ArrayCtor<T> = { new (b: SharedArrayBuffer, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number };

/**
 * One SharedArrayBuffer for every array of a take (all columns, keys): one allocation per
 * tablet part instead of two or three per column. Arrays are carved in order, 8-byte aligned.
 */
/** Takes from this size up get a fresh slab with headroom (Slab.freshBytes); smaller ones exactly their size. */
const SLAB_HEADROOM_MIN_BYTES = 1024 * 1024;
const SLAB_ROUND_BYTES = 1024 * 1024;

class Slab {
  readonly buf: SharedArrayBuffer;
  at: number;
  /** `buf`: a fresh all-zero buffer of at least `bytes` bytes to carve from (page-warmer.ts). */
  constructor(bytes: number, start = 0, buf?: SharedArrayBuffer) {
    assert(buf === undefined || buf.byteLength >= bytes, () => `slab of ${bytes} bytes given a buffer of ${buf?.byteLength}`);
    this.buf = buf ?? new SharedArrayBuffer(bytes);
    this.at = start;
  }
  /**
   * Size of a fresh slab for a take of `bytes` under a SlabAllocator: large takes get 1/8
   * headroom, rounded up to whole MiB, so a recycled slab (bulk-stage.ts: reused for takes of [size / 1.5, size] bytes) also
   * fits the next takes of the same load, whose sizes vary by a few percent. Without it half the
   * slabs of an SF1 lineitem COPY were fresh memory (about 60k page faults more).
   */
  static freshBytes(bytes: number): number {
    return bytes < SLAB_HEADROOM_MIN_BYTES ? bytes : Math.ceil((bytes * 1.125) / SLAB_ROUND_BYTES) * SLAB_ROUND_BYTES;
  }
  static bytes(n: number, bytesPerElement: number): number {
    return (n * bytesPerElement + 7) & ~7;
  }
  take<T>(ctor: ArrayCtor<T>, n: number): T {
    const len = Slab.bytes(n, ctor.BYTES_PER_ELEMENT);
    assert(this.at + len <= this.buf.byteLength, () => `slab of ${this.buf.byteLength} bytes asked for ${this.at + len}`);
    const a = new ctor(this.buf, this.at, n);
    this.at += len;
    return a;
  }
}

/** Bytes takeCanonical carves from its slab for column `d` (as runsOf(keep), m rows). */
function takeBytes(kind: CanonicalKind, d: arrow.Data, m: number, runs: Int32Array, runCount: number): number {
  let b = d.nullCount > 0 ? Slab.bytes((m + 7) >> 3, 1) : 0;
  switch (kind) {
    case 'num': case 'i64': return b + Slab.bytes(m, 8);
    case 'bool': return b + Slab.bytes(m, 1);
    case 'dec': return b + Slab.bytes(4 * m, 4);
    case 'str': case 'bin': {
      const offs = d.valueOffsets as Int32Array;
      let total = 0;
      for (let r = 0; r < runCount; r++) {
        const s = runs[2 * r] as number;
        total += (offs[s + (runs[2 * r + 1] as number)] as number) - (offs[s] as number);
      }
      b += Slab.bytes(m + 1, 4) + Slab.bytes(total, 1);
      return b;
    }
  }
}

/** The kept rows of every column (and of the keys) in one slab. */
function takeAll(schema: Schema, columns: readonly arrow.Data[], keyData: arrow.Data, keep: Int32Array, alloc?: SlabAllocator): { columns: arrow.Data[]; keys: arrow.Data } {
  const { runs, count } = runsOf(keep);
  const m = keep.length;
  const kinds = schema.columns.map(canonicalKind);
  let bytes = takeBytes('bin', keyData, m, runs, count);
  columns.forEach((d, ci) => { bytes += takeBytes(kinds[ci] as CanonicalKind, d, m, runs, count); });
  const slab = new Slab(bytes, 0, alloc === undefined ? undefined : alloc(bytes) ?? new SharedArrayBuffer(Slab.freshBytes(bytes)));
  const keys = takeCanonical({ type: 'binary' }, 'bin', keyData, keep, runs, count, slab);
  return { keys, columns: columns.map((d, ci) => takeCanonical(schema.columns[ci] as ColumnSchema, kinds[ci] as CanonicalKind, d, keep, runs, count, slab)) };
}

/**
 * Runs of consecutive source rows in `keep`: run r copies rows [runs[2r], runs[2r] + runs[2r+1]).
 * Loads arrive clustered (lineitem's lines of one order hash to one tablet), so a run moves
 * several rows with one range copy per column.
 */
function runsOf(keep: Int32Array): { runs: Int32Array; count: number } {
  const m = keep.length;
  const runs = new Int32Array(2 * m);
  let count = 0;
  let j = 0;
  while (j < m) {
    const s = keep[j] as number;
    let e = j + 1;
    while (e < m && (keep[e] as number) === s + (e - j)) e++;
    runs[2 * count] = s;
    runs[2 * count + 1] = e - j;
    count++;
    j = e;
  }
  return { runs, count };
}

interface NumberArray {
  [i: number]: number;
  subarray(begin: number, end: number): ArrayLike<number>;
  set(from: ArrayLike<number>, at: number): void;
}

/**
 * Copies the runs (first row, row count) of src, `width` elements per row, to out from element 0,
 * back to back: a loop for runs under `setMin` elements, TypedArray.set (a byte copy) above.
 */
function copyRuns(src: NumberArray, out: NumberArray, runs: Int32Array, runCount: number, width: number, setMin: number): void {
  let j = 0;
  for (let r = 0; r < runCount; r++) {
    const s = width * (runs[2 * r] as number);
    const len = width * (runs[2 * r + 1] as number);
    if (len >= setMin) out.set(src.subarray(s, s + len), j);
    else for (let k = 0; k < len; k++) out[j + k] = src[s + k] as number;
    j += len;
  }
}

/**
 * Whether the runs are short (under 8 rows on average, e.g. lineitem's lines of one order per
 * tablet): a per-row gather of fixed-width values then beats a loop per run (measured 1.5x on
 * Float64, 2.2x on Decimal128 words at lineitem's ~4-row runs).
 */
function shortRuns(rows: number, runCount: number): boolean {
  return rows < 8 * runCount;
}

/** out[j] = the `width` elements of row keep[j] of src. */
function gather(src: NumberArray, out: NumberArray, keep: Int32Array, width: number): void {
  const m = keep.length;
  if (width === 1) {
    for (let j = 0; j < m; j++) out[j] = src[keep[j] as number] as number;
  } else if (width === 2) {
    for (let j = 0; j < m; j++) {
      const s = 2 * (keep[j] as number);
      out[2 * j] = src[s] as number;
      out[2 * j + 1] = src[s + 1] as number;
    }
  } else if (width === 4) {
    for (let j = 0; j < m; j++) {
      const s = 4 * (keep[j] as number);
      const o = 4 * j;
      out[o] = src[s] as number;
      out[o + 1] = src[s + 1] as number;
      out[o + 2] = src[s + 2] as number;
      out[o + 3] = src[s + 3] as number;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const s = width * (keep[j] as number);
      const o = width * j;
      for (let k = 0; k < width; k++) out[o + k] = src[s + k] as number;
    }
  }
}

/** Byte ranges up to this long are copied by a loop, longer ones by TypedArray.set. */
const STRING_LOOP_BYTES_MAX = 24;

/** Keeps the rows listed in `keep` (as runsOf(keep)) of a canonical column, into shared buffers. */
function takeCanonical(
  col: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>, kind: CanonicalKind, d: arrow.Data, keep: Int32Array, runs: Int32Array, runCount: number, slab: Slab,
  keptNulls = d.nullCount,
): arrow.Data {
  const m = keep.length;
  let nullBitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (d.nullCount > 0 && keptNulls > 0) {
    // Padded to 8 bytes: the IPC writer takes a bitmap of a multiple of 8 bytes as it is (a view).
    nullBitmap = slab.take(Uint8Array, Slab.bytes((m + 7) >> 3, 1));
    // The slab may be recycled memory (SlabAllocator): bits are only ever set below.
    nullBitmap.fill(0);
    for (let j = 0; j < m; j++) {
      if (canonicalIsNull(d, keep[j] as number)) nullCount++;
      else bitSet(nullBitmap, j);
    }
  }
  const nulls = nullBitmap !== undefined && nullCount > 0 ? { nullBitmap, nullCount } : { nullCount: 0 };
  switch (kind) {
    case 'num': case 'bool': case 'i64': {
      // Same-type TypedArray.set is a byte copy (no BigInt per int64 value); Int32 sources of
      // num columns convert as they are copied.
      const src = (kind === 'num' ? int32Sources.get(d) : undefined) ?? d.values as Float64Array;
      const out = kind === 'num' ? slab.take(Float64Array, m) : kind === 'i64' ? slab.take(BigInt64Array, m) : slab.take(Uint8Array, m);
      if (kind === 'i64') {
        // Two Int32 words per value: no BigInt per row.
        const b = d.values as BigInt64Array;
        const o = out as BigInt64Array;
        const w = new Int32Array(b.buffer, b.byteOffset, 2 * b.length);
        const ow = new Int32Array(o.buffer, o.byteOffset, 2 * m);
        if (shortRuns(m, runCount)) gather(w, ow, keep, 2);
        else copyRuns(w, ow, runs, runCount, 2, 32);
      } else if (shortRuns(m, runCount)) gather(src, out as Float64Array | Uint8Array, keep, 1);
      else copyRuns(src, out as Float64Array | Uint8Array, runs, runCount, 1, 16);
      return makeCanonical(col, m, { values: out as Float64Array, ...nulls });
    }
    case 'dec': {
      const src = d.values as Uint32Array;
      const out = slab.take(Uint32Array, 4 * m);
      if (shortRuns(m, runCount)) gather(src, out, keep, 4);
      else copyRuns(src, out, runs, runCount, 4, 64);
      return makeCanonical(col, m, { values: out, ...nulls });
    }
    case 'str': case 'bin': {
      const offs = d.valueOffsets as Int32Array;
      const src = d.values as Uint8Array;
      const ends = slab.take(Int32Array, m + 1);
      ends[0] = 0;
      let total = 0;
      for (let r = 0; r < runCount; r++) {
        const s = runs[2 * r] as number;
        total += (offs[s + (runs[2 * r + 1] as number)] as number) - (offs[s] as number);
      }
      const out = slab.take(Uint8Array, total);
      let j = 0;
      let at = 0;
      for (let r = 0; r < runCount; r++) {
        const s = runs[2 * r] as number;
        const len = runs[2 * r + 1] as number;
        const b0 = offs[s] as number;
        const b1 = offs[s + len] as number;
        // Short ranges: a byte loop, no subarray view per run (a byte loop into shared memory
        // costs ~1.5-2 ns a byte, subarray + set ~60 ns a call: even at ~24 bytes).
        if (b1 - b0 <= STRING_LOOP_BYTES_MAX) for (let k = b0; k < b1; k++) out[at + k - b0] = src[k] as number;
        else out.set(src.subarray(b0, b1), at);
        const shift = at - b0;
        // A run at the same byte position (a whole batch taken): its offsets as they are, one copy.
        if (shift === 0 && len >= 16) ends.set(offs.subarray(s + 1, s + len + 1), j + 1);
        else for (let k = 1; k <= len; k++) ends[j + k] = (offs[s + k] as number) + shift;
        at += b1 - b0;
        j += len;
      }
      return makeCanonical(col, m, { values: out, valueOffsets: ends, ...nulls });
    }
  }
}

/**
 * Validates and converts `batch` (columns matched to the schema by name, case-insensitively)
 * for op `kind`. Unknown batch columns and missing key columns fail the whole batch (a
 * SaigaError); value errors are per row and leave the row out.
 */
export function prepareArrowBatch(schema: Schema, kind: WriteOpKind, batch: arrow.RecordBatch): PreparedBatch {
  const n = batch.numRows;
  const cols = schema.columns;
  const kc = schema.keyColumnCount;
  const byName = new Map<string, number>();
  batch.schema.fields.forEach((f, i) => byName.set(f.name.toLowerCase(), i));
  const known = new Set(cols.map((c) => c.name.toLowerCase()));
  for (const f of batch.schema.fields) {
    if (!known.has(f.name.toLowerCase())) throw new SaigaError('UnknownColumn', `batch column '${f.name}' is not a column of the table`);
  }
  const isInsertLike = kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert';
  const isDelete = kind === 'delete' || kind === 'delete_ignore';
  const err = new Errors(n);
  const kinds = cols.map(canonicalKind);
  const given: boolean[] = [];
  const data: arrow.Data[] = cols.map((c, ci) => {
    const fi = byName.get(c.name.toLowerCase());
    const v = fi === undefined ? null : batch.getChildAt(fi);
    if (ci < kc && v === null) throw new SaigaError('InvalidArgument', `key column ${c.name} is not given in the batch`);
    if (v !== null && !(isDelete && ci >= kc)) {
      given.push(true);
      return convertColumn(v, c, ci < kc, n, err);
    }
    given.push(false);
    let d: Value = null;
    if (isInsertLike) {
      d = c.defaultValue === undefined ? null : c.defaultValue;
      if (d === null && !c.nullable) err.all(n, `column ${c.name} is not nullable and has no default`);
    }
    return constantCanonical(c, n, d);
  });
  const keys = encodeKeys(schema, data, kinds, n, err);
  if (err.list.length === 0) {
    return { kind, rowCount: n, columns: data, given, keyBytes: keys.bytes, keyOffsets: keys.offsets, rowErrors: [] };
  }
  const keep = new Int32Array(n - err.list.length);
  let m = 0;
  for (let i = 0; i < n; i++) if (err.bad[i] === 0) keep[m++] = i;
  assert(m === keep.length, 'kept rows match the error count');
  const taken = takeAll(schema, data, makeCanonical({ type: 'binary' }, n, { values: keys.bytes, valueOffsets: keys.offsets, nullCount: 0 }), keep);
  err.list.sort((a, b) => a.rowIndex - b.rowIndex);
  return {
    kind, rowCount: m, given, keyBytes: taken.keys.values as Uint8Array, keyOffsets: taken.keys.valueOffsets as Int32Array, rowErrors: err.list, inputIndex: keep, buffersOwned: true,
    columns: taken.columns,
  };
}

/** The prepared rows as an Arrow batch of the given columns (canonical types, tablet names): what the WAL logs. */
export function preparedToArrow(schema: Schema, p: PreparedBatch): arrow.RecordBatch {
  const fields: arrow.Field[] = [];
  const children: arrow.Data[] = [];
  schema.columns.forEach((c, ci) => {
    if (p.given[ci] !== true) return;
    const d = p.columns[ci] as arrow.Data;
    fields.push(new arrow.Field(c.name, d.type, true));
    children.push(d);
  });
  const s = new arrow.Schema(fields);
  return new arrow.RecordBatch(s, arrow.makeData({ type: new arrow.Struct(s.fields), length: p.rowCount, nullCount: 0, children }));
}

/**
 * The IPC stream of preparedToArrow(schema, p) as the writer's chunks (the column buffers are
 * views on the prepared batch): the caller copies them once into its own buffer
 * (encodeWriteBatchArrowChunks) instead of the writer joining them first.
 */
export function preparedToIpcChunks(schema: Schema, p: PreparedBatch): IpcChunks {
  return ipcStreamChunks([preparedToArrow(schema, p)]);
}

/**
 * Gives a take its one buffer: a SharedArrayBuffer of at least `bytes` bytes that no one else
 * holds, or undefined (a new one is allocated). Its contents need not be zero: takeCanonical
 * writes every value, offset and bitmap byte it hands out (only alignment padding keeps old
 * bytes). Bulk staging recycles the buffers of staged rows once their file is written
 * (bulk-stage.ts), saving the page faults of fresh memory.
 */
export type SlabAllocator = (bytes: number) => SharedArrayBuffer | undefined;

/**
 * The prepared rows listed in `rows` (positions in `p`), e.g. those routed to one tablet. Every
 * taken column and the keys are views on one SharedArrayBuffer (from `alloc` when given).
 */
export function takePrepared(schema: Schema, p: PreparedBatch, rows: Int32Array, alloc?: SlabAllocator): PreparedBatch {
  const m = rows.length;
  // Keys are one more variable-width column: a byte range and an offset rebase per run.
  const taken = takeAll(schema, p.columns, makeCanonical({ type: 'binary' }, p.rowCount, { values: p.keyBytes, valueOffsets: p.keyOffsets, nullCount: 0 }), rows, alloc);
  const inputIndex = new Int32Array(m);
  for (let j = 0; j < m; j++) inputIndex[j] = p.inputIndex === undefined ? (rows[j] as number) : (p.inputIndex[rows[j] as number] as number);
  return {
    kind: p.kind, rowCount: m, given: p.given, keyBytes: taken.keys.values as Uint8Array, keyOffsets: taken.keys.valueOffsets as Int32Array, rowErrors: [], inputIndex, buffersOwned: true,
    columns: taken.columns,
  };
}

/**
 * Bytes reserved in front of the IPC metadata: the schema message and the record batch
 * message (flatbuffers whose size depends on the column names and count, not on the rows).
 * A generous bound; a layout whose metadata does not fit takes the copying path.
 */
function ipcMetadataBound(schema: Schema, given: readonly boolean[]): number {
  let b = 1024;
  schema.columns.forEach((c, ci) => { if (given[ci] === true) b += 4 * c.name.length + 256; });
  return (b + 7) & ~7;
}

/** Null count of column `d` over the rows listed in `keep`. */
function keptNullCount(d: arrow.Data, keep: Int32Array): number {
  if (d.nullCount === 0) return 0;
  if (keep.length === d.length && d.nullCount === d.length) return d.length;
  let nulls = 0;
  for (let j = 0; j < keep.length; j++) if (canonicalIsNull(d, keep[j] as number)) nulls++;
  return nulls;
}

const IPC_EOS = new Uint8Array(new Int32Array([-1, 0]).buffer);

/**
 * Takes the rows listed in `rows` (all rows when undefined) of `p`, like takePrepared, into one
 * SharedArrayBuffer laid out as the batch's write-ahead log entry: `logEntry.bytes` =
 * [reserveBytes for the caller (entry kind, payload header)][Arrow IPC stream of
 * preparedToArrow(schema, taken)], and the taken given columns are views on the IPC body in it.
 * The rows are copied once, for the log and the MemRowSet together (applyPrepared keeps the
 * buffers: buffersOwned), instead of once into a per-tablet batch and once more into the entry.
 * Not-given columns (defaults) and the keys follow the stream in the same buffer. When the IPC
 * writer does not lay the body where it was taken (checked buffer by buffer), the entry is a copy.
 */
export function takePreparedForLog(schema: Schema, p: PreparedBatch, rows: Int32Array | undefined, reserveBytes: number): PreparedBatch {
  const n = p.rowCount;
  const keep = rows ?? identityRows(n);
  const m = keep.length;
  assert(m > 0, 'a log entry holds at least one row');
  const { runs, count } = rows === undefined ? { runs: Int32Array.of(0, n), count: n > 0 ? 1 : 0 } : runsOf(keep);
  const kinds = schema.columns.map(canonicalKind);
  const keyData = makeCanonical({ type: 'binary' }, p.rowCount, { values: p.keyBytes, valueOffsets: p.keyOffsets, nullCount: 0 });
  const nulls = p.columns.map((d) => keptNullCount(d, keep));
  // Layout: [reserve | metadata (<= bound)] [body: given columns] [EOS] [other columns] [keys]
  const bodyStart = (reserveBytes + ipcMetadataBound(schema, p.given) + 7) & ~7;
  let bodyBytes = 0;
  let restBytes = takeBytes('bin', keyData, m, runs, count);
  p.columns.forEach((d, ci) => {
    const b = takeBytes(kinds[ci] as CanonicalKind, d, m, runs, count) - (d.nullCount > 0 && nulls[ci] === 0 ? Slab.bytes((m + 7) >> 3, 1) : 0);
    if (p.given[ci] === true) bodyBytes += b;
    else restBytes += b;
  });
  // Large entries come pre-touched from the page warmer when it has one of about this size.
  const slabBytes = bodyStart + bodyBytes + 8 + restBytes;
  const slab = new Slab(slabBytes, bodyStart, takeWarmBuffer(slabBytes));
  const columns: arrow.Data[] = new Array<arrow.Data>(p.columns.length);
  const take = (ci: number): void => {
    columns[ci] = takeCanonical(schema.columns[ci] as ColumnSchema, kinds[ci] as CanonicalKind, p.columns[ci] as arrow.Data, keep, runs, count, slab, nulls[ci]);
  };
  for (let ci = 0; ci < p.columns.length; ci++) if (p.given[ci] === true) take(ci);
  const bodyEnd = slab.at;
  assert(bodyEnd === bodyStart + bodyBytes, () => `log body of ${bodyEnd - bodyStart} bytes, laid out ${bodyBytes}`);
  slab.at += 8;
  for (let ci = 0; ci < p.columns.length; ci++) if (p.given[ci] !== true) take(ci);
  const keys = takeCanonical({ type: 'binary' }, 'bin', keyData, keep, runs, count, slab);
  const inputIndex = new Int32Array(m);
  for (let j = 0; j < m; j++) inputIndex[j] = p.inputIndex === undefined ? (keep[j] as number) : (p.inputIndex[keep[j] as number] as number);
  const taken: PreparedBatch = {
    kind: p.kind, rowCount: m, given: p.given, keyBytes: keys.values as Uint8Array, keyOffsets: keys.valueOffsets as Int32Array, rowErrors: [], buffersOwned: true,
    columns, ...(rows === undefined && p.inputIndex === undefined ? {} : { inputIndex }),
  };
  const ipc = preparedToIpcChunks(schema, taken);
  const whole = new Uint8Array(slab.buf);
  const laidOut = metadataBeforeBody(ipc, slab.buf, bodyStart, bodyEnd);
  if (laidOut !== undefined && laidOut <= bodyStart - reserveBytes) {
    let at = bodyStart - laidOut;
    for (const c of ipc.chunks) {
      if (at === bodyStart) break;
      whole.set(c, at);
      at += c.byteLength;
    }
    whole.set(IPC_EOS, bodyEnd);
    const from = bodyStart - laidOut - reserveBytes;
    return { ...taken, logEntry: { bytes: whole.subarray(from, bodyEnd + 8), ipcOffset: reserveBytes } };
  }
  // The writer copied or reordered something: the entry is a copy of its chunks.
  const bytes = new Uint8Array(reserveBytes + ipc.byteLength);
  let at = reserveBytes;
  for (const c of ipc.chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { ...taken, logEntry: { bytes, ipcOffset: reserveBytes } };
}

function identityRows(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/**
 * Bytes of IPC metadata before the body when the writer's chunks are: metadata chunks (not on
 * `buf`), then the body exactly as laid out in `buf` [bodyStart, bodyEnd) (views at their
 * places, or zero padding where the layout has zero gap bytes), then the end-of-stream marker.
 * Undefined otherwise.
 */
function metadataBeforeBody(ipc: IpcChunks, buf: SharedArrayBuffer, bodyStart: number, bodyEnd: number): number | undefined {
  const chunks = ipc.chunks;
  let k = 0;
  let meta = 0;
  while (k < chunks.length && (chunks[k] as Uint8Array).buffer !== buf) meta += (chunks[k++] as Uint8Array).byteLength;
  if (bodyEnd > bodyStart && k === chunks.length) return undefined;
  let at = bodyStart;
  for (; k < chunks.length && at < bodyEnd; k++) {
    const c = chunks[k] as Uint8Array;
    if (c.buffer === buf) {
      if (c.byteOffset !== at) return undefined;
    } else {
      if (c.byteLength >= 8 || (at & 7) === 0) return undefined;
      for (let i = 0; i < c.byteLength; i++) if (c[i] !== 0) return undefined;
    }
    at += c.byteLength;
  }
  if (at !== bodyEnd || k !== chunks.length - 1) return undefined;
  const eos = chunks[k] as Uint8Array;
  if (eos.byteLength !== 8) return undefined;
  for (let i = 0; i < 8; i++) if (eos[i] !== IPC_EOS[i]) return undefined;
  return meta === ipc.byteLength - (bodyEnd - bodyStart) - 8 ? meta : undefined;
}
