import type * as arrow from 'apache-arrow';
import { assert, unreachable } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { ColumnPredicate } from '../common/scan-spec.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { coerceValue, compareValues, hasNulls, int64Parts, utf8, writeDecimal } from './column-data.js';

/**
 * Predicate kernels over typed arrays and a selection vector (the row indexes still alive).
 * A predicate is bound once per scan to its column; each kernel narrows `sel` in place.
 */

const LT = 1;
const EQ = 2;
const GT = 4;

export interface BoundPredicate {
  readonly column: ColumnSchema;
  /** Index of the column in the current (tablet) schema. */
  readonly columnIndex: number;
  readonly kind: 'compare' | 'in' | 'isNull' | 'isNotNull';
  /** For compare: which outcomes of compare(row, value) match (LT | EQ | GT bits). */
  readonly mask: number;
  /** compare: [value]; in: the values (canonical, deduplicated); empty for null tests. */
  readonly values: readonly Value[];
  /** True when the predicate can match no row at all (e.g. `= NULL`, `IN ()`). */
  readonly never: boolean;
}

function opMask(op: '=' | '<' | '<=' | '>' | '>='): number {
  switch (op) {
    case '=': return EQ;
    case '<': return LT;
    case '<=': return LT | EQ;
    case '>': return GT;
    case '>=': return GT | EQ;
  }
}

export function bindPredicate(p: ColumnPredicate, column: ColumnSchema, columnIndex: number): BoundPredicate {
  const coerce = (v: Value): Value => {
    try {
      return coerceValue(column, v);
    } catch (e) {
      if (e instanceof SaigaError) throw new SaigaError('InvalidArgument', `predicate on ${column.name}: ${e.message}`);
      throw e;
    }
  };
  switch (p.kind) {
    case 'compare': {
      const v = coerce(p.value);
      return { column, columnIndex, kind: 'compare', mask: opMask(p.op), values: v === null ? [] : [v], never: v === null };
    }
    case 'in': {
      const vs = p.values.map(coerce).filter((v) => v !== null);
      return { column, columnIndex, kind: 'in', mask: EQ, values: vs, never: vs.length === 0 };
    }
    case 'isNull':
      return { column, columnIndex, kind: 'isNull', mask: 0, values: [], never: !column.nullable };
    case 'isNotNull':
      return { column, columnIndex, kind: 'isNotNull', mask: 0, values: [], never: false };
    default:
      return unreachable(p, 'predicate');
  }
}

export interface ColumnStats {
  readonly min: Value;
  readonly max: Value;
  readonly nullCount: number;
  readonly rowCount: number;
}

/** False when no row of a block with these stats can match. */
export function statsCanMatch(p: BoundPredicate, s: ColumnStats): boolean {
  if (p.never) return false;
  if (s.rowCount === 0) return false;
  switch (p.kind) {
    case 'isNull': return s.nullCount > 0;
    case 'isNotNull': return s.nullCount < s.rowCount;
    case 'compare': case 'in': {
      if (s.nullCount === s.rowCount || s.min === null || s.max === null) return false;
      const t = p.column.type;
      for (const v of p.values) {
        const cMin = compareValues(t, s.min, v);
        const cMax = compareValues(t, s.max, v);
        if ((p.mask & LT) && cMin < 0) return true;
        if ((p.mask & GT) && cMax > 0) return true;
        if ((p.mask & EQ) && cMin <= 0 && cMax >= 0) return true;
      }
      return false;
    }
  }
}

/** Identity selection 0..n-1. */
export function allRows(n: number): Int32Array {
  const sel = new Int32Array(n);
  for (let i = 0; i < n; i++) sel[i] = i;
  return sel;
}

/** Narrows sel[0..count) to the rows of `data` matching `p`; returns the new count. */
export function filterColumn(p: BoundPredicate, data: arrow.Data, sel: Int32Array, count: number): number {
  assert(data.offset === 0, 'storage columns have offset 0');
  if (p.never) return 0;
  const bitmap = hasNulls(data) ? (data.nullBitmap as Uint8Array) : undefined;
  if (p.kind === 'isNull' || p.kind === 'isNotNull') {
    const want = p.kind === 'isNotNull';
    if (bitmap === undefined) return want ? count : 0;
    let out = 0;
    for (let k = 0; k < count; k++) {
      const i = sel[k] as number;
      const valid = ((bitmap[i >> 3] as number) & (1 << (i & 7))) !== 0;
      if (valid === want) sel[out++] = i;
    }
    return out;
  }
  let out: number;
  switch (p.column.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
      out = p.kind === 'in' ? filterNumberIn(p, data.values as Float64Array, sel, count) : filterNumber(p.mask, p.values[0] as number, data.values as Float64Array, sel, count);
      break;
    case 'int64': case 'timestamp': case 'decimal':
      out = filterWide(p, data, sel, count);
      break;
    case 'bool': case 'string': case 'binary':
      out = filterGeneric(p, data, sel, count);
      break;
  }
  if (bitmap === undefined) return out;
  let k2 = 0;
  for (let k = 0; k < out; k++) {
    const i = sel[k] as number;
    if (((bitmap[i >> 3] as number) & (1 << (i & 7))) !== 0) sel[k2++] = i;
  }
  return k2;
}

function filterNumber(mask: number, c: number, v: Float64Array, sel: Int32Array, count: number): number {
  let out = 0;
  switch (mask) {
    case EQ: for (let k = 0; k < count; k++) { const i = sel[k] as number; if ((v[i] as number) === c) sel[out++] = i; } break;
    case LT: for (let k = 0; k < count; k++) { const i = sel[k] as number; if ((v[i] as number) < c) sel[out++] = i; } break;
    case LT | EQ: for (let k = 0; k < count; k++) { const i = sel[k] as number; if ((v[i] as number) <= c) sel[out++] = i; } break;
    case GT: for (let k = 0; k < count; k++) { const i = sel[k] as number; if ((v[i] as number) > c) sel[out++] = i; } break;
    case GT | EQ: for (let k = 0; k < count; k++) { const i = sel[k] as number; if ((v[i] as number) >= c) sel[out++] = i; } break;
    default: assert(false, `bad compare mask ${mask}`);
  }
  return out;
}

function filterNumberIn(p: BoundPredicate, v: Float64Array, sel: Int32Array, count: number): number {
  const set = new Set(p.values as number[]);
  let out = 0;
  for (let k = 0; k < count; k++) { const i = sel[k] as number; if (set.has(v[i] as number)) sel[out++] = i; }
  return out;
}

function outcome(c: number): number {
  return c < 0 ? LT : c > 0 ? GT : EQ;
}

/** int64 / timestamp / decimal: compare 32-bit words, most significant (signed) first. */
function filterWide(p: BoundPredicate, data: arrow.Data, sel: Int32Array, count: number): number {
  const view = data.values as unknown as ArrayBufferView;
  const w = new Int32Array(view.buffer, view.byteOffset, view.byteLength >> 2);
  const stride = p.column.type === 'decimal' ? 4 : 2;
  const consts: Int32Array[] = p.values.map((v) => {
    const c = new Int32Array(stride);
    if (stride === 2) {
      const [hi, lo] = int64Parts(v as number | bigint);
      c[0] = lo | 0;
      c[1] = hi;
    } else {
      writeDecimal(new Uint32Array(c.buffer), 0, v as bigint);
    }
    return c;
  });
  let out = 0;
  const mask = p.mask;
  for (let k = 0; k < count; k++) {
    const i = sel[k] as number;
    const base = i * stride;
    for (let ci = 0; ci < consts.length; ci++) {
      const c = consts[ci] as Int32Array;
      // Most significant word signed, the rest unsigned.
      let r = 0;
      const hiA = w[base + stride - 1] as number;
      const hiB = c[stride - 1] as number;
      if (hiA !== hiB) r = hiA < hiB ? -1 : 1;
      else {
        for (let s = stride - 2; s >= 0; s--) {
          const a = (w[base + s] as number) >>> 0;
          const b = (c[s] as number) >>> 0;
          if (a !== b) { r = a < b ? -1 : 1; break; }
        }
      }
      if ((mask & outcome(r)) !== 0) { sel[out++] = i; break; }
    }
  }
  return out;
}

function filterGeneric(p: BoundPredicate, data: arrow.Data, sel: Int32Array, count: number): number {
  let out = 0;
  const mask = p.mask;
  if (p.column.type === 'bool') {
    const bits = data.values as Uint8Array;
    for (let k = 0; k < count; k++) {
      const i = sel[k] as number;
      const b = ((bits[i >> 3] as number) >> (i & 7)) & 1;
      for (const v of p.values) {
        if ((mask & outcome(b - (v ? 1 : 0))) !== 0) { sel[out++] = i; break; }
      }
    }
    return out;
  }
  const consts = p.values.map((v) => (typeof v === 'string' ? utf8(v) : (v as Uint8Array)));
  const off = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  for (let k = 0; k < count; k++) {
    const i = sel[k] as number;
    const s = off[i] as number;
    const e = off[i + 1] as number;
    for (let ci = 0; ci < consts.length; ci++) {
      const c = consts[ci] as Uint8Array;
      const len = e - s;
      if (mask === EQ && len !== c.length) continue;
      const n = len < c.length ? len : c.length;
      let r = 0;
      for (let j = 0; j < n; j++) {
        const d = (bytes[s + j] as number) - (c[j] as number);
        if (d !== 0) { r = d; break; }
      }
      if (r === 0) r = len - c.length;
      if ((mask & outcome(r)) !== 0) { sel[out++] = i; break; }
    }
  }
  return out;
}

/** Evaluates one predicate on a single value (slow path for row-at-a-time sources). */
export function valueMatches(p: BoundPredicate, v: Value): boolean {
  if (p.never) return false;
  switch (p.kind) {
    case 'isNull': return v === null;
    case 'isNotNull': return v !== null;
    case 'compare': case 'in':
      if (v === null) return false;
      for (const c of p.values) if ((p.mask & outcome(compareValues(p.column.type, v, c))) !== 0) return true;
      return false;
  }
}
