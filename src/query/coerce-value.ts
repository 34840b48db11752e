import { SaigaError } from '../common/errors.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { parseDate, parseTimestamp } from './dates.js';
import type { Literal } from './prepass.js';

/**
 * Literal (as written) -> storage API value for a column. Decimals are parsed exactly from
 * their text into unscaled bigints (rounded half away from zero to the column's scale).
 */
export function decimalFromText(text: string, scale: number, column: string): bigint {
  const m = /^\s*([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*$/.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw new SaigaError('InvalidArgument', `column ${column} expects a decimal but found '${text}'`);
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let pointPos = (m[2] ?? '').length + Number(m[4] ?? 0);
  if (pointPos < 0) { digits = '0'.repeat(-pointPos) + digits; pointPos = 0; }
  const intPart = digits.slice(0, pointPos).padEnd(pointPos, '0');
  let frac = digits.slice(pointPos);
  let roundUp = false;
  if (frac.length > scale) { roundUp = Number(frac[scale]) >= 5; frac = frac.slice(0, scale); }
  frac = frac.padEnd(scale, '0');
  let v = BigInt((intPart + frac) || '0');
  if (roundUp) v += 1n;
  return m[1] === '-' ? -v : v;
}

function numericText(v: Value | string, col: ColumnSchema): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  throw new SaigaError('InvalidArgument', `column ${col.name} expects a number`);
}

/** A JS value (from SQL evaluation or a literal's text) converted to the column's API value. */
export function toColumnValue(v: Value | undefined, col: ColumnSchema): Value | undefined {
  if (v === undefined) return undefined;
  if (v === null) {
    if (!col.nullable && !col.autoIncrement) throw new SaigaError('InvalidArgument', `column '${col.name}' cannot be null`);
    return null;
  }
  switch (col.type) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') return v.toLowerCase() === 'true' || Number(v) !== 0;
      return Number(v) !== 0;
    case 'int8': case 'int16': case 'int32': {
      const x = typeof v === 'string' ? Number(v.trim()) : Number(v);
      if (!Number.isFinite(x)) throw new SaigaError('InvalidArgument', `column '${col.name}' expects an integer but found '${String(v)}'`);
      const r = Math.round(x);
      const max = col.type === 'int8' ? 127 : col.type === 'int16' ? 32767 : 2147483647;
      if (r > max || r < -max - 1) throw new SaigaError('InvalidArgument', `value ${String(v)} is out of range for column '${col.name}' (${col.type})`);
      return r;
    }
    case 'int64': {
      if (typeof v === 'bigint') return v;
      const t = numericText(v, col).trim();
      if (/^[-+]?\d+$/.test(t)) return BigInt(t);
      const x = Number(t);
      if (!Number.isFinite(x)) throw new SaigaError('InvalidArgument', `column '${col.name}' expects an integer but found '${t}'`);
      return BigInt(Math.round(x));
    }
    case 'float': case 'double': {
      const x = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
      if (Number.isNaN(x)) throw new SaigaError('InvalidArgument', `column '${col.name}' expects a number but found '${String(v)}'`);
      return x;
    }
    case 'decimal': {
      if (typeof v === 'bigint') return v * 10n ** BigInt(col.scale ?? 0);
      const r = decimalFromText(numericText(v, col), col.scale ?? 0, col.name);
      const p = col.precision ?? 38;
      if ((r < 0n ? -r : r) >= 10n ** BigInt(p)) throw new SaigaError('InvalidArgument', `value ${String(v)} is out of range for column '${col.name}' DECIMAL(${p},${col.scale ?? 0})`);
      return r;
    }
    case 'string':
      if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
      return typeof v === 'string' ? v : String(v);
    case 'binary':
      if (v instanceof Uint8Array) return v;
      return new Uint8Array(Buffer.from(String(v), 'utf8'));
    case 'date':
      if (typeof v === 'string') return parseDate(v);
      if (typeof v === 'number') return v;
      throw new SaigaError('InvalidArgument', `column '${col.name}' expects a date`);
    case 'timestamp':
      if (typeof v === 'string') return parseTimestamp(v);
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      throw new SaigaError('InvalidArgument', `column '${col.name}' expects a timestamp`);
  }
}

export function literalToValue(l: Literal, col: ColumnSchema): Value | undefined {
  switch (l.k) {
    case 'num': return toColumnValue(l.text, col);
    case 'str': return toColumnValue(l.v, col);
    case 'bool': return toColumnValue(l.v, col);
    case 'null': return toColumnValue(null, col);
    case 'default': return undefined;
    case 'date': {
      const d = parseDate(l.v);
      return col.type === 'timestamp' ? d * 86400e6 : col.type === 'string' ? l.v : toColumnValue(d, col);
    }
    case 'timestamp': return col.type === 'string' ? l.v : col.type === 'date' ? Math.floor(parseTimestamp(l.v) / 86400e6) : toColumnValue(parseTimestamp(l.v), col);
    case 'expr': throw new SaigaError('NotSupported', `expression '${l.text}' where a literal is expected`);
  }
}
