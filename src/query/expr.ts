import type { DataType } from '../common/types.js';
import type { LogicalPlan } from './logical-plan.js';
import type { SqlType } from './vector.js';

/**
 * Bound expressions: column references are indexes into the input chunk of the operator that
 * evaluates them. Literal values use the executor representation (see vector.ts): numbers for
 * every numeric-like type (decimals unscaled; a bigint when an integer-like value is beyond 2^53),
 * strings, bytes, or null.
 */
export type LitValue = number | bigint | string | Uint8Array | null;

export type Expr =
  | { readonly kind: 'col'; readonly index: number; readonly type: SqlType }
  /** A column of the enclosing query (correlated subqueries); removed by decorrelation. */
  | { readonly kind: 'outer'; readonly index: number; readonly type: SqlType }
  | { readonly kind: 'lit'; readonly value: LitValue; readonly type: SqlType }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[]; readonly type: SqlType }
  | { readonly kind: 'and' | 'or'; readonly args: readonly Expr[]; readonly type: SqlType }
  | { readonly kind: 'not'; readonly arg: Expr; readonly type: SqlType }
  | { readonly kind: 'isNull'; readonly arg: Expr; readonly negated: boolean; readonly type: SqlType }
  | { readonly kind: 'in'; readonly arg: Expr; readonly list: readonly Expr[]; readonly negated: boolean; readonly type: SqlType }
  | { readonly kind: 'like'; readonly arg: Expr; readonly pattern: Expr; readonly negated: boolean; readonly type: SqlType }
  | { readonly kind: 'case'; readonly whens: readonly (readonly [Expr, Expr])[]; readonly otherwise: Expr | null; readonly type: SqlType }
  | { readonly kind: 'cast'; readonly arg: Expr; readonly type: SqlType }
  /** An uncorrelated scalar subquery; the executor runs it once and substitutes the value. */
  | { readonly kind: 'subquery'; readonly plan: LogicalPlan; readonly type: SqlType }
  /** x [NOT] IN (uncorrelated subquery) where it cannot become a semi join (under OR, NOT, CASE...). */
  | { readonly kind: 'inSubquery'; readonly arg: Expr; readonly plan: LogicalPlan; readonly negated: boolean; readonly type: SqlType };

export const BOOL: SqlType = { type: 'bool' };
export const INT64: SqlType = { type: 'int64' };
export const DOUBLE: SqlType = { type: 'double' };
export const STRING: SqlType = { type: 'string' };
export const DATE: SqlType = { type: 'date' };
export const TIMESTAMP: SqlType = { type: 'timestamp' };
export const NULLTYPE: SqlType = { type: 'int64' };

export function isIntType(t: DataType): boolean {
  return t === 'int8' || t === 'int16' || t === 'int32' || t === 'int64' || t === 'bool';
}
export function isNumericType(t: DataType): boolean {
  return isIntType(t) || t === 'float' || t === 'double' || t === 'decimal';
}
export function isFloatType(t: DataType): boolean {
  return t === 'float' || t === 'double';
}

export function decimalType(precision: number, scale: number): SqlType {
  return { type: 'decimal', precision: Math.min(38, Math.max(precision, scale, 1)), scale: Math.min(scale, 38) };
}

/** Integer digits a type can hold (for result precision). */
function intDigits(t: SqlType): number {
  switch (t.type) {
    case 'bool': case 'int8': return 3;
    case 'int16': return 5;
    case 'int32': return 10;
    case 'int64': return 19;
    case 'decimal': return (t.precision ?? 38) - (t.scale ?? 0);
    default: return 19;
  }
}

export function scaleOf(t: SqlType): number {
  return t.type === 'decimal' ? t.scale ?? 0 : 0;
}

/** MySQL-style result type of + - * / % over two numeric types. */
export function arithmeticType(op: string, a: SqlType, b: SqlType): SqlType {
  if (isFloatType(a.type) || isFloatType(b.type) || a.type === 'string' || b.type === 'string') return DOUBLE;
  const sa = scaleOf(a);
  const sb = scaleOf(b);
  if (a.type !== 'decimal' && b.type !== 'decimal' && op !== '/') return INT64;
  switch (op) {
    case '+': case '-': {
      const s = Math.max(sa, sb);
      return decimalType(Math.max(intDigits(a), intDigits(b)) + s + 1, s);
    }
    case '*': return decimalType(intDigits(a) + intDigits(b) + sa + sb, sa + sb);
    case '/': return decimalType(intDigits(a) + sb + sa + 4, sa + 4);
    case '%': return decimalType(Math.max(intDigits(a), intDigits(b)) + Math.max(sa, sb), Math.max(sa, sb));
    default: return DOUBLE;
  }
}

/** The type two values are compared (or unioned) in. */
export function commonType(a: SqlType, b: SqlType): SqlType {
  if (a.type === b.type && a.type !== 'decimal') return a;
  if (a === NULLTYPE) return b;
  if (b === NULLTYPE) return a;
  const an = isNumericType(a.type);
  const bn = isNumericType(b.type);
  if (an && bn) {
    if (isFloatType(a.type) || isFloatType(b.type)) return DOUBLE;
    if (a.type === 'decimal' || b.type === 'decimal') {
      const s = Math.max(scaleOf(a), scaleOf(b));
      return decimalType(Math.max(intDigits(a), intDigits(b)) + s, s);
    }
    return INT64;
  }
  if ((a.type === 'date' || a.type === 'timestamp') && (b.type === 'date' || b.type === 'timestamp')) {
    return a.type === 'timestamp' || b.type === 'timestamp' ? TIMESTAMP : DATE;
  }
  if (a.type === 'date' || a.type === 'timestamp') return a;
  if (b.type === 'date' || b.type === 'timestamp') return b;
  if (a.type === 'string' || b.type === 'string') {
    if (an || bn) return DOUBLE;
    return STRING;
  }
  if (a.type === 'binary' || b.type === 'binary') return { type: 'binary' };
  return DOUBLE;
}

export function sameType(a: SqlType, b: SqlType): boolean {
  return a.type === b.type && (a.type !== 'decimal' || (a.scale ?? 0) === (b.scale ?? 0));
}

export function col(index: number, type: SqlType): Expr {
  return { kind: 'col', index, type };
}

export function lit(value: LitValue, type: SqlType): Expr {
  return { kind: 'lit', value, type };
}

export function andAll(conjuncts: readonly Expr[]): Expr | null {
  if (conjuncts.length === 0) return null;
  if (conjuncts.length === 1) return conjuncts[0]!;
  return { kind: 'and', args: conjuncts, type: BOOL };
}

export function splitConjuncts(e: Expr | null): Expr[] {
  if (e === null) return [];
  if (e.kind === 'and') return e.args.flatMap((a) => splitConjuncts(a));
  return [e];
}

/** Children of an expression (not descending into subquery plans). */
export function exprChildren(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'col': case 'outer': case 'lit': case 'subquery': return [];
    case 'call': case 'and': case 'or': return e.args;
    case 'not': case 'isNull': case 'cast': case 'inSubquery': return [e.arg];
    case 'in': return [e.arg, ...e.list];
    case 'like': return [e.arg, e.pattern];
    case 'case': {
      const out: Expr[] = [];
      for (const [w, r] of e.whens) out.push(w, r);
      if (e.otherwise !== null) out.push(e.otherwise);
      return out;
    }
  }
}

/** Rebuilds an expression bottom-up with `f` applied to every node (after its children). */
export function mapExpr(e: Expr, f: (e: Expr) => Expr): Expr {
  let n: Expr;
  switch (e.kind) {
    case 'col': case 'outer': case 'lit': case 'subquery': n = e; break;
    case 'call': n = { ...e, args: e.args.map((a) => mapExpr(a, f)) }; break;
    case 'and': case 'or': n = { ...e, args: e.args.map((a) => mapExpr(a, f)) }; break;
    case 'not': case 'isNull': case 'cast': case 'inSubquery': n = { ...e, arg: mapExpr(e.arg, f) }; break;
    case 'in': n = { ...e, arg: mapExpr(e.arg, f), list: e.list.map((a) => mapExpr(a, f)) }; break;
    case 'like': n = { ...e, arg: mapExpr(e.arg, f), pattern: mapExpr(e.pattern, f) }; break;
    case 'case': n = {
      ...e,
      whens: e.whens.map(([w, r]) => [mapExpr(w, f), mapExpr(r, f)] as const),
      otherwise: e.otherwise === null ? null : mapExpr(e.otherwise, f),
    }; break;
  }
  return f(n);
}

export function visitExpr(e: Expr, f: (e: Expr) => void): void {
  f(e);
  for (const c of exprChildren(e)) visitExpr(c, f);
}

export function columnsUsed(e: Expr, out: Set<number> = new Set()): Set<number> {
  visitExpr(e, (x) => { if (x.kind === 'col') out.add(x.index); });
  return out;
}

export function hasOuter(e: Expr): boolean {
  let found = false;
  visitExpr(e, (x) => { if (x.kind === 'outer') found = true; });
  return found;
}

export function hasInner(e: Expr): boolean {
  let found = false;
  visitExpr(e, (x) => { if (x.kind === 'col') found = true; });
  return found;
}

export function remapColumns(e: Expr, map: (i: number) => number): Expr {
  return mapExpr(e, (x) => (x.kind === 'col' ? { ...x, index: map(x.index) } : x));
}

export function exprToString(e: Expr, names?: readonly string[]): string {
  switch (e.kind) {
    case 'col': return names?.[e.index] ?? `#${e.index}`;
    case 'outer': return `outer#${e.index}`;
    case 'lit': return e.value === null ? 'NULL' : typeof e.value === 'string' ? `'${e.value}'` : e.value instanceof Uint8Array ? 'x' : String(e.value);
    case 'call': return `${e.fn}(${e.args.map((a) => exprToString(a, names)).join(', ')})`;
    case 'and': case 'or': return `(${e.args.map((a) => exprToString(a, names)).join(` ${e.kind.toUpperCase()} `)})`;
    case 'not': return `NOT ${exprToString(e.arg, names)}`;
    case 'isNull': return `${exprToString(e.arg, names)} IS ${e.negated ? 'NOT ' : ''}NULL`;
    case 'in': return `${exprToString(e.arg, names)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map((a) => exprToString(a, names)).join(', ')})`;
    case 'like': return `${exprToString(e.arg, names)} ${e.negated ? 'NOT ' : ''}LIKE ${exprToString(e.pattern, names)}`;
    case 'case': return `CASE ${e.whens.map(([w, r]) => `WHEN ${exprToString(w, names)} THEN ${exprToString(r, names)}`).join(' ')}${e.otherwise ? ` ELSE ${exprToString(e.otherwise, names)}` : ''} END`;
    case 'cast': return `CAST(${exprToString(e.arg, names)} AS ${e.type.type})`;
    case 'subquery': return '(subquery)';
    case 'inSubquery': return `${exprToString(e.arg, names)} ${e.negated ? 'NOT ' : ''}IN (subquery)`;
  }
}
