import { describe, expect, it } from 'vitest';
import { harness } from './helpers.js';
import { rewriteForParser } from '../../src/query/tokenizer.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * SUM / AVG / MIN / MAX with DISTINCT or ALL (node-sql-parser takes them in COUNT only; the
 * tokenizer rewrites them, the binder unwraps), against a model; quotes and comments untouched.
 */
const SEED = 77;

describe(`aggregate DISTINCT / ALL, seed ${SEED}`, () => {
  it('rewrites only aggregate quantifiers outside quotes', () => {
    expect(rewriteForParser(`SELECT SUM(DISTINCT x), 'avg(distinct y)' FROM t`)).toBe(`SELECT SUM(DISTINCT( x)), 'avg(distinct y)' FROM t`);
    expect(rewriteForParser(`SELECT max(ALL x) /* min(distinct z) */ FROM t`)).toBe(`SELECT max( x) /* min(distinct z) */ FROM t`);
    expect(rewriteForParser(`SELECT SUM(DISTINCT(x)) FROM t`)).toBe(`SELECT SUM(DISTINCT(x)) FROM t`);
    expect(rewriteForParser(`SELECT AVG(DISTINCT (a) + f(b)) FROM t`)).toBe(`SELECT AVG(DISTINCT( (a) + f(b))) FROM t`);
  });

  it('answers match a model', async () => {
    const rnd = mulberry32(SEED);
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, g INT, x INT)`);
    const rows: [number, number, number | null][] = [];
    for (let i = 0; i < 500; i++) rows.push([i, Math.floor(rnd() * 3), rnd() < 0.1 ? null : Math.floor(rnd() * 20)]);
    await h.exec(`INSERT INTO t VALUES ${rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : String(v))).join(', ')})`).join(', ')}`);
    const got = await h.q(`SELECT g, SUM(DISTINCT x), SUM(ALL x), COUNT(DISTINCT x), MIN(DISTINCT x), MAX(ALL x), SUM(DISTINCT x + 1), SUM(DISTINCT(x)) FROM t GROUP BY g ORDER BY g`);
    const want = [0, 1, 2].map((g) => {
      const xs = rows.filter((r) => r[1] === g && r[2] !== null).map((r) => r[2]!);
      const d = [...new Set(xs)];
      const sum = (a: number[]): number => a.reduce((p, q) => p + q, 0);
      return [g, String(sum(d)), String(sum(xs)), String(d.length), Math.min(...xs), Math.max(...xs), String(sum(d.map((v) => v + 1))), String(sum(d))];
    });
    expect(got, `seed ${SEED}`).toEqual(want);
  });
});
