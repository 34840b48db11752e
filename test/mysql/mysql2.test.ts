import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUserStore } from '../../src/server/auth/index.js';
import { startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
const opts = (extra: mysql.ConnectionOptions = {}): mysql.ConnectionOptions => ({
  host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', database: 'test', ...extra,
});

async function errorOf(p: Promise<unknown>): Promise<{ errno?: number; sqlState?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { errno?: number; sqlState?: string; message: string };
  }
  throw new Error('expected the statement to fail');
}

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

describe('mysql2: authentication', () => {
  it('caching_sha2_password: full authentication over RSA, then the fast path', async () => {
    for (let i = 0; i < 2; i++) {
      const c = await mysql.createConnection(opts({ user: 'alice', password: 'alicepw' }));
      const [rows] = await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS d');
      expect(rows).toEqual([{ u: 'alice@%', d: 'test' }]);
      await c.end();
    }
  });

  it('mysql_native_password user gets an AuthSwitchRequest and logs in', async () => {
    const c = await mysql.createConnection(opts({ user: 'bob', password: 'bobpw' }));
    const [rows] = await c.query('SELECT USER() AS u');
    expect((rows as Array<{ u: string }>)[0]?.u).toMatch(/^bob@/);
    await c.end();
  });

  it('empty password', async () => {
    const c = await mysql.createConnection(opts({ user: 'nopw', password: '' }));
    await c.ping();
    await c.end();
  });

  it('wrong password, unknown user -> 1045 28000 for both plugins', async () => {
    for (const [user, password] of [['alice', 'nope'], ['bob', 'nope'], ['root', ''], ['nobody', 'x'], ['nopw', 'x']]) {
      const e = await errorOf(mysql.createConnection(opts({ user, password })));
      expect([user, e.errno, e.sqlState]).toEqual([user, 1045, '28000']);
    }
  });

  it('connecting to an unknown database -> 1049', async () => {
    const e = await errorOf(mysql.createConnection(opts({ database: 'nope' })));
    expect([e.errno, e.sqlState]).toEqual([1049, '42000']);
  });
});

describe('mysql2: queries', () => {
  it('text and binary protocol return the same typed values', async () => {
    const c = await mysql.createConnection(opts({ dateStrings: true, supportBigNumbers: true, bigNumberStrings: true }));
    await c.query('CREATE TABLE types (id INT PRIMARY KEY, b BOOLEAN, t TINYINT, sm SMALLINT, big BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(12,3), s VARCHAR(10), bin BLOB, dt DATE, ts TIMESTAMP)');
    await c.query(`INSERT INTO types VALUES
      (1, TRUE, -5, 300, 9007199254740993, 1.5, 2.25, '-12.345', 'héllo', 'raw', '2024-02-29', '2024-02-29 12:34:56.789012'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const [text] = await c.query('SELECT * FROM types ORDER BY id');
    const [bin] = await c.execute('SELECT * FROM types ORDER BY id');
    const expected = [
      { id: 1, b: 1, t: -5, sm: 300, big: '9007199254740993', f: 1.5, d: 2.25, dec: '-12.345', s: 'héllo', bin: Buffer.from('raw'), dt: '2024-02-29', ts: '2024-02-29 12:34:56.789012' },
      { id: 2, b: null, t: null, sm: null, big: null, f: null, d: null, dec: null, s: null, bin: null, dt: null, ts: null },
    ];
    expect(text).toEqual(expected);
    expect(bin).toEqual(expected);
    await c.end();
  });

  it('prepared statements with parameters; numbers sent as DOUBLE are coerced', async () => {
    const c = await mysql.createConnection(opts());
    await c.query('CREATE TABLE kv (k BIGINT PRIMARY KEY, v VARCHAR(20))');
    for (let i = 0; i < 20; i++) await c.execute('INSERT INTO kv VALUES (?, ?)', [i, `v${i}`]);
    const [r1] = await c.execute('SELECT v FROM kv WHERE k = ?', [7]);
    expect(r1).toEqual([{ v: 'v7' }]);
    const [r2] = await c.execute('SELECT k FROM kv WHERE v = ?', ['v13']);
    expect(r2).toEqual([{ k: 13 }]);
    const [r3] = await c.execute('SELECT k FROM kv WHERE k = ?', [null]);
    expect(r3).toEqual([]);
    const [r4] = await c.query('SELECT k FROM kv WHERE k = ?', [3]); // client-side interpolation
    expect(r4).toEqual([{ k: 3 }]);
    await c.unprepare('SELECT v FROM kv WHERE k = ?');
    const [r5] = await c.execute('SELECT v FROM kv WHERE k = ?', [8]);
    expect(r5).toEqual([{ v: 'v8' }]);
    await c.end();
  });

  it('errors carry errno and SQLSTATE and the connection stays usable', async () => {
    const c = await mysql.createConnection(opts({ multipleStatements: true }));
    await c.query('CREATE TABLE e1 (id INT PRIMARY KEY)');
    await c.query('INSERT INTO e1 VALUES (1)');
    const cases: Array<[string, number, string]> = [
      ['SELEKT 1', 1064, '42000'],
      ['SELECT * FROM missing', 1146, '42S02'],
      ['SELECT nope FROM e1', 1054, '42S22'],
      ['INSERT INTO e1 VALUES (1)', 1062, '23000'],
      ['USE nowhere', 1049, '42000'],
      ['CREATE TABLE e1 (id INT)', 1050, '42S01'],
      ['CREATE DATABASE test', 1007, 'HY000'],
      ['SELECT @@no_such_variable', 1193, 'HY000'],
      ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 1235, '42000'],
    ];
    for (const [sql, errno, state] of cases) {
      const e = await errorOf(c.query(sql));
      expect([sql, e.errno, e.sqlState]).toEqual([sql, errno, state]);
      const [rows] = await c.query('SELECT id FROM e1');
      expect(rows).toEqual([{ id: 1 }]);
    }
    const e = await errorOf(c.execute('SELECT * FROM missing WHERE id = ?', [1]));
    expect([e.errno, e.sqlState]).toEqual([1146, '42S02']);
    const [w] = await c.query('SHOW WARNINGS');
    expect(w).toEqual([{ Level: 'Error', Code: 1146, Message: "Table 'test.missing' doesn't exist" }]);
    await c.end();
    const noDb = await mysql.createConnection(opts({ database: undefined }));
    const e2 = await errorOf(noDb.query('SELECT * FROM e1'));
    expect([e2.errno, e2.sqlState]).toEqual([1046, '3D000']);
    await noDb.end();
  });

  it('multi-statements return one result per statement and stop at the first error', async () => {
    const c = await mysql.createConnection(opts({ multipleStatements: true }));
    const [results] = await c.query('CREATE TABLE ms (id INT PRIMARY KEY); INSERT INTO ms VALUES (1), (2); SELECT id FROM ms ORDER BY id; SELECT @@autocommit AS ac');
    const rs = results as unknown as Array<unknown>;
    expect(rs.length).toBe(4);
    expect((rs[1] as { affectedRows: number }).affectedRows).toBe(2);
    expect(rs[2]).toEqual([{ id: 1 }, { id: 2 }]);
    expect(rs[3]).toEqual([{ ac: 1 }]);
    const e = await errorOf(c.query('INSERT INTO ms VALUES (3); SELECT * FROM nope; INSERT INTO ms VALUES (4)'));
    expect(e.errno).toBe(1146);
    const [after] = await c.query('SELECT id FROM ms ORDER BY id');
    expect(after).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    await c.end();
    const single = await mysql.createConnection(opts());
    const e2 = await errorOf(single.query('SELECT 1; SELECT 2'));
    expect(e2.errno).toBe(1064);
    await single.end();
  });

  it('a pool of connections runs queries in parallel', async () => {
    const pool = mysql.createPool({ ...opts(), connectionLimit: 8 });
    await pool.query('CREATE TABLE pooled (id INT PRIMARY KEY, n INT)');
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool.execute('INSERT INTO pooled VALUES (?, ?)', [i, i * i])));
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.execute('SELECT n FROM pooled WHERE id = ?', [i])));
    expect(got.map(([r]) => (r as Array<{ n: number }>)[0]?.n)).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
    const ids = await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT CONNECTION_ID() AS id')));
    expect(new Set(ids.map(([r]) => (r as Array<{ id: number }>)[0]?.id)).size).toBeGreaterThan(1);
    await pool.end();
  });
});

describe('mysql2: session statements the server answers', () => {
  it('variables, SHOW, and the connector connect queries', async () => {
    const c = await mysql.createConnection(opts());
    await c.query("SET NAMES utf8mb4, autocommit=1");
    await c.query("SET SESSION sql_mode = 'ANSI_QUOTES', @x = 5, net_write_timeout = 600");
    const [r] = await c.query('/* mysql-connector-j */ SELECT @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS cs, @@sql_mode, @x, @@max_allowed_packet mp, @@net_write_timeout');
    expect(r).toEqual([{ auto_increment_increment: 1, cs: 'utf8mb4', '@@sql_mode': 'ANSI_QUOTES', '@x': 5, mp: 64 * 1024 * 1024, '@@net_write_timeout': 600 }]);
    const [v] = await c.query("SHOW VARIABLES LIKE 'version%'");
    expect((v as Array<{ Variable_name: string }>).map((x) => x.Variable_name)).toEqual(['version', 'version_comment', 'version_compile_machine', 'version_compile_os']);
    const [w] = await c.query("SHOW VARIABLES WHERE Variable_name = 'sql_mode' OR Variable_name = 'wait_timeout'");
    expect(w).toEqual([{ Variable_name: 'sql_mode', Value: 'ANSI_QUOTES' }, { Variable_name: 'wait_timeout', Value: String(8 * 3600) }]);
    const [eng] = await c.query('SHOW ENGINES');
    expect((eng as Array<{ Engine: string }>)[0]?.Engine).toBe('Saiga');
    const [cs] = await c.query("SHOW CHARACTER SET LIKE 'utf8%'");
    expect((cs as Array<{ Charset: string }>).map((x) => x.Charset)).toEqual(['utf8mb4']);
    const [col] = await c.query('SHOW COLLATION');
    expect((col as Array<{ Id: number }>).map((x) => x.Id)).toEqual([63, 45]);
    const [[ver]] = (await c.query('SELECT VERSION() AS v, CONNECTION_ID() AS id')) as unknown as [[{ v: string; id: number }]];
    expect(ver.v).toMatch(/Saiga/);
    expect(ver.id).toBe(c.threadId);
    const [prepared] = await c.execute('SELECT @@version_comment AS vc, DATABASE() AS db');
    expect(prepared).toEqual([{ vc: 'Saiga, a Kudu-style columnar HTAP store', db: 'test' }]);
    const e = await errorOf(c.query('SET GLOBAL max_connections = 5'));
    expect(e.errno).toBe(1235);
    const e2 = await errorOf(c.query('SET version = 5'));
    expect(e2.errno).toBe(1238);
    await c.end();
  });

  it('transactions: COMMIT is accepted, ROLLBACK after writes is refused', async () => {
    const c = await mysql.createConnection(opts());
    await c.query('CREATE TABLE tx (id INT PRIMARY KEY)');
    await c.query('BEGIN');
    const [[st]] = (await c.query('SELECT @@autocommit AS a')) as unknown as [[{ a: number }]];
    expect(st.a).toBe(1);
    await c.query('INSERT INTO tx VALUES (1)');
    await c.query('COMMIT');
    await c.query('START TRANSACTION');
    await c.query('SELECT * FROM tx');
    await c.query('ROLLBACK'); // nothing written: fine
    await c.beginTransaction();
    await c.query('INSERT INTO tx VALUES (2)');
    const e = await errorOf(c.rollback());
    expect(e.errno).toBe(1235);
    expect(e.message).toMatch(/cannot undo 1 write/);
    const [rows] = await c.query('SELECT id FROM tx ORDER BY id');
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
    await c.query('SET autocommit = 0');
    await c.query('INSERT INTO tx VALUES (3)');
    expect((await errorOf(c.query('ROLLBACK'))).errno).toBe(1235);
    await c.end();
  });

  it('CREATE/ALTER/DROP USER, persisted, root only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-users-'));
    try {
      const store = openUserStore({ dataDir: dir, rootPassword: 'r' });
      store.createUser('carol', 'c1');
      expect(openUserStore({ dataDir: dir }).get('carol')?.plugin).toBe('caching_sha2_password');
      expect(openUserStore({ dataDir: dir }).verifyPassword('root', 'r')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const root = await mysql.createConnection(opts());
    await root.query("CREATE USER 'dave'@'%' IDENTIFIED BY 'd1'");
    await root.query("CREATE USER erin IDENTIFIED WITH mysql_native_password BY 'e1'");
    expect((await errorOf(root.query("CREATE USER dave IDENTIFIED BY 'x'"))).errno).toBe(1396);
    await root.query("CREATE USER IF NOT EXISTS dave IDENTIFIED BY 'x'");
    const dave = await mysql.createConnection(opts({ user: 'dave', password: 'd1' }));
    expect((await errorOf(dave.query("CREATE USER x IDENTIFIED BY 'y'"))).errno).toBe(1227);
    await dave.query("ALTER USER dave IDENTIFIED BY 'd2'");
    await dave.end();
    expect((await errorOf(mysql.createConnection(opts({ user: 'dave', password: 'd1' })))).errno).toBe(1045);
    (await mysql.createConnection(opts({ user: 'dave', password: 'd2' }))).destroy();
    (await mysql.createConnection(opts({ user: 'erin', password: 'e1' }))).destroy();
    await root.query("SET PASSWORD FOR erin = 'e2'");
    (await mysql.createConnection(opts({ user: 'erin', password: 'e2' }))).destroy();
    await root.query('DROP USER dave, erin');
    expect((await errorOf(mysql.createConnection(opts({ user: 'dave', password: 'd2' })))).errno).toBe(1045);
    expect((await errorOf(root.query('DROP USER dave'))).errno).toBe(1396);
    await root.query('DROP USER IF EXISTS dave');
    await root.end();
  });

  it('COM_CHANGE_USER, COM_RESET_CONNECTION, COM_PING, COM_INIT_DB', async () => {
    const c = await mysql.createConnection(opts());
    await c.query('SET @v = 1');
    await c.changeUser({ user: 'bob', password: 'bobpw', database: 'test' });
    const [[u]] = (await c.query('SELECT USER() AS u, @v AS v, DATABASE() AS d')) as unknown as [[{ u: string; v: unknown; d: string }]];
    expect([u.u.split('@')[0], u.v, u.d]).toEqual(['bob', null, 'test']);
    await c.changeUser({ user: 'alice', password: 'alicepw' });
    await c.ping();
    await c.query('SET @v = 2');
    await (c as unknown as { reset(): Promise<void> }).reset?.();
    await c.end();
    const e = await errorOf((async () => {
      const d = await mysql.createConnection(opts());
      try {
        await d.changeUser({ user: 'bob', password: 'wrong' });
      } finally {
        d.destroy();
      }
    })());
    expect(e.errno).toBe(1045);
  });
});

describe('limits', () => {
  it('too many connections -> 1040; oversized packet -> 1153 and only that connection closes; idle timeout', async () => {
    const small = await startTestServer({ connectionsMax: 2, packetBytesMax: 4096, idleTimeoutMs: 400 });
    const o = (x: mysql.ConnectionOptions = {}): mysql.ConnectionOptions => ({ host: '127.0.0.1', port: small.port, user: 'root', password: 'rootpw', database: 'test', ...x });
    try {
      const a = await mysql.createConnection(o());
      const b = await mysql.createConnection(o());
      const e = await errorOf(mysql.createConnection(o()));
      expect([e.errno, e.sqlState]).toEqual([1040, '08004']);
      const big = await errorOf(a.query(`SELECT '${'x'.repeat(5000)}'`));
      expect(big.errno).toBe(1153);
      const [rows] = await b.query('SELECT @@max_allowed_packet AS m');
      expect(rows).toEqual([{ m: 4096 }]);
      // idle: b is closed by the server after 400 ms without traffic
      const closed = new Promise<void>((resolve) => b.connection.once('end', () => resolve()));
      b.on('error', () => undefined);
      await closed;
      await new Promise((r) => setTimeout(r, 50));
      expect(small.server.connectionCount()).toBe(0);
      a.destroy();
      b.destroy();
    } finally {
      await small.close();
    }
  });
});
