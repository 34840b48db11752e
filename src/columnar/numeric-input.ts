import { SaigaError } from '../common/errors.js';
import type { Column, Scalar } from './column.js';
import { bitmapBytes, getBit, words32 } from './column.js';
import { decimalBigIntAt, MAX_SAFE, pow10, TWO_32 } from './decimal.js';
import { exactOf, doubleOf, floorAtScale } from './scalar-convert.js';

/** A kernel argument: a column or a constant. */
export type Operand = Column | Scalar;

export function isColumn(x: Operand): x is Column {
  return (x as Column).length !== undefined && (x as Column).validity !== undefined;
}

/**
 * An operand read at a selection into dense doubles. In 'unscaled' mode integer-domain values
 * (ints, dates, decimal unscaled) are exact doubles or NaN when |v| >= 2^53 (then use big(i)).
 */
export interface NumericInput {
  readonly vals: Float64Array;
  /** Constant operand: vals has one entry, index 0 for every row. */
  readonly constant: boolean;
  /** Dense validity (bit i = output row i) or null. A NULL constant has isNull = true. */
  readonly valid: Uint8Array | null;
  readonly isNull: boolean;
  readonly scale: number;
  /** Exact unscaled value at output row i (slow path). */
  big(i: number): bigint;
}

function denseValidity(col: Column, sel: Int32Array | null, n: number): Uint8Array | null {
  const v = col.validity;
  if (v === null) return null;
  if (sel === null) return v;
  const out = new Uint8Array(bitmapBytes(n));
  for (let i = 0; i < n; i++) {
    const r = sel[i] as number;
    if (((v[r >> 3] as number) & (1 << (r & 7))) !== 0) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}

export function readNumeric(x: Operand, sel: Int32Array | null, mode: 'double' | 'unscaled'): NumericInput {
  if (!isColumn(x)) {
    const vals = new Float64Array(1);
    let big = 0n;
    const scale = x.type === 'decimal' && mode === 'unscaled' ? x.scale : 0;
    if (x.value !== null) {
      if (mode === 'double') vals[0] = doubleOf(x);
      else {
        const e = exactOf(x);
        if (e === null) throw new SaigaError('InvalidArgument', `expected a numeric constant, found ${String(x.value)}`);
        const f = floorAtScale(e, e.scale);
        big = f.floor;
        vals[0] = big >= -BigInt(MAX_SAFE) && big <= BigInt(MAX_SAFE) ? Number(big) : NaN;
        return { vals, constant: true, valid: null, isNull: false, scale: e.scale, big: () => big };
      }
    }
    return { vals, constant: true, valid: null, isNull: x.value === null, scale, big: () => big };
  }
  const col = x;
  const n = sel === null ? col.length : sel.length;
  const vals = new Float64Array(n);
  const valid = denseValidity(col, sel, n);
  let big: (i: number) => bigint = (i) => BigInt(vals[i] as number);
  let scale = 0;
  switch (col.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const v = col.values as Float64Array;
      if (sel === null) for (let i = 0; i < n; i++) vals[i] = v[i] as number;
      else for (let i = 0; i < n; i++) vals[i] = v[sel[i] as number] as number;
      break;
    }
    case 'bool': {
      const v = col.values as Uint8Array;
      for (let i = 0; i < n; i++) vals[i] = getBit(v, sel === null ? i : (sel[i] as number)) ? 1 : 0;
      break;
    }
    case 'int64': case 'timestamp': {
      const w = words32(col);
      const b = col.values as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const r = sel === null ? i : (sel[i] as number);
        const hi = w[(r << 1) + 1] as number;
        const d = hi * TWO_32 + ((w[r << 1] as number) >>> 0);
        vals[i] = mode === 'double' || (hi > -2097152 && hi < 2097152) ? d : NaN;
      }
      big = (i) => b[sel === null ? i : (sel[i] as number)] as bigint;
      break;
    }
    case 'decimal': {
      const w = words32(col);
      scale = mode === 'unscaled' ? col.scale : 0;
      const div = pow10(col.scale);
      for (let i = 0; i < n; i++) {
        const r = sel === null ? i : (sel[i] as number);
        const k = r << 2;
        const hi = w[k + 1] as number;
        const sg = hi >> 31;
        let d: number;
        if (w[k + 2] === sg && w[k + 3] === sg && hi > -2097152 && hi < 2097152) d = hi * TWO_32 + ((w[k] as number) >>> 0);
        else d = mode === 'double' ? Number(decimalBigIntAt(w, r)) : NaN;
        vals[i] = mode === 'double' ? d / div : d;
      }
      big = (i) => decimalBigIntAt(w, sel === null ? i : (sel[i] as number));
      break;
    }
    case 'string': case 'binary':
      throw new SaigaError('InvalidArgument', `expected a numeric column, found ${col.type} (cast it first)`);
  }
  return { vals, constant: false, valid, isNull: false, scale, big };
}

/** Row count of an expression over operands at a selection. */
export function outputLength(ops: readonly Operand[], sel: Int32Array | null): number {
  if (sel !== null) return sel.length;
  for (const o of ops) if (isColumn(o)) return o.length;
  throw new SaigaError('InvalidArgument', 'an expression over constants only needs an explicit row count (fold it first)');
}

/** AND of dense validities (null = all valid); `n` rows. */
export function andValidity(n: number, ...vs: (Uint8Array | null)[]): Uint8Array | null {
  let out: Uint8Array | null = null;
  for (const v of vs) {
    if (v === null) continue;
    if (out === null) { out = v.slice(0, bitmapBytes(n)); continue; }
    for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) & (v[k] as number);
  }
  return out;
}
