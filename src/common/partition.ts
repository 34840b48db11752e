import type { Row } from './types.js';

/**
 * A table's partition schema, as in Kudu: zero or more levels of hash bucketing, then an
 * optional range partitioning, all over primary-key columns. Each combination of one bucket
 * per hash level and one range partition is a tablet.
 */
export interface HashLevel {
  readonly columns: readonly string[];
  readonly buckets: number;
  readonly seed: number;
}

/** Bounds are rows of the range columns' values; lower inclusive, upper exclusive, undefined = unbounded. */
export interface RangeBounds {
  readonly lower?: Row;
  readonly upper?: Row;
}

export interface PartitionSchema {
  readonly hash: readonly HashLevel[];
  /** Empty when the table has no range partitioning (one unbounded range). */
  readonly rangeColumns: readonly string[];
}
