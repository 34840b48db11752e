import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTestServer, type TestServer } from './helpers.js';
import { mulberry32 as rng } from '../../bench/random.js';

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

const STRINGS = ["plain", "it''s", "back\\\\slash", "tab\\there", "new\\nline", 'dq "x"', "é-ü", "日本語", "emoji 😀", "", "a\\'b", "x\\0y"];

/** One literal row; `bad` sometimes makes a cell fail (NULL into NOT NULL, out of range, not a number). */
function randomRow(r: () => number, idRange: number, bad: boolean): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const id = Math.floor(r() * idRange) - 5;
  const k2 = pick(['a', 'b', 'ü', "q''q"]);
  const name = bad && r() < 0.3 ? 'NULL' : `'${pick(STRINGS)}${Math.floor(r() * 100)}'`;
  const dec = r() < 0.2 ? 'NULL' : bad && r() < 0.3 ? '123456789.5' : pick([`${Math.floor(r() * 1e6) / 100}`, `-${Math.floor(r() * 1e4)}.${Math.floor(r() * 1000)}`, `'${Math.floor(r() * 99)}.125'`, '0', '1e3']);
  const qty = r() < 0.2 ? 'NULL' : bad && r() < 0.3 ? "'abc'" : pick([String(Math.floor(r() * 2e9) - 1e9), `'${Math.floor(r() * 100)}'`, '7', '2.5', 'TRUE']);
  const d = r() < 0.2 ? 'NULL' : `'${1970 + Math.floor(r() * 80)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}'`;
  const ts = r() < 0.2 ? 'NULL' : pick([`'2024-03-0${1 + Math.floor(r() * 9)} 12:34:56.${Math.floor(r() * 1e6)}'`, "'1969-12-31 23:59:59'", "'2038-01-19 03:14:08'"]);
  const ok = pick(['TRUE', 'FALSE', 'NULL', '0', '1', '5']);
  const tiny = bad && r() < 0.3 ? '300' : pick(['-128', '127', '0', 'NULL', `${Math.floor(r() * 200) - 100}`]);
  const f = pick(['NULL', '1.5e300', '-0.25', `${r()}`, '42']);
  return [String(id), `'${k2}'`, name, dec, qty, d, ts, ok, tiny, f];
}

const DDL2 = (t: string): string =>
  `CREATE TABLE ${t} (id BIGINT, k2 VARCHAR(10), name VARCHAR(40) NOT NULL, price DECIMAL(10,3), qty INT DEFAULT 7, d DATE, ts TIMESTAMP, ok BOOLEAN, tiny TINYINT, f DOUBLE, PRIMARY KEY (id, k2))`;

describe('columnar INSERT (literals -> Arrow batch -> writeArrow)', () => {
  it('seeded statements: same rows, errors, affected rows and warnings as the row path', async () => {
    const seed = Number(process.env['SAIGA_TEST_SEED'] ?? 20261121);
    const r = rng(seed);
    const c = await mysql.createConnection(options());
    try {
      await c.query('CREATE DATABASE ins3; USE ins3');
      await c.query(DDL2('fast'));
      await c.query(DDL2('slow'));
      const outcomes: { errno?: number; affected?: number; rows: number }[] = [];
      for (let stmt = 0; stmt < 24; stmt++) {
        const n = 16 + Math.floor(r() * 300);
        const bad = r() < 0.3;
        const ignore = r() < 0.4;
        const partial = r() < 0.25; // a column list leaving qty (DEFAULT 7) and f (nullable) out
        const rows = Array.from({ length: n }, () => randomRow(r, 400 + stmt * 40, bad && r() < 0.02));
        // The row path: a DEFAULT literal anywhere sends the statement there (qty DEFAULT 7 = 7).
        const body = (slow: boolean): string => rows.map((row, i) => {
          const cells = partial ? row.filter((_, k) => k !== 4 && k !== 9) : [...row];
          if (!partial && i === 0) cells[4] = slow ? 'DEFAULT' : '7';
          return `(${cells.join(', ')})`;
        }).join(',\n');
        const cols = partial ? ' (id, k2, name, price, d, ts, ok, tiny)' : '';
        const verb = ignore ? 'INSERT IGNORE' : 'INSERT';
        const run = async (t: string, slow: boolean): Promise<unknown> => {
          const text = partial && slow
            ? `${verb} INTO ${t} (id, k2, name, price, qty, d, ts, ok, tiny) VALUES ${rows.map((row, i) => `(${[...row.slice(0, 4), i === 0 ? 'DEFAULT' : '7', ...row.slice(5, 9)].join(', ')})`).join(',\n')}`
            : `${verb} INTO ${t}${cols} VALUES ${body(slow)}`;
          try {
            const [res] = await c.query(text);
            const h = res as mysql.ResultSetHeader;
            const [w] = await c.query('SHOW WARNINGS');
            return { affected: h.affectedRows, warnings: h.warningStatus, list: w };
          } catch (e) {
            const err = e as { errno?: number; message: string };
            return { errno: err.errno, message: err.message };
          }
        };
        const fr = await run('fast', false);
        const sr = await run('slow', true);
        expect(fr, `seed ${seed} statement ${stmt}`).toEqual(sr);
        outcomes.push({ ...(fr as { errno?: number; affected?: number }), rows: n });
      }
      // The seed exercises each outcome: duplicate-key errors, value errors, IGNORE skipping
      // duplicates (storage reports no row error for them, so no warning on either path), clean inserts.
      expect(outcomes.some((o) => o.errno === 1062), `seed ${seed}`).toBe(true);
      expect(outcomes.some((o) => o.errno !== undefined && o.errno !== 1062), `seed ${seed}`).toBe(true);
      expect(outcomes.some((o) => o.affected !== undefined && o.affected < o.rows), `seed ${seed}`).toBe(true);
      expect(outcomes.filter((o) => o.errno === undefined && (o.affected ?? 0) > 0).length, `seed ${seed}`).toBeGreaterThan(2);
      const [f] = await c.query('SELECT * FROM fast ORDER BY id, k2');
      const [g] = await c.query('SELECT * FROM slow ORDER BY id, k2');
      expect((f as unknown[]).length, `seed ${seed}`).toBeGreaterThan(500);
      expect(f, `seed ${seed}`).toEqual(g);
    } finally {
      await c.end();
    }
  });
});
