import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageApi } from '../../src/common/storage-api.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { createQueryEngine } from '../../src/query/index.js';
import { parseShowProcesslist, rewriteProcesslistTable, type ProcessInfo } from '../../src/server/mysql/processlist.js';
import { startTestServer, type TestServer } from './helpers.js';

/** SHOW [FULL] PROCESSLIST and information_schema.PROCESSLIST over mysql2, against the real engine. */
let dir: string;
let storage: StorageApi;
let s: TestServer;
const opts = (user = 'root', password = 'rootpw'): mysql.ConnectionOptions => ({ host: '127.0.0.1', port: s.port, user, password, database: 'p' });
const JOIN_SQL = 'SELECT COUNT(*) FROM t a JOIN t b ON a.v = b.v JOIN t c ON b.v = c.v';

type Row = Record<string, unknown>;
const rowOf = (rows: unknown, id: number): Row | undefined => (rows as Row[]).find((r) => Number(r['Id'] ?? r['ID']) === id);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-processlist-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  s = await startTestServer(undefined, createQueryEngine({ storage }));
  const c = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw' });
  await c.query('CREATE DATABASE p');
  await c.query('CREATE TABLE p.t (id INT PRIMARY KEY, v INT)');
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) rows.push(`(${i}, ${i % 7})`);
  await c.query(`INSERT INTO p.t VALUES ${rows.join(', ')}`);
  await c.end();
});
afterAll(async () => {
  await s.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('processlist text', () => {
  const proc: ProcessInfo = {
    id: 7, user: 'root', host: '127.0.0.1:5', db: null, command: 'Query', timeMs: 1500, state: 'executing',
    info: "SELECT 'it''s' \\ x", examinedRows: 12, memoryBytes: 0,
  };
  it('recognizes SHOW [FULL] PROCESSLIST only', () => {
    expect(parseShowProcesslist('SHOW PROCESSLIST')).toEqual({ full: false });
    expect(parseShowProcesslist(' show full processlist ;')).toEqual({ full: true });
    expect(parseShowProcesslist('SHOW PROCESSLIST x')).toBeNull();
    expect(parseShowProcesslist('SHOW TABLES')).toBeNull();
  });
  it('replaces the table by a derived table, keeping an alias when one is given', () => {
    expect(rewriteProcesslistTable('SELECT * FROM t', [proc])).toBeNull();
    const plain = rewriteProcesslistTable('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = 7', [proc]);
    expect(plain).toMatch(/^SELECT ID FROM \(SELECT 7 AS ID, .* AS EXAMINED_ROWS\) AS PROCESSLIST WHERE ID = 7$/);
    const aliased = rewriteProcesslistTable('SELECT p.ID FROM `information_schema`.`processlist` p', [proc]);
    expect(aliased).toMatch(/\) p$/);
    expect(aliased).not.toContain('AS PROCESSLIST');
    // Quotes and backslashes in Info are escaped inside the literal.
    expect(plain).toContain("'SELECT ''it''''s'' \\\\ x' AS INFO");
    expect(plain).toContain('CAST(NULL AS CHAR) AS DB');
  });
});

describe('SHOW PROCESSLIST', () => {
  it('lists connections: the asking one running its SHOW, the others asleep; other users see only their own', async () => {
    const a = await mysql.createConnection(opts());
    const b = await mysql.createConnection(opts());
    const alice = await mysql.createConnection(opts('alice', 'alicepw'));
    const [rows, fields] = await b.query('SHOW PROCESSLIST');
    expect(fields!.map((f) => f.name)).toEqual([
      'Id', 'User', 'Host', 'db', 'Command', 'Time', 'State', 'Info', 'Time_ms', 'Stage', 'Max_stage', 'Progress', 'Memory_used', 'Examined_rows',
    ]);
    const self = rowOf(rows, b.threadId)!;
    expect(self).toMatchObject({ User: 'root', db: 'p', Command: 'Query', State: 'executing', Info: 'SHOW PROCESSLIST' });
    expect(self['Host']).toMatch(/^127\.0\.0\.1:\d+$/);
    const other = rowOf(rows, a.threadId)!;
    expect(other).toMatchObject({ User: 'root', Command: 'Sleep', Info: null, Examined_rows: 0 });
    expect(rowOf(rows, alice.threadId)).toMatchObject({ User: 'alice' });
    const [mine] = await alice.query('SHOW FULL PROCESSLIST');
    expect((mine as Row[]).map((r) => r['Id'])).toEqual([alice.threadId]);
    await Promise.all([a.end(), b.end(), alice.end()]);
  });

  it('shows a long join with its SQL and growing Examined_rows; KILL QUERY ends it and the row goes back to Sleep', async () => {
    const a = await mysql.createConnection(opts());
    const b = await mysql.createConnection(opts());
    const running = a.query(JOIN_SQL).then(
      () => { throw new Error('the join finished instead of being killed'); },
      (e: unknown) => e,
    );
    const sample = async (): Promise<Row> => {
      const [rows] = await b.query('SHOW FULL PROCESSLIST');
      const r = rowOf(rows, a.threadId);
      expect(r).toBeDefined();
      return r!;
    };
    // Wait until the join is under way (the scans alone examine 9000 rows), then watch it grow.
    let first = await sample();
    for (let i = 0; i < 200 && Number(first['Examined_rows']) <= 9000; i++) {
      await new Promise((r) => setTimeout(r, 25));
      first = await sample();
    }
    expect(first).toMatchObject({ Command: 'Query', State: 'executing', Info: JOIN_SQL, db: 'p' });
    expect(Number(first['Examined_rows'])).toBeGreaterThan(9000);
    let second = await sample();
    for (let i = 0; i < 200 && Number(second['Examined_rows']) <= Number(first['Examined_rows']); i++) {
      await new Promise((r) => setTimeout(r, 25));
      second = await sample();
    }
    expect(Number(second['Examined_rows'])).toBeGreaterThan(Number(first['Examined_rows']));
    expect(Number(second['Time_ms'])).toBeGreaterThanOrEqual(Number(first['Time_ms']));
    expect(Number(second['Memory_used'])).toBeGreaterThan(0);

    // information_schema.PROCESSLIST: the same row through the engine (WHERE evaluated there).
    const [is] = await b.query(`SELECT ID, COMMAND, INFO, EXAMINED_ROWS FROM information_schema.PROCESSLIST WHERE ID = ${a.threadId}`);
    expect(is).toHaveLength(1);
    expect((is as Row[])[0]).toMatchObject({ ID: a.threadId, COMMAND: 'Query', INFO: JOIN_SQL });
    expect(Number((is as Row[])[0]!['EXAMINED_ROWS'])).toBeGreaterThanOrEqual(Number(second['Examined_rows']));

    await b.query(`KILL QUERY ${a.threadId}`);
    expect(await running).toMatchObject({ errno: 1317 });
    const after = await sample();
    expect(after).toMatchObject({ Command: 'Sleep', Info: null, Examined_rows: 0, State: '' });
    const [one] = await a.query('SELECT 1 AS one');
    expect(one).toEqual([{ one: 1 }]);
    await Promise.all([a.end(), b.end()]);
  });

  it('information_schema.PROCESSLIST takes aliases, WHERE and aggregates', async () => {
    const a = await mysql.createConnection(opts());
    const [rows] = await a.query('SELECT COUNT(*) AS n FROM information_schema.processlist pl WHERE pl.USER = \'root\'');
    expect(Number((rows as Row[])[0]!['n'])).toBeGreaterThanOrEqual(1);
    const [own] = await a.query('SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
    expect(own).toEqual([{ INFO: 'SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()' }]);
    await a.end();
  });
});
