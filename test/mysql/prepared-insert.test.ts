import { describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { harness, type Harness } from '../query/helpers.js';

/**
 * A prepared INSERT ... VALUES resolves its table and target columns once, at PREPARE
 * (query/session.ts InsertTarget). Every later execution must still write where, and how, the
 * statement text would now: after ALTER TABLE, after the table was dropped and recreated with
 * another column order, after USE of another database, and with a column list. Each stage
 * compares the prepared statement with the same text executed unprepared with the same parameters.
 */

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isSaigaError(e) ? `error ${e.code}` : `error ${String(e)}`;
  }
}

async function both(h: Harness, sql: string, prepared: { execute(params: readonly unknown[]): Promise<unknown> }, a: unknown[], b: unknown[]): Promise<[string, string]> {
  const x = await outcome(prepared.execute(a as never));
  const y = await outcome(h.session.execute(sql, { params: b as never }));
  return [x, y];
}

describe('prepared INSERT with the table resolved at prepare', () => {
  it('writes through the current table after ALTER, DROP + CREATE and USE', async () => {
    const h = await harness();
    const sql = 'INSERT INTO t VALUES (?, ?, ?)';
    await h.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20), n INT)');
    const ins = await h.session.prepare(sql);
    expect(await both(h, sql, ins, [1, 'a', 10], [2, 'b', 20])).toEqual(['ok', 'ok']);
    expect(await h.q('SELECT id, v, n FROM t ORDER BY id')).toEqual([['1', 'a', 10], ['2', 'b', 20]]);
    // A duplicate key fails the same way on both paths.
    expect(await both(h, sql, ins, [1, 'x', 0], [2, 'y', 0])).toEqual(['error AlreadyPresent', 'error AlreadyPresent']);

    // ALTER: a fourth column; three values no longer match the table.
    await h.exec('ALTER TABLE t ADD COLUMN z INT');
    const [p1, u1] = await both(h, sql, ins, [3, 'c', 30], [4, 'd', 40]);
    expect(p1).toBe(u1);
    expect(p1).not.toBe('ok');

    // DROP + CREATE with another column order: the values land by the new schema.
    await h.exec('DROP TABLE t');
    await h.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, n INT, v VARCHAR(20))');
    expect(await both(h, sql, ins, [5, 50, 'e'], [6, 60, 'f'])).toEqual(['ok', 'ok']);
    expect(await h.q('SELECT id, n, v FROM t ORDER BY id')).toEqual([['5', 50, 'e'], ['6', 60, 'f']]);

    // USE another database with its own t: the unqualified name follows the session.
    await h.exec('CREATE DATABASE other; USE other');
    await h.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20), n INT)');
    expect(await both(h, sql, ins, [7, 'g', 70], [8, 'h', 80])).toEqual(['ok', 'ok']);
    expect(await h.q('SELECT id, v, n FROM other.t ORDER BY id')).toEqual([['7', 'g', 70], ['8', 'h', 80]]);
    expect(await h.q('SELECT count(*) FROM test.t')).toEqual([['2']]);

    // Dropped: both paths report the missing table.
    await h.exec('DROP TABLE other.t');
    const [p2, u2] = await both(h, sql, ins, [9, 'i', 90], [10, 'j', 100]);
    expect(p2).toBe(u2);
    expect(p2).toMatch(/^error /);
  });

  it('maps a column list and fills defaults and NULLs like the unprepared statement', async () => {
    const h = await harness();
    await h.exec("CREATE TABLE c (id INT PRIMARY KEY, a VARCHAR(8) DEFAULT 'dflt', b INT, d DOUBLE)");
    const sql = 'INSERT INTO c (d, id, b) VALUES (?, ?, ?)';
    const ins = await h.session.prepare(sql);
    expect(await both(h, sql, ins, [1.5, 1, null], [2.5, 2, 7])).toEqual(['ok', 'ok']);
    expect(await h.q('SELECT id, a, b, d FROM c ORDER BY id')).toEqual([[1, 'dflt', null, 1.5], [2, 'dflt', 7, 2.5]]);
    // A bigint key parameter and a string for the INT column coerce as the unprepared text does.
    expect(await both(h, sql, ins, [3.5, 3n, '1'], [4.5, 4n, '2'])).toEqual(['ok', 'ok']);
    expect(await h.q('SELECT count(*) FROM c')).toEqual([['4']]);
  });
});

describe('prepared single-row INSERT: parameters to column values', () => {
  it('stores what the unprepared statement with the same parameters stores, for every column type', async () => {
    const h = await harness();
    const types = ['INT', 'BIGINT', 'DOUBLE', 'DECIMAL(10,2)', 'VARCHAR(40)', 'BOOLEAN', 'DATE', 'TIMESTAMP'];
    const values: unknown[] = [
      0, -0, 7, -12, 1.5, 2.675, 123456789, 1e20, 1e-7, 1e21, NaN, Infinity, 9007199254740993n, -5n,
      '42', ' 17 ', '3.25', 'abc', '2024-02-29', '2024-02-29 12:34:56.5', '', true, false, null,
    ];
    const seen = new Set<string>();
    let id = 0;
    for (let t = 0; t < types.length; t++) {
      await h.exec(`CREATE TABLE p${t} (id INT PRIMARY KEY, v ${types[t]})`);
      const sql = `INSERT INTO p${t} VALUES (?, ?)`;
      const ins = await h.session.prepare(sql);
      for (const v of values) {
        const a = ++id;
        const b = ++id;
        const [x, y] = await both(h, sql, ins, [a, v], [b, v]);
        const where = `${types[t]} <- ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`;
        expect(x, where).toBe(y);
        seen.add(x);
        if (x !== 'ok') continue;
        const rows = await h.q(`SELECT id, v FROM p${t} WHERE id IN (${a}, ${b}) ORDER BY id`);
        expect(rows.map((r) => r[1]), where).toEqual([rows[1]?.[1], rows[1]?.[1]]);
        expect(rows.length, where).toBe(2);
      }
    }
    // Both outcomes occur: the comparison covers conversions and their errors.
    expect(seen.has('ok')).toBe(true);
    expect([...seen].some((o) => o.startsWith('error'))).toBe(true);
  });
});
