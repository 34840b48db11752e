import { assert } from '../common/assert.js';
import { pow10 } from './eval.js';
import { splitConjuncts, type Expr } from './expr.js';
import type { AggCall } from './logical-plan.js';
import { fragmentKey, taskParts, type FragmentPart, type FragmentSpec, type FragmentTask } from './fragment.js';
import { vectorKindOf, type Chunk, type SqlType, type Vector } from './vector.js';

/**
 * Fused fragment kernels: a coprocessor fragment (filter + partial aggregate) compiled once per
 * query shape into one generated typed-array loop, run by the workers on the storage buffers
 * directly (no decode to Float64Array vectors, no per-expression passes).
 *
 * Covered: filters of comparisons / IN / AND / OR / NOT over int, date, timestamp, int64,
 * double and decimal columns and numeric literals; group keys that are int / date / timestamp /
 * int64 / decimal columns or string columns holding at most one ASCII byte (one or two string
 * keys: a dense 129^k table; otherwise a hashed table of key components); SUM / COUNT / COUNT(*) / MIN /
 * MAX / ANY_VALUE of + - * / unary minus / widening casts over those columns.
 *
 * Exactness: values are unscaled integers held in doubles. Decimal / int64 reads, every exact
 * intermediate result and every exact partial sum are checked against 2^53-1; a batch that
 * breaks any bound (or has a NULL in a used column) is not answered here (`null`) and runs
 * through the generic exact path (fragment.ts), so results are identical to it.
 * Generated sources are built from fixed fragments and numbers only, never from user text.
 */

/**
 * How the loop reads a column of one batch: 'num' a typed array of numbers, 'i64' int64 words,
 * 'dec' Decimal128 words, 'str' UTF-8 bytes + offsets, 'c32' / 'c64' the storage's compact copy
 * of a wide column (Int32Array / Float64Array of exact unscaled values; SerializedColumn.compact).
 */
type Read = 'num' | 'i64' | 'dec' | 'str' | 'c32' | 'c64';

/** A compiled fragment kernel: the partial aggregate of a task, or null to use the generic path. */
export type FragmentKernel = (task: FragmentTask) => Chunk | null;

type Loop = (
  c: readonly ArrayLike<number>[], o: readonly (Int32Array | null)[], n: number,
  gmap: Int32Array | null, keys: Int32Array, acc: readonly Float64Array[], cnt: Float64Array, cap: number, g0: number,
  kc: readonly Float64Array[], mask: number,
) => number;

const BAIL = -1;
const GROW = -2;
const KEY_RADIX = 129;
/** Groups one task may hold in the hashed key table before the generic path takes over. */
const HASH_GROUPS_MAX = 1 << 20;

class Unsupported extends Error {}

/** Group key column types: integers below 2^53 (ints, dates, timestamps, decimals) or 1-byte strings. */
const KEY_TYPES = new Set<SqlType['type']>(['int8', 'int16', 'int32', 'int64', 'date', 'timestamp', 'decimal', 'string']);

function readOf(t: SqlType): Read | null {
  switch (t.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': return 'num';
    case 'int64': case 'timestamp': return 'i64';
    case 'decimal': return 'dec';
    case 'string': return 'str';
    default: return null;
  }
}

function isExactType(t: SqlType): boolean {
  return t.type === 'decimal' || t.type === 'int64' || t.type === 'int32' || t.type === 'int16' || t.type === 'int8';
}

function numText(v: number): string {
  if (Object.is(v, -0)) return '(-0)';
  return `(${String(v)})`;
}

class Gen {
  readonly stmts: string[] = [];
  readonly loaded = new Set<number>();
  readonly used = new Set<number>();
  private tmp = 0;

  constructor(private readonly types: readonly SqlType[], private readonly reads: readonly (Read | null)[]) {}

  load(col: number): string {
    const t = this.types[col];
    if (t === undefined) throw new Unsupported();
    const r = this.reads[col] ?? null;
    if (r === null || r === 'str') throw new Unsupported();
    this.used.add(col);
    const x = `x${col}`;
    if (this.loaded.has(col)) return x;
    this.loaded.add(col);
    const c = `c${col}`;
    switch (r) {
      case 'num': case 'c32': case 'c64': this.stmts.push(`const ${x} = ${c}[i];`); break;
      case 'i64':
        this.stmts.push(`const h${col} = ${c}[(i << 1) + 1]; if (((h${col} + 2097151) >>> 0) > 4194302) return ${BAIL};`);
        this.stmts.push(`const ${x} = h${col} * 4294967296 + (${c}[i << 1] >>> 0);`);
        break;
      case 'dec':
        // hi word in (-2^21, 2^21) and the upper two words its sign: |x| < 2^53.
        this.stmts.push(`const p${col} = i << 2, h${col} = ${c}[p${col} + 1], s${col} = h${col} >> 31;`);
        this.stmts.push(`if (((h${col} + 2097151) >>> 0) > 4194302 || (${c}[p${col} + 2] ^ s${col}) !== 0 || (${c}[p${col} + 3] ^ s${col}) !== 0) return ${BAIL};`);
        this.stmts.push(`const ${x} = h${col} * 4294967296 + (${c}[p${col}] >>> 0);`);
        break;
    }
    return x;
  }

  private temp(expr: string, exact: boolean): string {
    const t = `t${this.tmp++}`;
    this.stmts.push(`const ${t} = ${expr};`);
    if (exact) this.stmts.push(`if (Math.abs(${t}) > 9007199254740991) return ${BAIL};`);
    return t;
  }

  private readonly memo = new Map<string, string>();

  /**
   * A numeric expression; returns a JS expression (variable or literal) of its value. Equal
   * subexpressions are computed once per row (every statement emitted so far has run for the
   * row by the time a later one reads it).
   */
  num(e: Expr): string {
    const key = exprKey(e);
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const v = this.numUncached(e);
    this.memo.set(key, v);
    return v;
  }

  private numUncached(e: Expr): string {
    switch (e.kind) {
      case 'col': return this.load(e.index);
      case 'lit':
        if (typeof e.value !== 'number' || !Number.isFinite(e.value) || vectorKindOf(e.type.type) !== 'num') throw new Unsupported();
        return numText(e.value);
      case 'call': {
        if (vectorKindOf(e.type.type) !== 'num' || e.type.type === 'bool') throw new Unsupported();
        if ((e.fn === '+' || e.fn === '-' || e.fn === '*') && e.args.length === 2) {
          const a = this.num(e.args[0]!), b = this.num(e.args[1]!);
          return this.temp(`${a} ${e.fn} ${b}`, isExactType(e.type));
        }
        if (e.fn === 'neg' && e.args.length === 1) return this.temp(`-${this.num(e.args[0]!)}`, false);
        throw new Unsupported();
      }
      case 'cast': {
        const from = e.arg.type, to = e.type;
        const fs = from.type === 'decimal' ? from.scale ?? 0 : 0;
        const ts = to.type === 'decimal' ? to.scale ?? 0 : 0;
        const fromInt = from.type === 'int8' || from.type === 'int16' || from.type === 'int32' || from.type === 'int64';
        if (from.type === to.type && fs === ts && readOf(from) !== 'str' && readOf(from) !== null) return this.num(e.arg);
        if (to.type === 'decimal' && (from.type === 'decimal' || fromInt) && ts >= fs) {
          const x = this.num(e.arg);
          return ts === fs ? x : this.temp(`${x} * ${numText(pow10(ts - fs))}`, true);
        }
        if (to.type === 'int64' && fromInt) return this.num(e.arg);
        if (to.type === 'double' && (from.type === 'decimal' || fromInt)) return this.temp(`${this.num(e.arg)} / ${numText(pow10(fs))}`, false);
        if (to.type === 'double' && (from.type === 'double' || from.type === 'float')) return this.num(e.arg);
        throw new Unsupported();
      }
      default: throw new Unsupported();
    }
  }

  /**
   * lo <= x <= hi over an int32-valued column as one unsigned compare (one branch instead of
   * two: the rejected rows of a range filter mispredict far less). With x, lo, hi int32 and
   * lo <= hi, (x - lo) mod 2^32 <= hi - lo exactly when lo <= x <= hi.
   */
  range(r: IntRange): string {
    const x = this.load(r.col);
    if (r.lo > r.hi) return 'false';
    return `(((${x} - ${numText(r.lo)}) >>> 0) <= ${numText(r.hi - r.lo)})`;
  }

  /** A boolean expression (no NULLs reach it: used columns are checked NULL-free). */
  bool(e: Expr): string {
    switch (e.kind) {
      case 'call': {
        const op = e.fn === '=' ? '===' : e.fn === '<>' ? '!==' : e.fn === '<' || e.fn === '<=' || e.fn === '>' || e.fn === '>=' ? e.fn : null;
        if (op === null || e.args.length !== 2) throw new Unsupported();
        const [a, b] = e.args as [Expr, Expr];
        if (vectorKindOf(a.type.type) !== 'num' || vectorKindOf(b.type.type) !== 'num') throw new Unsupported();
        return `(${this.num(a)} ${op} ${this.num(b)})`;
      }
      case 'and': case 'or':
        if (e.args.length === 0) throw new Unsupported();
        return `(${e.args.map((x) => this.bool(x)).join(e.kind === 'and' ? ' && ' : ' || ')})`;
      case 'not': return `!${this.bool(e.arg)}`;
      case 'in': {
        if (vectorKindOf(e.arg.type.type) !== 'num' || e.list.length === 0) throw new Unsupported();
        const x = this.num(e.arg);
        const parts = e.list.map((l) => {
          if (l.kind !== 'lit') throw new Unsupported();
          return `${x} === ${this.num(l)}`;
        });
        return `${e.negated ? '!' : ''}(${parts.join(' || ')})`;
      }
      case 'isNull':
        if (e.arg.kind !== 'col' || readOf(e.arg.type) === null) throw new Unsupported();
        this.used.add(e.arg.index);
        return e.negated ? 'true' : 'false';
      default: throw new Unsupported();
    }
  }
}

function exprKey(e: unknown): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? `bigint:${v.toString()}` : v));
}

/** Column types whose kernel read (`c[i]`) is always an int32. */
const INT32_TYPES = new Set<SqlType['type']>(['int8', 'int16', 'int32', 'date']);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** lo <= column <= hi (inclusive int32 bounds): a lower and an upper bound conjunct merged. */
class IntRange {
  constructor(readonly col: number, readonly lo: number, readonly hi: number) {}
}

/** Whether the loop reads column `col` as int32 values (int32-sized types, compact int32 copies). */
function int32Read(col: number, types: readonly SqlType[], reads: readonly (Read | null)[]): boolean {
  const t = types[col];
  if (t === undefined) return false;
  return reads[col] === 'c32' || (reads[col] === 'num' && INT32_TYPES.has(t.type));
}

/**
 * An int32-read column's bound from `col op lit` / `lit op col` with a finite numeric literal
 * in the column's unit (a decimal literal of the column's scale for a decimal column).
 */
function intBound(e: Expr, types: readonly SqlType[], reads: readonly (Read | null)[]): { col: number; lo: number | null; hi: number | null } | null {
  if (e.kind !== 'call' || e.args.length !== 2) return null;
  let op = e.fn;
  let [a, b] = e.args as [Expr, Expr];
  if (a.kind === 'lit' && b.kind === 'col') {
    [a, b] = [b, a];
    op = op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : op;
  }
  if (a.kind !== 'col' || b.kind !== 'lit' || typeof b.value !== 'number' || !Number.isFinite(b.value)) return null;
  const t = types[a.index];
  if (t === undefined || !int32Read(a.index, types, reads) || vectorKindOf(b.type.type) !== 'num') return null;
  if (t.type === 'decimal') {
    if (a.type.type !== 'decimal' || b.type.type !== 'decimal' || (a.type.scale ?? 0) !== (t.scale ?? 0) || (b.type.scale ?? 0) !== (t.scale ?? 0)) return null;
  } else if (!INT32_TYPES.has(a.type.type)) return null;
  const v = b.value;
  // Integer x: x >= v <=> x >= ceil(v); x > v <=> x >= floor(v) + 1; x <= v <=> x <= floor(v); x < v <=> x <= ceil(v) - 1.
  switch (op) {
    case '>=': return { col: a.index, lo: Math.ceil(v), hi: null };
    case '>': return { col: a.index, lo: Math.floor(v) + 1, hi: null };
    case '<=': return { col: a.index, lo: null, hi: Math.floor(v) };
    case '<': return { col: a.index, lo: null, hi: Math.ceil(v) - 1 };
    default: return null;
  }
}

/**
 * Conjuncts with every int32 column that has both a lower and an upper literal bound turned
 * into one IntRange (at the place of its first bound); all other conjuncts unchanged.
 */
function mergeRanges(conjuncts: readonly Expr[], types: readonly SqlType[], reads: readonly (Read | null)[]): (Expr | IntRange)[] {
  const bounds = conjuncts.map((e) => intBound(e, types, reads));
  const per = new Map<number, { lo: number; hi: number; hasLo: boolean; hasHi: boolean }>();
  for (const b of bounds) {
    if (b === null) continue;
    const r = per.get(b.col) ?? { lo: -Infinity, hi: Infinity, hasLo: false, hasHi: false };
    if (b.lo !== null) { r.lo = Math.max(r.lo, b.lo); r.hasLo = true; }
    if (b.hi !== null) { r.hi = Math.min(r.hi, b.hi); r.hasHi = true; }
    per.set(b.col, r);
  }
  const out: (Expr | IntRange)[] = [];
  const done = new Set<number>();
  conjuncts.forEach((e, k) => {
    const b = bounds[k];
    const r = b === null || b === undefined ? undefined : per.get(b.col);
    if (b === null || b === undefined || r === undefined || !r.hasLo || !r.hasHi) { out.push(e); return; }
    if (done.has(b.col)) return;
    done.add(b.col);
    // Bounds outside int32 hold for every value of the column.
    const lo = Math.max(r.lo, INT32_MIN);
    const hi = Math.min(r.hi, INT32_MAX);
    out.push(new IntRange(b.col, lo, hi));
  });
  return out;
}

/** Cost rank of reading a column (cheap filters run first). */
function readCost(e: Expr, reads: readonly (Read | null)[]): number {
  let cost = 0;
  const walk = (x: Expr): void => {
    if (x.kind === 'col') { const r = reads[x.index] ?? null; cost = Math.max(cost, r === 'num' || r === 'c32' ? 1 : r === 'i64' || r === 'c64' ? 2 : 3); return; }
    if (x.kind === 'call' || x.kind === 'and' || x.kind === 'or') x.args.forEach(walk);
    else if (x.kind === 'not' || x.kind === 'cast' || x.kind === 'isNull') walk(x.arg);
    else if (x.kind === 'in') { walk(x.arg); x.list.forEach(walk); }
  };
  walk(e);
  return cost;
}

interface Plan {
  readonly loop: Loop;
  /** The column reads the loop was compiled for. */
  readonly reads: readonly (Read | null)[];
  readonly used: readonly number[];
  readonly keyCols: readonly number[];
  /** Keys looked up in an open-addressing table of key components (else a dense 129^k table). */
  readonly hashed: boolean;
  readonly accCount: number;
  /** Accumulator of each aggregate (equal aggregates share one), -1 for counts. */
  readonly accOf: readonly number[];
  readonly maxGroups: number;
}

function compile(f: FragmentSpec, reads: readonly (Read | null)[]): Plan | null {
  const keyCols: number[] = [];
  for (const g of f.groups) {
    if (g.kind !== 'col' || f.types[g.index] === undefined || !KEY_TYPES.has(g.type.type) || f.types[g.index]!.type !== g.type.type) return null;
    keyCols.push(g.index);
  }
  const hashed = keyCols.length > 2 || keyCols.some((c) => f.types[c]!.type !== 'string');
  const gen = new Gen(f.types, reads);
  const body: string[] = [];
  try {
    const conjuncts = mergeRanges(splitConjuncts(f.filter), f.types, reads).map((e, k) => ({ e, k, cost: e instanceof IntRange ? 1 : readCost(e, reads) }));
    conjuncts.sort((a, b) => a.cost - b.cost || a.k - b.k);
    for (const { e } of conjuncts) {
      gen.stmts.length = 0;
      const cond = e instanceof IntRange ? gen.range(e) : gen.bool(e);
      body.push(...gen.stmts, `if (!${cond}) continue;`);
    }
    // Group id.
    if (keyCols.length === 0) body.push('const g = 0;');
    else if (hashed) {
      // Key components (numbers < 2^53, or one-byte string codes), hashed; linear probing.
      body.push('let hh = 0;');
      keyCols.forEach((c, j) => {
        gen.stmts.length = 0;
        if (f.types[c]!.type === 'string') {
          gen.used.add(c);
          body.push(`let q${j}; { const st = o${c}[i], ln = o${c}[i + 1] - st; if (ln === 1) { const b = c${c}[st]; if (b >= 128) return ${BAIL}; q${j} = b + 1; } else if (ln === 0) q${j} = 0; else return ${BAIL}; }`);
        } else {
          const x = gen.load(c);
          body.push(...gen.stmts, `const q${j} = ${x};`);
        }
        body.push(`hh = Math.imul(hh ^ (q${j} | 0) ^ ((q${j} / 4294967296) | 0), -1640531535);`);
      });
      const same = keyCols.map((_, j) => `kc${j}[e] === q${j}`).join(' && ');
      const store = keyCols.map((_, j) => `kc${j}[g] = q${j};`).join(' ');
      body.push('hh ^= hh >>> 15;');
      body.push(`let sl = hh & mask, g = 0; for (;;) { const e = gmap[sl]; if (e < 0) { if (G === cap) return ${GROW}; g = G++; gmap[sl] = g; ${store} break; } if (${same}) { g = e; break; } sl = (sl + 1) & mask; }`);
    } else {
      body.push('let k = 0;');
      keyCols.forEach((c, j) => {
        gen.used.add(c);
        const mul = KEY_RADIX ** j;
        body.push(`{ const st = o${c}[i], ln = o${c}[i + 1] - st; if (ln === 1) { const b = c${c}[st]; if (b >= 128) return ${BAIL}; k += (b + 1) * ${mul}; } else if (ln !== 0) return ${BAIL}; }`);
      });
      body.push(`let g = gmap[k]; if (g < 0) { if (G === cap) return ${GROW}; g = G++; gmap[k] = g; keys[g] = k; }`);
    }
    body.push('const m = ++cnt[g];');
    let acc = 0;
    const accOf: number[] = [];
    const shared = new Map<string, number>();
    f.aggs.forEach((a: AggCall) => {
      gen.stmts.length = 0;
      if (a.fn === 'count' || a.fn === 'count_star') accOf.push(-1);
      else {
        const key = `${a.fn} ${exprKey(a.type)} ${exprKey(a.arg)}`;
        const at = shared.get(key);
        if (at !== undefined) { accOf.push(at); return; }
        shared.set(key, acc);
        accOf.push(acc);
      }
      switch (a.fn) {
        case 'count_star': break;
        case 'count': if (a.arg === null) return; gen.num(a.arg); body.push(...gen.stmts); break;
        case 'sum': {
          if (a.arg === null || vectorKindOf(a.type.type) !== 'num') throw new Unsupported();
          const v = gen.num(a.arg);
          const s = `a${acc++}`;
          body.push(...gen.stmts, `const u${s} = ${s}[g] + ${v};`);
          if (isExactType(a.type)) body.push(`if (Math.abs(u${s}) > 9007199254740991) return ${BAIL};`);
          body.push(`${s}[g] = u${s};`);
          break;
        }
        case 'min': case 'max': case 'any_value': {
          if (a.arg === null || vectorKindOf(a.type.type) !== 'num' || vectorKindOf(a.arg.type.type) !== 'num') throw new Unsupported();
          const v = gen.num(a.arg);
          const s = `a${acc++}`;
          const better = a.fn === 'min' ? `${v} < ${s}[g]` : a.fn === 'max' ? `${v} > ${s}[g]` : 'false';
          body.push(...gen.stmts, `if (m === 1 || ${better}) ${s}[g] = ${v};`);
          break;
        }
        default: throw new Unsupported();
      }
    });
    const used = [...gen.used].sort((a, b) => a - b);
    const head: string[] = [];
    for (const c of used) head.push(`const c${c} = c[${c}], o${c} = o[${c}];`);
    for (let k = 0; k < acc; k++) head.push(`const a${k} = acc[${k}];`);
    if (hashed) keyCols.forEach((_, j) => head.push(`const kc${j} = kc[${j}];`));
    const src = `${head.join('\n')}\nlet G = ${keyCols.length === 0 ? 1 : 'g0'};\nfor (let i = 0; i < n; i++) {\n${body.join('\n')}\n}\nreturn G;`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const loop = new Function('c', 'o', 'n', 'gmap', 'keys', 'acc', 'cnt', 'cap', 'g0', 'kc', 'mask', src) as Loop;
    const maxGroups = keyCols.length === 0 ? 1 : hashed ? HASH_GROUPS_MAX : KEY_RADIX ** keyCols.length;
    return { loop, reads, used, keyCols, hashed, accCount: acc, accOf, maxGroups };
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

function emptyVector(t: SqlType): Vector {
  const kind = vectorKindOf(t.type);
  if (kind === 'num') return { kind, type: t, values: new Float64Array(0), valid: null };
  return kind === 'str' ? { kind, type: t, values: [], valid: null } : { kind, type: t, values: [], valid: null };
}

/** How the loop reads each column of a batch: its type's read, or its compact copy when storage kept one. */
function readsOf(f: FragmentSpec, part: FragmentPart): (Read | null)[] {
  return f.types.map((t, i) => {
    const r = readOf(t);
    const compact = part.columns[i]?.compact;
    if ((r !== 'dec' && r !== 'i64') || compact === undefined) return r;
    return compact instanceof Int32Array ? 'c32' : 'c64';
  });
}

/** The arrays the loop reads for one batch, or null when a used column has NULLs. */
function viewsOf(p: Plan, part: FragmentPart): { c: ArrayLike<number>[]; o: (Int32Array | null)[] } | null {
  const c: ArrayLike<number>[] = new Array<ArrayLike<number>>(part.columns.length);
  const o: (Int32Array | null)[] = new Array<Int32Array | null>(part.columns.length).fill(null);
  for (const i of p.used) {
    const col = part.columns[i]!;
    if (col.nullCount > 0 || col.values === null) return null;
    const v = col.values;
    switch (p.reads[i] ?? null) {
      case 'c32': case 'c64':
        if (col.compact === undefined || col.compact.length !== col.length) return null;
        c[i] = col.compact;
        break;
      case 'num': c[i] = v as unknown as ArrayLike<number>; break;
      case 'i64': c[i] = new Int32Array(v.buffer, v.byteOffset, col.length * 2); break;
      case 'dec': c[i] = new Int32Array(v.buffer, v.byteOffset, col.length * 4); break;
      case 'str':
        if (col.valueOffsets === null) return null;
        c[i] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        o[i] = col.valueOffsets;
        break;
      case null: return null;
    }
  }
  return { c, o };
}

/**
 * Runs a task's batches, each with the loop compiled for its column reads (`plans[k]` for part
 * k; all share the first plan's group and accumulator layout, which the reads do not change).
 */
function runPlan(plans: readonly Plan[], f: FragmentSpec, task: FragmentTask): Chunk | null {
  const p = plans[0]!;
  const views: { c: ArrayLike<number>[]; o: (Int32Array | null)[]; n: number; loop: Loop }[] = [];
  taskParts(task).forEach((part, k) => {
    const pk = plans[k]!;
    const v = viewsOf(pk, part);
    if (v !== null) views.push({ ...v, n: part.length, loop: pk.loop });
  });
  if (views.length !== plans.length) return null;
  let cap = Math.min(p.maxGroups, 256);
  for (;;) {
    let tableSize = 1;
    while (tableSize < cap * 2) tableSize *= 2;
    const gmap = p.keyCols.length === 0 ? null : new Int32Array(p.hashed ? tableSize : p.maxGroups).fill(-1);
    const keys = new Int32Array(p.hashed ? 0 : cap);
    const kc = p.hashed ? p.keyCols.map(() => new Float64Array(cap)) : [];
    const acc: Float64Array[] = [];
    for (let k = 0; k < p.accCount; k++) acc.push(new Float64Array(cap));
    const cnt = new Float64Array(cap);
    let G = 0;
    for (const v of views) {
      G = v.loop(v.c, v.o, v.n, gmap, keys, acc, cnt, cap, G, kc, tableSize - 1);
      if (G < 0) break;
    }
    if (G === BAIL) return null;
    if (G === GROW) {
      if (cap >= p.maxGroups) return null;
      cap = p.hashed ? Math.min(p.maxGroups, cap * 8) : p.maxGroups;
      continue;
    }
    if (G === 0) return { columns: [...f.groups.map((x) => emptyVector(x.type)), ...f.aggs.map((a) => emptyVector(a.type))], length: 0 };
    const columns: Vector[] = [];
    p.keyCols.forEach((c, j) => {
      const t = f.groups[j]!.type;
      if (p.hashed) {
        const q = kc[j]!.slice(0, G);
        if (t.type !== 'string') { columns.push({ kind: 'num', type: t, values: q, valid: null }); return; }
        const values: string[] = new Array<string>(G);
        for (let g = 0; g < G; g++) { const code = q[g]!; values[g] = code === 0 ? '' : String.fromCharCode(code - 1); }
        columns.push({ kind: 'str', type: t, values, valid: null });
        return;
      }
      const div = KEY_RADIX ** j;
      const values: string[] = new Array<string>(G);
      for (let g = 0; g < G; g++) { const code = Math.floor(keys[g]! / div) % KEY_RADIX; values[g] = code === 0 ? '' : String.fromCharCode(code - 1); }
      columns.push({ kind: 'str', type: f.groups[j]!.type, values, valid: null });
    });
    const counts = cnt.slice(0, G);
    let valid: Uint8Array | null = null;
    const validOf = (): Uint8Array => {
      if (valid === null) { valid = new Uint8Array(G); for (let g = 0; g < G; g++) valid[g] = counts[g]! > 0 ? 1 : 0; }
      return valid;
    };
    f.aggs.forEach((a, k) => {
      const at = p.accOf[k]!;
      if (at < 0) columns.push({ kind: 'num', type: a.type, values: counts.slice(), valid: null });
      else columns.push({ kind: 'num', type: a.type, values: acc[at]!.slice(0, G), valid: validOf() });
    });
    return { columns, length: G };
  }
}

const cache = new Map<string, Plan | null>();
const CACHE_MAX = 256;

/**
 * The fused kernel's answer for a task (the same partial aggregate chunk HashAggregator would
 * produce), or null when the fragment's shape or this batch's data needs the generic path.
 */
export function runFusedFragment(task: FragmentTask): Chunk | null {
  const f = task.fragment;
  const key = fragmentKey(f);
  const plans: Plan[] = [];
  for (const part of taskParts(task)) {
    const reads = readsOf(f, part);
    const rkey = `${reads.join(',')}|${key}`;
    let p = cache.get(rkey);
    if (p === undefined) {
      p = compile(f, reads);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(rkey, p);
    }
    if (p === null) return null;
    plans.push(p);
  }
  const first = plans[0]!;
  for (const p of plans) {
    assert(p.accCount === first.accCount && p.hashed === first.hashed && p.maxGroups === first.maxGroups && p.keyCols.join() === first.keyCols.join(),
      'the loops of one fragment share one group and accumulator layout');
  }
  return runPlan(plans, f, task);
}

/** Whether a fragment's shape has a fused kernel (tests, EXPLAIN-style diagnostics). */
export function hasFusedKernel(f: FragmentSpec): boolean {
  return compile(f, f.types.map(readOf)) !== null;
}
