import type { Data, RecordBatch } from 'apache-arrow';
import type { DuckDBResultReader, DuckDBType } from '@duckdb/node-api';
import { DuckDBTypeId } from '@duckdb/node-api';
import type { DataType } from '../../src/common/types.js';

/**
 * Compares query results from two engines (Saiga and DuckDB).
 *
 * Cells are normalised first: exact numbers (integers and decimals) as an unscaled bigint and a
 * scale, floating-point numbers as doubles, dates as 'YYYY-MM-DD', timestamps as
 * 'YYYY-MM-DD HH:MM:SS[.ffffff]', strings as strings, booleans as booleans, NULL as null.
 *
 * Equality: exact numbers compare exactly after rounding the finer one to the coarser scale
 * (half away from zero); when either side is a double the tolerance is 1e-6 relative (plus half a
 * unit of the other side's last decimal place). With ORDER BY, the rows must come in the order of
 * the sort keys, but rows whose keys tie may come in any order; when a LIMIT cut the result, the
 * last group of ties is compared by key only (either engine may keep any of the tied rows).
 */

export type Cell =
  | null
  | { readonly t: 'n'; readonly v: bigint; readonly s: number }
  | { readonly t: 'f'; readonly v: number }
  | { readonly t: 's'; readonly v: string }
  | { readonly t: 'b'; readonly v: boolean };

export type CellRow = readonly Cell[];

export interface ResultTable {
  readonly columnNames: readonly string[];
  readonly rows: readonly CellRow[];
}

const DAY_MS = 86_400_000;

export function dateString(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

export function timestampString(micros: bigint | number): string {
  const us = BigInt(micros);
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const frac = Number(((us % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(Number(ms)).toISOString();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0')}`;
}

// ---------------------------------------------------------------- Arrow (Saiga) side

export interface ColumnTypeInfo {
  readonly name: string;
  readonly type: DataType;
  readonly scale?: number;
}

const utf8 = new TextDecoder();

function isValid(d: Data, i: number): boolean {
  const bm = d.nullBitmap;
  if (d.nullCount === 0 || bm === undefined || bm.length === 0) return true;
  const k = d.offset + i;
  return ((bm[k >> 3] as number) & (1 << (k & 7))) !== 0;
}

function cellFromData(d: Data, i: number, col: ColumnTypeInfo): Cell {
  if (!isValid(d, i)) return null;
  const k = d.offset + i;
  switch (col.type) {
    case 'bool': {
      const bytes = d.values as Uint8Array;
      return { t: 'b', v: ((bytes[k >> 3] as number) & (1 << (k & 7))) !== 0 };
    }
    case 'int8': case 'int16': case 'int32':
      return { t: 'n', v: BigInt((d.values as Int32Array)[k] as number), s: 0 };
    case 'int64':
      return { t: 'n', v: (d.values as BigInt64Array)[k] as bigint, s: 0 };
    case 'float': case 'double':
      return { t: 'f', v: (d.values as Float64Array)[k] as number };
    case 'decimal': {
      const w = d.values as Uint32Array;
      const b = k * 4;
      const v = BigInt.asIntN(128,
        (BigInt(w[b + 3] as number) << 96n) | (BigInt(w[b + 2] as number) << 64n) |
        (BigInt(w[b + 1] as number) << 32n) | BigInt(w[b] as number));
      return { t: 'n', v, s: col.scale ?? 0 };
    }
    case 'string': {
      const off = d.valueOffsets as Int32Array;
      return { t: 's', v: utf8.decode((d.values as Uint8Array).subarray(off[k] as number, off[k + 1] as number)) };
    }
    case 'binary': {
      const off = d.valueOffsets as Int32Array;
      const bytes = (d.values as Uint8Array).subarray(off[k] as number, off[k + 1] as number);
      return { t: 's', v: Buffer.from(bytes).toString('hex') };
    }
    case 'date':
      return { t: 's', v: dateString((d.values as Int32Array)[k] as number) };
    case 'timestamp':
      return { t: 's', v: timestampString((d.values as BigInt64Array)[k] as bigint) };
  }
}

/** Reads Arrow batches into normalised rows, column types as the engine declared them. */
export function arrowToCells(columns: readonly ColumnTypeInfo[], batches: readonly RecordBatch[]): CellRow[] {
  const rows: CellRow[] = [];
  for (const batch of batches) {
    const n = batch.numRows;
    const base = rows.length;
    for (let r = 0; r < n; r++) rows.push(new Array<Cell>(columns.length).fill(null));
    columns.forEach((col, c) => {
      const vec = batch.getChildAt(c);
      if (vec === null) throw new Error(`batch has no column ${c} (${col.name})`);
      // The batch's own decimal scale wins over the declared one.
      const arrowScale = (vec.type as { scale?: unknown }).scale;
      const info = col.type === 'decimal' && typeof arrowScale === 'number' ? { ...col, scale: arrowScale } : col;
      let r = base;
      for (const d of vec.data) {
        for (let i = 0; i < d.length; i++) (rows[r++] as Cell[])[c] = cellFromData(d, i, info);
      }
    });
  }
  return rows;
}

// ---------------------------------------------------------------- DuckDB side

function duckCell(v: unknown, type: DuckDBType): Cell {
  if (v === null || v === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN: return { t: 'b', v: v as boolean };
    case DuckDBTypeId.TINYINT: case DuckDBTypeId.SMALLINT: case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT: case DuckDBTypeId.USMALLINT: case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.BIGINT: case DuckDBTypeId.UBIGINT: case DuckDBTypeId.HUGEINT: case DuckDBTypeId.UHUGEINT:
      return { t: 'n', v: BigInt(v as number | bigint), s: 0 };
    case DuckDBTypeId.FLOAT: case DuckDBTypeId.DOUBLE:
      return { t: 'f', v: v as number };
    case DuckDBTypeId.DECIMAL: {
      const d = v as { value: bigint; scale: number };
      return { t: 'n', v: d.value, s: d.scale };
    }
    case DuckDBTypeId.DATE: return { t: 's', v: dateString((v as { days: number }).days) };
    case DuckDBTypeId.TIMESTAMP: return { t: 's', v: timestampString((v as { micros: bigint }).micros) };
    case DuckDBTypeId.VARCHAR: return { t: 's', v: v as string };
    default: return { t: 's', v: String(v) };
  }
}

export function duckToTable(reader: DuckDBResultReader): ResultTable {
  const types = reader.columnTypes();
  const rows = reader.getRows().map((row) => row.map((v, i) => duckCell(v, types[i] as DuckDBType)));
  return { columnNames: reader.columnNames(), rows };
}

// ---------------------------------------------------------------- equality

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Rounds an unscaled value from scale `from` down to scale `to` (to <= from), half away from zero. */
function rescaleDown(v: bigint, from: number, to: number): bigint {
  if (from === to) return v;
  const div = pow10(from - to);
  const q = v / div;
  const r = v % div;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= div) return v < 0n ? q - 1n : q + 1n;
  return q;
}

export function numberOf(c: Cell): number | undefined {
  if (c === null) return undefined;
  if (c.t === 'f') return c.v;
  if (c.t === 'n') return c.s === 0 ? Number(c.v) : Number(c.v) / 10 ** c.s;
  return undefined;
}

export const RELATIVE_TOLERANCE = 1e-6;

export function cellsEqual(a: Cell, b: Cell): boolean {
  if (a === null || b === null) return a === b;
  if (a.t === 'n' && b.t === 'n') {
    const s = Math.min(a.s, b.s);
    return rescaleDown(a.v, a.s, s) === rescaleDown(b.v, b.s, s);
  }
  if ((a.t === 'n' || a.t === 'f') && (b.t === 'n' || b.t === 'f')) {
    const x = numberOf(a) as number;
    const y = numberOf(b) as number;
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    const diff = Math.abs(x - y);
    const halfUnit = a.t === 'n' ? 0.5 * 10 ** -a.s : b.t === 'n' ? 0.5 * 10 ** -b.s : 0;
    return diff <= RELATIVE_TOLERANCE * Math.max(Math.abs(x), Math.abs(y)) || diff <= 1e-12 || diff <= halfUnit;
  }
  if (a.t === 's' && b.t === 's') return a.v === b.v;
  if (a.t === 'b' && b.t === 'b') return a.v === b.v;
  // MySQL has no boolean type: TRUE is 1.
  if (a.t === 'b' && b.t === 'n') return b.s === 0 && b.v === (a.v ? 1n : 0n);
  if (a.t === 'n' && b.t === 'b') return cellsEqual(b, a);
  return false;
}

export function formatCell(c: Cell): string {
  if (c === null) return 'NULL';
  switch (c.t) {
    case 'b': return c.v ? 'true' : 'false';
    case 'f': return String(c.v);
    case 's': return c.v;
    case 'n': {
      if (c.s === 0) return c.v.toString();
      const neg = c.v < 0n;
      const digits = (neg ? -c.v : c.v).toString().padStart(c.s + 1, '0');
      return `${neg ? '-' : ''}${digits.slice(0, -c.s)}.${digits.slice(-c.s)}`;
    }
  }
}

export function formatRow(r: CellRow): string {
  return r.map(formatCell).join(' | ');
}

/** A sort key that equal cells share (doubles rounded to 6 significant digits). */
function canonical(c: Cell): string {
  if (c === null) return '\u0000';
  if (c.t === 'n' || c.t === 'f') {
    const x = numberOf(c) as number;
    return `n${x === 0 ? '0' : x.toPrecision(6)}`;
  }
  return `${c.t}${String(c.v)}`;
}

function rowsEqual(a: CellRow, b: CellRow): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!cellsEqual(a[i] as Cell, b[i] as Cell)) return false;
  return true;
}

/** Multiset equality with tolerance: sort by canonical keys, pair up, then match leftovers. */
function multisetDiff(actual: readonly CellRow[], expected: readonly CellRow[]): string | undefined {
  const key = (r: CellRow): string => r.map(canonical).join('\u0001');
  const sa = [...actual].map((r) => ({ r, k: key(r) })).sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const se = [...expected].map((r) => ({ r, k: key(r) })).sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const leftA: CellRow[] = [];
  const leftE: CellRow[] = [];
  for (let i = 0; i < Math.max(sa.length, se.length); i++) {
    const a = sa[i];
    const e = se[i];
    if (a !== undefined && e !== undefined && rowsEqual(a.r, e.r)) continue;
    if (a !== undefined) leftA.push(a.r);
    if (e !== undefined) leftE.push(e.r);
  }
  if (leftA.length === 0 && leftE.length === 0) return undefined;
  if (leftA.length > 5000) return `${leftA.length} rows differ, e.g. got [${formatRow(leftA[0] as CellRow)}]`;
  const usedE = new Uint8Array(leftE.length);
  const unmatchedA: CellRow[] = [];
  for (const a of leftA) {
    let found = -1;
    for (let j = 0; j < leftE.length; j++) {
      if (usedE[j] === 0 && rowsEqual(a, leftE[j] as CellRow)) { found = j; break; }
    }
    if (found < 0) unmatchedA.push(a);
    else usedE[found] = 1;
  }
  const unmatchedE = leftE.filter((_, j) => usedE[j] === 0);
  if (unmatchedA.length === 0 && unmatchedE.length === 0) return undefined;
  const show = (rs: readonly CellRow[]): string => rs.slice(0, 5).map((r) => `    [${formatRow(r)}]`).join('\n') + (rs.length > 5 ? `\n    ... ${rs.length - 5} more` : '');
  return `${unmatchedA.length} unexpected row(s):\n${show(unmatchedA)}\n  ${unmatchedE.length} missing row(s):\n${show(unmatchedE)}`;
}

export interface CompareOptions {
  /** Output column indexes of the ORDER BY keys; empty: order-insensitive. */
  readonly orderBy: readonly number[];
  readonly limit?: number;
}

/** Returns undefined when the results match, else a description of the first difference. */
export function compareResults(actual: readonly CellRow[], expected: readonly CellRow[], options: CompareOptions): string | undefined {
  const width = expected[0]?.length ?? actual[0]?.length ?? 0;
  for (const [i, r] of actual.entries()) {
    if (r.length !== width) return `row ${i}: expected ${width} columns, got ${r.length}`;
  }
  if (actual.length !== expected.length) {
    const d = multisetDiff(actual, expected);
    return `expected ${expected.length} rows, got ${actual.length}${d === undefined ? '' : `\n  ${d}`}`;
  }
  if (options.orderBy.length === 0) {
    const d = multisetDiff(actual, expected);
    return d === undefined ? undefined : `rows differ (order-insensitive):\n  ${d}`;
  }
  const keysEqual = (a: CellRow, b: CellRow): boolean => options.orderBy.every((c) => cellsEqual(a[c] as Cell, b[c] as Cell));
  const truncated = options.limit !== undefined && expected.length === options.limit;
  let start = 0;
  while (start < expected.length) {
    const first = expected[start] as CellRow;
    let end = start + 1;
    while (end < expected.length && keysEqual(expected[end] as CellRow, first)) end++;
    for (let i = start; i < end; i++) {
      if (!keysEqual(actual[i] as CellRow, first)) {
        return `row ${i}: ORDER BY keys differ\n  expected [${formatRow(expected[i] as CellRow)}]\n  got      [${formatRow(actual[i] as CellRow)}]`;
      }
    }
    const lastGroupCut = truncated && end === expected.length && end - start > 1;
    if (!lastGroupCut) {
      const d = multisetDiff(actual.slice(start, end), expected.slice(start, end));
      if (d !== undefined) return `rows ${start}..${end - 1} (one ORDER BY key group) differ:\n  ${d}`;
    }
    start = end;
  }
  return undefined;
}
