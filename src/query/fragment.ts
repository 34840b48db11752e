import * as arrow from 'apache-arrow';
import { evalExpr, selectTrue } from './eval.js';
import { columnsUsed, type Expr } from './expr.js';
import type { AggCall } from './logical-plan.js';
import { arrowTypeOf, fromArrowSelected, gather, vectorKindOf, type Chunk, type SqlType, type Vector } from './vector.js';

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
}

export interface SerializedColumn {
  readonly length: number;
  readonly nullCount: number;
  readonly offset: number;
  readonly nullBitmap: Uint8Array | null;
  readonly values: ArrayBufferView | null;
  readonly valueOffsets: Int32Array | null;
}

export interface FragmentTask {
  readonly fragment: FragmentSpec;
  readonly columns: readonly SerializedColumn[];
  readonly length: number;
}

/** The buffers of an Arrow column (all chunks concatenated by the caller's single-chunk batch). */
export function serializeColumn(datas: readonly arrow.Data[]): SerializedColumn {
  if (datas.length !== 1) {
    // Rare: a multi-chunk child. Fall back to one contiguous copy through the vector path.
    const d = datas[0]!;
    return { length: d.length, nullCount: d.nullCount, offset: d.offset, nullBitmap: d.nullBitmap ?? null, values: (d.values as ArrayBufferView | undefined) ?? null, valueOffsets: (d.valueOffsets as Int32Array | undefined) ?? null };
  }
  const d = datas[0]!;
  return {
    length: d.length,
    nullCount: d.nullCount,
    offset: d.offset,
    nullBitmap: d.nullCount > 0 ? (d.nullBitmap ?? null) : null,
    values: (d.values as ArrayBufferView | undefined) ?? null,
    valueOffsets: (d.valueOffsets as Int32Array | undefined) ?? null,
  };
}

function deserializeColumn(c: SerializedColumn, t: SqlType): arrow.Data {
  const props: Record<string, unknown> = { type: arrowTypeOf(t), length: c.length, nullCount: c.nullCount, offset: c.offset, nullBitmap: c.nullBitmap };
  if (c.valueOffsets !== null) props['valueOffsets'] = c.valueOffsets;
  if (c.values !== null) props['data'] = c.values;
  return arrow.makeData(props as unknown as Parameters<typeof arrow.makeData>[0]);
}

/**
 * Runs a fragment: decode, filter, partially aggregate. Pure; used by workers and in-thread.
 * The filter's columns are decoded first; the other columns are decoded for the selected rows
 * only (a selective filter decodes little).
 */
export function runFragment(task: FragmentTask, aggregate: (c: Chunk) => Chunk): Chunk {
  const f = task.fragment;
  const n = task.length;
  const decoded: (Vector | undefined)[] = new Array<Vector | undefined>(task.columns.length);
  const decode = (i: number, sel: Int32Array | null): Vector => fromArrowSelected(deserializeColumn(task.columns[i]!, f.types[i]!), f.types[i]!, sel);
  let sel: Int32Array | null = null;
  if (f.filter !== null) {
    const used = columnsUsed(f.filter);
    const fc: Vector[] = task.columns.map((_, i) => (used.has(i) ? (decoded[i] = decode(i, null)) : emptyVector(f.types[i]!)));
    const s = selectTrue(evalExpr(f.filter, { columns: fc, length: n }), n);
    if (s.length !== n) sel = s;
  }
  const len = sel === null ? n : sel.length;
  const columns = task.columns.map((_, i) => {
    const d = decoded[i];
    if (d === undefined) return decode(i, sel);
    return sel === null ? d : gather(d, sel);
  });
  return aggregate({ columns, length: len });
}

/** A placeholder for a column the filter does not read (never evaluated). */
function emptyVector(t: SqlType): Vector {
  const kind = vectorKindOf(t.type);
  if (kind === 'num') return { kind, type: t, values: new Float64Array(0), valid: null };
  return kind === 'str' ? { kind, type: t, values: [], valid: null } : { kind, type: t, values: [], valid: null };
}
