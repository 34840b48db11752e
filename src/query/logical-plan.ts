import type { ColumnPredicate } from '../common/scan-spec.js';
import type { TableInfo } from '../common/storage-api.js';
import type { Expr } from './expr.js';
import type { SqlType } from './vector.js';

/**
 * Logical plan: immutable tagged unions. Every node knows its output columns (`names`, `types`);
 * expressions inside a node refer to its input's columns by index (for Join: left columns, then
 * right columns).
 */
export type AggFn = 'count' | 'count_star' | 'sum' | 'avg' | 'min' | 'max' | 'count_distinct' | 'sum_distinct' | 'avg_distinct' | 'any_value' | 'group_concat' | 'stddev' | 'variance' | 'stddev_samp' | 'var_samp';

export interface AggCall {
  readonly fn: AggFn;
  readonly arg: Expr | null;
  readonly type: SqlType;
}

export type WindowFn = 'row_number' | 'rank' | 'dense_rank' | 'sum' | 'avg' | 'count' | 'count_star' | 'min' | 'max' | 'lag' | 'lead' | 'first_value' | 'last_value';

export interface WindowCall {
  readonly fn: WindowFn;
  readonly arg: Expr | null;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly SortKey[];
  readonly type: SqlType;
  /** lag/lead offset. */
  readonly offset?: number;
  /** ROWS frame as offsets from the current row (-Infinity / Infinity = unbounded). Absent: the default frame. */
  readonly frame?: { readonly start: number; readonly end: number };
}

export interface SortKey {
  readonly expr: Expr;
  readonly desc: boolean;
}

export type JoinType = 'inner' | 'left' | 'right' | 'full' | 'semi' | 'anti' | 'cross';

interface Out {
  readonly names: readonly string[];
  readonly types: readonly SqlType[];
}

export type LogicalPlan =
  | (Out & {
      readonly kind: 'Scan'; readonly db: string; readonly table: TableInfo;
      /** Storage column names, aligned with names/types. */
      readonly columns: readonly string[];
      readonly predicates: readonly ColumnPredicate[];
      /** Evaluated over the scanned columns, after the storage predicates. */
      readonly filter: Expr | null;
      readonly limit: number | null;
      readonly estimatedRows: number;
    })
  | (Out & { readonly kind: 'Values'; readonly rows: readonly (readonly Expr[])[] })
  | (Out & { readonly kind: 'Filter'; readonly input: LogicalPlan; readonly cond: Expr })
  | (Out & { readonly kind: 'Project'; readonly input: LogicalPlan; readonly exprs: readonly Expr[] })
  | (Out & { readonly kind: 'Aggregate'; readonly input: LogicalPlan; readonly groups: readonly Expr[]; readonly aggs: readonly AggCall[] })
  | (Out & {
      readonly kind: 'Join'; readonly joinType: JoinType; readonly left: LogicalPlan; readonly right: LogicalPlan;
      readonly leftKeys: readonly Expr[]; readonly rightKeys: readonly Expr[];
      /** Over left columns then right columns. */
      readonly residual: Expr | null;
      /** NOT IN semantics for anti joins: a NULL on either side of the key removes the row. */
      readonly nullAware: boolean;
    })
  | (Out & { readonly kind: 'Sort'; readonly input: LogicalPlan; readonly keys: readonly SortKey[]; readonly limit: number | null })
  | (Out & { readonly kind: 'Limit'; readonly input: LogicalPlan; readonly limit: number | null; readonly offset: number })
  | (Out & { readonly kind: 'Distinct'; readonly input: LogicalPlan })
  | (Out & { readonly kind: 'Union'; readonly inputs: readonly LogicalPlan[]; readonly all: boolean })
  | (Out & { readonly kind: 'Window'; readonly input: LogicalPlan; readonly calls: readonly WindowCall[] });

export function planInputs(p: LogicalPlan): readonly LogicalPlan[] {
  switch (p.kind) {
    case 'Scan': case 'Values': return [];
    case 'Filter': case 'Project': case 'Aggregate': case 'Sort': case 'Limit': case 'Distinct': case 'Window': return [p.input];
    case 'Join': return [p.left, p.right];
    case 'Union': return p.inputs;
  }
}

/** Estimated output rows, for join ordering and build-side choice. */
export function estimateRows(p: LogicalPlan): number {
  switch (p.kind) {
    case 'Scan': return p.estimatedRows;
    case 'Values': return p.rows.length;
    case 'Filter': return Math.max(1, estimateRows(p.input) * 0.3);
    case 'Project': case 'Window': return estimateRows(p.input);
    case 'Aggregate': return p.groups.length === 0 ? 1 : Math.max(1, estimateRows(p.input) * 0.1);
    case 'Join': {
      const l = estimateRows(p.left);
      const r = estimateRows(p.right);
      if (p.joinType === 'semi' || p.joinType === 'anti') return l * 0.5;
      if (p.joinType === 'cross' || p.leftKeys.length === 0) return l * r;
      return Math.max(l, r);
    }
    case 'Sort': return p.limit ?? estimateRows(p.input);
    case 'Limit': return Math.min(p.limit ?? Infinity, estimateRows(p.input));
    case 'Distinct': return estimateRows(p.input) * 0.5;
    case 'Union': return p.inputs.reduce((s, x) => s + estimateRows(x), 0);
  }
}
