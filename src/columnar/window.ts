import { assert } from '../common/assert.js';
import type { AggKind } from './aggregate.js';
import { aggregateResultType, createAccumulator } from './aggregate.js';
import type { Column } from './column.js';
import { columnFromValues, columnValue, makeColumn } from './column.js';
import { compareValuesAt } from './filter.js';
import { divRoundHalfAway, pow10n } from './decimal.js';
import { take } from './take.js';

/**
 * Window functions over rows already sorted by (PARTITION BY keys, ORDER BY keys): `order` lists
 * the batch rows in that order, and results are aligned with `order` (position i = row order[i]).
 * Boundaries are flags: partStarts[i] = 1 where a partition starts, peerStarts[i] = 1 where the
 * ORDER BY value changes (or a partition starts).
 */

/** 1 at positions where any of the columns (read at order[i]) differs from position i-1; position 0 is 1. */
export function boundaryFlags(cols: readonly Column[], order: Int32Array): Uint8Array {
  const n = order.length;
  const flags = new Uint8Array(n);
  if (n > 0) flags[0] = 1;
  for (const c of cols) {
    const v = c.validity;
    for (let i = 1; i < n; i++) {
      if (flags[i] === 1) continue;
      const a = order[i - 1] as number, b = order[i] as number;
      const na = v !== null && ((v[a >> 3] as number) & (1 << (a & 7))) === 0;
      const nb = v !== null && ((v[b >> 3] as number) & (1 << (b & 7))) === 0;
      if (na !== nb || (!na && compareValuesAt(c, a, c, b) !== 0)) flags[i] = 1;
    }
  }
  return flags;
}

/** OR of two flag arrays (peer boundaries must include partition boundaries). */
export function orFlags(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) | (b[i] as number);
  return out;
}

function int64Of(vals: Float64Array): Column {
  const out = new BigInt64Array(vals.length);
  const w = new Int32Array(out.buffer);
  for (let i = 0; i < vals.length; i++) { const x = vals[i] as number; w[i << 1] = x | 0; w[(i << 1) + 1] = 0; }
  return makeColumn('int64', vals.length, out, null);
}

export function rowNumber(partStarts: Uint8Array): Column {
  const out = new Float64Array(partStarts.length);
  let k = 0;
  for (let i = 0; i < out.length; i++) { k = partStarts[i] === 1 ? 1 : k + 1; out[i] = k; }
  return int64Of(out);
}

/** RANK(): 1 + number of rows before the peer group in the partition. */
export function rank(partStarts: Uint8Array, peerStarts: Uint8Array): Column {
  const out = new Float64Array(partStarts.length);
  let rowNo = 0, r = 0;
  for (let i = 0; i < out.length; i++) {
    rowNo = partStarts[i] === 1 ? 1 : rowNo + 1;
    if (partStarts[i] === 1 || peerStarts[i] === 1) r = rowNo;
    out[i] = r;
  }
  return int64Of(out);
}

export function denseRank(partStarts: Uint8Array, peerStarts: Uint8Array): Column {
  const out = new Float64Array(partStarts.length);
  let r = 0;
  for (let i = 0; i < out.length; i++) {
    if (partStarts[i] === 1) r = 1; else if (peerStarts[i] === 1) r++;
    out[i] = r;
  }
  return int64Of(out);
}

/**
 * Aggregate over a window: with peerStarts (ORDER BY present) the default frame RANGE BETWEEN
 * UNBOUNDED PRECEDING AND CURRENT ROW (peers included); with peerStarts = null the whole
 * partition. kind: count_star, count, sum, avg, min, max. Result aligned with `order`.
 */
export function windowAggregate(kind: AggKind, input: Column | null, order: Int32Array, partStarts: Uint8Array, peerStarts: Uint8Array | null): Column {
  assert(kind !== 'count_distinct', 'COUNT(DISTINCT) is not a window function here');
  const n = order.length;
  const peers = peerStarts === null ? partStarts : orFlags(partStarts, peerStarts);
  // Per-peer-group aggregates in one grouped pass.
  const peerId = new Int32Array(n);
  let groups = 0;
  for (let i = 0; i < n; i++) { if (peers[i] === 1) groups++; peerId[i] = groups - 1; }
  const spec = { kind: kind === 'avg' ? 'sum' as const : kind, input: input === null ? null : { type: input.type, precision: input.precision, scale: input.scale } };
  const acc = createAccumulator(spec);
  const dense = input === null ? null : take(input, order);
  acc.update(peerId, dense, null, groups);
  const perPeer = acc.result(groups);
  let counts: Column | null = null;
  if (kind === 'avg') {
    const cacc = createAccumulator({ kind: 'count', input: spec.input });
    cacc.update(peerId, dense, null, groups);
    counts = cacc.result(groups);
  }
  // Running combine over peer groups within each partition (per peer group, not per row).
  const resultType = aggregateResultType({ kind, input: spec.input });
  const running: (bigint | number | Uint8Array | string | boolean | null)[] = new Array(groups).fill(null);
  const runningCount: bigint[] = new Array(groups).fill(0n);
  let cur: bigint | number | string | boolean | Uint8Array | null = null;
  let curCount = 0n;
  let bestRow = -1;
  const groupStartsPartition = new Uint8Array(groups);
  for (let i = 0; i < n; i++) if (peers[i] === 1 && partStarts[i] === 1) groupStartsPartition[peerId[i] as number] = 1;
  for (let g = 0; g < groups; g++) {
    if (groupStartsPartition[g] === 1) { cur = null; curCount = 0n; bestRow = -1; }
    const v = columnValue(perPeer, g);
    if (kind === 'min' || kind === 'max') {
      if (v !== null && (bestRow < 0 || compareValuesAt(perPeer, g, perPeer, bestRow) * (kind === 'min' ? -1 : 1) > 0)) bestRow = g;
      running[g] = bestRow < 0 ? null : columnValue(perPeer, bestRow);
      continue;
    }
    if (v !== null) cur = cur === null ? v as bigint | number : (typeof v === 'bigint' ? (cur as bigint) + v : (cur as number) + (v as number));
    if (kind === 'avg' && counts !== null) curCount += columnValue(counts, g) as bigint;
    running[g] = kind === 'count' || kind === 'count_star' ? (cur ?? 0n) : cur;
    runningCount[g] = curCount;
  }
  if (kind === 'avg') {
    for (let g = 0; g < groups; g++) {
      const s = running[g] ?? null, c = runningCount[g] as bigint;
      if (s === null || c === 0n) { running[g] = null; continue; }
      if (resultType.type === 'double') running[g] = (s as number) / Number(c);
      else running[g] = divRoundHalfAway((s as bigint) * pow10n(4), c);
    }
  }
  const perGroup = columnFromValues(resultType.type, running as (bigint | number | string | boolean | Uint8Array | null)[], resultType.precision, resultType.scale);
  return take(perGroup, peerId);
}
