import type * as arrow from 'apache-arrow';
import { compactValuesOf } from '../common/compact-column.js';
import type { NumVector, SqlType } from './vector.js';

/**
 * Scan columns decoded from storage's compact copies (common/compact-column.ts): a DECIMAL /
 * INT64 / TIMESTAMP column whose unscaled values storage also keeps as an Int32Array or a
 * Float64Array (all exact, within 2^53) becomes a NumVector by one typed-array read per row,
 * instead of decoding 16- or 8-byte words (what fromArrow does, with the same values).
 */
export function vectorFromCompact(d: arrow.Data, type: SqlType, sel: Int32Array | null): NumVector | null {
  const t = type.type;
  if ((t !== 'decimal' && t !== 'int64' && t !== 'timestamp') || d.offset !== 0 || d.nullCount > 0) return null;
  const c = compactValuesOf(d);
  if (c === undefined || c.length !== d.length) return null;
  const n = sel === null ? d.length : sel.length;
  const values = new Float64Array(n);
  if (sel === null) {
    for (let i = 0; i < n; i++) values[i] = c[i]!;
  } else {
    for (let k = 0; k < n; k++) values[k] = c[sel[k]!]!;
  }
  return { kind: 'num', type, values, valid: null };
}
