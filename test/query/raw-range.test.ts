import { describe, expect, it } from 'vitest';
import type { TableStats } from '../../src/common/storage-api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { mulberry32 as rng } from '../../bench/random.js';
import { MemoryStorage } from './memory-storage.js';
import { rowsOf } from './helpers.js';

// A probe scan restricted by a sparse key bitmap moves its integer / date range predicates
// off storage and checks them on the raw Arrow values of the key-matching rows before decoding
// (Scan.rawRanges; TPC-H Q7's l_shipdate). Answers are checked against a model at the range
// edges, with NULLs, with a LIKE conjunct (the expression path) and with an equality.
const SEED = 20261123;

class ScaledStatsStorage extends MemoryStorage {
  override tableStats(database: string, table: string): TableStats {
    const s = super.tableStats(database, table);
    return { ...s, rowCount: s.rowCount * 100 };
  }
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const iso = (d: number): string => new Date(d * 86_400_000).toISOString().slice(0, 10);

describe(`raw range checks after a key bitmap, seed ${SEED}`, () => {
  it('give the same rows as the model', { timeout: 60_000 }, async () => {
    const rnd = rng(SEED);
    const storage = new ScaledStatsStorage();
    storage.batchRowCount = 700;
    const engine = createQueryEngine({ storage, coprocessor: false });
    const s = engine.openSession({ user: 'root', connectionId: 1 });
    const q = async (sql: string): Promise<unknown[][]> => { const rs = await s.execute(sql); return rowsOf(rs[rs.length - 1]!); };
    await s.execute(`CREATE DATABASE t; USE t`);
    await s.execute(`CREATE TABLE dim (id INT PRIMARY KEY, w INT)`);
    await s.execute(`CREATE TABLE fact (id INT PRIMARY KEY, k INT, d DATE, x SMALLINT, name VARCHAR(10))`);
    const dim: number[] = [];
    for (let i = 0; i < 4000; i++) dim.push(Math.floor(rnd() * 100));
    await s.execute(`INSERT INTO dim VALUES ${dim.map((w, i) => `(${i}, ${w})`).join(', ')}`);
    const lo = day('1995-01-01'), hi = day('1996-12-31');
    const fact: { k: number; d: number; x: number | null; name: string }[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Dates cluster around the bounds so the edges are exercised.
      const d = rnd() < 0.3 ? [lo - 1, lo, hi, hi + 1][Math.floor(rnd() * 4)]! : lo - 400 + Math.floor(rnd() * 1600);
      fact.push({ k: Math.floor(rnd() * 4000), d, x: rnd() < 0.1 ? null : Math.floor(rnd() * 200) - 100, name: rnd() < 0.5 ? 'abc' : 'xyz' });
    }
    for (let i = 0; i < fact.length; i += 4000) {
      await s.execute(`INSERT INTO fact VALUES ${fact.slice(i, i + 4000).map((r, j) => `(${i + j}, ${r.k}, '${iso(r.d)}', ${r.x ?? 'NULL'}, '${r.name}')`).join(', ')}`);
    }
    // w < 4 keeps ~160 of 4000 dimension keys: more than an IN list, a bitmap of density ~4%.
    const keep = new Set(dim.flatMap((w, i) => (w < 4 ? [i] : [])));
    const check = async (where: string, pred: (r: (typeof fact)[number]) => boolean): Promise<void> => {
      const rows = fact.filter((r) => keep.has(r.k) && pred(r));
      const want = [[String(rows.length), rows.length === 0 ? null : String(rows.reduce((a, r) => a + r.d, 0))]];
      const got = await q(`SELECT COUNT(*), SUM(DATEDIFF(f.d, '1970-01-01')) FROM fact f JOIN dim ON f.k = dim.id WHERE dim.w < 4 AND ${where}`);
      expect(got, `seed ${SEED}: ${where}`).toEqual(want);
    };
    await check(`f.d BETWEEN '1995-01-01' AND '1996-12-31'`, (r) => r.d >= lo && r.d <= hi);
    await check(`f.d > '1995-01-01' AND f.d < '1996-12-31'`, (r) => r.d > lo && r.d < hi);
    await check(`f.d >= '1995-01-01' AND f.x > -5 AND f.x <= 50`, (r) => r.d >= lo && r.x !== null && r.x > -5 && r.x <= 50);
    await check(`f.x = 7`, (r) => r.x === 7);
    await check(`f.x < 0 AND f.x > 10`, () => false);
    await check(`f.d <= '1996-12-31' AND f.name LIKE '%b%'`, (r) => r.d <= hi && r.name === 'abc');
    s.close();
  });
});
