import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTestServer, type TestServer } from './helpers.js';

/**
 * Prepared INSERTs (parameters bound as literals, no per-execution parse) and large literal
 * INSERT ... VALUES (values-scan.ts) must behave as the general path: same rows, same errors,
 * same warnings. Twin tables are filled the fast way and the general way and compared.
 */

let s: TestServer;

beforeAll(async () => {
  s = await startEmbeddedTestServer('saiga-insert-');
});
afterAll(async () => {
  await s.close();
});

const options = (): mysql.ConnectionOptions => ({
  host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, multipleStatements: true,
});

async function failure(p: Promise<unknown>): Promise<{ errno: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { errno?: number; message: string };
    return { errno: err.errno, message: err.message };
  }
  throw new Error('expected the statement to fail');
}

const DDL = (t: string): string =>
  `CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(10,2), qty INT DEFAULT 7, d DATE, ts TIMESTAMP, ok BOOLEAN)`;

describe('fast INSERT paths', () => {
  it('prepared INSERT: same rows, errors and warnings as the text path', async () => {
    const c = await mysql.createConnection(options());
    try {
      await c.query('CREATE DATABASE ins1; USE ins1');
      await c.query(DDL('fast'));
      await c.query(DDL('slow'));
      const values: unknown[][] = [
        [1, 'a', '1.25', 3, '2024-01-02', '2024-01-02 03:04:05.5', true],
        [2, "it's", 2.5, null, null, null, false],
        [3, 'x', null, -4, '1999-12-31', '1999-12-31 23:59:59', null],
        ['4', 'str id', '0.01', '12', '2024-02-29', '2024-02-29 00:00:00', 1],
        [9007199254740993n, 'big', '-99999999.99', 2147483647, '1970-01-01', '1970-01-01 00:00:00', 0],
      ];
      for (const v of values) {
        await c.execute('INSERT INTO fast VALUES (?, ?, ?, ?, ?, ?, ?)', v);
        const lit = v.map((x) => (x === null ? 'NULL' : typeof x === 'string' ? `'${x.replace(/'/g, "''")}'` : typeof x === 'boolean' ? (x ? 'TRUE' : 'FALSE') : String(x)));
        await c.query(`INSERT INTO slow VALUES (${lit.join(', ')})`);
      }
      // Column lists and defaults.
      await c.execute('INSERT INTO fast (name, id) VALUES (?, ?)', ['partial', 10]);
      await c.query("INSERT INTO slow (name, id) VALUES ('partial', 10)");
      const [f] = await c.query('SELECT * FROM fast ORDER BY id');
      const [g] = await c.query('SELECT * FROM slow ORDER BY id');
      expect(f).toEqual(g);
      expect((f as unknown[]).length).toBe(6);

      // Errors: duplicate key, NULL into NOT NULL, a non-number into an INT, unknown column / table.
      const dupFast = await failure(c.execute('INSERT INTO fast VALUES (?, ?, ?, ?, ?, ?, ?)', [1, 'dup', null, null, null, null, null]));
      const dupSlow = await failure(c.query("INSERT INTO slow VALUES (1, 'dup', NULL, NULL, NULL, NULL, NULL)"));
      expect(dupFast.errno).toBe(1062);
      expect(dupFast).toEqual(dupSlow);
      const nnFast = await failure(c.execute('INSERT INTO fast (id, name) VALUES (?, ?)', [20, null]));
      const nnSlow = await failure(c.query('INSERT INTO slow (id, name) VALUES (20, NULL)'));
      expect(nnFast).toEqual(nnSlow);
      const badFast = await failure(c.execute('INSERT INTO fast (id, name, qty) VALUES (?, ?, ?)', [21, 'q', 'abc']));
      const badSlow = await failure(c.query("INSERT INTO slow (id, name, qty) VALUES (21, 'q', 'abc')"));
      expect(badFast).toEqual(badSlow);
      expect((await failure(c.execute('INSERT INTO fast (id, nope) VALUES (?, ?)', [22, 1]))).errno).toBe(1054);
      expect((await failure(c.execute('INSERT INTO missing VALUES (?, ?)', [22, 1]))).errno).toBe(1146);

      // INSERT IGNORE: duplicates become warnings, as on the text path.
      const [ri] = await c.execute('INSERT IGNORE INTO fast (id, name) VALUES (?, ?)', [1, 'again']);
      const [si] = await c.query("INSERT IGNORE INTO slow (id, name) VALUES (1, 'again')");
      expect((ri as mysql.ResultSetHeader).affectedRows).toBe((si as mysql.ResultSetHeader).affectedRows);
      const [ws] = await c.query('SHOW WARNINGS');
      await c.execute('INSERT IGNORE INTO fast (id, name) VALUES (?, ?)', [1, 'again']);
      const [wf] = await c.query('SHOW WARNINGS');
      expect((ri as mysql.ResultSetHeader).affectedRows).toBe(0);
      expect((ri as mysql.ResultSetHeader).warningStatus).toBe((si as mysql.ResultSetHeader).warningStatus);
      expect(wf).toEqual(ws);
      // REPLACE through a prepared statement overwrites.
      await c.execute('REPLACE INTO fast (id, name) VALUES (?, ?)', [2, 'replaced']);
      const [rep] = await c.query('SELECT name, qty FROM fast WHERE id = 2');
      expect(rep).toEqual([{ name: 'replaced', qty: 7 }]);
    } finally {
      await c.end();
    }
  });

  it('large literal INSERT ... VALUES: same rows and errors as the pre-pass path', async () => {
    const c = await mysql.createConnection(options());
    try {
      await c.query('CREATE DATABASE ins2; USE ins2');
      await c.query(DDL('fast'));
      await c.query(DDL('slow'));
      const rows: string[] = [];
      for (let i = 0; i < 500; i++) {
        rows.push(`(${i}, 'n''${i}\\t', ${i % 3 === 0 ? 'NULL' : `${i}.5`}, ${i % 5 === 0 ? 'DEFAULT' : -i}, '2024-01-${String((i % 28) + 1).padStart(2, '0')}', "2024-01-01 00:00:${String(i % 60).padStart(2, '0')}", ${i % 2 === 0 ? 'TRUE' : 'false'})`);
      }
      const body = rows.join(',');
      await c.query(`INSERT INTO fast VALUES ${body}`);
      // The general pre-pass path: a leading comment makes the scanner decline.
      await c.query(`/* general path */ INSERT INTO slow VALUES ${body}`);
      const [f] = await c.query('SELECT * FROM fast ORDER BY id');
      const [g] = await c.query('SELECT * FROM slow ORDER BY id');
      expect((f as unknown[]).length).toBe(500);
      expect(f).toEqual(g);
      const dupRows = `(1000, 'new', NULL, NULL, NULL, NULL, NULL),${body}`;
      const dupFast = await failure(c.query(`INSERT INTO fast VALUES ${dupRows}`));
      const dupSlow = await failure(c.query(`/* general path */ INSERT INTO slow VALUES ${dupRows}`));
      expect(dupFast.errno).toBe(1062);
      expect(dupFast).toEqual(dupSlow);
      const [n] = await c.query('SELECT COUNT(*) AS n FROM fast WHERE id = 1000');
      expect(n).toEqual([{ n: '1' }]); // the other rows of the statement are written (Kudu semantics)
    } finally {
      await c.end();
    }
  });
});
