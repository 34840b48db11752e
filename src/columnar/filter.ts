import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { Column, Scalar } from './column.js';
import { getBit, words32 } from './column.js';
import { filterLoop, filterLoop2 } from './codegen.js';
import type { PredName, ReadKind } from './codegen.js';
import { decimalBigIntAt, pow10n } from './decimal.js';
import { bytesOf, compareClass, doubleOf, exactOf, floorAtScale, mismatch } from './scalar-convert.js';
import type { Exact } from './scalar-convert.js';
import type { Selection, TriSelection } from './selection.js';
import { nullRowsOf, selectionDifference, selectionUnion } from './selection.js';

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

const EMPTY = new Int32Array(0);

function rowsIn(col: Column, sel: Selection | null): number {
  return sel === null ? col.length : sel.length;
}

function readKind(col: Column): ReadKind {
  switch (col.type) {
    case 'bool': return 'bit';
    case 'int64': case 'timestamp': return 'i64';
    case 'decimal': return 'dec';
    default: return 'num';
  }
}

function arrayTag(col: Column): string {
  return col.values === null ? 'none' : col.values.constructor.name;
}

/** Scale of the integer domain a column's raw values live in (decimal unscaled: its scale). */
function intScale(col: Column): number {
  return col.type === 'decimal' ? col.scale : 0;
}

function bigAt(col: Column, w: Int32Array, r: number): bigint {
  if (col.type === 'decimal') return decimalBigIntAt(w, r);
  return (col.values as BigInt64Array)[r] as bigint;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function testCmp(c: number, op: CompareOp): boolean {
  switch (op) {
    case '=': return c === 0;
    case '<>': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

/** Runs a generated loop over the selection; returns the TRUE rows. */
function runLoop(col: Column, sel: Selection | null, pred: PredName, c0: number, c1: number, slow: ((r: number) => boolean) | null): Selection {
  const n = rowsIn(col, sel);
  const out = new Int32Array(n);
  const kind = readKind(col);
  const w = kind === 'i64' || kind === 'dec' ? words32(col) : null;
  const v = kind === 'num' || kind === 'bit' ? (col.values as unknown as ArrayLike<number>) : null;
  const k = filterLoop(kind, arrayTag(col), pred)(v, w, col.validity, sel, n, out, c0, c1, slow);
  return out.subarray(0, k);
}

/**
 * Integer-domain compare (int*, date, timestamp, bool, decimal unscaled) against an exact
 * constant: normalizes a constant that falls between two integers so the loop compares integers.
 */
function compareIntDomain(col: Column, op: CompareOp, e: Exact, sel: Selection | null): Selection {
  const { floor, exact } = floorAtScale(e, intScale(col));
  let pred: PredName = op;
  if (!exact) {
    // The constant lies strictly between floor and floor+1.
    if (op === '=') pred = 'false';
    else if (op === '<>') pred = 'true';
    else if (op === '<' || op === '<=') pred = '<=';
    else pred = '>';
  }
  const c0 = Number(floor);
  const finalOp: CompareOp | null = pred === 'true' || pred === 'false' ? null : (pred as CompareOp);
  const slowNeeded = col.type === 'int64' || col.type === 'timestamp' || col.type === 'decimal';
  let slow: ((r: number) => boolean) | null = null;
  if (slowNeeded) {
    const w = words32(col);
    slow = finalOp === null ? () => pred === 'true' : (r: number) => testCmp(cmpBig(bigAt(col, w, r), floor), finalOp);
  }
  return runLoop(col, sel, pred, c0, 0, slow);
}

/** Byte-wise (unsigned) comparison of a[as, ae) and b[bs, be). */
export function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const la = ae - as, lb = be - bs;
  const m = la < lb ? la : lb;
  for (let i = 0; i < m; i++) {
    const d = (a[as + i] as number) - (b[bs + i] as number);
    if (d !== 0) return d;
  }
  return la - lb;
}

function compareBytesConst(col: Column, op: CompareOp, c: Uint8Array, sel: Selection | null): Selection {
  const n = rowsIn(col, sel);
  const out = new Int32Array(n);
  const o = col.offsets as Int32Array;
  const d = col.data as Uint8Array;
  const valid = col.validity;
  const cl = c.length;
  let k = 0;
  if (op === '=' || op === '<>') {
    const want = op === '=';
    for (let i = 0; i < n; i++) {
      const r = sel === null ? i : (sel[i] as number);
      if (valid !== null && ((valid[r >> 3] as number) & (1 << (r & 7))) === 0) continue;
      const s = o[r] as number;
      let eq = (o[r + 1] as number) - s === cl;
      if (eq) for (let j = 0; j < cl; j++) if (d[s + j] !== c[j]) { eq = false; break; }
      if (eq === want) out[k++] = r;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const r = sel === null ? i : (sel[i] as number);
      if (valid !== null && ((valid[r >> 3] as number) & (1 << (r & 7))) === 0) continue;
      if (testCmp(compareBytes(d, o[r] as number, o[r + 1] as number, c, 0, cl), op)) out[k++] = r;
    }
  }
  return out.subarray(0, k);
}

/**
 * Rows of `sel` where `col op constant` is TRUE. NULL rows and a NULL constant never match.
 * Integer-like columns and decimals compare exactly against number/bigint/decimal constants;
 * float columns compare as doubles; strings byte-wise (UTF-8 order).
 */
export function filterCompare(col: Column, op: CompareOp, c: Scalar, sel: Selection | null): Selection {
  if (c.value === null) return EMPTY;
  const cls = compareClass(col.type);
  if (cls === 'bytes') {
    const b = bytesOf(c);
    return b === null ? EMPTY : compareBytesConst(col, op, b, sel);
  }
  if (compareClass(c.type) === 'bytes' && typeof c.value !== 'string') throw mismatch('compare', col.type, c.type);
  if (cls === 'float') {
    const x = doubleOf(c);
    if (Number.isNaN(x)) return EMPTY;
    return runLoop(col, sel, op, x, 0, null);
  }
  const e = exactOf(c);
  if (e === null) {
    const x = doubleOf(c);
    if (Number.isNaN(x)) return EMPTY;
    // +-Infinity against an integer domain.
    const below = x > 0; // every finite value is below +Inf
    const r = op === '<>' || ((op === '<' || op === '<=') && below) || ((op === '>' || op === '>=') && !below);
    return runLoop(col, sel, r ? 'true' : 'false', 0, 0, () => r);
  }
  return compareIntDomain(col, op, e, sel);
}

/**
 * Rows where lo <= col <= hi (negate: col < lo OR col > hi). NULL column values and NULL
 * bounds do not match (a NULL bound makes BETWEEN unknown; NOT BETWEEN with one NULL bound can
 * still be TRUE via the other side, as in SQL).
 */
export function filterBetween(col: Column, lo: Scalar, hi: Scalar, sel: Selection | null, negate = false): Selection {
  const cls = compareClass(col.type);
  if (lo.value === null || hi.value === null) {
    if (!negate) return EMPTY;
    if (lo.value === null && hi.value === null) return EMPTY;
    return lo.value === null ? filterCompare(col, '>', hi, sel) : filterCompare(col, '<', lo, sel);
  }
  if (cls === 'bytes') {
    const a = filterCompare(col, negate ? '<' : '>=', lo, sel);
    if (!negate) return filterCompare(col, '<=', hi, a);
    return selectionUnion(a, filterCompare(col, '>', hi, sel));
  }
  if (cls === 'float') {
    return runLoop(col, sel, negate ? 'notBetween' : 'between', doubleOf(lo), doubleOf(hi), null);
  }
  const el = exactOf(lo), eh = exactOf(hi);
  if (el === null || eh === null) {
    const a = filterCompare(col, negate ? '<' : '>=', lo, sel);
    if (!negate) return filterCompare(col, '<=', hi, a);
    return selectionUnion(a, filterCompare(col, '>', hi, sel));
  }
  const s = intScale(col);
  const fl = floorAtScale(el, s), fh = floorAtScale(eh, s);
  // col >= lo  <=>  col >= ceil(lo);  col <= hi  <=>  col <= floor(hi)
  const loI = fl.exact ? fl.floor : fl.floor + 1n;
  const hiI = fh.floor;
  let slow: ((r: number) => boolean) | null = null;
  if (col.type === 'int64' || col.type === 'timestamp' || col.type === 'decimal') {
    const w = words32(col);
    slow = (r: number) => {
      const x = bigAt(col, w, r);
      const inside = x >= loI && x <= hiI;
      return inside !== negate;
    };
  }
  return runLoop(col, sel, negate ? 'notBetween' : 'between', Number(loI), Number(hiI), slow);
}

/**
 * Rows inside a range with chosen bound inclusivity, in one pass: `lo <(=) col <(=) hi`
 * (e.g. shipdate >= DATE '1994-01-01' AND shipdate < DATE '1995-01-01'). NULLs never match.
 */
export function filterRange(col: Column, lo: Scalar, loInclusive: boolean, hi: Scalar, hiInclusive: boolean, sel: Selection | null): Selection {
  if (lo.value === null || hi.value === null) return EMPTY;
  const cls = compareClass(col.type);
  if (cls === 'float' || (cls === 'int' && col.type !== 'int64' && col.type !== 'timestamp' && exactOf(lo) !== null && exactOf(hi) !== null
      && floorAtScale(exactOf(lo) as Exact, 0).exact && floorAtScale(exactOf(hi) as Exact, 0).exact)) {
    const pred: PredName = loInclusive ? (hiInclusive ? 'between' : 'geLt') : (hiInclusive ? 'gtLe' : 'gtLt');
    return runLoop(col, sel, pred, doubleOf(lo), doubleOf(hi), null);
  }
  return filterCompare(col, hiInclusive ? '<=' : '<', hi, filterCompare(col, loInclusive ? '>=' : '>', lo, sel));
}

/** IS NULL (negate: IS NOT NULL). */
export function filterIsNull(col: Column, sel: Selection | null, negate = false): Selection {
  const n = rowsIn(col, sel);
  const valid = col.validity;
  if (valid === null) {
    if (!negate) return EMPTY;
    if (sel !== null) return sel;
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  const out = new Int32Array(n);
  let k = 0;
  const want = negate ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const r = sel === null ? i : (sel[i] as number);
    out[k] = r;
    k += (((valid[r >> 3] as number) >> (r & 7)) & 1) === want ? 1 : 0;
  }
  return out.subarray(0, k);
}

/** Rows where a bool column is TRUE (negate: FALSE). NULL rows never match. */
export function filterTrue(col: Column, sel: Selection | null, negate = false): Selection {
  assert(col.type === 'bool', `filterTrue expects a bool column, got ${col.type}`);
  return runLoop(col, sel, '=', negate ? 0 : 1, 0, null);
}

/** Three-valued `col op constant`. */
export function compareTri(col: Column, op: CompareOp, c: Scalar, sel: Selection | null): TriSelection {
  if (c.value === null) return { trueRows: EMPTY, nullRows: allOf(col, sel) };
  return { trueRows: filterCompare(col, op, c, sel), nullRows: filterIsNull(col, sel) };
}

function allOf(col: Column, sel: Selection | null): Selection {
  if (sel !== null) return sel;
  const a = new Int32Array(col.length);
  for (let i = 0; i < a.length; i++) a[i] = i;
  return a;
}

// ---------------------------------------------------------------------------------------------
// Column vs column

function numArray(col: Column): ArrayLike<number> | null {
  switch (col.type) {
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
      return col.values as unknown as ArrayLike<number>;
    default: return null;
  }
}

/** Exact comparison of row ra of a with row rb of b (both non-NULL). Not for hot loops of plain numbers. */
export function compareValuesAt(a: Column, ra: number, b: Column, rb: number): number {
  const ca = compareClass(a.type), cb = compareClass(b.type);
  if (ca === 'bytes' || cb === 'bytes') {
    if (ca !== cb) throw mismatch('compare', a.type, b.type);
    const oa = a.offsets as Int32Array, ob = b.offsets as Int32Array;
    return compareBytes(a.data as Uint8Array, oa[ra] as number, oa[ra + 1] as number, b.data as Uint8Array, ob[rb] as number, ob[rb + 1] as number);
  }
  if (ca === 'float' || cb === 'float') {
    const x = numberAt(a, ra), y = numberAt(b, rb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const xa = exactAt(a, ra), xb = exactAt(b, rb);
  const s = Math.max(xa.scale, xb.scale);
  return cmpBig(xa.num * pow10n(s - xa.scale), xb.num * pow10n(s - xb.scale));
}

/** Exact value of an integer-domain or decimal row. */
export function exactAt(col: Column, r: number): Exact {
  switch (col.type) {
    case 'bool': return { num: getBit(col.values as Uint8Array, r) ? 1n : 0n, scale: 0 };
    case 'int64': case 'timestamp': return { num: (col.values as BigInt64Array)[r] as bigint, scale: 0 };
    case 'decimal': return { num: decimalBigIntAt(words32(col), r), scale: col.scale };
    case 'float': case 'double': throw new SaigaError('InvalidArgument', `exactAt: ${col.type} has no exact value`);
    case 'string': case 'binary': throw new SaigaError('InvalidArgument', `exactAt: ${col.type} is not numeric`);
    default: return { num: BigInt((col.values as Int32Array)[r] as number), scale: 0 };
  }
}

/** Row value as a double (decimals divided by 10^scale). */
export function numberAt(col: Column, r: number): number {
  switch (col.type) {
    case 'bool': return getBit(col.values as Uint8Array, r) ? 1 : 0;
    case 'int64': case 'timestamp': return Number((col.values as BigInt64Array)[r] as bigint);
    case 'decimal': {
      const v = decimalBigIntAt(words32(col), r);
      return doubleOf({ type: 'decimal', value: v, precision: col.precision, scale: col.scale });
    }
    case 'string': case 'binary': throw new SaigaError('InvalidArgument', `numberAt: ${col.type} is not numeric`);
    default: return (col.values as Float64Array)[r] as number;
  }
}

/** Rows of `sel` where `a op b` is TRUE (both non-NULL). Columns must have the same length. */
export function filterCompareColumns(a: Column, op: CompareOp, b: Column, sel: Selection | null): Selection {
  assert(a.length === b.length, `filterCompareColumns: lengths ${a.length} and ${b.length} differ`);
  const n = rowsIn(a, sel);
  const na = numArray(a), nb = numArray(b);
  const out = new Int32Array(n);
  if (na !== null && nb !== null) {
    const k = filterLoop2(arrayTag(a), arrayTag(b), op)(na, nb, a.validity, b.validity, sel, n, out);
    return out.subarray(0, k);
  }
  const ca = compareClass(a.type), cb = compareClass(b.type);
  if ((ca === 'bytes') !== (cb === 'bytes')) throw mismatch('compare', a.type, b.type);
  let k = 0;
  const va = a.validity, vb = b.validity;
  for (let i = 0; i < n; i++) {
    const r = sel === null ? i : (sel[i] as number);
    if (va !== null && ((va[r >> 3] as number) & (1 << (r & 7))) === 0) continue;
    if (vb !== null && ((vb[r >> 3] as number) & (1 << (r & 7))) === 0) continue;
    if (testCmp(compareValuesAt(a, r, b, r), op)) out[k++] = r;
  }
  return out.subarray(0, k);
}

/** Three-valued column-vs-column compare. */
export function compareColumnsTri(a: Column, op: CompareOp, b: Column, sel: Selection | null): TriSelection {
  return { trueRows: filterCompareColumns(a, op, b, sel), nullRows: nullRowsOf([a, b], sel, a.length) };
}

// ---------------------------------------------------------------------------------------------
// IN lists

/** FNV-1a over bytes[s, e). */
export function hashBytes(d: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ (d[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * Three-valued `col IN (values)`: TRUE where a value matches; NULL where col is NULL, or where
 * nothing matches and the list holds a NULL; FALSE otherwise.
 */
export function inListTri(col: Column, values: readonly Scalar[], sel: Selection | null): TriSelection {
  const n = rowsIn(col, sel);
  const listHasNull = values.some((v) => v.value === null);
  const out = new Int32Array(n);
  const nulls = new Int32Array(n);
  let k = 0, kn = 0;
  const valid = col.validity;
  const cls = compareClass(col.type);
  let match: (r: number) => boolean;
  if (cls === 'bytes') {
    const buckets = new Map<number, Uint8Array[]>();
    for (const s of values) {
      const b = bytesOf(s);
      if (b === null) continue;
      const h = hashBytes(b, 0, b.length);
      const list = buckets.get(h);
      if (list === undefined) buckets.set(h, [b]); else list.push(b);
    }
    const o = col.offsets as Int32Array, d = col.data as Uint8Array;
    match = (r) => {
      const s = o[r] as number, e = o[r + 1] as number;
      const list = buckets.get(hashBytes(d, s, e));
      if (list === undefined) return false;
      for (const b of list) if (compareBytes(d, s, e, b, 0, b.length) === 0) return true;
      return false;
    };
  } else if (cls === 'float') {
    const set = new Set<number>();
    for (const s of values) { const x = doubleOf(s); if (!Number.isNaN(x)) set.add(x); }
    const arr = col.values as Float64Array;
    match = (r) => set.has(arr[r] as number);
  } else {
    // Integer domain: keep only constants exactly representable at the column's scale.
    const scale = intScale(col);
    const safe = new Set<number>();
    const big = new Set<bigint>();
    for (const s of values) {
      const e = exactOf(s);
      if (e === null) continue;
      const f = floorAtScale(e, scale);
      if (!f.exact) continue;
      big.add(f.floor);
      if (f.floor >= -9007199254740991n && f.floor <= 9007199254740991n) safe.add(Number(f.floor));
    }
    if (col.type === 'int64' || col.type === 'timestamp' || col.type === 'decimal') {
      const w = words32(col);
      match = (r) => big.has(bigAt(col, w, r));
      if (col.type !== 'decimal') {
        const vals = col.values as BigInt64Array;
        match = (r) => big.has(vals[r] as bigint);
      }
    } else if (col.type === 'bool') {
      const bits = col.values as Uint8Array;
      match = (r) => safe.has(((bits[r >> 3] as number) >> (r & 7)) & 1);
    } else {
      const arr = col.values as Int32Array;
      match = (r) => safe.has(arr[r] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    const r = sel === null ? i : (sel[i] as number);
    if (valid !== null && ((valid[r >> 3] as number) & (1 << (r & 7))) === 0) { nulls[kn++] = r; continue; }
    if (match(r)) out[k++] = r;
    else if (listHasNull) nulls[kn++] = r;
  }
  return { trueRows: out.subarray(0, k), nullRows: nulls.subarray(0, kn) };
}

/** Rows where `col IN (values)` is TRUE (negate: where `col NOT IN (values)` is TRUE). */
export function filterIn(col: Column, values: readonly Scalar[], sel: Selection | null, negate = false): Selection {
  const t = inListTri(col, values, sel);
  if (!negate) return t.trueRows;
  const all = allOf(col, sel);
  return selectionDifference(selectionDifference(all, t.trueRows), t.nullRows);
}

// ---------------------------------------------------------------------------------------------
// LIKE

export interface LikeOptions {
  /** ASCII case folding (A-Z = a-z); MySQL's default collations are case-insensitive. */
  readonly ignoreCase?: boolean;
  /** Escape character, default backslash. */
  readonly escape?: string;
}

type Token = { kind: 'lit'; bytes: Uint8Array } | { kind: 'any' } | { kind: 'one' };

function tokenize(pattern: string, escape: string): Token[] {
  const toks: Token[] = [];
  let lit = '';
  const flush = (): void => { if (lit !== '') { toks.push({ kind: 'lit', bytes: new TextEncoder().encode(lit) }); lit = ''; } };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === escape && i + 1 < pattern.length) { lit += pattern[++i] as string; continue; }
    if (ch === '%') { flush(); if (toks[toks.length - 1]?.kind !== 'any') toks.push({ kind: 'any' }); continue; }
    if (ch === '_') { flush(); toks.push({ kind: 'one' }); continue; }
    lit += ch;
  }
  flush();
  return toks;
}

function lowerAscii(b: number): number {
  return b >= 65 && b <= 90 ? b + 32 : b;
}

function bytesEqAt(d: Uint8Array, at: number, lit: Uint8Array, ic: boolean): boolean {
  if (ic) { for (let j = 0; j < lit.length; j++) if (lowerAscii(d[at + j] as number) !== lowerAscii(lit[j] as number)) return false; }
  else { for (let j = 0; j < lit.length; j++) if (d[at + j] !== lit[j]) return false; }
  return true;
}

function indexOfBytes(d: Uint8Array, from: number, end: number, lit: Uint8Array, ic: boolean): number {
  const last = end - lit.length;
  if (lit.length === 0) return from;
  const first = ic ? lowerAscii(lit[0] as number) : (lit[0] as number);
  for (let i = from; i <= last; i++) {
    const b = ic ? lowerAscii(d[i] as number) : (d[i] as number);
    if (b === first && bytesEqAt(d, i, lit, ic)) return i;
  }
  return -1;
}

/** Length in bytes of the UTF-8 character starting with byte b. */
function utf8Len(b: number): number {
  return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

/** General matcher: tokens against d[s, e), backtracking over '%' (one resume point, greedy-free). */
function matchTokens(toks: readonly Token[], d: Uint8Array, s: number, e: number, ic: boolean): boolean {
  let ti = 0, p = s;
  let starTi = -1, starP = 0;
  while (true) {
    if (ti < toks.length) {
      const t = toks[ti] as Token;
      if (t.kind === 'any') { starTi = ti++; starP = p; continue; }
      if (t.kind === 'one' && p < e) { p += utf8Len(d[p] as number); ti++; continue; }
      if (t.kind === 'lit' && p + t.bytes.length <= e && bytesEqAt(d, p, t.bytes, ic)) { p += t.bytes.length; ti++; continue; }
    } else if (p === e) {
      return true;
    }
    if (starTi < 0 || starP >= e) return false;
    starP += utf8Len(d[starP] as number);
    p = starP;
    ti = starTi + 1;
  }
}

/** Rows where `col LIKE pattern` is TRUE (negate: NOT LIKE). NULL rows never match. */
export function filterLike(col: Column, pattern: string, sel: Selection | null, negate = false, opts: LikeOptions = {}): Selection {
  if (compareClass(col.type) !== 'bytes') throw new SaigaError('InvalidArgument', `LIKE expects a string column, found ${col.type}`);
  const ic = opts.ignoreCase === true;
  const toks = tokenize(pattern, opts.escape ?? '\\');
  const n = rowsIn(col, sel);
  const out = new Int32Array(n);
  const o = col.offsets as Int32Array, d = col.data as Uint8Array, valid = col.validity;
  // Fast shapes: 'lit', 'lit%', '%lit', '%lit%'.
  const t0 = toks[0], t1 = toks[1], t2 = toks[2];
  let test: (s: number, e: number) => boolean;
  if (toks.length === 0) test = (s, e) => s === e;
  else if (toks.length === 1 && t0?.kind === 'lit') { const l = t0.bytes; test = (s, e) => e - s === l.length && bytesEqAt(d, s, l, ic); }
  else if (toks.length === 1 && t0?.kind === 'any') test = () => true;
  else if (toks.length === 2 && t0?.kind === 'lit' && t1?.kind === 'any') { const l = t0.bytes; test = (s, e) => e - s >= l.length && bytesEqAt(d, s, l, ic); }
  else if (toks.length === 2 && t0?.kind === 'any' && t1?.kind === 'lit') { const l = t1.bytes; test = (s, e) => e - s >= l.length && bytesEqAt(d, e - l.length, l, ic); }
  else if (toks.length === 3 && t0?.kind === 'any' && t1?.kind === 'lit' && t2?.kind === 'any') { const l = t1.bytes; test = (s, e) => indexOfBytes(d, s, e, l, ic) >= 0; }
  else test = (s, e) => matchTokens(toks, d, s, e, ic);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const r = sel === null ? i : (sel[i] as number);
    if (valid !== null && ((valid[r >> 3] as number) & (1 << (r & 7))) === 0) continue;
    if (test(o[r] as number, o[r + 1] as number) !== negate) out[k++] = r;
  }
  return out.subarray(0, k);
}
