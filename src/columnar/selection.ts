import type { Column } from './column.js';

/**
 * A selection vector: strictly ascending row indexes into a batch. `null` where a kernel takes
 * `Selection | null` means "every row". Kernels return a fresh (possibly shorter) selection.
 */
export type Selection = Int32Array;

/** Three-valued result of a predicate over a selection: rows where it is TRUE and where it is NULL (the rest are FALSE). */
export interface TriSelection {
  readonly trueRows: Selection;
  readonly nullRows: Selection;
}

const EMPTY = new Int32Array(0);

export function emptySelection(): Selection {
  return EMPTY;
}

/** [0, 1, ..., length-1]. */
export function allRows(length: number): Selection {
  const s = new Int32Array(length);
  for (let i = 0; i < length; i++) s[i] = i;
  return s;
}

export function selectionOrAll(sel: Selection | null, length: number): Selection {
  return sel ?? allRows(length);
}

/** Number of rows a selection covers. */
export function selectedCount(sel: Selection | null, length: number): number {
  return sel === null ? length : sel.length;
}

export function selectionUnion(a: Selection, b: Selection): Selection {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Int32Array(a.length + b.length);
  let i = 0, j = 0, k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number, y = b[j] as number;
    if (x < y) { out[k++] = x; i++; } else if (y < x) { out[k++] = y; j++; } else { out[k++] = x; i++; j++; }
  }
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out.subarray(0, k);
}

export function selectionIntersect(a: Selection, b: Selection): Selection {
  const out = new Int32Array(Math.min(a.length, b.length));
  let i = 0, j = 0, k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number, y = b[j] as number;
    if (x < y) i++; else if (y < x) j++; else { out[k++] = x; i++; j++; }
  }
  return out.subarray(0, k);
}

/** Rows of a that are not in b. */
export function selectionDifference(a: Selection, b: Selection): Selection {
  if (b.length === 0) return a;
  const out = new Int32Array(a.length);
  let i = 0, j = 0, k = 0;
  while (i < a.length) {
    const x = a[i] as number;
    while (j < b.length && (b[j] as number) < x) j++;
    if (j < b.length && b[j] === x) { i++; continue; }
    out[k++] = x; i++;
  }
  return out.subarray(0, k);
}

/** SQL AND: TRUE iff both TRUE; NULL iff neither is FALSE and not both TRUE. */
export function triAnd(a: TriSelection, b: TriSelection): TriSelection {
  const trueRows = selectionIntersect(a.trueRows, b.trueRows);
  const notFalseA = selectionUnion(a.trueRows, a.nullRows);
  const notFalseB = selectionUnion(b.trueRows, b.nullRows);
  const nullRows = selectionDifference(selectionIntersect(notFalseA, notFalseB), trueRows);
  return { trueRows, nullRows };
}

/** SQL OR: TRUE iff either TRUE; NULL iff not TRUE and either NULL. */
export function triOr(a: TriSelection, b: TriSelection): TriSelection {
  const trueRows = selectionUnion(a.trueRows, b.trueRows);
  const nullRows = selectionDifference(selectionUnion(a.nullRows, b.nullRows), trueRows);
  return { trueRows, nullRows };
}

/** SQL NOT over the rows of `sel` (null = all `length` rows): FALSE <-> TRUE, NULL stays NULL. */
export function triNot(a: TriSelection, sel: Selection | null, length: number): TriSelection {
  const all = selectionOrAll(sel, length);
  return { trueRows: selectionDifference(selectionDifference(all, a.trueRows), a.nullRows), nullRows: a.nullRows };
}

/** Rows of `sel` where any of the columns is NULL (ascending). */
export function nullRowsOf(cols: readonly Column[], sel: Selection | null, length: number): Selection {
  const withNulls = cols.filter((c) => c.validity !== null);
  if (withNulls.length === 0) return EMPTY;
  const n = sel === null ? length : sel.length;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const r = sel === null ? i : (sel[i] as number);
    for (const c of withNulls) {
      const v = c.validity as Uint8Array;
      if (((v[r >> 3] as number) & (1 << (r & 7))) === 0) { out[k++] = r; break; }
    }
  }
  return out.subarray(0, k);
}

/** Convenience: a TRUE-only tri-selection for predicates that never yield NULL. */
export function triOf(trueRows: Selection, nullRows: Selection = EMPTY): TriSelection {
  return { trueRows, nullRows };
}
