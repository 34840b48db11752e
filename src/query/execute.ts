import { assert, unreachable } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { Data as ArrowData } from 'apache-arrow';
import type { ColumnPredicate, ReadMode } from '../common/scan-spec.js';
import type { StorageApi } from '../common/storage-api.js';
import { decimalAvg, evalExpr, pow10, roundHalfAway, selectTrue, type SubqueryValues, type SubquerySet } from './eval.js';
import { andAll, BOOL, col, columnsUsed, mapExpr, scaleOf, splitConjuncts, visitExpr, type Expr, type LitValue } from './expr.js';
import { fragmentKey, serializeColumn, type FragmentPart, type FragmentSpec, type FragmentTask } from './fragment.js';
import { vectorFromCompact } from './compact-vector.js';
import { estimateRows, type AggCall, type KeyFilter, type LogicalPlan, type RawRange, type SortKey, type WindowCall } from './logical-plan.js';
import { optimize } from './optimize.js';
import {
  bigAt, canonBig, concatChunks, exactAt, fromArrow, fromArrowSelected, gather, gatherChunk, numVec, putBig, vectorFromValues, vectorKindOf,
  type Chunk, type NumVector, type SqlType, type Vector,
} from './vector.js';
import type { Value } from '../common/types.js';
import { likeBytesSupported, likeMatchUtf8, type Utf8Data } from '../columnar/like-bytes.js';

/**
 * Vectorized, pull-based execution of a (physical) plan: every operator is an async generator
 * of Chunks. Scan/Filter/Project/Limit stream; Aggregate, Sort, Distinct, Window and the build
 * side of joins collect, counted against the query's memory limit.
 */
export interface ExecContext {
  readonly storage: StorageApi;
  readonly readMode: ReadMode;
  readonly signal: AbortSignal | undefined;
  readonly deadlineMs: number;
  readonly memoryBytesMax: number;
  memoryBytes: number;
  readonly rowsPerBatch: number;
  readonly subs: SubqueryValues;
  /** The coprocessor pool, or null to run everything on the calling thread. */
  readonly coprocessor: Coprocessor | null;
  /** The statement's progress counter (SHOW PROCESSLIST's Examined_rows), when someone watches. */
  readonly progress?: { rowsScanned: number };
}

/** Runs scan fragments off the calling thread (see coprocessor.ts). */
export interface Coprocessor {
  /** Aggregations over scans estimated below this many rows stay on the calling thread. */
  readonly minRows: number;
  readonly maxInflight: number;
  run(task: FragmentTask, signal: AbortSignal | undefined): Promise<Chunk>;
}

/** Join pairs produced between event-loop turns (and output pieces of many-to-many joins). */
const PAIRS_PER_FLUSH = 65536;

/**
 * Lets the event loop run (other connections, KILL QUERY, timers) in the middle of a long
 * operator, then checks cancellation and the deadline.
 */
export async function breathe(ctx: ExecContext): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
  check(ctx);
}

function check(ctx: ExecContext): void {
  if (ctx.signal?.aborted) throw new SaigaError('Cancelled', 'query cancelled');
  if (performance.now() > ctx.deadlineMs) throw new SaigaError('TimedOut', 'query exceeded its time limit (queryTimeoutMs)');
}

function chunkBytes(c: Chunk): number {
  let b = 0;
  for (const v of c.columns) {
    if (v.kind === 'num') b += v.values.length * 8;
    else if (v.kind === 'str') { b += v.values.length * 16; for (const s of v.values) b += s.length; }
    else for (const x of v.values) b += x.length + 16;
  }
  return b + 64;
}

function account(ctx: ExecContext, bytes: number): void {
  ctx.memoryBytes += bytes;
  if (ctx.memoryBytes > ctx.memoryBytesMax) {
    throw new SaigaError('ResourceExhausted', `query needs more than ${ctx.memoryBytesMax} bytes of memory (queryMemoryBytesMax); found ${ctx.memoryBytes}`);
  }
}

async function collect(plan: LogicalPlan, ctx: ExecContext): Promise<Chunk> {
  const parts: Chunk[] = [];
  for await (const c of run(plan, ctx)) {
    account(ctx, chunkBytes(c));
    parts.push(c);
  }
  return concatChunks(parts, plan.types);
}

const optimizedPlans = new WeakMap<LogicalPlan, LogicalPlan>();

/**
 * Subquery plans inside expressions are bound but not optimized with their statement: they get
 * predicate / projection pushdown here (once per plan object; values stay keyed by the original).
 */
function optimizedSubquery(p: LogicalPlan): LogicalPlan {
  let o = optimizedPlans.get(p);
  if (o === undefined) { o = optimize(p); optimizedPlans.set(p, o); }
  return o;
}

/** Runs the uncorrelated scalar subqueries an expression contains (once per query). */
async function resolveSubqueries(exprs: readonly (Expr | null)[], ctx: ExecContext): Promise<void> {
  const plans: LogicalPlan[] = [];
  const sets: LogicalPlan[] = [];
  for (const e of exprs) if (e !== null) visitExpr(e, (x) => {
    if (x.kind === 'subquery' && !ctx.subs.has(x.plan)) plans.push(x.plan);
    if (x.kind === 'inSubquery' && !ctx.subs.has(x.plan)) sets.push(x.plan);
  });
  for (const p of sets) {
    const c = await collect(optimizedSubquery(p), ctx);
    const v = c.columns[0]!;
    const values = new Set<unknown>();
    let hasNull = false;
    for (let i = 0; i < c.length; i++) {
      if (v.valid !== null && v.valid[i] !== 1) { hasNull = true; continue; }
      values.add(v.kind === 'bin' ? Buffer.from(v.values[i]!).toString('latin1') : v.kind === 'num' ? exactAt(v, i) : v.values[i]);
    }
    account(ctx, values.size * 32);
    ctx.subs.set(p, { values, hasNull, size: c.length });
  }
  for (const p of plans) {
    const c = await collect(optimizedSubquery(p), ctx);
    if (c.length > 1) throw new SaigaError('InvalidArgument', `a scalar subquery returned ${c.length} rows; expected at most 1`);
    let v: LitValue = null;
    if (c.length === 1) {
      const vec = c.columns[0]!;
      v = vec.valid !== null && vec.valid[0] !== 1 ? null : vec.kind === 'num' ? exactAt(vec, 0) : (vec.values[0] as LitValue);
    }
    ctx.subs.set(p, v);
  }
}

export async function* run(plan: LogicalPlan, ctx: ExecContext): AsyncGenerator<Chunk> {
  check(ctx);
  switch (plan.kind) {
    case 'Scan': yield* runScan(plan, ctx); return;
    case 'Values': {
      await resolveSubqueries(plan.rows.flat(), ctx);
      if (plan.rows.length === 0) return;
      const rowChunks = plan.rows.map((r) => ({ columns: r.map((e) => evalExpr(e, { columns: [], length: 1 }, ctx.subs)), length: 1 }));
      yield concatChunks(rowChunks, plan.types);
      return;
    }
    case 'Filter': {
      await resolveSubqueries([plan.cond], ctx);
      for await (const c of run(plan.input, ctx)) {
        const sel = selectTrue(evalExpr(plan.cond, c, ctx.subs), c.length);
        if (sel.length === c.length) yield c;
        else if (sel.length > 0) yield gatherChunk(c, sel);
      }
      return;
    }
    case 'Project': {
      await resolveSubqueries(plan.exprs, ctx);
      for await (const c of run(plan.input, ctx)) {
        yield { columns: plan.exprs.map((e) => evalExpr(e, c, ctx.subs)), length: c.length };
      }
      return;
    }
    case 'Limit': {
      let skip = plan.offset;
      let left = plan.limit ?? Infinity;
      if (left <= 0) return;
      for await (const c of run(plan.input, ctx)) {
        let start = 0;
        if (skip > 0) { const s = Math.min(skip, c.length); skip -= s; start = s; }
        const take = Math.min(left, c.length - start);
        if (take <= 0) continue;
        if (start === 0 && take === c.length) yield c;
        else {
          const sel = new Int32Array(take);
          for (let i = 0; i < take; i++) sel[i] = start + i;
          yield gatherChunk(c, sel);
        }
        left -= take;
        if (left <= 0) return;
      }
      return;
    }
    case 'Aggregate': yield* runAggregate(plan, ctx); return;
    case 'Join': yield* runJoin(plan, ctx); return;
    case 'Sort': {
      const c = await collect(plan.input, ctx);
      const order = await sortIndices(c, plan.keys, ctx);
      const n = plan.limit === null ? order.length : Math.min(plan.limit, order.length);
      yield* batches(gatherChunk(c, order, n), ctx.rowsPerBatch);
      return;
    }
    case 'Distinct': {
      const seen = new Set<number>();
      const enc = new KeyEncoder(plan.types.length, true);
      for await (const c of run(plan.input, ctx)) {
        const keys = enc.encode(c.columns, c.length, true);
        const sel = new Int32Array(c.length);
        let k = 0;
        for (let i = 0; i < c.length; i++) {
          const key = keys[i]!;
          if (!seen.has(key)) { seen.add(key); sel[k++] = i; }
        }
        account(ctx, k * 32);
        if (k > 0) yield gatherChunk(c, sel.subarray(0, k));
      }
      return;
    }
    case 'Union': {
      if (plan.all) {
        for (const p of plan.inputs) yield* run(p, ctx);
        return;
      }
      const seen = new Set<number>();
      const enc = new KeyEncoder(plan.types.length, true);
      for (const p of plan.inputs) {
        for await (const c of run(p, ctx)) {
          const keys = enc.encode(c.columns, c.length, true);
          const sel = new Int32Array(c.length);
          let k = 0;
          for (let i = 0; i < c.length; i++) {
            const key = keys[i]!;
            if (!seen.has(key)) { seen.add(key); sel[k++] = i; }
          }
          if (k > 0) yield gatherChunk(c, sel.subarray(0, k));
        }
      }
      return;
    }
    case 'Window': {
      const c = await collect(plan.input, ctx);
      const cols = [...c.columns];
      for (const w of plan.calls) cols.push(computeWindow(w, c, ctx));
      yield* batches({ columns: cols, length: c.length }, ctx.rowsPerBatch);
      return;
    }
    default: unreachable(plan, 'plan node');
  }
}

function* batches(c: Chunk, size: number): Generator<Chunk> {
  if (c.length <= size) { if (c.length > 0) yield c; return; }
  for (let s = 0; s < c.length; s += size) {
    const n = Math.min(size, c.length - s);
    const sel = new Int32Array(n);
    for (let i = 0; i < n; i++) sel[i] = s + i;
    yield gatherChunk(c, sel);
  }
}

/** The full primary key when the predicates hold one equality per key column, plus the rest. */
function pointLookupKey(plan: Extract<LogicalPlan, { kind: 'Scan' }>): { key: Value[]; rest: ColumnPredicate[] } | null {
  const schema = plan.table.schema;
  const kc = schema.keyColumnCount;
  if (kc === 0 || plan.predicates.length < kc) return null;
  const key: Value[] = [];
  const used = new Set<ColumnPredicate>();
  for (let k = 0; k < kc; k++) {
    const name = schema.columns[k]!.name;
    const p = plan.predicates.find((x) => x.kind === 'compare' && x.op === '=' && x.column === name);
    if (p === undefined || p.kind !== 'compare' || p.value === null) return null;
    key.push(p.value);
    used.add(p);
  }
  return { key, rest: plan.predicates.filter((p) => !used.has(p)) };
}

function compareApi(a: Value, b: Value): number {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = typeof a === 'bigint' ? a : BigInt(a as number);
    const y = typeof b === 'bigint' ? b : BigInt(b as number);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  return (a as number | string) < (b as number | string) ? -1 : (a as number | string) > (b as number | string) ? 1 : 0;
}

/** ColumnPredicate semantics on one API value (NULL never matches a comparison). */
function predicateHolds(p: ColumnPredicate, v: Value): boolean {
  switch (p.kind) {
    case 'isNull': return v === null;
    case 'isNotNull': return v !== null;
    case 'in': return v !== null && p.values.some((x) => x !== null && compareApi(v, x) === 0);
    case 'compare': {
      if (v === null || p.value === null) return false;
      const c = compareApi(v, p.value);
      return p.op === '=' ? c === 0 : p.op === '<' ? c < 0 : p.op === '<=' ? c <= 0 : p.op === '>' ? c > 0 : c >= 0;
    }
  }
}

async function* runScan(plan: Extract<LogicalPlan, { kind: 'Scan' }>, ctx: ExecContext): AsyncGenerator<Chunk> {
  await resolveSubqueries([fullScanFilter(plan)], ctx);
  const point = ctx.readMode.kind === 'latest' ? pointLookupKey(plan) : null;
  if (point !== null) {
    // Primary-key point lookup: straight to the one tablet holding the row.
    const restCols = point.rest.map((p) => p.column);
    const fetch = [...plan.columns, ...restCols.filter((n) => !plan.columns.includes(n))];
    const row = await ctx.storage.lookup(plan.db, plan.table.name, point.key, fetch);
    if (row === undefined) return;
    if (ctx.progress !== undefined) ctx.progress.rowsScanned += 1;
    // Rows come back in projection order; tolerate a storage that returns the full schema row.
    const full = row.length !== fetch.length && row.length === plan.table.schema.columns.length;
    const byName = (n: string): Value => (full ? row[plan.table.schema.columns.findIndex((c) => c.name === n)] : row[fetch.indexOf(n)]) ?? null;
    if (!point.rest.every((p) => predicateHolds(p, byName(p.column)))) return;
    const at = (i: number): Value => byName(plan.columns[i]!);
    let c: Chunk = { columns: plan.columns.map((_, i) => vectorFromValues([at(i)], plan.types[i]!)), length: 1 };
    const pointFilter = fullScanFilter(plan);
    if (pointFilter !== null) {
      const sel = selectTrue(evalExpr(pointFilter, c, ctx.subs), 1);
      if (sel.length === 0) return;
      c = gatherChunk(c, sel);
    }
    yield c;
    return;
  }
  const spec = {
    projection: plan.columns,
    predicates: plan.predicates,
    readMode: ctx.readMode,
    ...(plan.limit !== null && plan.filter === null ? { limit: plan.limit } : {}),
  };
  let produced = 0;
  // Raw ranges (with LIKE conjuncts on bytes, their expression simply joins the filter).
  const withRaw = plan.rawFilter === undefined ? plan : { ...plan, filter: fullScanFilter(plan) };
  const bytesFilter = withRaw.filter !== null ? splitBytesFilter(withRaw) : null;
  const rawRanges = bytesFilter === null && plan.rawRanges !== undefined && plan.rawRanges.length > 0 ? plan.rawRanges : null;
  // Columns to decode when the raw ranges were checked: read above the scan or by the filter.
  const decodeAfterRaw = rawRanges === null ? null : plan.columns.map((_, i) => plan.outputUsed === undefined || plan.outputUsed.length !== plan.columns.length || plan.outputUsed[i] === true);
  if (decodeAfterRaw !== null && plan.filter !== null) for (const i of columnsUsed(plan.filter)) decodeAfterRaw[i] = true;
  for await (const batch of ctx.storage.scan(plan.db, plan.table.name, spec)) {
    check(ctx);
    if (ctx.progress !== undefined) ctx.progress.rowsScanned += batch.numRows;
    let ksel = plan.keyFilters !== undefined ? keyFilterSelection(plan.keyFilters, batch) : null;
    if (ksel !== null && ksel.length === 0) continue;
    let rawDone = false;
    if (rawRanges !== null) {
      const r = rawRangeSelection(rawRanges, batch, ksel);
      if (r !== null) {
        rawDone = true;
        ksel = r;
        if (ksel.length === 0) continue;
      }
    }
    // LIKE conjuncts run on the raw UTF-8 bytes first; a column only they read is never decoded.
    const bytesSel = bytesFilter !== null ? likeBytesSelection(bytesFilter.likes, batch, ksel) : undefined;
    if (bytesSel !== undefined) {
      ksel = bytesSel;
      if (ksel !== null && ksel.length === 0) continue;
    }
    const n = ksel === null ? batch.numRows : ksel.length;
    const cols: Vector[] = plan.columns.map((_, i) => {
      if (bytesSel !== undefined && !bytesFilter!.decode[i]) return placeholderOf(plan.types[i]!, n);
      if (rawDone && !decodeAfterRaw![i]) return placeholderOf(plan.types[i]!, n);
      const child = batch.getChildAt(i);
      assert(child !== null, `scan batch lacks projected column ${plan.columns[i]}`);
      const compact = child.data.length === 1 ? vectorFromCompact(child.data[0]!, plan.types[i]!, ksel) : null;
      if (compact !== null) return compact;
      if (ksel === null) return fromArrow(child.data, plan.types[i]!);
      return child.data.length === 1 && child.data[0]!.offset === 0 ? fromArrowSelected(child.data[0]!, plan.types[i]!, ksel) : gather(fromArrow(child.data, plan.types[i]!), ksel);
    });
    let c: Chunk = { columns: cols, length: n };
    const filter = bytesSel !== undefined ? bytesFilter!.rest : rawDone ? plan.filter : withRaw.filter;
    if (filter !== null) {
      const sel = selectTrue(evalExpr(filter, c, ctx.subs), c.length);
      if (sel.length !== c.length) c = gatherChunk(c, sel);
    }
    if (c.length === 0) continue;
    yield c;
    produced += c.length;
    if (plan.limit !== null && produced >= plan.limit) return;
  }
}

/** A scan filter's LIKE conjuncts that run on raw UTF-8 bytes, the rest, and which columns still need decoding. */
interface BytesFilter {
  readonly likes: readonly { readonly column: number; readonly pattern: string; readonly negated: boolean }[];
  readonly rest: Expr | null;
  /** Column i is decoded: read above the scan (outputUsed) or by `rest`. */
  readonly decode: readonly boolean[];
}

/** The byte-level split of a scan's filter, or null when no conjunct is a byte-level LIKE. */
function splitBytesFilter(plan: Extract<LogicalPlan, { kind: 'Scan' }>): BytesFilter | null {
  const likes: { column: number; pattern: string; negated: boolean }[] = [];
  const rest: Expr[] = [];
  for (const conj of splitConjuncts(plan.filter)) {
    if (conj.kind === 'like' && conj.arg.kind === 'col' && conj.arg.type.type === 'string' && conj.pattern.kind === 'lit'
      && typeof conj.pattern.value === 'string' && likeBytesSupported(conj.pattern.value)) {
      likes.push({ column: conj.arg.index, pattern: conj.pattern.value, negated: conj.negated });
    } else rest.push(conj);
  }
  if (likes.length === 0) return null;
  const restExpr = andAll(rest);
  const decode = plan.columns.map((_, i) => plan.outputUsed === undefined || plan.outputUsed.length !== plan.columns.length || plan.outputUsed[i] === true);
  if (restExpr !== null) for (const i of columnsUsed(restExpr)) decode[i] = true;
  return { likes, rest: restExpr, decode };
}

/**
 * Rows of the batch (within sel when given) that pass every byte-level LIKE: a selection, or
 * null for all rows; undefined when some LIKE column is not plain Utf8 data (then the caller
 * decodes and evaluates the whole filter as usual).
 */
function likeBytesSelection(likes: BytesFilter['likes'], batch: { getChildAt(i: number): { data: readonly ArrowData[] } | null; numRows: number }, sel: Int32Array | null): Int32Array | null | undefined {
  const n = batch.numRows;
  let mask: Uint8Array | null = null;
  let tmp: Uint8Array | null = null;
  for (const l of likes) {
    const child = batch.getChildAt(l.column);
    if (child === null) return undefined;
    for (const d of child.data) if (!(d.valueOffsets instanceof Int32Array) || !(d.values instanceof Uint8Array)) return undefined;
    const out: Uint8Array = mask === null ? (mask = new Uint8Array(n)) : (tmp ??= new Uint8Array(n));
    let at = 0;
    for (const d of child.data) {
      likeMatchUtf8(d as unknown as Utf8Data, l.pattern, l.negated, out, at);
      at += d.length;
    }
    if (out !== mask) for (let i = 0; i < n; i++) mask[i] = mask[i]! & out[i]!;
  }
  if (mask === null) return sel;
  let m = 0;
  if (sel === null) {
    const outSel = new Int32Array(n);
    for (let i = 0; i < n; i++) if (mask[i] === 1) outSel[m++] = i;
    return m === n ? null : outSel.subarray(0, m);
  }
  const outSel = new Int32Array(sel.length);
  for (let k = 0; k < sel.length; k++) { const i = sel[k]!; if (mask[i] === 1) outSel[m++] = i; }
  return outSel.subarray(0, m);
}

/** A column of n rows no operator reads (zeros / empty values, all valid). */
function placeholderOf(t: SqlType, n: number): Vector {
  const k = vectorKindOf(t.type);
  if (k === 'num') return { kind: 'num', type: t, values: new Float64Array(n), valid: null };
  if (k === 'str') return { kind: 'str', type: t, values: new Array<string>(n).fill(''), valid: null };
  return { kind: 'bin', type: t, values: new Array<Uint8Array>(n).fill(new Uint8Array(0)), valid: null };
}

// ---------- hashing ----------

/**
 * Key of row i over some columns: a number for one numeric column, a string otherwise;
 * null when a key column is NULL (never matches) unless nullsEqual.
 */
export function keyFunction(cols: readonly Vector[]): (i: number, nullsEqual?: boolean) => string | number | null {
  if (cols.length === 1) {
    const v = cols[0]!;
    const valid = v.valid;
    if (v.kind === 'num') {
      const vals = v.values;
      const ex = v.exact;
      if (ex !== undefined) return (i, ne) => (valid !== null && valid[i] !== 1 ? (ne ? '\u0001N' : null) : ex[i] !== undefined ? `\u0002${ex[i]}` : vals[i]!);
      return (i, ne) => (valid !== null && valid[i] !== 1 ? (ne ? '\u0001N' : null) : vals[i]!);
    }
    if (v.kind === 'str') {
      const vals = v.values;
      return (i, ne) => (valid !== null && valid[i] !== 1 ? (ne ? '\u0001N' : null) : vals[i]!);
    }
    const vals = v.values;
    return (i, ne) => (valid !== null && valid[i] !== 1 ? (ne ? '\u0001N' : null) : Buffer.from(vals[i]!).toString('latin1'));
  }
  if (cols.length === 0) return () => 0;
  return (i, ne) => {
    let k = '';
    for (const v of cols) {
      if (v.valid !== null && v.valid[i] !== 1) { if (!ne) return null; k += '\u0001N\u0000'; continue; }
      const x = v.kind === 'num' ? exactAt(v, i) : v.values[i]!;
      k += (typeof x === 'number' || typeof x === 'bigint' ? String(x) : typeof x === 'string' ? x : Buffer.from(x).toString('latin1')) + '\u0000';
    }
    return k;
  };
}

/**
 * Encodes multi-column keys as one number per row, so hash tables are Map<number, ...>: each
 * column's values get dense codes from a dictionary kept for the operator's lifetime (stable
 * across chunks), and column codes are combined pairwise through a chain of dictionaries.
 * NaN marks a row that cannot match (a NULL key, or an unseen value in lookup-only mode).
 */
export class KeyEncoder {
  private readonly dicts: Map<unknown, number>[];
  private readonly chain: Map<number, number>[];
  private static readonly RADIX = 2 ** 26;
  private readonly bigDict = new Map<bigint, number>();
  private readonly oneChar: (Int32Array | undefined)[] = [];
  private readonly pairCache: (Int32Array | undefined)[] = [];

  constructor(private readonly width: number, private readonly nullsEqual: boolean) {
    this.dicts = Array.from({ length: width }, () => new Map());
    this.chain = Array.from({ length: Math.max(0, width - 1) }, () => new Map());
  }

  /** Codes are dense small integers (1..distinct), not raw values. */
  dense(cols: readonly Vector[]): boolean {
    return !(this.width === 1 && cols[0]!.kind === 'num');
  }

  /** insert=false: probe side of a join (unseen values give NaN). */
  encode(cols: readonly Vector[], n: number, insert: boolean): Float64Array {
    const out = new Float64Array(n);
    if (this.width === 0) return out;
    const single = this.width === 1 && cols[0]!.kind === 'num';
    if (single) {
      const v = cols[0] as NumVector;
      const vals = v.values;
      const valid = v.valid;
      if (valid === null) out.set(vals);
      else for (let i = 0; i < n; i++) out[i] = valid[i] === 1 ? vals[i]! : NaN; // Map keys: NaN groups with NaN (SameValueZero)
      // -0 and 0 are the same key; NaN data values are never equal (SQL has none).
      const ex = v.exact;
      if (ex !== undefined) {
        // Values beyond 2^53 share doubles with their neighbours: they get codes k + 0.5 from a
        // dictionary of exact values (integer-like columns never hold a fractional double).
        for (let i = 0; i < n; i++) {
          const b = ex[i];
          if (b === undefined || (valid !== null && valid[i] !== 1)) continue;
          let c = this.bigDict.get(b);
          if (c === undefined) {
            if (!insert) { out[i] = NaN; continue; }
            c = this.bigDict.size + 0.5;
            this.bigDict.set(b, c);
          }
          out[i] = c;
        }
      }
      return out;
    }
    for (let k = 0; k < this.width; k++) {
      const v = cols[k]!;
      const dict = this.dicts[k]!;
      const vals = v.values as ArrayLike<unknown>;
      const valid = v.valid;
      const bin = v.kind === 'bin';
      const str = v.kind === 'str';
      const oneChar = str ? (this.oneChar[k] ??= new Int32Array(256)) : null;
      const link = k === 0 ? null : this.chain[k - 1]!;
      const cache = link === null ? null : (this.pairCache[k - 1] ??= new Int32Array(PAIR_CACHE_PREV * PAIR_CACHE_CODE));
      for (let i = 0; i < n; i++) {
        const prev = out[i]!;
        if (k > 0 && Number.isNaN(prev)) continue;
        let code: number;
        if (valid !== null && valid[i] !== 1) {
          if (!this.nullsEqual) { out[i] = NaN; continue; }
          code = 0;
        } else {
          const x = bin ? Buffer.from(vals[i] as Uint8Array).toString('latin1') : v.kind === 'num' && v.exact !== undefined ? exactAt(v, i) : vals[i];
          // One-character strings (flags) skip the Map through a table by char code.
          const ch = oneChar !== null && (x as string).length === 1 ? (x as string).charCodeAt(0) : 256;
          let c: number | undefined = ch < 256 ? oneChar![ch]! : 0;
          if (c === 0) c = dict.get(x);
          if (c === undefined) {
            if (!insert) { out[i] = NaN; continue; }
            c = dict.size + 1;
            if (c >= KeyEncoder.RADIX) throw new SaigaError('ResourceExhausted', `more than ${KeyEncoder.RADIX} distinct values in one key column`);
            dict.set(x, c);
          }
          if (ch < 256) oneChar![ch] = c;
          code = c;
        }
        if (link === null) { out[i] = code; continue; }
        // Small (prev, code) pairs are cached in a direct table (0 = not cached yet).
        const slot = prev < PAIR_CACHE_PREV && code < PAIR_CACHE_CODE ? prev * PAIR_CACHE_CODE + code : -1;
        if (slot >= 0) { const hit = cache![slot]!; if (hit !== 0) { out[i] = hit; continue; } }
        const pair = prev * KeyEncoder.RADIX + code;
        let c2 = link.get(pair);
        if (c2 === undefined) {
          if (!insert) { out[i] = NaN; continue; }
          c2 = link.size + 1;
          if (c2 >= KeyEncoder.RADIX) throw new SaigaError('ResourceExhausted', `more than ${KeyEncoder.RADIX} distinct keys`);
          link.set(pair, c2);
        }
        if (slot >= 0) cache![slot] = c2;
        out[i] = c2;
      }
    }
    return out;
  }
}

const PAIR_CACHE_PREV = 1024;
const PAIR_CACHE_CODE = 64;

// ---------- aggregation ----------

interface AggState {
  /** groups[i] < groupCount for every row. */
  update(groups: Int32Array, n: number, arg: Vector | null, groupCount: number): void;
  finish(groupCount: number): Vector;
}

class Grow {
  arr: Float64Array;
  constructor(init = 1024) { this.arr = new Float64Array(init); }
  ensure(n: number): Float64Array {
    if (n > this.arr.length) {
      let sz = this.arr.length;
      while (sz < n) sz *= 2;
      const a = new Float64Array(sz);
      a.set(this.arr);
      this.arr = a;
    }
    return this.arr;
  }
}

const EXACT_LIMIT = 2 ** 52;

function makeAggState(a: AggCall): AggState {
  const t = a.type;
  switch (a.fn) {
    case 'count_star': case 'count': {
      const counts = new Grow();
      let maxG = 0;
      return {
        update(groups, n, arg, groupCount) {
          if (groupCount > maxG) maxG = groupCount;
          const c = counts.ensure(maxG);
          const valid = arg?.valid ?? null;
          if (valid === null) for (let i = 0; i < n; i++) c[groups[i]!]!++;
          else for (let i = 0; i < n; i++) if (valid[i] === 1) c[groups[i]!]!++;
        },
        finish(g) { counts.ensure(g); return { kind: 'num', type: t, values: counts.arr.slice(0, g), valid: null }; },
      };
    }
    case 'sum': case 'avg': {
      const sums = new Grow();
      const counts = new Grow();
      const exactMode = t.type === 'decimal' || t.type === 'int64';
      const overflow: (bigint | undefined)[] = [];
      let maxG = 0;
      return {
        update(groups, n, arg, groupCount) {
          const v = arg as NumVector;
          if (groupCount > maxG) maxG = groupCount;
          const s = sums.ensure(maxG);
          const c = counts.ensure(maxG);
          const vals = v.values;
          const valid = v.valid;
          const ex = exactMode ? v.exact : undefined;
          for (let i = 0; i < n; i++) {
            if (valid !== null && valid[i] !== 1) continue;
            const g = groups[i]!;
            if (ex !== undefined && ex[i] !== undefined) { overflow[g] = (overflow[g] ?? 0n) + ex[i]!; c[g]!++; continue; }
            let x = s[g]! + vals[i]!;
            if (exactMode && (x > EXACT_LIMIT || x < -EXACT_LIMIT)) {
              overflow[g] = (overflow[g] ?? 0n) + BigInt(s[g]!) + BigInt(vals[i]!);
              x = 0;
            }
            s[g] = x;
            c[g]!++;
          }
        },
        finish(g) {
          const s = sums.ensure(g), c = counts.ensure(g);
          const out = new Float64Array(g);
          const valid = new Uint8Array(g);
          let exact: (bigint | undefined)[] | undefined;
          for (let k = 0; k < g; k++) {
            if (c[k] === 0) continue;
            valid[k] = 1;
            const ov = overflow[k];
            if (a.fn === 'sum') {
              if (ov !== undefined) {
                const total = ov + BigInt(s[k]!);
                out[k] = Number(total);
                exact ??= new Array<bigint | undefined>(g);
                exact[k] = total;
              } else out[k] = s[k]!;
            } else if (t.type === 'decimal') {
              const avg = decimalAvg(s[k]!, ov !== undefined ? ov + BigInt(s[k]!) : undefined, c[k]!, scaleOf(t) - scaleOf(a.arg!.type));
              if (avg.big !== undefined) exact = putBig(out, exact, k, avg.big); else out[k] = avg.value;
            } else {
              out[k] = (ov !== undefined ? Number(ov) + s[k]! : s[k]!) / c[k]!;
            }
          }
          return exact !== undefined ? { kind: 'num', type: t, values: out, valid, exact } : { kind: 'num', type: t, values: out, valid };
        },
      };
    }
    case 'min': case 'max': case 'any_value': {
      const isMin = a.fn === 'min';
      const isAny = a.fn === 'any_value';
      if (vectorKindOf(t.type) === 'num') {
        const vals = new Grow();
        let has = new Uint8Array(1024);
        const bigs: (bigint | undefined)[] = [];
        let maxG = 0;
        return {
          update(groups, n, arg, groupCount) {
            const v = arg as NumVector;
            if (groupCount > maxG) maxG = groupCount;
            const m = vals.ensure(maxG);
            if (has.length < maxG) { const h = new Uint8Array(m.length); h.set(has); has = h; }
            const x = v.values;
            const valid = v.valid;
            const ex = v.exact;
            for (let i = 0; i < n; i++) {
              if (valid !== null && valid[i] !== 1) continue;
              const g = groups[i]!;
              if (ex !== undefined || bigs[g] !== undefined) {
                // Exact comparison when either side is beyond 2^53.
                if (has[g] === 0) { m[g] = x[i]!; bigs[g] = ex?.[i]; has[g] = 1; continue; }
                if (isAny) continue;
                const cur = bigs[g] ?? BigInt(m[g]!), nx = bigAt(v, i);
                if (isMin ? nx < cur : nx > cur) { m[g] = x[i]!; bigs[g] = ex?.[i]; }
                continue;
              }
              if (has[g] === 0) { m[g] = x[i]!; has[g] = 1; }
              else if (isAny) continue;
              else if (isMin ? x[i]! < m[g]! : x[i]! > m[g]!) m[g] = x[i]!;
            }
          },
          finish(g) {
            const valid = new Uint8Array(g);
            for (let k = 0; k < g; k++) valid[k] = has[k] ?? 0;
            let exact: (bigint | undefined)[] | undefined;
            for (let k = 0; k < g; k++) if (bigs[k] !== undefined) (exact ??= new Array<bigint | undefined>(g))[k] = bigs[k];
            return numVec(t, vals.ensure(g).slice(0, g), valid, exact);
          },
        };
      }
      const vals: unknown[] = [];
      const has: boolean[] = [];
      return {
        update(groups, n, arg, groupCount) {
          const v = arg!;
          for (let i = 0; i < n; i++) {
            if (v.valid !== null && v.valid[i] !== 1) continue;
            const g = groups[i]!;
            const x = v.values[i]!;
            if (!has[g]) { vals[g] = x; has[g] = true; }
            else if (isAny) continue;
            else if (typeof x === 'string') { if (isMin ? x < (vals[g] as string) : x > (vals[g] as string)) vals[g] = x; }
            else { const cmp = Buffer.compare(x as Uint8Array, vals[g] as Uint8Array); if (isMin ? cmp < 0 : cmp > 0) vals[g] = x; }
          }
        },
        finish(g) {
          const valid = new Uint8Array(g);
          const out: unknown[] = new Array(g);
          for (let k = 0; k < g; k++) { valid[k] = has[k] ? 1 : 0; out[k] = has[k] ? vals[k] : t.type === 'string' ? '' : new Uint8Array(0); }
          return t.type === 'string' ? { kind: 'str', type: t, values: out as string[], valid } : { kind: 'bin', type: t, values: out as Uint8Array[], valid };
        },
      };
    }
    case 'count_distinct': case 'sum_distinct': case 'avg_distinct': {
      const sets: Set<unknown>[] = [];
      return {
        update(groups, n, arg, groupCount) {
          const v = arg!;
          for (let i = 0; i < n; i++) {
            if (v.valid !== null && v.valid[i] !== 1) continue;
            const g = groups[i]!;
            (sets[g] ??= new Set()).add(v.kind === 'bin' ? Buffer.from(v.values[i]!).toString('latin1') : v.kind === 'num' ? exactAt(v, i) : v.values[i]);
          }
        },
        finish(g) {
          const out = new Float64Array(g);
          const valid = new Uint8Array(g);
          let exact: (bigint | undefined)[] | undefined;
          const exactSum = t.type === 'decimal' || t.type === 'int64';
          for (let k = 0; k < g; k++) {
            const s = sets[k];
            if (a.fn === 'count_distinct') { out[k] = s?.size ?? 0; valid[k] = 1; continue; }
            if (s === undefined || s.size === 0) continue;
            let sum = 0;
            let big = 0n;
            for (const x of s) { if (typeof x === 'bigint' || (exactSum && Math.abs(sum) > EXACT_LIMIT)) { big += BigInt(x as number | bigint); } else sum += x as number; }
            valid[k] = 1;
            if (a.fn === 'sum_distinct' && exactSum && big !== 0n) { exact = putBig(out, exact, k, big + BigInt(sum)); continue; }
            if (a.fn === 'avg_distinct' && t.type === 'decimal') {
              const avg = decimalAvg(sum, big !== 0n ? big + BigInt(sum) : undefined, s.size, scaleOf(t) - scaleOf(a.arg!.type));
              if (avg.big !== undefined) exact = putBig(out, exact, k, avg.big); else out[k] = avg.value;
              continue;
            }
            sum += Number(big);
            out[k] = a.fn === 'sum_distinct' ? sum : sum / s.size;
          }
          return numVec(t, out, valid, exact);
        },
      };
    }
    case 'group_concat': {
      const lists: string[][] = [];
      return {
        update(groups, n, arg, groupCount) {
          const v = arg!;
          for (let i = 0; i < n; i++) {
            if (v.valid !== null && v.valid[i] !== 1) continue;
            (lists[groups[i]!] ??= []).push(v.values[i] as string);
          }
        },
        finish(g) {
          const out: string[] = new Array<string>(g);
          const valid = new Uint8Array(g);
          for (let k = 0; k < g; k++) { const l = lists[k]; out[k] = l?.join(',') ?? ''; valid[k] = l === undefined ? 0 : 1; }
          return { kind: 'str', type: t, values: out, valid };
        },
      };
    }
    case 'stddev': case 'variance': case 'stddev_samp': case 'var_samp': {
      const s1 = new Grow(), s2 = new Grow(), cn = new Grow();
      let maxG = 0;
      return {
        update(groups, n, arg, groupCount) {
          const v = arg as NumVector;
          if (groupCount > maxG) maxG = groupCount;
          const a1 = s1.ensure(maxG), a2 = s2.ensure(maxG), c = cn.ensure(maxG);
          for (let i = 0; i < n; i++) {
            if (v.valid !== null && v.valid[i] !== 1) continue;
            const g = groups[i]!, x = v.values[i]!;
            a1[g] = a1[g]! + x; a2[g] = a2[g]! + x * x; c[g]!++;
          }
        },
        finish(g) {
          const a1 = s1.ensure(g), a2 = s2.ensure(g), c = cn.ensure(g);
          const out = new Float64Array(g);
          const valid = new Uint8Array(g);
          const samp = a.fn === 'stddev_samp' || a.fn === 'var_samp';
          for (let k = 0; k < g; k++) {
            const nn = c[k]!;
            if (nn === 0 || (samp && nn < 2)) continue;
            const mean = a1[k]! / nn;
            const variance = Math.max(0, (a2[k]! - nn * mean * mean) / (samp ? nn - 1 : nn));
            out[k] = a.fn === 'stddev' || a.fn === 'stddev_samp' ? Math.sqrt(variance) : variance;
            valid[k] = 1;
          }
          return { kind: 'num', type: t, values: out, valid };
        },
      };
    }
  }
}

/**
 * Hash aggregation over chunks: group keys encoded to dense numbers, one state per aggregate
 * updated with a group-id vector. Used by the Aggregate operator, by coprocessor fragments
 * (partial aggregates) and by the merge of their partials.
 */
/** Slots of HashAggregator's direct group map at most (32 MiB). */
const DIRECT_GROUPS_MAX = 2 ** 23;

export class HashAggregator {
  private readonly states: AggState[];
  private readonly groupIds = new NumMap();
  private nullGroup = -1;
  private readonly enc: KeyEncoder;
  private denseGroups = new Int32Array(1024).fill(-1);
  /** Single integer keys: group id by key - directLo (-1: none), while their range stays small (directFits). */
  private directOk = true;
  private directMap: Int32Array | null = null;
  private directLo = 0;
  /** Smallest and largest key in the direct map. */
  private directKeyLo = 0;
  private directKeyHi = 0;
  private readonly reps: Chunk[] = [];
  private groupCount: number;

  constructor(
    private readonly groups: readonly Expr[],
    private readonly aggs: readonly AggCall[],
    private readonly onBytes: (bytes: number) => void = () => {},
  ) {
    this.states = aggs.map(makeAggState);
    this.enc = new KeyEncoder(groups.length, true);
    this.groupCount = groups.length === 0 ? 1 : 0;
  }

  add(c: Chunk, subs?: SubqueryValues): void {
    const n = c.length;
    const groups = new Int32Array(n);
    if (this.groups.length > 0) {
      const keys = this.groups.map((g) => evalExpr(g, c, subs));
      const codes = this.enc.encode(keys, n, true);
      const newRows: number[] = [];
      if (this.enc.dense(keys)) {
        // Dense codes index an array directly (code 0 = all-NULL single key).
        for (let i = 0; i < n; i++) {
          const k = codes[i]!;
          if (k >= this.denseGroups.length) { const a = new Int32Array(Math.max(k + 1, this.denseGroups.length * 2)).fill(-1); a.set(this.denseGroups); this.denseGroups = a; }
          let g = this.denseGroups[k]!;
          if (g < 0) { g = this.groupCount++; this.denseGroups[k] = g; newRows.push(i); }
          groups[i] = g;
        }
      } else if (this.directFits(codes, n)) {
        // Integer keys in a bounded range: group ids by key - directLo, no hashing.
        const map = this.directMap as Int32Array, lo = this.directLo;
        for (let i = 0; i < n; i++) {
          const k = codes[i]!;
          let g: number;
          if (k !== k) {
            g = this.nullGroup;
            if (g < 0) { g = this.nullGroup = this.groupCount++; newRows.push(i); }
          } else {
            const d = k - lo;
            g = map[d]!;
            if (g < 0) { g = this.groupCount++; map[d] = g; newRows.push(i); }
          }
          groups[i] = g;
        }
      } else {
        // Raw numeric keys; NaN is the NULL key (NumMap never holds NaN).
        for (let i = 0; i < n; i++) {
          const k = codes[i]!;
          let g: number;
          if (Number.isNaN(k)) {
            g = this.nullGroup;
            if (g < 0) { g = this.nullGroup = this.groupCount++; newRows.push(i); }
          } else {
            g = this.groupIds.get(k);
            if (g < 0) { g = this.groupCount++; this.groupIds.set(k, g); newRows.push(i); }
          }
          groups[i] = g;
        }
      }
      if (newRows.length > 0) {
        const rep = { columns: keys.map((kv) => gather(kv, Int32Array.from(newRows))), length: newRows.length };
        this.onBytes(chunkBytes(rep) + newRows.length * 48);
        this.reps.push(rep);
      }
    }
    for (let k = 0; k < this.states.length; k++) {
      const a = this.aggs[k]!;
      this.states[k]!.update(groups, n, a.arg === null ? null : evalExpr(a.arg, c, subs), this.groupCount);
    }
  }

  /**
   * Whether this batch's single numeric key codes go through the direct map: all integers, and
   * the map (grown to cover them) spans at most DIRECT_GROUPS_MAX slots, however sparse (4 bytes
   * a slot where the NumMap takes 24 per group; coprocessor partials arrive in any key order).
   * Once a batch does not fit, the map's groups move to the NumMap for good.
   */
  private directFits(codes: Float64Array, n: number): boolean {
    if (!this.directOk) return false;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const k = codes[i]!;
      if (k !== k) continue;
      if (!Number.isInteger(k)) return this.dropDirect();
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
    // Only NULL keys: the map is not read. (While directOk, the NumMap holds no group.)
    if (lo > hi) return true;
    const map = this.directMap;
    // The keys seen so far and this batch's: what the map must cover.
    const curLo = map === null ? lo : Math.min(this.directKeyLo, lo);
    const curHi = map === null ? hi : Math.max(this.directKeyHi, hi);
    const span = curHi - curLo + 1;
    if (span > DIRECT_GROUPS_MAX) return this.dropDirect();
    this.directKeyLo = curLo;
    this.directKeyHi = curHi;
    if (map === null) {
      this.directMap = new Int32Array(Math.min(DIRECT_GROUPS_MAX, Math.max(span, 1024))).fill(-1);
      this.directLo = lo;
      this.onBytes(this.directMap.length * 4);
    } else if (curLo < this.directLo || curHi >= this.directLo + map.length) {
      // Grow (doubling, within the bound); the headroom goes to the side that overflowed.
      const cap = Math.min(DIRECT_GROUPS_MAX, Math.max(span, map.length * 2));
      const newLo = curLo < this.directLo ? curHi - cap + 1 : curLo;
      const next = new Int32Array(cap).fill(-1);
      const oldLo = this.directLo;
      // Copy only the slots of keys seen before (they lie within [newLo, newLo + cap)).
      const from = Math.max(0, newLo - oldLo), to = Math.min(map.length, newLo + cap - oldLo);
      next.set(map.subarray(from, to), oldLo + from - newLo);
      this.directMap = next;
      this.directLo = newLo;
      this.onBytes(cap * 4);
    }
    return true;
  }

  private dropDirect(): false {
    this.directOk = false;
    const map = this.directMap;
    if (map !== null) {
      for (let d = 0; d < map.length; d++) if (map[d]! >= 0) this.groupIds.set(this.directLo + d, map[d]!);
      this.directMap = null;
    }
    return false;
  }

  /** Group keys then one column per aggregate; empty when grouped input had no rows. */
  finish(): Chunk {
    const g = this.groupCount;
    if (g === 0) return { columns: [...this.groups.map((x) => emptyOf(x.type)), ...this.aggs.map((a) => emptyOf(a.type))], length: 0 };
    const keyCols = this.groups.length === 0 ? [] : concatChunks(this.reps, this.groups.map((x) => x.type)).columns;
    return { columns: [...keyCols, ...this.states.map((s) => s.finish(g))], length: g };
  }
}

async function* runAggregate(plan: Extract<LogicalPlan, { kind: 'Aggregate' }>, ctx: ExecContext): AsyncGenerator<Chunk> {
  await resolveSubqueries([...plan.groups, ...plan.aggs.map((a) => a.arg)], ctx);
  // Partial aggregates in the workers pay off when they are much smaller than their input; an
  // aggregate by a foreign key (manyGroups) would send back about as many rows as it reads.
  if (plan.manyGroups !== true && ctx.coprocessor !== null && plan.input.kind === 'Scan' && scannedRows(plan.input, ctx) >= ctx.coprocessor.minRows && canSplitAggs(plan.aggs)) {
    yield* runAggregateOnCoprocessor(plan, plan.input, ctx);
    return;
  }
  const agg = new HashAggregator(plan.groups, plan.aggs, (b) => account(ctx, b));
  for await (const c of run(plan.input, ctx)) agg.add(c, ctx.subs);
  const out = agg.finish();
  if (out.length > 0) yield* batches(out, ctx.rowsPerBatch);
}

// ---------- coprocessor fragments ----------

/**
 * Rows a coprocessor scan reads: fragments filter in the workers, so the work is the table's
 * size, not the (estimated) output; key-column predicates still narrow it (estimate).
 */
function scannedRows(scan: Extract<LogicalPlan, { kind: 'Scan' }>, ctx: ExecContext): number {
  const keyCount = scan.table.schema.keyColumnCount;
  const keyCols = new Set(scan.table.schema.columns.slice(0, keyCount).map((c) => c.name));
  if (scan.predicates.some((p) => keyCols.has(p.column))) return scan.estimatedRows;
  return Math.max(scan.estimatedRows, ctx.storage.tableStats(scan.db, scan.table.name).rowCount);
}

/** Upper bound of rows in one coprocessor task (several storage batches). */
const TASK_ROWS_MAX = 262_144;

const SPLITTABLE = new Set<AggCall['fn']>(['count', 'count_star', 'sum', 'avg', 'min', 'max', 'any_value']);

function canSplitAggs(aggs: readonly AggCall[]): boolean {
  return aggs.every((a) => SPLITTABLE.has(a.fn));
}

function substituteSubqueries(e: Expr, ctx: ExecContext): Expr {
  return mapExpr(e, (x) => {
    if (x.kind === 'subquery') return { kind: 'lit', value: (ctx.subs.get(x.plan) as LitValue | undefined) ?? null, type: x.type };
    if (x.kind === 'inSubquery') {
      const set = ctx.subs.get(x.plan) as SubquerySet;
      if (set.size === 0) return { kind: 'lit', value: x.negated ? 1 : 0, type: x.type };
      const list: Expr[] = [...set.values].map((v) => ({ kind: 'lit', value: v as LitValue, type: x.arg.type }));
      if (set.hasNull) list.push({ kind: 'lit', value: null, type: x.arg.type });
      return { kind: 'in', arg: x.arg, list, negated: x.negated, type: x.type };
    }
    return x;
  });
}

/**
 * Aggregate(Scan) split into per-batch fragments (filter + partial aggregate) run by the
 * coprocessor pool; the calling thread only drives the scan and merges partial states.
 */
async function* runAggregateOnCoprocessor(plan: Extract<LogicalPlan, { kind: 'Aggregate' }>, scan: Extract<LogicalPlan, { kind: 'Scan' }>, ctx: ExecContext): AsyncGenerator<Chunk> {
  const cop = ctx.coprocessor!;
  await resolveSubqueries([scan.filter], ctx);
  const groups = plan.groups.map((g) => substituteSubqueries(g, ctx));
  const g = groups.length;
  // Partial aggregates, and how each final aggregate merges them.
  const partial: AggCall[] = [];
  const merge: AggCall[] = [];
  const finals: { fn: AggCall['fn']; at: number; type: SqlType; argType: SqlType | null }[] = [];
  for (const a of plan.aggs) {
    const arg = a.arg === null ? null : substituteSubqueries(a.arg, ctx);
    const at = g + partial.length;
    if (a.fn === 'avg') {
      const sumType = arg!.type.type === 'decimal' ? { type: 'decimal' as const, precision: 38, scale: arg!.type.scale ?? 0 } : isIntLike(arg!.type) ? { type: 'int64' as const } : { type: 'double' as const };
      partial.push({ fn: 'sum', arg, type: sumType }, { fn: 'count', arg, type: { type: 'int64' } });
      merge.push({ fn: 'sum', arg: col(at, sumType), type: sumType }, { fn: 'sum', arg: col(at + 1, { type: 'int64' }), type: { type: 'int64' } });
    } else if (a.fn === 'count' || a.fn === 'count_star') {
      partial.push({ fn: a.fn, arg, type: a.type });
      merge.push({ fn: 'sum', arg: col(at, a.type), type: a.type });
    } else {
      partial.push({ fn: a.fn, arg, type: a.type });
      merge.push({ fn: a.fn, arg: col(at, a.type), type: a.type });
    }
    finals.push({ fn: a.fn, at: g + merge.length - (a.fn === 'avg' ? 2 : 1), type: a.type, argType: arg?.type ?? null });
  }
  // Storage keeps the predicates on key columns (they prune rowsets); the others run in the
  // workers, so storage hands back its unfiltered base columns (SharedArrayBuffer views: no
  // gather on this thread, no copy to the workers). Tablets are still pruned by every predicate.
  const keyCols = new Set(scan.table.schema.columns.slice(0, scan.table.schema.keyColumnCount).map((c) => c.name));
  const storagePreds = scan.predicates.filter((p) => keyCols.has(p.column));
  const workerPreds = scan.predicates.filter((p) => !keyCols.has(p.column));
  const fetch = [...scan.columns];
  const types = [...scan.types];
  const predExprs: Expr[] = [];
  for (const p of workerPreds) {
    let at = fetch.indexOf(p.column);
    if (at < 0) {
      const cs = scan.table.schema.columns.find((c) => c.name === p.column);
      assert(cs !== undefined, `predicate column ${p.column} not in the schema`);
      at = fetch.length;
      fetch.push(p.column);
      types.push(cs.type === 'decimal' ? { type: 'decimal', precision: cs.precision ?? 38, scale: cs.scale ?? 0 } : { type: cs.type });
    }
    predExprs.push(predicateExpr(p, col(at, types[at]!)));
  }
  const scanFilter = fullScanFilter(scan);
  const filter = andAll([...predExprs, ...(scanFilter === null ? [] : [substituteSubqueries(scanFilter, ctx)])]);
  const shape: FragmentSpec = { types, filter, groups, aggs: partial };
  const fragment: FragmentSpec = { ...shape, key: fragmentKey(shape) };
  const merger = new HashAggregator(groups.map((x, i) => col(i, x.type)), merge, (b) => account(ctx, b));
  const tablets = ctx.storage.tabletsFor(scan.db, scan.table.name, scan.predicates);
  // One snapshot for all tablets, as StorageApi.scan does.
  const readMode: ReadMode = tablets.length > 1 && ctx.readMode.kind === 'latest' ? { kind: 'snapshot', timestamp: ctx.storage.now() } : ctx.readMode;
  const spec = { projection: fetch, predicates: storagePreds, readMode };
  const inflight: Promise<Chunk>[] = [];
  const maxInflight = cop.maxInflight;
  // Batches go to the workers in tasks of about taskRows rows (a round trip costs ~150 µs),
  // about one task per in-flight slot (every worker busy, few round trips).
  const taskRows = Math.min(TASK_ROWS_MAX, Math.max(1, Math.ceil(scannedRows(scan, ctx) / maxInflight)));
  let parts: FragmentPart[] = [];
  let partRows = 0;
  const dispatch = async (): Promise<void> => {
    if (parts.length === 0) return;
    const [first, ...more] = parts as [FragmentPart, ...FragmentPart[]];
    const task: FragmentTask = more.length === 0 ? { fragment, ...first } : { fragment, ...first, more };
    parts = [];
    partRows = 0;
    const pending = cop.run(task, ctx.signal);
    // A task left behind when the query stops early (error, KILL, timeout) may still reject:
    // handled here, so it is never an unhandled rejection.
    pending.catch(() => undefined);
    inflight.push(pending);
    while (inflight.length >= maxInflight) {
      merger.add(await inflight.shift()!);
      check(ctx);
    }
  };
  for (const t of tablets) {
    for await (const batch of ctx.storage.scanTablet(scan.db, scan.table.name, t.tabletId, spec)) {
      check(ctx);
      if (ctx.progress !== undefined) ctx.progress.rowsScanned += batch.numRows;
      if (batch.numRows === 0) continue;
      parts.push({ columns: fetch.map((_, i) => serializeColumn(batch.getChildAt(i)!.data)), length: batch.numRows });
      partRows += batch.numRows;
      if (partRows >= taskRows) await dispatch();
    }
  }
  await dispatch();
  for (const p of inflight) {
    merger.add(await p);
    check(ctx);
  }
  const merged = merger.finish();
  if (merged.length === 0 && g > 0) return;
  const n = merged.length;
  const out: Vector[] = merged.columns.slice(0, g);
  for (const f of finals) {
    const v = merged.columns[f.at]! as NumVector;
    if (f.fn !== 'avg') {
      // COUNT of no partials is 0, not NULL.
      out.push(f.fn === 'count' || f.fn === 'count_star' ? { ...v, valid: null } : v);
      continue;
    }
    const c = merged.columns[f.at + 1]! as NumVector;
    const vals = new Float64Array(n);
    const valid = new Uint8Array(n);
    let exact: (bigint | undefined)[] | undefined;
    const shift = f.type.type === 'decimal' ? scaleOf(f.type) - scaleOf(f.argType!) : 0;
    for (let i = 0; i < n; i++) {
      const cnt = c.values[i]!;
      if (cnt === 0 || (v.valid !== null && v.valid[i] !== 1)) continue;
      valid[i] = 1;
      if (f.type.type !== 'decimal') { vals[i] = (v.exact?.[i] !== undefined ? Number(v.exact[i]) : v.values[i]!) / cnt; continue; }
      const avg = decimalAvg(v.values[i]!, v.exact?.[i], cnt, shift);
      if (avg.big !== undefined) exact = putBig(vals, exact, i, avg.big); else vals[i] = avg.value;
    }
    out.push(numVec(f.type, vals, valid, exact));
  }
  yield* batches({ columns: out, length: n }, ctx.rowsPerBatch);
}

/** A storage predicate as an expression over column c (API values -> executor literals). */
function predicateExpr(p: ColumnPredicate, c: Expr): Expr {
  const litOf = (v: Value): Expr => ({ kind: 'lit', value: v === null ? null : typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'bigint' ? canonBig(v) : v, type: c.type });
  switch (p.kind) {
    case 'compare': return { kind: 'call', fn: p.op, args: [c, litOf(p.value)], type: BOOL };
    case 'in': return { kind: 'in', arg: c, list: p.values.map(litOf), negated: false, type: BOOL };
    case 'isNull': return { kind: 'isNull', arg: c, negated: false, type: BOOL };
    case 'isNotNull': return { kind: 'isNull', arg: c, negated: true, type: BOOL };
  }
}

function isIntLike(t: SqlType): boolean {
  return t.type === 'int8' || t.type === 'int16' || t.type === 'int32' || t.type === 'int64' || t.type === 'bool';
}

// ---------- joins ----------

/**
 * Open-addressing hash map from numbers (key codes or raw numeric keys; never NaN) to
 * non-negative ints, in typed arrays: no per-entry allocation, no Map hashing. -0 and 0 are one key.
 */
export class NumMap {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  size = 0;
  /** Optional probe pre-filter (see buildPresenceBits): bit (k - bitsMin) set iff k may be present. */
  private bits: Int32Array | null = null;
  private bitsMin = 0;
  private bitsMax = -1;

  /**
   * When every key is an integer and their range is at most 128 bits per key (and 2^27 overall),
   * keeps a presence bitmap that `probe` checks first. Call after the last set().
   */
  buildPresenceBits(): void {
    this.bits = null;
    if (this.size === 0) return;
    let lo = Infinity, hi = -Infinity;
    const keys = this.keys, vals = this.vals;
    for (let s = 0; s < keys.length; s++) {
      if (vals[s]! < 0) continue;
      const k = keys[s]!;
      if (!Number.isInteger(k)) return;
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
    const range = hi - lo;
    if (range > 2 ** 27 || range > Math.max(65536, this.size * 128)) return;
    const bits = new Int32Array((range >>> 5) + 1);
    for (let s = 0; s < keys.length; s++) {
      if (vals[s]! < 0) continue;
      const d = keys[s]! - lo;
      bits[d >>> 5] = bits[d >>> 5]! | (1 << (d & 31));
    }
    this.bits = bits;
    this.bitsMin = lo;
    this.bitsMax = range;
  }

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  private static hash(k: number): number {
    let h: number;
    if ((k | 0) === k) h = Math.imul(k, 0x9e3779b1);
    else {
      SCRATCH_F64[0] = k;
      h = Math.imul(SCRATCH_I32[0]!, 0x85ebca6b) ^ Math.imul(SCRATCH_I32[1]!, 0xcc9e2d51);
    }
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 13);
  }

  /** The value for k, or -1. */
  get(k: number): number {
    k += 0;
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = NumMap.hash(k) & mask;
    for (;;) {
      const v = vals[i]!;
      if (v < 0 || keys[i] === k) return v;
      i = (i + 1) & mask;
    }
  }

  set(k: number, v: number): void {
    k += 0;
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = NumMap.hash(k) & mask;
    for (;;) {
      if (vals[i]! < 0) { keys[i] = k; vals[i] = v; this.size++; return; }
      if (keys[i] === k) { vals[i] = v; return; }
      i = (i + 1) & mask;
    }
  }

  /**
   * Join probe over key codes (heads of chains through `next`): appends a (probe row, build row)
   * pair per build row with row i's code (the first only when firstOnly), for rows from `from`
   * until n or until `limit` pairs are held after a row. Returns the next row to probe.
   */
  probe(codes: Float64Array, from: number, n: number, next: Int32Array, firstOnly: boolean, pairs: PairBuffer, limit: number): number {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    const bits = this.bits, bitsMin = this.bitsMin, bitsMax = this.bitsMax;
    let li = pairs.li, ri = pairs.ri, m = pairs.m;
    let i = from;
    for (; i < n && m < limit; i++) {
      const k = codes[i]! + 0;
      if (k !== k) continue; // NaN: no match possible
      if (bits !== null) {
        // Integer keys in a bounded range: a bitmap of present keys (cache-resident) rejects
        // most misses before the table lookup (lineitem probes that mostly miss, TPC-H Q3/Q5).
        const d = k - bitsMin;
        if (!(d >= 0 && d <= bitsMax) || (d | 0) !== d || (bits[d >>> 5]! & (1 << (d & 31))) === 0) continue;
      }
      let h: number;
      if ((k | 0) === k) h = Math.imul(k, 0x9e3779b1);
      else {
        SCRATCH_F64[0] = k;
        h = Math.imul(SCRATCH_I32[0]!, 0x85ebca6b) ^ Math.imul(SCRATCH_I32[1]!, 0xcc9e2d51);
      }
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 13;
      let s = h & mask;
      let r = vals[s]!;
      while (r >= 0 && keys[s] !== k) { s = (s + 1) & mask; r = vals[s]!; }
      while (r >= 0) {
        if (m === li.length) { pairs.m = m; growPairs(pairs); li = pairs.li; ri = pairs.ri; }
        li[m] = i; ri[m] = r; m++;
        if (firstOnly) break;
        r = next[r]!;
      }
    }
    pairs.m = m;
    return i;
  }

  private grow(): void {
    const oldK = this.keys, oldV = this.vals;
    const cap = oldK.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldK.length; i++) if (oldV[i]! >= 0) this.set(oldK[i]!, oldV[i]!);
  }
}

/** Candidate join pairs: probe rows li[k] with build rows ri[k], k < m. */
interface PairBuffer { li: Int32Array; ri: Int32Array; m: number }

function newPairBuffer(rows: number): PairBuffer {
  const n = Math.max(16, Math.min(rows, PAIRS_PER_FLUSH));
  return { li: new Int32Array(n), ri: new Int32Array(n), m: 0 };
}

/** Keeps the candidate pairs (left row pl[k], right row pr[k]) whose join residual is true. */
function residualPairs(
  plan: Extract<LogicalPlan, { kind: 'Join' }>, leftCols: readonly Vector[], rightCols: readonly Vector[],
  pl: Int32Array, pr: Int32Array, cnt: number, ctx: ExecContext,
): { pl: Int32Array; pr: Int32Array; cnt: number } {
  if (plan.residual === null || cnt === 0) return { pl, pr, cnt };
  const combined: Chunk = { columns: [...leftCols.map((v) => gather(v, pl)), ...rightCols.map((v) => gather(v, pr))], length: cnt };
  const sel = selectTrue(evalExpr(plan.residual, combined, ctx.subs), cnt);
  const nl = new Int32Array(sel.length), nr = new Int32Array(sel.length);
  for (let k = 0; k < sel.length; k++) { nl[k] = pl[sel[k]!]!; nr[k] = pr[sel[k]!]!; }
  return { pl: nl, pr: nr, cnt: sel.length };
}

function growPairs(p: PairBuffer): void {
  const nl = new Int32Array(p.li.length * 2); nl.set(p.li); p.li = nl;
  const nr = new Int32Array(p.ri.length * 2); nr.set(p.ri); p.ri = nr;
}

const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_I32 = new Int32Array(SCRATCH_F64.buffer);

/** Encodes a join's key rows as numbers; insert=false for the probe side (no match: NaN). */
interface JoinKeyEncoder {
  encode(cols: readonly Vector[], n: number, insert: boolean): Float64Array;
}

/** Heads of the build rows' chains by key code: probe appends the candidate pairs (NumMap.probe). */
interface ChainHeads {
  probe(codes: Float64Array, from: number, n: number, next: Int32Array, firstOnly: boolean, pairs: PairBuffer, limit: number): number;
}

/**
 * Chain heads of integer key codes in a dense range, indexed by code - min (-1: none): one
 * array read per probe in 4 bytes per slot, where NumMap spreads 12 bytes per slot over twice
 * the keys (TPC-H Q13: 150 000 customer keys probed 1.5 M times).
 */
class DenseHeads implements ChainHeads {
  constructor(private readonly min: number, private readonly heads: Int32Array) {}

  /** Heads for the codes of n build rows (chained through next, filled here), or null when they are not integers in a range of at most 4 slots per row (and 2^24). */
  static tryBuild(codes: Float64Array, n: number, next: Int32Array): DenseHeads | null {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const k = codes[i]!;
      if (k !== k) continue;
      if (!Number.isInteger(k)) return null;
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
    if (lo > hi) { lo = 0; hi = 0; }
    const range = hi - lo;
    if (range > 2 ** 24 || range > Math.max(1024, n * 4)) return null;
    const heads = new Int32Array(range + 1).fill(-1);
    for (let i = n - 1; i >= 0; i--) {
      const k = codes[i]!;
      if (k !== k) continue;
      const d = k - lo;
      next[i] = heads[d]!;
      heads[d] = i;
    }
    return new DenseHeads(lo, heads);
  }

  probe(codes: Float64Array, from: number, n: number, next: Int32Array, firstOnly: boolean, pairs: PairBuffer, limit: number): number {
    const heads = this.heads, min = this.min, range = heads.length - 1;
    let li = pairs.li, ri = pairs.ri, m = pairs.m;
    let i = from;
    for (; i < n && m < limit; i++) {
      const d = codes[i]! - min;
      // NaN and fractional codes fail the integer check; out-of-range ones the bounds.
      if (!(d >= 0 && d <= range) || (d | 0) !== d) continue;
      let r = heads[d]!;
      while (r >= 0) {
        if (m === li.length) { pairs.m = m; growPairs(pairs); li = pairs.li; ri = pairs.ri; }
        li[m] = i; ri[m] = r; m++;
        if (firstOnly) break;
        r = next[r]!;
      }
    }
    pairs.m = m;
    return i;
  }
}

interface HashTable {
  readonly heads: ChainHeads;
  readonly next: Int32Array;
  readonly enc: JoinKeyEncoder;
}

/**
 * Multi-column integer join keys whose build-side ranges multiply to below 2^52 are one
 * mixed-radix number per row (sum of (v_k - min_k) * mult_k), without dictionaries: the build
 * side fixes the ranges, a probe value outside its column's range (or fractional, or NULL)
 * cannot match and gives NaN.
 */
class DirectKeyEncoder implements JoinKeyEncoder {
  private constructor(private readonly mins: Float64Array, private readonly maxs: Float64Array, private readonly mults: Float64Array) {}

  /** The encoder for these build keys, or null when some column is not integral / too wide. */
  static tryBuild(cols: readonly Vector[], n: number): DirectKeyEncoder | null {
    if (cols.length < 2) return null;
    const w = cols.length;
    const mins = new Float64Array(w), maxs = new Float64Array(w), mults = new Float64Array(w);
    let span = 1;
    for (let k = w - 1; k >= 0; k--) {
      const v = cols[k]!;
      if (v.kind !== 'num' || v.exact !== undefined) return null;
      const t = v.type.type;
      if (t !== 'int8' && t !== 'int16' && t !== 'int32' && t !== 'int64' && t !== 'date' && t !== 'bool') return null;
      const vals = v.values, valid = v.valid;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < n; i++) {
        if (valid !== null && valid[i] !== 1) continue;
        const x = vals[i]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (lo > hi) { lo = 0; hi = 0; }
      if (!Number.isInteger(lo) || !Number.isInteger(hi)) return null;
      mins[k] = lo; maxs[k] = hi; mults[k] = span;
      span *= hi - lo + 1;
      if (span > 2 ** 52) return null;
    }
    return new DirectKeyEncoder(mins, maxs, mults);
  }

  encode(cols: readonly Vector[], n: number, _insert: boolean): Float64Array {
    const out = new Float64Array(n);
    for (let k = 0; k < cols.length; k++) {
      const v = cols[k] as NumVector;
      const vals = v.values, valid = v.valid, ex = v.exact;
      const lo = this.mins[k]!, hi = this.maxs[k]!, mult = this.mults[k]!;
      for (let i = 0; i < n; i++) {
        const x = vals[i]!;
        if ((valid !== null && valid[i] !== 1) || !(x >= lo && x <= hi) || (ex !== undefined && ex[i] !== undefined)) { out[i] = NaN; continue; }
        out[i] = out[i]! + (x - lo) * mult;
      }
    }
    // A fractional probe value (a double key column) lands between codes: no match.
    for (let k = 0; k < cols.length; k++) {
      const v = cols[k] as NumVector;
      const t = v.type.type;
      if (t === 'int8' || t === 'int16' || t === 'int32' || t === 'int64' || t === 'date' || t === 'bool') continue;
      const vals = v.values;
      for (let i = 0; i < n; i++) if (!Number.isInteger(vals[i]!)) out[i] = NaN;
    }
    return out;
  }
}

function buildHash(keys: readonly Vector[], n: number): HashTable {
  const enc: JoinKeyEncoder = DirectKeyEncoder.tryBuild(keys, n) ?? new KeyEncoder(keys.length, false);
  const codes = enc.encode(keys, n, true);
  const next = new Int32Array(n).fill(-1);
  const dense = DenseHeads.tryBuild(codes, n, next);
  if (dense !== null) return { heads: dense, next, enc };
  const heads = new NumMap(n);
  for (let i = n - 1; i >= 0; i--) {
    const k = codes[i]!;
    if (Number.isNaN(k)) continue;
    next[i] = heads.get(k);
    heads.set(k, i);
  }
  heads.buildPresenceBits();
  return { heads, next, enc };
}

async function* runJoin(plan: Extract<LogicalPlan, { kind: 'Join' }>, ctx: ExecContext): AsyncGenerator<Chunk> {
  await resolveSubqueries([...plan.leftKeys, ...plan.rightKeys, plan.residual], ctx);
  const jt = plan.joinType;
  // Which side becomes the hash table. When the left (probe) side is estimated much smaller
  // than the right (EXISTS / IN over a big table, TPC-H Q4 / Q21, or the customers of Q13), it is
  // collected and becomes the table while the right side streams past it, restricted to the
  // left keys (runReversed); a right side that aggregates by the join keys is instead reduced to
  // the groups the left keys can match (collectGroupedMatching). When the estimates do not
  // decide, both sides are pulled in turn until one ends (raceSides). Not for right / full joins
  // (unmatched right rows are output) nor NOT IN (a NULL anywhere on the right side matters).
  const reducible = plan.leftKeys.length > 0 && (jt === 'inner' || jt === 'semi' || jt === 'anti' || jt === 'left') && !plan.nullAware;
  const estLeft = reducible ? estimateRows(plan.left) : 0, work = reducible ? buildWork(plan) : 0;
  const grouped = reducible ? groupedBuild(plan) : null;
  let reduce = reducible && estLeft * 4 < work;
  let probes: AsyncGenerator<Chunk>;
  let build: Chunk;
  // The build side holds only the groups this join's left keys match (not reusable by another join).
  let partialBuild = false;
  let side: BuiltSide | null = null;
  const builds = abandonedBuilds(ctx);
  const reused = builds.get(plan.right);
  if (reused !== undefined) {
    // This join was started before (inside a side that a join above abandoned and restarted
    // restricted to its keys) and had collected its whole build side: reuse it.
    builds.delete(plan.right);
    build = reused.build;
    if (reused.rightKeys === plan.rightKeys) side = reused;
    probes = run(runtimeKeyFilter(plan, build, ctx) ?? plan.left, ctx);
  } else if (reduce && grouped === null) {
    yield* runReversed(plan, await collect(plan.left, ctx), null, ctx);
    return;
  } else if (reduce && grouped !== null) {
    const left = await collect(plan.left, ctx);
    build = await collectGroupedMatching(plan, grouped, left, ctx);
    partialBuild = true;
    probes = oneChunk(left);
  } else if (reducible && grouped === null && work >= RACE_BUILD_ROWS_MIN && estLeft <= work * RACE_RATIO_MAX) {
    const race = await raceSides(plan, ctx);
    reduce = race.leftDone;
    if (race.leftDone) {
      yield* runReversed(plan, concatChunks(race.left, plan.left.types), { pulled: race.right, rest: race.rightGen }, ctx);
      return;
    }
    // The right side ended first: it is the table; the left side restarts restricted to its
    // keys when a runtime filter applies, else continues where it is.
    build = concatChunks(race.right, plan.right.types);
    const filtered = runtimeKeyFilter(plan, build, ctx);
    if (filtered !== null) { await race.leftGen.return(undefined); probes = run(filtered, ctx); }
    else probes = chainChunks(race.left, race.leftGen);
  } else {
    build = await collect(plan.right, ctx);
    probes = run(runtimeKeyFilter(plan, build, ctx) ?? plan.left, ctx);
  }
  // Kept while the probe side runs: when a join above abandons this one mid-way (it restarts
  // its side restricted to its build keys), the restarted copy of this join, whose build side is
  // the same plan object, takes the collected rows instead of running that side again (TPC-H Q7:
  // lineitem's join with the French / German suppliers is not scanned twice).
  side ??= { build, rightKeys: plan.rightKeys, table: undefined };
  if (!partialBuild) builds.set(plan.right, side);
  let completed = false;
  try {
    yield* probeJoin(plan, side, probes, ctx);
    completed = true;
  } finally {
    if (completed && builds.get(plan.right) === side) builds.delete(plan.right);
  }
}

/**
 * Build sides of the joins of a statement (by the build plan object) collected by a join that has not
 * finished; a restarted copy of the join (same build plan) reuses the rows. Per ExecContext.
 */
const abandonedBuildsByCtx = new WeakMap<ExecContext, Map<LogicalPlan, BuiltSide>>();

/** A join's collected build side and, once built, its hash table over `rightKeys` (null: no equality key). */
interface BuiltSide {
  readonly build: Chunk;
  readonly rightKeys: readonly Expr[];
  table: HashTable | null | undefined;
}

function abandonedBuilds(ctx: ExecContext): Map<LogicalPlan, BuiltSide> {
  let m = abandonedBuildsByCtx.get(ctx);
  if (m === undefined) { m = new Map(); abandonedBuildsByCtx.set(ctx, m); }
  return m;
}

/** The probe phase of a hash (or nested-loop) join over a collected build side. */
async function* probeJoin(plan: Extract<LogicalPlan, { kind: 'Join' }>, side: BuiltSide, probes: AsyncGenerator<Chunk>, ctx: ExecContext): AsyncGenerator<Chunk> {
  const jt = plan.joinType;
  const build = side.build;
  assert(side.rightKeys === plan.rightKeys, 'a built join side is probed with the keys it was built on');
  let buildKeys: Vector[] | null = null;
  const keysOfBuild = (): Vector[] => (buildKeys ??= plan.rightKeys.map((k) => evalExpr(k, build, ctx.subs)));
  // A table built by an abandoned copy of this join (see runJoin) is taken as is.
  if (side.table === undefined) {
    side.table = plan.leftKeys.length > 0 ? buildHash(keysOfBuild(), build.length) : null;
    account(ctx, build.length * 24);
  }
  const table = side.table;
  const buildMatched = jt === 'right' || jt === 'full' ? new Uint8Array(build.length) : null;
  const buildHasNullKey = plan.nullAware && keysOfBuild().some((k) => k.valid !== null && k.valid.some((x) => x === 0));
  const leftWidth = plan.left.types.length;
  for await (const probe of probes) {
    const n = probe.length;
    // Candidate pairs, flushed every PAIRS_PER_FLUSH so a many-to-many join streams in bounded
    // pieces and gives the event loop (and KILL / timeouts) a turn between pieces.
    const pairs = newPairBuffer(n);
    const hit = jt === 'inner' || jt === 'cross' || jt === 'right' ? null : new Uint8Array(n);
    const stopAtFirst = (jt === 'semi' || jt === 'anti') && plan.residual === null;
    const flush = (): Chunk | null => {
      if (ctx.progress !== undefined) ctx.progress.rowsScanned += pairs.m;
      let { pl, pr, cnt } = residualPairs(plan, probe.columns, build.columns, pairs.li.subarray(0, pairs.m), pairs.ri.subarray(0, pairs.m), pairs.m, ctx);
      pairs.m = 0;
      if (hit !== null) for (let k = 0; k < cnt; k++) hit[pl[k]!] = 1;
      if (buildMatched !== null) for (let k = 0; k < cnt; k++) buildMatched[pr[k]!] = 1;
      if (cnt === 0 || jt === 'semi' || jt === 'anti') return null;
      if (pl.buffer === pairs.li.buffer) { pl = pl.slice(); pr = pr.slice(); }
      return { columns: joinOutput(plan, probe.columns, build.columns, pl, pr), length: cnt };
    };
    const push = (l: number, r: number): void => {
      if (pairs.m === pairs.li.length) growPairs(pairs);
      pairs.li[pairs.m] = l; pairs.ri[pairs.m] = r; pairs.m++;
    };
    let probeKeyNull: Uint8Array | null = null;
    if (table !== null) {
      const keys = plan.leftKeys.map((k) => evalExpr(k, probe, ctx.subs));
      const codes = table.enc.encode(keys, n, false);
      const next = table.next;
      if (plan.nullAware) {
        probeKeyNull = new Uint8Array(n);
        for (const kv of keys) if (kv.valid !== null) for (let i = 0; i < n; i++) if (kv.valid[i] !== 1) probeKeyNull[i] = 1;
      }
      for (let i = 0; i < n;) {
        i = table.heads.probe(codes, i, n, next, stopAtFirst, pairs, PAIRS_PER_FLUSH);
        if (pairs.m >= PAIRS_PER_FLUSH) {
          const out = flush();
          if (out !== null) yield out;
          await breathe(ctx);
        }
      }
    } else {
      // Nested loop (no equality key): pairs are generated and filtered piece by piece.
      const bn = build.length;
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < bn; r++) {
          push(i, r);
          if (pairs.m >= PAIRS_PER_FLUSH) {
            const out = flush();
            if (out !== null) yield out;
            await breathe(ctx);
          }
        }
      }
    }
    const last = flush();
    if (last !== null) yield last;
    if (hit !== null && jt !== 'right') {
      const sel = new Int32Array(n);
      let c = 0;
      if (jt === 'semi') { for (let i = 0; i < n; i++) if (hit[i] === 1) sel[c++] = i; }
      else if (jt === 'anti') {
        for (let i = 0; i < n; i++) {
          if (hit[i] === 1) continue;
          // NOT IN: a NULL on either side makes the predicate unknown, unless the subquery is empty.
          if (plan.nullAware && build.length > 0 && (buildHasNullKey || probeKeyNull?.[i] === 1)) continue;
          sel[c++] = i;
        }
      } else {
        // left / full: probe rows without a match, padded with NULLs.
        for (let i = 0; i < n; i++) if (hit[i] === 0) sel[c++] = i;
        if (c > 0) {
          const L = sel.subarray(0, c);
          const R = new Int32Array(c).fill(-1);
          yield { columns: joinOutput(plan, probe.columns, build.columns, L, R), length: c };
        }
        c = 0;
      }
      if (c > 0) yield gatherChunk(probe, sel.subarray(0, c));
    }
    check(ctx);
  }
  if (buildMatched !== null) {
    const rest: number[] = [];
    for (let r = 0; r < build.length; r++) if (buildMatched[r] === 0) rest.push(r);
    if (rest.length > 0) {
      const R = Int32Array.from(rest);
      const L = new Int32Array(rest.length).fill(-1);
      const leftEmpty: Chunk = { columns: plan.left.types.map((t) => emptyOf(t)), length: 0 };
      yield { columns: joinOutput(plan, leftEmpty.columns, build.columns, L, R), length: R.length };
    }
  }
  void leftWidth;
}

/**
 * A join whose left side is collected and small: the hash table is built over the left rows and
 * the right side streams past it (restricted to the left keys when it is a scan of integer keys),
 * marking the left rows that match. Inner and left joins emit pairs as they come, then a left
 * join its unmatched left rows padded with NULLs; semi / anti joins emit the (un)matched left
 * rows at the end. Not for NOT IN (nullAware) nor right / full joins.
 */
async function* runReversed(plan: Extract<LogicalPlan, { kind: 'Join' }>, left: Chunk, started: { pulled: readonly Chunk[]; rest: AsyncGenerator<Chunk> } | null, ctx: ExecContext): AsyncGenerator<Chunk> {
  const jt = plan.joinType;
  assert((jt === 'inner' || jt === 'semi' || jt === 'anti' || jt === 'left') && !plan.nullAware && plan.leftKeys.length > 0, `reversed hash join of an inner / semi / anti / left equi-join; found ${jt}`);
  const n = left.length;
  if (n === 0) {
    if (started !== null) await started.rest.return(undefined);
    return;
  }
  const leftKeys = plan.leftKeys.map((k) => evalExpr(k, left, ctx.subs));
  const table = buildHash(leftKeys, n);
  account(ctx, n * 24);
  const matched = new Uint8Array(n);
  let restricted = plan.right;
  const lk = leftKeys[0]!, rk = plan.rightKeys[0]!;
  if (plan.leftKeys.length === 1 && lk.kind === 'num' && SMALL_INT_TYPES.has(plan.leftKeys[0]!.type.type) && rk.kind === 'col' && SMALL_INT_TYPES.has(rk.type.type)) {
    const r = keyRestriction(lk, n, estimateRows(plan.right));
    restricted = (r === null ? null : withKeyPredicate(plan.right, rk.index, r)) ?? plan.right;
  }
  let source: AsyncGenerator<Chunk>;
  if (started === null) source = run(restricted, ctx);
  else if (restricted !== plan.right) { await started.rest.return(undefined); source = run(restricted, ctx); }
  else source = chainChunks(started.pulled, started.rest);
  const emitPairs = jt === 'inner' || jt === 'left';
  const next = table.next;
  for await (const c of source) {
    const m = c.length;
    const keys = plan.rightKeys.map((k) => evalExpr(k, c, ctx.subs));
    const codes = table.enc.encode(keys, m, false);
    const pairs = newPairBuffer(m);
    for (let i = 0; i < m;) {
      i = table.heads.probe(codes, i, m, next, false, pairs, PAIRS_PER_FLUSH);
      // pairs: li = right rows (probe), ri = left rows (build).
      if (ctx.progress !== undefined) ctx.progress.rowsScanned += pairs.m;
      let { pl, pr, cnt } = residualPairs(plan, left.columns, c.columns, pairs.ri.subarray(0, pairs.m), pairs.li.subarray(0, pairs.m), pairs.m, ctx);
      pairs.m = 0;
      for (let k = 0; k < cnt; k++) matched[pl[k]!] = 1;
      if (emitPairs && cnt > 0) {
        if (pl.buffer === pairs.ri.buffer) { pl = pl.slice(); pr = pr.slice(); }
        yield { columns: joinOutput(plan, left.columns, c.columns, pl, pr), length: cnt };
      }
      if (i < m) await breathe(ctx);
    }
    check(ctx);
  }
  const sel = new Int32Array(n);
  let k = 0;
  if (jt === 'semi') { for (let i = 0; i < n; i++) if (matched[i] === 1) sel[k++] = i; }
  else for (let i = 0; i < n; i++) if (matched[i] === 0) sel[k++] = i;
  if (k === 0) return;
  const L = sel.subarray(0, k);
  if (jt === 'semi' || jt === 'anti') { yield gatherChunk(left, L); return; }
  if (jt === 'left') {
    const rightEmpty: Chunk = { columns: plan.right.types.map((t) => emptyOf(t)), length: 0 };
    yield { columns: joinOutput(plan, left.columns, rightEmpty.columns, L, new Int32Array(k).fill(-1)), length: k };
  }
}

/** Build sides estimated below this many rows are collected first without racing the probe side. */
const RACE_BUILD_ROWS_MIN = 32_768;
/** Probe sides estimated above this many times the build side's rows are not raced. */
const RACE_RATIO_MAX = 16;

interface RaceResult {
  /** True when the probe (left) side ended first; else the build (right) side did. */
  readonly leftDone: boolean;
  readonly left: Chunk[];
  readonly right: Chunk[];
  /** The unfinished side's generator, still open (the caller continues or closes it). */
  readonly leftGen: AsyncGenerator<Chunk>;
  readonly rightGen: AsyncGenerator<Chunk>;
}

/** Pulls chunks from both join inputs, always from the side with fewer rows so far, until one side ends. */
async function raceSides(plan: Extract<LogicalPlan, { kind: 'Join' }>, ctx: ExecContext): Promise<RaceResult> {
  const leftGen = run(plan.left, ctx), rightGen = run(plan.right, ctx);
  const left: Chunk[] = [], right: Chunk[] = [];
  let ln = 0, rn = 0;
  try {
    for (;;) {
      const fromLeft = ln <= rn;
      const x = await (fromLeft ? leftGen : rightGen).next();
      if (x.done === true) {
        if (fromLeft) return { leftDone: true, left, right, leftGen, rightGen };
        return { leftDone: false, left, right, leftGen, rightGen };
      }
      account(ctx, chunkBytes(x.value));
      if (fromLeft) { left.push(x.value); ln += x.value.length; } else { right.push(x.value); rn += x.value.length; }
    }
  } catch (e) {
    await Promise.allSettled([leftGen.return(undefined), rightGen.return(undefined)]);
    throw e;
  }
}

async function* chainChunks(pulled: readonly Chunk[], rest: AsyncGenerator<Chunk>): AsyncGenerator<Chunk> {
  for (const c of pulled) yield c;
  yield* rest;
}

/** At most this many distinct build keys become a storage IN predicate on the probe side. */
const RUNTIME_FILTER_MAX_KEYS = 4096;
/** Key bitmaps up to this many bits (256 KiB, cache-resident) are used however few keys they hold. */
const BITMAP_RANGE_ANY = 2 ** 21;
/** Up to this many keys an IN list (storage prunes batches by min / max); above, a key bitmap when the range allows. */
const RUNTIME_FILTER_IN_PREFERRED = 64;
const SMALL_INT_TYPES: ReadonlySet<string> = new Set(['int8', 'int16', 'int32']);

/**
 * Runtime join filter: for an inner / semi hash join on integer key columns whose build side is
 * built, the build side's distinct keys of each key column become a `col IN (keys)` storage
 * predicate or a key bitmap on the probe side's scan of that column (through filters, column projections and inner / semi joins), so
 * probe rows that cannot match are dropped in the storage scan before their other columns are
 * materialized (TPC-H Q8: lineitem filtered by the part and orders keys). Null when it does not
 * apply: then the probe side runs as planned.
 */
function runtimeKeyFilter(plan: Extract<LogicalPlan, { kind: 'Join' }>, build: Chunk, ctx: ExecContext): LogicalPlan | null {
  if (plan.leftKeys.length === 0 || (plan.joinType !== 'inner' && plan.joinType !== 'semi')) return null;
  const probeRows = estimateRows(plan.left);
  if (probeRows < 4 * 1024) return null;
  // Each integer key column restricts the probe side on its own (a multi-column key through
  // each of its columns: TPC-H Q5's supplier and nation keys).
  let out: LogicalPlan | null = null;
  for (let k = 0; k < plan.leftKeys.length; k++) {
    const lk = plan.leftKeys[k]!, rk = plan.rightKeys[k]!;
    if (lk.kind !== 'col' || rk.kind !== 'col' || !SMALL_INT_TYPES.has(lk.type.type) || !SMALL_INT_TYPES.has(rk.type.type)) continue;
    const kv = evalExpr(rk, build, ctx.subs);
    if (kv.kind !== 'num') continue;
    const r = keyRestriction(kv, build.length, probeRows);
    const next: LogicalPlan | null = r === null ? null : withKeyPredicate(out ?? plan.left, lk.index, r);
    if (next !== null) out = next;
  }
  return out;
}

/**
 * The restriction (IN list when at most RUNTIME_FILTER_MAX_KEYS distinct keys, else a presence
 * bitmap) that keeps only rows whose key is among kv's n integer values; null when it would not
 * pay (the target scan is not at least 4x the key count, or the key range is too sparse).
 */
function keyRestriction(kv: NumVector, n: number, targetRows: number): KeyRestriction | null {
  if (n <= RUNTIME_FILTER_MAX_KEYS * 4) {
    const seen = new Set<number>();
    let small = true;
    for (let i = 0; i < n; i++) {
      if (kv.valid !== null && kv.valid[i] !== 1) continue;
      const v = kv.values[i]!;
      if (!Number.isInteger(v)) continue;
      seen.add(v);
      if (seen.size > RUNTIME_FILTER_MAX_KEYS) { small = false; break; }
    }
    if (small && seen.size <= RUNTIME_FILTER_IN_PREFERRED) return targetRows < 4 * seen.size ? null : { kind: 'in', values: [...seen] };
    if (small) return bitmapRestriction(kv, n, targetRows) ?? (targetRows < 4 * seen.size ? null : { kind: 'in', values: [...seen] });
  }
  return bitmapRestriction(kv, n, targetRows);
}

/**
 * Large build sides: a presence bitmap of the build keys (when their range is at most 2^21, or
 * at most 2^27 and 256 per key) checked by the probe scan itself on the raw key column, before the other columns
 * are decoded (`runScan`); storage's IN filter is too slow for that many keys.
 */
function bitmapRestriction(kv: NumVector, n: number, targetRows: number): KeyRestriction | null {
  let lo = Infinity, hi = -Infinity, count = 0;
  const vals = kv.values, valid = kv.valid;
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] !== 1) continue;
    const v = vals[i]!;
    if (!Number.isInteger(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    count++;
  }
  if (count === 0) return null;
  const range = hi - lo;
  if (range > 2 ** 27 || range > Math.max(BITMAP_RANGE_ANY, count * 256)) return null;
  const bits = new Int32Array((range >>> 5) + 1);
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] !== 1) continue;
    const v = vals[i]!;
    if (!Number.isInteger(v)) continue;
    const d = v - lo;
    bits[d >>> 5] = bits[d >>> 5]! | (1 << (d & 31));
  }
  // Distinct keys, not build rows, decide whether the target is large enough and how dense the
  // bitmap is (TPC-H Q9: 325k lineitem rows of 10.8k part keys restrict partsupp's 800k rows).
  let distinct = 0;
  for (let w = 0; w < bits.length; w++) distinct += popcount32(bits[w]!);
  if (targetRows < 4 * distinct) return null;
  return { kind: 'bits', filter: { column: -1, min: lo, range, bits }, density: Math.min(1, distinct / (range + 1)) };
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** A restriction of a key column: IN a few values, or in a bitmap with about `density` of its range set. */
type KeyRestriction = { readonly kind: 'in'; readonly values: number[] } | { readonly kind: 'bits'; readonly filter: KeyFilter; readonly density: number };

/** Bitmaps keeping at most this fraction of their key range move the scan's other predicates after them. */
const KEY_FILTER_FIRST_DENSITY = 0.25;

/**
 * The scan with key filter f; when f keeps few rows (density), the scan's predicates on non-key
 * columns leave storage for the scan's filter, which runs after the key filter: storage then
 * hands back its base columns without gathering the many rows those predicates keep, and
 * only the rows with a matching key are decoded and tested (TPC-H Q3: lineitem's l_shipdate
 * keeps half the rows, the orders keys 2%). Key-column predicates stay (they prune rowsets).
 * Columns added for the moved predicates are dropped again by a Project above the scan.
 */
function scanWithKeyFilter(p: Extract<LogicalPlan, { kind: 'Scan' }>, f: KeyFilter, density: number): LogicalPlan {
  const keyFilters = [...(p.keyFilters ?? []), f];
  const keyCols = new Set(p.table.schema.columns.slice(0, p.table.schema.keyColumnCount).map((c) => c.name));
  const moved = density <= KEY_FILTER_FIRST_DENSITY ? p.predicates.filter((q) => !keyCols.has(q.column)) : [];
  if (moved.length === 0) return { ...p, keyFilters };
  const columns = [...p.columns], names = [...p.names], types = [...p.types];
  const exprs: Expr[] = [];
  // Integer / date bounds are checked on the raw Arrow values before decoding (Scan.rawRanges).
  const ranges = new Map<number, { lo: number; hi: number }>();
  const rawExprs: Expr[] = [];
  for (const q of moved) {
    let at = columns.indexOf(q.column);
    if (at < 0) {
      const cs = p.table.schema.columns.find((c) => c.name === q.column);
      assert(cs !== undefined, `predicate column ${q.column} not in the schema of ${p.table.name}`);
      at = columns.length;
      columns.push(q.column); names.push(q.column);
      types.push(cs.type === 'decimal' ? { type: 'decimal', precision: cs.precision ?? 38, scale: cs.scale ?? 0 } : { type: cs.type });
    }
    const e = predicateExpr(q, col(at, types[at]!));
    const b = RAW_RANGE_TYPES.has(types[at]!.type) ? compareBounds(q) : null;
    if (b === null) { exprs.push(e); continue; }
    const r = ranges.get(at);
    ranges.set(at, r === undefined ? b : { lo: Math.max(r.lo, b.lo), hi: Math.min(r.hi, b.hi) });
    rawExprs.push(e);
  }
  const rawRanges: RawRange[] = [...(p.rawRanges ?? []), ...[...ranges].map(([column, b]) => ({ column, lo: b.lo, hi: b.hi }))];
  const rawFilter = andAll([...(p.rawFilter === undefined ? [] : [p.rawFilter]), ...rawExprs]);
  const w = p.columns.length;
  const outputUsed = columns.map((_, i) => (i < w ? p.outputUsed === undefined || p.outputUsed[i] === true : false));
  const scan: LogicalPlan = {
    ...p, columns, names, types, keyFilters, outputUsed,
    predicates: p.predicates.filter((q) => keyCols.has(q.column)),
    filter: andAll([...exprs, ...(p.filter === null ? [] : [p.filter])]),
    ...(rawFilter !== null ? { rawRanges, rawFilter } : {}),
  };
  if (columns.length === w) return scan;
  return { kind: 'Project', input: scan, exprs: p.types.map((t, i) => col(i, t)), names: p.names, types: p.types };
}

/** A scan's whole row condition after its storage predicates: rawFilter (see Scan.rawRanges) and filter. */
function fullScanFilter(scan: Extract<LogicalPlan, { kind: 'Scan' }>): Expr | null {
  return scan.rawFilter === undefined ? scan.filter : andAll([scan.rawFilter, ...(scan.filter === null ? [] : [scan.filter])]);
}

const RAW_RANGE_TYPES: ReadonlySet<string> = new Set(['int8', 'int16', 'int32', 'date']);

/** A compare predicate with an integer literal as inclusive integer bounds; null for anything else. */
function compareBounds(q: ColumnPredicate): { lo: number; hi: number } | null {
  if (q.kind !== 'compare' || typeof q.value !== 'number' || !Number.isSafeInteger(q.value)) return null;
  const v = q.value;
  switch (q.op) {
    case '=': return { lo: v, hi: v };
    case '<': return { lo: -Infinity, hi: v - 1 };
    case '<=': return { lo: -Infinity, hi: v };
    case '>': return { lo: v + 1, hi: Infinity };
    case '>=': return { lo: v, hi: Infinity };
  }
}

/**
 * Narrows sel (null: every row of the batch) to the rows whose raw values lie within every
 * range (NULLs never do); null when some range column is not one plain offset-0 8/16/32-bit
 * array (the caller then evaluates Scan.rawFilter on decoded columns).
 */
function rawRangeSelection(ranges: readonly RawRange[], batch: { getChildAt(i: number): { data: readonly ArrowData[] } | null; numRows: number }, sel: Int32Array | null): Int32Array | null {
  let cur = sel;
  for (const r of ranges) {
    const child = batch.getChildAt(r.column);
    if (child === null || child.data.length !== 1) return null;
    const d = child.data[0]!;
    if (d.offset !== 0 || !(d.values instanceof Int32Array || d.values instanceof Int16Array || d.values instanceof Int8Array)) return null;
    const v = d.values;
    const bm = d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
    // Values are 32-bit integers: clamp the bounds to that domain, then one unsigned compare.
    const lo = Math.max(r.lo, -(2 ** 31)), hi = Math.min(r.hi, 2 ** 31 - 1);
    const m = cur === null ? batch.numRows : cur.length;
    const out = new Int32Array(lo > hi ? 0 : m);
    let k = 0;
    if (lo <= hi) {
      const span = hi - lo;
      if (cur === null) {
        for (let i = 0; i < m; i++) if ((v[i]! - lo) >>> 0 <= span) out[k++] = i;
      } else {
        for (let j = 0; j < m; j++) { const i = cur[j]!; if ((v[i]! - lo) >>> 0 <= span) out[k++] = i; }
      }
      if (bm !== null) {
        let k2 = 0;
        for (let j = 0; j < k; j++) { const i = out[j]!; if (((bm[i >> 3]! >> (i & 7)) & 1) !== 0) out[k2++] = i; }
        k = k2;
      }
    }
    cur = out.subarray(0, k);
  }
  return cur;
}

/**
 * Rows of one storage batch whose runtime key filters pass (null: all rows). Filters on a column
 * that is not one plain offset-0 int8/16/32 array are skipped (they are only an optimization).
 */
function keyFilterSelection(filters: readonly KeyFilter[], batch: { getChildAt(i: number): { data: readonly ArrowData[] } | null; numRows: number }): Int32Array | null {
  let sel: Int32Array | null = null;
  let m = batch.numRows;
  for (const f of filters) {
    const child = batch.getChildAt(f.column);
    if (child === null || child.data.length !== 1) continue;
    const d = child.data[0]!;
    if (d.offset !== 0 || !(d.values instanceof Int32Array || d.values instanceof Int16Array || d.values instanceof Int8Array)) continue;
    const v = d.values;
    const bm = d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
    const bits = f.bits, min = f.min, range = f.range;
    assert(Number.isInteger(min) && min >= -(2 ** 31) && min < 2 ** 31 && range >= 0 && range <= 2 ** 27, `key filter over 32-bit keys with range <= 2^27; found min ${min}, range ${range}`);
    // Keys and min are 8/16/32-bit integers, so v - min lies in (-2^32, 2^32) and >>> 0 maps
    // every negative difference above range (<= 2^27): one unsigned compare per row.
    let out = 0;
    if (sel === null) {
      // The first filter writes into a scratch array reused by every batch (this function is
      // synchronous); the selection returned is a copy of the kept part only.
      if (keySelScratch.length < m) keySelScratch = new Int32Array(Math.max(m, 65536));
      sel = keySelScratch;
      for (let i = 0; i < m; i++) {
        const x = (v[i]! - min) >>> 0;
        if (x <= range && (bits[x >>> 5]! & (1 << (x & 31))) !== 0) sel[out++] = i;
      }
    } else {
      for (let k = 0; k < m; k++) {
        const i = sel[k]!;
        const x = (v[i]! - min) >>> 0;
        if (x <= range && (bits[x >>> 5]! & (1 << (x & 31))) !== 0) sel[out++] = i;
      }
    }
    if (bm !== null) {
      let o2 = 0;
      for (let k = 0; k < out; k++) { const i = sel[k]!; if (((bm[i >> 3]! >> (i & 7)) & 1) !== 0) sel[o2++] = i; }
      out = o2;
    }
    m = out;
  }
  return sel === null ? null : sel.slice(0, m);
}

let keySelScratch = new Int32Array(0);

/** p with the key restriction (`column IN values` or a key bitmap) added to the scan its output column col comes from unchanged; null when there is none. */
function withKeyPredicate(p: LogicalPlan, col: number, r: KeyRestriction): LogicalPlan | null {
  switch (p.kind) {
    case 'Scan': {
      const name = p.columns[col];
      if (name === undefined || p.limit !== null) return null;
      const c = p.table.schema.columns.find((x) => x.name === name);
      if (c === undefined || !SMALL_INT_TYPES.has(c.type)) return null;
      if (r.kind === 'bits') return scanWithKeyFilter(p, { ...r.filter, column: col }, r.density);
      const values = r.values;
      // Keys outside the column's range cannot match (and storage would reject them as values).
      const bound = c.type === 'int8' ? 0x80 : c.type === 'int16' ? 0x8000 : 0x80000000;
      const inRange = values.filter((v) => v >= -bound && v < bound);
      if (inRange.length === 0) return null;
      return { ...p, predicates: [...p.predicates, { kind: 'in', column: name, values: inRange }] };
    }
    case 'Filter': {
      const input = withKeyPredicate(p.input, col, r);
      return input === null ? null : { ...p, input };
    }
    case 'Project': {
      const e = p.exprs[col];
      if (e === undefined || e.kind !== 'col') return null;
      const input = withKeyPredicate(p.input, e.index, r);
      return input === null ? null : { ...p, input };
    }
    case 'Join': {
      const lw = p.left.types.length;
      if (col < lw && (p.joinType === 'inner' || p.joinType === 'semi' || p.joinType === 'anti' || p.joinType === 'left')) {
        const left = withKeyPredicate(p.left, col, r);
        return left === null ? null : { ...p, left };
      }
      if (col >= lw && p.joinType === 'inner') {
        const right = withKeyPredicate(p.right, col - lw, r);
        return right === null ? null : { ...p, right };
      }
      return null;
    }
    default: return null;
  }
}

/** Rows the build side processes: an aggregate's input when reduction can filter it (below), else its output. */
function buildWork(plan: Extract<LogicalPlan, { kind: 'Join' }>): number {
  const g = groupedBuild(plan);
  return g !== null ? estimateRows(g.agg.input) : estimateRows(plan.right);
}

/**
 * When a join's build side is an Aggregate (optionally under a Project) whose every join key is
 * one of its group columns, unchanged: the aggregate, the Project, and the group expressions
 * (over the aggregate's input) in join-key order.
 */
function groupedBuild(plan: Extract<LogicalPlan, { kind: 'Join' }>): {
  agg: Extract<LogicalPlan, { kind: 'Aggregate' }>; groupExprs: Expr[]; project: Extract<LogicalPlan, { kind: 'Project' }> | null;
} | null {
  let r = plan.right;
  let project: Extract<LogicalPlan, { kind: 'Project' }> | null = null;
  if (r.kind === 'Project') { project = r; r = r.input; }
  if (r.kind !== 'Aggregate' || r.groups.length === 0) return null;
  const agg = r;
  const groupExprs: Expr[] = [];
  for (const k of plan.rightKeys) {
    if (k.kind !== 'col') return null;
    let idx = k.index;
    if (project !== null) {
      const e = project.exprs[idx];
      if (e === undefined || e.kind !== 'col') return null;
      idx = e.index;
    }
    const g = agg.groups[idx];
    if (g === undefined) return null;
    groupExprs.push(g);
  }
  return { agg, groupExprs, project };
}

/** A join's output columns for pairs (pl[k], pr[k]); columns no one reads (plan.emit) are placeholders. */
function joinOutput(plan: Extract<LogicalPlan, { kind: 'Join' }>, left: readonly Vector[], right: readonly Vector[], pl: Int32Array, pr: Int32Array): Vector[] {
  const emit = plan.emit;
  const lw = left.length;
  const out: Vector[] = [];
  for (let c = 0; c < lw; c++) out.push(emit === undefined || emit[c] === true ? gather(left[c]!, pl) : placeholder(left[c]!, pl.length));
  for (let c = 0; c < right.length; c++) out.push(emit === undefined || emit[lw + c] === true ? gather(right[c]!, pr) : placeholder(right[c]!, pr.length));
  return out;
}

/** A column of n rows no operator reads (zeros / empty values, all valid). */
function placeholder(v: Vector, n: number): Vector {
  if (v.kind === 'num') return { kind: 'num', type: v.type, values: new Float64Array(n), valid: null };
  if (v.kind === 'str') return { kind: 'str', type: v.type, values: new Array<string>(n).fill(''), valid: null };
  return { kind: 'bin', type: v.type, values: new Array<Uint8Array>(n).fill(new Uint8Array(0)), valid: null };
}

async function* oneChunk(c: Chunk): AsyncGenerator<Chunk> {
  if (c.length > 0) yield c;
}

/**
 * Semi-join reduction of a grouped build side (an Aggregate by the join keys, under an optional
 * Project): only groups whose key occurs among the (collected) probe rows can match, so the
 * aggregate's input is restricted by the probe keys (a scan restriction on the raw key column
 * when the key is one integer column, and a hash check of every row) before it is aggregated.
 */
async function collectGroupedMatching(plan: Extract<LogicalPlan, { kind: 'Join' }>, grouped: NonNullable<ReturnType<typeof groupedBuild>>, probe: Chunk, ctx: ExecContext): Promise<Chunk> {
  if (probe.length === 0) return concatChunks([], plan.right.types);
  const probeKeys = plan.leftKeys.map((k) => evalExpr(k, probe, ctx.subs));
  const enc: JoinKeyEncoder = DirectKeyEncoder.tryBuild(probeKeys, probe.length) ?? new KeyEncoder(probeKeys.length, false);
  const codes = enc.encode(probeKeys, probe.length, true);
  const present = new NumMap(probe.length);
  for (let i = 0; i < probe.length; i++) if (!Number.isNaN(codes[i]!)) present.set(codes[i]!, 1);
  const keep = (keys: readonly Vector[], n: number): Int32Array => {
    const bc = enc.encode(keys, n, false);
    const sel = new Int32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const k = bc[i]!;
      if (!Number.isNaN(k) && present.get(k) >= 0) sel[m++] = i;
    }
    return sel.subarray(0, m);
  };
  const { agg, groupExprs, project } = grouped;
  let input = agg.input;
  const pk = probeKeys[0]!, key = groupExprs[0]!;
  if (probeKeys.length === 1 && pk.kind === 'num' && SMALL_INT_TYPES.has(plan.leftKeys[0]!.type.type) && key.kind === 'col' && SMALL_INT_TYPES.has(key.type.type)) {
    const r = keyRestriction(pk, probe.length, estimateRows(input));
    input = (r === null ? null : withKeyPredicate(input, key.index, r)) ?? input;
  }
  await resolveSubqueries([...agg.groups, ...agg.aggs.map((a) => a.arg)], ctx);
  if (project !== null) await resolveSubqueries(project.exprs, ctx);
  const h = new HashAggregator(agg.groups, agg.aggs, (b) => account(ctx, b));
  for await (const c of run(input, ctx)) {
    const sel = keep(groupExprs.map((g) => evalExpr(g, c, ctx.subs)), c.length);
    if (sel.length === 0) continue;
    h.add(sel.length === c.length ? c : gatherChunk(c, sel), ctx.subs);
  }
  const out = h.finish();
  if (out.length === 0) return concatChunks([], plan.right.types);
  return project === null ? out : { columns: project.exprs.map((e) => evalExpr(e, out, ctx.subs)), length: out.length };
}

function emptyOf(t: SqlType): Vector {
  const k = vectorKindOf(t.type);
  return k === 'num' ? { kind: 'num', type: t, values: new Float64Array(0), valid: null }
    : k === 'str' ? { kind: 'str', type: t, values: [], valid: null } : { kind: 'bin', type: t, values: [], valid: null };
}

// ---------- sort and window ----------

type Comparator = (a: number, b: number) => number;

function vectorComparator(v: Vector, desc: boolean): Comparator {
  const valid = v.valid;
  const sign = desc ? -1 : 1;
  // MySQL: NULLs sort first ascending, last descending.
  const nullCmp = (a: number, b: number): number | null => {
    if (valid === null) return null;
    const av = valid[a] === 1, bv = valid[b] === 1;
    if (av && bv) return null;
    if (!av && !bv) return 0;
    return (av ? 1 : -1) * sign;
  };
  if (v.kind === 'num') {
    const x = v.values;
    const ex = v.exact;
    if (ex !== undefined) {
      // Equal doubles beyond 2^53 may still differ: break the tie on the exact values.
      return (a, b) => nullCmp(a, b) ?? (x[a]! < x[b]! ? -sign : x[a]! > x[b]! ? sign
        : ex[a] === undefined && ex[b] === undefined ? 0 : (() => { const p = bigAt(v, a), q = bigAt(v, b); return p < q ? -sign : p > q ? sign : 0; })());
    }
    return (a, b) => nullCmp(a, b) ?? (x[a]! < x[b]! ? -sign : x[a]! > x[b]! ? sign : 0);
  }
  if (v.kind === 'str') {
    const x = v.values;
    return (a, b) => nullCmp(a, b) ?? (x[a]! < x[b]! ? -sign : x[a]! > x[b]! ? sign : 0);
  }
  const x = v.values;
  return (a, b) => nullCmp(a, b) ?? Buffer.compare(x[a]!, x[b]!) * sign;
}

/** Rows sorted per run between event-loop turns; longer inputs are sorted in runs and merged. */
const SORT_RUN = 65536;

async function sortIndices(c: Chunk, keys: readonly SortKey[], ctx: ExecContext): Promise<Int32Array> {
  const cmps = keys.map((k) => vectorComparator(evalExpr(k.expr, c, ctx.subs), k.desc));
  const cmp = (a: number, b: number): number => {
    for (const f of cmps) { const r = f(a, b); if (r !== 0) return r; }
    return a - b;
  };
  const n = c.length;
  let src = new Int32Array(n);
  for (let s = 0; s < n; s += SORT_RUN) {
    const e = Math.min(n, s + SORT_RUN);
    const part = new Array<number>(e - s);
    for (let i = s; i < e; i++) part[i - s] = i;
    part.sort(cmp);
    for (let i = s; i < e; i++) src[i] = part[i - s]!;
    if (e < n) await breathe(ctx);
  }
  // Bottom-up merge of the sorted runs (cmp is a total order, so the result is deterministic).
  let dst = new Int32Array(n);
  for (let w = SORT_RUN; w < n; w *= 2) {
    let work = 0;
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = Math.min(n, lo + w), hi = Math.min(n, lo + 2 * w);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = cmp(src[i]!, src[j]!) <= 0 ? src[i++]! : src[j++]!;
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
      work += hi - lo;
      if (work >= SORT_RUN) { work = 0; await breathe(ctx); }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

function computeWindow(w: WindowCall, c: Chunk, ctx: ExecContext): Vector {
  const n = c.length;
  const parts = w.partitionBy.map((e) => evalExpr(e, c, ctx.subs));
  const orders = w.orderBy.map((k) => evalExpr(k.expr, c, ctx.subs));
  const partCmps = parts.map((v) => vectorComparator(v, false));
  const orderCmps = orders.map((v, i) => vectorComparator(v, w.orderBy[i]!.desc));
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => {
    for (const f of partCmps) { const r = f(a, b); if (r !== 0) return r; }
    for (const f of orderCmps) { const r = f(a, b); if (r !== 0) return r; }
    return a - b;
  });
  const samePart = (a: number, b: number): boolean => partCmps.every((f) => f(a, b) === 0);
  const peers = (a: number, b: number): boolean => orderCmps.every((f) => f(a, b) === 0);
  const out = new Float64Array(n);
  const valid = new Uint8Array(n).fill(1);
  const arg = w.arg === null ? null : evalExpr(w.arg, c, ctx.subs);
  if (w.fn === 'first_value' || w.fn === 'last_value') {
    // Default frame: partition start .. last peer of the current row.
    const src: number[] = new Array<number>(n);
    let s0 = 0;
    while (s0 < n) {
      let e0 = s0 + 1;
      while (e0 < n && samePart(idx[s0]!, idx[e0]!)) e0++;
      for (let p = s0; p < e0;) {
        let q = p + 1;
        while (q < e0 && peers(idx[p]!, idx[q]!)) q++;
        for (let r = p; r < q; r++) src[idx[r]!] = w.fn === 'first_value' ? idx[s0]! : idx[q - 1]!;
        p = q;
      }
      s0 = e0;
    }
    return gather(arg!, Int32Array.from(src));
  }
  if ((w.fn === 'lag' || w.fn === 'lead') && arg !== null && arg.kind !== 'num') {
    const vals: unknown[] = new Array(n).fill(arg.kind === 'str' ? '' : new Uint8Array(0));
    const off = w.offset ?? 1;
    for (let p = 0; p < n; p++) {
      const q: number = w.fn === 'lag' ? p - off : p + off;
      const i = idx[p]!;
      if (q < 0 || q >= n || !samePart(idx[q]!, i)) { valid[i] = 0; continue; }
      const j = idx[q]!;
      if (arg.valid !== null && arg.valid[j] !== 1) { valid[i] = 0; continue; }
      vals[i] = arg.values[j];
    }
    return arg.kind === 'str' ? { kind: 'str', type: w.type, values: vals as string[], valid } : { kind: 'bin', type: w.type, values: vals as Uint8Array[], valid };
  }
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && samePart(idx[start]!, idx[end]!)) end++;
    // one partition: idx[start..end)
    if (w.frame !== undefined) {
      computeFramed(w, idx, start, end, arg as NumVector | null, out, valid);
      start = end;
      continue;
    }
    let rank = 0, dense = 0;
    let acc = 0, cnt = 0, mm = NaN;
    for (let p = start; p < end;) {
      let q = p + 1;
      while (q < end && peers(idx[p]!, idx[q]!)) q++;
      if (w.orderBy.length === 0) q = end;
      dense++;
      rank = p - start + 1;
      // aggregates over rows up to the last peer (RANGE UNBOUNDED PRECEDING .. CURRENT ROW)
      for (let r = p; r < q; r++) {
        const i = idx[r]!;
        if (arg !== null && arg.kind === 'num' && (arg.valid === null || arg.valid[i] === 1)) {
          const x = arg.values[i]!;
          acc += x; cnt++;
          if (Number.isNaN(mm) || (w.fn === 'min' ? x < mm : x > mm)) mm = x;
        } else if (w.fn === 'count_star') cnt++;
      }
      for (let r = p; r < q; r++) {
        const i = idx[r]!;
        switch (w.fn) {
          case 'row_number': out[i] = r - start + 1; break;
          case 'rank': out[i] = rank; break;
          case 'dense_rank': out[i] = dense; break;
          case 'sum': if (cnt === 0) valid[i] = 0; else out[i] = acc; break;
          case 'count': case 'count_star': out[i] = cnt; break;
          case 'avg':
            if (cnt === 0) valid[i] = 0;
            else out[i] = w.type.type === 'decimal' ? decimalAvg(acc, undefined, cnt, scaleOf(w.type) - scaleOf(w.arg!.type)).value : acc / cnt;
            break;
          case 'min': case 'max': if (cnt === 0) valid[i] = 0; else out[i] = mm; break;
          case 'lag': case 'lead': {
            const off = w.offset ?? 1;
            const t: number = w.fn === 'lag' ? r - off : r + off;
            if (t < start || t >= end) { valid[i] = 0; break; }
            const j = idx[t]!;
            const a = arg as NumVector;
            if (a.valid !== null && a.valid[j] !== 1) valid[i] = 0;
            else out[i] = a.values[j]!;
            break;
          }
        }
      }
      p = q;
    }
    start = end;
  }
  return { kind: 'num', type: w.type, values: out, valid };
}

/** Aggregates over an explicit ROWS frame for one partition (prefix sums; min/max by scan). */
function computeFramed(w: WindowCall, idx: readonly number[], start: number, end: number, arg: NumVector | null, out: Float64Array, valid: Uint8Array): void {
  const len = end - start;
  const ps = new Float64Array(len + 1);
  const pc = new Float64Array(len + 1);
  for (let p = 0; p < len; p++) {
    const i = idx[start + p]!;
    const ok = arg !== null && (arg.valid === null || arg.valid[i] === 1);
    ps[p + 1] = ps[p]! + (ok ? arg.values[i]! : 0);
    pc[p + 1] = pc[p]! + (ok ? 1 : 0);
  }
  const f = w.frame!;
  for (let p = 0; p < len; p++) {
    const i = idx[start + p]!;
    const lo = Math.max(0, p + f.start);
    const hi = Math.min(len - 1, p + f.end);
    if (hi < lo) {
      if (w.fn === 'count' || w.fn === 'count_star') out[i] = 0;
      else valid[i] = 0;
      continue;
    }
    const cnt = pc[hi + 1]! - pc[lo]!;
    switch (w.fn) {
      case 'count_star': out[i] = hi - lo + 1; break;
      case 'count': out[i] = cnt; break;
      case 'sum': if (cnt === 0) valid[i] = 0; else out[i] = ps[hi + 1]! - ps[lo]!; break;
      case 'avg': {
        if (cnt === 0) { valid[i] = 0; break; }
        const sum = ps[hi + 1]! - ps[lo]!;
        out[i] = w.type.type === 'decimal' ? decimalAvg(sum, undefined, cnt, scaleOf(w.type) - scaleOf(w.arg!.type)).value : sum / cnt;
        break;
      }
      case 'min': case 'max': {
        let m = NaN;
        for (let q = lo; q <= hi; q++) {
          const j = idx[start + q]!;
          if (arg === null || (arg.valid !== null && arg.valid[j] !== 1)) continue;
          const x = arg.values[j]!;
          if (Number.isNaN(m) || (w.fn === 'min' ? x < m : x > m)) m = x;
        }
        if (Number.isNaN(m)) valid[i] = 0; else out[i] = m;
        break;
      }
      default: break;
    }
  }
}
