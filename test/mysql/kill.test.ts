import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageApi } from '../../src/common/storage-api.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { createQueryEngine } from '../../src/query/index.js';
import { startTestServer, type TestServer } from './helpers.js';

/** KILL [CONNECTION] closes another connection; unknown ids get MySQL's errno. */
let dir: string;
let storage: StorageApi;
let s: TestServer;
const opts = (): mysql.ConnectionOptions => ({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', database: 'k' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-kill-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  s = await startTestServer(undefined, createQueryEngine({ storage }));
  const c = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw' });
  await c.query('CREATE DATABASE k');
  await c.query('CREATE TABLE k.t (id INT PRIMARY KEY, v INT)');
  await c.end();
});
afterAll(async () => {
  await s.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KILL', () => {
  it('KILL of an unknown thread is 1094, KILL CONNECTION closes the other connection', async () => {
    const victim = await mysql.createConnection(opts());
    const killer = await mysql.createConnection(opts());
    await expect(killer.query('KILL 987654')).rejects.toMatchObject({ errno: 1094 });
    const closed = new Promise<void>((r) => victim.connection.once('end', () => r()));
    victim.on('error', () => undefined);
    await killer.query(`KILL CONNECTION ${victim.threadId}`);
    await closed;
    await expect(victim.query('SELECT 1')).rejects.toBeDefined();
    const [rows] = await killer.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await killer.end();
  });

  it('KILL QUERY stops a long join (event loop stays free) and the connection keeps working', async () => {
    const a = await mysql.createConnection(opts());
    const b = await mysql.createConnection(opts());
    const rows: string[] = [];
    for (let i = 0; i < 3000; i++) rows.push(`(${i}, ${i % 7})`);
    await a.query(`INSERT INTO t VALUES ${rows.join(', ')}`);
    // ~3000^3 / 49 = 5.5e8 join rows: minutes of work unless the join yields and sees the kill.
    const started = Date.now();
    const running = a.query('SELECT COUNT(*) FROM t a JOIN t b ON a.v = b.v JOIN t c ON b.v = c.v').then(
      () => { throw new Error('the join finished instead of being killed'); },
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 300));
    // B is served while A's join runs: KILL QUERY is read and applied.
    await b.query(`KILL QUERY ${a.threadId}`);
    const err = await running;
    expect(err).toMatchObject({ errno: 1317, sqlState: '70100' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const [one] = await a.query('SELECT 1 AS one');
    expect(one).toEqual([{ one: 1 }]);
    await a.query('DELETE FROM t');
    await a.end();
    await b.end();
  });
});
