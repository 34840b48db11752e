import { SaigaError } from '../common/errors.js';
import type { Column } from './column.js';
import { makeColumn } from './column.js';
import { decimalSetBigInt, decimalSetDouble, divRoundHalfAway, MAX_SAFE, pow10, pow10n } from './decimal.js';
import { readNumeric } from './numeric-input.js';
import { compact } from './take.js';
import { negate } from './arith.js';
import { filterCompare } from './filter.js';
import { scalar } from './column.js';
import { takeFrom } from './take.js';
import { cast } from './cast.js';

/** Math kernels. NULL in, NULL out; integer inputs stay exact. */

function requireNumeric(col: Column, fn: string): void {
  if (col.type === 'string' || col.type === 'binary' || col.type === 'date' || col.type === 'timestamp' || col.type === 'bool') {
    throw new SaigaError('InvalidArgument', `${fn} expects a number, found ${col.type}`);
  }
}

function validOut(v: Uint8Array | null, n: number): Uint8Array | null {
  return v === null ? null : v.slice(0, (n + 7) >> 3);
}

/** ABS: double/float/decimal/int64 keep their type; int8/16/32 widen to int64 (like unary minus). */
export function abs(col: Column, sel: Int32Array | null): Column {
  requireNumeric(col, 'ABS');
  let c = compact(col, sel);
  if (c.type === 'int8' || c.type === 'int16' || c.type === 'int32') c = cast(c, { type: 'int64', precision: 0, scale: 0 }, null);
  const neg = filterCompare(c, '<', scalar('int32', 0), null);
  if (neg.length === 0) return c;
  const negated = negate(c, null);
  const which = new Int32Array(c.length);
  const rows = new Int32Array(c.length);
  for (let i = 0; i < c.length; i++) rows[i] = i;
  for (let k = 0; k < neg.length; k++) which[neg[k] as number] = 1;
  return takeFrom([c, negated], which, rows, c.type, c.precision, c.scale);
}

type RoundMode = 'round' | 'floor' | 'ceil' | 'truncate';

function roundDouble(x: number, mode: RoundMode): number {
  switch (mode) {
    case 'round': return x < 0 ? -Math.round(-x) : Math.round(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    case 'truncate': return Math.trunc(x);
  }
}

function roundBig(v: bigint, div: bigint, mode: RoundMode): bigint {
  switch (mode) {
    case 'round': return divRoundHalfAway(v, div);
    case 'truncate': return v / div;
    case 'floor': { const q = v / div; return v % div !== 0n && v < 0n ? q - 1n : q; }
    case 'ceil': { const q = v / div; return v % div !== 0n && v > 0n ? q + 1n : q; }
  }
}

function roundGeneric(col: Column, digits: number, sel: Int32Array | null, mode: RoundMode): Column {
  requireNumeric(col, mode.toUpperCase());
  if (col.type === 'double' || col.type === 'float') {
    const inp = readNumeric(col, sel, 'double');
    const n = inp.vals.length;
    const out = new Float64Array(n);
    const f = pow10(Math.abs(digits));
    for (let i = 0; i < n; i++) {
      const x = inp.vals[i] as number;
      out[i] = digits >= 0 ? roundDouble(x * f, mode) / f : roundDouble(x / f, mode) * f;
    }
    return makeColumn('double', n, out, validOut(inp.valid, n));
  }
  if (col.type !== 'decimal') {
    if (digits >= 0) return compact(col, sel);
    // Ints with negative digits round to tens/hundreds through the decimal path below.
  }
  // Decimal (or int with negative digits): result scale = max(0, min(digits, scale)).
  const inp = readNumeric(col, sel, 'unscaled');
  const n = inp.vals.length;
  const s = col.type === 'decimal' ? col.scale : 0;
  const outScale = Math.max(0, Math.min(digits, s));
  const drop = s - digits; // digits to remove (may be <= 0: nothing to do)
  const out = new Uint32Array(n * 4);
  const w = new Int32Array(out.buffer);
  const precision = col.type === 'decimal' ? Math.min(38, col.precision - s + outScale + 1) : 20;
  for (let i = 0; i < n; i++) {
    if (inp.valid !== null && ((inp.valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const u = inp.vals[i] as number;
    if (drop <= 0) {
      if (u === u) decimalSetDouble(w, i, u); else decimalSetBigInt(w, i, inp.big(i));
      continue;
    }
    // Remove `drop` digits, then scale back up to outScale (negative digits keep zeros).
    const up = s - drop < outScale ? outScale - (s - drop) : 0;
    if (u === u && drop <= 22) {
      const q = roundDouble(u / pow10(drop), mode) * pow10(up);
      if (Math.abs(q) <= MAX_SAFE) { decimalSetDouble(w, i, q === 0 ? 0 : q); continue; }
    }
    decimalSetBigInt(w, i, roundBig(inp.big(i), pow10n(drop), mode) * pow10n(up));
  }
  const dec = makeColumn('decimal', n, out, validOut(inp.valid, n), Math.max(precision, 1), outScale);
  if (col.type !== 'decimal') {
    // Back to int64 for integer inputs.
    const o = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const k = i << 2;
      o[i] = BigInt.asIntN(64, (BigInt(w[k + 1] as number) << 32n) | BigInt((w[k] as number) >>> 0));
    }
    return makeColumn('int64', n, o, dec.validity);
  }
  return dec;
}

/** ROUND(x, digits): half away from zero; decimal result scale = clamp(digits, 0, scale). */
export function round(col: Column, digits: number, sel: Int32Array | null): Column {
  return roundGeneric(col, digits, sel, 'round');
}

/** TRUNCATE(x, digits). */
export function truncate(col: Column, digits: number, sel: Int32Array | null): Column {
  return roundGeneric(col, digits, sel, 'truncate');
}

/** FLOOR(x): double -> double, decimal -> decimal(p, 0), ints unchanged. */
export function floor(col: Column, sel: Int32Array | null): Column {
  return roundGeneric(col, 0, sel, 'floor');
}

/** CEIL(x): double -> double, decimal -> decimal(p, 0), ints unchanged. */
export function ceil(col: Column, sel: Int32Array | null): Column {
  return roundGeneric(col, 0, sel, 'ceil');
}
