import { SaigaError } from '../common/errors.js';

/** Calendar arithmetic on days since 1970-01-01 without Date objects (H. Hinnant's algorithms). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Returns [year, month 1-12, day 1-31]. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [m <= 2 ? y + 1 : y, m, d];
}

function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

export function addMonths(days: number, months: number): number {
  const [y, m, d] = civilFromDays(days);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = total - ny * 12 + 1;
  return daysFromCivil(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function parseDate(s: string): number {
  const m = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})/.exec(s);
  if (m === null) throw new SaigaError('InvalidArgument', `expected a date 'YYYY-MM-DD' but found '${s}'`);
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw new SaigaError('InvalidArgument', `invalid date '${s}'`);
  return daysFromCivil(y, mo, d);
}

const US_PER_DAY = 86400e6;

/** 'YYYY-MM-DD[ T]HH:MM:SS[.ffffff]' (UTC) -> µs since epoch. */
export function parseTimestamp(s: string): number {
  const m = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?\s*(Z)?\s*$/.exec(s);
  if (m === null) throw new SaigaError('InvalidArgument', `expected a timestamp 'YYYY-MM-DD HH:MM:SS' but found '${s}'`);
  const days = parseDate(`${m[1]}-${m[2]}-${m[3]}`);
  const h = Number(m[4] ?? 0), mi = Number(m[5] ?? 0), se = Number(m[6] ?? 0);
  const frac = m[7] === undefined ? 0 : Number(m[7].padEnd(6, '0'));
  return days * US_PER_DAY + ((h * 60 + mi) * 60 + se) * 1e6 + frac;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

export function formatTimestamp(us: number): string {
  const days = Math.floor(us / US_PER_DAY);
  let rem = us - days * US_PER_DAY;
  const h = Math.floor(rem / 3600e6); rem -= h * 3600e6;
  const mi = Math.floor(rem / 60e6); rem -= mi * 60e6;
  const s = Math.floor(rem / 1e6); rem -= s * 1e6;
  const base = `${formatDate(days)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return rem === 0 ? base : `${base}.${pad(Math.round(rem), 6)}`;
}

export { US_PER_DAY };
