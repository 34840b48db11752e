import { describe, expect, it } from 'vitest';
import type { DataType, Value } from '../../src/common/types.js';
import {
  arithmetic, arithmeticResultType, negate, cast, caseWhen, coalesce, columnFromValues, columnToValues, scalar,
  substring, upper, lower, byteLength, charLength, concat, trim, extract, addInterval, dateDiff, abs, round, floor, ceil,
  formatDecimal, parseDecimal, filterCompare,
} from '../../src/columnar/index.js';
import type { ArithOp, Column } from '../../src/columnar/index.js';
import { randomValues, rng } from './gen.js';

const SEED = Number(process.env['SEED'] ?? 4242);

/** Exact rational of a value: [num, scale]. */
function exact(v: Value, t: DataType, scale: number): [bigint, number] {
  if (t === 'decimal') return [v as bigint, scale];
  if (typeof v === 'boolean') return [v ? 1n : 0n, 0];
  return [BigInt(v as number | bigint), 0];
}

function roundDiv(a: bigint, b: bigint): bigint {
  const neg = (a < 0n) !== (b < 0n);
  const aa = a < 0n ? -a : a, bb = b < 0n ? -b : b;
  let q = aa / bb;
  if ((aa % bb) * 2n >= bb) q += 1n;
  return neg ? -q : q;
}

describe(`expression kernels (seed ${SEED})`, () => {
  it('arithmetic on ints and decimals is exact; doubles match JS', () => {
    const r = rng(SEED);
    const types: DataType[] = ['int32', 'int64', 'decimal', 'double', 'int8'];
    const ops: ArithOp[] = ['+', '-', '*', '/', '%'];
    for (const ta of types) for (const tb of types) {
      const n = 120;
      const va = randomValues(ta, n, r, 0.1, 2).map((v) => (ta === 'int64' && typeof v === 'bigint' && v < -(2n ** 61n) ? 12345678901234n : v));
      const vb = randomValues(tb, n, r, 0.1, 3);
      const a = columnFromValues(ta, va, 30, 2), b = columnFromValues(tb, vb, 30, 3);
      const sel = Int32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
      for (const op of ops) {
        const rt = arithmeticResultType(op, a, b);
        let got: Value[];
        try { got = columnToValues(arithmetic(op, a, b, sel)); } catch (e) {
          // Only int64 overflow may throw.
          expect(String(e), `${ta}${op}${tb}`).toMatch(/out of range/);
          continue;
        }
        expect(got.length).toBe(sel.length);
        Array.from(sel).forEach((row, i) => {
          const x = va[row] as Value, y = vb[row] as Value;
          const g = got[i] as Value;
          const what = `${String(x)} ${op} ${String(y)} (${ta},${tb}) -> ${rt.type}`;
          if (x === null || y === null) { expect(g, what).toBeNull(); return; }
          if (rt.type === 'double') {
            const fx = ta === 'decimal' ? Number(x) / 100 : Number(x), fy = tb === 'decimal' ? Number(y) / 1000 : Number(y);
            if ((op === '/' || op === '%') && fy === 0) { expect(g, what).toBeNull(); return; }
            const w = op === '+' ? fx + fy : op === '-' ? fx - fy : op === '*' ? fx * fy : op === '/' ? fx / fy : fx % fy;
            expect(g as number, what).toBeCloseTo(w, 6);
            return;
          }
          const [nx, sx] = exact(x, ta, 2), [ny, sy] = exact(y, tb, 3);
          if ((op === '/' || op === '%') && ny === 0n) { expect(g, what).toBeNull(); return; }
          const s = Math.max(sx, sy);
          const X = nx * 10n ** BigInt(s - sx), Y = ny * 10n ** BigInt(s - sy);
          let w: bigint;
          if (op === '+') w = X + Y; else if (op === '-') w = X - Y; else if (op === '%') w = X % Y;
          else if (op === '*') w = nx * ny * 10n ** BigInt(rt.scale - sx - sy);
          else w = roundDiv(nx * 10n ** BigInt(rt.scale - sx + sy), ny);
          if (rt.type === 'int64') expect(g, what).toBe(w);
          else expect(formatDecimal(g as bigint, rt.scale), what).toBe(formatDecimal(w * (op === '*' || op === '/' ? 1n : 10n ** BigInt(rt.scale - s)), rt.scale));
        });
      }
    }
    // constants broadcast; unary minus
    const c = columnFromValues('decimal', [150n, null, -25n], 10, 2);
    expect(columnToValues(arithmetic('*', c, scalar('decimal', 2n, 5, 0), null))).toEqual([300n, null, -50n]);
    expect(columnToValues(negate(c, null))).toEqual([-150n, null, 25n]);
    expect(columnToValues(negate(columnFromValues('int32', [-2147483648, 5]), null))).toEqual([2147483648n, -5n]);
  });

  it('CAST between types', () => {
    const d = columnFromValues('decimal', [12345n, -12355n, null, 5n], 10, 2);
    expect(columnToValues(cast(d, { type: 'int64', precision: 0, scale: 0 }, null))).toEqual([123n, -124n, null, 0n]);
    expect(columnToValues(cast(d, { type: 'decimal', precision: 10, scale: 1 }, null))).toEqual([1235n, -1236n, null, 1n]);
    expect(columnToValues(cast(d, { type: 'decimal', precision: 12, scale: 4 }, null))).toEqual([1234500n, -1235500n, null, 500n]);
    expect(columnToValues(cast(d, { type: 'double', precision: 0, scale: 0 }, null))).toEqual([123.45, -123.55, null, 0.05]);
    expect(columnToValues(cast(d, { type: 'string', precision: 0, scale: 0 }, null))).toEqual(['123.45', '-123.55', null, '0.05']);
    const s = columnFromValues('string', ['42', ' 7.5xyz', 'abc', '2024-02-29', null]);
    expect(columnToValues(cast(s, { type: 'int64', precision: 0, scale: 0 }, null))).toEqual([42n, 8n, 0n, 2024n, null]);
    expect(columnToValues(cast(s, { type: 'date', precision: 0, scale: 0 }, null))).toEqual([null, null, null, 19782, null]);
    const dt = columnFromValues('date', [0, 19782, null]);
    expect(columnToValues(cast(dt, { type: 'string', precision: 0, scale: 0 }, null))).toEqual(['1970-01-01', '2024-02-29', null]);
    expect(columnToValues(cast(dt, { type: 'timestamp', precision: 0, scale: 0 }, null))).toEqual([0, 19782 * 86400e6, null]);
    expect(columnToValues(cast(columnFromValues('double', [2.5, -2.5, 1e3]), { type: 'int32', precision: 0, scale: 0 }, null))).toEqual([3, -3, 1000]);
    expect(() => cast(columnFromValues('int32', [1000]), { type: 'int8', precision: 0, scale: 0 }, null)).toThrow(/out of range/);
    expect(parseDecimal('1.005', 2)).toBe(101n);
  });

  it('CASE WHEN and COALESCE', () => {
    const r = rng(SEED + 1);
    const n = 200;
    const va = randomValues('int32', n, r), vb = randomValues('int32', n, r);
    const a = columnFromValues('int32', va), b = columnFromValues('int32', vb);
    const w0 = filterCompare(a, '>', scalar('int32', 0), null);
    const w1 = filterCompare(b, '<', scalar('int32', 0), null);
    const t: { type: DataType; precision: number; scale: number } = { type: 'int32', precision: 0, scale: 0 };
    const got = columnToValues(caseWhen([w0, w1], [b, scalar('int32', -1)], a, n, t));
    const want = va.map((x, i) => (x !== null && (x as number) > 0 ? vb[i] : vb[i] !== null && (vb[i] as number) < 0 ? -1 : x));
    expect(got).toEqual(want);
    const noElse = columnToValues(caseWhen([w0], [scalar('int32', 1)], null, n, t));
    expect(noElse).toEqual(va.map((x) => (x !== null && (x as number) > 0 ? 1 : null)));
    expect(columnToValues(coalesce([a, b, scalar('int32', 9)], n, t))).toEqual(va.map((x, i) => x ?? vb[i] ?? 9));
    const sa = columnFromValues('string', ['x', null, null]), sb = columnFromValues('string', [null, 'y', null]);
    expect(columnToValues(coalesce([sa, sb], 3, { type: 'string', precision: 0, scale: 0 }))).toEqual(['x', 'y', null]);
  });

  it('string functions match JS string semantics', () => {
    const r = rng(SEED + 2);
    const vals = randomValues('string', 300, r);
    const col = columnFromValues('string', vals);
    const map = (f: (s: string) => Value): Value[] => vals.map((v) => (v === null ? null : f(v as string)));
    const chars = (s: string): string[] => Array.from(s);
    for (const [pos, len] of [[1, 2], [2, null], [-2, 1], [0, 3], [5, 10], [-10, 2]] as [number, number | null][]) {
      expect(columnToValues(substring(col, pos, len, null)), `substr ${pos},${len}`).toEqual(map((s) => {
        const c = chars(s);
        if (pos === 0) return '';
        const start = pos > 0 ? pos - 1 : c.length + pos;
        if (start < 0 || start >= c.length) return '';
        return c.slice(start, len === null ? undefined : start + len).join('');
      }));
    }
    expect(columnToValues(upper(col, null))).toEqual(map((s) => s.toUpperCase()));
    expect(columnToValues(lower(col, null))).toEqual(map((s) => s.toLowerCase()));
    expect(columnToValues(byteLength(col, null))).toEqual(map((s) => BigInt(Buffer.byteLength(s))));
    expect(columnToValues(charLength(col, null))).toEqual(map((s) => BigInt(chars(s).length)));
    const other = columnFromValues('string', randomValues('string', 300, r));
    const ov = columnToValues(other);
    expect(columnToValues(concat([col, scalar('string', '-'), other], null))).toEqual(vals.map((v, i) => (v === null || ov[i] === null ? null : `${v as string}-${ov[i] as string}`)));
    const padded = columnFromValues('string', ['  a b  ', 'x', '   ', null]);
    expect(columnToValues(trim(padded, null))).toEqual(['a b', 'x', '', null]);
    expect(columnToValues(trim(padded, null, 'leading'))).toEqual(['a b  ', 'x', '', null]);
    expect(columnToValues(trim(padded, null, 'trailing'))).toEqual(['  a b', 'x', '', null]);
  });

  it('date functions match JS Date (UTC)', () => {
    const r = rng(SEED + 3);
    const days = Array.from({ length: 300 }, () => (r() < 0.1 ? null : Math.floor(r() * 80000) - 30000));
    const col = columnFromValues('date', days);
    const jd = (d: number): Date => new Date(d * 86400000);
    const map = (f: (d: number) => Value): Value[] => days.map((d) => (d === null ? null : f(d)));
    expect(columnToValues(extract('year', col, null))).toEqual(map((d) => jd(d).getUTCFullYear()));
    expect(columnToValues(extract('month', col, null))).toEqual(map((d) => jd(d).getUTCMonth() + 1));
    expect(columnToValues(extract('day', col, null))).toEqual(map((d) => jd(d).getUTCDate()));
    expect(columnToValues(extract('dayofweek', col, null))).toEqual(map((d) => jd(d).getUTCDay() + 1));
    expect(columnToValues(addInterval(col, 45, 'day', null))).toEqual(map((d) => d + 45));
    for (const months of [1, -1, 13, -25]) {
      expect(columnToValues(addInterval(col, months, 'month', null)), `+${months} months`).toEqual(map((d) => {
        const x = jd(d);
        const y = x.getUTCFullYear(), m = x.getUTCMonth() + months;
        const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
        return Math.round(Date.UTC(y, m, Math.min(x.getUTCDate(), last)) / 86400000);
      }));
    }
    expect(columnToValues(addInterval(columnFromValues('date', [19782]), 1, 'year', null))).toEqual([19782 + 365]); // 2024-02-29 -> 2025-02-28
    const other = columnFromValues('date', days.map((d) => (d === null ? 5 : d - 17)));
    expect(columnToValues(dateDiff(col, other, null))).toEqual(map(() => 17n));
    const ts = columnFromValues('timestamp', [Date.UTC(2024, 4, 6, 13, 45, 30) * 1000]);
    expect(columnToValues(extract('hour', ts, null))).toEqual([13]);
    expect(columnToValues(extract('minute', ts, null))).toEqual([45]);
    expect(columnToValues(extract('second', ts, null))).toEqual([30]);
  });

  it('math functions', () => {
    const d = columnFromValues('decimal', [12345n, -12355n, null, 5n, -5n], 10, 2);
    expect(columnToValues(round(d, 1, null))).toEqual([1235n, -1236n, null, 1n, -1n]);
    expect(columnToValues(round(d, 0, null))).toEqual([123n, -124n, null, 0n, 0n]);
    expect(columnToValues(floor(d, null))).toEqual([123n, -124n, null, 0n, -1n]);
    expect(columnToValues(ceil(d, null))).toEqual([124n, -123n, null, 1n, 0n]);
    expect(columnToValues(abs(d, null))).toEqual([12345n, 12355n, null, 5n, 5n]);
    const f = columnFromValues('double', [2.5, -2.5, 1.25, null]);
    expect(columnToValues(round(f, 0, null))).toEqual([3, -3, 1, null]);
    expect(columnToValues(floor(f, null))).toEqual([2, -3, 1, null]);
    expect(columnToValues(abs(f, null))).toEqual([2.5, 2.5, 1.25, null]);
    const i = columnFromValues('int32', [-7, 1234, null]);
    expect(columnToValues(abs(i, null))).toEqual([7n, 1234n, null]);
    expect(columnToValues(round(i, -2, null))).toEqual([0n, 1200n, null]);
    const c: Column = columnFromValues('int32', [3]);
    expect(columnToValues(round(c, 2, null))).toEqual([3]);
  });
});
