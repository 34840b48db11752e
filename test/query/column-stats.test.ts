import { describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';
import { mulberry32 as rng } from '../../bench/random.js';
import { DistinctCounter } from '../../src/query/column-stats.js';

const SEED = 20261121;

async function insertRows(h: Harness, table: string, rows: string[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) await h.exec(`INSERT INTO ${table} VALUES ${rows.slice(i, i + 1000).join(', ')}`);
}

async function explainScan(h: Harness, sql: string, table: string): Promise<number> {
  const plan = (await h.q(`EXPLAIN ${sql}`)).map((x) => String(x[0]));
  const line = plan.find((l) => l.includes(`Scan test.${table} `));
  expect(line, plan.join('\n')).toBeDefined();
  return Number(/est_rows=(\d+)/.exec(line!)![1]);
}

function pad(n: number): string { return String(n).padStart(2, '0'); }

describe('COMPUTE STATS / SHOW COLUMN STATS', () => {
  it('match a model computed here (exact nulls/min/max, ndv within the HLL error bound)', async () => {
    const r = rng(SEED);
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT, b BIGINT, s STRING, d DATE, x DECIMAL(10,2), f DOUBLE, w STRING)`);
    const N = 20000;
    const rows: string[] = [];
    const model = { a: new Set<number>(), aNull: 0, b: new Set<string>(), s: new Set<string>(), sMax: 0, sBytes: 0, d: new Set<number>(), x: new Set<number>(), f: new Set<number>(), w: new Set<string>() };
    let aMin = Infinity, aMax = -Infinity, bMin = Infinity, bMax = -Infinity, xMin = Infinity, xMax = -Infinity, dMin = Infinity, dMax = -Infinity;
    let sMin: string | null = null, sMax: string | null = null;
    for (let i = 0; i < N; i++) {
      const a = r() < 0.1 ? null : Math.floor(r() * 300) - 100;
      if (a === null) model.aNull++; else { model.a.add(a); aMin = Math.min(aMin, a); aMax = Math.max(aMax, a); }
      const b = Math.floor(r() * 1e12) * 1000; // beyond 2^32
      model.b.add(String(b)); bMin = Math.min(bMin, b); bMax = Math.max(bMax, b);
      const s = `k${Math.floor(r() * 5000)}${r() < 0.5 ? 'é' : ''}`;
      model.s.add(s);
      model.sMax = Math.max(model.sMax, Buffer.byteLength(s));
      model.sBytes += Buffer.byteLength(s);
      if (sMin === null || Buffer.compare(Buffer.from(s), Buffer.from(sMin)) < 0) sMin = s;
      if (sMax === null || Buffer.compare(Buffer.from(s), Buffer.from(sMax)) > 0) sMax = s;
      const day = 1 + Math.floor(r() * 28), month = 1 + Math.floor(r() * 12);
      const dd = Date.UTC(2020, month - 1, day) / 86400000;
      model.d.add(dd); dMin = Math.min(dMin, dd); dMax = Math.max(dMax, dd);
      const xc = Math.floor(r() * 200001) - 100000;
      model.x.add(xc); xMin = Math.min(xMin, xc); xMax = Math.max(xMax, xc);
      const f = Math.floor(r() * 1000) / 8;
      model.f.add(f);
      const w = `w${Math.floor(r() * 40000)}-${'z'.repeat(i % 9)}`; // ~17k distinct: the HyperLogLog path for strings
      model.w.add(w);
      rows.push(`(${i}, ${a ?? 'NULL'}, ${b}, '${s}', '2020-${pad(month)}-${pad(day)}', ${(xc / 100).toFixed(2)}, ${f}, '${w}')`);
    }
    await insertRows(h, 't', rows);
    const before = await h.q(`SHOW COLUMN STATS t`);
    expect(before.map((x) => [x[0], x[2], x[3]])).toEqual(['id', 'a', 'b', 's', 'd', 'x', 'f', 'w'].map((c) => [c, '-1', '-1']));
    const res = await h.exec(`COMPUTE STATS t`);
    const ok = res[0]!;
    expect(ok.kind).toBe('ok');
    expect(ok.kind === 'ok' ? ok.info : '').toMatch(/8 column\(s\) of test\.t: 20000 rows/);
    const got = await h.q(`SHOW COLUMN STATS test.t`);
    const byName = new Map(got.map((x) => [String(x[0]), x]));
    const within = (ndv: unknown, exact: number): void => {
      const n = Number(ndv);
      // exact below 2^14 distinct hashes; HyperLogLog (p=12, 1.6% standard error) above: 4 sigma.
      const tol = exact > 16384 ? 0.065 * exact : 0.002 * exact + 1;
      expect(Math.abs(n - exact), `ndv ${n} vs ${exact} (seed ${SEED})`).toBeLessThanOrEqual(tol);
    };
    within(byName.get('id')![2], N);
    within(byName.get('a')![2], model.a.size);
    within(byName.get('b')![2], model.b.size);
    within(byName.get('s')![2], model.s.size);
    within(byName.get('d')![2], model.d.size);
    within(byName.get('x')![2], model.x.size);
    within(byName.get('f')![2], model.f.size);
    expect(model.w.size).toBeGreaterThan(16384);
    within(byName.get('w')![2], model.w.size);
    expect(byName.get('a')!.slice(1, 8), `seed ${SEED}`).toEqual(['INT', byName.get('a')![2], String(model.aNull), '4', 4, String(aMin), String(aMax)]);
    expect(byName.get('id')!.slice(3, 8)).toEqual(['0', '4', 4, '0', String(N - 1)]);
    expect(byName.get('b')!.slice(6, 8)).toEqual([String(bMin), String(bMax)]);
    expect(byName.get('s')!.slice(3, 8)).toEqual(['0', String(model.sMax), model.sBytes / N, sMin, sMax]);
    const iso = (days: number): string => new Date(days * 86400000).toISOString().slice(0, 10);
    expect(byName.get('d')!.slice(6, 8)).toEqual([iso(dMin), iso(dMax)]);
    expect(byName.get('x')!.slice(6, 8)).toEqual([String(xMin / 100), String(xMax / 100)]);
  }, 60_000);

  it('HyperLogLog stays within its error bound over many cardinalities', () => {
    const r = rng(SEED + 1);
    for (const n of [20000, 50000, 200000]) {
      const c = new DistinctCounter();
      for (let i = 0; i < n; i++) {
        // Random 32-bit hashes, each distinct value added twice.
        const hsh = (r() * 4294967296) >>> 0;
        c.add(hsh); c.add(hsh);
      }
      expect(c.isExact).toBe(false);
      expect(Math.abs(c.estimate() - n) / n, `n=${n} seed ${SEED + 1}`).toBeLessThan(0.065);
    }
    const small = new DistinctCounter();
    for (let i = 0; i < 1000; i++) small.add((i * 2654435761) >>> 0);
    expect(small.isExact).toBe(true);
    expect(small.estimate()).toBe(1000);
  });

  it('are dropped on TRUNCATE, DROP and ALTER', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT)`);
    await h.exec(`INSERT INTO t VALUES (1, 10), (2, 20), (3, NULL)`);
    const ndvOfA = async (): Promise<string> => String((await h.q(`SHOW COLUMN STATS t`)).find((x) => x[0] === 'a')![2]);
    await h.exec(`COMPUTE STATS t`);
    expect(await ndvOfA()).toBe('2');
    await h.exec(`TRUNCATE TABLE t`);
    expect(await ndvOfA()).toBe('-1');
    await h.exec(`INSERT INTO t VALUES (1, 10)`);
    await h.exec(`COMPUTE STATS t`);
    expect(await ndvOfA()).toBe('1');
    await h.exec(`ALTER TABLE t ADD COLUMN c INT`);
    expect(await ndvOfA()).toBe('-1');
    await h.exec(`COMPUTE STATS t`);
    expect(await ndvOfA()).toBe('1');
    await h.exec(`DROP TABLE t`);
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT)`);
    expect(await ndvOfA()).toBe('-1');
    // Stats are not refreshed by writes (as in Impala): the count stays what COMPUTE STATS saw.
    await h.exec(`INSERT INTO t VALUES (1, 10), (2, 11)`);
    await h.exec(`COMPUTE STATS t`);
    await h.exec(`INSERT INTO t VALUES (3, 12)`);
    expect(await ndvOfA()).toBe('2');
  });

  it('change the scan estimate EXPLAIN shows (equality 1/ndv, range by min/max)', async () => {
    const r = rng(SEED + 2);
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT, d DATE)`);
    const rows: string[] = [];
    for (let i = 0; i < 2000; i++) rows.push(`(${i}, ${Math.floor(r() * 4)}, '2021-01-${pad(1 + (i % 20))}')`);
    await insertRows(h, 't', rows);
    const eqBefore = await explainScan(h, `SELECT * FROM t WHERE a = 2`, 't');
    const rangeBefore = await explainScan(h, `SELECT * FROM t WHERE id < 100`, 't');
    const dateBefore = await explainScan(h, `SELECT * FROM t WHERE d >= '2021-01-11'`, 't');
    expect(eqBefore).toBe(200); // the guess: 0.1
    expect(rangeBefore).toBe(600); // the guess: 0.3
    await h.exec(`COMPUTE STATS t`);
    expect(await explainScan(h, `SELECT * FROM t WHERE a = 2`, 't')).toBe(500); // 1/4
    expect(await explainScan(h, `SELECT * FROM t WHERE a = 9`, 't')).toBe(1); // outside [min, max]
    const range = await explainScan(h, `SELECT * FROM t WHERE id < 100`, 't');
    expect(range).toBe(100);
    // Two bounds on one column intersect (not multiply): 200 rows, not 0.95 * 0.15 * 2000.
    expect(await explainScan(h, `SELECT * FROM t WHERE id >= 100 AND id < 300`, 't')).toBe(200);
    expect(await explainScan(h, `SELECT * FROM t WHERE id >= 100 AND id < 300 AND a = 1`, 't')).toBe(50);
    const date = await explainScan(h, `SELECT * FROM t WHERE d >= '2021-01-11'`, 't');
    expect(date, `before ${dateBefore}`).toBe(1000);
    // Answers do not change.
    expect((await h.q(`SELECT COUNT(*) FROM t WHERE id < 100`))[0]).toEqual(['100']);
  });

  it('pick the build side and the join order', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE f (id INT PRIMARY KEY, g INT, v INT)`);
    await h.exec(`CREATE TABLE dm (id INT PRIMARY KEY, g INT)`);
    await insertRows(h, 'f', Array.from({ length: 800 }, (_, i) => `(${i}, ${i % 40}, ${i})`));
    await insertRows(h, 'dm', Array.from({ length: 500 }, (_, i) => `(${i}, ${i % 50})`));
    // v < 100000 keeps every row of f; the guess (0.3) makes f (240) smaller than dm (500).
    const sql = `SELECT COUNT(*) FROM f JOIN dm ON f.g = dm.g WHERE f.v < 100000`;
    const firstScan = async (): Promise<string> => (await h.q(`EXPLAIN ${sql}`)).map((x) => String(x[0])).find((l) => l.trimStart().startsWith('Scan'))!;
    expect(await firstScan()).toMatch(/Scan test\.dm /); // dm probes, f is built
    const want = await h.q(sql);
    await h.exec(`COMPUTE STATS f`);
    await h.exec(`COMPUTE STATS dm`);
    expect(await firstScan()).toMatch(/Scan test\.f /); // with stats f (800) probes, dm (500) is built
    expect(await h.q(sql)).toEqual(want);
    expect(want).toEqual([[String(800 * 10)]]);

    // Join order: a.y = b.y (2 distinct values: 500k rows) is listed first; b.x = c.x (1000 distinct: 1000 rows).
    for (const t of ['a', 'b', 'c']) {
      await h.exec(`CREATE TABLE ${t} (id INT PRIMARY KEY, x INT, y INT)`);
      await insertRows(h, t, Array.from({ length: 1000 }, (_, i) => `(${i}, ${(i * 7) % 1000}, ${i % 2})`));
    }
    const sql3 = `SELECT COUNT(*) FROM a, b, c WHERE a.y = b.y AND b.x = c.x`;
    const siblings = async (): Promise<boolean> => {
      const plan = (await h.q(`EXPLAIN ${sql3}`)).map((x) => String(x[0]));
      const indent = (s: string): number => s.length - s.trimStart().length;
      const bi = plan.findIndex((l) => /Scan test\.b /.test(l)), ci = plan.findIndex((l) => /Scan test\.c /.test(l));
      return indent(plan[bi]!) === indent(plan[ci]!) && Math.abs(bi - ci) === 1;
    };
    expect(await siblings()).toBe(false); // the tie on guesses joins a with b first
    await h.exec(`COMPUTE STATS a; COMPUTE STATS b; COMPUTE STATS c`);
    expect(await siblings()).toBe(true);
    expect(await h.q(sql3)).toEqual([[String(1000 * 500)]]);
  }, 60_000);

  it('estimate an aggregate by its group columns\' distinct counts', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE big (id INT PRIMARY KEY, g INT, v INT)`);
    await h.exec(`CREATE TABLE small (id INT PRIMARY KEY, g INT)`);
    await insertRows(h, 'big', Array.from({ length: 3000 }, (_, i) => `(${i}, ${i % 5}, ${i})`));
    await insertRows(h, 'small', Array.from({ length: 100 }, (_, i) => `(${i}, ${i % 10})`));
    // The aggregate is guessed at 10% of big (300 groups, probe side); with stats 5 groups (build side).
    const sql = `SELECT COUNT(*), SUM(x.t) FROM (SELECT g, SUM(v) AS t FROM big GROUP BY g) x JOIN small ON x.g = small.g`;
    const firstScan = async (): Promise<string> => (await h.q(`EXPLAIN ${sql}`)).map((x) => String(x[0])).find((l) => l.trimStart().startsWith('Scan'))!;
    expect(await firstScan()).toMatch(/Scan test\.big /);
    const want = await h.q(sql);
    await h.exec(`COMPUTE STATS big`);
    await h.exec(`COMPUTE STATS small`);
    expect(await firstScan()).toMatch(/Scan test\.small /);
    expect(await h.q(sql)).toEqual(want);
    expect(want).toEqual([['50', String(10 * (3000 * 2999) / 2)]]);
  });
});
