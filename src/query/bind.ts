import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { StorageApi, TableInfo } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, typeToSql, type ColumnSchema, type Value } from '../common/types.js';
import type { ColumnStatsStore } from './column-stats.js';
import { parseDate, parseTimestamp } from './dates.js';
import { evalExpr, pow10 } from './eval.js';
import {
  BOOL, DATE, DOUBLE, INT64, NULLTYPE, STRING, TIMESTAMP, andAll, arithmeticType, col, columnsUsed, commonType,
  decimalType, exprToString, hasInner, hasOuter, isFloatType, isIntType, isNumericType, lit, mapExpr, remapColumns,
  sameType, scaleOf, splitConjuncts, type Expr, type LitValue,
} from './expr.js';
import { columnOrigin, estimateRows, primaryKeyColumns, type AggCall, type AggFn, type JoinType, type LogicalPlan, type SortKey, type WindowCall, type WindowFn } from './logical-plan.js';
import { canonBig, cellValue, exactAt, type SqlType } from './vector.js';

/**
 * Binder: node-sql-parser AST -> logical plan. Resolves names against the catalog, settles
 * types (inserting casts), folds constants, decorrelates subqueries into semi / anti / left
 * joins, and orders inner joins greedily from table statistics.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
type Ast = any;

export interface BoundCol {
  readonly qualifier: string | null;
  readonly name: string;
  readonly type: SqlType;
  readonly nullable: boolean;
  readonly db?: string;
  readonly table?: string;
  readonly originalName?: string;
  /** Hidden columns (auto-increment key) are not expanded by `*`. */
  readonly hidden?: boolean;
}

export interface Rel {
  readonly plan: LogicalPlan;
  readonly cols: readonly BoundCol[];
}

export interface BindEnv {
  readonly storage: StorageApi;
  readonly database: string | null;
  readonly sql: string;
  /** Session-level values for DATABASE(), USER(), CONNECTION_ID(), LAST_INSERT_ID(), @@vars, @vars. */
  readonly sessionValue: (name: string) => { value: LitValue; type: SqlType } | undefined;
  readonly ctes: Map<string, { ast: Ast; columns: string[] | null }>;
  /** COMPUTE STATS results (absent: estimates use row counts and guesses only). */
  readonly columnStats?: ColumnStatsStore;
}

export function unsupported(what: string): never {
  throw new SaigaError('NotSupported', `${what} is not supported`);
}

function bindError(msg: string): never {
  throw new SaigaError('BindError', msg);
}

// ---------- plan constructors (settle names/types) ----------

export function mkProject(input: LogicalPlan, exprs: readonly Expr[], names: readonly string[]): LogicalPlan {
  return { kind: 'Project', input, exprs, names, types: exprs.map((e) => e.type) };
}

export function mkFilter(input: LogicalPlan, cond: Expr | null): LogicalPlan {
  if (cond === null) return input;
  return { kind: 'Filter', input, cond, names: input.names, types: input.types };
}

export function mkJoin(joinType: JoinType, left: LogicalPlan, right: LogicalPlan, leftKeys: readonly Expr[], rightKeys: readonly Expr[], residual: Expr | null, nullAware = false): LogicalPlan {
  const semi = joinType === 'semi' || joinType === 'anti';
  return {
    kind: 'Join', joinType, left, right, leftKeys, rightKeys, residual, nullAware,
    names: semi ? left.names : [...left.names, ...right.names],
    types: semi ? left.types : [...left.types, ...right.types],
  };
}

function relProject(rel: Rel, exprs: readonly Expr[], cols: readonly BoundCol[]): Rel {
  return { plan: mkProject(rel.plan, exprs, cols.map((c) => c.name)), cols };
}

// ---------- literals and types ----------

export function columnType(c: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>): SqlType {
  return c.type === 'decimal' ? { type: 'decimal', precision: c.precision ?? 38, scale: c.scale ?? 0 } : { type: c.type };
}

/** API value (storage representation) -> executor literal. */
export function valueToLit(v: Value | undefined, t: SqlType): LitValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return canonBig(v);
  if (typeof v === 'string' && t.type !== 'string') {
    if (t.type === 'date') return parseDate(v);
    if (t.type === 'timestamp') return parseTimestamp(v);
  }
  return v;
}

export function numberLiteral(text: string): Expr {
  if (/^-?\d+$/.test(text)) {
    const x = Number(text);
    if (Number.isSafeInteger(x)) return lit(x, INT64);
    const b = BigInt(text);
    // Beyond BIGINT, MySQL types an integer literal DECIMAL(65,0); ours stops at 38 digits.
    if (b <= 9223372036854775807n && b >= -9223372036854775808n) return lit(b, INT64);
    return lit(b, decimalType(text.replace(/^-/, '').length, 0));
  }
  if (/[eE]/.test(text)) return lit(Number(text), DOUBLE);
  const m = /^(-?)(\d*)\.(\d*)$/.exec(text);
  if (m === null) return lit(Number(text), DOUBLE);
  const scale = m[3]!.length;
  const digits = (m[2]! + m[3]!).replace(/^0+/, '') || '0';
  const unscaled = Number(`${m[1]}${digits}`);
  return lit(Number.isSafeInteger(unscaled) ? unscaled : BigInt(`${m[1]}${digits}`), decimalType(Math.max(digits.length, scale + 1), scale));
}

/** Casts an expression to a type, folding literals. */
export function coerce(e: Expr, t: SqlType): Expr {
  if (sameType(e.type, t)) return e.type === t ? e : e.kind === 'lit' ? { ...e, type: t } : e;
  if (e.kind === 'lit' && e.value === null) return lit(null, t);
  return fold({ kind: 'cast', arg: e, type: t });
}

const ONE_ROW = { columns: [], length: 1 };

/** Constant folding: a node whose children are all literals becomes a literal. */
export function fold(e: Expr): Expr {
  if (e.kind === 'lit' || e.kind === 'col' || e.kind === 'outer' || e.kind === 'subquery' || e.kind === 'inSubquery') return e;
  let allLit = true;
  mapExpr(e, (x) => { if (x.kind === 'col' || x.kind === 'outer' || x.kind === 'subquery' || x.kind === 'inSubquery') allLit = false; return x; });
  if (!allLit) return e;
  try {
    const v = evalExpr(e, ONE_ROW);
    if (v.valid !== null && v.valid[0] !== 1) return lit(null, e.type);
    return lit(v.kind === 'num' ? exactAt(v, 0) : (v.values[0] as LitValue), e.type);
  } catch (err) {
    if (err instanceof SaigaError && err.code === 'NotSupported') throw err;
    return e;
  }
}

function call(fn: string, args: readonly Expr[], type: SqlType): Expr {
  return fold({ kind: 'call', fn, args, type });
}

/** Same executor representation: hash keys and comparisons need no cast. */
export function keyCompatible(a: SqlType, b: SqlType): boolean {
  if (sameType(a, b)) return true;
  const an = isNumericType(a.type), bn = isNumericType(b.type);
  return an && bn && scaleOf(a) === scaleOf(b) && a.type !== 'bool' && b.type !== 'bool';
}

function compare(op: string, a: Expr, b: Expr): Expr {
  if (keyCompatible(a.type, b.type)) {
    const a2: Expr = a.kind === 'lit' && b.kind !== 'lit' ? { ...a, type: b.type } : a;
    const b2: Expr = b.kind === 'lit' && a.kind !== 'lit' ? { ...b, type: a.type } : b;
    return call(op, [a2, b2], BOOL);
  }
  // date vs string literal, numeric vs string: settle in a common type
  const t = commonType(a.type, b.type);
  return call(op, [coerce(a, t), coerce(b, t)], BOOL);
}

function arith(op: string, a: Expr, b: Expr): Expr {
  if (!isNumericType(a.type.type) && a.type.type !== 'string') bindError(`expected a number for '${op}' but found ${a.type.type}`);
  if (!isNumericType(b.type.type) && b.type.type !== 'string') bindError(`expected a number for '${op}' but found ${b.type.type}`);
  const rt = arithmeticType(op, a.type, b.type);
  if (rt.type === 'double') return call(op, [coerce(a, DOUBLE), coerce(b, DOUBLE)], DOUBLE);
  if (op === '+' || op === '-' || op === '%') {
    const s = scaleOf(rt);
    const at = a.type.type === 'decimal' || s > 0 ? decimalType(38, s) : INT64;
    return call(op, [coerce(a, at.type === 'int64' && isIntType(a.type.type) ? a.type : at), coerce(b, at.type === 'int64' && isIntType(b.type.type) ? b.type : at)], rt);
  }
  return call(op, [a, b], rt);
}

// ---------- scopes ----------

interface Scope {
  readonly cols: readonly BoundCol[];
  /** The enclosing query's scope (correlated references). */
  readonly outer: Scope | null;
}

interface AggContext {
  readonly pre: Rel;
  readonly groupKeys: Map<string, number>;
  readonly groupCount: number;
  readonly aggs: AggCall[];
  readonly aggKeys: Map<string, number>;
}

interface ExprContext {
  readonly env: BindEnv;
  readonly scope: Scope;
  readonly agg: AggContext | null;
  /** Called for subqueries in expressions; returns the expression that replaces them. */
  readonly subquery: ((ast: Ast, kind: 'scalar' | 'exists' | 'in', ctx: ExprContext, lhs?: Expr, negated?: boolean) => Expr) | null;
  /** Aliases of the select list (usable in HAVING / ORDER BY / GROUP BY). */
  readonly aliases?: Map<string, Ast>;
  readonly windows?: WindowCall[];
  readonly windowBase?: number;
}

function lookupColumn(scope: Scope, table: string | null, name: string): { index: number; depth: number; col: BoundCol } | null {
  const lname = name.toLowerCase();
  const lt = table?.toLowerCase() ?? null;
  let s: Scope | null = scope;
  let depth = 0;
  while (s !== null) {
    const matches: number[] = [];
    for (let i = 0; i < s.cols.length; i++) {
      const c = s.cols[i]!;
      if (c.name.toLowerCase() !== lname) continue;
      if (lt !== null && c.qualifier?.toLowerCase() !== lt) continue;
      matches.push(i);
    }
    let found = matches[0] ?? -1;
    if (matches.length > 1) {
      // JOIN ... USING hides the right copy of the join column from unqualified references.
      const visible = matches.filter((i) => !s!.cols[i]!.hidden);
      if (visible.length !== 1) bindError(`column '${name}' is ambiguous`);
      found = visible[0]!;
    }
    if (found >= 0) return { index: found, depth, col: s.cols[found]! };
    s = s.outer;
    depth++;
  }
  return null;
}

function columnName(ast: Ast): string {
  const c = ast.column;
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object' && c.expr) return String(c.expr.value);
  return String(c);
}

function fnName(ast: Ast): string {
  const n = ast.name;
  if (typeof n === 'string') return n.toLowerCase();
  if (n && Array.isArray(n.name)) return n.name.map((x: Ast) => x.value).join('.').toLowerCase();
  return String(n).toLowerCase();
}

function fnArgs(ast: Ast): Ast[] {
  const a = ast.args;
  if (a === null || a === undefined) return [];
  if (Array.isArray(a)) return a;
  if (Array.isArray(a.value)) return a.value;
  if (a.expr !== undefined) return [a.expr];
  return [a];
}

function isSubqueryAst(ast: Ast): boolean {
  return ast !== null && typeof ast === 'object' && ast.ast !== undefined && (ast.ast.type === 'select' || Array.isArray(ast.ast));
}

function subqueryAst(ast: Ast): Ast {
  return Array.isArray(ast.ast) ? ast.ast[0] : ast.ast;
}

function containsAggregate(ast: Ast): boolean {
  if (ast === null || typeof ast !== 'object') return false;
  if (ast.type === 'aggr_func' && !ast.over) return true;
  if (isSubqueryAst(ast)) return false;
  if (ast.type === 'function' && ast.over) return false;
  for (const k of Object.keys(ast)) {
    if (k === 'loc' || k === 'over') continue;
    const v = ast[k];
    if (Array.isArray(v)) { if (v.some((x) => containsAggregate(x))) return true; }
    else if (v && typeof v === 'object' && containsAggregate(v)) return true;
  }
  return false;
}

export function exprText(ast: Ast, env: BindEnv): string {
  if (ast?.param === true) return '?';
  // Prepared-statement markers (session.ts) read back as '?'.
  if (ast?.loc?.start !== undefined && ast.loc.end !== undefined) return env.sql.slice(ast.loc.start.offset, ast.loc.end.offset).trim().replace(/\b918273[6-7]\d{5}\b/g, '?');
  switch (ast?.type) {
    case 'number': return String(ast.value).replace(/^918273[6-7]\d{5}$/, '?');
    case 'single_quote_string': case 'string': case 'double_quote_string': return String(ast.value);
    case 'column_ref': return columnName(ast);
    case 'null': return 'NULL';
    case 'bool': return ast.value ? 'TRUE' : 'FALSE';
    case 'var': return `${ast.prefix}${[ast.name, ...(ast.members ?? [])].join('.')}`;
    case 'function': return `${fnName(ast)}()`;
    default: return ast?.type ?? '?';
  }
}

function intervalParts(ast: Ast, ctx: ExprContext): { fn: string; amount: Expr } {
  let amount = bindExpr(ast.expr, ctx);
  if (amount.type.type === 'string') amount = coerce(amount, INT64);
  const unit = String(ast.unit).toLowerCase();
  const mul = (k: number): Expr => (k === 1 ? amount : arith('*', amount, lit(k, INT64)));
  switch (unit) {
    case 'day': return { fn: 'add_days', amount: mul(1) };
    case 'week': return { fn: 'add_days', amount: mul(7) };
    case 'month': return { fn: 'add_months', amount: mul(1) };
    case 'quarter': return { fn: 'add_months', amount: mul(3) };
    case 'year': return { fn: 'add_months', amount: mul(12) };
    case 'hour': return { fn: 'add_us', amount: mul(3600e6) };
    case 'minute': return { fn: 'add_us', amount: mul(60e6) };
    case 'second': return { fn: 'add_us', amount: mul(1e6) };
    default: unsupported(`INTERVAL unit ${unit.toUpperCase()}`);
  }
}

function dateArith(base: Expr, ast: Ast, ctx: ExprContext, sign: 1 | -1): Expr {
  let b = base;
  if (b.type.type === 'string') b = coerce(b, b.kind === 'lit' && typeof b.value === 'string' && b.value.length > 10 ? TIMESTAMP : DATE);
  if (b.type.type !== 'date' && b.type.type !== 'timestamp') bindError(`expected a DATE or TIMESTAMP before INTERVAL but found ${b.type.type}`);
  const { fn, amount } = intervalParts(ast, ctx);
  const amt = sign === 1 ? coerce(amount, INT64) : call('neg', [coerce(amount, INT64)], INT64);
  const rt = fn === 'add_us' ? TIMESTAMP : b.type;
  return call(fn, [fn === 'add_us' ? coerce(b, TIMESTAMP) : b, amt], rt);
}

function aggKey(fn: string, arg: Expr | null): string {
  return `${fn}(${arg === null ? '*' : exprToString(arg)}:${arg?.type.type ?? ''})`;
}

function addAgg(agg: AggContext, fn: AggFn, arg: Expr | null, type: SqlType): Expr {
  const key = aggKey(fn, arg);
  let idx = agg.aggKeys.get(key);
  if (idx === undefined) {
    idx = agg.aggs.length;
    agg.aggs.push({ fn, arg, type });
    agg.aggKeys.set(key, idx);
  }
  return col(agg.groupCount + idx, type);
}

export function aggResultType(fn: AggFn, arg: Expr | null): SqlType {
  switch (fn) {
    case 'count': case 'count_star': case 'count_distinct': return INT64;
    case 'sum': case 'sum_distinct': {
      const t = arg!.type;
      if (t.type === 'decimal') return decimalType(38, scaleOf(t));
      if (isIntType(t.type)) return INT64;
      return DOUBLE;
    }
    case 'avg': case 'avg_distinct': {
      const t = arg!.type;
      if (t.type === 'decimal') return decimalType(38, Math.min(38, scaleOf(t) + 4));
      if (isIntType(t.type)) return decimalType(38, 4);
      return DOUBLE;
    }
    case 'min': case 'max': case 'any_value': return arg!.type;
    case 'group_concat': return STRING;
    case 'stddev': case 'variance': case 'stddev_samp': case 'var_samp': return DOUBLE;
  }
}

function bindAggregate(ast: Ast, ctx: ExprContext): Expr {
  const agg = ctx.agg;
  if (agg === null) bindError(`aggregate ${String(ast.name)}() is not allowed here`);
  const name = String(ast.name).toLowerCase();
  let argAst = ast.args?.expr;
  let distinct = ast.args?.distinct === 'DISTINCT';
  // SUM(DISTINCT x) reaches the parser as SUM(DISTINCT(x)) (tokenizer.ts rewriteAggregateQuantifiers).
  if (argAst?.type === 'function' && String(argAst.name?.name?.[0]?.value ?? '').toUpperCase() === 'DISTINCT' && argAst.args?.value?.length === 1) {
    distinct = true;
    argAst = argAst.args.value[0];
  }
  const inner: ExprContext = { ...ctx, scope: { cols: agg.pre.cols, outer: ctx.scope.outer }, agg: null };
  if (name === 'count' && (argAst === undefined || argAst?.type === 'star')) return addAgg(agg, 'count_star', null, INT64);
  if (argAst === undefined) bindError(`${name.toUpperCase()}() needs an argument`);
  let arg = bindExpr(argAst, inner);
  let fn: AggFn;
  switch (name) {
    case 'count': fn = distinct ? 'count_distinct' : 'count'; break;
    case 'sum': fn = distinct ? 'sum_distinct' : 'sum'; break;
    case 'avg': fn = distinct ? 'avg_distinct' : 'avg'; break;
    case 'min': fn = 'min'; break;
    case 'max': fn = 'max'; break;
    case 'any_value': fn = 'any_value'; break;
    case 'group_concat': fn = 'group_concat'; arg = coerce(arg, STRING); break;
    case 'stddev': case 'std': case 'stddev_pop': fn = 'stddev'; break;
    case 'variance': case 'var_pop': fn = 'variance'; break;
    case 'stddev_samp': fn = 'stddev_samp'; break;
    case 'var_samp': fn = 'var_samp'; break;
    default: unsupported(`aggregate function ${name.toUpperCase()}`);
  }
  if ((fn === 'sum' || fn === 'avg' || fn === 'sum_distinct' || fn === 'avg_distinct') && arg.type.type === 'string') arg = coerce(arg, DOUBLE);
  if (fn === 'stddev' || fn === 'variance' || fn === 'stddev_samp' || fn === 'var_samp') arg = coerce(arg, DOUBLE);
  return addAgg(agg, fn, arg, aggResultType(fn, arg));
}

const WINDOW_FNS = new Set(['row_number', 'rank', 'dense_rank', 'lag', 'lead', 'first_value', 'last_value']);

function bindWindow(ast: Ast, ctx: ExprContext): Expr {
  if (ctx.windows === undefined || ctx.windowBase === undefined) unsupported('a window function here');
  const name = (ast.type === 'aggr_func' ? String(ast.name) : fnName(ast)).toLowerCase();
  const spec = ast.over?.as_window_specification?.window_specification;
  if (spec === undefined) unsupported('named windows');
  let frame: { start: number; end: number } | undefined;
  const fc = spec.window_frame_clause;
  if (fc) {
    const bound = (b: Ast): number => {
      const v = String(b?.value ?? '').trim().toUpperCase();
      if (v === 'CURRENT ROW') return 0;
      if (v === 'UNBOUNDED PRECEDING') return -Infinity;
      if (v === 'UNBOUNDED FOLLOWING') return Infinity;
      const m = /^(\d+)\s+(PRECEDING|FOLLOWING)$/.exec(v);
      if (m === null) unsupported(`window frame bound ${v}`);
      return m[2] === 'PRECEDING' ? -Number(m[1]) : Number(m[1]);
    };
    if (fc.type === 'rows') frame = { start: bound(fc.expr), end: 0 };
    else if (fc.type === 'binary_expr' && String(fc.operator).toUpperCase() === 'BETWEEN' && String(fc.left?.value).toLowerCase() === 'rows') {
      frame = { start: bound(fc.right.value[0]), end: bound(fc.right.value[1]) };
    } else unsupported('window frames other than ROWS');
    if (frame.start > frame.end) bindError('window frame start is after its end');
  }
  const inner: ExprContext = { ...ctx, windows: undefined as never, windowBase: undefined as never };
  const partitionBy = (spec.partitionby ?? []).map((p: Ast) => bindExpr(p.expr, inner));
  const orderBy: SortKey[] = (spec.orderby ?? []).map((o: Ast) => ({ expr: bindExpr(o.expr, inner), desc: String(o.type).toUpperCase() === 'DESC' }));
  let fn: WindowFn;
  let arg: Expr | null = null;
  let type: SqlType = INT64;
  let offset: number | undefined;
  if (ast.type === 'aggr_func') {
    const argAst = ast.args?.expr;
    if (name === 'count' && (argAst === undefined || argAst.type === 'star')) fn = 'count_star';
    else {
      if (!['sum', 'avg', 'count', 'min', 'max'].includes(name)) unsupported(`window function ${name.toUpperCase()}`);
      fn = name as WindowFn;
      arg = bindExpr(argAst, inner);
      if ((fn === 'sum' || fn === 'avg') && arg.type.type === 'string') arg = coerce(arg, DOUBLE);
      type = aggResultType(fn as AggFn, arg);
    }
  } else {
    if (!WINDOW_FNS.has(name)) unsupported(`window function ${name.toUpperCase()}`);
    fn = name as WindowFn;
    if (fn === 'first_value' || fn === 'last_value') {
      if (frame !== undefined) unsupported(`${fn.toUpperCase()} with an explicit frame`);
      arg = bindExpr(fnArgs(ast)[0], inner);
      type = arg.type;
    }
    if (fn === 'lag' || fn === 'lead') {
      const args = fnArgs(ast);
      arg = bindExpr(args[0], inner);
      type = arg.type;
      offset = args[1] === undefined ? 1 : Number(args[1].value);
    }
  }
  let call: WindowCall = offset === undefined ? { fn, arg, partitionBy, orderBy, type } : { fn, arg, partitionBy, orderBy, type, offset };
  if (frame !== undefined && ['sum', 'avg', 'count', 'count_star', 'min', 'max'].includes(fn)) call = { ...call, frame };
  ctx.windows.push(call);
  return col(ctx.windowBase + ctx.windows.length - 1, type);
}

export function bindExpr(ast: Ast, ctx: ExprContext): Expr {
  // In an aggregate query, a whole expression equal to a GROUP BY expression reads the group column.
  if (ctx.agg !== null && !containsAggregate(ast) && ast?.type !== 'number' && !isSubqueryAst(ast)) {
    if (!(ast?.type === 'function' && ast.over) && !(ast?.type === 'aggr_func')) {
      let pre: Expr | null = null;
      try {
        pre = bindExpr(ast, { ...ctx, scope: { cols: ctx.agg.pre.cols, outer: ctx.scope.outer }, agg: null, subquery: null });
      } catch (e) {
        if (!(e instanceof SaigaError)) throw e;
      }
      if (pre !== null) {
        const gi = ctx.agg.groupKeys.get(exprToString(pre));
        if (gi !== undefined) return col(gi, pre.type);
        if (pre.kind === 'lit') return pre;
        if (pre.kind === 'col') {
          // MySQL 8 (ONLY_FULL_GROUP_BY): a bare column must be grouped or aggregated.
          const c = ctx.agg.pre.cols[pre.index];
          bindError(`expected column '${c?.name ?? pre.index}' to appear in GROUP BY or inside an aggregate (ONLY_FULL_GROUP_BY)`);
        }
      }
    }
  }
  const e = bindExprInner(ast, ctx);
  return fold(e);
}

function bindExprInner(ast: Ast, ctx: ExprContext): Expr {
  if (ast === null || ast === undefined) bindError('missing expression');
  if (isSubqueryAst(ast)) {
    if (ctx.subquery === null) unsupported('a subquery in this position');
    return ctx.subquery(subqueryAst(ast), 'scalar', ctx);
  }
  switch (ast.type) {
    case 'column_ref': {
      const name = columnName(ast);
      if (name === '*') bindError("'*' is only allowed in the select list or COUNT(*)");
      if (ast.table === null && /^\d+(\.\d*)?[eE][-+]?\d+$/.test(name)) return lit(Number(name), DOUBLE);
      const r = lookupColumn(ctx.scope, ast.table ?? null, name);
      if (r === null) {
        const alias = ast.table == null ? ctx.aliases?.get(name.toLowerCase()) : undefined;
        if (alias !== undefined) return bindExpr(alias, { ...ctx, aliases: new Map() });
        throw new SaigaError('UnknownColumn', `unknown column '${ast.table ? `${ast.table}.` : ''}${name}'`);
      }
      if (r.depth === 0) return col(r.index, r.col.type);
      if (r.depth === 1) return { kind: 'outer', index: r.index, type: r.col.type };
      unsupported('correlation across more than one query level');
    }
    case 'bigint': case 'number': {
      const v = ast.value;
      if (typeof v === 'number') return Number.isInteger(v) && !String(v).includes('.') ? lit(v, INT64) : numberLiteral(String(v));
      return numberLiteral(String(v));
    }
    case 'single_quote_string': case 'string': case 'natural_string': case 'regex_string':
      return lit(unescapeSqlString(String(ast.value), "'"), STRING);
    case 'double_quote_string':
      return lit(unescapeSqlString(String(ast.value), '"'), STRING);
    case 'hex_string': case 'full_hex_string': return lit(new Uint8Array(Buffer.from(String(ast.value), 'hex')), { type: 'binary' });
    case 'bool': return lit(ast.value ? 1 : 0, BOOL);
    case 'null': return lit(null, NULLTYPE);
    case 'date': return lit(parseDate(String(ast.value)), DATE);
    case 'datetime': case 'timestamp': return lit(parseTimestamp(String(ast.value)), TIMESTAMP);
    case 'time': unsupported('TIME literals');
    case 'origin': {
      if (ast.value === '?') bindError('a ? placeholder was not bound to a value');
      return bindSpecialKeyword(String(ast.value), ctx);
    }
    case 'var': {
      const name = [ast.name, ...(ast.members ?? [])].join('.').toLowerCase().replace(/^(session|global|local)\./, '');
      const key = ast.prefix === '@@' ? `@@${name}` : `@${name}`;
      const v = ctx.env.sessionValue(key);
      if (v === undefined) {
        if (ast.prefix === '@') return lit(null, NULLTYPE);
        throw new SaigaError('UnknownColumn', `unknown system variable '${name}'`);
      }
      return lit(v.value, v.type);
    }
    case 'param': bindError('named parameters are not supported');
    case 'expr_list': {
      const vals = ast.value as Ast[];
      if (vals.length === 1) return bindExpr(vals[0], ctx);
      unsupported('row value expressions');
    }
    case 'interval': bindError('INTERVAL is only allowed in date arithmetic');
    case 'unary_expr': {
      const op = String(ast.operator).toUpperCase();
      if (op === 'NOT EXISTS' || op === 'EXISTS') {
        if (ctx.subquery === null) unsupported('EXISTS in this position');
        return ctx.subquery(subqueryAst(ast.expr), 'exists', ctx, undefined, op === 'NOT EXISTS');
      }
      const arg = bindExpr(ast.expr, ctx);
      if (op === '-') {
        if (arg.type.type === 'string') return call('neg', [coerce(arg, DOUBLE)], DOUBLE);
        return call('neg', [arg], arg.type.type === 'bool' ? INT64 : arg.type);
      }
      if (op === '+') return arg;
      if (op === 'NOT' || op === '!') return fold({ kind: 'not', arg: toBool(arg), type: BOOL });
      unsupported(`unary operator ${op}`);
    }
    case 'binary_expr': return bindBinary(ast, ctx);
    case 'function': return bindFunction(ast, ctx);
    case 'aggr_func': {
      if (ast.over) return bindWindow(ast, ctx);
      return bindAggregate(ast, ctx);
    }
    case 'case': {
      const subject = ast.expr ? bindExpr(ast.expr, ctx) : null;
      const whens: [Expr, Expr][] = [];
      let otherwise: Expr | null = null;
      for (const a of ast.args as Ast[]) {
        if (a.type === 'when') {
          const c = bindExpr(a.cond, ctx);
          whens.push([subject === null ? toBool(c) : compare('=', subject, c), bindExpr(a.result, ctx)]);
        } else {
          otherwise = bindExpr(a.result, ctx);
        }
      }
      let t: SqlType = NULLTYPE;
      for (const [, r] of whens) t = commonType(t, r.type);
      if (otherwise !== null) t = commonType(t, otherwise.type);
      return fold({
        kind: 'case',
        whens: whens.map(([w, r]) => [w, coerce(r, t)] as const),
        otherwise: otherwise === null ? null : coerce(otherwise, t),
        type: t,
      });
    }
    case 'cast': {
      const arg = bindExpr(ast.expr, ctx);
      const target = Array.isArray(ast.target) ? ast.target[0] : ast.target;
      return coerce(arg, castTarget(target));
    }
    case 'extract': {
      const field = String(ast.args.field).toLowerCase();
      const src = bindExpr(ast.args.source, ctx);
      return dateFn(field, [src]);
    }
    case 'star': bindError("'*' is not allowed here");
    default:
      unsupported(`expression type '${String(ast.type)}'`);
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a', '\\': '\\', "'": "'", '"': '"' };

/** MySQL string literal escapes (node-sql-parser keeps them raw): \x sequences and doubled quotes. */
export function unescapeSqlString(raw: string, quote: string): string {
  if (!raw.includes('\\') && !raw.includes(quote + quote)) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && i + 1 < raw.length) {
      const nx = raw[i + 1]!;
      // \% and \_ stay escaped (LIKE patterns), as in MySQL.
      out += nx === '%' || nx === '_' ? `\\${nx}` : ESCAPES[nx] ?? nx;
      i++;
    } else if (ch === quote && raw[i + 1] === quote) {
      out += quote;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

function bindSpecialKeyword(word: string, ctx: ExprContext): Expr {
  const w = word.toLowerCase();
  const v = ctx.env.sessionValue(w);
  if (v !== undefined) return lit(v.value, v.type);
  unsupported(`keyword ${word}`);
}

function castTarget(t: Ast): SqlType {
  const dt = String(t.dataType ?? t.type ?? '').toUpperCase();
  switch (dt) {
    case 'SIGNED': case 'INT': case 'INTEGER': case 'BIGINT': case 'UNSIGNED': return INT64;
    case 'DECIMAL': case 'NUMERIC': case 'DEC': return decimalType(t.length ?? 10, t.scale ?? 0);
    case 'CHAR': case 'VARCHAR': case 'STRING': case 'TEXT': return STRING;
    case 'BINARY': case 'VARBINARY': return { type: 'binary' };
    case 'DATE': return DATE;
    case 'DATETIME': case 'TIMESTAMP': return TIMESTAMP;
    case 'DOUBLE': case 'REAL': return DOUBLE;
    case 'FLOAT': return { type: 'float' };
    case 'BOOLEAN': case 'BOOL': return BOOL;
    case 'TINYINT': return { type: 'int8' };
    case 'SMALLINT': return { type: 'int16' };
    default: unsupported(`CAST to ${dt}`);
  }
}

function toBool(e: Expr): Expr {
  if (e.type.type === 'bool') return e;
  if (e.type.type === 'string') return call('<>', [coerce(e, DOUBLE), lit(0, DOUBLE)], BOOL);
  return call('<>', [e, lit(0, e.type)], BOOL);
}

function dateFn(field: string, args: Expr[]): Expr {
  let a = args[0]!;
  if (a.type.type === 'string') a = coerce(a, a.kind === 'lit' && typeof a.value === 'string' && a.value.length > 10 ? TIMESTAMP : DATE);
  if (a.type.type !== 'date' && a.type.type !== 'timestamp') bindError(`expected a DATE or TIMESTAMP for ${field.toUpperCase()} but found ${a.type.type}`);
  const map: Record<string, string> = { year: 'year', month: 'month', day: 'day', dayofmonth: 'day', quarter: 'quarter', dayofweek: 'dayofweek', dayofyear: 'dayofyear', hour: 'hour', minute: 'minute', second: 'second' };
  const fn = map[field];
  if (fn === undefined) unsupported(`EXTRACT(${field.toUpperCase()})`);
  return call(fn, [a], INT64);
}

function bindBinary(ast: Ast, ctx: ExprContext): Expr {
  const op = String(ast.operator).toUpperCase();
  switch (op) {
    case 'AND': case '&&': case 'OR': case '||': case 'XOR': {
      if (op === '||' && false) break;
      const l = toBool(bindExpr(ast.left, ctx));
      const r = toBool(bindExpr(ast.right, ctx));
      if (op === 'XOR') return call('<>', [l, r], BOOL);
      const kind = op === 'AND' || op === '&&' ? 'and' : 'or';
      const args = [...(l.kind === kind ? l.args : [l]), ...(r.kind === kind ? r.args : [r])];
      return { kind, args, type: BOOL };
    }
    case 'IN': case 'NOT IN': {
      const negated = op === 'NOT IN';
      const right = ast.right;
      const items: Ast[] = right?.type === 'expr_list' ? right.value : [right];
      if (items.length === 1 && isSubqueryAst(items[0])) {
        if (ctx.subquery === null) unsupported('IN (subquery) in this position');
        const lhs = bindExpr(ast.left, ctx);
        return ctx.subquery(subqueryAst(items[0]), 'in', ctx, lhs, negated);
      }
      const arg = bindExpr(ast.left, ctx);
      const list = items.map((x) => bindExpr(x, ctx));
      if (list.every((x) => x.kind === 'lit' && (x.value === null || keyCompatible(x.type, arg.type)))) {
        // Same representation: keep the column uncast (pushable), retype the literals.
        return fold({ kind: 'in', arg, list: list.map((x) => ({ ...x, type: arg.type })), negated, type: BOOL });
      }
      let t = arg.type;
      for (const x of list) t = commonType(t, x.type);
      return fold({ kind: 'in', arg: coerce(arg, t), list: list.map((x) => coerce(x, t)), negated, type: BOOL });
    }
    case 'BETWEEN': case 'NOT BETWEEN': {
      const a = bindExpr(ast.left, ctx);
      const lo = bindExpr(ast.right.value[0], ctx);
      const hi = bindExpr(ast.right.value[1], ctx);
      const e: Expr = { kind: 'and', args: [compare('>=', a, lo), compare('<=', a, hi)], type: BOOL };
      return op === 'BETWEEN' ? e : { kind: 'not', arg: e, type: BOOL };
    }
    case 'LIKE': case 'NOT LIKE': {
      const a = coerce(bindExpr(ast.left, ctx), STRING);
      const p = coerce(bindExpr(ast.right, ctx), STRING);
      return { kind: 'like', arg: a, pattern: p, negated: op === 'NOT LIKE', type: BOOL };
    }
    case 'IS': case 'IS NOT': {
      const r = ast.right;
      const a = bindExpr(ast.left, ctx);
      if (r?.type === 'null') return { kind: 'isNull', arg: a, negated: op === 'IS NOT', type: BOOL };
      if (r?.type === 'bool') {
        const cmp = call('<=>', [toBool(a), lit(r.value ? 1 : 0, BOOL)], BOOL);
        return op === 'IS' ? cmp : { kind: 'not', arg: cmp, type: BOOL };
      }
      unsupported(`IS ${JSON.stringify(r?.value)}`);
    }
    case '=': case '<>': case '!=': case '<': case '<=': case '>': case '>=': case '<=>': {
      const q = ast.right?.type === 'function' ? fnName(ast.right) : '';
      if ((q === 'all' || q === 'any' || q === 'some') && isSubqueryAst(fnArgs(ast.right)[0])) {
        return quantified(op === '!=' ? '<>' : op, q === 'all', bindExpr(ast.left, ctx), subqueryAst(fnArgs(ast.right)[0]), ctx);
      }
      const l = bindExpr(ast.left, ctx);
      const r = bindExpr(ast.right, ctx);
      const o = op === '!=' ? '<>' : op;
      return compare(o, l, r);
    }
    case '+': case '-': {
      if (ast.right?.type === 'interval') return dateArith(bindExpr(ast.left, ctx), ast.right, ctx, op === '+' ? 1 : -1);
      if (ast.left?.type === 'interval' && op === '+') return dateArith(bindExpr(ast.right, ctx), ast.left, ctx, 1);
      const l = bindExpr(ast.left, ctx);
      const r = bindExpr(ast.right, ctx);
      if ((l.type.type === 'date' || l.type.type === 'timestamp') && isIntType(r.type.type)) {
        return call('add_days', [l, op === '+' ? r : call('neg', [r], INT64)], l.type);
      }
      return arith(op, l, r);
    }
    case '*': case '/': case '%': case 'MOD': case 'DIV': {
      const l = bindExpr(ast.left, ctx);
      const r = bindExpr(ast.right, ctx);
      if (op === 'DIV') return call('div', [l, r], INT64);
      return arith(op === 'MOD' ? '%' : op, l, r);
    }
    case 'REGEXP': case 'RLIKE': case 'NOT REGEXP':
      unsupported('REGEXP');
    default:
      unsupported(`operator ${op}`);
  }
  unsupported(`operator ${op}`);
}

/** x op ALL / ANY (subquery), uncorrelated: from MIN, MAX and the row / non-NULL counts. */
function quantified(op: string, all: boolean, x: Expr, sub: Ast, ctx: ExprContext): Expr {
  if (op === '=' && !all) return ctx.subquery === null ? unsupported('ANY here') : ctx.subquery(sub, 'in', { ...ctx }, x, false);
  if (op === '<>' && all) return ctx.subquery === null ? unsupported('ALL here') : ctx.subquery(sub, 'in', { ...ctx }, x, true);
  if (op !== '<' && op !== '<=' && op !== '>' && op !== '>=') unsupported(`${op} ${all ? 'ALL' : 'ANY'} (subquery)`);
  let rel: Rel;
  try {
    rel = bindQuery(sub, ctx.env, null);
  } catch (e) {
    if (e instanceof SaigaError && e.code === 'UnknownColumn') unsupported(`a correlated ${all ? 'ALL' : 'ANY'} subquery`);
    throw e;
  }
  if (rel.cols.length !== 1) bindError(`${all ? 'ALL' : 'ANY'} (subquery) must return one column`);
  const vt = rel.cols[0]!.type;
  const one = (fn: AggFn, type: SqlType): Expr => {
    const aggPlan: LogicalPlan = { kind: 'Aggregate', input: rel.plan, groups: [], aggs: [{ fn, arg: fn === 'count_star' ? null : col(0, vt), type }], names: ['a'], types: [type] };
    return { kind: 'subquery', plan: aggPlan, type };
  };
  const greater = op === '>' || op === '>=';
  // ALL: compare with the extreme on the far side; ANY: with the near side.
  const bound = one(greater === all ? 'max' : 'min', vt);
  const cnt = one('count_star', INT64);
  const cntv = one('count', INT64);
  const cmp = compare(op, x, bound);
  const hasNulls = call('<', [cntv, cnt], BOOL);
  const empty = call('=', [cnt, lit(0, INT64)], BOOL);
  const nullB = lit(null, BOOL);
  // ALL: empty -> TRUE; cmp TRUE -> (nulls ? NULL : TRUE); cmp FALSE -> FALSE; x NULL -> NULL.
  // ANY: empty -> FALSE; cmp TRUE -> TRUE; cmp FALSE -> (nulls ? NULL : FALSE).
  const whens: (readonly [Expr, Expr])[] = all
    ? [[empty, lit(1, BOOL)], [{ kind: 'isNull', arg: x, negated: false, type: BOOL }, nullB], [cmp, { kind: 'case', whens: [[hasNulls, nullB]], otherwise: lit(1, BOOL), type: BOOL }]]
    : [[empty, lit(0, BOOL)], [{ kind: 'isNull', arg: x, negated: false, type: BOOL }, nullB], [cmp, lit(1, BOOL)], [hasNulls, nullB]];
  return { kind: 'case', whens, otherwise: lit(0, BOOL), type: BOOL };
}

function bindFunction(ast: Ast, ctx: ExprContext): Expr {
  const name = fnName(ast);
  if (ast.over) return bindWindow(ast, ctx);
  const argAsts = fnArgs(ast);
  if (name === 'exists' || name === 'not exists') {
    if (ctx.subquery === null) unsupported('EXISTS in this position');
    return ctx.subquery(subqueryAst(argAsts[0]), 'exists', ctx, undefined, name === 'not exists');
  }
  if (name === 'not') return fold({ kind: 'not', arg: toBool(bindExpr(argAsts[0], ctx)), type: BOOL });
  if (name === 'date_add' || name === 'date_sub' || name === 'adddate' || name === 'subdate') {
    const base = bindExpr(argAsts[0], ctx);
    const sign = name === 'date_add' || name === 'adddate' ? 1 : -1;
    if (argAsts[1]?.type === 'interval') return dateArith(base, argAsts[1], ctx, sign);
    const days = coerce(bindExpr(argAsts[1], ctx), INT64);
    const b = base.type.type === 'string' ? coerce(base, DATE) : base;
    return call('add_days', [b, sign === 1 ? days : call('neg', [days], INT64)], b.type);
  }
  const sv = ctx.env.sessionValue(`${name}()`);
  if (sv !== undefined && argAsts.length === 0) return lit(sv.value, sv.type);
  const args = argAsts.map((a) => bindExpr(a, ctx));
  const a0 = args[0];
  const need = (k: number): void => {
    if (args.length < k) bindError(`${name.toUpperCase()}() expects at least ${k} argument(s) but got ${args.length}`);
  };
  switch (name) {
    case 'year': case 'month': case 'day': case 'dayofmonth': case 'quarter': case 'dayofweek': case 'dayofyear': case 'hour': case 'minute': case 'second':
      need(1); return dateFn(name, args);
    case 'date': need(1); return coerce(a0!.type.type === 'string' ? coerce(a0!, TIMESTAMP) : a0!, DATE);
    case 'datediff': {
      need(2);
      const x = a0!.type.type === 'string' ? coerce(a0!, DATE) : a0!;
      const y = args[1]!.type.type === 'string' ? coerce(args[1]!, DATE) : args[1]!;
      return call('datediff', [x, y], INT64);
    }
    case 'date_format': need(2); return call('date_format', [a0!.type.type === 'string' ? coerce(a0!, TIMESTAMP) : a0!, coerce(args[1]!, STRING)], STRING);
    case 'substring': case 'substr': case 'mid':
      need(2);
      return call('substring', [coerce(a0!, STRING), coerce(args[1]!, INT64), ...(args[2] ? [coerce(args[2], INT64)] : [])], STRING);
    case 'upper': case 'ucase': need(1); return call('upper', [coerce(a0!, STRING)], STRING);
    case 'lower': case 'lcase': need(1); return call('lower', [coerce(a0!, STRING)], STRING);
    case 'trim': case 'ltrim': case 'rtrim': case 'reverse': need(1); return call(name, [coerce(a0!, STRING)], STRING);
    case 'length': case 'octet_length': need(1); return call('length', [a0!.type.type === 'binary' ? a0! : coerce(a0!, STRING)], INT64);
    case 'char_length': case 'character_length': need(1); return call('char_length', [coerce(a0!, STRING)], INT64);
    case 'concat': need(1); return call('concat', args.map((a) => coerce(a, STRING)), STRING);
    case 'concat_ws': {
      need(2);
      const sep = coerce(a0!, STRING);
      const parts: Expr[] = [];
      args.slice(1).forEach((a, i) => { if (i > 0) parts.push(sep); parts.push(coerce(a, STRING)); });
      return call('concat', parts, STRING);
    }
    case 'replace': need(3); return call('replace', args.map((a) => coerce(a, STRING)), STRING);
    case 'left': case 'right': need(2); return call(name, [coerce(a0!, STRING), coerce(args[1]!, INT64)], STRING);
    case '__nullsafe_eq': need(2); return compare('<=>', a0!, args[1]!);
    case 'lpad': case 'rpad': need(3); return call(name, [coerce(a0!, STRING), coerce(args[1]!, INT64), coerce(args[2]!, STRING)], STRING);
    case 'repeat': need(2); return call('repeat', [coerce(a0!, STRING), coerce(args[1]!, INT64)], STRING);
    case 'locate': case 'position': need(2); return call('locate', [coerce(a0!, STRING), coerce(args[1]!, STRING)], INT64);
    case 'instr': need(2); return call('locate', [coerce(args[1]!, STRING), coerce(a0!, STRING)], INT64);
    case 'abs': need(1); return call('abs', [a0!], a0!.type.type === 'string' ? DOUBLE : a0!.type);
    case 'sign': need(1); return call('sign', [a0!], INT64);
    case 'floor': case 'ceil': case 'ceiling': {
      need(1);
      const fn = name === 'floor' ? 'floor' : 'ceil';
      if (isFloatType(a0!.type.type) || a0!.type.type === 'string') return call(fn, [coerce(a0!, DOUBLE)], DOUBLE);
      return call(fn, [a0!], INT64);
    }
    case 'round': case 'truncate': {
      need(1);
      const d = args[1] === undefined ? 0 : args[1].kind === 'lit' && typeof args[1].value === 'number' ? args[1].value : unsupported(`${name.toUpperCase()} with a non-constant number of digits`);
      if (a0!.type.type === 'decimal' || isIntType(a0!.type.type)) {
        const s = scaleOf(a0!.type);
        const rs = Math.max(0, Math.min(d, s));
        const rt = a0!.type.type === 'decimal' ? decimalType(a0!.type.precision ?? 38, rs) : INT64;
        return call(name, [a0!, lit(d, INT64)], rt);
      }
      return call(name, [coerce(a0!, DOUBLE), lit(d, INT64)], DOUBLE);
    }
    case 'sqrt': case 'exp': case 'ln': case 'log10': need(1); return call(name, [a0!], DOUBLE);
    case 'log': need(1); return call('ln', [a0!], DOUBLE);
    case 'pow': case 'power': need(2); return call('power', [coerce(a0!, DOUBLE), coerce(args[1]!, DOUBLE)], DOUBLE);
    case 'mod': need(2); return arith('%', a0!, args[1]!);
    case 'coalesce': case 'ifnull': case 'nvl': {
      need(1);
      let t: SqlType = NULLTYPE;
      for (const a of args) t = commonType(t, a.type);
      return call('coalesce', args.map((a) => coerce(a, t)), t);
    }
    case 'nullif': need(2); { const t = commonType(a0!.type, args[1]!.type); return call('nullif', [coerce(a0!, t), coerce(args[1]!, t)], t); }
    case 'if': {
      need(3);
      const t = commonType(args[1]!.type, args[2]!.type);
      return fold({ kind: 'case', whens: [[toBool(a0!), coerce(args[1]!, t)]], otherwise: coerce(args[2]!, t), type: t });
    }
    case 'greatest': case 'least': {
      need(1);
      let t: SqlType = args[0]!.type;
      for (const a of args) t = commonType(t, a.type);
      if (!isNumericType(t.type) && t.type !== 'date' && t.type !== 'timestamp') unsupported(`${name.toUpperCase()} over ${t.type}`);
      return call(name, args.map((a) => coerce(a, t)), t);
    }
    case 'now': case 'current_timestamp': case 'sysdate': case 'localtimestamp': {
      return lit(Math.floor(Date.now() * 1000), TIMESTAMP);
    }
    case 'curdate': case 'current_date': return lit(Math.floor(Date.now() / 86400000), DATE);
    default:
      unsupported(`function ${name.toUpperCase()}`);
  }
}

// ---------- FROM ----------

interface Cluster {
  rels: Rel[];
  conjuncts: Expr[];
}

function clusterCols(c: Cluster): BoundCol[] {
  return c.rels.flatMap((r) => r.cols);
}

function scanRel(env: BindEnv, db: string, info: TableInfo, alias: string): Rel {
  const cols: BoundCol[] = info.schema.columns.map((c) => {
    const base: BoundCol = { qualifier: alias, name: c.name, type: columnType(c), nullable: c.nullable, db, table: info.name, originalName: c.name };
    return c.name === AUTO_INCREMENT_COLUMN ? { ...base, hidden: true } : base;
  });
  let rows = 1000;
  try { rows = env.storage.tableStats(db, info.name).rowCount; } catch { /* stats are optional */ }
  const plan: LogicalPlan = {
    kind: 'Scan', db, table: info, columns: info.schema.columns.map((c) => c.name),
    names: cols.map((c) => c.name), types: cols.map((c) => c.type),
    predicates: [], filter: null, limit: null, estimatedRows: Math.max(1, rows),
  };
  const stats = env.columnStats?.get(info);
  return { plan: stats === undefined ? plan : { ...plan, columnStats: stats }, cols };
}

function requireDb(env: BindEnv, db: string | null): string {
  const d = db ?? env.database;
  if (d === null) throw new SaigaError('NoDatabaseSelected', 'no database selected: USE a database or qualify the table name');
  return d;
}

export function lookupTable(env: BindEnv, db: string | null, name: string): { db: string; info: TableInfo } {
  const d = requireDb(env, db);
  if (!env.storage.listDatabases().some((x) => x.toLowerCase() === d.toLowerCase())) {
    throw new SaigaError('UnknownDatabase', `unknown database '${d}'`);
  }
  const actualDb = env.storage.listDatabases().find((x) => x.toLowerCase() === d.toLowerCase())!;
  const actual = env.storage.listTables(actualDb).find((t) => t.toLowerCase() === name.toLowerCase());
  if (actual === undefined) throw new SaigaError('UnknownTable', `table '${actualDb}.${name}' doesn't exist`);
  return { db: actualDb, info: env.storage.getTable(actualDb, actual) };
}

function bindFromItem(item: Ast, env: BindEnv, outer: Scope | null): Rel {
  const alias: string | null = item.as ?? null;
  if (item.expr !== undefined && isSubqueryAst(item.expr)) {
    const rel = bindQuery(subqueryAst(item.expr), env, outer);
    const q = alias ?? `derived`;
    return { plan: rel.plan, cols: rel.cols.map((c) => ({ ...c, qualifier: q })) };
  }
  if (item.expr !== undefined && item.expr.type === 'values') unsupported('VALUES as a table');
  if (item.table === undefined) unsupported(`FROM item ${JSON.stringify(item).slice(0, 60)}`);
  const tname = String(item.table);
  if (item.db == null && tname.toLowerCase() === 'dual') {
    return { plan: { kind: 'Values', rows: [[]], names: [], types: [] }, cols: [] };
  }
  if (item.db == null) {
    const cte = env.ctes.get(tname.toLowerCase());
    if (cte !== undefined) {
      const rel = bindQuery(cte.ast, { ...env, ctes: new Map([...env.ctes].filter(([k]) => k !== tname.toLowerCase())) }, null);
      const q = alias ?? tname;
      return {
        plan: rel.plan,
        cols: rel.cols.map((c, i) => ({ ...c, qualifier: q, name: cte.columns?.[i] ?? c.name })),
      };
    }
  }
  if (item.db != null && String(item.db).toLowerCase() === 'information_schema') return informationSchema(env, tname, alias ?? tname);
  const { db, info } = lookupTable(env, item.db ?? null, tname);
  return scanRel(env, db, info, alias ?? info.name);
}

/** information_schema SCHEMATA / TABLES / COLUMNS / STATISTICS as constant relations from the catalog. */
function informationSchema(env: BindEnv, table: string, alias: string): Rel {
  const str = (v: string | null): Expr => lit(v, STRING);
  const int = (v: number | null): Expr => lit(v, INT64);
  const dbs = [...env.storage.listDatabases()].sort();
  let names: string[];
  let types: SqlType[];
  const rows: Expr[][] = [];
  switch (table.toLowerCase()) {
    case 'schemata':
      names = ['CATALOG_NAME', 'SCHEMA_NAME', 'DEFAULT_CHARACTER_SET_NAME', 'DEFAULT_COLLATION_NAME'];
      types = [STRING, STRING, STRING, STRING];
      for (const d of dbs) rows.push([str('def'), str(d), str('utf8mb4'), str('utf8mb4_general_ci')]);
      break;
    case 'tables':
      names = ['TABLE_CATALOG', 'TABLE_SCHEMA', 'TABLE_NAME', 'TABLE_TYPE', 'ENGINE', 'TABLE_ROWS', 'TABLE_COMMENT'];
      types = [STRING, STRING, STRING, STRING, STRING, INT64, STRING];
      for (const d of dbs) {
        for (const t of [...env.storage.listTables(d)].sort()) {
          let n: number | null = null;
          try { n = env.storage.tableStats(d, t).rowCount; } catch { /* stats optional */ }
          rows.push([str('def'), str(d), str(t), str('BASE TABLE'), str('Kudu'), int(n), str(env.storage.getTable(d, t).comment ?? '')]);
        }
      }
      break;
    case 'columns':
      names = ['TABLE_CATALOG', 'TABLE_SCHEMA', 'TABLE_NAME', 'COLUMN_NAME', 'ORDINAL_POSITION', 'COLUMN_DEFAULT', 'IS_NULLABLE', 'DATA_TYPE', 'COLUMN_TYPE', 'COLUMN_KEY', 'EXTRA', 'NUMERIC_PRECISION', 'NUMERIC_SCALE', 'COLUMN_COMMENT'];
      types = [STRING, STRING, STRING, STRING, INT64, STRING, STRING, STRING, STRING, STRING, STRING, INT64, INT64, STRING];
      for (const d of dbs) {
        for (const t of [...env.storage.listTables(d)].sort()) {
          const info = env.storage.getTable(d, t);
          let pos = 0;
          info.schema.columns.forEach((c, i) => {
            if (c.name === AUTO_INCREMENT_COLUMN) return;
            pos++;
            const sqlType = typeToSql(c).toLowerCase();
            rows.push([
              str('def'), str(d), str(t), str(c.name), int(pos),
              str(c.defaultValue === undefined || c.defaultValue === null ? null : String(c.defaultValue)),
              str(c.nullable ? 'YES' : 'NO'), str(sqlType.replace(/\(.*$/, '')), str(sqlType),
              str(i < info.schema.keyColumnCount ? 'PRI' : ''), str(''),
              int(c.type === 'decimal' ? c.precision ?? 38 : null), int(c.type === 'decimal' ? c.scale ?? 0 : null), str(c.comment ?? ''),
            ]);
          });
        }
      }
      break;
    case 'statistics':
      names = ['TABLE_SCHEMA', 'TABLE_NAME', 'NON_UNIQUE', 'INDEX_NAME', 'SEQ_IN_INDEX', 'COLUMN_NAME'];
      types = [STRING, STRING, INT64, STRING, INT64, STRING];
      for (const d of dbs) {
        for (const t of [...env.storage.listTables(d)].sort()) {
          const info = env.storage.getTable(d, t);
          info.schema.columns.slice(0, info.schema.keyColumnCount).forEach((c, i) => {
            if (c.name !== AUTO_INCREMENT_COLUMN) rows.push([str(d), str(t), int(0), str('PRIMARY'), int(i + 1), str(c.name)]);
          });
        }
      }
      break;
    default:
      throw new SaigaError('UnknownTable', `information_schema.${table} is not provided (SCHEMATA, TABLES, COLUMNS, STATISTICS are)`);
  }
  const cols: BoundCol[] = names.map((n, i) => ({ qualifier: alias, name: n, type: types[i]!, nullable: true }));
  return { plan: { kind: 'Values', rows, names, types }, cols };
}

/** Equi-join key extraction: conjunct a = b with a over `leftCols` and b over the rest (or vice versa). */
function splitEqui(conj: Expr, leftWidth: number): { l: Expr; r: Expr } | null {
  if (conj.kind !== 'call' || conj.fn !== '=') return null;
  const [a, b] = conj.args as [Expr, Expr];
  const ua = columnsUsed(a), ub = columnsUsed(b);
  if (ua.size === 0 || ub.size === 0) return null;
  const aLeft = [...ua].every((i) => i < leftWidth), aRight = [...ua].every((i) => i >= leftWidth);
  const bLeft = [...ub].every((i) => i < leftWidth), bRight = [...ub].every((i) => i >= leftWidth);
  if (aLeft && bRight) return { l: a, r: remapColumns(b, (i) => i - leftWidth) };
  if (bLeft && aRight) return { l: b, r: remapColumns(a, (i) => i - leftWidth) };
  return null;
}

/**
 * Greedy join ordering for a cluster of inner-joined relations: start from the largest
 * relation (the probe side), then repeatedly hash-join the smallest relation connected to what
 * is joined so far by an equality. Returns a Rel whose columns are in the cluster's order.
 */
/** (A AND B) OR (A AND C) -> A AND (B OR C): exposes join keys hidden in disjunctions (TPC-H Q19). */
function factorOr(e: Expr): Expr[] {
  if (e.kind !== 'or') return [e];
  const branches = e.args.map((a) => splitConjuncts(a));
  const first = branches[0]!;
  const common = first.filter((c) => {
    const k = exprToString(c);
    return branches.every((b) => b.some((x) => exprToString(x) === k));
  });
  if (common.length === 0) return [e];
  const keys = new Set(common.map((c) => exprToString(c)));
  const rest = branches.map((b) => andAll(b.filter((x) => !keys.has(exprToString(x)))));
  if (rest.some((r) => r === null)) return common;
  return [...common, { kind: 'or', args: rest as Expr[], type: BOOL }];
}

/** A join tree under construction: which cluster relations it holds, where their columns sit. */
interface JoinTree {
  plan: LogicalPlan;
  readonly rels: ReadonlySet<number>;
  /** Cluster column index -> column index in plan. */
  readonly pos: ReadonlyMap<number, number>;
  readonly width: number;
  readonly est: number;
}

/** Rows of the table under a relation (its scan before filters), or the relation's estimate. */
function baseRows(p: LogicalPlan): number {
  if (p.kind === 'Scan') return Math.max(1, p.baseRows ?? p.estimatedRows);
  if (p.kind === 'Filter') return baseRows(p.input);
  return estimateRows(p);
}

/**
 * Greedy operator ordering (bushy): start with one tree per relation and repeatedly hash-join
 * the connected pair whose estimated result is smallest, the smaller side as the build side.
 * Estimates: a join whose keys on one side cover a relation's primary key keeps at most the
 * other side's rows times that side's surviving fraction of its table; other equi-joins are
 * taken to pair each row with 1/50 of the other side (at least the larger input). Relations with no equality to the rest are cross-joined
 * last, smallest first.
 */
function joinTrees(c: Cluster, rels: LogicalPlan[], offsets: readonly number[], relOf: (i: number) => number, multi: readonly Expr[]): { plan: LogicalPlan; pos: ReadonlyMap<number, number> } {
  const pk = rels.map(primaryKeyColumns);
  let trees: JoinTree[] = rels.map((plan, k) => {
    const pos = new Map<number, number>();
    for (let i = 0; i < c.rels[k]!.cols.length; i++) pos.set(offsets[k]! + i, i);
    return { plan, rels: new Set([k]), pos, width: c.rels[k]!.cols.length, est: Math.max(1, estimateRows(plan)) };
  });
  let pending = multi.slice();
  // Asked for every pending conjunct of every pair of trees in every step: computed once each.
  const relsMemo = new Map<Expr, Set<number>>();
  const relsOf = (conj: Expr): Set<number> => {
    let r = relsMemo.get(conj);
    if (r === undefined) { r = new Set([...columnsUsed(conj)].map(relOf)); relsMemo.set(conj, r); }
    return r;
  };
  /** Equality keys between two trees (a's side first), the conjuncts they come from. */
  const equiKeys = (a: JoinTree, b: JoinTree): { l: Expr; r: Expr; conj: Expr }[] => {
    const out: { l: Expr; r: Expr; conj: Expr }[] = [];
    for (const conj of pending) {
      if (hasOuter(conj) || conj.kind !== 'call' || conj.fn !== '=') continue;
      const rs = relsOf(conj);
      if (![...rs].every((x) => a.rels.has(x) || b.rels.has(x)) || ![...rs].some((x) => a.rels.has(x)) || ![...rs].some((x) => b.rels.has(x))) continue;
      const local = remapColumns(conj, (i) => (a.pos.has(i) ? a.pos.get(i)! : a.width + b.pos.get(i)!));
      const eq = splitEqui(local, a.width);
      if (eq !== null && keyCompatible(eq.l.type, eq.r.type)) out.push({ l: eq.l, r: eq.r, conj });
    }
    return out;
  };
  /** Fraction of rows of the other side kept when side t's keys (cluster columns) cover a primary key of one of t's relations. */
  const uniqueFraction = (t: JoinTree, keyCols: readonly (number | null)[]): number | null => {
    let best: number | null = null;
    for (const r of t.rels) {
      const cols = pk[r];
      if (cols === null || cols === undefined) continue;
      if (cols.every((j) => keyCols.includes(offsets[r]! + j))) {
        const f = Math.min(1, t.est / baseRows(rels[r]!));
        if (best === null || f < best) best = f;
      }
    }
    return best;
  };
  const clusterColOf = (e: Expr, t: JoinTree): number | null => {
    if (e.kind !== 'col') return null;
    for (const [g, l] of t.pos) if (l === e.index) return g;
    return null;
  };
  /** Distinct values of cluster column g (COMPUTE STATS) capped by the tree's rows; null without stats. */
  const keyNdv = (g: number | null, t: JoinTree): number | null => {
    if (g === null) return null;
    const r = relOf(g);
    const o = columnOrigin(rels[r]!, g - offsets[r]!);
    if (o === null || o.scan.columnStats === undefined) return null;
    const s = o.scan.columnStats.columns.get(o.scan.columns[o.col]!);
    return s === undefined ? null : Math.max(1, Math.min(s.ndv, t.est));
  };
  while (trees.length > 1) {
    let bestI = -1, bestJ = -1, bestEst = Infinity;
    for (let i = 0; i < trees.length; i++) {
      for (let j = i + 1; j < trees.length; j++) {
        const a = trees[i]!, b = trees[j]!;
        const keys = equiKeys(a, b);
        if (keys.length === 0) continue;
        const aCols = keys.map((k) => clusterColOf(k.l, a));
        const bCols = keys.map((k) => clusterColOf(k.r, b));
        const fa = uniqueFraction(a, aCols), fb = uniqueFraction(b, bCols);
        // Non-key equi-joins (low-cardinality columns like nation keys) are assumed to pair
        // each row with 1/50 of the other side, never fewer than the larger input.
        let est = Math.max(a.est, b.est, (a.est * b.est) / 50);
        if (fb !== null) est = Math.min(est, a.est * fb);
        if (fa !== null) est = Math.min(est, b.est * fa);
        // With column stats on both sides of a key: |A|*|B| / max(ndv_a, ndv_b), each ndv at
        // most its side's rows; over several keys the most selective one.
        let ndv = 0;
        for (let k = 0; k < keys.length; k++) {
          const na = keyNdv(aCols[k] ?? null, a), nb = keyNdv(bCols[k] ?? null, b);
          if (na !== null && nb !== null) ndv = Math.max(ndv, na, nb);
        }
        if (ndv > 0) est = (a.est * b.est) / ndv;
        est = Math.max(1, est);
        if (est < bestEst) { bestEst = est; bestI = i; bestJ = j; }
      }
    }
    let cross = false;
    if (bestI < 0) {
      // Nothing connected: cross-join the two smallest trees.
      const byEst = trees.map((t, i) => [t.est, i] as const).sort((x, y) => x[0] - y[0]);
      bestI = byEst[0]![1]; bestJ = byEst[1]![1];
      bestEst = trees[bestI]!.est * trees[bestJ]!.est;
      cross = true;
    }
    const t1 = trees[bestI]!, t2 = trees[bestJ]!;
    // The larger side streams (probe); the smaller is collected (build).
    const probe = t1.est >= t2.est ? t1 : t2, build = probe === t1 ? t2 : t1;
    const lk: Expr[] = [], rk: Expr[] = [], residual: Expr[] = [];
    const next: Expr[] = [];
    const rels2 = new Set([...probe.rels, ...build.rels]);
    const pos = new Map<number, number>(probe.pos);
    for (const [g, l] of build.pos) pos.set(g, probe.width + l);
    for (const conj of pending) {
      const rs = relsOf(conj);
      if (![...rs].every((x) => rels2.has(x)) || hasOuter(conj)) { next.push(conj); continue; }
      const local = remapColumns(conj, (i) => pos.get(i)!);
      const eq = cross ? null : splitEqui(local, probe.width);
      if (eq !== null && keyCompatible(eq.l.type, eq.r.type)) { lk.push(eq.l); rk.push(eq.r); }
      else residual.push(local);
    }
    pending = next;
    const plan = mkJoin(lk.length > 0 ? 'inner' : 'cross', probe.plan, build.plan, lk, rk, andAll(residual));
    const merged: JoinTree = { plan, rels: rels2, pos, width: probe.width + build.width, est: bestEst };
    trees = [...trees.filter((_, i) => i !== bestI && i !== bestJ), merged];
  }
  const only = trees[0]!;
  let plan = only.plan;
  if (pending.length > 0) plan = mkFilter(plan, andAll(pending.map((conj) => remapColumns(conj, (i) => only.pos.get(i)!))));
  return { plan, pos: only.pos };
}

function buildCluster(c: Cluster): Rel {
  c = { rels: c.rels, conjuncts: c.conjuncts.flatMap(factorOr) };
  const offsets: number[] = [];
  let w = 0;
  for (const r of c.rels) { offsets.push(w); w += r.cols.length; }
  const relOf = (colIdx: number): number => {
    for (let k = offsets.length - 1; k >= 0; k--) if (colIdx >= offsets[k]!) return k;
    return 0;
  };
  // From (A1 AND B1) OR (A2 AND B2) with A* on one relation, derive (A1 OR A2) for that
  // relation: a pushable filter (TPC-H Q7's nation pairs). The original stays as a residual.
  const derived: Expr[] = [];
  for (const conj of c.conjuncts) {
    if (conj.kind !== 'or' || hasOuter(conj)) continue;
    const branches = conj.args.map((a) => splitConjuncts(a));
    for (let k = 0; k < c.rels.length; k++) {
      const parts = branches.map((b) => b.filter((x) => {
        const used = [...columnsUsed(x)];
        return used.length > 0 && used.every((i) => relOf(i) === k);
      }));
      if (parts.every((p) => p.length > 0) && branches.some((b, i) => b.length > parts[i]!.length)) {
        derived.push({ kind: 'or', args: parts.map((p) => andAll(p)!), type: BOOL });
      }
    }
  }
  c = { rels: c.rels, conjuncts: [...c.conjuncts, ...derived] };
  // Push single-relation conjuncts into their relation.
  const rels = c.rels.map((r) => r.plan);
  const multi: Expr[] = [];
  for (const conj of c.conjuncts) {
    const used = [...columnsUsed(conj)];
    const rs = new Set(used.map(relOf));
    if (rs.size === 1 && !hasOuter(conj)) {
      const k = [...rs][0]!;
      rels[k] = mkFilter(rels[k]!, remapColumns(conj, (i) => i - offsets[k]!));
    } else if (rs.size === 0 && !hasOuter(conj)) {
      rels[0] = mkFilter(rels[0]!, conj);
    } else {
      multi.push(conj);
    }
  }
  if (rels.length === 1) return { plan: mkFilter(rels[0]!, andAll(multi)), cols: c.rels[0]!.cols };
  const plan0 = joinTrees(c, rels, offsets, relOf, multi);
  const plan = plan0.plan, pos = plan0.pos;
  const cols = clusterCols(c);
  const identity = cols.every((_, i) => pos.get(i) === i);
  if (identity) return { plan, cols };
  return relProject({ plan, cols }, cols.map((cc, i) => col(pos.get(i)!, cc.type)), cols);
}

function bindFrom(from: Ast[] | null, env: BindEnv, outer: Scope | null): Cluster {
  if (from === null || from.length === 0) {
    return { rels: [{ plan: { kind: 'Values', rows: [[]], names: [], types: [] }, cols: [] }], conjuncts: [] };
  }
  let cluster: Cluster = { rels: [], conjuncts: [] };
  for (let item of from) {
    const join = item.join ? String(item.join).toUpperCase() : null;
    let rel = bindFromItem(item, env, outer);
    let usingOn: Ast = null;
    if (Array.isArray(item.using) && item.using.length > 0) {
      // USING (c, ...) = ON left.c = right.c ...; the right copy is hidden from * and unqualified names.
      const names: string[] = item.using.map((u: Ast) => String(u?.value ?? u));
      const leftCols = clusterCols(cluster);
      for (const nm of names) {
        if (lookupColumn({ cols: leftCols, outer: null }, null, nm) === null) throw new SaigaError('UnknownColumn', `unknown column '${nm}' in USING (left side)`);
        if (lookupColumn({ cols: rel.cols, outer: null }, null, nm) === null) throw new SaigaError('UnknownColumn', `unknown column '${nm}' in USING (right side)`);
      }
      rel = { plan: rel.plan, cols: rel.cols.map((c) => (names.some((nm) => nm.toLowerCase() === c.name.toLowerCase()) ? { ...c, hidden: true } : c)) };
      const rq = rel.cols[0]?.qualifier ?? null;
      for (const nm of names) {
        const lc = leftCols[lookupColumn({ cols: leftCols, outer: null }, null, nm)!.index]!;
        const eq: Ast = { type: 'binary_expr', operator: '=', left: { type: 'column_ref', table: lc.qualifier, column: lc.name }, right: { type: 'column_ref', table: rq, column: nm } };
        usingOn = usingOn === null ? eq : { type: 'binary_expr', operator: 'AND', left: usingOn, right: eq };
      }
      item = { ...item, on: item.on ? { type: 'binary_expr', operator: 'AND', left: usingOn, right: item.on } : usingOn };
    }
    if (join === null || join === 'INNER JOIN' || join === 'JOIN' || join === 'CROSS JOIN' || join === 'STRAIGHT_JOIN') {
      cluster.rels.push(rel);
      if (item.on) {
        const scope: Scope = { cols: clusterCols(cluster), outer };
        const on = bindExpr(item.on, { env, scope, agg: null, subquery: null });
        cluster.conjuncts.push(...splitConjuncts(toBool(on)));
      }
      continue;
    }
    const type: JoinType = join.startsWith('LEFT') ? 'left' : join.startsWith('RIGHT') ? 'right' : join.startsWith('FULL') ? 'full' : unsupported(`join type ${join}`);
    if (cluster.rels.length === 0) bindError(`${join} needs a table on its left`);
    const left = buildCluster(cluster);
    const cols = [...left.cols, ...rel.cols.map((c) => ({ ...c, nullable: true }))];
    const leftWidth = left.cols.length;
    const lk: Expr[] = [], rk: Expr[] = [], residual: Expr[] = [];
    let rightPlan = rel.plan;
    let leftPlan = left.plan;
    if (item.on) {
      const on = toBool(bindExpr(item.on, { env, scope: { cols, outer }, agg: null, subquery: null }));
      for (const conj of splitConjuncts(on)) {
        const used = [...columnsUsed(conj)];
        const eq = splitEqui(conj, leftWidth);
        if (eq !== null && keyCompatible(eq.l.type, eq.r.type)) { lk.push(eq.l); rk.push(eq.r); continue; }
        if (type === 'left' && used.length > 0 && used.every((i) => i >= leftWidth) && !hasOuter(conj)) {
          rightPlan = mkFilter(rightPlan, remapColumns(conj, (i) => i - leftWidth));
          continue;
        }
        if (type === 'right' && used.length > 0 && used.every((i) => i < leftWidth) && !hasOuter(conj)) {
          leftPlan = mkFilter(leftPlan, conj);
          continue;
        }
        residual.push(conj);
      }
    }
    const outCols = type === 'right' || type === 'full' ? cols.map((c, i) => (i < leftWidth ? { ...c, nullable: true } : c)) : cols;
    cluster = { rels: [{ plan: mkJoin(type, leftPlan, rightPlan, lk, rk, andAll(residual)), cols: outCols }], conjuncts: [] };
  }
  return cluster;
}

// ---------- subqueries ----------

interface Correlation {
  /** Inner-side key expressions (over the subquery's relation) and outer-side ones (over the outer relation). */
  innerKeys: Expr[];
  outerKeys: Expr[];
  /** Conjuncts mixing both sides: over outer cols ++ inner cols. */
  residual: Expr[];
}

function outerToCol(e: Expr): Expr {
  return mapExpr(e, (x) => (x.kind === 'outer' ? col(x.index, x.type) : x));
}

/** Splits correlated conjuncts off a subquery's WHERE; the rest filters the subquery. */
function extractCorrelation(conjuncts: Expr[], outerWidth: number): { local: Expr[]; corr: Correlation } {
  const corr: Correlation = { innerKeys: [], outerKeys: [], residual: [] };
  const local: Expr[] = [];
  for (const conj of conjuncts) {
    if (!hasOuter(conj)) { local.push(conj); continue; }
    if (conj.kind === 'call' && conj.fn === '=') {
      const [a, b] = conj.args as [Expr, Expr];
      if (!hasOuter(a) && hasInner(a) && hasOuter(b) && !hasInner(b) && keyCompatible(a.type, b.type)) { corr.innerKeys.push(a); corr.outerKeys.push(outerToCol(b)); continue; }
      if (!hasOuter(b) && hasInner(b) && hasOuter(a) && !hasInner(a) && keyCompatible(a.type, b.type)) { corr.innerKeys.push(b); corr.outerKeys.push(outerToCol(a)); continue; }
    }
    // over outer ++ inner
    corr.residual.push(mapExpr(conj, (x) => (x.kind === 'col' ? col(outerWidth + x.index, x.type) : x.kind === 'outer' ? col(x.index, x.type) : x)));
  }
  return { local, corr };
}

interface QueryParts {
  rel: Rel;
  corr: Correlation;
  /** The subquery returns [keys..., value, count]; more than one row per key is an error. */
  checkSingle?: boolean;
  /** Non-equality correlation: `rel` is the subquery's filtered FROM; the handler decorrelates. */
  theta?: Ast;
}

/**
 * Binds a subquery with the outer relation's columns visible. Correlated conjuncts are lifted
 * out of its WHERE; `extraGroupKeys` makes an aggregate subquery group by its correlation keys.
 */
function bindCorrelatedSubquery(ast: Ast, env: BindEnv, outer: Scope, mode: 'exists' | 'in' | 'scalar'): QueryParts {
  if (ast._next) {
    if (mode === 'scalar' || mode === 'in') return { rel: bindQuery(ast, env, outer), corr: { innerKeys: [], outerKeys: [], residual: [] } };
    unsupported('UNION inside EXISTS');
  }
  const cluster = bindFrom(ast.from ?? null, env, outer);
  const scope: Scope = { cols: clusterCols(cluster), outer };
  const subq = makeSubqueryHandler(env);
  let whereConj: Expr[] = [];
  const pendingSub: Ast[] = [];
  if (ast.where) {
    for (const cAst of splitAstConjuncts(ast.where)) {
      if (astHasSubquery(cAst)) { pendingSub.push(cAst); continue; }
      whereConj.push(...splitConjuncts(toBool(bindExpr(cAst, { env, scope, agg: null, subquery: null }))));
    }
  }
  const { local, corr } = extractCorrelation(whereConj, outer.cols.length);
  whereConj = local;
  cluster.conjuncts.push(...whereConj);
  let rel = buildCluster(cluster);
  const cctx = { rel };
  for (const cAst of pendingSub) {
    const e = bindExpr(cAst, { env, scope: { cols: cctx.rel.cols, outer }, agg: null, subquery: subq(cctx, isJoinableSubqueryPredicate(cAst)) });
    if (hasOuter(e)) unsupported('a correlated subquery nested inside a correlated subquery condition');
    if (!(e.kind === 'lit' && e.value === 1)) cctx.rel = { plan: mkFilter(cctx.rel.plan, toBool(e)), cols: cctx.rel.cols };
  }
  rel = cctx.rel;
  if (mode === 'exists') {
    if (ast.groupby || ast.having) {
      // EXISTS over an aggregate: keep the aggregate, correlation on group keys is not supported
      if (corr.innerKeys.length > 0 || corr.residual.length > 0) unsupported('correlated EXISTS over GROUP BY');
      return { rel: finishSelect(ast, rel, env, outer), corr };
    }
    return { rel, corr };
  }
  if (corr.innerKeys.length === 0 && corr.residual.length === 0) {
    return { rel: finishSelect(ast, rel, env, outer), corr };
  }
  if (mode === 'scalar') {
    if (corr.residual.length > 0) {
      if (ast.groupby || ast.having || !selectItems(ast).some((it) => containsAggregate(it.expr)) || selectItems(ast).length !== 1) {
        unsupported('a correlated scalar subquery with a non-equality correlation and no single aggregate');
      }
      return { rel, corr, theta: ast };
    }
    if (ast.groupby || ast.having) unsupported('a correlated scalar subquery with GROUP BY');
    const items = selectItems(ast);
    if (!items.some((it) => containsAggregate(it.expr))) {
      // One value per outer row: ANY_VALUE(expr) grouped by the correlation keys, plus COUNT(*)
      // so that more than one matching row fails at run time, as in MySQL.
      if (items.length !== 1) bindError(`a scalar subquery must return one column but returns ${items.length}`);
      const wrapped = {
        ...ast,
        columns: [
          { expr: { type: 'aggr_func', name: 'ANY_VALUE', args: { expr: items[0].expr } }, as: null },
          { expr: { type: 'aggr_func', name: 'COUNT', args: { expr: { type: 'star', value: '*' } } }, as: null },
        ],
        orderby: null, limit: null,
      };
      return { rel: finishSelect(wrapped, rel, env, outer, corr.innerKeys), corr, checkSingle: true };
    }
    const r = finishSelect(ast, rel, env, outer, corr.innerKeys);
    return { rel: r, corr };
  }
  // IN with correlation: select list plus correlation residual handled by the join
  if (ast.groupby || containsAggregate(ast.columns)) unsupported('a correlated IN subquery with aggregates');
  return { rel: finishSelect(ast, rel, env, outer, corr.innerKeys, true), corr };
}

function splitAstConjuncts(ast: Ast): Ast[] {
  if (ast?.type === 'binary_expr' && String(ast.operator).toUpperCase() === 'AND' && !ast.parentheses) {
    return [...splitAstConjuncts(ast.left), ...splitAstConjuncts(ast.right)];
  }
  if (ast?.type === 'binary_expr' && String(ast.operator).toUpperCase() === 'AND') {
    return [...splitAstConjuncts(ast.left), ...splitAstConjuncts(ast.right)];
  }
  return [ast];
}

function astHasSubquery(ast: Ast): boolean {
  if (ast === null || typeof ast !== 'object') return false;
  if (isSubqueryAst(ast)) return true;
  for (const k of Object.keys(ast)) {
    if (k === 'loc') continue;
    const v = ast[k];
    if (Array.isArray(v)) { if (v.some(astHasSubquery)) return true; }
    else if (v && typeof v === 'object' && astHasSubquery(v)) return true;
  }
  return false;
}

/**
 * The subquery handler used while binding a WHERE / HAVING: EXISTS and IN become semi / anti
 * joins applied to the current relation (ctx.rel, which it replaces); correlated scalar
 * subqueries become left joins against an aggregate grouped by the correlation keys;
 * uncorrelated scalar subqueries stay as 'subquery' expressions run once by the executor.
 */
function makeSubqueryHandler(env: BindEnv) {
  return (holder: { rel: Rel }, top = true) => (ast: Ast, kind: 'scalar' | 'exists' | 'in', ctx: ExprContext, lhs?: Expr, negated?: boolean): Expr => {
    if (!top && kind !== 'scalar') return subqueryValue(env, ast, kind, lhs, negated);
    const outerScope: Scope = { cols: holder.rel.cols, outer: null };
    const { rel: sub, corr, checkSingle, theta } = bindCorrelatedSubquery(ast, env, outerScope, kind);
    const outerWidth = holder.rel.cols.length;
    if (kind === 'scalar' && theta !== undefined) {
      // Magic-set decorrelation: D = distinct outer values the subquery reads; join D with the
      // subquery's rows on the correlation; aggregate per D row; left join back on D's columns.
      const used = new Set<number>();
      for (const e of [...corr.residual, ...corr.outerKeys]) for (const i of columnsUsed(e)) if (i < outerWidth) used.add(i);
      const dom = [...used].sort((a, b) => a - b);
      const dpos = new Map(dom.map((i, k) => [i, k]));
      const dTypes = dom.map((i) => holder.rel.cols[i]!.type);
      const dPlan: LogicalPlan = {
        kind: 'Distinct',
        input: mkProject(holder.rel.plan, dom.map((i, k) => col(i, dTypes[k]!)), dom.map((_, k) => `__dom${k}`)),
        names: dom.map((_, k) => `__dom${k}`), types: dTypes,
      };
      const dw = dom.length;
      const toD = (e: Expr): Expr => remapColumns(e, (i) => dpos.get(i)!);
      const residual = corr.residual.map((e) => remapColumns(e, (i) => (i < outerWidth ? dpos.get(i)! : dw + (i - outerWidth))));
      const j = mkJoin(corr.outerKeys.length > 0 ? 'inner' : 'cross', dPlan, sub.plan, corr.outerKeys.map(toD), corr.innerKeys, andAll(residual));
      const dCols: BoundCol[] = dom.map((_, k) => ({ qualifier: '__dom', name: `__dom${k}`, type: dTypes[k]!, nullable: true, hidden: true }));
      const jRel: Rel = { plan: j, cols: [...dCols, ...sub.cols] };
      const aggRel = finishSelect(theta, jRel, env, null, dCols.map((c, k) => col(k, c.type)));
      const joined = mkJoin('left', holder.rel.plan, aggRel.plan, dom.map((i, k) => col(i, dTypes[k]!)), dom.map((_, k) => col(k, dTypes[k]!)), null);
      holder.rel = { plan: joined, cols: [...holder.rel.cols, ...aggRel.cols.map((c) => ({ ...c, qualifier: '__sub', nullable: true }))] };
      const v = aggRel.cols[dw]!;
      const ref = col(outerWidth + dw, v.type);
      const item = selectItems(theta)[0].expr;
      const isCount = item?.type === 'aggr_func' && String(item.name).toUpperCase() === 'COUNT';
      return isCount ? call('coalesce', [ref, lit(0, v.type)], v.type) : ref;
    }
    if (kind === 'scalar' && checkSingle === true) {
      const nk = corr.innerKeys.length;
      const rightKeys = corr.innerKeys.map((k, i) => col(i, k.type));
      const joined = mkJoin('left', holder.rel.plan, sub.plan, corr.outerKeys, rightKeys, null);
      holder.rel = { plan: joined, cols: [...holder.rel.cols, ...sub.cols.map((c) => ({ ...c, qualifier: '__sub', nullable: true }))] };
      const v = sub.cols[nk]!;
      return { kind: 'call', fn: 'single_row_check', args: [col(outerWidth + nk, v.type), col(outerWidth + nk + 1, INT64)], type: v.type };
    }
    if (kind === 'scalar') {
      if (sub.cols.length - corr.innerKeys.length !== 1) bindError(`a scalar subquery must return one column but returns ${sub.cols.length - corr.innerKeys.length}`);
      if (corr.innerKeys.length === 0) {
        const t = sub.cols[0]!.type;
        return { kind: 'subquery', plan: sub.plan, type: t };
      }
      // sub = [keys..., value]; left join on outer keys
      const nk = corr.innerKeys.length;
      const rightKeys = corr.innerKeys.map((k, i) => col(i, k.type));
      const joined = mkJoin('left', holder.rel.plan, sub.plan, corr.outerKeys, rightKeys, null);
      const cols = [...holder.rel.cols, ...sub.cols.map((c) => ({ ...c, qualifier: '__sub', nullable: true }))];
      holder.rel = { plan: joined, cols };
      const vcol = sub.cols[nk]!;
      return col(outerWidth + nk, vcol.type);
    }
    let outerKeys = corr.outerKeys;
    let innerKeys = corr.innerKeys;
    let residual = corr.residual;
    let nullAware = false;
    if (kind === 'in') {
      if (sub.cols.length < 1) bindError('IN (subquery) needs one column');
      const v = col(0, sub.cols[0]!.type);
      const t = commonType(lhs!.type, v.type);
      if (hasOuter(lhs!)) unsupported('IN with an outer reference on its left');
      // innerKeys were bound over the subquery's FROM relation; with the select list on top
      // (finishSelect appended them as extra columns after the select columns), remap.
      const extra = corr.innerKeys.length;
      const selWidth = sub.cols.length - extra;
      if (selWidth !== 1) bindError(`IN (subquery) must return one column but returns ${selWidth}`);
      innerKeys = corr.innerKeys.map((k, i) => col(selWidth + i, k.type));
      outerKeys = [coerce(lhs!, t), ...corr.outerKeys];
      innerKeys = [coerce(v, t), ...innerKeys];
      if (residual.length > 0) unsupported('IN (subquery) with a non-equality correlation');
      nullAware = negated === true;
    }
    const joinType: JoinType = negated ? 'anti' : 'semi';
    // residual is over outer ++ inner (the FROM relation of the subquery, which for EXISTS is `sub`)
    const plan = mkJoin(joinType, holder.rel.plan, sub.plan, outerKeys, innerKeys, andAll(residual), nullAware);
    holder.rel = { plan, cols: holder.rel.cols };
    void outerWidth;
    return lit(1, BOOL);
  };
}

/** EXISTS / IN as a value (under OR, NOT, CASE, the select list): uncorrelated subqueries only. */
function subqueryValue(env: BindEnv, ast: Ast, kind: 'exists' | 'in', lhs?: Expr, negated?: boolean): Expr {
  let rel: Rel;
  try {
    rel = bindQuery(ast, env, null);
  } catch (e) {
    if (e instanceof SaigaError && e.code === 'UnknownColumn') unsupported(`a correlated ${kind.toUpperCase()} subquery inside OR / NOT / CASE or the select list (${e.message})`);
    throw e;
  }
  if (kind === 'exists') {
    const limited: LogicalPlan = { kind: 'Limit', input: rel.plan, limit: 1, offset: 0, names: rel.plan.names, types: rel.plan.types };
    const count: LogicalPlan = { kind: 'Aggregate', input: limited, groups: [], aggs: [{ fn: 'count_star', arg: null, type: INT64 }], names: ['c'], types: [INT64] };
    const e: Expr = { kind: 'subquery', plan: count, type: INT64 };
    return call(negated ? '=' : '>', [e, lit(0, INT64)], BOOL);
  }
  if (rel.cols.length !== 1) bindError(`IN (subquery) must return one column but returns ${rel.cols.length}`);
  const st = rel.cols[0]!.type;
  const a = lhs!;
  if (hasOuter(a)) unsupported('IN with an outer reference on its left');
  if (keyCompatible(a.type, st)) return { kind: 'inSubquery', arg: a, plan: rel.plan, negated: negated === true, type: BOOL };
  const t = commonType(a.type, st);
  const plan = mkProject(rel.plan, [coerce(col(0, st), t)], rel.plan.names.slice(0, 1));
  return { kind: 'inSubquery', arg: coerce(a, t), plan, negated: negated === true, type: BOOL };
}

/** Is this WHERE conjunct an EXISTS / NOT EXISTS / [NOT] IN (subquery) that can become a semi or anti join? */
function isJoinableSubqueryPredicate(ast: Ast): boolean {
  if (ast?.type === 'unary_expr' && ['EXISTS', 'NOT EXISTS'].includes(String(ast.operator).toUpperCase())) return true;
  if (ast?.type === 'function' && ['exists', 'not exists'].includes(fnName(ast))) return true;
  if (ast?.type === 'binary_expr' && ['IN', 'NOT IN'].includes(String(ast.operator).toUpperCase())) {
    const r = ast.right;
    const items: Ast[] = r?.type === 'expr_list' ? r.value : [r];
    return items.length === 1 && isSubqueryAst(items[0]) && !astHasSubquery(ast.left);
  }
  return false;
}

// ---------- SELECT ----------

/** Select-list subqueries: uncorrelated scalar subqueries only (run once by the executor). */
function uncorrelatedScalar(env: BindEnv) {
  return (ast: Ast, kind: 'scalar' | 'exists' | 'in', _ctx: ExprContext, lhs?: Expr, negated?: boolean): Expr => {
    let rel: Rel;
    try {
      rel = bindQuery(ast, env, null);
    } catch (e) {
      if (e instanceof SaigaError && e.code === 'UnknownColumn') unsupported(`a correlated subquery in the select list (${e.message})`);
      throw e;
    }
    if (kind === 'scalar') {
      if (rel.cols.length !== 1) bindError(`a scalar subquery must return one column but returns ${rel.cols.length}`);
      return { kind: 'subquery', plan: rel.plan, type: rel.cols[0]!.type };
    }
    if (kind === 'exists') {
      const limited: LogicalPlan = { kind: 'Limit', input: rel.plan, limit: 1, offset: 0, names: rel.plan.names, types: rel.plan.types };
      const count: LogicalPlan = { kind: 'Aggregate', input: limited, groups: [], aggs: [{ fn: 'count_star', arg: null, type: INT64 }], names: ['c'], types: [INT64] };
      const e: Expr = { kind: 'subquery', plan: count, type: INT64 };
      return call(negated ? '=' : '>', [e, lit(0, INT64)], BOOL);
    }
    return subqueryValue(env, ast, 'in', lhs, negated);
  };
}

function selectItems(ast: Ast): Ast[] {
  const c = ast.columns;
  if (c === '*' ) return [{ expr: { type: 'column_ref', table: null, column: '*' }, as: null }];
  return c as Ast[];
}

/**
 * Everything after FROM/WHERE: GROUP BY, HAVING, select list, window functions, DISTINCT,
 * ORDER BY, LIMIT. `extraGroupKeys` (correlated scalar subqueries) are prepended to the output.
 */
function finishSelect(ast: Ast, input: Rel, env: BindEnv, outer: Scope | null, extraGroupKeys: readonly Expr[] = [], appendKeys = false): Rel {
  const holder = { rel: input };
  const subq = makeSubqueryHandler(env);
  const items = selectItems(ast);
  const aliases = new Map<string, Ast>();
  for (const it of items) if (it.as) aliases.set(String(it.as).toLowerCase(), it.expr);
  const hasAgg = ast.groupby?.columns?.length > 0 || items.some((it) => containsAggregate(it.expr)) || (ast.having != null) || extraGroupKeys.length > 0 && items.some((it) => containsAggregate(it.expr));
  let rel = holder.rel;
  let agg: AggContext | null = null;
  let groupExprs: Expr[] = [];
  if (hasAgg) {
    const baseCtx: ExprContext = { env, scope: { cols: rel.cols, outer }, agg: null, subquery: null };
    const groupAsts: Ast[] = ast.groupby?.columns ?? [];
    groupExprs = [...extraGroupKeys];
    for (const g of groupAsts) {
      let gAst = g;
      if (g.type === 'number') {
        const k = Number(g.value);
        const it = items[k - 1];
        if (it === undefined) bindError(`GROUP BY position ${k} is out of range`);
        gAst = it.expr;
      } else if (g.type === 'column_ref' && g.table == null && lookupColumn({ cols: rel.cols, outer: null }, null, columnName(g)) === null && aliases.has(columnName(g).toLowerCase())) {
        gAst = aliases.get(columnName(g).toLowerCase());
      }
      groupExprs.push(bindExpr(gAst, baseCtx));
    }
    const groupKeys = new Map<string, number>();
    groupExprs.forEach((g, i) => { if (!groupKeys.has(exprToString(g))) groupKeys.set(exprToString(g), i); });
    agg = { pre: rel, groupKeys, groupCount: groupExprs.length, aggs: [], aggKeys: new Map() };
  }
  // Bind the select list (and HAVING / ORDER BY) over the aggregate output (or the input).
  const windows: WindowCall[] = [];
  const postCols = (): BoundCol[] => (agg === null ? rel.cols.slice() : [
    ...groupExprs.map((g, i) => ({ qualifier: null, name: `group${i}`, type: g.type, nullable: true })),
    ...agg.aggs.map((a, i) => ({ qualifier: null, name: `agg${i}`, type: a.type, nullable: true })),
  ]);
  const selHolder = { rel };
  const correlated = makeSubqueryHandler(env)(selHolder);
  const plainScalar = uncorrelatedScalar(env);
  const selectSubquery = (sAst: Ast, kind: 'scalar' | 'exists' | 'in', c: ExprContext, lhs?: Expr, negated?: boolean): Expr => {
    if (kind !== 'scalar' || agg !== null || outer !== null) return plainScalar(sAst, kind, c, lhs, negated);
    try {
      return plainScalar(sAst, kind, c, lhs, negated);
    } catch (e) {
      if (!(e instanceof SaigaError && e.code === 'NotSupported' && /correlated/.test(e.message))) throw e;
    }
    // Correlated scalar subquery in the select list: left join onto the input (appends columns).
    const r = correlated(sAst, kind, c, lhs, negated);
    rel = selHolder.rel;
    return r;
  };
  const mkCtx = (): ExprContext => ({
    env, scope: { cols: agg === null ? rel.cols : [], outer }, agg,
    subquery: selectSubquery, aliases, windows, windowBase: 1 << 20,
  });
  const outExprs: Expr[] = [];
  const outCols: BoundCol[] = [];
  for (const it of items) {
    const e = it.expr;
    if (e.type === 'column_ref' && columnName(e) === '*') {
      const srcCols = agg === null ? rel.cols : agg.pre.cols;
      let any = false;
      srcCols.forEach((c, i) => {
        if (c.hidden) return;
        if (e.table != null && c.qualifier?.toLowerCase() !== String(e.table).toLowerCase()) return;
        any = true;
        outExprs.push(agg === null ? col(i, c.type) : bindExpr({ type: 'column_ref', table: c.qualifier, column: c.name }, mkCtx()));
        outCols.push(c);
      });
      if (!any && e.table != null) throw new SaigaError('UnknownTable', `unknown table '${e.table}' in select list`);
      continue;
    }
    const bound = bindExpr(e, mkCtx());
    const name = it.as ? String(it.as) : e.type === 'column_ref' ? columnName(e) : exprText(e, env);
    const src = e.type === 'column_ref' ? lookupColumn({ cols: agg === null ? rel.cols : agg.pre.cols, outer: null }, e.table ?? null, columnName(e)) : null;
    const base: BoundCol = { qualifier: null, name, type: bound.type, nullable: true };
    outCols.push(src !== null && src.col.table !== undefined ? { ...base, nullable: src.col.nullable, db: src.col.db!, table: src.col.table, originalName: src.col.originalName ?? src.col.name } : base);
    outExprs.push(bound);
  }
  let having: Expr | null = null;
  if (ast.having) {
    const hctx: ExprContext = { ...mkCtx(), aliases: new Map() };
    // HAVING may name select aliases
    const hAliases = new Map<string, Ast>();
    for (const it of items) if (it.as) hAliases.set(String(it.as).toLowerCase(), it.expr);
    having = toBool(bindExpr(ast.having, { ...hctx, aliases: hAliases, subquery: subq(holder, false) }));
    if (holder.rel !== rel) unsupported('a correlated subquery in HAVING');
  }
  // ORDER BY keys: output positions, aliases, or expressions (hidden extra columns).
  const orderKeys: { index: number; desc: boolean }[] = [];
  const hidden: Expr[] = [];
  for (const o of (ast.orderby ?? []) as Ast[]) {
    const desc = String(o.type ?? 'ASC').toUpperCase() === 'DESC';
    const oe = o.expr;
    if (oe.type === 'number') {
      const k = Number(oe.value);
      if (k < 1 || k > outExprs.length) bindError(`ORDER BY position ${k} is out of range`);
      orderKeys.push({ index: k - 1, desc });
      continue;
    }
    if (oe.type === 'column_ref' && oe.table == null) {
      const name = columnName(oe).toLowerCase();
      const byAlias = items.findIndex((it) => it.as && String(it.as).toLowerCase() === name);
      if (byAlias >= 0 && !items.slice(0, byAlias).some((it) => it.expr.type === 'column_ref' && columnName(it.expr) === '*')) {
        orderKeys.push({ index: outCols.findIndex((c) => c.name.toLowerCase() === name), desc });
        continue;
      }
    }
    const bound = bindExpr(oe, { ...mkCtx(), aliases });
    const s = exprToString(bound);
    const same = outExprs.findIndex((x) => exprToString(x) === s);
    if (same >= 0) { orderKeys.push({ index: same, desc }); continue; }
    if (ast.distinct) bindError('with SELECT DISTINCT, ORDER BY expressions must appear in the select list');
    hidden.push(bound);
    orderKeys.push({ index: outExprs.length + hidden.length - 1, desc });
  }
  // Assemble: Aggregate -> Filter(HAVING) -> Window -> Project -> Distinct -> Sort -> Limit -> Project.
  let plan = rel.plan;
  if (agg !== null) {
    plan = {
      kind: 'Aggregate', input: plan, groups: groupExprs, aggs: agg.aggs,
      names: postCols().map((c) => c.name), types: postCols().map((c) => c.type),
    };
    plan = mkFilter(plan, having);
  } else if (having !== null) {
    plan = mkFilter(plan, having);
  }
  const width = plan.names.length;
  let allExprs = [...outExprs, ...hidden];
  if (windows.length > 0) {
    plan = { kind: 'Window', input: plan, calls: windows, names: [...plan.names, ...windows.map((_, i) => `w${i}`)], types: [...plan.types, ...windows.map((w) => w.type)] };
    allExprs = allExprs.map((e) => mapExpr(e, (x) => (x.kind === 'col' && x.index >= 1 << 20 ? col(width + x.index - (1 << 20), x.type) : x)));
  }
  const extraOut = appendKeys ? extraGroupKeys : [];
  const keyCols: BoundCol[] = (agg !== null ? extraGroupKeys.map((_, i) => col(i, groupExprs[i]!.type)) : extraOut).map((e, i) => ({ qualifier: '__key', name: `__key${i}`, type: e.type, nullable: true }));
  const keyExprs = agg !== null ? extraGroupKeys.map((_, i) => col(i, groupExprs[i]!.type)) : extraOut;
  const projectCols = [...keyCols, ...outCols, ...hidden.map((h, i) => ({ qualifier: null, name: `__order${i}`, type: h.type, nullable: true }))];
  const keyFirst = !appendKeys;
  const projExprs = keyFirst ? [...keyExprs, ...allExprs] : [...allExprs.slice(0, outExprs.length), ...keyExprs, ...allExprs.slice(outExprs.length)];
  const projCols = keyFirst ? projectCols : [...outCols, ...keyCols, ...projectCols.slice(keyCols.length + outCols.length)];
  plan = mkProject(plan, projExprs, projCols.map((c) => c.name));
  const keyOffset = keyFirst ? keyCols.length : 0;
  if (ast.distinct) plan = { kind: 'Distinct', input: plan, names: plan.names, types: plan.types };
  const limit = parseLimit(ast.limit);
  if (orderKeys.length > 0) {
    plan = {
      kind: 'Sort', input: plan,
      keys: orderKeys.map((k) => ({ expr: col(k.index + keyOffset, projCols[k.index + keyOffset]!.type), desc: k.desc })),
      limit: limit.limit === null ? null : limit.limit + limit.offset,
      names: plan.names, types: plan.types,
    };
  }
  if (limit.limit !== null || limit.offset > 0) plan = { kind: 'Limit', input: plan, limit: limit.limit, offset: limit.offset, names: plan.names, types: plan.types };
  if (hidden.length > 0) {
    const keep = projCols.length - hidden.length;
    plan = mkProject(plan, projCols.slice(0, keep).map((c, i) => col(i, c.type)), projCols.slice(0, keep).map((c) => c.name));
    return { plan, cols: projCols.slice(0, keep) };
  }
  return { plan, cols: projCols };
}

function parseLimit(l: Ast): { limit: number | null; offset: number } {
  if (!l || !Array.isArray(l.value) || l.value.length === 0) return { limit: null, offset: 0 };
  const vals = l.value.map((v: Ast) => {
    if (v.type !== 'number') bindError('LIMIT expects a number');
    return Number(v.value);
  });
  if (vals.length === 1) return { limit: vals[0], offset: 0 };
  if (l.seperator === 'offset') return { limit: vals[0], offset: vals[1] };
  return { limit: vals[1], offset: vals[0] };
}

/** Binds a SELECT (with WITH and UNION) to a relation. */
export function bindQuery(ast: Ast, env: BindEnv, outer: Scope | null): Rel {
  let e = env;
  if (Array.isArray(ast.with) && ast.with.length > 0) {
    const ctes = new Map(env.ctes);
    for (const w of ast.with as Ast[]) {
      const name = String(w.name?.value ?? w.name).toLowerCase();
      const cols = Array.isArray(w.columns) ? w.columns.map((c: Ast) => String(c?.value ?? c?.column ?? c)) : null;
      ctes.set(name, { ast: subqueryAst(w.stmt), columns: cols });
    }
    e = { ...env, ctes };
  }
  if (ast._next) return bindUnion(ast, e, outer);
  return bindSelectCore(ast, e, outer);
}

function bindUnion(ast: Ast, env: BindEnv, outer: Scope | null): Rel {
  const parts: Rel[] = [];
  const ops: string[] = [];
  let cur: Ast = ast;
  let last: Ast = ast;
  while (cur) {
    const { _next, set_op, ...rest } = cur;
    const isLast = !_next;
    last = cur;
    parts.push(bindSelectCore(isLast ? { ...rest, orderby: null, limit: null } : rest, env, outer));
    if (set_op) ops.push(String(set_op).toLowerCase());
    cur = _next;
  }
  if (ops.some((o) => o !== 'union' && o !== 'union all' && o !== 'union distinct')) unsupported(`set operation ${ops.find((o) => !o.startsWith('union'))!.toUpperCase()}`);
  const width = parts[0]!.cols.length;
  for (const p of parts) if (p.cols.length !== width) bindError(`UNION parts must have the same number of columns (${width} vs ${p.cols.length})`);
  const types = parts[0]!.cols.map((c, i) => parts.reduce((t, p) => commonType(t, p.cols[i]!.type), c.type));
  const inputs = parts.map((p) => {
    if (p.cols.every((c, i) => sameType(c.type, types[i]!))) return p.plan;
    return mkProject(p.plan, p.cols.map((c, i) => coerce(col(i, c.type), types[i]!)), p.cols.map((c) => c.name));
  });
  const cols = parts[0]!.cols.map((c, i) => ({ qualifier: null, name: c.name, type: types[i]!, nullable: true }));
  const all = ops.every((o) => o === 'union all');
  let plan: LogicalPlan = { kind: 'Union', inputs, all, names: cols.map((c) => c.name), types };
  // ORDER BY / LIMIT of the last part apply to the whole union
  const orderby = (last.orderby ?? []) as Ast[];
  if (orderby.length > 0) {
    const keys: SortKey[] = orderby.map((o) => {
      const desc = String(o.type ?? 'ASC').toUpperCase() === 'DESC';
      if (o.expr.type === 'number') return { expr: col(Number(o.expr.value) - 1, types[Number(o.expr.value) - 1]!), desc };
      const idx = o.expr.type === 'column_ref' ? cols.findIndex((c) => c.name.toLowerCase() === columnName(o.expr).toLowerCase()) : -1;
      if (idx < 0) bindError('ORDER BY of a UNION must name an output column');
      return { expr: col(idx, types[idx]!), desc };
    });
    const lim = parseLimit(last.limit);
    plan = { kind: 'Sort', input: plan, keys, limit: lim.limit === null ? null : lim.limit + lim.offset, names: plan.names, types };
  }
  const lim = parseLimit(last.limit);
  if (lim.limit !== null || lim.offset > 0) plan = { kind: 'Limit', input: plan, limit: lim.limit, offset: lim.offset, names: plan.names, types };
  return { plan, cols };
}

function bindSelectCore(ast: Ast, env: BindEnv, outer: Scope | null): Rel {
  if (ast.type !== 'select') unsupported(`${String(ast.type).toUpperCase()} here`);
  if (ast.into?.position) unsupported('SELECT ... INTO');
  const cluster = bindFrom(ast.from ?? null, env, outer);
  const scope: Scope = { cols: clusterCols(cluster), outer };
  const pendingSub: Ast[] = [];
  if (ast.where) {
    for (const cAst of splitAstConjuncts(ast.where)) {
      if (astHasSubquery(cAst)) { pendingSub.push(cAst); continue; }
      const e = toBool(bindExpr(cAst, { env, scope, agg: null, subquery: null }));
      if (hasOuter(e)) unsupported('a correlated reference in this position');
      cluster.conjuncts.push(...splitConjuncts(e));
    }
  }
  const holder = { rel: buildCluster(cluster) };
  const subq = makeSubqueryHandler(env);
  for (const cAst of pendingSub) {
    const e = bindExpr(cAst, { env, scope: { cols: holder.rel.cols, outer }, agg: null, subquery: subq(holder, isJoinableSubqueryPredicate(cAst)) });
    if (!(e.kind === 'lit' && e.value === 1)) holder.rel = { plan: mkFilter(holder.rel.plan, toBool(e)), cols: holder.rel.cols };
  }
  const rel = finishSelect(ast, holder.rel, env, outer);
  // Hidden columns added by scalar-subquery joins never reach the output: finishSelect projects.
  return rel;
}

/** Binds the expressions of one VALUES row (or a FROM-less SELECT list) to constants. */
export function bindConstantRow(asts: readonly Ast[], env: BindEnv): Expr[] {
  const ctx: ExprContext = { env, scope: { cols: [], outer: null }, agg: null, subquery: null };
  return asts.map((a) => bindExpr(a, ctx));
}

export function litToValue(e: Expr): Value {
  assert(e.kind === 'lit', 'constant expression expected');
  if (e.value === null) return null;
  const v = { kind: 'num' as const, type: e.type, values: new Float64Array([typeof e.value === 'number' ? e.value : 0]), valid: null };
  if (typeof e.value === 'number') return cellValue(v, 0);
  return e.value;
}

export { exprToString, pow10 };
