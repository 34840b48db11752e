import { execFile } from 'node:child_process';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTestServer, type TestServer } from './helpers.js';

/** The endpoint over the real engine and embedded storage, driven by mysql2 and the mariadb CLI. */

let s: TestServer;
const opts = (extra: mysql.ConnectionOptions = {}): mysql.ConnectionOptions => ({
  host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', ...extra,
});

async function errnoOf(p: Promise<unknown>): Promise<[number | undefined, string | undefined]> {
  try {
    await p;
  } catch (e) {
    const err = e as { errno?: number; sqlState?: string };
    return [err.errno, err.sqlState];
  }
  throw new Error('expected the statement to fail');
}

beforeAll(async () => {
  s = await startEmbeddedTestServer('saiga-mysql-');
});
afterAll(async () => {
  await s.close();
});

describe('real engine over mysql2', () => {
  it('DDL, prepared inserts, text and binary results of every type', async () => {
    const c = await mysql.createConnection(opts({ dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, multipleStatements: true }));
    await c.query('CREATE DATABASE shop; USE shop');
    await c.query('CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), qty INT, w DOUBLE, ok BOOLEAN, d DATE, ts TIMESTAMP)');
    for (let i = 1; i <= 30; i++) {
      await c.execute('INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [i, `item${i}`, `${i}.25`, i * 10, i / 4, i % 2 === 0, '2024-03-0' + ((i % 9) + 1), `2024-03-01 10:00:0${i % 10}.5`]);
    }
    await c.query("INSERT INTO items (id) VALUES (100)");
    const [text] = await c.query('SELECT * FROM items WHERE id IN (2, 100) ORDER BY id');
    const [bin] = await c.execute('SELECT * FROM items WHERE id IN (?, ?) ORDER BY id', [2, 100]);
    const expected = [
      { id: '2', name: 'item2', price: '2.25', qty: 20, w: 0.5, ok: 1, d: '2024-03-03', ts: '2024-03-01 10:00:02.500000' },
      { id: '100', name: null, price: null, qty: null, w: null, ok: null, d: null, ts: null },
    ];
    expect(text).toEqual(expected);
    expect(bin).toEqual(expected);
    const [agg] = await c.execute('SELECT COUNT(*) AS n, SUM(qty) AS total FROM items WHERE qty > ?', [100]);
    expect(agg).toEqual([{ n: '20', total: String((11 + 30) * 20 / 2 * 10) }]);
    await c.end();
  });

  it('errors map to errno/SQLSTATE and the connection stays usable', async () => {
    const c = await mysql.createConnection(opts({ database: 'shop' }));
    const cases: Array<[string, number, string]> = [
      ['SELECT * FROM missing', 1146, '42S02'],
      ['SELECT nope FROM items', 1054, '42S22'],
      ['INSERT INTO items (id) VALUES (1)', 1062, '23000'],
      ['USE nowhere', 1049, '42000'],
      ['CREATE TABLE items (id INT PRIMARY KEY)', 1050, '42S01'],
      ['CREATE DATABASE shop', 1007, 'HY000'],
    ];
    for (const [sql, errno, state] of cases) {
      expect([sql, ...(await errnoOf(c.query(sql)))]).toEqual([sql, errno, state]);
      const [rows] = await c.query('SELECT name FROM items WHERE id = 1');
      expect(rows).toEqual([{ name: 'item1' }]);
    }
    await c.end();
    const noDb = await mysql.createConnection(opts());
    expect(await errnoOf(noDb.query('SELECT * FROM items'))).toEqual([1046, '3D000']);
    await noDb.end();
  });

  it('a pool reads and writes in parallel', async () => {
    const pool = mysql.createPool({ ...opts({ database: 'shop' }), connectionLimit: 6 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => pool.execute('INSERT INTO items (id, qty) VALUES (?, ?)', [1000 + i, i])));
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.execute('SELECT qty FROM items WHERE id = ?', [1000 + i])));
    expect(got.map(([r]) => (r as Array<{ qty: number }>)[0]?.qty)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await pool.end();
  });
});

describe('real engine over the mariadb CLI', () => {
  it('SHOW TABLES, DESCRIBE and a query in batch mode', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'mariadb',
        ['-h', '127.0.0.1', '-P', String(s.port), '-uroot', '-prootpw', '--batch', 'shop'],
        { timeout: 20_000 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr }),
      );
      child.stdin?.end('SHOW TABLES;\nSELECT id, name FROM items WHERE id <= 2 ORDER BY id;\nSELECT @@version_comment;\n');
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Tables_in_shop\nitems\nid\tname\n1\titem1\n2\titem2\n@@version_comment\nSaiga, a Kudu-style columnar HTAP store\n');
  });
});
