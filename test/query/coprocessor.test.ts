import { describe, expect, it } from 'vitest';
import { coprocessorWorkerFile, createQueryEngine } from '../../src/query/index.js';
import { rowsOf, type Cell } from './helpers.js';
import { MemoryStorage } from './memory-storage.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * Aggregations split into per-batch fragments on the coprocessor pool must equal the
 * single-thread answer. Needs the compiled worker (npm test builds dist/ first).
 */
const SEED = 99;

describe('coprocessor fragments', () => {
  it('partial aggregates in workers merge to the in-thread result', async () => {
    expect(coprocessorWorkerFile(), 'compiled worker dist/src/query/coprocessor-worker.js (run npm run build)').not.toBeNull();
    const storage = new MemoryStorage();
    storage.batchRowCount = 400;
    let tasks = 0;
    let rowsSeen = 0;
    const withPool = createQueryEngine({ storage, coprocessor: { minRows: 1, onTask: (n) => { tasks++; rowsSeen += n; } } });
    const inThread = createQueryEngine({ storage, coprocessor: false });
    const a = withPool.openSession({ user: 'u', connectionId: 1 });
    const b = inThread.openSession({ user: 'u', connectionId: 2 });
    await a.execute(`CREATE DATABASE d; USE d; CREATE TABLE f (id INT PRIMARY KEY, g STRING, k INT, p DECIMAL(10,2), x DOUBLE, d DATE)`);
    await b.execute(`USE d`);
    const rnd = mulberry32(SEED);
    const rows: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const g = rnd() < 0.05 ? 'NULL' : `'g${Math.floor(rnd() * 7)}'`;
      const p = rnd() < 0.05 ? 'NULL' : (rnd() * 1000 - 100).toFixed(2);
      rows.push(`(${i}, ${g}, ${Math.floor(rnd() * 5)}, ${p}, ${rnd() * 10}, DATE '2020-01-01' + INTERVAL ${Math.floor(rnd() * 400)} DAY)`);
    }
    for (let s = 0; s < rows.length; s += 500) await a.execute(`INSERT INTO f VALUES ${rows.slice(s, s + 500).join(', ')}`);
    const queries = [
      `SELECT g, COUNT(*), COUNT(p), SUM(p), AVG(p), MIN(p), MAX(p), MIN(g), AVG(k), SUM(x) FROM f GROUP BY g ORDER BY g`,
      `SELECT k, g, SUM(p * 2 - 1) FROM f WHERE d < DATE '2020-06-01' AND p > 10 GROUP BY k, g ORDER BY k, g`,
      `SELECT COUNT(*), SUM(p), AVG(x) FROM f WHERE g LIKE 'g1%'`,
      `SELECT COUNT(*), SUM(p) FROM f WHERE id < 0`,
      `SELECT COUNT(*) FROM f WHERE p > (SELECT AVG(p) FROM f)`,
      `SELECT SUBSTRING(g, 2, 1) AS c1, CASE WHEN k < 2 THEN 'a' ELSE 'b' END AS c2, COUNT(*), SUM(p) FROM f WHERE g IN ('g1', 'g3', 'g5') AND p IS NOT NULL GROUP BY c1, c2 ORDER BY c1, c2`,
      `SELECT COUNT(*), SUM(x) FROM f WHERE g IS NULL AND k = 3`,
      `SELECT k, COUNT(*), MAX(d) FROM f WHERE d >= DATE '2020-03-01' AND d < DATE '2020-04-01' AND id >= 100 GROUP BY k ORDER BY k`,
    ];
    for (const q of queries) {
      const [ra] = await a.execute(q);
      const [rb] = await b.execute(q);
      const ours: Cell[][] = await rowsOf(ra!);
      const ref: Cell[][] = await rowsOf(rb!);
      expect(ours, `seed ${SEED}: ${q}`).toEqual(ref);
      expect(ours.length).toBeGreaterThan(0);
    }
    expect(tasks).toBeGreaterThan(10);
    expect(rowsSeen).toBeGreaterThanOrEqual(3000);
    await withPool.close();
    await inThread.close();
  });
});
