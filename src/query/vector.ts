import * as arrow from 'apache-arrow';
import { isAscii } from 'node:buffer';
import { assert } from '../common/assert.js';
import { arrowTypeOf } from '../common/arrow-type.js';
import type { DataType, Value } from '../common/types.js';

/**
 * The executor's column representation. Every numeric-like type (ints, float, double, bool as
 * 0/1, date as days, timestamp as µs, decimal as its unscaled integer value) lives in a
 * Float64Array so that kernels are one typed-array loop per operator; strings are JS strings.
 * Decimal aggregates whose exact value left the 2^53 range carry `exact` (unscaled bigints) for
 * output; arithmetic reads `values`.
 *
 * Validity: `valid` is one byte per row (1 = not null), or null when every row is valid.
 */
export interface SqlType {
  readonly type: DataType;
  readonly precision?: number;
  readonly scale?: number;
}

export interface NumVector {
  readonly kind: 'num';
  readonly type: SqlType;
  readonly values: Float64Array;
  readonly valid: Uint8Array | null;
  readonly exact?: readonly (bigint | undefined)[];
}

export interface StrVector {
  readonly kind: 'str';
  readonly type: SqlType;
  readonly values: readonly string[];
  readonly valid: Uint8Array | null;
}

export interface BinVector {
  readonly kind: 'bin';
  readonly type: SqlType;
  readonly values: readonly Uint8Array[];
  readonly valid: Uint8Array | null;
}

export type Vector = NumVector | StrVector | BinVector;

/** A set of equally long columns: the unit every operator consumes and produces. */
export interface Chunk {
  readonly columns: readonly Vector[];
  readonly length: number;
}

export function vectorKindOf(t: DataType): Vector['kind'] {
  return t === 'string' ? 'str' : t === 'binary' ? 'bin' : 'num';
}

export function vectorLength(v: Vector): number {
  return v.values.length;
}

export function isValid(v: Vector, i: number): boolean {
  return v.valid === null || v.valid[i] === 1;
}

const TWO32 = 4294967296;

/**
 * Largest magnitude a double holds exactly for every integer up to it. Integer-like rows (BIGINT,
 * DECIMAL unscaled) with |v| > MAX_EXACT always carry their exact value in `exact[i]`; rows at or
 * below it never do, so `exact[i] ?? values[i]` is a canonical key (bigint iff big).
 */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** The exact value of row i of an integer-like vector: a bigint when beyond 2^53, else the number. */
export function exactAt(v: NumVector, i: number): number | bigint {
  const e = v.exact?.[i];
  return e !== undefined ? e : v.values[i]!;
}

/** Row i as a bigint (integer-like vectors; the double is truncated when it is not integral). */
export function bigAt(v: NumVector, i: number): bigint {
  const e = v.exact?.[i];
  if (e !== undefined) return e;
  const x = v.values[i]!;
  return Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
}

/** Canonical form of an exact integer: a number when |x| <= MAX_EXACT, else the bigint. */
export function canonBig(x: bigint): number | bigint {
  return x <= 9007199254740991n && x >= -9007199254740991n ? Number(x) : x;
}

/** Stores an exact result into out/exact at i (exact allocated on first big value). */
export function putBig(out: Float64Array, exact: (bigint | undefined)[] | undefined, i: number, x: bigint): (bigint | undefined)[] | undefined {
  out[i] = Number(x);
  if (x > 9007199254740991n || x < -9007199254740991n) {
    exact ??= new Array<bigint | undefined>(out.length);
    exact[i] = x;
  } else if (exact !== undefined) exact[i] = undefined;
  return exact;
}

/** A NumVector, with `exact` only when some row needs it. */
export function numVec(type: SqlType, values: Float64Array, valid: Uint8Array | null, exact: (bigint | undefined)[] | undefined): NumVector {
  return exact !== undefined ? { kind: 'num', type, values, valid, exact } : { kind: 'num', type, values, valid };
}

/** Converts one Arrow column (all its chunks' Data) to a Vector of the given SQL type. */
export function fromArrow(datas: readonly arrow.Data[], type: SqlType): Vector {
  let length = 0;
  for (const d of datas) length += d.length;
  let valid: Uint8Array | null = null;
  let pos = 0;
  for (const d of datas) {
    if (d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0) {
      if (valid === null) {
        valid = new Uint8Array(length);
        valid.fill(1, 0, pos);
      }
      const bm = d.nullBitmap;
      const off = d.offset;
      for (let i = 0; i < d.length; i++) {
        const b = off + i;
        valid[pos + i] = (bm[b >> 3]! >> (b & 7)) & 1;
      }
    } else if (valid !== null) {
      valid.fill(1, pos, pos + d.length);
    }
    pos += d.length;
  }
  const kind = vectorKindOf(type.type);
  if (kind === 'str') {
    const out: string[] = new Array<string>(length);
    let p = 0;
    for (const d of datas) {
      const offs = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      const base = offs[0] ?? 0;
      const end = offs[d.length] ?? base;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (isAscii(buf.subarray(base, end))) {
        // One decode for the whole batch, then substrings: byte offsets equal char offsets.
        const all = buf.toString('latin1', base, end);
        for (let i = 0; i < d.length; i++) out[p++] = all.substring(offs[i]! - base, offs[i + 1]! - base);
      } else {
        for (let i = 0; i < d.length; i++) out[p++] = buf.toString('utf8', offs[i]!, offs[i + 1]!);
      }
    }
    return { kind: 'str', type, values: out, valid };
  }
  if (kind === 'bin') {
    const out: Uint8Array[] = new Array<Uint8Array>(length);
    let p = 0;
    for (const d of datas) {
      const offs = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      for (let i = 0; i < d.length; i++) out[p++] = bytes.slice(offs[i]!, offs[i + 1]!);
    }
    return { kind: 'bin', type, values: out, valid };
  }
  const values = new Float64Array(length);
  let exact: (bigint | undefined)[] | undefined;
  let p = 0;
  for (const d of datas) {
    const src = d.values as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number };
    const n = d.length;
    if (type.type === 'bool') {
      const bits = d.values as Uint8Array;
      const off = d.offset;
      for (let i = 0; i < n; i++) {
        const b = off + i;
        values[p + i] = (bits[b >> 3]! >> (b & 7)) & 1;
      }
    } else if (type.type === 'decimal') {
      const w = new Uint32Array(src.buffer, src.byteOffset, n * 4);
      for (let i = 0; i < n; i++) {
        const w0 = w[i * 4]!, w1 = w[i * 4 + 1]!, w2 = w[i * 4 + 2]!, w3 = w[i * 4 + 3]!;
        const neg = (w3 & 0x80000000) !== 0;
        const x = neg ? -((~w0 >>> 0) + (~w1 >>> 0) * TWO32 + 1) : w0 + w1 * TWO32;
        values[p + i] = x;
        // Words 2-3 not a sign extension, or beyond 2^53: keep the exact 128-bit value.
        if (w2 !== (neg ? 0xffffffff : 0) || w3 !== (neg ? 0xffffffff : 0) || x > MAX_EXACT || x < -MAX_EXACT) {
          const b = BigInt.asIntN(128, (BigInt(w3) << 96n) | (BigInt(w2) << 64n) | (BigInt(w1) << 32n) | BigInt(w0));
          values[p + i] = Number(b);
          (exact ??= new Array<bigint | undefined>(length))[p + i] = b;
        }
      }
    } else if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
      const w = new Int32Array(src.buffer, src.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const x = (w[i * 2]! >>> 0) + w[i * 2 + 1]! * TWO32;
        values[p + i] = x;
        if (x > MAX_EXACT || x < -MAX_EXACT) (exact ??= new Array<bigint | undefined>(length))[p + i] = src[i]! as bigint;
      }
    } else {
      for (let i = 0; i < n; i++) values[p + i] = src[i]!;
    }
    p += n;
  }
  return exact !== undefined ? { kind: 'num', type, values, valid, exact } : { kind: 'num', type, values, valid };
}

/**
 * fromArrow of one Data restricted to the rows in sel (all rows when null). Fixed-width numeric
 * columns are decoded for the selected rows only; other kinds decode then gather.
 */
export function fromArrowSelected(d: arrow.Data, type: SqlType, sel: Int32Array | null): Vector {
  if (sel === null) return fromArrow([d], type);
  const t = type.type;
  const n = sel.length;
  const simple = t === 'int8' || t === 'int16' || t === 'int32' || t === 'date' || t === 'float' || t === 'double';
  if (t === 'string' && n * 4 < d.length && d.valueOffsets instanceof Int32Array) {
    // Few rows of many (a selective key filter): decode only those, one string each.
    const offs = d.valueOffsets;
    const bytes = d.values as Uint8Array;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Array<string>(n);
    let valid: Uint8Array | null = null;
    const bm = d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
    for (let k = 0; k < n; k++) {
      const i = sel[k]!;
      if (bm !== null && ((bm[(d.offset + i) >> 3]! >> ((d.offset + i) & 7)) & 1) === 0) {
        (valid ??= new Uint8Array(n).fill(1))[k] = 0;
        out[k] = '';
        continue;
      }
      out[k] = buf.toString('utf8', offs[i]!, offs[i + 1]!);
    }
    return { kind: 'str', type, values: out, valid };
  }
  if (!simple && t !== 'decimal') return gather(fromArrow([d], type), sel);
  let valid: Uint8Array | null = null;
  if (d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0) {
    valid = new Uint8Array(n);
    const bm = d.nullBitmap;
    for (let k = 0; k < n; k++) { const b = d.offset + sel[k]!; valid[k] = (bm[b >> 3]! >> (b & 7)) & 1; }
  }
  const values = new Float64Array(n);
  const src = d.values as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number };
  if (simple) {
    for (let k = 0; k < n; k++) values[k] = src[sel[k]!]!;
    return { kind: 'num', type, values, valid };
  }
  const w = new Uint32Array(src.buffer, src.byteOffset, d.length * 4);
  let exact: (bigint | undefined)[] | undefined;
  for (let k = 0; k < n; k++) {
    const i = sel[k]! * 4;
    const w0 = w[i]!, w1 = w[i + 1]!, w2 = w[i + 2]!, w3 = w[i + 3]!;
    const neg = (w3 & 0x80000000) !== 0;
    const x = neg ? -((~w0 >>> 0) + (~w1 >>> 0) * TWO32 + 1) : w0 + w1 * TWO32;
    values[k] = x;
    if (w2 !== (neg ? 0xffffffff : 0) || w3 !== (neg ? 0xffffffff : 0) || x > MAX_EXACT || x < -MAX_EXACT) {
      const b = BigInt.asIntN(128, (BigInt(w3) << 96n) | (BigInt(w2) << 64n) | (BigInt(w1) << 32n) | BigInt(w0));
      values[k] = Number(b);
      (exact ??= new Array<bigint | undefined>(n))[k] = b;
    }
  }
  return exact !== undefined ? { kind: 'num', type, values, valid, exact } : { kind: 'num', type, values, valid };
}

export { arrowTypeOf };

function validityBitmap(valid: Uint8Array | null, n: number): { bitmap: Uint8Array | undefined; nullCount: number } {
  if (valid === null) return { bitmap: undefined, nullCount: 0 };
  const bitmap = new Uint8Array(((n + 63) & ~63) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i] === 1) bitmap[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return nulls === 0 ? { bitmap: undefined, nullCount: 0 } : { bitmap, nullCount: nulls };
}

function writeInt128(w: Uint32Array, i: number, v: number): void {
  const neg = v < 0;
  let a = Math.abs(v);
  let w0 = a % TWO32;
  a = Math.floor(a / TWO32);
  let w1 = a % TWO32;
  let w2 = Math.floor(a / TWO32) % TWO32;
  let w3 = 0;
  if (neg) {
    w0 = (~w0 >>> 0) + 1; w1 = ~w1 >>> 0; w2 = ~w2 >>> 0; w3 = 0xffffffff;
    if (w0 === TWO32) { w0 = 0; w1 = (w1 + 1) >>> 0; if (w1 === 0) { w2 = (w2 + 1) >>> 0; if (w2 === 0) w3 = (w3 + 1) >>> 0; } }
  }
  w[i * 4] = w0; w[i * 4 + 1] = w1; w[i * 4 + 2] = w2; w[i * 4 + 3] = w3;
}

function writeInt128Big(w: Uint32Array, i: number, v: bigint): void {
  const u = BigInt.asUintN(128, v);
  w[i * 4] = Number(u & 0xffffffffn);
  w[i * 4 + 1] = Number((u >> 32n) & 0xffffffffn);
  w[i * 4 + 2] = Number((u >> 64n) & 0xffffffffn);
  w[i * 4 + 3] = Number((u >> 96n) & 0xffffffffn);
}

/** Builds the Arrow Data of a vector, typed as `t`. */
export function toArrowData(v: Vector, t: SqlType): arrow.Data {
  const n = v.values.length;
  const { bitmap, nullCount } = validityBitmap(v.valid, n);
  const type = arrowTypeOf(t);
  if (v.kind === 'str' || v.kind === 'bin') {
    const offsets = new Int32Array(n + 1);
    let bytes: Uint8Array;
    if (v.kind === 'str') {
      const parts = v.values as readonly string[];
      const joined = Buffer.from(parts.join(''), 'utf8');
      // Offsets need byte lengths; ASCII strings (the common case) have byte length = length.
      if (joined.length === parts.reduce((s, x) => s + x.length, 0)) {
        let o = 0;
        for (let i = 0; i < n; i++) { offsets[i] = o; o += parts[i]!.length; }
        offsets[n] = o;
      } else {
        let o = 0;
        for (let i = 0; i < n; i++) { offsets[i] = o; o += Buffer.byteLength(parts[i]!, 'utf8'); }
        offsets[n] = o;
      }
      bytes = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
    } else {
      const parts = v.values as readonly Uint8Array[];
      let total = 0;
      for (const p of parts) total += p.length;
      bytes = new Uint8Array(total);
      let o = 0;
      for (let i = 0; i < n; i++) { offsets[i] = o; bytes.set(parts[i]!, o); o += parts[i]!.length; }
      offsets[n] = o;
    }
    return arrow.makeData({ type: type as arrow.Utf8, length: n, nullCount, nullBitmap: bitmap ?? null, valueOffsets: offsets, data: bytes });
  }
  assert(v.kind === 'num', 'numeric vector expected for a fixed-width Arrow type');
  const src = v.values;
  let data: ArrayBufferView;
  switch (t.type) {
    case 'bool': {
      const bits = new Uint8Array(((n + 63) & ~63) >> 3);
      for (let i = 0; i < n; i++) if (src[i] !== 0) bits[i >> 3]! |= 1 << (i & 7);
      data = bits; break;
    }
    case 'int8': data = Int8Array.from(src); break;
    case 'int16': data = Int16Array.from(src); break;
    case 'int32': case 'date': data = Int32Array.from(src); break;
    case 'float': data = Float32Array.from(src); break;
    case 'double': data = Float64Array.from(src); break;
    case 'int64': case 'timestamp': {
      const out = new BigInt64Array(n);
      const ex = v.exact;
      for (let i = 0; i < n; i++) {
        const e = ex?.[i];
        out[i] = e !== undefined ? e : Number.isFinite(src[i]!) ? BigInt(Math.round(src[i]!)) : 0n;
      }
      data = out; break;
    }
    case 'decimal': {
      const w = new Uint32Array(n * 4);
      const ex = v.exact;
      for (let i = 0; i < n; i++) {
        const e = ex?.[i];
        if (e !== undefined) writeInt128Big(w, i, e);
        else writeInt128(w, i, Number.isFinite(src[i]!) ? Math.round(src[i]!) : 0);
      }
      data = w; break;
    }
    case 'string': case 'binary':
      throw new Error('unreachable');
  }
  return arrow.makeData({ type: type as arrow.Int32, length: n, nullCount, nullBitmap: bitmap ?? null, data: data as Int32Array });
}

export function emptyVector(t: SqlType): Vector {
  const k = vectorKindOf(t.type);
  if (k === 'str') return { kind: 'str', type: t, values: [], valid: null };
  if (k === 'bin') return { kind: 'bin', type: t, values: [], valid: null };
  return { kind: 'num', type: t, values: new Float64Array(0), valid: null };
}

/** Picks rows by index (a selection vector); -1 gives NULL (outer joins). */
export function gather(v: Vector, sel: Int32Array | Uint32Array, n = sel.length): Vector {
  let valid: Uint8Array | null = null;
  const src = v.valid;
  let hasNeg = false;
  for (let i = 0; i < n; i++) if ((sel[i]! | 0) < 0) { hasNeg = true; break; }
  if (src !== null || hasNeg) {
    valid = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = sel[i]! | 0;
      valid[i] = k < 0 ? 0 : src === null ? 1 : src[k]!;
    }
  }
  if (v.kind === 'num') {
    const out = new Float64Array(n);
    const vals = v.values;
    for (let i = 0; i < n; i++) { const k = sel[i]! | 0; out[i] = k < 0 ? 0 : vals[k]!; }
    if (v.exact !== undefined) {
      const ex = v.exact;
      const exOut: (bigint | undefined)[] = new Array<bigint | undefined>(n);
      for (let i = 0; i < n; i++) { const k = sel[i]! | 0; exOut[i] = k < 0 ? undefined : ex[k]; }
      return { kind: 'num', type: v.type, values: out, valid, exact: exOut };
    }
    return { kind: 'num', type: v.type, values: out, valid };
  }
  if (v.kind === 'str') {
    const out: string[] = new Array<string>(n);
    const vals = v.values;
    for (let i = 0; i < n; i++) { const k = sel[i]! | 0; out[i] = k < 0 ? '' : vals[k]!; }
    return { kind: 'str', type: v.type, values: out, valid };
  }
  const out: Uint8Array[] = new Array<Uint8Array>(n);
  const vals = v.values;
  const empty = new Uint8Array(0);
  for (let i = 0; i < n; i++) { const k = sel[i]! | 0; out[i] = k < 0 ? empty : vals[k]!; }
  return { kind: 'bin', type: v.type, values: out, valid };
}

export function gatherChunk(c: Chunk, sel: Int32Array | Uint32Array, n = sel.length): Chunk {
  return { columns: c.columns.map((v) => gather(v, sel, n)), length: n };
}

export function concatVectors(parts: readonly Vector[], t: SqlType): Vector {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  let anyNull = false;
  let anyExact = false;
  for (const p of parts) {
    n += p.values.length;
    if (p.valid !== null) anyNull = true;
    if (p.kind === 'num' && p.exact !== undefined) anyExact = true;
  }
  let valid: Uint8Array | null = null;
  if (anyNull) {
    valid = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      if (p.valid === null) valid.fill(1, o, o + p.values.length);
      else valid.set(p.valid, o);
      o += p.values.length;
    }
  }
  const k = vectorKindOf(t.type);
  if (k === 'num') {
    const out = new Float64Array(n);
    let o = 0;
    let exact: (bigint | undefined)[] | undefined;
    if (anyExact) exact = new Array<bigint | undefined>(n);
    for (const p of parts) {
      assert(p.kind === 'num', 'concat of mixed vector kinds');
      out.set(p.values, o);
      if (exact !== undefined && p.exact !== undefined) for (let i = 0; i < p.values.length; i++) exact[o + i] = p.exact[i];
      o += p.values.length;
    }
    return exact !== undefined ? { kind: 'num', type: t, values: out, valid, exact } : { kind: 'num', type: t, values: out, valid };
  }
  const out: unknown[] = [];
  for (const p of parts) for (const x of p.values) out.push(x);
  return k === 'str'
    ? { kind: 'str', type: t, values: out as string[], valid }
    : { kind: 'bin', type: t, values: out as Uint8Array[], valid };
}

export function concatChunks(chunks: readonly Chunk[], types: readonly SqlType[]): Chunk {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.length === 0) return { columns: types.map(emptyVector), length: 0 };
  let n = 0;
  for (const c of chunks) n += c.length;
  return { columns: types.map((t, i) => concatVectors(chunks.map((c) => c.columns[i]!), t)), length: n };
}

/** One cell as an API Value (result rows, DML). */
export function cellValue(v: Vector, i: number): Value {
  if (v.valid !== null && v.valid[i] !== 1) return null;
  if (v.kind === 'str') return v.values[i]!;
  if (v.kind === 'bin') return v.values[i]!;
  const x = v.values[i]!;
  switch (v.type.type) {
    case 'bool': return x !== 0;
    case 'int64': case 'decimal': {
      const e = v.exact?.[i];
      return e !== undefined ? e : BigInt(Math.round(x));
    }
    default: return x;
  }
}

/** Builds a vector from API values (literal rows, VALUES lists). */
export function vectorFromValues(values: readonly Value[], t: SqlType): Vector {
  const n = values.length;
  let valid: Uint8Array | null = null;
  for (let i = 0; i < n; i++) if (values[i] === null || values[i] === undefined) { valid = new Uint8Array(n).fill(1); break; }
  const k = vectorKindOf(t.type);
  if (valid !== null) for (let i = 0; i < n; i++) if (values[i] === null || values[i] === undefined) valid[i] = 0;
  if (k === 'str') return { kind: 'str', type: t, values: values.map((x) => (x === null || x === undefined ? '' : String(x))), valid };
  if (k === 'bin') return { kind: 'bin', type: t, values: values.map((x) => (x instanceof Uint8Array ? x : new Uint8Array(0))), valid };
  const out = new Float64Array(n);
  let exact: (bigint | undefined)[] | undefined;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (typeof x === 'number') out[i] = x;
    else if (typeof x === 'boolean') out[i] = x ? 1 : 0;
    else if (typeof x === 'bigint') {
      out[i] = Number(x);
      if (x > 9007199254740991n || x < -9007199254740991n) { exact ??= new Array<bigint | undefined>(n); exact[i] = x; }
    }
  }
  return exact !== undefined ? { kind: 'num', type: t, values: out, valid, exact } : { kind: 'num', type: t, values: out, valid };
}

export function chunkToRecordBatch(c: Chunk, schema: arrow.Schema, types: readonly SqlType[]): arrow.RecordBatch {
  const children = c.columns.map((v, i) => toArrowData(v, types[i]!));
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: c.length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}
