import * as arrow from 'apache-arrow';
import { compactValuesOf, type CompactValues } from '../common/compact-column.js';
import { evalExpr, selectTrue } from './eval.js';
import { andAll, columnsUsed, splitConjuncts, type Expr } from './expr.js';
import type { AggCall } from './logical-plan.js';
import { arrowTypeOf, fromArrowSelected, gather, vectorKindOf, type Chunk, type NumVector, type SqlType, type Vector } from './vector.js';

/**
 * A coprocessor scan fragment: one scanned batch's columns plus what to do with them (residual
 * filter, then a partial hash aggregate). Everything here is structured-clone friendly: column
 * buffers that storage backs with SharedArrayBuffers reach the worker without a copy.
 *
 * | field | content |
 * |---|---|
 * | fragment.types | SQL type of each scanned column |
 * | fragment.filter | residual filter over the scanned columns (no subqueries), or null |
 * | fragment.groups / aggs | partial aggregation (count, count_star, sum, min, max, any_value) |
 * | columns[i] | Arrow Data buffers of column i: values, validity bitmap, offsets, bit offset |
 */
export interface FragmentSpec {
  readonly types: readonly SqlType[];
  readonly filter: Expr | null;
  readonly groups: readonly Expr[];
  readonly aggs: readonly AggCall[];
  /** The spec's shape as text (set once per query by the caller): the workers' kernel cache key. */
  readonly key?: string;
}

export interface SerializedColumn {
  readonly length: number;
  readonly nullCount: number;
  readonly offset: number;
  readonly nullBitmap: Uint8Array | null;
  readonly values: ArrayBufferView | null;
  readonly valueOffsets: Int32Array | null;
  /**
   * The storage's compact copy of a DECIMAL / INT64 / TIMESTAMP column (common/compact-column.ts:
   * Int32Array or Float64Array of the unscaled values, offset 0), when it kept one.
   */
  readonly compact?: CompactValues;
}

export interface FragmentPart {
  readonly columns: readonly SerializedColumn[];
  readonly length: number;
}

/**
 * One worker task: a first batch (columns, length) and optionally more batches of the same
 * scan (`more`), all aggregated into one partial result (fewer round trips per query).
 */
export interface FragmentTask extends FragmentPart {
  readonly fragment: FragmentSpec;
  readonly more?: readonly FragmentPart[];
}

/** Every batch of a task, first one first. */
export function taskParts(task: FragmentTask): FragmentPart[] {
  return [task, ...(task.more ?? [])];
}

/** Rows over all of a task's batches. */
export function taskRows(task: FragmentTask): number {
  let n = task.length;
  for (const p of task.more ?? []) n += p.length;
  return n;
}

/** The cache key of a fragment's shape (bigints and bytes spelled out). */
export function fragmentKey(f: FragmentSpec): string {
  if (f.key !== undefined) return f.key;
  return JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? `bigint:${v.toString()}` : v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v));
}

/** The buffers of an Arrow column (all chunks concatenated by the caller's single-chunk batch). */
export function serializeColumn(datas: readonly arrow.Data[]): SerializedColumn {
  if (datas.length !== 1) {
    // Rare: a multi-chunk child. Fall back to one contiguous copy through the vector path.
    const d = datas[0]!;
    return { length: d.length, nullCount: d.nullCount, offset: d.offset, nullBitmap: d.nullBitmap ?? null, values: (d.values as ArrayBufferView | undefined) ?? null, valueOffsets: (d.valueOffsets as Int32Array | undefined) ?? null };
  }
  const d = datas[0]!;
  const base: SerializedColumn = {
    length: d.length,
    nullCount: d.nullCount,
    offset: d.offset,
    nullBitmap: d.nullCount > 0 ? (d.nullBitmap ?? null) : null,
    values: (d.values as ArrayBufferView | undefined) ?? null,
    valueOffsets: (d.valueOffsets as Int32Array | undefined) ?? null,
  };
  const compact = d.offset === 0 ? compactValuesOf(d) : undefined;
  return compact !== undefined && compact.length === d.length ? { ...base, compact } : base;
}

function deserializeColumn(c: SerializedColumn, t: SqlType): arrow.Data {
  const props: Record<string, unknown> = { type: arrowTypeOf(t), length: c.length, nullCount: c.nullCount, offset: c.offset, nullBitmap: c.nullBitmap };
  if (c.valueOffsets !== null) props['valueOffsets'] = c.valueOffsets;
  if (c.values !== null) props['data'] = c.values;
  return arrow.makeData(props as unknown as Parameters<typeof arrow.makeData>[0]);
}

/**
 * Runs a fragment's first batch (see taskParts for the others): decode, filter, partially
 * aggregate. Pure; used by workers and in-thread.
 * The filter's columns are decoded first; the other columns are decoded for the selected rows
 * only (a selective filter decodes little).
 */
export function runFragment(task: FragmentTask, aggregate: (c: Chunk) => Chunk): Chunk {
  const f = task.fragment;
  const n = task.length;
  const decoded: (Vector | undefined)[] = new Array<Vector | undefined>(task.columns.length);
  const data = (i: number): arrow.Data => deserializeColumn(task.columns[i]!, f.types[i]!);
  const decode = (i: number, sel: Int32Array | null): Vector => fromArrowSelected(data(i), f.types[i]!, sel);
  let sel: Int32Array | null = null;
  if (f.filter !== null) {
    // Simple numeric comparisons with literals refine a selection vector column by column,
    // reading only the still-selected rows; the rest of the filter runs on the survivors.
    const rest: Expr[] = [];
    for (const c of splitConjuncts(f.filter)) {
      const simple = simpleCompare(c, f.types);
      if (simple === null) { rest.push(c); continue; }
      sel = refine(decode(simple.col, sel), sel, n, simple);
    }
    if (rest.length > 0) {
      const restFilter = andAll(rest)!;
      const used = columnsUsed(restFilter);
      const len = sel === null ? n : sel.length;
      const fc: Vector[] = task.columns.map((_, i) => (used.has(i) ? (decoded[i] = decode(i, sel)) : emptyVector(f.types[i]!)));
      const s = selectTrue(evalExpr(restFilter, { columns: fc, length: len }), len);
      if (s.length !== len) {
        // Decoded columns are aligned with sel; map the survivors back to batch rows.
        for (const i of used) decoded[i] = gather(decoded[i]!, s);
        sel = sel === null ? s : gatherIndexes(sel, s);
      }
      if (sel !== null && sel.length === n) sel = null;
      const columns = task.columns.map((_, i) => decoded[i] ?? decode(i, sel));
      return aggregate({ columns, length: sel === null ? n : sel.length });
    }
  }
  if (sel !== null && sel.length === n) sel = null;
  const columns = task.columns.map((_, i) => decode(i, sel));
  return aggregate({ columns, length: sel === null ? n : sel.length });
}

function gatherIndexes(sel: Int32Array, s: Int32Array): Int32Array {
  const out = new Int32Array(s.length);
  for (let k = 0; k < s.length; k++) out[k] = sel[s[k]!]!;
  return out;
}

type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
const FLIP: Record<CmpOp, CmpOp> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

interface SimpleCompare { readonly col: number; readonly op: CmpOp | 'in'; readonly values: readonly number[] }

/** col op literal (or col IN (literals)) over a fixed-width numeric column of the same representation. */
function simpleCompare(e: Expr, types: readonly SqlType[]): SimpleCompare | null {
  const numLit = (x: Expr, t: SqlType): number | null =>
    x.kind === 'lit' && typeof x.value === 'number' && Number.isFinite(x.value) && sameRepr(x.type, t) ? x.value : null;
  if (e.kind === 'call' && e.args.length === 2 && e.fn in FLIP) {
    let [a, b] = e.args as [Expr, Expr];
    let op = e.fn as CmpOp;
    if (a.kind === 'lit' && b.kind === 'col') { [a, b] = [b, a]; op = FLIP[op]; }
    if (a.kind !== 'col' || !fastType(types[a.index]!)) return null;
    const v = numLit(b, types[a.index]!);
    return v === null ? null : { col: a.index, op, values: [v] };
  }
  if (e.kind === 'in' && !e.negated && e.arg.kind === 'col' && fastType(types[e.arg.index]!)) {
    const t = types[e.arg.index]!;
    const values: number[] = [];
    for (const x of e.list) { const v = numLit(x, t); if (v === null) return null; values.push(v); }
    return { col: e.arg.index, op: 'in', values };
  }
  return null;
}

function fastType(t: SqlType): boolean {
  const k = t.type;
  return k === 'int8' || k === 'int16' || k === 'int32' || k === 'date' || k === 'double' || k === 'decimal';
}

/** The literal's number means the same as the column's (same decimal scale / both non-decimal). */
function sameRepr(lit: SqlType, col: SqlType): boolean {
  if (col.type === 'decimal' || lit.type === 'decimal') return col.type === lit.type && (col.scale ?? 0) === (lit.scale ?? 0);
  if (col.type === 'date' || lit.type === 'date') return col.type === lit.type;
  return lit.type !== 'timestamp' && lit.type !== 'string' && lit.type !== 'binary';
}

/** Rows of sel (all rows when null) whose value v (aligned with sel) passes the comparison. */
function refine(v: Vector, sel: Int32Array | null, n: number, c: SimpleCompare): Int32Array {
  const x = (v as NumVector).values;
  const valid = v.valid;
  const len = sel === null ? n : sel.length;
  const out = new Int32Array(len);
  let m = 0;
  const y = c.values[0]!;
  switch (c.op) {
    case '<': for (let k = 0; k < len; k++) if (x[k]! < y) out[m++] = k; break;
    case '<=': for (let k = 0; k < len; k++) if (x[k]! <= y) out[m++] = k; break;
    case '>': for (let k = 0; k < len; k++) if (x[k]! > y) out[m++] = k; break;
    case '>=': for (let k = 0; k < len; k++) if (x[k]! >= y) out[m++] = k; break;
    case '=': for (let k = 0; k < len; k++) if (x[k]! === y) out[m++] = k; break;
    case '<>': for (let k = 0; k < len; k++) if (x[k]! !== y) out[m++] = k; break;
    case 'in': {
      const vs = c.values;
      for (let k = 0; k < len; k++) { const xv = x[k]!; for (let j = 0; j < vs.length; j++) if (xv === vs[j]) { out[m++] = k; break; } }
      break;
    }
  }
  // NULLs never pass. Values beyond 2^53 (exact sidecar) compare right on their doubles: the
  // literal is a safe integer or a double, strictly inside the range they lie outside of.
  let w = 0;
  for (let j = 0; j < m; j++) {
    const k = out[j]!;
    if (valid !== null && valid[k] !== 1) continue;
    out[w++] = sel === null ? k : sel[k]!;
  }
  return out.subarray(0, w);
}

/** A placeholder for a column the filter does not read (never evaluated). */
function emptyVector(t: SqlType): Vector {
  const kind = vectorKindOf(t.type);
  if (kind === 'num') return { kind, type: t, values: new Float64Array(0), valid: null };
  return kind === 'str' ? { kind, type: t, values: [], valid: null } : { kind, type: t, values: [], valid: null };
}
