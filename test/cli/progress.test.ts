import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlConnection } from '../../src/cli/connection.js';
import { EXIT_INTERRUPTED, EXIT_OK } from '../../src/cli/exit-codes.js';
import { openLocal } from '../../src/cli/local-connection.js';
import { connectRemote } from '../../src/cli/remote-connection.js';
import {
  interrupt, progressLine, runScript, runStatement, type InterruptState, type Io, type SqlCommandOptions,
} from '../../src/cli/sql-command.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { createQueryEngine, type QueryEngine } from '../../src/query/index.js';
import { openUserStore } from '../../src/server/auth/index.js';
import { startMysqlServer, type MysqlServer } from '../../src/server/mysql/index.js';

/**
 * Progress and Ctrl-C for long statements in `saiga sql`: the terminal ticker shows rows scanned
 * (engine counter in-process, SHOW PROCESSLIST on a side connection remotely), and interrupt() —
 * what both SIGINT handlers call — cancels the statement while the connection keeps working.
 */
const JOIN_SQL = 'SELECT COUNT(*) FROM t a JOIN t b ON a.v = b.v JOIN t c ON b.v = c.v';
const SCAN_ROWS = 9000; // three scans of 3000 rows; more means the join itself is counted

let dir: string;

function options(over: Partial<SqlCommandOptions> = {}): SqlCommandOptions {
  return { delimited: false, delimiter: '\t', printHeader: false, continueOnError: false, vars: new Map(), interactiveTerminal: true, progressIntervalMs: 20, ...over };
}

function capture(): Io & { outText: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => { out += t; }, err: (t) => { err += t; }, outText: () => out, errText: () => err };
}

/** Largest `rows scanned N` the ticker has printed so far (-1 when none). */
function rowsShown(err: string): number {
  let best = -1;
  for (const m of err.matchAll(/rows scanned (\d+), elapsed \d+\.\d s \(Ctrl-C cancels\)/g)) best = Math.max(best, Number(m[1]));
  return best;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

async function seed(conn: SqlConnection): Promise<void> {
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) rows.push(`(${i}, ${i % 7})`);
  await conn.run('CREATE DATABASE IF NOT EXISTS p');
  await conn.run('USE p');
  await conn.run('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
  await conn.run(`INSERT INTO t VALUES ${rows.join(', ')}`);
}

/** Starts the join, watches the ticker pass the scans, Ctrl-C, and checks the connection still works. */
async function cancelJoin(conn: SqlConnection): Promise<void> {
  const io = capture();
  const state: InterruptState = { running: new AbortController(), buffer: '' };
  const running = runStatement(conn, { sql: JOIN_SQL, line: 1 }, options(), io, state.running!.signal);
  await waitFor(() => rowsShown(io.errText()) > SCAN_ROWS, 'the progress line to count join rows');
  const seen = rowsShown(io.errText());
  await waitFor(() => rowsShown(io.errText()) > seen, 'the progress line to grow');
  expect(interrupt(state)).toBe('cancelled');
  const r = await running;
  expect(r).toEqual({ ok: false, code: EXIT_INTERRUPTED });
  expect(io.errText()).toMatch(/ERROR: .*cancel/i);
  expect(io.outText()).toBe('');
  expect(await conn.progress?.()).toBeUndefined();
  // The same connection (session) runs the next statement.
  const io2 = capture();
  expect(await runStatement(conn, { sql: 'SELECT COUNT(*) FROM t', line: 2 }, options({ delimited: true, interactiveTerminal: false }), io2)).toEqual({ ok: true, code: EXIT_OK });
  expect(io2.outText()).toBe('3000\n');
  expect(io2.errText()).toBe(''); // -B: no timing line
}

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'saiga-cli-progress-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('interrupt and the progress line', () => {
  it('cancels a running statement first, then clears typed text, then exits', () => {
    const ac = new AbortController();
    const state: InterruptState = { running: ac, buffer: 'select' };
    expect(interrupt(state)).toBe('cancelled');
    expect(ac.signal.aborted).toBe(true);
    expect(interrupt(state)).toBe('cleared'); // already aborted: the next Ctrl-C acts on the prompt
    expect(state.buffer).toBe('');
    expect(interrupt(state)).toBe('exit');
  });
  it('formats rows and elapsed seconds', () => {
    expect(progressLine(3456, 1200)).toBe('  rows scanned 1200, elapsed 3.5 s (Ctrl-C cancels)');
    expect(progressLine(200, undefined)).toBe('  elapsed 0.2 s (Ctrl-C cancels)');
  });
});

describe('saiga sql --data_dir: progress from the engine, cancel by AbortSignal', () => {
  it('shows growing rows scanned for a long join, Ctrl-C cancels it, the session goes on; timing printed unless -B', async () => {
    const conn = await openLocal({ dataDir: join(dir, 'local') });
    try {
      await seed(conn);
      const io = capture();
      expect(await runStatement(conn, { sql: 'SELECT 1', line: 1 }, options({ interactiveTerminal: false }), io)).toEqual({ ok: true, code: EXIT_OK });
      expect(io.errText()).toMatch(/^Fetched 1 row\(s\) in \d+\.\d\ds\n$/);
      await cancelJoin(conn);
    } finally {
      await conn.close();
    }
  });
});

describe('saiga sql -i: progress from SHOW PROCESSLIST, cancel by KILL QUERY', () => {
  let storage: StorageApi;
  let engine: QueryEngine;
  let server: MysqlServer;
  let conn: SqlConnection;
  beforeAll(async () => {
    storage = await openEmbeddedStorage({ dataDir: join(dir, 'remote') });
    engine = createQueryEngine({ storage });
    server = await startMysqlServer({ engine, users: openUserStore({ rootPassword: 'pw' }), port: 0 });
    conn = await connectRemote({ host: '127.0.0.1', port: server.port, user: 'root', password: 'pw' });
    await seed(conn);
  });
  afterAll(async () => {
    await conn.close();
    await server.close();
    await engine.close();
    await storage.close();
  });

  it('shows growing rows scanned, Ctrl-C sends KILL QUERY and the connection keeps working', async () => {
    expect(await conn.progress?.()).toBeUndefined();
    await cancelJoin(conn);
  });

  it('a script stops at the cancelled statement with exit code 130', async () => {
    const io = capture();
    const state: InterruptState = { running: undefined, buffer: '' };
    const done = runScript(conn, `${JOIN_SQL}; SELECT 'after'`, options({ continueOnError: true }), io, state);
    await waitFor(() => rowsShown(io.errText()) > SCAN_ROWS, 'the join to run');
    expect(interrupt(state)).toBe('cancelled');
    expect(await done).toBe(EXIT_INTERRUPTED);
    expect(io.outText()).not.toContain('after');
    expect(state.running).toBeUndefined();
    const [r] = await conn.run("SELECT 'still here'");
    expect(r).toEqual({ kind: 'rows', result: { columns: ['still here'], rows: [['still here']] } });
  });
});
