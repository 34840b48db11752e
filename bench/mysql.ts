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
 * `npm run bench -- mysql [seconds=2] [sf=0.01] [rounds=3]`: Saiga (embedded storage + engine +
 * MySQL endpoint) against MariaDB (Debian's mariadbd, started here on a loopback port with a
 * temporary data dir), both running at the same time and driven by the same mysql2 code, same
 * schema, same data, same statements:
 *   COM_PING, 1 connection (QPS: the protocol floor of each server)
 *   point SELECT by primary key, prepared, 1 and 16 connections (QPS)
 *   single-row INSERT, prepared, 16 connections (QPS)
 *   INSERT of 1000 rows per statement, 1 connection (rows/s)
 *   TPC-H Q6 over lineitem at scale factor sf (best of 5, ms)
 * Fairness on a shared, noisy machine: every workload is warmed up, then run `rounds` times for
 * `seconds` each, alternating Saiga and MariaDB round by round; the figure is the median round.
 * Each BENCH line carries both figures and the ratio saiga / mariadb (>1 = Saiga better for rates,
 * worse for times).
 * Durability is comparable: Saiga acknowledges a write after its WAL fdatasync (group commit);
 * MariaDB runs with innodb_flush_log_at_trx_commit=1 (redo log flushed + synced at every commit),
 * doublewrite on, no binary log (so sync_binlog does not apply), autocommit.
 */

interface Target {
  readonly name: 'saiga' | 'mariadb';
  readonly options: mysql.ConnectionOptions;
  /** Next unused primary key of the insert workloads (keys never repeat across rounds). */
  nextInsertKey: number;
}

/** Durable MariaDB settings, stated explicitly rather than relying on defaults. */
const MARIADB_DURABILITY = ['--innodb-flush-log-at-trx-commit=1', '--innodb-doublewrite=1', '--skip-log-bin', '--autocommit=1'];

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
    '--max-connections=200', `--log-error=${join(dir, 'mariadb.err')}`, ...MARIADB_DURABILITY,
  ], { stdio: 'ignore' });
  for (let i = 0; i < 150; i++) {
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
      const [rows] = await c.query('SELECT @@innodb_flush_log_at_trx_commit AS f, @@log_bin AS b');
      console.error(`mariadb durability: ${JSON.stringify(rows)}`);
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

type Op = (c: mysql.Connection, target: Target) => Promise<unknown>;

interface Workload {
  readonly name: string;
  readonly unit: string;
  readonly conns: number;
  /** Units of work per completed op (rows per batched INSERT). */
  readonly perOp: number;
  readonly op: Op;
}

/**
 * Runs `op` in a loop on each of `conns` connections for `seconds` after a warm-up of
 * `warmupSeconds`; returns completed ops per second of the measured part.
 */
async function rate(target: Target, w: Workload, seconds: number, warmupSeconds: number): Promise<number> {
  const cs = await Promise.all(Array.from({ length: w.conns }, () => mysql.createConnection({ ...target.options, database: 'bench' })));
  try {
    const loop = async (until: number): Promise<number> => {
      let done = 0;
      await Promise.all(cs.map(async (c) => {
        while (performance.now() < until) {
          await w.op(c, target);
          done++;
        }
      }));
      return done;
    };
    await loop(performance.now() + warmupSeconds * 1000); // prepares statements, warms caches and JIT
    const t0 = performance.now();
    const done = await loop(t0 + seconds * 1000);
    return (done * w.perOp) / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(cs.map((c) => c.end()));
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const POINT_ROWS = 20_000;
const BATCH_ROWS = 1000;

/** Same schema and data on both servers: kv (point lookups), ins (single-row inserts), bulk (batched inserts). */
async function setUp(target: Target): Promise<void> {
  const admin = await mysql.createConnection(target.options);
  await admin.query('CREATE DATABASE IF NOT EXISTS bench');
  await admin.query('USE bench');
  for (const t of ['kv', 'ins', 'bulk']) await admin.query(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, v VARCHAR(64), n INT)`);
  for (let start = 0; start < POINT_ROWS; start += BATCH_ROWS) await admin.query(`INSERT INTO kv VALUES ${batchValues(start)}`);
  await admin.end();
}

function batchValues(start: number): string {
  return Array.from({ length: BATCH_ROWS }, (_, k) => `(${start + k}, 'value-${start + k}', ${(start + k) % 997})`).join(',');
}

function workloads(): Workload[] {
  let seed = 12345;
  const nextKey = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % POINT_ROWS;
  };
  const point: Op = (c) => c.execute('SELECT v, n FROM kv WHERE id = ?', [nextKey()]);
  const insert: Op = (c, t) => {
    const i = t.nextInsertKey++;
    return c.execute('INSERT INTO ins VALUES (?, ?, ?)', [i, `row-${i}`, i % 100]);
  };
  const batch: Op = (c, t) => {
    const start = t.nextInsertKey;
    t.nextInsertKey += BATCH_ROWS;
    return c.query(`INSERT INTO bulk VALUES ${batchValues(start)}`);
  };
  return [
    { name: 'ping_qps_c1', unit: 'qps', conns: 1, perOp: 1, op: (c) => c.ping() },
    { name: 'point_select_qps_c1', unit: 'qps', conns: 1, perOp: 1, op: point },
    { name: 'point_select_qps_c16', unit: 'qps', conns: 16, perOp: 1, op: point },
    { name: 'insert_qps_c16', unit: 'qps', conns: 16, perOp: 1, op: insert },
    { name: 'batch_insert_rows_per_s', unit: 'rows/s', conns: 1, perOp: BATCH_ROWS, op: batch },
  ];
}

/** Q6, best of 5 after one warm-up run; logs the answer so both servers can be compared. */
async function q6Best(target: Target, q6: string): Promise<number> {
  const c = await mysql.createConnection({ ...target.options, database: 'bench' });
  try {
    let best = Infinity;
    let answer = '';
    for (let k = 0; k < 6; k++) {
      const t = performance.now();
      const [rows] = await c.query(q6);
      if (k > 0) best = Math.min(best, performance.now() - t);
      answer = JSON.stringify(rows);
    }
    console.error(`${target.name} q6 answer ${answer}`);
    return best;
  } finally {
    await c.end();
  }
}

const MARIADB_TYPES: Record<string, string> = { int: 'INT', bigint: 'BIGINT', date: 'DATE', string: 'VARCHAR(255)', double: 'DOUBLE' };

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 2);
  const sf = Number(args[1] ?? 0.01);
  const rounds = Math.max(1, Math.floor(Number(args[2] ?? 3)));
  const warmupSeconds = Math.min(1, seconds / 2);
  const dir = mkdtempSync(join(tmpdir(), 'saiga-bench-mysql-'));
  const storage = await openEmbeddedStorage({ dataDir: join(dir, 'saiga') });
  const engine = createQueryEngine({ storage });
  const users = openUserStore({ rootPassword: 'bench' });
  const server = await startMysqlServer({ engine, users, port: 0 });
  let maria: { proc: ChildProcess; port: number } | null = null;
  try {
    const saiga: Target = { name: 'saiga', options: { host: '127.0.0.1', port: server.port, user: 'root', password: 'bench' }, nextInsertKey: 0 };
    maria = await startMariaDb(dir);
    const targets: Target[] = [saiga];
    if (maria !== null) targets.push({ name: 'mariadb', options: { host: '127.0.0.1', port: maria.port, user: 'root' }, nextInsertKey: 0 });
    for (const t of targets) await setUp(t);

    const figures = new Map<string, { unit: string; saiga: number; mariadb: number | null; extra: Record<string, unknown> }>();
    for (const w of workloads()) {
      const samples: Record<string, number[]> = { saiga: [], mariadb: [] };
      for (let r = 0; r < rounds; r++) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) samples[t.name]?.push(await rate(t, w, seconds, warmupSeconds));
      }
      const m = samples['mariadb'] as number[];
      figures.set(w.name, {
        unit: w.unit,
        saiga: median(samples['saiga'] as number[]),
        mariadb: m.length > 0 ? median(m) : null,
        extra: { conns: w.conns, rounds: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => Math.round(x))])) },
      });
    }

    // TPC-H Q6: lineitem generated, bulk-loaded into Saiga, copied to MariaDB through Saiga's own MySQL endpoint.
    try {
      const data = generateTpch(sf, 1);
      await loadSaiga(storage, data, { database: 'bench', buckets: 4 });
      const q6 = tpchQueries(sf).find((q) => q.id === 6)?.sql;
      if (q6 === undefined) throw new Error('no Q6 in bench/tpch/queries');
      const c = await mysql.createConnection({ ...saiga.options, database: 'bench', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, rowsAsArray: true });
      const [desc] = await c.query({ sql: 'DESCRIBE lineitem', rowsAsArray: false });
      const cols = (desc as Array<{ Field: string; Type: string }>).map((d) => `${d.Field} ${MARIADB_TYPES[d.Type] ?? d.Type.toUpperCase()}`);
      const [rows] = await c.query('SELECT * FROM lineitem');
      const lineitemRows = rows as unknown[][];
      await c.end();
      const mt = targets.find((t) => t.name === 'mariadb');
      if (mt !== undefined) {
        const mc = await mysql.createConnection({ ...mt.options, database: 'bench' });
        await mc.query(`CREATE TABLE lineitem (${cols.join(', ')}, PRIMARY KEY (l_orderkey, l_linenumber))`);
        for (let i = 0; i < lineitemRows.length; i += 2000) await mc.query('INSERT INTO lineitem VALUES ?', [lineitemRows.slice(i, i + 2000)]);
        await mc.end();
      }
      const best: Record<string, number> = {};
      for (const t of targets) best[t.name] = await q6Best(t, q6);
      figures.set('tpch_q6_ms', { unit: 'ms', saiga: best['saiga'] as number, mariadb: best['mariadb'] ?? null, extra: { sf, lineitemRows: lineitemRows.length } });
    } catch (e) {
      console.error(`TPC-H Q6 skipped: ${(e as Error).message}`);
    }

    for (const [name, f] of figures) {
      emit({
        name: `mysql.${name}`,
        value: Math.round(f.saiga * 10) / 10,
        unit: f.unit,
        mariadb: f.mariadb === null ? null : Math.round(f.mariadb * 10) / 10,
        ratio: f.mariadb === null ? null : Math.round((f.saiga / f.mariadb) * 1000) / 1000,
        seconds,
        ...f.extra,
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
