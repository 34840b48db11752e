import { describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';
import { mulberry32 as rng } from '../../bench/random.js';

// Joins whose row estimates do not say which side is smaller: the executor pulls both inputs in
// turn (raceSides) and the side that ends first restricts the other's scan by its keys. Answers
// are checked against a plain model of the data, for every join type that can take that path.
const SEED = 20261122;
const N_LEFT = 60_000, N_RIGHT = 120_000;

interface Data { l: [number, number | null, number][]; r: [number, number][] }

async function setup(batchRowCount: number): Promise<{ h: Harness; d: Data }> {
  const rnd = rng(SEED);
  const h = await harness();
  h.storage.batchRowCount = batchRowCount;
  await h.exec(`CREATE TABLE lt (id INT PRIMARY KEY, k INT, v INT)`);
  await h.exec(`CREATE TABLE rt (id INT PRIMARY KEY, w INT)`);
  const d: Data = { l: [], r: [] };
  for (let i = 0; i < N_LEFT; i++) d.l.push([i, rnd() < 0.02 ? null : Math.floor(rnd() * (N_RIGHT + 2000)) - 1000, Math.floor(rnd() * 100)]);
  for (let i = 0; i < N_RIGHT; i++) d.r.push([i, Math.floor(rnd() * 100)]);
  const lit = (x: number | null): string => (x === null ? 'NULL' : String(x));
  for (let i = 0; i < N_LEFT; i += 5000) await h.exec(`INSERT INTO lt VALUES ${d.l.slice(i, i + 5000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  for (let i = 0; i < N_RIGHT; i += 5000) await h.exec(`INSERT INTO rt VALUES ${d.r.slice(i, i + 5000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  return { h, d };
}

describe(`joins with undecided sides (race), seed ${SEED}`, () => {
  it('small probe side (fewer rows than estimated) restricts the build scan: inner, semi, anti, left', { timeout: 60_000 }, async () => {
    const { h, d } = await setup(997);
    const w = new Map(d.r.map((r) => [r[0], r[1]]));
    // v < 3 keeps ~3% of lt (estimated 30%): the probe side ends first.
    const probe = d.l.filter((r) => r[2] < 3);
    const inner = probe.filter((r) => r[1] !== null && w.has(r[1]));
    const got = await h.q(`SELECT COUNT(*), SUM(r.w), SUM(l.v) FROM lt l JOIN rt r ON l.k = r.id WHERE l.v < 3`);
    expect(got, `seed ${SEED}`).toEqual([[String(inner.length), String(inner.reduce((a, x) => a + w.get(x[1]!)!, 0)), String(inner.reduce((a, x) => a + x[2], 0))]]);
    const semi = await h.q(`SELECT COUNT(*) FROM lt l WHERE l.v < 3 AND EXISTS (SELECT 1 FROM rt r WHERE r.id = l.k)`);
    expect(semi, `seed ${SEED}`).toEqual([[String(inner.length)]]);
    const anti = await h.q(`SELECT COUNT(*) FROM lt l WHERE l.v < 3 AND NOT EXISTS (SELECT 1 FROM rt r WHERE r.id = l.k)`);
    expect(anti, `seed ${SEED}`).toEqual([[String(probe.length - inner.length)]]);
    const left = await h.q(`SELECT COUNT(*), COUNT(r.id), SUM(r.w) FROM lt l LEFT JOIN rt r ON l.k = r.id WHERE l.v < 3`);
    expect(left, `seed ${SEED}`).toEqual([[String(probe.length), String(inner.length), String(inner.reduce((a, x) => a + w.get(x[1]!)!, 0))]]);
  });

  it('small build side ends first: the probe continues (or restarts filtered) with the same answers', { timeout: 60_000 }, async () => {
    const { h, d } = await setup(1499);
    const w = new Map(d.r.map((r) => [r[0], r[1]]));
    const inner = d.l.filter((r) => r[1] !== null && w.has(r[1]));
    const got = await h.q(`SELECT COUNT(*), SUM(r.w) FROM lt l JOIN rt r ON l.k = r.id`);
    expect(got, `seed ${SEED}`).toEqual([[String(inner.length), String(inner.reduce((a, x) => a + w.get(x[1]!)!, 0))]]);
    // w < 5 keeps ~5% of rt (estimated 30%): rt ends before lt, whose scan restarts with rt's keys.
    const sel = new Set(d.r.filter((r) => r[1] < 5).map((r) => r[0]));
    const some = d.l.filter((r) => r[1] !== null && sel.has(r[1]));
    const got2 = await h.q(`SELECT COUNT(*), SUM(l.v) FROM lt l WHERE EXISTS (SELECT 1 FROM rt r WHERE r.id = l.k AND r.w < 5)`);
    expect(got2, `seed ${SEED}`).toEqual([[String(some.length), String(some.reduce((a, x) => a + x[2], 0))]]);
    // From rt's side, w < 1 keeps ~1% (estimated 30%, 36 000 rows, against lt's 60 000): rt ends
    // first and lt's scan is restricted to its keys.
    const few = d.r.filter((r) => r[1] < 1);
    const lk = new Map<number, number>();
    for (const r of d.l) if (r[1] !== null) lk.set(r[1], (lk.get(r[1]) ?? 0) + 1);
    const hasL = few.filter((r) => lk.has(r[0]));
    expect(await h.q(`SELECT COUNT(*) FROM rt r WHERE r.w < 1 AND EXISTS (SELECT 1 FROM lt l WHERE l.k = r.id)`), `seed ${SEED}`).toEqual([[String(hasL.length)]]);
    expect(await h.q(`SELECT COUNT(*) FROM rt r WHERE r.w < 1 AND NOT EXISTS (SELECT 1 FROM lt l WHERE l.k = r.id)`), `seed ${SEED}`).toEqual([[String(few.length - hasL.length)]]);
    const pairs = few.reduce((a, r) => a + (lk.get(r[0]) ?? 0), 0);
    expect(await h.q(`SELECT COUNT(*), COUNT(l.id) FROM rt r LEFT JOIN lt l ON l.k = r.id WHERE r.w < 1`), `seed ${SEED}`).toEqual([[String(pairs + few.length - hasL.length), String(pairs)]]);
  });
});
