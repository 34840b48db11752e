/**
 * Decimal128 helpers. A decimal value is stored as 4 little-endian 32-bit words (two's
 * complement) holding the unscaled integer; value = unscaled / 10^scale.
 * Hot loops read the unscaled value as a double when it is exactly representable
 * (|v| < 2^53) and fall back to bigint otherwise.
 */

export const TWO_32 = 4294967296;
export const MAX_SAFE = 9007199254740991;

/** 10^i as doubles, exact up to 10^22. */
export const POW10: Float64Array = (() => {
  const p = new Float64Array(39);
  let v = 1;
  for (let i = 0; i < p.length; i++) { p[i] = v; v *= 10; }
  return p;
})();

const POW10N: bigint[] = [];
{
  let v = 1n;
  for (let i = 0; i <= 76; i++) { POW10N.push(v); v *= 10n; }
}
export function pow10n(i: number): bigint {
  const v = POW10N[i];
  if (v === undefined) throw new RangeError(`10^${i} out of range`);
  return v;
}

export function pow10(i: number): number {
  return POW10[i] ?? 10 ** i;
}

/**
 * Unscaled value at row i as a double, or NaN when it is not exactly representable
 * (caller then uses decimalBigIntAt). `w` is an Int32Array view over the 4-word values.
 */
export function decimalDoubleAt(w: Int32Array, i: number): number {
  const k = i << 2;
  const hi = w[k + 1] as number;
  const sign = hi >> 31;
  if (w[k + 2] !== sign || w[k + 3] !== sign || hi <= -2097152 || hi >= 2097152) return NaN;
  return hi * TWO_32 + ((w[k] as number) >>> 0);
}

export function decimalBigIntAt(w: Int32Array, i: number): bigint {
  const k = i << 2;
  const u = (BigInt((w[k + 3] as number) >>> 0) << 96n) | (BigInt((w[k + 2] as number) >>> 0) << 64n)
    | (BigInt((w[k + 1] as number) >>> 0) << 32n) | BigInt((w[k] as number) >>> 0);
  return BigInt.asIntN(128, u);
}

/** Writes an integral double with |v| <= 2^53 into the 4 words at row i. */
export function decimalSetDouble(w: Int32Array, i: number, v: number): void {
  const k = i << 2;
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  w[k] = lo | 0;
  w[k + 1] = hi | 0;
  const s = hi < 0 ? -1 : 0;
  w[k + 2] = s;
  w[k + 3] = s;
}

export function decimalSetBigInt(w: Int32Array, i: number, v: bigint): void {
  const k = i << 2;
  const u = BigInt.asUintN(128, v);
  w[k] = Number(u & 0xffffffffn) | 0;
  w[k + 1] = Number((u >> 32n) & 0xffffffffn) | 0;
  w[k + 2] = Number((u >> 64n) & 0xffffffffn) | 0;
  w[k + 3] = Number((u >> 96n) & 0xffffffffn) | 0;
}

/** Largest unscaled magnitude for a precision, as bigint. */
export function maxUnscaled(precision: number): bigint {
  return pow10n(precision) - 1n;
}

/** Rounds a/b to an integer, half away from zero (MySQL). b != 0. */
export function divRoundHalfAway(a: bigint, b: bigint): bigint {
  const neg = (a < 0n) !== (b < 0n);
  const aa = a < 0n ? -a : a;
  const bb = b < 0n ? -b : b;
  let q = aa / bb;
  const r = aa - q * bb;
  if (r * 2n >= bb) q += 1n;
  return neg ? -q : q;
}

/** Rescales an unscaled bigint from scale `from` to scale `to`, rounding half away from zero. */
export function rescaleBigInt(v: bigint, from: number, to: number): bigint {
  if (to >= from) return v * pow10n(to - from);
  return divRoundHalfAway(v, pow10n(from - to));
}

/** Parses a decimal literal ("-12.345", "1e3") into an unscaled bigint at the given scale (rounded). */
export function parseDecimal(text: string, scale: number): bigint | null {
  const m = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (m === null || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return null;
  const neg = m[1] === '-';
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  let digits = BigInt((intPart + frac) === '' ? '0' : intPart + frac);
  const srcScale = frac.length - exp;
  if (srcScale < 0) digits *= pow10n(-srcScale);
  const v = rescaleBigInt(digits, Math.max(srcScale, 0), scale);
  return neg ? -v : v;
}

/** Formats an unscaled value as a decimal string with exactly `scale` fraction digits. */
export function formatDecimal(v: bigint, scale: number): string {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
  }
  return neg ? `-${s}` : s;
}

/** Unscaled bigint of a JS number at a scale, rounded half away from zero (via its shortest decimal text). */
export function decimalFromNumber(x: number, scale: number): bigint | null {
  if (!Number.isFinite(x)) return null;
  return parseDecimal(String(x), scale);
}
