import { assert, unreachable } from '../common/assert.js';
import type { ColumnPredicate } from '../common/scan-spec.js';
import type { Value } from '../common/types.js';
import { andAll, col, columnsUsed, hasOuter, lit, remapColumns, splitConjuncts, type Expr } from './expr.js';
import { mkFilter, mkJoin } from './bind.js';
import { conjunctionSelectivity } from './column-stats.js';
import { columnOrigin, primaryKeyColumns, scanStatsOf, selectivity, type LogicalPlan } from './logical-plan.js';
import type { SqlType } from './vector.js';

/**
 * Rule-based optimizer over the logical plan:
 *  1. predicate pushdown: filters move below projections and joins and into scans, where
 *     simple comparisons become storage ColumnPredicates (storage prunes tablets with them);
 *  2. projection pushdown: every node keeps only the columns someone above reads, so scans
 *     fetch only the referenced columns;
 *  3. limit pushdown into a scan without a residual filter.
 */
export function optimize(plan: LogicalPlan): LogicalPlan {
  const pushed = eagerCounts(pushFilters(plan));
  const pruned = prune(pushed, pushed.types.map(() => true)).plan;
  return pushLimits(pruned);
}

// ---------- eager aggregation ----------

/** Applies eagerCount everywhere in the plan, bottom-up. */
function eagerCounts(p: LogicalPlan): LogicalPlan {
  let q: LogicalPlan;
  switch (p.kind) {
    case 'Scan': case 'Values': return p;
    case 'Join': q = { ...p, left: eagerCounts(p.left), right: eagerCounts(p.right) }; break;
    case 'Union': q = { ...p, inputs: p.inputs.map(eagerCounts) }; break;
    case 'Filter': case 'Project': case 'Aggregate': case 'Sort': case 'Limit': case 'Distinct': case 'Window':
      q = { ...p, input: eagerCounts(p.input) } as LogicalPlan; break;
    default: return unreachable(p, 'plan');
  }
  if (q.kind !== 'Aggregate') return q;
  const e = eagerCount(q);
  if (e !== null) return e;
  return groupsByKey(q) ?? q;
}

/**
 * Group columns that a table's primary key (also grouped) determines become ANY_VALUE
 * aggregates: TPC-H Q10 groups by c_custkey and six more customer columns (four strings), which
 * then no longer need hashing. A Project restores the output order. Columns are matched to
 * their scan through filters, projections and joins (columnOrigin); rows of one group share the
 * key, so they share the row those columns come from (or its NULL padding). Null when no group
 * column is determined that way.
 */
function groupsByKey(p: Extract<LogicalPlan, { kind: 'Aggregate' }>): LogicalPlan | null {
  if (p.groups.length < 2) return null;
  const origins = p.groups.map((g) => (g.kind === 'col' ? columnOrigin(p.input, g.index) : null));
  const dependent = new Array<boolean>(p.groups.length).fill(false);
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i];
    if (o === null || o === undefined) continue;
    const schema = o.scan.table.schema;
    const pk = schema.columns.slice(0, schema.keyColumnCount).map((c) => c.name);
    if (pk.length === 0 || pk.includes(o.scan.columns[o.col]!)) continue;
    const keyed = pk.every((name) => origins.some((x) => x !== null && x !== undefined && x.scan === o.scan && x.scan.columns[x.col] === name));
    if (keyed) dependent[i] = true;
  }
  if (!dependent.some((d) => d)) return null;
  const groups = p.groups.filter((_, i) => !dependent[i]);
  const extra = p.groups.filter((_, i) => dependent[i]);
  const ng = groups.length, na = p.aggs.length;
  const agg: LogicalPlan = {
    ...p, groups,
    aggs: [...p.aggs, ...extra.map((g) => ({ fn: 'any_value' as const, arg: g, type: g.type }))],
    names: [...p.names.slice(0, p.groups.length).filter((_, i) => !dependent[i]), ...p.names.slice(p.groups.length), ...extra.map((_, k) => `__dep${k}`)],
    types: [...groups.map((g) => g.type), ...p.aggs.map((a) => a.type), ...extra.map((g) => g.type)],
  };
  const exprs: Expr[] = [];
  let gi = 0, di = 0;
  for (let i = 0; i < p.groups.length; i++) exprs.push(dependent[i] ? col(ng + na + di++, p.groups[i]!.type) : col(gi++, p.groups[i]!.type));
  for (let k = 0; k < na; k++) exprs.push(col(ng + k, p.aggs[k]!.type));
  return { kind: 'Project', input: agg, exprs, names: p.names, types: p.types };
}

/**
 * COUNTs per left row of a LEFT JOIN, computed before the join (TPC-H Q13: orders per customer):
 * Aggregate(groups = the left join keys, which cover the left table's primary key; aggs =
 * COUNT(right column) / COUNT(*)) over L LEFT JOIN R ON keys becomes
 * Project(keys, COALESCE(n, 0 | 1)) over L LEFT JOIN Aggregate(R by its keys; counts). Each left
 * row is its own group and meets at most one pre-counted right group, so no pair of rows is
 * ever materialized and the counting runs over R alone (where the coprocessor can take it).
 * Null when the aggregate is not of that shape.
 */
function eagerCount(p: Extract<LogicalPlan, { kind: 'Aggregate' }>): LogicalPlan | null {
  const j = p.input;
  if (j.kind !== 'Join' || j.joinType !== 'left' || j.residual !== null || j.nullAware || j.leftKeys.length === 0) return null;
  const lw = j.left.types.length;
  const lk: number[] = [], rk: number[] = [];
  for (let k = 0; k < j.leftKeys.length; k++) {
    const a = j.leftKeys[k]!, b = j.rightKeys[k]!;
    if (a.kind !== 'col' || b.kind !== 'col') return null;
    lk.push(a.index); rk.push(b.index);
  }
  // Groups: exactly the left key columns; they must make left rows unique.
  if (p.groups.length !== lk.length || !p.groups.every((g) => g.kind === 'col' && lk.includes(g.index))) return null;
  if (new Set(p.groups.map((g) => (g.kind === 'col' ? g.index : -1))).size !== lk.length) return null;
  const pk = primaryKeyColumns(j.left);
  if (pk === null || !pk.every((i) => lk.includes(i))) return null;
  if (p.aggs.length === 0) return null;
  for (const a of p.aggs) {
    if (a.fn === 'count_star') continue;
    if (a.fn !== 'count' || a.arg === null || a.arg.kind !== 'col' || a.arg.index < lw) return null;
  }
  const rightAgg: LogicalPlan = {
    kind: 'Aggregate', input: j.right, manyGroups: true,
    groups: rk.map((i) => col(i, j.right.types[i]!)),
    aggs: p.aggs.map((a) => (a.fn === 'count_star' || a.arg === null ? a : { ...a, arg: remapColumns(a.arg, (i) => i - lw) })),
    names: [...rk.map((i) => j.right.names[i]!), ...p.aggs.map((_, i) => `__count${i}`)],
    types: [...rk.map((i) => j.right.types[i]!), ...p.aggs.map((a) => a.type)],
  };
  const join = mkJoin('left', j.left, rightAgg, j.leftKeys, rk.map((i, k) => col(k, j.right.types[i]!)), null);
  const exprs: Expr[] = [
    ...p.groups,
    ...p.aggs.map((a, i): Expr => ({
      kind: 'call', fn: 'coalesce', type: a.type,
      args: [col(lw + rk.length + i, a.type), lit(a.fn === 'count_star' ? 1 : 0, a.type)],
    })),
  ];
  return { kind: 'Project', input: join, exprs, names: p.names, types: p.types };
}

// ---------- predicate pushdown ----------

function pushFilters(p: LogicalPlan): LogicalPlan {
  switch (p.kind) {
    case 'Filter': {
      const input = pushFilters(p.input);
      return pushInto(input, splitConjuncts(p.cond));
    }
    case 'Scan': case 'Values': return p;
    case 'Project': return { ...p, input: pushFilters(p.input) };
    case 'Aggregate': return { ...p, input: pushFilters(p.input) };
    case 'Join': {
      const j = { ...p, left: pushFilters(p.left), right: pushFilters(p.right) };
      return (j.joinType === 'semi' || j.joinType === 'anti') ? pushSemiJoin(j) : j;
    }
    case 'Sort': case 'Limit': case 'Distinct': case 'Window': return { ...p, input: pushFilters(p.input) } as LogicalPlan;
    case 'Union': return { ...p, inputs: p.inputs.map(pushFilters) };
    default: return unreachable(p, 'plan');
  }
}

function pushInto(p: LogicalPlan, conjuncts: Expr[]): LogicalPlan {
  if (conjuncts.length === 0) return p;
  if (conjuncts.some(hasOuter)) return mkFilter(p, andAll(conjuncts));
  switch (p.kind) {
    case 'Scan': return scanWithConjuncts(p, conjuncts);
    case 'Filter': return pushInto(p.input, [...splitConjuncts(p.cond), ...conjuncts]);
    case 'Project': {
      // Substitute the projection's expressions; push what only reads plain columns or cheap exprs.
      const down: Expr[] = [];
      const keep: Expr[] = [];
      for (const c of conjuncts) {
        const used = [...columnsUsed(c)];
        if (used.every((i) => p.exprs[i]!.kind !== 'subquery' && p.exprs[i]!.kind !== 'inSubquery')) {
          down.push(substitute(c, p.exprs));
        } else keep.push(c);
      }
      const input = pushInto(p.input, down);
      return mkFilter({ ...p, input }, andAll(keep));
    }
    case 'Join': {
      const lw = p.left.types.length;
      const leftOnly: Expr[] = [], rightOnly: Expr[] = [], stay: Expr[] = [];
      const jt = p.joinType;
      for (const c of conjuncts) {
        const used = [...columnsUsed(c)];
        if (used.every((i) => i < lw) && (jt === 'inner' || jt === 'cross' || jt === 'left' || jt === 'semi' || jt === 'anti')) leftOnly.push(c);
        else if (used.length > 0 && used.every((i) => i >= lw) && (jt === 'inner' || jt === 'cross' || jt === 'right')) rightOnly.push(remapColumns(c, (i) => i - lw));
        else stay.push(c);
      }
      const left = pushInto(p.left, leftOnly);
      const right = pushInto(p.right, rightOnly);
      const joined = mkJoin(p.joinType, left, right, p.leftKeys, p.rightKeys, p.residual, p.nullAware);
      return mkFilter(joined, andAll(stay));
    }
    default:
      return mkFilter(p, andAll(conjuncts));
  }
}

/**
 * A semi / anti join whose keys read one side of an inner join below it moves onto that side
 * (through a projection of plain columns), so it filters before the join multiplies rows
 * (TPC-H Q18: o_orderkey IN (...) applied to orders, not to orders x lineitem x customer).
 */
function pushSemiJoin(p: Extract<LogicalPlan, { kind: 'Join' }>): LogicalPlan {
  if (p.residual !== null) return p;
  let left = p.left;
  let keys = p.leftKeys;
  let project: Extract<LogicalPlan, { kind: 'Project' }> | null = null;
  if (left.kind === 'Project' && left.exprs.every((e) => e.kind === 'col')) {
    project = left;
    const exprs = left.exprs;
    keys = keys.map((k) => remapColumns(k, (i) => (exprs[i] as Extract<Expr, { kind: 'col' }>).index));
    left = left.input;
  }
  if (left.kind !== 'Join' || (left.joinType !== 'inner' && left.joinType !== 'cross')) return p;
  const lw = left.left.types.length;
  const used = new Set<number>();
  for (const k of keys) for (const i of columnsUsed(k)) used.add(i);
  if (used.size === 0) return p;
  let inner: LogicalPlan;
  if ([...used].every((i) => i < lw)) {
    const pushed = pushSemiJoin(mkJoin(p.joinType, left.left, p.right, keys, p.rightKeys, null, p.nullAware) as Extract<LogicalPlan, { kind: 'Join' }>);
    inner = mkJoin(left.joinType, pushed, left.right, left.leftKeys, left.rightKeys, left.residual, left.nullAware);
  } else if ([...used].every((i) => i >= lw)) {
    const pushed = pushSemiJoin(mkJoin(p.joinType, left.right, p.right, keys.map((k) => remapColumns(k, (i) => i - lw)), p.rightKeys, null, p.nullAware) as Extract<LogicalPlan, { kind: 'Join' }>);
    inner = mkJoin(left.joinType, left.left, pushed, left.leftKeys, left.rightKeys, left.residual, left.nullAware);
  } else {
    return p;
  }
  return project === null ? inner : { ...project, input: inner };
}

function substitute(e: Expr, exprs: readonly Expr[]): Expr {
  // mapExpr would revisit substituted subtrees; do a direct recursive replace.
  return replaceCols(e, (i) => exprs[i]!);
}

function replaceCols(e: Expr, f: (i: number) => Expr): Expr {
  switch (e.kind) {
    case 'col': return f(e.index);
    case 'outer': case 'lit': case 'subquery': return e;
    case 'call': case 'and': case 'or': return { ...e, args: e.args.map((a) => replaceCols(a, f)) } as Expr;
    case 'not': case 'isNull': case 'cast': case 'inSubquery': return { ...e, arg: replaceCols(e.arg, f) } as Expr;
    case 'in': return { ...e, arg: replaceCols(e.arg, f), list: e.list.map((a) => replaceCols(a, f)) };
    case 'like': return { ...e, arg: replaceCols(e.arg, f), pattern: replaceCols(e.pattern, f) };
    case 'case': return {
      ...e,
      whens: e.whens.map(([w, r]) => [replaceCols(w, f), replaceCols(r, f)] as const),
      otherwise: e.otherwise === null ? null : replaceCols(e.otherwise, f),
    };
  }
}

/** Executor literal -> storage API value for a column of type t; undefined when not exact. */
function apiValue(v: number | bigint | string | Uint8Array | null, t: SqlType): Value | undefined {
  if (v === null) return undefined;
  switch (t.type) {
    case 'string': return typeof v === 'string' ? v : undefined;
    case 'binary': return v instanceof Uint8Array ? v : undefined;
    case 'bool': return typeof v === 'number' ? v !== 0 : undefined;
    case 'int8': case 'int16': case 'int32': case 'date':
      return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
    case 'timestamp':
      return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
    case 'int64': case 'decimal':
      return typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    case 'float': return undefined;
    case 'double': return typeof v === 'number' ? v : undefined;
  }
}

function toColumnPredicate(c: Expr, scan: Extract<LogicalPlan, { kind: 'Scan' }>): ColumnPredicate | null {
  const name = (i: number): string => scan.columns[i]!;
  if (c.kind === 'call' && ['=', '<', '<=', '>', '>='].includes(c.fn) && c.args.length === 2) {
    let [a, b] = c.args as [Expr, Expr];
    let op = c.fn as '=' | '<' | '<=' | '>' | '>=';
    if (a.kind === 'lit' && b.kind === 'col') {
      [a, b] = [b, a];
      op = op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : op;
    }
    if (a.kind !== 'col' || b.kind !== 'lit') return null;
    const t = scan.types[a.index]!;
    const v = apiValue(b.value, t);
    if (v === undefined) return null;
    return { kind: 'compare', column: name(a.index), op, value: v };
  }
  if (c.kind === 'in' && !c.negated && c.arg.kind === 'col' && c.list.every((x) => x.kind === 'lit')) {
    const t = scan.types[c.arg.index]!;
    const values: Value[] = [];
    for (const x of c.list) {
      const v = apiValue((x as Extract<Expr, { kind: 'lit' }>).value, t);
      if (v === undefined) return null;
      values.push(v);
    }
    return { kind: 'in', column: name(c.arg.index), values };
  }
  if (c.kind === 'isNull' && c.arg.kind === 'col') {
    return c.negated ? { kind: 'isNotNull', column: name(c.arg.index) } : { kind: 'isNull', column: name(c.arg.index) };
  }
  return null;
}

function scanWithConjuncts(scan: Extract<LogicalPlan, { kind: 'Scan' }>, conjuncts: Expr[]): LogicalPlan {
  const predicates = [...scan.predicates];
  const residual = splitConjuncts(scan.filter);
  for (const c of conjuncts) {
    const cp = toColumnPredicate(c, scan);
    if (cp !== null) predicates.push(cp);
    else residual.push(c);
  }
  const stats = scanStatsOf(scan);
  if (stats !== undefined) {
    // Estimated from every conjunct pushed so far: bounds on one column intersect across pushes.
    const all = [...(scan.statsConjuncts ?? []), ...conjuncts];
    const base = scan.baseRows ?? scan.estimatedRows;
    const sel = conjunctionSelectivity(all, stats.statsOf, stats.rows, (c) => selectivity(c, stats));
    return { ...scan, predicates, filter: andAll(residual), estimatedRows: Math.max(1, Math.round(base * sel)), baseRows: base, statsConjuncts: all };
  }
  const sel = Math.max(0.0005, conjuncts.reduce((x, c) => x * selectivity(c), 1));
  return { ...scan, predicates, filter: andAll(residual), estimatedRows: Math.max(1, Math.round(scan.estimatedRows * sel)), baseRows: scan.baseRows ?? scan.estimatedRows };
}

// ---------- projection pushdown ----------

interface Pruned {
  readonly plan: LogicalPlan;
  /** old output index -> new output index (-1 = dropped) */
  readonly map: Int32Array;
}

function mapOf(n: number, keep: readonly boolean[]): Int32Array {
  const m = new Int32Array(n).fill(-1);
  let k = 0;
  for (let i = 0; i < n; i++) if (keep[i]) m[i] = k++;
  return m;
}

function need(width: number, required: readonly boolean[], exprs: readonly (Expr | null)[], offset = 0): boolean[] {
  const out = new Array<boolean>(width).fill(false);
  for (let i = 0; i < width; i++) out[i] = required[i + offset] === true;
  for (const e of exprs) {
    if (e === null) continue;
    for (const i of columnsUsed(e)) if (i - offset >= 0 && i - offset < width) out[i - offset] = true;
  }
  return out;
}

function remap(e: Expr, m: Int32Array): Expr {
  return remapColumns(e, (i) => {
    const j = m[i]!;
    assert(j >= 0, `pruned column #${i} is still referenced`);
    return j;
  });
}

function prune(p: LogicalPlan, required: readonly boolean[]): Pruned {
  const width = p.types.length;
  switch (p.kind) {
    case 'Scan': {
      const keep = need(width, required, [p.filter]);
      const m = mapOf(width, keep);
      const idx = keep.flatMap((k, i) => (k ? [i] : []));
      const used = idx.map((i) => required[i] === true);
      // statsConjuncts index the unpruned columns: dropped (estimates are settled by now).
      const { outputUsed: _stale, statsConjuncts: _pushed, ...rest } = p;
      return {
        plan: {
          ...rest,
          columns: idx.map((i) => p.columns[i]!), names: idx.map((i) => p.names[i]!), types: idx.map((i) => p.types[i]!),
          filter: p.filter === null ? null : remap(p.filter, m),
          ...(used.every((u) => u) ? {} : { outputUsed: used }),
        },
        map: m,
      };
    }
    case 'Values': return { plan: p, map: Int32Array.from(p.types.map((_, i) => i)) };
    case 'Filter': {
      const inner = prune(p.input, need(width, required, [p.cond]));
      // The filter's output equals its input's: keep every column the input kept.
      return { plan: { ...p, input: inner.plan, cond: remap(p.cond, inner.map), names: inner.plan.names, types: inner.plan.types }, map: inner.map };
    }
    case 'Project': {
      const keepIdx = p.exprs.flatMap((_, i) => (required[i] ? [i] : []));
      const exprs = keepIdx.map((i) => p.exprs[i]!);
      const inner = prune(p.input, need(p.input.types.length, [], exprs));
      return {
        plan: { ...p, input: inner.plan, exprs: exprs.map((e) => remap(e, inner.map)), names: keepIdx.map((i) => p.names[i]!), types: keepIdx.map((i) => p.types[i]!) },
        map: mapOf(width, p.exprs.map((_, i) => required[i] === true)),
      };
    }
    case 'Aggregate': {
      const g = p.groups.length;
      const keepAgg = p.aggs.map((_, k) => required[g + k] === true);
      const aggs = p.aggs.filter((_, k) => keepAgg[k]);
      const inner = prune(p.input, need(p.input.types.length, [], [...p.groups, ...aggs.map((a) => a.arg)]));
      const keep = [...p.groups.map(() => true), ...keepAgg];
      return {
        plan: {
          ...p, input: inner.plan,
          groups: p.groups.map((e) => remap(e, inner.map)),
          aggs: aggs.map((a) => ({ ...a, arg: a.arg === null ? null : remap(a.arg, inner.map) })),
          names: p.names.filter((_, i) => keep[i]), types: p.types.filter((_, i) => keep[i]),
        },
        map: mapOf(width, keep),
      };
    }
    case 'Join': {
      const lw = p.left.types.length;
      const rw = p.right.types.length;
      const semi = p.joinType === 'semi' || p.joinType === 'anti';
      const reqL = new Array<boolean>(lw).fill(false);
      const reqR = new Array<boolean>(rw).fill(false);
      for (let i = 0; i < lw; i++) reqL[i] = required[i] === true;
      if (!semi) for (let i = 0; i < rw; i++) reqR[i] = required[lw + i] === true;
      for (const e of p.leftKeys) for (const i of columnsUsed(e)) reqL[i] = true;
      for (const e of p.rightKeys) for (const i of columnsUsed(e)) reqR[i] = true;
      if (p.residual !== null) for (const i of columnsUsed(p.residual)) { if (i < lw) reqL[i] = true; else reqR[i - lw] = true; }
      const L = prune(p.left, reqL);
      const R = prune(p.right, reqR);
      const newLw = L.plan.types.length;
      const combined = new Int32Array(lw + rw);
      for (let i = 0; i < lw; i++) combined[i] = L.map[i]!;
      for (let i = 0; i < rw; i++) combined[lw + i] = R.map[i]! < 0 ? -1 : newLw + R.map[i]!;
      const plan = mkJoin(p.joinType, L.plan, R.plan,
        p.leftKeys.map((e) => remap(e, L.map)), p.rightKeys.map((e) => remap(e, R.map)),
        p.residual === null ? null : remap(p.residual, combined), p.nullAware);
      const emit = new Array<boolean>(plan.types.length).fill(false);
      for (let i = 0; i < lw; i++) if (L.map[i]! >= 0 && required[i] === true) emit[L.map[i]!] = true;
      if (!semi) for (let i = 0; i < rw; i++) if (R.map[i]! >= 0 && required[lw + i] === true) emit[newLw + R.map[i]!] = true;
      return { plan: emit.every((x) => x) ? plan : { ...plan, emit } as LogicalPlan, map: semi ? L.map : combined };
    }
    case 'Sort': {
      const inner = prune(p.input, need(width, required, p.keys.map((k) => k.expr)));
      return { plan: { ...p, input: inner.plan, keys: p.keys.map((k) => ({ ...k, expr: remap(k.expr, inner.map) })), names: inner.plan.names, types: inner.plan.types }, map: inner.map };
    }
    case 'Limit': {
      const inner = prune(p.input, required);
      return { plan: { ...p, input: inner.plan, names: inner.plan.names, types: inner.plan.types }, map: inner.map };
    }
    case 'Distinct': {
      const inner = prune(p.input, p.types.map(() => true));
      return { plan: { ...p, input: inner.plan }, map: inner.map };
    }
    case 'Union': {
      const inputs = p.inputs.map((x) => prune(x, x.types.map(() => true)).plan);
      return { plan: { ...p, inputs }, map: Int32Array.from(p.types.map((_, i) => i)) };
    }
    case 'Window': {
      const iw = p.input.types.length;
      const exprs: Expr[] = [];
      for (const c of p.calls) {
        if (c.arg !== null) exprs.push(c.arg);
        exprs.push(...c.partitionBy, ...c.orderBy.map((k) => k.expr));
      }
      const inner = prune(p.input, need(iw, required, exprs));
      const niw = inner.plan.types.length;
      const m = new Int32Array(width);
      for (let i = 0; i < iw; i++) m[i] = inner.map[i]!;
      for (let k = 0; k < p.calls.length; k++) m[iw + k] = niw + k;
      const calls = p.calls.map((c) => ({
        ...c,
        arg: c.arg === null ? null : remap(c.arg, inner.map),
        partitionBy: c.partitionBy.map((e) => remap(e, inner.map)),
        orderBy: c.orderBy.map((k) => ({ ...k, expr: remap(k.expr, inner.map) })),
      }));
      return {
        plan: { ...p, input: inner.plan, calls, names: [...inner.plan.names, ...p.calls.map((_, k) => `w${k}`)], types: [...inner.plan.types, ...p.calls.map((c) => c.type)] },
        map: m,
      };
    }
    default: return unreachable(p, 'plan');
  }
}

// ---------- limit pushdown ----------

function pushLimits(p: LogicalPlan): LogicalPlan {
  switch (p.kind) {
    case 'Limit': {
      const input = pushLimits(p.input);
      if (p.limit !== null && input.kind === 'Scan' && input.filter === null) {
        return { ...p, input: { ...input, limit: p.limit + p.offset } };
      }
      if (p.limit !== null && input.kind === 'Project' && input.input.kind === 'Scan' && input.input.filter === null) {
        return { ...p, input: { ...input, input: { ...input.input, limit: p.limit + p.offset } } };
      }
      return { ...p, input };
    }
    case 'Scan': case 'Values': return p;
    case 'Join': return { ...p, left: pushLimits(p.left), right: pushLimits(p.right) };
    case 'Union': return { ...p, inputs: p.inputs.map(pushLimits) };
    case 'Filter': case 'Project': case 'Aggregate': case 'Sort': case 'Distinct': case 'Window':
      return { ...p, input: pushLimits(p.input) } as LogicalPlan;
    default: return unreachable(p, 'plan');
  }
}

export function explain(p: LogicalPlan, indent = ''): string[] {
  const line = (s: string): string => `${indent}${s}`;
  const kids = (q: LogicalPlan): string[] => explain(q, `${indent}  `);
  switch (p.kind) {
    case 'Scan': {
      const preds = p.predicates.map((c) => c.kind === 'compare' ? `${c.column} ${c.op} ${String(c.value)}` : c.kind === 'in' ? `${c.column} IN (${c.values.length})` : `${c.column} ${c.kind}`);
      return [line(`Scan ${p.db}.${p.table.name} columns=[${p.columns.join(', ')}]${preds.length ? ` predicates=[${preds.join(' AND ')}]` : ''}${p.filter ? ' +filter' : ''}${p.limit !== null ? ` limit=${p.limit}` : ''} est_rows=${p.estimatedRows}`)];
    }
    case 'Values': return [line(`Values rows=${p.rows.length}`)];
    case 'Filter': return [line('Filter'), ...kids(p.input)];
    case 'Project': return [line(`Project [${p.names.join(', ')}]`), ...kids(p.input)];
    case 'Aggregate': return [line(`HashAggregate groups=${p.groups.length} aggs=[${p.aggs.map((a) => a.fn).join(', ')}]`), ...kids(p.input)];
    case 'Join': return [line(`HashJoin ${p.joinType} keys=${p.leftKeys.length}${p.residual ? ' +residual' : ''} (build=right)`), ...kids(p.left), ...kids(p.right)];
    case 'Sort': return [line(`Sort keys=${p.keys.length}${p.limit !== null ? ` top=${p.limit}` : ''}`), ...kids(p.input)];
    case 'Limit': return [line(`Limit ${p.limit ?? 'all'} offset ${p.offset}`), ...kids(p.input)];
    case 'Distinct': return [line('Distinct'), ...kids(p.input)];
    case 'Union': return [line(`Union${p.all ? ' all' : ''}`), ...p.inputs.flatMap(kids)];
    case 'Window': return [line(`Window [${p.calls.map((c) => c.fn).join(', ')}]`), ...kids(p.input)];
    default: return unreachable(p, 'plan');
  }
}
