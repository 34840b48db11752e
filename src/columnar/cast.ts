import { SaigaError } from '../common/errors.js';
import type { DataType, Value } from '../common/types.js';
import type { TypeInfo } from './arith.js';
import type { Column } from './column.js';
import { allocValues, columnFromValues, columnValue, makeColumn, textDecoder, VarBinaryBuilder } from './column.js';
import { civilFromDays, formatDate, formatTimestamp, parseDate, parseTimestamp, US_PER_DAY } from './datetime.js';
import { decimalSetBigInt, decimalSetDouble, divRoundHalfAway, formatDecimal, MAX_SAFE, maxUnscaled, parseDecimal, pow10, pow10n, TWO_32 } from './decimal.js';
import { readNumeric } from './numeric-input.js';
import { compact } from './take.js';

const INT_RANGE: Partial<Record<DataType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
};

function isIntLike(t: DataType): boolean {
  return t === 'bool' || t === 'int8' || t === 'int16' || t === 'int32' || t === 'int64';
}

function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function outOfRange(to: TypeInfo, v: string): SaigaError {
  return new SaigaError('InvalidArgument', `value ${v} is out of range for ${to.type}${to.type === 'decimal' ? `(${to.precision},${to.scale})` : ''}`);
}

/**
 * CAST(col AS type) at the rows of `sel` (dense result). Numbers round half away from zero
 * (MySQL); a value outside the target range throws InvalidArgument; unparsable strings give
 * 0 for numbers and NULL for dates/timestamps (MySQL); dates cast to numbers as YYYYMMDD.
 */
export function cast(col: Column, to: TypeInfo, sel: Int32Array | null): Column {
  if (col.type === to.type && (to.type !== 'decimal' || (col.scale === to.scale && col.precision <= to.precision))) {
    const c = compact(col, sel);
    return to.type === 'decimal' ? { ...c, precision: to.precision } : c;
  }
  const n = sel === null ? col.length : sel.length;
  const srcNumeric = isIntLike(col.type) || col.type === 'decimal' || col.type === 'float' || col.type === 'double';
  if (srcNumeric && (to.type === 'double' || to.type === 'float')) {
    const inp = readNumeric(col, sel, 'double');
    const out = to.type === 'double' ? inp.vals : Float32Array.from(inp.vals);
    return makeColumn(to.type, n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3));
  }
  if (srcNumeric && col.type !== 'float' && col.type !== 'double' && (isIntLike(to.type) && to.type !== 'bool')) {
    return castToInt(col, to, sel, n);
  }
  if (srcNumeric && (col.type === 'float' || col.type === 'double') && isIntLike(to.type) && to.type !== 'bool') {
    const inp = readNumeric(col, sel, 'double');
    const out = allocValues(to.type, n);
    for (let i = 0; i < n; i++) {
      if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
      const x = roundHalfAway(inp.vals[i] as number);
      const range = INT_RANGE[to.type];
      if (range !== undefined) {
        if (!(x >= range[0] && x <= range[1])) throw outOfRange(to, String(inp.vals[i]));
        (out as Int32Array)[i] = x;
      } else {
        if (!(x >= -9223372036854775808 && x < 9223372036854775808)) throw outOfRange(to, String(inp.vals[i]));
        (out as BigInt64Array)[i] = BigInt(x);
      }
    }
    return makeColumn(to.type, n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3));
  }
  if (srcNumeric && col.type !== 'float' && col.type !== 'double' && to.type === 'decimal') {
    return castExactToDecimal(col, to, sel, n);
  }
  if (col.type === 'date' && to.type === 'timestamp') {
    const inp = readNumeric(col, sel, 'double');
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt((inp.vals[i] as number) * US_PER_DAY);
    return makeColumn('timestamp', n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3));
  }
  if (col.type === 'timestamp' && to.type === 'date') {
    const inp = readNumeric(col, sel, 'double');
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor((inp.vals[i] as number) / US_PER_DAY);
    return makeColumn('date', n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3));
  }
  if (to.type === 'string' || to.type === 'binary') return castToString(col, to.type, sel, n);
  // Generic per-row path (string sources, bool targets, date <-> number).
  const vals: Value[] = new Array<Value>(n);
  for (let i = 0; i < n; i++) vals[i] = castValue(columnValue(col, sel === null ? i : (sel[i] as number)), col, to);
  return columnFromValues(to.type, vals, to.precision, to.scale);
}

function castToInt(col: Column, to: TypeInfo, sel: Int32Array | null, n: number): Column {
  const inp = readNumeric(col, sel, 'unscaled');
  const out = allocValues(to.type, n);
  const w = out instanceof BigInt64Array ? new Int32Array(out.buffer) : null;
  const div = col.type === 'decimal' ? pow10(col.scale) : 1;
  const range = INT_RANGE[to.type];
  for (let i = 0; i < n; i++) {
    if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const u = inp.vals[i] as number;
    if (u === u) {
      const x = div === 1 ? u : roundHalfAway(u / div);
      if (range !== undefined) {
        if (x < range[0] || x > range[1]) throw outOfRange(to, String(x));
        (out as Int32Array)[i] = x;
      } else {
        const hi = Math.floor(x / TWO_32);
        (w as Int32Array)[i << 1] = (x - hi * TWO_32) | 0;
        (w as Int32Array)[(i << 1) + 1] = hi | 0;
      }
      continue;
    }
    const b = col.type === 'decimal' ? divRoundHalfAway(inp.big(i), pow10n(col.scale)) : inp.big(i);
    if (range !== undefined) throw outOfRange(to, b.toString());
    if (b >= 1n << 63n || b < -(1n << 63n)) throw outOfRange(to, b.toString());
    (out as BigInt64Array)[i] = b;
  }
  return makeColumn(to.type, n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3));
}

function castExactToDecimal(col: Column, to: TypeInfo, sel: Int32Array | null, n: number): Column {
  const inp = readNumeric(col, sel, 'unscaled');
  const out = new Uint32Array(n * 4);
  const w = new Int32Array(out.buffer);
  const from = col.type === 'decimal' ? col.scale : 0;
  const max = maxUnscaled(to.precision);
  const maxD = Number(max);
  const up = to.scale >= from ? pow10(to.scale - from) : 0;
  for (let i = 0; i < n; i++) {
    if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const u = inp.vals[i] as number;
    if (up !== 0 && u === u) {
      const r = u * up;
      if (Math.abs(r) <= MAX_SAFE) {
        if (Math.abs(r) > maxD) throw outOfRange(to, String(r));
        decimalSetDouble(w, i, r);
        continue;
      }
    }
    const b = inp.big(i);
    const r = to.scale >= from ? b * pow10n(to.scale - from) : divRoundHalfAway(b, pow10n(from - to.scale));
    if (r > max || r < -max) throw outOfRange(to, formatDecimal(r, to.scale));
    decimalSetBigInt(w, i, r);
  }
  return makeColumn('decimal', n, out, inp.valid === null ? null : inp.valid.slice(0, (n + 7) >> 3), to.precision, to.scale);
}

/** Text of a non-NULL value of a column, as MySQL prints it. */
export function formatValue(v: Value, col: { type: DataType; scale: number }): string {
  if (v === null) return 'NULL';
  switch (col.type) {
    case 'bool': return v === true ? '1' : '0';
    case 'decimal': return formatDecimal(v as bigint, col.scale);
    case 'date': return formatDate(v as number);
    case 'timestamp': return formatTimestamp(v as number);
    case 'binary': return textDecoder.decode(v as Uint8Array);
    default: return String(v);
  }
}

function castToString(col: Column, to: 'string' | 'binary', sel: Int32Array | null, n: number): Column {
  if (col.type === 'string' || col.type === 'binary') return { ...compact(col, sel), type: to };
  const b = new VarBinaryBuilder(n);
  for (let i = 0; i < n; i++) {
    const v = columnValue(col, sel === null ? i : (sel[i] as number));
    if (v === null) b.appendNull(); else b.appendString(formatValue(v, col));
  }
  return b.finish(to);
}

function dateAsNumber(days: number): number {
  const t = new Int32Array(3);
  civilFromDays(days, t);
  return (t[0] as number) * 10000 + (t[1] as number) * 100 + (t[2] as number);
}

/** Leading numeric prefix of a string (MySQL string-to-number), 0 when there is none. */
function numericPrefix(s: string): string {
  const m = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(s);
  return m === null ? '0' : m[0].trim();
}

/** Per-value CAST for the slow path. */
export function castValue(v: Value, from: { type: DataType; scale: number }, to: TypeInfo): Value {
  if (v === null) return null;
  let text: string | null = null;
  let num: number | null = null;
  switch (from.type) {
    case 'string': text = v as string; break;
    case 'binary': text = textDecoder.decode(v as Uint8Array); break;
    case 'date': num = dateAsNumber(v as number); break;
    case 'timestamp': {
      const us = v as number;
      const days = Math.floor(us / US_PER_DAY);
      const secs = Math.floor((us - days * US_PER_DAY) / 1e6);
      num = dateAsNumber(days) * 1e6 + Math.floor(secs / 3600) * 10000 + Math.floor((secs % 3600) / 60) * 100 + (secs % 60);
      break;
    }
    case 'bool': num = v === true ? 1 : 0; break;
    case 'decimal': text = formatDecimal(v as bigint, from.scale); break;
    default: num = Number(v);
  }
  switch (to.type) {
    case 'date': {
      if (text !== null) return parseDate(text);
      if (from.type === 'timestamp') return Math.floor((v as number) / US_PER_DAY);
      const x = num as number;
      return parseDate(`${Math.floor(x / 10000)}-${Math.floor(x / 100) % 100}-${x % 100}`);
    }
    case 'timestamp': {
      if (text !== null) return parseTimestamp(text);
      if (from.type === 'date') return (v as number) * US_PER_DAY;
      return null;
    }
    case 'bool': return Number(text !== null ? numericPrefix(text) : num) !== 0;
    case 'decimal': {
      const r = parseDecimal(text !== null ? numericPrefix(text) : String(num), to.scale) ?? 0n;
      const max = maxUnscaled(to.precision);
      if (r > max || r < -max) throw outOfRange(to, String(text ?? num));
      return r;
    }
    case 'float': case 'double': return Number(text !== null ? numericPrefix(text) : num);
    case 'int8': case 'int16': case 'int32': case 'int64': {
      const src = text !== null ? numericPrefix(text) : String(num);
      const d = parseDecimal(src, 0) ?? 0n;
      const range = INT_RANGE[to.type];
      if (range !== undefined && (d < BigInt(range[0]) || d > BigInt(range[1]))) throw outOfRange(to, src);
      if (d >= 1n << 63n || d < -(1n << 63n)) throw outOfRange(to, src);
      return to.type === 'int64' ? d : Number(d);
    }
    case 'string': return text ?? formatValue(v, from);
    case 'binary': return new TextEncoder().encode(text ?? formatValue(v, from));
  }
}

