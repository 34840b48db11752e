import { describe, expect, it } from 'vitest';
import type { ScanSpec } from '../../src/common/scan-spec.js';
import { harness, type Harness } from './helpers.js';
import { mulberry32 as rng } from '../../bench/random.js';

const SEED = 20261121;
const N_FACT = 6000;

interface Data { fact: [number, number | null, number | null, number][]; dim: [number, string][]; other: [number, number][] }

async function setup(): Promise<{ h: Harness; d: Data; specs: { table: string; spec: ScanSpec }[] }> {
  const rnd = rng(SEED);
  const h = await harness();
  await h.exec(`CREATE TABLE fact (id INT PRIMARY KEY, d_id INT, o_id INT, v INT)`);
  await h.exec(`CREATE TABLE dim (id INT PRIMARY KEY, kind STRING)`);
  await h.exec(`CREATE TABLE other (id INT PRIMARY KEY, g INT)`);
  const d: Data = { fact: [], dim: [], other: [] };
  for (let i = 0; i < N_FACT; i++) {
    d.fact.push([i, rnd() < 0.03 ? null : Math.floor(rnd() * 2000) - 5, rnd() < 0.03 ? null : Math.floor(rnd() * 300), Math.floor(rnd() * 100)]);
  }
  for (let i = 0; i < 2000; i++) d.dim.push([i, rnd() < 0.02 ? 'rare' : 'common']);
  for (let i = 0; i < 300; i++) d.other.push([i, i % 4]);
  const lit = (x: number | string | null): string => (x === null ? 'NULL' : typeof x === 'string' ? `'${x}'` : String(x));
  for (let i = 0; i < d.fact.length; i += 1000) await h.exec(`INSERT INTO fact VALUES ${d.fact.slice(i, i + 1000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  await h.exec(`INSERT INTO dim VALUES ${d.dim.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  await h.exec(`INSERT INTO other VALUES ${d.other.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  const specs: { table: string; spec: ScanSpec }[] = [];
  const orig = h.storage.scan.bind(h.storage);
  h.storage.scan = (db: string, table: string, spec: ScanSpec) => { specs.push({ table, spec }); return orig(db, table, spec); };
  return { h, d, specs };
}

describe(`runtime join filter (build keys as a probe-side storage IN predicate), seed ${SEED}`, () => {
  it('pushes the selective build side keys into the fact scan and keeps the answer', async () => {
    const { h, d, specs } = await setup();
    const rare = new Set(d.dim.filter((r) => r[1] === 'rare').map((r) => r[0]));
    const g = new Map(d.other.map((r) => [r[0], r[1]]));
    const got = await h.q(`SELECT o.g, COUNT(*), SUM(f.v) FROM fact f, dim d, other o WHERE f.d_id = d.id AND d.kind = 'rare' AND f.o_id = o.id GROUP BY o.g ORDER BY o.g`);
    const want = new Map<number, [number, number]>();
    for (const [, di, oi, v] of d.fact) {
      if (di === null || oi === null || !rare.has(di)) continue;
      const k = g.get(oi);
      if (k === undefined) continue;
      const w = want.get(k) ?? [0, 0];
      w[0]++; w[1] += v;
      want.set(k, w);
    }
    expect(got, `seed ${SEED}`).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]).map(([k, [c, s]]) => [k, String(c), String(s)]));
    const factScan = specs.find((s) => s.table === 'fact');
    const inPred = factScan?.spec.predicates?.find((p) => p.kind === 'in' && p.column === 'd_id');
    expect(inPred, JSON.stringify(specs.map((s) => [s.table, s.spec.predicates]))).toBeDefined();
    if (inPred?.kind === 'in') expect(new Set(inPred.values)).toEqual(rare);
  });

  it('restricts the probe scan through every integer column of a multi-column key', async () => {
    const { h, d, specs } = await setup();
    await h.exec(`CREATE TABLE pairs (id INT PRIMARY KEY, a INT, b INT)`);
    const rnd = rng(SEED + 7);
    const pairs: [number, number, number][] = [];
    for (let i = 0; i < 30; i++) pairs.push([i, Math.floor(rnd() * 2000) - 5, Math.floor(rnd() * 300)]);
    // Some pairs of keys that occur in fact, so that the answer is not empty.
    for (let i = 0; i < 20; i++) { const r = d.fact[Math.floor(rnd() * d.fact.length)]!; if (r[1] !== null && r[2] !== null) pairs.push([30 + i, r[1], r[2]]); }
    await h.exec(`INSERT INTO pairs VALUES ${pairs.map((r) => `(${r.join(', ')})`).join(', ')}`);
    specs.length = 0;
    const got = await h.q(`SELECT COUNT(*), SUM(f.v) FROM fact f JOIN pairs p ON f.d_id = p.a AND f.o_id = p.b`);
    let cnt = 0, sum = 0;
    for (const f of d.fact) for (const p of pairs) if (f[1] === p[1] && f[2] === p[2]) { cnt++; sum += f[3]; }
    expect(got, `seed ${SEED}`).toEqual([[String(cnt), cnt === 0 ? null : String(sum)]]);
    const factScan = specs.find((x) => x.table === 'fact');
    const cols = (factScan?.spec.predicates ?? []).filter((p) => p.kind === 'in').map((p) => p.column).sort();
    expect(cols, JSON.stringify(specs.map((x) => [x.table, x.spec.predicates]))).toEqual(['d_id', 'o_id']);
  });

  it('keeps unmatched probe rows of a LEFT join and EXISTS / NOT EXISTS answers', async () => {
    const { h, d } = await setup();
    const rare = new Set(d.dim.filter((r) => r[1] === 'rare').map((r) => r[0]));
    // LEFT JOIN: every fact row stays; no key filter may drop the unmatched ones.
    const left = await h.q(`SELECT COUNT(*), COUNT(d.id) FROM fact f LEFT JOIN dim d ON f.d_id = d.id AND d.kind = 'rare'`);
    expect(left).toEqual([[String(N_FACT), String(d.fact.filter((r) => r[1] !== null && rare.has(r[1])).length)]]);
    const ex = await h.q(`SELECT COUNT(*) FROM fact f WHERE EXISTS (SELECT 1 FROM dim d WHERE d.id = f.d_id AND d.kind = 'rare')`);
    expect(ex).toEqual([[String(d.fact.filter((r) => r[1] !== null && rare.has(r[1])).length)]]);
    const nex = await h.q(`SELECT COUNT(*) FROM fact f WHERE NOT EXISTS (SELECT 1 FROM dim d WHERE d.id = f.d_id AND d.kind = 'rare')`);
    expect(nex).toEqual([[String(d.fact.filter((r) => r[1] === null || !rare.has(r[1])).length)]]);
    // A join whose probe side is itself a join: the filter goes through it to the fact scan.
    const nested = await h.q(`SELECT COUNT(*) FROM fact f JOIN other o ON f.o_id = o.id JOIN dim d ON f.d_id = d.id WHERE d.kind = 'rare' AND o.g = 1`);
    // Build keys outside a narrower probe column's range (TINYINT probe, INT build).
    await h.exec(`CREATE TABLE tiny (id INT PRIMARY KEY, t TINYINT)`);
    await h.exec(`CREATE TABLE wide (id INT PRIMARY KEY, k INT)`);
    const tv = Array.from({ length: 5000 }, (_, i) => (i * 37) % 256 - 128);
    for (let i = 0; i < 5000; i += 1000) await h.exec(`INSERT INTO tiny VALUES ${tv.slice(i, i + 1000).map((t, j) => `(${i + j}, ${t})`).join(', ')}`);
    const kv = [5, 100, 127, 128, 300, -128, -129, -5000];
    await h.exec(`INSERT INTO wide VALUES ${kv.map((k, j) => `(${j}, ${k})`).join(', ')}`);
    const narrow = await h.q(`SELECT COUNT(*) FROM tiny JOIN wide ON tiny.t = wide.k`);
    expect(narrow).toEqual([[String(tv.filter((t) => kv.includes(t)).length)]]);
    expect(nested).toEqual([[String(d.fact.filter((r) => r[1] !== null && rare.has(r[1]) && r[2] !== null && r[2] % 4 === 1).length)]]);
  });

  it('large build sides filter the probe scan through a key bitmap with the same answers', async () => {
    const rnd = rng(SEED + 1);
    const h = await harness();
    await h.exec(`CREATE TABLE big (id INT PRIMARY KEY, k INT, v INT, s STRING)`);
    await h.exec(`CREATE TABLE kt (id INT PRIMARY KEY, flag INT)`);
    const N = 24000, K = 11000;
    const big: [number, number | null, number, string][] = [];
    for (let i = 0; i < N; i++) big.push([i, rnd() < 0.02 ? null : Math.floor(rnd() * (K + 400)) - 200, Math.floor(rnd() * 1000), `s${i % 97}`]);
    const keys: [number, number][] = [];
    for (let i = 0; i < K; i++) keys.push([i, rnd() < 0.42 ? 1 : 0]);
    const lit = (x: number | string | null): string => (x === null ? 'NULL' : typeof x === 'string' ? `'${x}'` : String(x));
    for (let i = 0; i < N; i += 2000) await h.exec(`INSERT INTO big VALUES ${big.slice(i, i + 2000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
    for (let i = 0; i < K; i += 2000) await h.exec(`INSERT INTO kt VALUES ${keys.slice(i, i + 2000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
    const flagged = new Set(keys.filter((r) => r[1] === 1).map((r) => r[0]));
    const match = big.filter((r) => r[1] !== null && flagged.has(r[1]));
    const got = await h.q(`SELECT COUNT(*), SUM(b.v), MIN(b.s), MAX(b.s) FROM big b JOIN kt k ON b.k = k.id WHERE k.flag = 1`);
    const ss = match.map((r) => r[3]).sort();
    expect(got, `seed ${SEED + 1}`).toEqual([[String(match.length), String(match.reduce((a, r) => a + r[2], 0)), ss[0] ?? null, ss[ss.length - 1] ?? null]]);
    const semi = await h.q(`SELECT COUNT(*) FROM big b WHERE b.k IN (SELECT id FROM kt WHERE flag = 1)`);
    expect(semi).toEqual([[String(match.length)]]);
    // A sparse key bitmap (about 1 key in 14): the probe scan's storage predicate on a non-key
    // column (b.v, not output) runs after it, on the rows whose key matches.
    const sparse = big.filter((r) => r[1] !== null && flagged.has(r[1]) && r[1] % 7 === 0 && r[2] < 300);
    const got3 = await h.q(`SELECT COUNT(*), SUM(b.id) FROM big b JOIN kt k ON b.k = k.id WHERE k.flag = 1 AND k.id % 7 = 0 AND b.v < 300`);
    expect(got3, `seed ${SEED + 1}`).toEqual([[String(sparse.length), String(sparse.reduce((a, r) => a + r[0], 0))]]);
  });
});
