import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { TypeInfo } from './arith.js';
import type { Column } from './column.js';
import { columnFromValues, isValidAt } from './column.js';
import type { Operand } from './numeric-input.js';
import { isColumn } from './numeric-input.js';
import { takeFrom } from './take.js';

/** A length-1 column for a constant operand (broadcast by row index 0). */
function asSource(x: Operand, t: TypeInfo): Column {
  if (isColumn(x)) {
    if (x.type !== t.type || (t.type === 'decimal' && x.scale !== t.scale)) {
      throw new SaigaError('InvalidArgument', `expected a ${t.type} branch, found ${x.type} (cast branches to the result type first)`);
    }
    return x;
  }
  return columnFromValues(t.type, [x.value], t.precision, t.scale);
}

/**
 * CASE WHEN w0 THEN t0 WHEN w1 THEN t1 ... ELSE e END over `length` dense rows. whens[k] are the
 * rows where condition k is TRUE; the first TRUE branch wins; no branch and no ELSE: NULL.
 * Column branches are read at the same row index (dense, `length` rows); all branches must
 * already have the result type.
 */
export function caseWhen(whens: readonly Int32Array[], thens: readonly Operand[], otherwise: Operand | null, length: number, type: TypeInfo): Column {
  assert(whens.length === thens.length, `caseWhen: ${whens.length} conditions for ${thens.length} results`);
  const sources = thens.map((t) => asSource(t, type));
  if (otherwise !== null) sources.push(asSource(otherwise, type));
  const which = new Int32Array(length).fill(otherwise === null ? -1 : thens.length);
  const decided = new Uint8Array(length);
  whens.forEach((sel, k) => {
    for (let i = 0; i < sel.length; i++) {
      const r = sel[i] as number;
      if (decided[r] === 0) { decided[r] = 1; which[r] = k; }
    }
  });
  const rows = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const w = which[i] as number;
    rows[i] = w < 0 ? -1 : (sources[w] as Column).length === 1 && !isColumn(w < thens.length ? thens[w] as Operand : otherwise as Operand) ? 0 : i;
  }
  return takeFrom(sources, which, rows, type.type, type.precision, type.scale);
}

/** COALESCE(a, b, ...) over `length` dense rows: the first non-NULL argument. IFNULL(a, b) = COALESCE(a, b). */
export function coalesce(args: readonly Operand[], length: number, type: TypeInfo): Column {
  const sources = args.map((a) => asSource(a, type));
  const which = new Int32Array(length).fill(-1);
  const rows = new Int32Array(length).fill(-1);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < sources.length; k++) {
      const s = sources[k] as Column;
      const r = isColumn(args[k] as Operand) ? i : 0;
      if (isValidAt(s.validity, r)) { which[i] = k; rows[i] = r; break; }
    }
  }
  return takeFrom(sources, which, rows, type.type, type.precision, type.scale);
}

/** NULLIF(a, b) is CASE WHEN a = b THEN NULL ELSE a END: pass the rows where a = b as `equalRows`. */
export function nullIf(a: Column, equalRows: Int32Array): Column {
  const rows = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) rows[i] = i;
  for (let i = 0; i < equalRows.length; i++) rows[equalRows[i] as number] = -1;
  return takeFrom([a], null, rows, a.type, a.precision, a.scale);
}
