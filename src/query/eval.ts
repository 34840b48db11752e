import { assert, unreachable } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { addMonths, civilFromDays, formatDate, formatTimestamp, parseDate, parseTimestamp, US_PER_DAY } from './dates.js';
import { BOOL, isFloatType, isIntType, scaleOf, type Expr, type LitValue } from './expr.js';
import { bigAt, canonBig, exactAt, MAX_EXACT, numVec, putBig, type Chunk, type NumVector, type SqlType, type StrVector, type Vector } from './vector.js';
import { decimalFromText } from './coerce-value.js';

/**
 * Vectorized expression evaluation: every node produces a whole column for the chunk with one
 * typed-array loop. Types were settled by the binder (it inserts casts), so kernels only read
 * the representation.
 */

const POW10: number[] = [];
for (let i = 0; i <= 38; i++) POW10.push(10 ** i);
export function pow10(n: number): number {
  return POW10[n] ?? 10 ** n;
}

function andValid(a: Uint8Array | null, b: Uint8Array | null, n: number): Uint8Array | null {
  if (a === null) return b;
  if (b === null) return a;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! & b[i]!;
  return out;
}

export function constVector(value: LitValue, type: SqlType, n: number): Vector {
  if (value === null) {
    const valid = new Uint8Array(n);
    if (type.type === 'string') return { kind: 'str', type, values: new Array<string>(n).fill(''), valid };
    if (type.type === 'binary') return { kind: 'bin', type, values: new Array<Uint8Array>(n).fill(new Uint8Array(0)), valid };
    return { kind: 'num', type, values: new Float64Array(n), valid };
  }
  if (typeof value === 'string') {
    if (type.type === 'string') return { kind: 'str', type, values: new Array<string>(n).fill(value), valid: null };
    return castVector({ kind: 'str', type: { type: 'string' }, values: new Array<string>(n).fill(value), valid: null }, type);
  }
  if (value instanceof Uint8Array) return { kind: 'bin', type, values: new Array<Uint8Array>(n).fill(value), valid: null };
  if (type.type === 'string') return { kind: 'str', type, values: new Array<string>(n).fill(String(value)), valid: null };
  if (typeof value === 'bigint') {
    const c = canonBig(value);
    if (typeof c === 'number') return { kind: 'num', type, values: new Float64Array(n).fill(c), valid: null };
    return { kind: 'num', type, values: new Float64Array(n).fill(Number(value)), valid: null, exact: new Array<bigint | undefined>(n).fill(value) };
  }
  return { kind: 'num', type, values: new Float64Array(n).fill(value), valid: null };
}

function num(v: Vector, what: string): NumVector {
  assert(v.kind === 'num', `numeric vector expected for ${what}, got ${v.kind} (${v.type.type})`);
  return v;
}
function str(v: Vector, what: string): StrVector {
  if (v.kind === 'str') return v;
  return castVector(v, { type: 'string' }) as StrVector;
}

/** Text of an exact integer-like value (BIGINT, or DECIMAL unscaled at t's scale). */
export function formatBig(x: bigint, t: SqlType): string {
  const s = t.type === 'decimal' ? t.scale ?? 0 : 0;
  if (s === 0) return x.toString();
  const neg = x < 0n;
  const a = (neg ? -x : x).toString().padStart(s + 1, '0');
  return `${neg ? '-' : ''}${a.slice(0, a.length - s)}.${a.slice(a.length - s)}`;
}

export function formatNumber(x: number, t: SqlType): string {
  switch (t.type) {
    case 'decimal': {
      const s = t.scale ?? 0;
      if (s === 0) return String(Math.round(x));
      const neg = x < 0;
      const a = Math.abs(Math.round(x));
      const p = pow10(s);
      const ip = Math.floor(a / p);
      const fp = a - ip * p;
      return `${neg ? '-' : ''}${ip}.${String(fp).padStart(s, '0')}`;
    }
    case 'date': return formatDate(x);
    case 'timestamp': return formatTimestamp(x);
    case 'bool': return x !== 0 ? '1' : '0';
    case 'float': return String(Math.fround(x));
    default: return String(x);
  }
}

function parseNumber(s: string, t: SqlType): number {
  switch (t.type) {
    case 'date': return parseDate(s);
    case 'timestamp': return parseTimestamp(s);
    case 'decimal': return Math.round(Number(s) * pow10(t.scale ?? 0));
    case 'bool': return Number(s) !== 0 ? 1 : 0;
    default: {
      const x = Number(s.trim());
      if (Number.isNaN(x)) {
        // MySQL converts a string's numeric prefix ('12abc' -> 12, 'abc' -> 0).
        const m = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(s);
        return m === null ? 0 : Number(m[0]);
      }
      return isIntType(t.type) ? Math.trunc(x) : x;
    }
  }
}

/** Converts a vector to another SQL type. */
export function castVector(v: Vector, to: SqlType): Vector {
  const n = v.values.length;
  if (to.type === 'string') {
    if (v.kind === 'str') return { ...v, type: to };
    if (v.kind === 'bin') return { kind: 'str', type: to, values: v.values.map((b) => Buffer.from(b).toString('utf8')), valid: v.valid };
    const out: string[] = new Array<string>(n);
    const vals = v.values;
    for (let i = 0; i < n; i++) out[i] = formatNumber(vals[i]!, v.type);
    if (v.exact !== undefined) for (let i = 0; i < n; i++) { const e = v.exact[i]; if (e !== undefined) out[i] = formatBig(e, v.type); }
    return { kind: 'str', type: to, values: out, valid: v.valid };
  }
  if (to.type === 'binary') {
    if (v.kind === 'bin') return { ...v, type: to };
    const s = str(v, 'cast');
    return { kind: 'bin', type: to, values: s.values.map((x) => new Uint8Array(Buffer.from(x, 'utf8'))), valid: s.valid };
  }
  if (v.kind === 'str') {
    const out = new Float64Array(n);
    let valid = v.valid;
    let exact: (bigint | undefined)[] | undefined;
    const intLike = to.type === 'decimal' || to.type === 'int64';
    for (let i = 0; i < n; i++) {
      if (valid !== null && valid[i] !== 1) continue;
      try {
        const x = parseNumber(v.values[i]!, to);
        out[i] = x;
        if (intLike && (x > MAX_EXACT || x < -MAX_EXACT)) {
          const big = bigFromText(v.values[i]!, to);
          if (big !== null) exact = putBig(out, exact, i, big);
        }
      } catch (e) {
        if (!(e instanceof SaigaError)) throw e;
        if (valid === null) valid = new Uint8Array(n).fill(1);
        else if (valid === v.valid) valid = valid.slice();
        valid[i] = 0;
      }
    }
    return numVec(to, out, valid, exact);
  }
  if (v.kind === 'bin') throw new SaigaError('NotSupported', `CAST of BINARY to ${to.type} is not supported`);
  const from = v.type;
  const src = v.values;
  if (from.type === to.type && scaleOf(from) === scaleOf(to)) return { ...v, type: to };
  if ((to.type === 'decimal' || to.type === 'int64') && (from.type === 'decimal' || isIntType(from.type))) return castExact(v, to);
  const out = new Float64Array(n);
  const fs = scaleOf(from);
  const ts = scaleOf(to);
  if (to.type === 'decimal') {
    if (from.type === 'decimal' || isIntType(from.type)) {
      if (ts >= fs) { const f = pow10(ts - fs); for (let i = 0; i < n; i++) out[i] = src[i]! * f; }
      else { const f = pow10(fs - ts); for (let i = 0; i < n; i++) out[i] = roundHalfAway(src[i]! / f); }
    } else {
      const f = pow10(ts);
      for (let i = 0; i < n; i++) out[i] = roundHalfAway(src[i]! * f);
    }
  } else if (isFloatType(to.type)) {
    const f = pow10(fs);
    if (to.type === 'float') for (let i = 0; i < n; i++) out[i] = Math.fround(src[i]! / f);
    else for (let i = 0; i < n; i++) out[i] = src[i]! / f;
  } else if (isIntType(to.type)) {
    if (to.type === 'bool') for (let i = 0; i < n; i++) out[i] = src[i]! !== 0 ? 1 : 0;
    else if (from.type === 'decimal') { const f = pow10(fs); for (let i = 0; i < n; i++) out[i] = roundHalfAway(src[i]! / f); }
    else if (from.type === 'date') for (let i = 0; i < n; i++) { const [y, m, d] = civilFromDays(src[i]!); out[i] = y * 10000 + m * 100 + d; }
    else for (let i = 0; i < n; i++) out[i] = roundHalfAway(src[i]!);
  } else if (to.type === 'date') {
    if (from.type === 'timestamp') for (let i = 0; i < n; i++) out[i] = Math.floor(src[i]! / US_PER_DAY);
    else throw new SaigaError('NotSupported', `CAST of ${from.type} to DATE is not supported`);
  } else if (to.type === 'timestamp') {
    if (from.type === 'date') for (let i = 0; i < n; i++) out[i] = src[i]! * US_PER_DAY;
    else throw new SaigaError('NotSupported', `CAST of ${from.type} to TIMESTAMP is not supported`);
  } else {
    return unreachable(to.type as never, 'cast target');
  }
  return { kind: 'num', type: to, values: out, valid: v.valid };
}

/** Integer-like -> DECIMAL / BIGINT with exact rows where the value leaves the double range. */
function castExact(v: NumVector, to: SqlType): NumVector {
  const n = v.values.length;
  const src = v.values;
  const fs = scaleOf(v.type);
  const ts = scaleOf(to);
  const out = new Float64Array(n);
  let exact: (bigint | undefined)[] | undefined;
  const ex = v.exact;
  if (ts >= fs) {
    const f = pow10(ts - fs);
    const fb = 10n ** BigInt(ts - fs);
    for (let i = 0; i < n; i++) {
      const x = src[i]! * f;
      out[i] = x;
      if ((ex !== undefined && ex[i] !== undefined) || x > MAX_EXACT || x < -MAX_EXACT) exact = putBig(out, exact, i, bigAt(v, i) * fb);
    }
  } else {
    const f = pow10(fs - ts);
    const fb = 10n ** BigInt(fs - ts);
    for (let i = 0; i < n; i++) {
      if (ex !== undefined && ex[i] !== undefined) exact = putBig(out, exact, i, divRoundBig(ex[i]!, fb));
      else out[i] = roundHalfAway(src[i]! / f);
    }
  }
  if (to.type === 'int64' && exact !== undefined) checkInt64(exact);
  return numVec(to, out, v.valid, exact);
}

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

function checkInt64(exact: readonly (bigint | undefined)[]): void {
  for (const e of exact) {
    if (e !== undefined && (e > I64_MAX || e < I64_MIN)) throw new SaigaError('InvalidArgument', `BIGINT value is out of range: expected a value within [-2^63, 2^63), found ${e}`);
  }
}

/** a / b rounded half away from zero. */
export function divRoundBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a - q * b;
  const ar = r < 0n ? -r : r;
  const ab = b < 0n ? -b : b;
  if (ar * 2n >= ab) return (a < 0n) !== (b < 0n) ? q - 1n : q + 1n;
  return q;
}

function bigFromText(s: string, t: SqlType): bigint | null {
  const txt = s.trim();
  if (t.type === 'decimal') {
    try { return decimalFromText(txt, t.scale ?? 0, 'value'); } catch { return null; }
  }
  const m = /^[-+]?\d+/.exec(txt);
  return m === null ? null : BigInt(m[0]);
}

export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * AVG of a DECIMAL, exactly: the unscaled sum (`sum`, or `big` when it is beyond 2^53) times
 * 10^shift, divided by count and rounded half away from zero (MySQL's rounding). Integer
 * arithmetic in doubles while every step is a safe integer, bigints otherwise; a result beyond
 * 2^53 also comes back as its bigint.
 */
export function decimalAvg(sum: number, big: bigint | undefined, count: number, shift: number): { value: number; big: bigint | undefined } {
  const num = sum * pow10(shift);
  if (big === undefined && Number.isSafeInteger(num)) {
    const a = Math.abs(num);
    let q = Math.floor(a / count);
    let r = a - q * count;
    if (r < 0) { q--; r += count; } else if (r >= count) { q++; r -= count; }
    if (2 * r >= count) q++;
    return { value: num < 0 ? -q : q, big: undefined };
  }
  const n = (big ?? BigInt(Math.round(sum))) * 10n ** BigInt(shift);
  const c = BigInt(count);
  const a = n < 0n ? -n : n;
  let q = a / c;
  if (2n * (a - q * c) >= c) q++;
  const res = n < 0n ? -q : q;
  const value = Number(res);
  return { value, big: Number.isSafeInteger(value) ? undefined : res };
}

const likeCache = new Map<string, (s: string) => boolean>();

export function likeMatcher(pattern: string): (s: string) => boolean {
  let m = likeCache.get(pattern);
  if (m !== undefined) return m;
  const simple = /^[^%_\\]*$/;
  const inner = pattern.slice(1, -1);
  if (simple.test(pattern)) m = (s) => s === pattern;
  else if (pattern.endsWith('%') && simple.test(pattern.slice(0, -1))) { const p = pattern.slice(0, -1); m = (s) => s.startsWith(p); }
  else if (pattern.startsWith('%') && simple.test(pattern.slice(1))) { const p = pattern.slice(1); m = (s) => s.endsWith(p); }
  else if (pattern.length >= 2 && pattern.startsWith('%') && pattern.endsWith('%') && simple.test(inner)) m = (s) => s.includes(inner);
  else if (/^[^_\\]*$/.test(pattern)) {
    // Only % wildcards ('%special%requests%', TPC-H Q13): literal parts found left to right
    // with indexOf (leftmost matches are optimal), no backtracking regex.
    const parts = pattern.split('%');
    const first = parts[0]!, last = parts[parts.length - 1]!;
    const mid = parts.slice(1, -1).filter((x) => x.length > 0);
    m = (s) => {
      if (!s.startsWith(first)) return false;
      let pos = first.length;
      for (const x of mid) {
        const k = s.indexOf(x, pos);
        if (k < 0) return false;
        pos = k + x.length;
      }
      return s.length - last.length >= pos && s.endsWith(last);
    };
  } else {
    let re = '^';
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i]!;
      if (ch === '\\' && i + 1 < pattern.length) { re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
      if (ch === '%') re += '[\\s\\S]*';
      else if (ch === '_') re += '[\\s\\S]';
      else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    const rx = new RegExp(`${re}$`);
    m = (s) => rx.test(s);
  }
  if (likeCache.size > 1000) likeCache.clear();
  likeCache.set(pattern, m);
  return m;
}

/** Value sets of IN (subquery), keyed like scalar values. */
export interface SubquerySet {
  readonly values: Set<unknown>;
  readonly hasNull: boolean;
  readonly size: number;
}

/** Scalar-subquery values (and IN sets), filled by the executor before a plan's expressions run. */
export type SubqueryValues = Map<object, LitValue | SubquerySet>;

export function evalExpr(e: Expr, c: Chunk, subs?: SubqueryValues): Vector {
  const n = c.length;
  switch (e.kind) {
    case 'col': {
      const v = c.columns[e.index];
      assert(v !== undefined, `column #${e.index} of ${c.columns.length}`);
      return v;
    }
    case 'outer': throw new SaigaError('NotSupported', 'this correlated subquery form is not supported (could not decorrelate)');
    case 'lit': return constVector(e.value, e.type, n);
    case 'subquery': {
      assert(subs !== undefined && subs.has(e.plan), 'scalar subquery evaluated before execution');
      return constVector(subs.get(e.plan) as LitValue, e.type, n);
    }
    case 'inSubquery': {
      assert(subs !== undefined && subs.has(e.plan), 'IN subquery evaluated before execution');
      const set = subs.get(e.plan) as SubquerySet;
      const v = evalExpr(e.arg, c, subs);
      const out = new Float64Array(n);
      const valid = new Uint8Array(n);
      const vals = v.values as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) {
        if (set.size === 0) { out[i] = e.negated ? 1 : 0; valid[i] = 1; continue; }
        if (v.valid !== null && v.valid[i] !== 1) continue;
        const x = v.kind === 'bin' ? Buffer.from(vals[i] as Uint8Array).toString('latin1') : v.kind === 'num' ? exactAt(v, i) : vals[i];
        if (set.values.has(x)) { out[i] = e.negated ? 0 : 1; valid[i] = 1; }
        else if (!set.hasNull) { out[i] = e.negated ? 1 : 0; valid[i] = 1; }
      }
      return { kind: 'num', type: BOOL, values: out, valid };
    }
    case 'cast': return castVector(evalExpr(e.arg, c, subs), e.type);
    case 'and': case 'or': {
      const isAnd = e.kind === 'and';
      let vals = new Float64Array(n).fill(isAnd ? 1 : 0);
      let valid: Uint8Array | null = null;
      for (const a of e.args) {
        const v = num(evalExpr(a, c, subs), 'AND/OR');
        const av = v.values;
        const avd = v.valid;
        const out = new Float64Array(n);
        let outValid: Uint8Array | null = null;
        if (valid === null && avd === null) {
          if (isAnd) for (let i = 0; i < n; i++) out[i] = vals[i]! !== 0 && av[i]! !== 0 ? 1 : 0;
          else for (let i = 0; i < n; i++) out[i] = vals[i]! !== 0 || av[i]! !== 0 ? 1 : 0;
        } else {
          outValid = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const lv = valid === null ? 1 : valid[i]!;
            const rv = avd === null ? 1 : avd[i]!;
            const l = vals[i]! !== 0;
            const r = av[i]! !== 0;
            if (isAnd) {
              if ((lv && !l) || (rv && !r)) { out[i] = 0; outValid[i] = 1; }
              else if (lv && rv) { out[i] = 1; outValid[i] = 1; }
            } else {
              if ((lv && l) || (rv && r)) { out[i] = 1; outValid[i] = 1; }
              else if (lv && rv) { out[i] = 0; outValid[i] = 1; }
            }
          }
        }
        vals = out;
        valid = outValid;
      }
      return { kind: 'num', type: BOOL, values: vals, valid };
    }
    case 'not': {
      const v = num(evalExpr(e.arg, c, subs), 'NOT');
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = v.values[i]! !== 0 ? 0 : 1;
      return { kind: 'num', type: BOOL, values: out, valid: v.valid };
    }
    case 'isNull': {
      const v = evalExpr(e.arg, c, subs);
      const out = new Float64Array(n);
      const want = e.negated ? 1 : 0;
      if (v.valid === null) out.fill(want);
      else for (let i = 0; i < n; i++) out[i] = v.valid[i] === 1 ? want : 1 - want;
      return { kind: 'num', type: BOOL, values: out, valid: null };
    }
    case 'in': return evalIn(e, c, subs);
    case 'like': {
      const v = str(evalExpr(e.arg, c, subs), 'LIKE');
      const out = new Float64Array(n);
      const neg = e.negated;
      if (e.pattern.kind === 'lit' && typeof e.pattern.value === 'string') {
        const m = likeMatcher(e.pattern.value);
        const vals = v.values;
        for (let i = 0; i < n; i++) out[i] = m(vals[i]!) !== neg ? 1 : 0;
        return { kind: 'num', type: BOOL, values: out, valid: v.valid };
      }
      const p = str(evalExpr(e.pattern, c, subs), 'LIKE pattern');
      for (let i = 0; i < n; i++) out[i] = likeMatcher(p.values[i]!)(v.values[i]!) !== neg ? 1 : 0;
      return { kind: 'num', type: BOOL, values: out, valid: andValid(v.valid, p.valid, n) };
    }
    case 'case': return evalCase(e, c, subs);
    case 'call': return evalCall(e, c, subs);
  }
}

function evalIn(e: Extract<Expr, { kind: 'in' }>, c: Chunk, subs?: SubqueryValues): Vector {
  const n = c.length;
  const v = evalExpr(e.arg, c, subs);
  const out = new Float64Array(n);
  const valid = new Uint8Array(n);
  const allLit = e.list.every((x) => x.kind === 'lit');
  if (allLit) {
    let listHasNull = false;
    const set = new Set<unknown>();
    for (const x of e.list) {
      const lv = (x as Extract<Expr, { kind: 'lit' }>).value;
      if (lv === null) listHasNull = true;
      else set.add(typeof lv === 'bigint' ? canonBig(lv) : lv);
    }
    const vals = v.values as ArrayLike<unknown>;
    const vv = v.valid;
    const nv = v.kind === 'num' && v.exact !== undefined ? v : null;
    for (let i = 0; i < n; i++) {
      if (vv !== null && vv[i] !== 1) continue;
      const found = set.has(nv !== null ? exactAt(nv, i) : vals[i]);
      if (found) { out[i] = e.negated ? 0 : 1; valid[i] = 1; }
      else if (!listHasNull) { out[i] = e.negated ? 1 : 0; valid[i] = 1; }
    }
    return { kind: 'num', type: BOOL, values: out, valid };
  }
  const items = e.list.map((x) => evalExpr(x, c, subs));
  for (let i = 0; i < n; i++) {
    if (v.valid !== null && v.valid[i] !== 1) continue;
    let found = false;
    let sawNull = false;
    for (const it of items) {
      if (it.valid !== null && it.valid[i] !== 1) { sawNull = true; continue; }
      if (it.kind === 'num' && v.kind === 'num' ? exactAt(it, i) === exactAt(v, i) : it.values[i] === v.values[i]) { found = true; break; }
    }
    if (found) { out[i] = e.negated ? 0 : 1; valid[i] = 1; }
    else if (!sawNull) { out[i] = e.negated ? 1 : 0; valid[i] = 1; }
  }
  return { kind: 'num', type: BOOL, values: out, valid };
}

function evalCase(e: Extract<Expr, { kind: 'case' }>, c: Chunk, subs?: SubqueryValues): Vector {
  const n = c.length;
  const decided = new Int32Array(n).fill(-1);
  const conds = e.whens.map(([w]) => num(evalExpr(w, c, subs), 'CASE WHEN'));
  for (let k = 0; k < conds.length; k++) {
    const cv = conds[k]!;
    for (let i = 0; i < n; i++) {
      if (decided[i] === -1 && cv.values[i]! !== 0 && (cv.valid === null || cv.valid[i] === 1)) decided[i] = k;
    }
  }
  const results = e.whens.map(([, r]) => evalExpr(r, c, subs));
  const other = e.otherwise === null ? null : evalExpr(e.otherwise, c, subs);
  const valid = new Uint8Array(n);
  if (e.type.type === 'string' || e.type.type === 'binary') {
    const rs = results.map((r) => (e.type.type === 'string' ? str(r, 'CASE') : r));
    const os = other === null ? null : e.type.type === 'string' ? str(other, 'CASE') : other;
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = decided[i]!;
      const src = k >= 0 ? rs[k]! : os;
      if (src === null || (src.valid !== null && src.valid[i] !== 1)) { out[i] = e.type.type === 'string' ? '' : new Uint8Array(0); continue; }
      out[i] = src.values[i];
      valid[i] = 1;
    }
    return e.type.type === 'string'
      ? { kind: 'str', type: e.type, values: out as string[], valid }
      : { kind: 'bin', type: e.type, values: out as Uint8Array[], valid };
  }
  const out = new Float64Array(n);
  const rn = results.map((r) => num(r, 'CASE'));
  const on = other === null ? null : num(other, 'CASE');
  let exact: (bigint | undefined)[] | undefined;
  for (let i = 0; i < n; i++) {
    const k = decided[i]!;
    const src = k >= 0 ? rn[k]! : on;
    if (src === null || (src.valid !== null && src.valid[i] !== 1)) continue;
    out[i] = src.values[i]!;
    const b = src.exact?.[i];
    if (b !== undefined) (exact ??= new Array<bigint | undefined>(n))[i] = b;
    valid[i] = 1;
  }
  return numVec(e.type, out, valid, exact);
}

type Cmp = '=' | '<>' | '<' | '<=' | '>' | '>=';

function compareVectors(op: Cmp, a: Vector, b: Vector, n: number): NumVector {
  const out = new Float64Array(n);
  const valid = andValid(a.valid, b.valid, n);
  if (a.kind === 'num' && b.kind === 'num') {
    const x = a.values, y = b.values;
    switch (op) {
      case '=': for (let i = 0; i < n; i++) out[i] = x[i] === y[i] ? 1 : 0; break;
      case '<>': for (let i = 0; i < n; i++) out[i] = x[i] !== y[i] ? 1 : 0; break;
      case '<': for (let i = 0; i < n; i++) out[i] = x[i]! < y[i]! ? 1 : 0; break;
      case '<=': for (let i = 0; i < n; i++) out[i] = x[i]! <= y[i]! ? 1 : 0; break;
      case '>': for (let i = 0; i < n; i++) out[i] = x[i]! > y[i]! ? 1 : 0; break;
      case '>=': for (let i = 0; i < n; i++) out[i] = x[i]! >= y[i]! ? 1 : 0; break;
    }
    if (a.exact !== undefined || b.exact !== undefined) {
      // Rows beyond 2^53 compare their exact values (neighbours share one double).
      const ea = a.exact, eb = b.exact;
      for (let i = 0; i < n; i++) {
        if ((ea === undefined || ea[i] === undefined) && (eb === undefined || eb[i] === undefined)) continue;
        if (!Number.isInteger(x[i]!) || !Number.isInteger(y[i]!)) continue;
        const p = bigAt(a, i), q = bigAt(b, i);
        out[i] = cmpResult(op, p < q ? -1 : p > q ? 1 : 0) ? 1 : 0;
      }
    }
  } else if (a.kind === 'bin' || b.kind === 'bin') {
    const x = a.values as readonly Uint8Array[], y = b.values as readonly Uint8Array[];
    for (let i = 0; i < n; i++) {
      const r = Buffer.compare(x[i]!, y[i]!);
      out[i] = cmpResult(op, r) ? 1 : 0;
    }
  } else {
    const x = str(a, 'comparison').values, y = str(b, 'comparison').values;
    switch (op) {
      case '=': for (let i = 0; i < n; i++) out[i] = x[i] === y[i] ? 1 : 0; break;
      case '<>': for (let i = 0; i < n; i++) out[i] = x[i] !== y[i] ? 1 : 0; break;
      case '<': for (let i = 0; i < n; i++) out[i] = x[i]! < y[i]! ? 1 : 0; break;
      case '<=': for (let i = 0; i < n; i++) out[i] = x[i]! <= y[i]! ? 1 : 0; break;
      case '>': for (let i = 0; i < n; i++) out[i] = x[i]! > y[i]! ? 1 : 0; break;
      case '>=': for (let i = 0; i < n; i++) out[i] = x[i]! >= y[i]! ? 1 : 0; break;
    }
  }
  return { kind: 'num', type: BOOL, values: out, valid };
}

function cmpResult(op: Cmp, r: number): boolean {
  switch (op) {
    case '=': return r === 0;
    case '<>': return r !== 0;
    case '<': return r < 0;
    case '<=': return r <= 0;
    case '>': return r > 0;
    case '>=': return r >= 0;
  }
}

function numResult(type: SqlType, values: Float64Array, valid: Uint8Array | null): NumVector {
  return { kind: 'num', type, values, valid };
}

function evalCall(e: Extract<Expr, { kind: 'call' }>, c: Chunk, subs?: SubqueryValues): Vector {
  const n = c.length;
  const args = e.args.map((a) => evalExpr(a, c, subs));
  const a0 = args[0];
  const a1 = args[1];
  switch (e.fn) {
    case '=': case '<>': case '<': case '<=': case '>': case '>=':
      return compareVectors(e.fn, a0!, a1!, n);
    case '<=>': {
      const r = compareVectors('=', a0!, a1!, n);
      const out = r.values;
      for (let i = 0; i < n; i++) {
        const an = a0!.valid !== null && a0!.valid[i] !== 1;
        const bn = a1!.valid !== null && a1!.valid[i] !== 1;
        if (an || bn) out[i] = an && bn ? 1 : 0;
      }
      return numResult(BOOL, out, null);
    }
    case '+': case '-': case '*': case '/': case '%': case 'div': {
      const x = num(a0!, e.fn).values, y = num(a1!, e.fn).values;
      const out = new Float64Array(n);
      let valid = andValid(a0!.valid, a1!.valid, n);
      const rt = e.type;
      const exact = rt.type === 'decimal' || isIntType(rt.type);
      switch (e.fn) {
        case '+': for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!; break;
        case '-': for (let i = 0; i < n; i++) out[i] = x[i]! - y[i]!; break;
        case '*': for (let i = 0; i < n; i++) out[i] = x[i]! * y[i]!; break;
        case '/': case '%': case 'div': {
          valid = valid === null ? new Uint8Array(n).fill(1) : valid.slice();
          if (e.fn === '/' && exact) {
            const f = pow10(scaleOf(rt) - scaleOf(a0!.type) + scaleOf(a1!.type));
            for (let i = 0; i < n; i++) { if (y[i] === 0) valid[i] = 0; else out[i] = roundHalfAway((x[i]! / y[i]!) * f); }
          } else if (e.fn === '/') {
            for (let i = 0; i < n; i++) { if (y[i] === 0) valid[i] = 0; else out[i] = x[i]! / y[i]!; }
          } else if (e.fn === 'div') {
            const f = pow10(scaleOf(a1!.type) - scaleOf(a0!.type));
            for (let i = 0; i < n; i++) { if (y[i] === 0) valid[i] = 0; else out[i] = Math.trunc((x[i]! / y[i]!) * f); }
          } else {
            for (let i = 0; i < n; i++) { if (y[i] === 0) valid[i] = 0; else out[i] = x[i]! % y[i]!; }
          }
          break;
        }
      }
      if (exact || e.fn === 'div' || e.fn === '%') {
        const ex = exactArith(e.fn, a0 as NumVector, a1 as NumVector, rt, out, valid, n);
        if (ex !== undefined) return numVec(rt, out, valid, ex);
      }
      return numResult(rt, out, valid);
    }
    case 'neg': {
      const v0 = num(a0!, 'unary minus');
      const x = v0.values;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      if (v0.exact !== undefined) return numVec(e.type, out, a0!.valid, v0.exact.map((b) => (b === undefined ? undefined : -b)));
      return numResult(e.type, out, a0!.valid);
    }
    case 'add_days': case 'add_months': case 'add_us': {
      // args: date or timestamp, amount (int)
      const x = num(a0!, e.fn).values, y = num(a1!, e.fn).values;
      const out = new Float64Array(n);
      const isTs = a0!.type.type === 'timestamp';
      if (e.fn === 'add_days') {
        const f = isTs ? US_PER_DAY : 1;
        for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]! * f;
      } else if (e.fn === 'add_us') {
        for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!;
      } else if (isTs) {
        for (let i = 0; i < n; i++) {
          const d = Math.floor(x[i]! / US_PER_DAY);
          out[i] = addMonths(d, y[i]!) * US_PER_DAY + (x[i]! - d * US_PER_DAY);
        }
      } else {
        for (let i = 0; i < n; i++) out[i] = addMonths(x[i]!, y[i]!);
      }
      return numResult(e.type, out, andValid(a0!.valid, a1!.valid, n));
    }
    case 'year': case 'month': case 'day': case 'quarter': case 'dayofweek': case 'dayofyear': case 'hour': case 'minute': case 'second': {
      const x = num(a0!, e.fn).values;
      const isTs = a0!.type.type === 'timestamp';
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const us = isTs ? x[i]! : x[i]! * US_PER_DAY;
        const d = Math.floor(us / US_PER_DAY);
        const rem = us - d * US_PER_DAY;
        switch (e.fn) {
          case 'year': out[i] = civilFromDays(d)[0]; break;
          case 'month': out[i] = civilFromDays(d)[1]; break;
          case 'day': out[i] = civilFromDays(d)[2]; break;
          case 'quarter': out[i] = Math.floor((civilFromDays(d)[1] - 1) / 3) + 1; break;
          case 'dayofweek': out[i] = ((d + 4) % 7 + 7) % 7 + 1; break;
          case 'dayofyear': { const [y] = civilFromDays(d); out[i] = d - parseDate(`${y}-01-01`) + 1; break; }
          case 'hour': out[i] = Math.floor(rem / 3600e6); break;
          case 'minute': out[i] = Math.floor(rem / 60e6) % 60; break;
          case 'second': out[i] = Math.floor(rem / 1e6) % 60; break;
        }
      }
      return numResult(e.type, out, a0!.valid);
    }
    case 'datediff': {
      const x = num(a0!, e.fn).values, y = num(a1!, e.fn).values;
      const out = new Float64Array(n);
      const fx = a0!.type.type === 'timestamp' ? US_PER_DAY : 1;
      const fy = a1!.type.type === 'timestamp' ? US_PER_DAY : 1;
      for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]! / fx) - Math.floor(y[i]! / fy);
      return numResult(e.type, out, andValid(a0!.valid, a1!.valid, n));
    }
    case 'substring': {
      const s = str(a0!, e.fn);
      const p = num(a1!, e.fn).values;
      const len = args[2] === undefined ? null : num(args[2], e.fn).values;
      const out: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = s.values[i]!;
        let start = p[i]!;
        start = start > 0 ? start - 1 : start < 0 ? v.length + start : v.length;
        if (start < 0) start = 0;
        out[i] = len === null ? v.slice(start) : len[i]! <= 0 ? '' : v.slice(start, start + len[i]!);
      }
      let valid = andValid(s.valid, a1!.valid, n);
      if (args[2] !== undefined) valid = andValid(valid, args[2].valid, n);
      return { kind: 'str', type: e.type, values: out, valid };
    }
    case 'upper': case 'lower': case 'trim': case 'ltrim': case 'rtrim': case 'reverse': {
      const s = str(a0!, e.fn);
      const f = e.fn === 'upper' ? (x: string) => x.toUpperCase() : e.fn === 'lower' ? (x: string) => x.toLowerCase()
        : e.fn === 'trim' ? (x: string) => x.trim() : e.fn === 'ltrim' ? (x: string) => x.trimStart()
        : e.fn === 'rtrim' ? (x: string) => x.trimEnd() : (x: string) => [...x].reverse().join('');
      return { kind: 'str', type: e.type, values: s.values.map(f), valid: s.valid };
    }
    case 'length': case 'char_length': {
      const out = new Float64Array(n);
      if (a0!.kind === 'bin') for (let i = 0; i < n; i++) out[i] = a0!.values[i]!.length;
      else {
        const s = str(a0!, e.fn);
        if (e.fn === 'length') for (let i = 0; i < n; i++) out[i] = Buffer.byteLength(s.values[i]!, 'utf8');
        else for (let i = 0; i < n; i++) out[i] = [...s.values[i]!].length;
      }
      return numResult(e.type, out, a0!.valid);
    }
    case 'concat': {
      const ss = args.map((a) => str(a, e.fn));
      const out: string[] = new Array<string>(n);
      let valid: Uint8Array | null = null;
      for (const s of ss) valid = andValid(valid, s.valid, n);
      for (let i = 0; i < n; i++) { let r = ''; for (const s of ss) r += s.values[i]!; out[i] = r; }
      return { kind: 'str', type: e.type, values: out, valid };
    }
    case 'replace': {
      const s = str(a0!, e.fn), f = str(a1!, e.fn), t = str(args[2]!, e.fn);
      const out = s.values.map((x, i) => x.split(f.values[i]!).join(t.values[i]!));
      return { kind: 'str', type: e.type, values: out, valid: andValid(andValid(s.valid, f.valid, n), t.valid, n) };
    }
    case 'left': case 'right': {
      const s = str(a0!, e.fn), k = num(a1!, e.fn).values;
      const out = s.values.map((x, i) => (e.fn === 'left' ? x.slice(0, Math.max(0, k[i]!)) : k[i]! <= 0 ? '' : x.slice(-k[i]!)));
      return { kind: 'str', type: e.type, values: out, valid: andValid(s.valid, a1!.valid, n) };
    }
    case 'lpad': case 'rpad': {
      const s = str(a0!, e.fn), k = num(a1!, e.fn).values, pad = str(args[2]!, e.fn);
      const out: string[] = new Array<string>(n);
      let valid = andValid(andValid(s.valid, a1!.valid, n), pad.valid, n);
      for (let i = 0; i < n; i++) {
        const v = s.values[i]!, len = k[i]!, p = pad.values[i]!;
        if (len < 0 || (p.length === 0 && v.length < len)) { valid = valid === null ? new Uint8Array(n).fill(1) : valid === s.valid ? valid.slice() : valid; valid[i] = 0; out[i] = ''; continue; }
        out[i] = v.length >= len ? v.slice(0, len) : e.fn === 'lpad' ? v.padStart(len, p) : v.padEnd(len, p);
      }
      return { kind: 'str', type: e.type, values: out, valid };
    }
    case 'repeat': {
      const s = str(a0!, e.fn), k = num(a1!, e.fn).values;
      return { kind: 'str', type: e.type, values: s.values.map((v, i) => v.repeat(Math.max(0, Math.min(k[i]!, 1_000_000)))), valid: andValid(s.valid, a1!.valid, n) };
    }
    case 'single_row_check': {
      const cnt = num(a1!, e.fn).values;
      for (let i = 0; i < n; i++) if (cnt[i]! > 1) throw new SaigaError('InvalidArgument', 'subquery returns more than 1 row');
      return a0!;
    }
    case 'locate': {
      // locate(substr, str)
      const sub = str(a0!, e.fn), s = str(a1!, e.fn);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = s.values[i]!.indexOf(sub.values[i]!) + 1;
      return numResult(e.type, out, andValid(sub.valid, s.valid, n));
    }
    case 'abs': case 'floor': case 'ceil': case 'sqrt': case 'exp': case 'ln': case 'log10': case 'sign': {
      const x = num(a0!, e.fn).values;
      const out = new Float64Array(n);
      const p = pow10(scaleOf(a0!.type));
      let valid = a0!.valid;
      switch (e.fn) {
        case 'abs':
          for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
          if ((a0 as NumVector).exact !== undefined) return numVec(e.type, out, valid, (a0 as NumVector).exact!.map((b) => (b === undefined ? undefined : b < 0n ? -b : b)));
          break;
        case 'floor': for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]! / p); break;
        case 'ceil': for (let i = 0; i < n; i++) out[i] = Math.ceil(x[i]! / p); break;
        case 'sign': for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]!); break;
        default: {
          const f = e.fn === 'sqrt' ? Math.sqrt : e.fn === 'exp' ? Math.exp : e.fn === 'ln' ? Math.log : Math.log10;
          valid = valid === null ? new Uint8Array(n).fill(1) : valid.slice();
          for (let i = 0; i < n; i++) { const r = f(x[i]! / p); if (Number.isFinite(r)) out[i] = r; else valid[i] = 0; }
        }
      }
      return numResult(e.type, out, valid);
    }
    case 'round': case 'truncate': {
      const x = num(a0!, e.fn).values;
      const d = a1 === undefined ? 0 : num(a1, e.fn).values[0] ?? 0;
      const out = new Float64Array(n);
      const s = scaleOf(a0!.type);
      const f = e.fn === 'round' ? roundHalfAway : Math.trunc;
      if (e.type.type === 'decimal' || isIntType(e.type.type)) {
        // unscaled at scale s in; out at scale scaleOf(e.type) = max(0, min(d, s))
        if (d >= s) out.set(x);
        else if (d >= 0) { const cut = pow10(s - d); for (let i = 0; i < n; i++) out[i] = f(x[i]! / cut); }
        else { const cut = pow10(s - d), up = pow10(-d); for (let i = 0; i < n; i++) out[i] = f(x[i]! / cut) * up; }
      } else {
        const p = pow10(d);
        for (let i = 0; i < n; i++) out[i] = f(x[i]! * p) / p;
      }
      return numResult(e.type, out, a0!.valid);
    }
    case 'power': {
      const x = num(a0!, e.fn).values, y = num(a1!, e.fn).values;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = x[i]! ** y[i]!;
      return numResult(e.type, out, andValid(a0!.valid, a1!.valid, n));
    }
    case 'coalesce': case 'ifnull': {
      const valid = new Uint8Array(n);
      if (e.type.type === 'string' || e.type.type === 'binary') {
        const out: unknown[] = new Array(n).fill(e.type.type === 'string' ? '' : new Uint8Array(0));
        for (let i = 0; i < n; i++) for (const a of args) if (a.valid === null || a.valid[i] === 1) { out[i] = a.values[i]; valid[i] = 1; break; }
        return e.type.type === 'string' ? { kind: 'str', type: e.type, values: out as string[], valid } : { kind: 'bin', type: e.type, values: out as Uint8Array[], valid };
      }
      const out = new Float64Array(n);
      let exact: (bigint | undefined)[] | undefined;
      for (let i = 0; i < n; i++) {
        for (const a of args) {
          if (a.valid === null || a.valid[i] === 1) {
            out[i] = a.values[i] as number;
            const b = (a as NumVector).exact?.[i];
            if (b !== undefined) (exact ??= new Array<bigint | undefined>(n))[i] = b;
            valid[i] = 1;
            break;
          }
        }
      }
      return numVec(e.type, out, valid, exact);
    }
    case 'nullif': {
      const eq = compareVectors('=', a0!, a1!, n);
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) valid[i] = (a0!.valid === null || a0!.valid[i] === 1) && !(eq.values[i] === 1 && (eq.valid === null || eq.valid[i] === 1)) ? 1 : 0;
      return { ...a0!, valid } as Vector;
    }
    case 'greatest': case 'least': {
      const xs = args.map((a) => num(a, e.fn));
      const out = new Float64Array(n);
      let valid: Uint8Array | null = null;
      for (const a of xs) valid = andValid(valid, a.valid, n);
      let exact: (bigint | undefined)[] | undefined;
      const anyExact = xs.some((x) => x.exact !== undefined);
      for (let i = 0; i < n; i++) {
        if (anyExact && xs.some((x) => x.exact?.[i] !== undefined)) {
          let r = bigAt(xs[0]!, i);
          for (let k = 1; k < xs.length; k++) { const v = bigAt(xs[k]!, i); if (e.fn === 'greatest' ? v > r : v < r) r = v; }
          exact = putBig(out, exact, i, r);
          continue;
        }
        let r = xs[0]!.values[i]!;
        for (let k = 1; k < xs.length; k++) { const v = xs[k]!.values[i]!; r = e.fn === 'greatest' ? Math.max(r, v) : Math.min(r, v); }
        out[i] = r;
      }
      return numVec(e.type, out, valid, exact);
    }
    case 'date_format': {
      const x = num(a0!, e.fn);
      const fmt = str(a1!, e.fn);
      const isTs = a0!.type.type === 'timestamp';
      const out: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const s = isTs ? formatTimestamp(x.values[i]!) : formatDate(x.values[i]!) + ' 00:00:00';
        out[i] = fmt.values[i]!.replace(/%([YmdHisy%])/g, (_, k: string) => {
          switch (k) {
            case 'Y': return s.slice(0, 4);
            case 'y': return s.slice(2, 4);
            case 'm': return s.slice(5, 7);
            case 'd': return s.slice(8, 10);
            case 'H': return s.slice(11, 13);
            case 'i': return s.slice(14, 16);
            case 's': return s.slice(17, 19);
            default: return '%';
          }
        });
      }
      return { kind: 'str', type: e.type, values: out, valid: andValid(x.valid, fmt.valid, n) };
    }
    default:
      throw new SaigaError('NotSupported', `function ${e.fn.toUpperCase()} is not supported`);
  }
}

/**
 * Exact fix-up of integer-like arithmetic: rows with an exact input, or whose double result left
 * the 2^53 range, are recomputed with bigints. Returns the exact sidecar, or undefined if none.
 */
function exactArith(fn: string, a: NumVector, b: NumVector, rt: SqlType, out: Float64Array, valid: Uint8Array | null, n: number): (bigint | undefined)[] | undefined {
  if (!(rt.type === 'decimal' || isIntType(rt.type)) || a.kind !== 'num' || b.kind !== 'num') return undefined;
  if (!(isIntType(a.type.type) || a.type.type === 'decimal') || !(isIntType(b.type.type) || b.type.type === 'decimal')) return undefined;
  const ea = a.exact, eb = b.exact;
  let exact: (bigint | undefined)[] | undefined;
  for (let i = 0; i < n; i++) {
    const r = out[i]!;
    if (!(r > MAX_EXACT || r < -MAX_EXACT) && (ea === undefined || ea[i] === undefined) && (eb === undefined || eb[i] === undefined)) continue;
    if (valid !== null && valid[i] !== 1) continue;
    const x = bigAt(a, i), y = bigAt(b, i);
    let z: bigint;
    switch (fn) {
      case '+': z = x + y; break;
      case '-': z = x - y; break;
      case '*': z = x * y; break;
      case '%': z = x % y; break;
      case 'div': {
        const k = scaleOf(b.type) - scaleOf(a.type);
        z = k >= 0 ? (x * 10n ** BigInt(k)) / y : x / (y * 10n ** BigInt(-k));
        break;
      }
      case '/': {
        const k = scaleOf(rt) - scaleOf(a.type) + scaleOf(b.type);
        z = k >= 0 ? divRoundBig(x * 10n ** BigInt(k), y) : divRoundBig(x, y * 10n ** BigInt(-k));
        break;
      }
      default: return exact;
    }
    exact = putBig(out, exact, i, z);
  }
  if (rt.type === 'int64' && exact !== undefined) checkInt64(exact);
  return exact;
}

/** Filter kernel: the selection vector of rows where the predicate is TRUE. */
export function selectTrue(v: Vector, n: number): Int32Array {
  const pv = num(v, 'filter');
  const sel = new Int32Array(n);
  let k = 0;
  const vals = pv.values;
  const valid = pv.valid;
  if (valid === null) { for (let i = 0; i < n; i++) if (vals[i] !== 0) sel[k++] = i; }
  else for (let i = 0; i < n; i++) if (vals[i] !== 0 && valid[i] === 1) sel[k++] = i;
  return sel.subarray(0, k);
}
