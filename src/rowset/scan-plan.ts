import type * as arrow from 'apache-arrow';
import type { HybridTime } from '../common/hybrid-time.js';
import type { ColumnSchema } from '../common/types.js';
import type { BoundPredicate } from './predicate-eval.js';

/** A column of the tablet schema with its stable id (renames keep it; files refer to columns by id). */
export interface StoredColumn extends ColumnSchema {
  readonly id: number;
}

/** What a rowset iterator needs to produce scan output. */
export interface ScanPlan {
  /** The current tablet schema, with column ids. */
  readonly columns: readonly StoredColumn[];
  readonly keyColumnCount: number;
  /** Indexes into `columns` of the output columns, in output order. */
  readonly output: readonly number[];
  /** Bound to indexes into `columns`. */
  readonly predicates: readonly BoundPredicate[];
  readonly snapshot: HybridTime;
  /** Encoded keys of the output rows are wanted (ordered merges). */
  readonly wantKeys: boolean;
  readonly batchRowCount: number;
  /** Encoded key bounds derived from predicates on the first key column (inclusive lower / upper prefix). */
  readonly lowerKey?: Uint8Array;
  readonly upperPrefix?: Uint8Array;
}

export interface ScanChunk {
  /** One column per plan.output entry. */
  readonly columns: readonly arrow.Data[];
  readonly length: number;
  readonly keys?: readonly Uint8Array[];
}

/** The value a column not present in older data reads as. */
export function missingColumnValue(c: ColumnSchema): ColumnSchema['defaultValue'] {
  return c.defaultValue === undefined ? null : c.defaultValue;
}
