import type { HybridTime } from './hybrid-time.js';
import type { Value } from './types.js';

/**
 * Predicates that storage evaluates during rowset iteration. Values use the API representation
 * of the column's type (see types.ts). Comparisons against NULL never match (SQL semantics).
 */
export type ColumnPredicate =
  | { readonly kind: 'compare'; readonly column: string; readonly op: '=' | '<' | '<=' | '>' | '>='; readonly value: Value }
  | { readonly kind: 'in'; readonly column: string; readonly values: readonly Value[] }
  | { readonly kind: 'isNull'; readonly column: string }
  | { readonly kind: 'isNotNull'; readonly column: string };

export type ReadMode =
  /** Read everything committed when the scan starts. */
  | { readonly kind: 'latest' }
  /** Read exactly the rows committed at or before the timestamp (repeatable). */
  | { readonly kind: 'snapshot'; readonly timestamp: HybridTime };

export interface ScanSpec {
  /** Column names to return, in this order. Empty array: no columns (row count only). Undefined: all. */
  readonly projection?: readonly string[];
  readonly predicates?: readonly ColumnPredicate[];
  readonly readMode?: ReadMode;
  /** Return rows in primary-key order (merges rowsets); otherwise rowset order. */
  readonly ordered?: boolean;
  /** Stop after this many rows (after predicates). */
  readonly limit?: number;
  /** Target rows per output batch. */
  readonly batchRowCount?: number;
}
