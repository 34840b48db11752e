import { SaigaError } from '../common/errors.js';
import type { Column } from './column.js';
import { compareBytes } from './filter.js';
import { readNumeric } from './numeric-input.js';
import type { Selection } from './selection.js';

/**
 * Sorting and top-N. Keys are normalized once into dense arrays (doubles with an exact bigint
 * fallback, or string bytes); ties keep input order (stable). MySQL NULL order: NULLs first
 * ascending, last descending, unless nullsFirst says otherwise.
 */
export interface SortKey {
  readonly column: Column;
  readonly descending?: boolean;
  readonly nullsFirst?: boolean;
}

interface PreparedKey {
  readonly nulls: Uint8Array | null;
  readonly vals: Float64Array | null;
  readonly big: ((i: number) => bigint) | null;
  readonly col: Column;
  readonly rows: Selection;
  readonly dir: number;
  /** -1: NULL sorts before values (after applying nothing else). */
  readonly nullDir: number;
}

function prepare(k: SortKey, rows: Selection): PreparedKey {
  const col = k.column;
  const dir = k.descending === true ? -1 : 1;
  const nullsFirst = k.nullsFirst ?? k.descending !== true;
  const n = rows.length;
  let nulls: Uint8Array | null = null;
  const v = col.validity;
  if (v !== null) {
    nulls = new Uint8Array(n);
    for (let i = 0; i < n; i++) { const r = rows[i] as number; if (((v[r >> 3] as number) & (1 << (r & 7))) === 0) nulls[i] = 1; }
  }
  if (col.type === 'string' || col.type === 'binary') return { nulls, vals: null, big: null, col, rows, dir, nullDir: nullsFirst ? -1 : 1 };
  const exact = col.type === 'int64' || col.type === 'timestamp' || col.type === 'decimal';
  const inp = readNumeric(col, rows, exact ? 'unscaled' : 'double');
  return { nulls, vals: inp.vals, big: exact ? inp.big : null, col, rows, dir, nullDir: nullsFirst ? -1 : 1 };
}

/** Compares dense positions a and b on one key (direction applied). */
function compareKey(k: PreparedKey, a: number, b: number): number {
  if (k.nulls !== null) {
    const na = k.nulls[a] as number, nb = k.nulls[b] as number;
    if (na !== nb) return na === 1 ? k.nullDir : -k.nullDir;
    if (na === 1) return 0;
  }
  const vals = k.vals;
  if (vals !== null) {
    const x = vals[a] as number, y = vals[b] as number;
    if (x === x && y === y) return x < y ? -k.dir : x > y ? k.dir : 0;
    if (k.big !== null) { const bx = k.big(a), by = k.big(b); return bx < by ? -k.dir : bx > by ? k.dir : 0; }
    // float NaN: after every number ascending
    const xn = x !== x, yn = y !== y;
    return xn === yn ? 0 : (xn ? 1 : -1) * k.dir;
  }
  const o = k.col.offsets as Int32Array, d = k.col.data as Uint8Array;
  const ra = k.rows[a] as number, rb = k.rows[b] as number;
  const c = compareBytes(d, o[ra] as number, o[ra + 1] as number, d, o[rb] as number, o[rb + 1] as number);
  return c < 0 ? -k.dir : c > 0 ? k.dir : 0;
}

function comparator(keys: readonly PreparedKey[]): (a: number, b: number) => number {
  if (keys.length === 1) {
    const k = keys[0] as PreparedKey;
    if (k.nulls === null && k.big === null && k.vals !== null) {
      const v = k.vals, dir = k.dir;
      return (a, b) => { const x = v[a] as number, y = v[b] as number; return x < y ? -dir : x > y ? dir : a - b; };
    }
  }
  return (a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareKey(keys[i] as PreparedKey, a, b);
      if (c !== 0) return c;
    }
    return a - b;
  };
}

/** Row indexes of the selected rows in sort order (stable). */
export function sortIndexes(keys: readonly SortKey[], sel: Selection | null): Int32Array {
  if (keys.length === 0) throw new SaigaError('InvalidArgument', 'sortIndexes needs at least one key');
  const len = keys[0]?.column.length ?? 0;
  const rows = sel ?? Int32Array.from({ length: len }, (_, i) => i);
  const prepared = keys.map((k) => prepare(k, rows));
  const pos = new Int32Array(rows.length);
  for (let i = 0; i < pos.length; i++) pos[i] = i;
  pos.sort(comparator(prepared));
  const out = new Int32Array(pos.length);
  for (let i = 0; i < pos.length; i++) out[i] = rows[pos[i] as number] as number;
  return out;
}

/** The first `limit` rows in sort order (a bounded max-heap; stable like sortIndexes). */
export function topN(keys: readonly SortKey[], sel: Selection | null, limit: number): Int32Array {
  if (keys.length === 0) throw new SaigaError('InvalidArgument', 'topN needs at least one key');
  const len = keys[0]?.column.length ?? 0;
  const rows = sel ?? Int32Array.from({ length: len }, (_, i) => i);
  const n = rows.length;
  if (limit <= 0) return new Int32Array(0);
  if (limit >= n) return sortIndexes(keys, rows);
  const cmp = comparator(keys.map((k) => prepare(k, rows)));
  // Max-heap of positions: heap[0] is the worst row kept.
  const heap = new Int32Array(limit);
  let size = 0;
  const siftUp = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i] as number, heap[p] as number) <= 0) break;
      const t = heap[i] as number; heap[i] = heap[p] as number; heap[p] = t; i = p;
    }
  };
  const siftDown = (i: number): void => {
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < size && cmp(heap[l] as number, heap[m] as number) > 0) m = l;
      if (r < size && cmp(heap[r] as number, heap[m] as number) > 0) m = r;
      if (m === i) return;
      const t = heap[i] as number; heap[i] = heap[m] as number; heap[m] = t; i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < limit) { heap[size++] = i; siftUp(size - 1); continue; }
    if (cmp(i, heap[0] as number) < 0) { heap[0] = i; siftDown(0); }
  }
  const kept = heap.slice(0, size).sort(cmp);
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = rows[kept[i] as number] as number;
  return out;
}
