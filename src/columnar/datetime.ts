/**
 * Calendar arithmetic on DateDay (days since 1970-01-01) and µs timestamps, proleptic
 * Gregorian, UTC (Howard Hinnant's civil-from-days algorithms). Pure integer math.
 */

export const US_PER_DAY = 86_400_000_000;

/** Days since epoch of a civil date (month 1..12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Writes [year, month, day] of a day number into out. */
export function civilFromDays(z: number, out: Int32Array): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = m <= 2 ? y + 1 : y;
  out[1] = m;
  out[2] = d;
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
}

const tmp = new Int32Array(3);

/** Adds months to a day number, clamping the day to the target month's end (MySQL DATE_ADD). */
export function addMonthsToDays(days: number, months: number): number {
  civilFromDays(days, tmp);
  const total = (tmp[0] as number) * 12 + ((tmp[1] as number) - 1) + months;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  const d = Math.min(tmp[2] as number, daysInMonth(y, m));
  return daysFromCivil(y, m, d);
}

function pad(n: number, w: number): string {
  const s = String(Math.abs(n)).padStart(w, '0');
  return n < 0 ? `-${s}` : s;
}

export function formatDate(days: number): string {
  civilFromDays(days, tmp);
  return `${pad(tmp[0] as number, 4)}-${pad(tmp[1] as number, 2)}-${pad(tmp[2] as number, 2)}`;
}

/** 'YYYY-MM-DD hh:mm:ss' plus '.ffffff' when there are microseconds. */
export function formatTimestamp(us: number): string {
  const days = Math.floor(us / US_PER_DAY);
  let rest = us - days * US_PER_DAY;
  const h = Math.floor(rest / 3_600_000_000); rest -= h * 3_600_000_000;
  const mi = Math.floor(rest / 60_000_000); rest -= mi * 60_000_000;
  const s = Math.floor(rest / 1_000_000); rest -= s * 1_000_000;
  const base = `${formatDate(days)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return rest === 0 ? base : `${base}.${pad(rest, 6)}`;
}

/** Parses 'YYYY-MM-DD' (optionally followed by a time, ignored); null when invalid. */
export function parseDate(text: string): number | null {
  const m = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?\s*$/.exec(text);
  if (m === null) return null;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return daysFromCivil(y, mo, d);
}

/** Parses 'YYYY-MM-DD[ T]hh:mm:ss[.ffffff]' (UTC) into µs; null when invalid. */
export function parseTimestamp(text: string): number | null {
  const m = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?\s*Z?\s*$/.exec(text);
  if (m === null) return null;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  const h = Number(m[4] ?? 0), mi = Number(m[5] ?? 0), s = Number(m[6] ?? 0);
  if (h > 23 || mi > 59 || s > 59) return null;
  const frac = Number((m[7] ?? '').padEnd(6, '0') || '0');
  return daysFromCivil(y, mo, d) * US_PER_DAY + ((h * 60 + mi) * 60 + s) * 1_000_000 + frac;
}
