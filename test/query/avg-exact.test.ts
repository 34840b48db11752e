import { afterAll, describe, expect, it } from 'vitest';
import { createQueryEngine } from '../../src/query/index.js';
import { decimalAvg } from '../../src/query/eval.js';
import { rowsOf } from './helpers.js';
import { MemoryStorage } from './memory-storage.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * AVG of a DECIMAL is exact (MySQL: scale + 4, rounded half away from zero), also where a double
 * division rounds the wrong way (0.03 / 20000 = 0.0000015 -> 0.000002) and where the sum is
 * beyond 2^53. Every aggregate path: grouped, global on the coprocessor pool and in-thread,
 * DISTINCT, and windows.
 */
const SEED = 20261121;

/** round(sum * 10^shift / count), half away from zero, in bigints: the model. */
function model(sum: bigint, count: bigint, shift: number): bigint {
  const n = sum * 10n ** BigInt(shift);
  const a = n < 0n ? -n : n;
  let q = a / count;
  if (2n * (a - q * count) >= count) q++;
  return n < 0n ? -q : q;
}

/** An unscaled integer at `scale` as SQL prints it. */
function text(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

describe(`exact DECIMAL AVG, seed ${SEED}`, () => {
  it('decimalAvg equals the bigint model on ties, signs and sums beyond 2^53', () => {
    const rnd = mulberry32(SEED);
    const cases: [bigint, number][] = [[3n, 20000], [-3n, 20000], [29n, 20000], [1n, 2], [-1n, 2], [0n, 7]];
    for (let i = 0; i < 2000; i++) {
      const m = 1 + Math.floor(rnd() * 40);
      cases.push([BigInt(m * (2 * Math.floor(rnd() * 5000) + 1)) * (rnd() < 0.5 ? -1n : 1n), 20000 * m]);
      cases.push([BigInt(Math.floor((rnd() - 0.5) * 2 ** 40)), 1 + Math.floor(rnd() * 100000)]);
      cases.push([(BigInt(Math.floor(rnd() * 2 ** 30)) << 40n) * (rnd() < 0.5 ? -1n : 1n), 1 + Math.floor(rnd() * 1000)]);
    }
    for (const [sum, count] of cases) {
      const safe = sum <= 9007199254740991n && sum >= -9007199254740991n;
      const got = decimalAvg(Number(sum), safe ? undefined : sum, count, 4);
      const want = model(sum, BigInt(count), 4);
      expect(got.big ?? BigInt(got.value), `seed ${SEED}: ${sum} / ${count}`).toBe(want);
    }
  });

  const storage = new MemoryStorage();
  storage.batchRowCount = 1000;
  const pool = createQueryEngine({ storage, coprocessor: { minRows: 1 } });
  const inThread = createQueryEngine({ storage, coprocessor: false });
  afterAll(async () => { await pool.close(); await inThread.close(); });

  it('every aggregate path gives the exact average', async () => {
    const a = pool.openSession({ user: 'u', connectionId: 1 });
    const b = inThread.openSession({ user: 'u', connectionId: 2 });
    await a.execute(`CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, g INT, p DECIMAL(10,2), big DECIMAL(38,0))`);
    await b.execute(`USE d`);
    // Group 1: three 0.01 among 20000 rows (avg 0.0000015 -> 0.000002). Group 2: random cents.
    // big: 10^20 in three rows and 1 in one row of group 1 (sum beyond 2^53), 0 elsewhere.
    const rnd = mulberry32(SEED + 1);
    const rows: string[] = [];
    const sums = new Map<number, { p: bigint; n: bigint; big: bigint; distinct: Set<bigint> }>();
    for (let i = 0; i < 24000; i++) {
      const g = i < 20000 ? 1 : 2;
      const cents = g === 1 ? (i < 3 ? 1n : 0n) : BigInt(Math.floor((rnd() - 0.3) * 100000));
      const big = g === 1 && i < 3 ? 10n ** 20n : g === 1 && i === 3 ? 1n : 0n;
      const s = sums.get(g) ?? { p: 0n, n: 0n, big: 0n, distinct: new Set<bigint>() };
      s.p += cents; s.n += 1n; s.big += big; s.distinct.add(cents);
      sums.set(g, s);
      rows.push(`(${i}, ${g}, ${text(cents, 2)}, ${big})`);
    }
    for (let s = 0; s < rows.length; s += 2000) await a.execute(`INSERT INTO t VALUES ${rows.slice(s, s + 2000).join(', ')}`);
    const g1 = sums.get(1)!, g2 = sums.get(2)!;
    const all = { p: g1.p + g2.p, n: g1.n + g2.n, big: g1.big + g2.big };
    const distinctAvg = (s: Set<bigint>): bigint => model([...s].reduce((x, y) => x + y, 0n), BigInt(s.size), 4);

    const q = async (sql: string): Promise<unknown[][]> => {
      const [ra] = await a.execute(sql);
      const [rb] = await b.execute(sql);
      const ours = await rowsOf(ra!), ref = await rowsOf(rb!);
      expect(ours, `seed ${SEED}: pool vs in-thread: ${sql}`).toEqual(ref);
      return ours;
    };
    expect(await q(`SELECT g, AVG(p), AVG(big) FROM t GROUP BY g ORDER BY g`), `seed ${SEED}`).toEqual([
      [1, text(model(g1.p, g1.n, 4), 6), text(model(g1.big, g1.n, 4), 4)],
      [2, text(model(g2.p, g2.n, 4), 6), text(model(g2.big, g2.n, 4), 4)],
    ]);
    expect(await q(`SELECT AVG(p), AVG(big) FROM t`), `seed ${SEED}`).toEqual([[text(model(all.p, all.n, 4), 6), text(model(all.big, all.n, 4), 4)]]);
    expect(await q(`SELECT AVG(p) FROM t WHERE g = 1`), `seed ${SEED}`).toEqual([['0.000002']]);
    expect(await q(`SELECT g, AVG(DISTINCT p) FROM t GROUP BY g ORDER BY g`), `seed ${SEED}`).toEqual([
      [1, text(distinctAvg(g1.distinct), 6)],
      [2, text(distinctAvg(g2.distinct), 6)],
    ]);
    const w = await q(`SELECT DISTINCT g, AVG(p) OVER (PARTITION BY g) FROM t ORDER BY g`);
    expect(w, `seed ${SEED}`).toEqual([[1, text(model(g1.p, g1.n, 4), 6)], [2, text(model(g2.p, g2.n, 4), 6)]]);
  });
});
