import { describe, expect, it } from 'vitest';
import { harness } from './helpers.js';

describe('long operators: nested-loop joins, chunked sorts, cancellation', () => {
  it('cross joins with a non-equi filter run as a nested loop', async () => {
    const h = await harness();
    await h.exec('CREATE TABLE a (x INT PRIMARY KEY); CREATE TABLE b (y INT PRIMARY KEY)');
    await h.exec(`INSERT INTO a VALUES ${Array.from({ length: 300 }, (_, i) => `(${i})`).join(',')}`);
    await h.exec(`INSERT INTO b VALUES ${Array.from({ length: 400 }, (_, i) => `(${i * 2})`).join(',')}`);
    let want = 0;
    for (let x = 0; x < 300; x++) for (let k = 0; k < 400; k++) if (x < k * 2) want++;
    expect(await h.q('SELECT COUNT(*) FROM a, b WHERE a.x < b.y')).toEqual([[String(want)]]);
    expect(await h.q('SELECT COUNT(*) FROM a JOIN b ON a.x > b.y + 500')).toEqual([['0']]);
    const lj = await h.q('SELECT a.x, COUNT(b.y) FROM a LEFT JOIN b ON a.x > b.y WHERE a.x < 3 GROUP BY a.x ORDER BY a.x');
    expect(lj).toEqual([[0, '0'], [1, '1'], [2, '1']]);
  });

  it('sorts over many runs merge into the right order (and INSERT ... SELECT from a 5-way cross join)', async () => {
    const h = await harness();
    await h.exec('CREATE TABLE d (x INT PRIMARY KEY); CREATE TABLE big (n INT PRIMARY KEY, k INT)');
    await h.exec('INSERT INTO d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
    await h.exec('INSERT INTO big SELECT a.x*10000 + b.x*1000 + c.x*100 + e.x*10 + f.x, ((a.x*10000 + b.x*1000 + c.x*100 + e.x*10 + f.x) * 7919) % 1009 FROM d a, d b, d c, d e, d f');
    expect(await h.q('SELECT COUNT(*), COUNT(DISTINCT n) FROM big')).toEqual([['100000', '100000']]);
    const got = await h.q('SELECT n, k FROM big ORDER BY k DESC, n');
    const want: [number, number][] = [];
    for (let n = 0; n < 100000; n++) want.push([n, (n * 7919) % 1009]);
    want.sort((p, q) => q[1] - p[1] || p[0] - q[0]);
    expect(got.length).toBe(100000);
    for (let i = 0; i < got.length; i += 997) expect(got[i]).toEqual(want[i]);
    expect(got[99999]).toEqual(want[99999]);
  });

  it('an aborted signal stops a many-to-many join midway', async () => {
    const h = await harness();
    await h.exec('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await h.exec(`INSERT INTO t VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, ${i % 5})`).join(',')}`);
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 100);
    await expect(h.session.execute('SELECT COUNT(*) FROM t a JOIN t b ON a.v = b.v JOIN t c ON b.v = c.v', { signal: ac.signal })).rejects.toMatchObject({ code: 'Cancelled' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
