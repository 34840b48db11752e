import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { Value } from '../../src/common/types.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import type { QueryEngine, StatementResult } from '../../src/query/api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * The prepared point-select fast path (query/point-path.ts, rowValues -> writeBinaryValueRows)
 * must answer exactly as the generic path: compared row by row against the same statement run
 * through the planner (text protocol / unprepared), on keys that exist, keys that do not, and
 * parameters the fast path declines.
 */

let dir: string;
let storage: StorageApi;
let engine: QueryEngine;
let s: TestServer;
const SEED = 0x5eed;

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-point-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  engine = createQueryEngine({ storage });
  s = await startTestServer(undefined, engine);
  const c = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', multipleStatements: true });
  await c.query('CREATE DATABASE pp; USE pp');
  await c.query('CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), qty INT, w DOUBLE, f FLOAT, ok BOOLEAN, d DATE, ts TIMESTAMP, b VARBINARY(8), s SMALLINT, t TINYINT)');
  const rows: string[] = [];
  for (let i = 1; i <= 60; i++) {
    rows.push(i % 7 === 0
      ? `(${i}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`
      : `(${i}, 'item${i}é', ${i % 2 === 0 ? '-' : ''}${i}.25, ${i * 10}, ${i / 4}, ${i / 8}, ${i % 2 === 0 ? 'TRUE' : 'FALSE'}, '2024-03-0${(i % 9) + 1}', '2024-03-01 10:00:0${i % 10}.5', X'0${i % 10}ff', ${-i}, ${i % 100})`);
  }
  rows.push(`(9007199254740993, 'big', 1.00, 1, 1, 1, TRUE, '1970-01-01', '1970-01-01 00:00:00', X'', 1, 1)`);
  rows.push(`(-5, 'neg', 0.01, -1, -0.5, -0.5, FALSE, '1969-12-31', '1969-12-31 23:59:59.999999', X'00', -32768, -128)`);
  await c.query(`INSERT INTO items VALUES ${rows.join(',')}`);
  await c.query('CREATE TABLE pairs (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))');
  await c.query("INSERT INTO pairs VALUES (1, 'x', 10), (1, 'y', 11), (2, 'x', 20), (3, '', 30)");
  await c.end();
});
afterAll(async () => {
  await s.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const clientOptions = (): mysql.ConnectionOptions => ({
  host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', database: 'pp', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true,
});

function literal(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (v === null) return 'NULL';
  return String(v);
}

async function rowsOf(r: StatementResult): Promise<unknown[][]> {
  if (r.kind !== 'rows') throw new Error(`expected rows, got ${r.kind}`);
  const out: unknown[][] = [];
  for await (const b of r.batches) {
    for (let i = 0; i < b.numRows; i++) out.push(b.schema.fields.map((_, k) => b.getChildAt(k)?.get(i)));
  }
  return out;
}

describe('prepared point-select fast path', () => {
  it('answers like the generic path for random keys, projections and aliases (binary protocol)', async () => {
    const c = await mysql.createConnection(clientOptions());
    const rand = rng(SEED);
    const shapes = [
      'SELECT * FROM items WHERE id = ?',
      'SELECT name, price, qty FROM items WHERE id = ?',
      'SELECT ts, d, b, ok, w, f, s, t FROM pp.items WHERE ? = id',
      'SELECT i.name AS n, i.id, i.name FROM items i WHERE i.id = ?',
      'SELECT v, b FROM pairs WHERE b = ? AND a = ?',
      'SELECT * FROM pairs WHERE a = ? AND b = ?',
    ];
    try {
      for (let k = 0; k < 200; k++) {
        const shape = shapes[Math.floor(rand() * shapes.length)]!;
        let params: unknown[];
        if (shape.includes('pairs')) {
          const a = Math.floor(rand() * 4);
          const b = ['x', 'y', '', 'z'][Math.floor(rand() * 4)]!;
          params = shape.includes('b = ? AND a') ? [b, a] : [a, b];
        } else {
          const r = rand();
          params = [r < 0.05 ? '9007199254740993' : r < 0.1 ? -5 : Math.floor(rand() * 70)];
        }
        let i = 0;
        const text = shape.replace(/\?/g, () => literal(params[i++]));
        const [bin] = await c.execute(shape, params);
        const [txt] = await c.query(text);
        expect(bin, `seed ${SEED} step ${k}: ${text}`).toEqual(txt);
      }
    } finally {
      await c.end();
    }
  });

  it('takes the fast path (rowValues) and agrees with the planner at the engine level', async () => {
    const session = engine.openSession({ user: 'root', connectionId: 9001, database: 'pp' });
    const ps = await session.prepare('SELECT name, price, ts, id FROM items WHERE id = ?');
    for (const id of [1, 7, 14, 59, 61, -5]) {
      const fast = await ps.execute([id]);
      expect(fast.kind === 'rows' && fast.rowValues !== undefined, `id ${id}: fast path taken`).toBe(true);
      const slow = (await session.execute(`SELECT name, price, ts, id FROM items WHERE id = ${id}`))[0]!;
      expect(await rowsOf(fast), `id ${id}`).toEqual(await rowsOf(slow));
    }
    // Parameters the fast path declines still get SQL semantics from the generic path.
    const declined: [Value, number][] = [['3', 1], [3.5, 0], [null, 0], [3, 1]];
    for (const [p, n] of declined) {
      const r = await ps.execute([p]);
      expect((await rowsOf(r)).length, `param ${String(p)}`).toBe(n);
    }
    const str = await ps.execute(['3']);
    expect(str.kind === 'rows' && str.rowValues === undefined, "a string parameter for a BIGINT key goes the generic way").toBe(true);
    session.close();
  });

  it('replans after ALTER TABLE and after the table is recreated', async () => {
    const c = await mysql.createConnection(clientOptions());
    try {
      await c.query('CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(10))');
      await c.query("INSERT INTO kv VALUES (1, 'one'), (2, 'two')");
      const [a] = await c.execute('SELECT * FROM kv WHERE id = ?', [1]);
      expect(a).toEqual([{ id: 1, v: 'one' }]);
      await c.query('ALTER TABLE kv ADD COLUMN n INT NULL');
      await c.query("UPDATE kv SET n = 5 WHERE id = 1");
      const [b] = await c.execute('SELECT * FROM kv WHERE id = ?', [1]);
      expect(b).toEqual([{ id: 1, v: 'one', n: 5 }]);
      await c.query('DROP TABLE kv');
      await c.query('CREATE TABLE kv (id VARCHAR(5) PRIMARY KEY, v INT)');
      await c.query("INSERT INTO kv VALUES ('1', 42)");
      const [d] = await c.execute('SELECT * FROM kv WHERE id = ?', ['1']);
      expect(d).toEqual([{ id: '1', v: 42 }]);
      await c.query('DROP TABLE kv');
      const err = await c.execute('SELECT * FROM kv WHERE id = ?', [1]).then(() => null, (e: { errno?: number }) => e.errno);
      expect(err).toBe(1146);
    } finally {
      await c.end();
    }
  });

  it('sees the connection\'s own writes at once and the current database', async () => {
    const c = await mysql.createConnection(clientOptions());
    try {
      for (let i = 0; i < 20; i++) {
        await c.execute('INSERT INTO pairs VALUES (?, ?, ?)', [100 + i, 'w', i]);
        const [r] = await c.execute('SELECT v FROM pairs WHERE a = ? AND b = ?', [100 + i, 'w']);
        expect(r).toEqual([{ v: i }]);
      }
      await c.query('CREATE DATABASE pp2');
      await c.query('CREATE TABLE pp2.pairs (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))');
      await c.query("INSERT INTO pp2.pairs VALUES (1, 'x', 999)");
      const [before] = await c.execute('SELECT v FROM pairs WHERE a = ? AND b = ?', [1, 'x']);
      expect(before).toEqual([{ v: 10 }]);
      await c.query('USE pp2');
      const [after] = await c.execute('SELECT v FROM pairs WHERE a = ? AND b = ?', [1, 'x']);
      expect(after).toEqual([{ v: 999 }]);
    } finally {
      await c.end();
    }
  });
});
