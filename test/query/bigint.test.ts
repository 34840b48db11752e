import { describe, expect, it } from 'vitest';
import { harness } from './helpers.js';

// Values around 2^53 = 9007199254740992: neighbours collapse to the same double.
const B = 9007199254740992n;
const ids = [B - 1n, B, B + 1n, B + 2n, B + 3n, 9223372036854775807n, -9223372036854775807n, 1234567890123456789n, 1234567890123456788n];

async function setup() {
  const h = await harness();
  await h.exec('CREATE TABLE s (id BIGINT PRIMARY KEY, v BIGINT, d DECIMAL(30,2), tag VARCHAR(10))');
  const rows = ids.map((x, i) => `(${x}, ${x / 2n}, ${x}.${String(i).padStart(2, '0')}, 't${i % 3}')`).join(', ');
  await h.exec(`INSERT INTO s VALUES ${rows}`);
  await h.exec('CREATE TABLE r (rid BIGINT PRIMARY KEY, name VARCHAR(10))');
  await h.exec(`INSERT INTO r VALUES (${B + 1n}, 'plus1'), (${B + 3n}, 'plus3'), (${1234567890123456789n}, 'snow')`);
  return h;
}

describe('BIGINT beyond 2^53 is exact', () => {
  it('round-trips values through storage and Arrow output', async () => {
    const h = await setup();
    const got = await h.q('SELECT id, v FROM s ORDER BY id');
    const want = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((x) => [x.toString(), (x / 2n).toString()]);
    expect(got).toEqual(want);
  });

  it('equality and range filters distinguish neighbours', async () => {
    const h = await setup();
    expect(await h.q(`SELECT id FROM s WHERE id = ${B + 1n}`)).toEqual([[(B + 1n).toString()]]);
    expect(await h.q(`SELECT id FROM s WHERE id = ${B + 2n} + 1`)).toEqual([[(B + 3n).toString()]]);
    expect(await h.q(`SELECT id FROM s WHERE id > ${B + 1n} AND id < ${B + 4n} ORDER BY id`)).toEqual([[(B + 2n).toString()], [(B + 3n).toString()]]);
    expect(await h.q(`SELECT id FROM s WHERE id IN (${B + 1n}, ${B + 3n}) ORDER BY id`)).toEqual([[(B + 1n).toString()], [(B + 3n).toString()]]);
    expect(await h.q(`SELECT COUNT(*) FROM s WHERE id <> ${B}`)).toEqual([['8']]);
    expect(await h.q(`SELECT id FROM s WHERE id = -9223372036854775807`)).toEqual([['-9223372036854775807']]);
    // non-key column (no storage pushdown through the key path)
    expect(await h.q(`SELECT id FROM s WHERE id + 0 = 1234567890123456789`)).toEqual([["1234567890123456789"]]);
    expect(await h.q(`SELECT id FROM s WHERE v + 0 = ${9223372036854775807n / 2n}`)).toEqual([["9223372036854775807"]]);
  });

  it('joins on big keys match exactly', async () => {
    const h = await setup();
    const got = await h.q('SELECT s.id, r.name FROM s JOIN r ON s.id = r.rid ORDER BY s.id');
    expect(got).toEqual([[(B + 1n).toString(), 'plus1'], [(B + 3n).toString(), 'plus3'], ['1234567890123456789', 'snow']]);
    const two = await h.q('SELECT s.id, r.name FROM s JOIN r ON s.id = r.rid AND s.tag = s.tag ORDER BY s.id');
    expect(two).toEqual(got);
    const semi = await h.q('SELECT id FROM s WHERE id IN (SELECT rid FROM r) ORDER BY id');
    expect(semi.map((r) => r[0])).toEqual([(B + 1n).toString(), (B + 3n).toString(), '1234567890123456789']);
  });

  it('GROUP BY and DISTINCT keep neighbours apart', async () => {
    const h = await setup();
    expect(await h.q(`SELECT COUNT(DISTINCT id) FROM s`)).toEqual([['9']]);
    const g = await h.q(`SELECT id, COUNT(*) FROM s WHERE id >= ${B - 1n} AND id <= ${B + 3n} GROUP BY id ORDER BY id`);
    expect(g).toEqual([0n, 1n, 2n, 3n, 4n].map((k) => [(B - 1n + k).toString(), '1']));
    const g2 = await h.q(`SELECT id, tag, COUNT(*) FROM s WHERE id > ${B} AND id < ${B + 4n} GROUP BY id, tag ORDER BY id`);
    expect(g2.map((r) => r[0])).toEqual([(B + 1n).toString(), (B + 2n).toString(), (B + 3n).toString()]);
    expect(await h.q(`SELECT DISTINCT id FROM s WHERE id > ${B} AND id < ${B + 4n} ORDER BY id DESC`)).toEqual([[(B + 3n).toString()], [(B + 2n).toString()], [(B + 1n).toString()]]);
  });

  it('MIN / MAX / SUM / ORDER BY are exact', async () => {
    const h = await setup();
    expect(await h.q(`SELECT MIN(id), MAX(id) FROM s WHERE id > ${B}`)).toEqual([[(B + 1n).toString(), '9223372036854775807']]);
    expect(await h.q(`SELECT MAX(id) FROM s WHERE id < ${B + 3n}`)).toEqual([[(B + 2n).toString()]]);
    expect(await h.q(`SELECT SUM(id) FROM s WHERE id >= ${B} AND id <= ${B + 3n}`)).toEqual([[(4n * B + 6n).toString()]]);
    const top = await h.q(`SELECT id FROM s WHERE id > 0 ORDER BY id DESC LIMIT 3`);
    expect(top).toEqual([['9223372036854775807'], ['1234567890123456789'], ['1234567890123456788']]);
  });

  it('arithmetic and casts are exact', async () => {
    const h = await setup();
    expect(await h.q(`SELECT id + 1, id - 1, id * 1 FROM s WHERE id = ${B + 1n}`)).toEqual([[(B + 2n).toString(), B.toString(), (B + 1n).toString()]]);
    expect(await h.q(`SELECT ${B} + 3, 4503599627370497 * 2, -(${B + 1n})`)).toEqual([[(B + 3n).toString(), (B + 2n).toString(), (-(B + 1n)).toString()]]);
    expect(await h.q(`SELECT CAST(id AS CHAR), CONCAT('#', id) FROM s WHERE id = ${B + 3n}`)).toEqual([[(B + 3n).toString(), `#${B + 3n}`]]);
    expect(await h.q(`SELECT d FROM s WHERE id = 1234567890123456789`)).toEqual([['1234567890123456789.07']]);
    expect(await h.q(`SELECT id FROM s WHERE d = 1234567890123456788.08`)).toEqual([['1234567890123456788']]);
    expect(await h.q(`SELECT CAST('${B + 1n}' AS SIGNED)`)).toEqual([[(B + 1n).toString()]]);
    expect(await h.q(`SELECT id % 10, id DIV 10 FROM s WHERE id = 1234567890123456789`)).toEqual([['9', '123456789012345678']]);
  });

  it('UPDATE / DELETE target the exact row and prepared parameters stay exact', async () => {
    const h = await setup();
    await h.exec(`UPDATE s SET v = v + 1 WHERE id = ${B + 1n}`);
    expect(await h.q(`SELECT id, v FROM s WHERE id IN (${B}, ${B + 1n}, ${B + 2n}) ORDER BY id`)).toEqual([
      [B.toString(), (B / 2n).toString()], [(B + 1n).toString(), ((B + 1n) / 2n + 1n).toString()], [(B + 2n).toString(), ((B + 2n) / 2n).toString()],
    ]);
    await h.exec(`DELETE FROM s WHERE id = ${B + 2n}`);
    expect(await h.q(`SELECT COUNT(*) FROM s WHERE id >= ${B} AND id <= ${B + 3n}`)).toEqual([['3']]);
    const stmt = await h.session.prepare('SELECT id FROM s WHERE id = ?');
    const rs = await stmt.execute([B + 3n]);
    const { rowsOf } = await import('./helpers.js');
    expect(await rowsOf(rs)).toEqual([[(B + 3n).toString()]]);
  });
});
