import type { Data } from 'apache-arrow';
import type { PartitionRouter } from '../common/partitioning.js';
import type { RowError, TableInfo, TabletInfo } from '../common/storage-api.js';
import type { Value } from '../common/types.js';
import { canonicalKind, canonicalValue, type CanonicalKind } from '../rowset/column-batch.js';
import type { PreparedBatch } from '../tablet/tablet-api.js';

export interface TableRuntime {
  readonly info: TableInfo;
  readonly router: PartitionRouter;
}

/** The rows of a prepared batch that go to one tablet: positions in the batch, ascending (undefined: all rows). */
export interface RoutedPart {
  readonly tabletId: string;
  readonly rows: Int32Array | undefined;
}

/**
 * Routes a prepared batch (validated once, prepareArrowBatch) to tablets with the key columns'
 * canonical values: per-tablet row index arrays in row order. Rows that no tablet takes go to
 * `rowErrors` (input row indexes). writeArrow and bulk loads share it.
 */
export function routePrepared(rt: TableRuntime, prepared: PreparedBatch, rowErrors: RowError[]): RoutedPart[] {
  const schema = rt.info.schema;
  const ps = rt.info.partitionSchema;
  const n = prepared.rowCount;
  if (n === 0) return [];
  if (ps.hash.length === 0 && ps.rangeColumns.length === 0 && rt.info.tablets.length === 1) {
    return [{ tabletId: (rt.info.tablets[0] as TabletInfo).tabletId, rows: undefined }];
  }
  const kc = schema.keyColumnCount;
  const kinds = schema.columns.slice(0, kc).map(canonicalKind);
  const tabletOf = new Int32Array(n).fill(-1);
  const slot = new Map<string, number>();
  const key: Value[] = new Array<Value>(kc);
  const routeSlow = (i: number): void => {
    for (let c = 0; c < kc; c++) key[c] = canonicalValue(kinds[c] as CanonicalKind, prepared.columns[c] as Data, i);
    const res = rt.router.routeKey(key);
    if (!res.ok) {
      rowErrors.push({ rowIndex: prepared.inputIndex === undefined ? i : (prepared.inputIndex[i] as number), code: res.code, message: res.message });
      tabletOf[i] = -1;
      return;
    }
    let s = slot.get(res.tabletId);
    if (s === undefined) {
      s = ids.length;
      slot.set(res.tabletId, s);
      ids.push(res.tabletId);
    }
    tabletOf[i] = s;
  };
  // Fixed-width hash columns in a fixed-width key prefix: bucket from the encoded keys; else
  // hash columns that are int32/date: bucket straight from the canonical Float64 values.
  const fast = rt.router.routeKeyBytesBatch(prepared.keyBytes, prepared.keyOffsets, n, tabletOf) ?? rt.router.routeInt32Batch((pos) => {
    const d = pos < kc ? prepared.columns[pos] : undefined;
    return d !== undefined && d.nullCount === 0 && d.offset === 0 && d.values instanceof Float64Array ? d.values : undefined;
  }, n, tabletOf);
  const ids: string[] = fast ?? [];
  if (fast !== undefined) {
    fast.forEach((id, s) => slot.set(id, s));
    for (let i = 0; i < n; i++) if ((tabletOf[i] as number) < 0) routeSlow(i);
  } else {
    for (let i = 0; i < n; i++) routeSlow(i);
  }
  const counts = new Array<number>(ids.length).fill(0);
  for (let i = 0; i < n; i++) {
    const s = tabletOf[i] as number;
    if (s >= 0) counts[s] = (counts[s] as number) + 1;
  }
  const rowsOf = counts.map((c) => new Int32Array(c));
  const fill = new Array<number>(ids.length).fill(0);
  for (let i = 0; i < n; i++) {
    const s = tabletOf[i] as number;
    if (s < 0) continue;
    (rowsOf[s] as Int32Array)[fill[s] as number] = i;
    fill[s] = (fill[s] as number) + 1;
  }
  const parts: RoutedPart[] = [];
  ids.forEach((tabletId, s) => {
    const rows = rowsOf[s] as Int32Array;
    if (rows.length > 0) parts.push({ tabletId, rows: rows.length === n ? undefined : rows });
  });
  return parts;
}
