import { describe, expect, it } from 'vitest';
import { harness } from './helpers.js';
import { mulberry32 as rng } from '../../bench/random.js';

// COUNT per left row of a LEFT JOIN is computed before the join (optimize.ts eagerCount, TPC-H
// Q13). Answers against a model: customers without orders, orders whose counted column is NULL,
// orders whose key matches no customer, COUNT(*) (1 for an unmatched customer) and a filter on
// the right side.
const SEED = 20261124;

describe(`eager COUNT under LEFT JOIN, seed ${SEED}`, () => {
  it('counts per left key match a model', async () => {
    const rnd = rng(SEED);
    const h = await harness();
    h.storage.batchRowCount = 256;
    await h.exec(`CREATE TABLE cust (id INT PRIMARY KEY, seg STRING)`);
    await h.exec(`CREATE TABLE ord (id INT PRIMARY KEY, cid INT, note STRING, amt INT)`);
    const cust: [number, string][] = [];
    for (let i = 0; i < 400; i++) cust.push([i, rnd() < 0.5 ? 'a' : 'b']);
    const ord: [number, number | null, string, number | null][] = [];
    for (let i = 0; i < 3000; i++) {
      ord.push([i, rnd() < 0.05 ? null : Math.floor(rnd() * 450), rnd() < 0.1 ? 'has special requests' : 'plain', rnd() < 0.1 ? null : Math.floor(rnd() * 50)]);
    }
    const lit = (x: number | string | null): string => (x === null ? 'NULL' : typeof x === 'string' ? `'${x}'` : String(x));
    await h.exec(`INSERT INTO cust VALUES ${cust.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
    for (let i = 0; i < ord.length; i += 1000) await h.exec(`INSERT INTO ord VALUES ${ord.slice(i, i + 1000).map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
    const kept = ord.filter((o) => !o[2].includes('special'));
    const model = (pick: (o: (typeof ord)[number]) => boolean, star: boolean): Map<number, number> => {
      const m = new Map<number, number>();
      for (const c of cust) {
        const ms = kept.filter((o) => o[1] === c[0]);
        m.set(c[0], star ? Math.max(1, ms.length) : ms.filter(pick).length);
      }
      return m;
    };
    const got = await h.q(`SELECT c.id, COUNT(o.amt), COUNT(*), COUNT(o.id) FROM cust c LEFT JOIN ord o ON c.id = o.cid AND o.note NOT LIKE '%special%' GROUP BY c.id ORDER BY c.id`);
    const amt = model((o) => o[3] !== null, false), star = model(() => true, true), ids = model(() => true, false);
    expect(got, `seed ${SEED}`).toEqual(cust.map((c) => [c[0], String(amt.get(c[0])), String(star.get(c[0])), String(ids.get(c[0]))]));
    // TPC-H Q13's shape: the distribution of the counts.
    const dist = await h.q(`SELECT cnt, COUNT(*) FROM (SELECT c.id, COUNT(o.id) AS cnt FROM cust c LEFT JOIN ord o ON c.id = o.cid AND o.note NOT LIKE '%special%' GROUP BY c.id) AS x GROUP BY cnt ORDER BY cnt`);
    const want = new Map<number, number>();
    for (const v of ids.values()) want.set(v, (want.get(v) ?? 0) + 1);
    expect(dist, `seed ${SEED}`).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), String(v)]));
    // Not the shape (groups are not the join key): the plain join + aggregate, same answers.
    const bySeg = await h.q(`SELECT c.seg, COUNT(o.id) FROM cust c LEFT JOIN ord o ON c.id = o.cid AND o.note NOT LIKE '%special%' GROUP BY c.seg ORDER BY c.seg`);
    const segs = new Map<string, number>();
    for (const c of cust) segs.set(c[1], (segs.get(c[1]) ?? 0) + ids.get(c[0])!);
    expect(bySeg).toEqual([...segs.entries()].sort().map(([k, v]) => [k, String(v)]));
    // Groups a primary key determines (c.seg by c.id) become ANY_VALUE aggregates: same answers.
    const dep = await h.q(`SELECT c.seg, SUM(o.amt), c.id, COUNT(*) FROM cust c JOIN ord o ON c.id = o.cid GROUP BY c.seg, c.id ORDER BY c.id`);
    const wantDep: unknown[][] = [];
    for (const c of cust) {
      const ms = ord.filter((o) => o[1] === c[0]);
      if (ms.length === 0) continue;
      const amts = ms.filter((o) => o[3] !== null);
      wantDep.push([c[1], amts.length === 0 ? null : String(amts.reduce((a, o) => a + o[3]!, 0)), c[0], String(ms.length)]);
    }
    expect(dep, `seed ${SEED}`).toEqual(wantDep);
    const depPlan = await h.q(`EXPLAIN SELECT c.seg, SUM(o.amt), c.id FROM cust c JOIN ord o ON c.id = o.cid GROUP BY c.seg, c.id`);
    expect(depPlan.map((r) => String(r[0])).join('\n')).toMatch(/HashAggregate groups=1 aggs=\[sum, any_value\]/);
    const plan = await h.q(`EXPLAIN SELECT c.id, COUNT(o.id) FROM cust c LEFT JOIN ord o ON c.id = o.cid GROUP BY c.id`);
    expect(plan.map((r) => String(r[0])).join('\n')).toMatch(/HashJoin left[^\n]*\n[^\n]*Scan test\.cust[^\n]*\n\s*HashAggregate groups=1 aggs=\[count\]/);
  });
});
