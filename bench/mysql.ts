import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { openEmbeddedStorage } from '../src/client/index.js';
import { createQueryEngine } from '../src/query/index.js';
import { openUserStore } from '../src/server/auth/index.js';
import { startMysqlServer } from '../src/server/mysql/index.js';
import { emit, machine } from './report.js';
import { generateTpch } from './tpch/dbgen.js';
import { loadSaiga } from './tpch/load.js';
import { tpchQueries } from './tpch/queries.js';

/**
 * `npm run bench -- mysql [seconds=3] [sf=0.01]`: Saiga (embedded storage + engine + MySQL
 * endpoint) against MariaDB (Debian's mariadbd, started here on a loopback port with a temporary
 * data dir, InnoDB defaults, durable commits), driven by the same mysql2 code:
 *   point SELECT by primary key, prepared, 1 and 16 connections (QPS)
 *   single-row INSERT, prepared, 16 connections (QPS)
 *   INSERT of 1000 rows per statement (rows/s)
 *   TPC-H Q6 over lineitem at scale factor sf (best of 5, ms)
 * Each BENCH line carries both figures and the ratio saiga / mariadb (>1 = Saiga better for
 * rates, worse for times).
 */

interface Target {
  readonly name: 'saiga' | 'mariadb';
  readonly options: mysql.ConnectionOptions;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function startMariaDb(dir: string): Promise<{ proc: ChildProcess; port: number } | null> {
  const datadir = join(dir, 'data');
  const install = spawnSync('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--skip-test-db', '--auth-root-authentication-method=normal'], { encoding: 'utf8' });
  if (install.status !== 0) {
    console.error(`mariadb-install-db failed (is Debian's mariadb-server installed?): ${install.error?.message ?? install.stderr}`);
    return null;
  }
  const port = await freePort();
  const proc = spawn('mariadbd', [
    '--no-defaults', `--datadir=${datadir}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'mariadb.sock')}`,
    '--user=root', '--skip-grant-tables', '--skip-name-resolve', '--innodb-buffer-pool-size=256M', `--pid-file=${join(dir, 'mariadb.pid')}`,
    '--max-connections=200', `--log-error=${join(dir, 'mariadb.err')}`,
  ], { stdio: 'ignore' });
  for (let i = 0; i < 150; i++) {
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
      await c.end();
      return { proc, port };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  proc.kill('SIGKILL');
  console.error('mariadbd did not accept connections within 30 s');
  return null;
}

async function stopMariaDb(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Runs `op` in a loop on each of `conns` connections for `seconds`; returns completed ops per second. */
async function rate(target: Target, conns: number, seconds: number, op: (c: mysql.Connection, i: number, worker: number) => Promise<unknown>): Promise<number> {
  const cs = await Promise.all(Array.from({ length: conns }, () => mysql.createConnection({ ...target.options, database: 'bench' })));
  // warm-up (prepares statements)
  await Promise.all(cs.map((c, w) => op(c, w, w)));
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(cs.map(async (c, w) => {
    for (let i = 1; performance.now() < deadline; i++) {
      await op(c, i * conns + w, w);
      done++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  await Promise.all(cs.map((c) => c.end()));
  return done / elapsed;
}

const POINT_ROWS = 20_000;

async function runTarget(target: Target, seconds: number, lineitemRows: unknown[][] | null, lineitemDdl: string | null, q6: string | null): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const admin = await mysql.createConnection(target.options);
  await admin.query('CREATE DATABASE IF NOT EXISTS bench');
  await admin.query('USE bench');
  await admin.query('CREATE TABLE kv (id BIGINT PRIMARY KEY, v VARCHAR(64), n INT)');
  await admin.query('CREATE TABLE ins (id BIGINT PRIMARY KEY, v VARCHAR(64), n INT)');
  // batched INSERT, 1000 rows per statement
  const t0 = performance.now();
  for (let start = 0; start < POINT_ROWS; start += 1000) {
    const values = Array.from({ length: 1000 }, (_, k) => `(${start + k}, 'value-${start + k}', ${(start + k) % 997})`).join(',');
    await admin.query(`INSERT INTO kv VALUES ${values}`);
  }
  out['batch_insert_rows_per_s'] = POINT_ROWS / ((performance.now() - t0) / 1000);
  let seed = 12345;
  const nextKey = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % POINT_ROWS;
  };
  const point = (c: mysql.Connection): Promise<unknown> => c.execute('SELECT v, n FROM kv WHERE id = ?', [nextKey()]);
  out['point_select_qps_c1'] = await rate(target, 1, seconds, point);
  out['point_select_qps_c16'] = await rate(target, 16, seconds, point);
  out['insert_qps_c16'] = await rate(target, 16, seconds, (c, i) => c.execute('INSERT INTO ins VALUES (?, ?, ?)', [i, `row-${i}`, i % 100]));
  if (lineitemRows !== null && lineitemDdl !== null && q6 !== null) {
    if (target.name === 'mariadb') {
      await admin.query(lineitemDdl);
      for (let i = 0; i < lineitemRows.length; i += 2000) await admin.query('INSERT INTO lineitem VALUES ?', [lineitemRows.slice(i, i + 2000)]);
    }
    let best = Infinity;
    let answer = '';
    for (let k = 0; k < 5; k++) {
      const t = performance.now();
      const [rows] = await admin.query(q6);
      best = Math.min(best, performance.now() - t);
      answer = JSON.stringify(rows);
    }
    out['tpch_q6_ms'] = best;
    console.error(`${target.name} q6 answer ${answer}`);
  }
  await admin.end();
  return out;
}

const MARIADB_TYPES: Record<string, string> = { int: 'INT', bigint: 'BIGINT', date: 'DATE', string: 'VARCHAR(255)', double: 'DOUBLE' };

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const sf = Number(args[1] ?? 0.01);
  const dir = mkdtempSync(join(tmpdir(), 'saiga-bench-mysql-'));
  const storage = await openEmbeddedStorage({ dataDir: join(dir, 'saiga') });
  const engine = createQueryEngine({ storage });
  const users = openUserStore({ rootPassword: 'bench' });
  const server = await startMysqlServer({ engine, users, port: 0 });
  let maria: { proc: ChildProcess; port: number } | null = null;
  try {
    const saiga: Target = { name: 'saiga', options: { host: '127.0.0.1', port: server.port, user: 'root', password: 'bench' } };
    // TPC-H lineitem: generated, bulk-loaded into Saiga, then copied to MariaDB through Saiga's own MySQL endpoint.
    let lineitemRows: unknown[][] | null = null;
    let lineitemDdl: string | null = null;
    let q6: string | null = null;
    try {
      const data = generateTpch(sf, 1);
      await loadSaiga(storage, data, { database: 'bench', buckets: 4 });
      const c = await mysql.createConnection({ ...saiga.options, database: 'bench', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, rowsAsArray: true });
      const [desc] = await c.query({ sql: 'DESCRIBE lineitem', rowsAsArray: false });
      const cols = (desc as Array<{ Field: string; Type: string }>).map((d) => `${d.Field} ${MARIADB_TYPES[d.Type] ?? d.Type.toUpperCase()}`);
      lineitemDdl = `CREATE TABLE lineitem (${cols.join(', ')}, PRIMARY KEY (l_orderkey, l_linenumber))`;
      const [rows] = await c.query('SELECT * FROM lineitem');
      lineitemRows = rows as unknown[][];
      await c.end();
      q6 = tpchQueries(sf).find((q) => q.id === 6)?.sql ?? null;
    } catch (e) {
      console.error(`TPC-H Q6 skipped: ${(e as Error).message}`);
    }
    const saigaFigures = await runTarget(saiga, seconds, lineitemRows, lineitemDdl, q6);
    maria = await startMariaDb(dir);
    const mariaFigures = maria === null ? {} : await runTarget({ name: 'mariadb', options: { host: '127.0.0.1', port: maria.port, user: 'root' } }, seconds, lineitemRows, lineitemDdl, q6);
    const units: Record<string, string> = {
      batch_insert_rows_per_s: 'rows/s', point_select_qps_c1: 'qps', point_select_qps_c16: 'qps', insert_qps_c16: 'qps', tpch_q6_ms: 'ms',
    };
    for (const [name, value] of Object.entries(saigaFigures)) {
      const peer = mariaFigures[name];
      emit({
        name: `mysql.${name}`,
        value: Math.round(value * 10) / 10,
        unit: units[name] ?? '',
        mariadb: peer === undefined ? null : Math.round(peer * 10) / 10,
        ratio: peer === undefined ? null : Math.round((value / peer) * 1000) / 1000,
        seconds,
        ...(name === 'tpch_q6_ms' ? { sf, lineitemRows: lineitemRows?.length ?? 0 } : {}),
        machine: machine(),
      });
    }
  } finally {
    if (maria !== null) await stopMariaDb(maria.proc);
    await server.close();
    await engine.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
