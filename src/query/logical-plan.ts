import type { ColumnPredicate } from '../common/scan-spec.js';
import type { TableInfo } from '../common/storage-api.js';
import { conjunctionSelectivity, statsSelectivity, type StatsOf, type TableColumnStats } from './column-stats.js';
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

/**
 * A presence bitmap over integer join keys: a scanned row is kept only when column `column`
 * (an index into the scan's columns) is non-null and bit (v - min) of `bits` is set. Only ever
 * drops rows that cannot match the join it came from.
 */
export interface KeyFilter {
  readonly column: number;
  readonly min: number;
  /** Bits cover min .. min + range. */
  readonly range: number;
  readonly bits: Int32Array;
}

/** lo <= column <= hi, over a scan column index (see Scan.rawRanges). */
export interface RawRange {
  readonly column: number;
  readonly lo: number;
  readonly hi: number;
}

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
      /** The table's rows before any predicate narrowed estimatedRows (set when pushdown does). */
      readonly baseRows?: number;
      /**
       * Which columns someone above the scan reads (set by projection pushdown; absent: all).
       * The others are only inputs of `filter`: they may come out as placeholders.
       */
      readonly outputUsed?: readonly boolean[];
      /** Runtime join filters (set by the executor only): rows whose key cannot match a built join side are skipped. */
      readonly keyFilters?: readonly KeyFilter[];
      /**
       * Inclusive bounds on 8/16/32-bit integer or date columns (set by the executor only, with
       * keyFilters) that the scan checks on the raw Arrow values of the rows the key filters keep,
       * before decoding any column; `rawFilter` is the same condition as an expression, evaluated
       * instead over a batch whose column is not one plain array. Not part of `filter`.
       */
      readonly rawRanges?: readonly RawRange[];
      readonly rawFilter?: Expr;
      /** COMPUTE STATS results of the table (by column name), when computed: estimates then use them. */
      readonly columnStats?: TableColumnStats;
      /** With columnStats: every conjunct pushed into this scan so far (its estimate is their joint selectivity). */
      readonly statsConjuncts?: readonly Expr[];
    })
  | (Out & { readonly kind: 'Values'; readonly rows: readonly (readonly Expr[])[] })
  | (Out & { readonly kind: 'Filter'; readonly input: LogicalPlan; readonly cond: Expr })
  | (Out & { readonly kind: 'Project'; readonly input: LogicalPlan; readonly exprs: readonly Expr[] })
  | (Out & {
      readonly kind: 'Aggregate'; readonly input: LogicalPlan; readonly groups: readonly Expr[]; readonly aggs: readonly AggCall[];
      /** Groups expected to be many (a foreign key): aggregated on the calling thread, not as coprocessor partials. */
      readonly manyGroups?: boolean;
    })
  | (Out & {
      readonly kind: 'Join'; readonly joinType: JoinType; readonly left: LogicalPlan; readonly right: LogicalPlan;
      readonly leftKeys: readonly Expr[]; readonly rightKeys: readonly Expr[];
      /** Over left columns then right columns. */
      readonly residual: Expr | null;
      /** NOT IN semantics for anti joins: a NULL on either side of the key removes the row. */
      readonly nullAware: boolean;
      /**
       * Output columns someone above reads (set by projection pushdown); the others are only
       * join keys / residual inputs here and come out as placeholders (zeros / empty strings).
       */
      readonly emit?: readonly boolean[];
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
    case 'Filter': {
      // A chain of filters over a scan of a table with column stats: their conjuncts together.
      const conds: Expr[] = [p.cond];
      let q: LogicalPlan = p.input;
      while (q.kind === 'Filter') { conds.push(q.cond); q = q.input; }
      const stats = q.kind === 'Scan' ? scanStatsOf(q) : undefined;
      if (stats !== undefined) return Math.max(1, estimateRows(q) * selectivity({ kind: 'and', args: conds, type: p.cond.type }, stats));
      return Math.max(1, estimateRows(p.input) * selectivity(p.cond));
    }
    case 'Project': case 'Window': return estimateRows(p.input);
    case 'Aggregate': {
      if (p.groups.length === 0) return 1;
      const input = estimateRows(p.input);
      const groups = groupsFromStats(p);
      return groups !== null ? Math.max(1, Math.min(input, groups)) : Math.max(1, input * 0.1);
    }
    case 'Join': {
      const l = estimateRows(p.left);
      const r = estimateRows(p.right);
      if (p.joinType === 'semi') {
        const f = p.leftKeys.length > 0 ? uniqueFraction(p.right, p.rightKeys, r) : null;
        return Math.max(1, l * (f ?? 0.5));
      }
      if (p.joinType === 'anti') return l * 0.5;
      if (p.joinType === 'cross' || p.leftKeys.length === 0) return l * r;
      // As the binder's join ordering: a side whose keys cover a scanned table's primary key
      // matches each row of the other side at most once (times its surviving fraction);
      // other equi-joins pair each row with 1/50 of the other side.
      let est = Math.max(l, r, (l * r) / 50);
      const fr = uniqueFraction(p.right, p.rightKeys, r), fl = uniqueFraction(p.left, p.leftKeys, l);
      if (fr !== null) est = Math.min(est, l * fr);
      if (fl !== null) est = Math.min(est, r * fl);
      return Math.max(1, p.joinType === 'left' || p.joinType === 'full' ? Math.max(est, l) : est);
    }
    case 'Sort': return p.limit ?? estimateRows(p.input);
    case 'Limit': return Math.min(p.limit ?? Infinity, estimateRows(p.input));
    case 'Distinct': return estimateRows(p.input) * 0.5;
    case 'Union': return p.inputs.reduce((s, x) => s + estimateRows(x), 0);
  }
}

/**
 * Local column indexes of the relation's primary key when the relation is a (filtered) scan of
 * a keyed table that outputs every key column, else null: a join whose keys on this side cover
 * them matches each row of the other side at most once.
 */
export function primaryKeyColumns(p: LogicalPlan): number[] | null {
  if (p.kind === 'Filter') return primaryKeyColumns(p.input);
  if (p.kind !== 'Scan') return null;
  const keyNames = p.table.schema.columns.slice(0, p.table.schema.keyColumnCount).map((c) => c.name);
  if (keyNames.length === 0) return null;
  const idx = keyNames.map((n) => p.columns.indexOf(n));
  return idx.every((i) => i >= 0) ? idx : null;
}

/** The scan a plan's output column comes from unchanged (through filters, projections, joins), and its column index there. */
export function columnOrigin(p: LogicalPlan, i: number): { scan: Extract<LogicalPlan, { kind: 'Scan' }>; col: number } | null {
  switch (p.kind) {
    case 'Scan': return { scan: p, col: i };
    case 'Filter': case 'Sort': case 'Limit': case 'Distinct': return columnOrigin(p.input, i);
    case 'Project': {
      const e = p.exprs[i];
      return e !== undefined && e.kind === 'col' ? columnOrigin(p.input, e.index) : null;
    }
    case 'Join': {
      const lw = p.left.types.length;
      return i < lw ? columnOrigin(p.left, i) : p.joinType === 'semi' || p.joinType === 'anti' ? null : columnOrigin(p.right, i - lw);
    }
    default: return null;
  }
}

/**
 * When keys (column refs of p) cover the primary key of a table scanned under p: the fraction
 * of that table's rows p keeps (each key then matches at most about once); else null.
 */
function uniqueFraction(p: LogicalPlan, keys: readonly Expr[], rows: number): number | null {
  const origins = keys.map((k) => (k.kind === 'col' ? columnOrigin(p, k.index) : null));
  let best: number | null = null;
  for (const o of origins) {
    if (o === null) continue;
    const schema = o.scan.table.schema;
    const pk = schema.columns.slice(0, schema.keyColumnCount).map((c) => c.name);
    if (pk.length === 0) continue;
    const covered = pk.every((name) => origins.some((x) => x !== null && x.scan === o.scan && o.scan.columns[x.col] === name));
    if (!covered) continue;
    const f = Math.min(1, rows / Math.max(1, o.scan.baseRows ?? o.scan.estimatedRows));
    if (best === null || f < best) best = f;
  }
  return best;
}

/**
 * Fraction of rows a condition keeps: from column statistics where the scan has them (see
 * statsSelectivity), else guessed: an equality with a
 * literal 0.1, a short IN list 0.1 per value (at most 0.5), LIKE 0.1, other conjuncts 0.3; AND multiplies.
 */
export function selectivity(e: Expr, stats?: ScanStats): number {
  if (e.kind === 'and') {
    if (stats !== undefined) return conjunctionSelectivity(e.args, stats.statsOf, stats.rows, (a) => selectivity(a, stats));
    return Math.max(0.0005, e.args.reduce((s, a) => s * selectivity(a), 1));
  }
  if (stats !== undefined) {
    const f = statsSelectivity(e, stats.statsOf, stats.rows);
    if (f !== null) return f;
  }
  if (e.kind === 'call' && e.fn === '=' && e.args.length === 2 && e.args.some((a) => a.kind === 'lit') && e.args.some((a) => a.kind !== 'lit')) return 0.1;
  if (e.kind === 'in' && !e.negated) return Math.min(0.5, 0.1 * e.list.length);
  if (e.kind === 'like' && !e.negated) return 0.1;
  return 0.3;
}

/** Column statistics of a scan's table with its columns resolved by index, for selectivity(). */
export interface ScanStats {
  readonly statsOf: StatsOf;
  readonly rows: number;
}

/** The scan's column stats (undefined when COMPUTE STATS has not run for its table). */
export function scanStatsOf(scan: Extract<LogicalPlan, { kind: 'Scan' }>): ScanStats | undefined {
  const t = scan.columnStats;
  if (t === undefined) return undefined;
  return { statsOf: (i) => { const n = scan.columns[i]; return n === undefined ? undefined : t.columns.get(n); }, rows: t.rowCount };
}

/**
 * Groups of an aggregate by column stats: the product of its group columns' distinct counts
 * (a NULL group counts as one more) when every group key is a plain column of a scan with
 * COMPUTE STATS results; else null.
 */
function groupsFromStats(p: Extract<LogicalPlan, { kind: 'Aggregate' }>): number | null {
  let product = 1;
  for (const g of p.groups) {
    if (g.kind !== 'col') return null;
    const o = columnOrigin(p.input, g.index);
    if (o === null || o.scan.columnStats === undefined) return null;
    const s = o.scan.columnStats.columns.get(o.scan.columns[o.col]!);
    if (s === undefined) return null;
    product *= Math.max(1, s.ndv + (s.nulls > 0 ? 1 : 0));
  }
  return product;
}
