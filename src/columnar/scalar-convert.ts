import { SaigaError } from '../common/errors.js';
import type { DataType } from '../common/types.js';
import type { Scalar } from './column.js';
import { textEncoder } from './column.js';
import { parseDecimal, pow10n } from './decimal.js';

/** An exact rational constant: num / 10^scale. */
export interface Exact {
  readonly num: bigint;
  readonly scale: number;
}

/** Exact value of a numeric-like scalar; null when the scalar is NULL or not a finite number. */
export function exactOf(s: Scalar): Exact | null {
  const v = s.value;
  if (v === null) return null;
  if (typeof v === 'bigint') return { num: v, scale: s.type === 'decimal' ? s.scale : 0 };
  if (typeof v === 'boolean') return { num: v ? 1n : 0n, scale: 0 };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      return s.type === 'decimal' ? { num: BigInt(v), scale: s.scale } : { num: BigInt(v), scale: 0 };
    }
    return parseExactText(String(v));
  }
  if (typeof v === 'string') return parseExactText(v);
  return null;
}

function parseExactText(text: string): Exact | null {
  const m = /^\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (m === null) return null;
  const frac = m[2] ?? '';
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  const scale = Math.max(0, frac.length - exp);
  const num = parseDecimal(text, scale);
  return num === null ? null : { num, scale };
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** floor(e * 10^targetScale) and whether it is exact. */
export function floorAtScale(e: Exact, targetScale: number): { floor: bigint; exact: boolean } {
  if (e.scale <= targetScale) return { floor: e.num * pow10n(targetScale - e.scale), exact: true };
  const d = pow10n(e.scale - targetScale);
  const f = floorDiv(e.num, d);
  return { floor: f, exact: f * d === e.num };
}

/** Double value of a scalar (numbers, decimals, bools, numeric strings); NaN for NULL. */
export function doubleOf(s: Scalar): number {
  const v = s.value;
  if (v === null) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') {
    if (s.type !== 'decimal' || s.scale === 0) return Number(v);
    const neg = v < 0n;
    let t = (neg ? -v : v).toString().padStart(s.scale + 1, '0');
    t = `${neg ? '-' : ''}${t.slice(0, t.length - s.scale)}.${t.slice(t.length - s.scale)}`;
    return Number(t);
  }
  if (typeof v === 'string') return Number(v);
  return NaN;
}

/** UTF-8 (string) or raw (binary) bytes of a scalar. */
export function bytesOf(s: Scalar): Uint8Array | null {
  const v = s.value;
  if (v === null) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return textEncoder.encode(v);
  return textEncoder.encode(String(v));
}

export type CompareClass = 'int' | 'float' | 'decimal' | 'bytes' | 'bool';

export function compareClass(t: DataType): CompareClass {
  switch (t) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'date': case 'timestamp': return 'int';
    case 'float': case 'double': return 'float';
    case 'decimal': return 'decimal';
    case 'string': case 'binary': return 'bytes';
    case 'bool': return 'bool';
  }
}

export function mismatch(what: string, a: DataType, b: DataType): SaigaError {
  return new SaigaError('InvalidArgument', `${what}: expected comparable types, found ${a} and ${b} (cast one side first)`);
}
