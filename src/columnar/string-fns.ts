import { SaigaError } from '../common/errors.js';
import type { Column } from './column.js';
import { bitmapBytes, makeColumn, textDecoder, textEncoder, VarBinaryBuilder } from './column.js';
import type { Operand } from './numeric-input.js';
import { isColumn } from './numeric-input.js';
import { bytesOf } from './scalar-convert.js';

/**
 * String kernels over UTF-8 bytes (offsets + data). Character positions count UTF-8 code
 * points; rows that are pure ASCII take a byte fast path. NULL in, NULL out.
 */

function requireBytes(col: Column, fn: string): void {
  if (col.type !== 'string' && col.type !== 'binary') throw new SaigaError('InvalidArgument', `${fn} expects a string, found ${col.type}`);
}

function isCont(b: number): boolean {
  return (b & 0xc0) === 0x80;
}

/** Byte offset of the char-th code point (0-based) in d[s, e), or e if past the end. */
function charOffset(d: Uint8Array, s: number, e: number, char: number): number {
  let p = s;
  for (let c = 0; c < char && p < e; c++) { p++; while (p < e && isCont(d[p] as number)) p++; }
  return p;
}

function charCount(d: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let p = s; p < e; p++) if (!isCont(d[p] as number)) n++;
  return n;
}

function rowAt(sel: Int32Array | null, i: number): number {
  return sel === null ? i : (sel[i] as number);
}

function validAt(v: Uint8Array | null, r: number): boolean {
  return v === null || ((v[r >> 3] as number) & (1 << (r & 7))) !== 0;
}

/** Applies fn(bytes, s, e, builder) to each non-NULL row. */
function mapBytes(col: Column, sel: Int32Array | null, fn: (d: Uint8Array, s: number, e: number, b: VarBinaryBuilder) => void): Column {
  const n = sel === null ? col.length : sel.length;
  const b = new VarBinaryBuilder(n, (col.data?.length ?? 0) + 16);
  const o = col.offsets as Int32Array, d = col.data as Uint8Array, v = col.validity;
  for (let i = 0; i < n; i++) {
    const r = rowAt(sel, i);
    if (!validAt(v, r)) { b.appendNull(); continue; }
    fn(d, o[r] as number, o[r + 1] as number, b);
  }
  return b.finish(col.type as 'string' | 'binary');
}

/** SUBSTRING(str, pos [, len]) with MySQL rules: 1-based pos, negative pos counts from the end, pos 0 -> ''. */
export function substring(col: Column, pos: number, len: number | null, sel: Int32Array | null): Column {
  requireBytes(col, 'SUBSTRING');
  return mapBytes(col, sel, (d, s, e, b) => {
    if (pos === 0 || (len !== null && len <= 0)) { b.appendBytes(d, s, s); return; }
    const chars = col.type === 'binary' ? e - s : charCount(d, s, e);
    const start = pos > 0 ? pos - 1 : chars + pos;
    if (start < 0 || start >= chars) { b.appendBytes(d, s, s); return; }
    const end = len === null ? chars : Math.min(chars, start + len);
    if (col.type === 'binary' || chars === e - s) b.appendBytes(d, s + start, s + end);
    else { const bs = charOffset(d, s, e, start); b.appendBytes(d, bs, charOffset(d, bs, e, end - start)); }
  });
}

function changeCase(col: Column, sel: Int32Array | null, upper: boolean): Column {
  requireBytes(col, upper ? 'UPPER' : 'LOWER');
  const lo = upper ? 97 : 65, hi = upper ? 122 : 90, delta = upper ? -32 : 32;
  return mapBytes(col, sel, (d, s, e, b) => {
    let ascii = true;
    for (let p = s; p < e; p++) if ((d[p] as number) >= 0x80) { ascii = false; break; }
    if (!ascii || col.type === 'binary') {
      if (col.type === 'binary') { b.appendBytes(d, s, e); return; }
      const t = textDecoder.decode(d.subarray(s, e));
      b.appendString(upper ? t.toUpperCase() : t.toLowerCase());
      return;
    }
    const out = b.reserve(e - s);
    const at = b.byteLength;
    for (let p = s; p < e; p++) {
      const c = d[p] as number;
      out[at + p - s] = c >= lo && c <= hi ? c + delta : c;
    }
    b.commitRow(e - s);
  });
}

export function upper(col: Column, sel: Int32Array | null): Column { return changeCase(col, sel, true); }
export function lower(col: Column, sel: Int32Array | null): Column { return changeCase(col, sel, false); }

function int64Lengths(col: Column, sel: Int32Array | null, count: (d: Uint8Array, s: number, e: number) => number): Column {
  const n = sel === null ? col.length : sel.length;
  const out = new BigInt64Array(n);
  const w = new Int32Array(out.buffer);
  const o = col.offsets as Int32Array, d = col.data as Uint8Array, v = col.validity;
  let validity: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const r = rowAt(sel, i);
    if (!validAt(v, r)) {
      if (validity === null) validity = new Uint8Array(bitmapBytes(n)).fill(255);
      validity[i >> 3] = (validity[i >> 3] as number) & ~(1 << (i & 7));
      continue;
    }
    w[i << 1] = count(d, o[r] as number, o[r + 1] as number);
  }
  return makeColumn('int64', n, out, validity);
}

/** LENGTH / OCTET_LENGTH: bytes (int64). */
export function byteLength(col: Column, sel: Int32Array | null): Column {
  requireBytes(col, 'LENGTH');
  return int64Lengths(col, sel, (_d, s, e) => e - s);
}

/** CHAR_LENGTH: code points (int64). */
export function charLength(col: Column, sel: Int32Array | null): Column {
  requireBytes(col, 'CHAR_LENGTH');
  return int64Lengths(col, sel, (d, s, e) => (col.type === 'binary' ? e - s : charCount(d, s, e)));
}

/** CONCAT(args...) of string columns/constants; NULL if any argument is NULL. */
export function concat(args: readonly Operand[], sel: Int32Array | null): Column {
  let n = -1;
  for (const a of args) if (isColumn(a)) { requireBytes(a, 'CONCAT'); n = sel === null ? a.length : sel.length; }
  if (n < 0) throw new SaigaError('InvalidArgument', 'CONCAT over constants only: fold it first');
  const consts = args.map((a) => (isColumn(a) ? null : bytesOf(a)));
  const anyNullConst = args.some((a) => !isColumn(a) && a.value === null);
  const b = new VarBinaryBuilder(n);
  for (let i = 0; i < n; i++) {
    const r = rowAt(sel, i);
    let isNull = anyNullConst;
    let len = 0;
    for (const a of args) {
      if (!isColumn(a)) continue;
      if (!validAt(a.validity, r)) { isNull = true; break; }
      const o = a.offsets as Int32Array;
      len += (o[r + 1] as number) - (o[r] as number);
    }
    if (isNull) { b.appendNull(); continue; }
    for (const c of consts) if (c !== null) len += c.length;
    const out = b.reserve(len);
    let at = b.byteLength;
    args.forEach((a, k) => {
      if (isColumn(a)) {
        const o = a.offsets as Int32Array;
        const s = o[r] as number, e = o[r + 1] as number;
        out.set((a.data as Uint8Array).subarray(s, e), at);
        at += e - s;
      } else {
        const c = consts[k] as Uint8Array;
        out.set(c, at);
        at += c.length;
      }
    });
    b.commitRow(len);
  }
  return b.finish('string');
}

export type TrimSide = 'both' | 'leading' | 'trailing';

/** TRIM / LTRIM / RTRIM of spaces (or of a given single-byte-or-longer remove string). */
export function trim(col: Column, sel: Int32Array | null, side: TrimSide = 'both', remove = ' '): Column {
  requireBytes(col, 'TRIM');
  const rm = textEncoder.encode(remove);
  const m = rm.length;
  const at = (d: Uint8Array, p: number): boolean => {
    for (let j = 0; j < m; j++) if (d[p + j] !== rm[j]) return false;
    return true;
  };
  return mapBytes(col, sel, (d, s, e, b) => {
    if (m > 0) {
      if (side !== 'trailing') while (e - s >= m && at(d, s)) s += m;
      if (side !== 'leading') while (e - s >= m && at(d, e - m)) e -= m;
    }
    b.appendBytes(d, s, e);
  });
}
