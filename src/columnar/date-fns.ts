import { SaigaError } from '../common/errors.js';
import type { Column } from './column.js';
import { makeColumn } from './column.js';
import { addMonthsToDays, civilFromDays, daysFromCivil, US_PER_DAY } from './datetime.js';
import { readNumeric } from './numeric-input.js';

/** Date/time kernels over DateDay (days) and timestamp (µs) columns. NULL in, NULL out. */

export type DateField = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'quarter' | 'dayofweek' | 'dayofyear';
export type IntervalUnit = 'microsecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

function requireTemporal(col: Column, fn: string): void {
  if (col.type !== 'date' && col.type !== 'timestamp') throw new SaigaError('InvalidArgument', `${fn} expects a date or timestamp, found ${col.type}`);
}

function validOut(v: Uint8Array | null, n: number): Uint8Array | null {
  return v === null ? null : v.slice(0, (n + 7) >> 3);
}

/** EXTRACT(field FROM col) as int32 (MySQL: DAYOFWEEK 1 = Sunday). */
export function extract(field: DateField, col: Column, sel: Int32Array | null): Column {
  requireTemporal(col, 'EXTRACT');
  const inp = readNumeric(col, sel, 'double');
  const n = inp.vals.length;
  const out = new Int32Array(n);
  const ymd = new Int32Array(3);
  const ts = col.type === 'timestamp';
  for (let i = 0; i < n; i++) {
    if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const x = inp.vals[i] as number;
    const days = ts ? Math.floor(x / US_PER_DAY) : x;
    const us = ts ? x - days * US_PER_DAY : 0;
    switch (field) {
      case 'hour': out[i] = Math.floor(us / 3_600_000_000); continue;
      case 'minute': out[i] = Math.floor(us / 60_000_000) % 60; continue;
      case 'second': out[i] = Math.floor(us / 1_000_000) % 60; continue;
      case 'dayofweek': out[i] = ((((days + 4) % 7) + 7) % 7) + 1; continue;
      default: break;
    }
    civilFromDays(days, ymd);
    switch (field) {
      case 'year': out[i] = ymd[0] as number; break;
      case 'month': out[i] = ymd[1] as number; break;
      case 'day': out[i] = ymd[2] as number; break;
      case 'quarter': out[i] = Math.floor(((ymd[1] as number) - 1) / 3) + 1; break;
      case 'dayofyear': out[i] = days - daysFromCivil(ymd[0] as number, 1, 1) + 1; break;
    }
  }
  return makeColumn('int32', n, out, validOut(inp.valid, n));
}

/**
 * col + INTERVAL amount unit (negative amount subtracts). Month-based units clamp the day to the
 * target month's end (MySQL). A date plus a sub-day unit becomes a timestamp.
 */
export function addInterval(col: Column, amount: number, unit: IntervalUnit, sel: Int32Array | null): Column {
  requireTemporal(col, 'DATE_ADD');
  const inp = readNumeric(col, sel, 'double');
  const n = inp.vals.length;
  const monthBased = unit === 'month' || unit === 'quarter' || unit === 'year';
  const months = unit === 'year' ? amount * 12 : unit === 'quarter' ? amount * 3 : amount;
  const subDay = unit === 'microsecond' || unit === 'second' || unit === 'minute' || unit === 'hour';
  const usDelta = unit === 'microsecond' ? amount : unit === 'second' ? amount * 1e6 : unit === 'minute' ? amount * 6e7
    : unit === 'hour' ? amount * 3.6e9 : unit === 'week' ? amount * 7 * US_PER_DAY : amount * US_PER_DAY;
  const dayDelta = unit === 'week' ? amount * 7 : amount;
  if (col.type === 'date' && !subDay) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = inp.vals[i] as number;
      out[i] = monthBased ? addMonthsToDays(d, months) : d + dayDelta;
    }
    return makeColumn('date', n, out, validOut(inp.valid, n));
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const us = col.type === 'date' ? (inp.vals[i] as number) * US_PER_DAY : (inp.vals[i] as number);
    if (monthBased) {
      const days = Math.floor(us / US_PER_DAY);
      out[i] = BigInt(addMonthsToDays(days, months) * US_PER_DAY + (us - days * US_PER_DAY));
    } else out[i] = BigInt(us + usDelta);
  }
  return makeColumn('timestamp', n, out, validOut(inp.valid, n));
}

/** DATEDIFF(a, b) = days(a) - days(b) as int64 (time of day ignored). */
export function dateDiff(a: Column, b: Column, sel: Int32Array | null): Column {
  requireTemporal(a, 'DATEDIFF');
  requireTemporal(b, 'DATEDIFF');
  const A = readNumeric(a, sel, 'double'), B = readNumeric(b, sel, 'double');
  const n = A.vals.length;
  const out = new BigInt64Array(n);
  const w = new Int32Array(out.buffer);
  let valid: Uint8Array | null = null;
  if (A.valid !== null || B.valid !== null) {
    valid = new Uint8Array((n + 7) >> 3);
    for (let k = 0; k < valid.length; k++) valid[k] = (A.valid?.[k] ?? 255) & (B.valid?.[k] ?? 255);
  }
  for (let i = 0; i < n; i++) {
    const da = a.type === 'timestamp' ? Math.floor((A.vals[i] as number) / US_PER_DAY) : (A.vals[i] as number);
    const db = b.type === 'timestamp' ? Math.floor((B.vals[i] as number) / US_PER_DAY) : (B.vals[i] as number);
    const d = da - db;
    w[i << 1] = d | 0;
    w[(i << 1) + 1] = d < 0 ? -1 : 0;
  }
  return makeColumn('int64', n, out, valid);
}
