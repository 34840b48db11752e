import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import type { RecordBatch } from 'apache-arrow';
import mysql from 'mysql2/promise';
import { openEmbeddedStorage } from '../src/client/index.js';
import { createQueryEngine } from '../src/query/index.js';
import { openUserStore } from '../src/server/auth/index.js';
import { startMysqlServer } from '../src/server/mysql/index.js';
import { logSyncStats, type LogSyncStats } from '../src/wal/index.js';
import { raftHoldStats, type RaftHoldStats } from '../src/replication/raft-driver.js';
import { serverNodeFlags } from '../src/tserver/process-cluster.js';
import { emit, machine } from './report.js';
import { generateTpch } from './tpch/dbgen.js';
import { DECIMAL_PRECISION, DECIMAL_SCALE } from './tpch/columns.js';
import { TPCH_TABLES, saigaPartitionSchema, saigaSchema } from './tpch/schema.js';
import { tpchQueries } from './tpch/queries.js';

/**
 * `npm run bench -- mysql [seconds=2] [sf=0.01] [rounds=3] [process|inproc]`: Saiga (embedded
 * storage + engine + MySQL endpoint) against MariaDB (Debian's mariadbd, started here on a loopback
 * port with a temporary data dir), both running at the same time and driven by the same mysql2 code,
 * same schema, same data, same statements. Saiga runs in its own Node process (`mysql --serve DIR`,
 * as `saiga start` deploys it and as mariadbd runs) unless `inproc` puts it inside the bench process,
 * where it shares one thread with the mysql2 client (the placement of earlier figures).
 *   COM_PING, 1 connection (QPS: the protocol floor of each server)
 *   point SELECT by primary key, prepared, 1 and 16 connections (QPS)
 *   single-row INSERT, prepared, 16 connections (QPS)
 *   INSERT of 1000 rows per statement, 1 connection (rows/s)
 *   TPC-H Q6 over lineitem at scale factor sf (best of 5, ms); lineitem is generated once in the
 *   Saiga process and loaded with StorageApi.writeArrow, and into MariaDB with LOAD DATA INFILE of
 *   tab-separated files written from the same Arrow batches (SF1: about a minute each)
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
  /** The server's process id (CPU accounting through /proc); undefined when the server runs in this process. */
  readonly pid: number | undefined;
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
    '--user=root', '--skip-grant-tables', '--skip-name-resolve', '--innodb-buffer-pool-size=1G', `--secure-file-priv=${dir}`, `--pid-file=${join(dir, 'mariadb.pid')}`,
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

/** Linux clock ticks per second of /proc/PID/stat's utime and stime. */
const CLOCK_TICKS_PER_S = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** CPU time (µs) a process has used so far, from /proc/PID/stat (null where there is no procfs). */
function procCpuUs(pid: number | undefined): { userUs: number; sysUs: number } | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userUs: (Number(f[11]) * 1e6) / CLOCK_TICKS_PER_S, sysUs: (Number(f[12]) * 1e6) / CLOCK_TICKS_PER_S };
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system µs) of each thread of a process so far, summed by thread name
 * (/proc/PID/task/TID/comm; the main thread is 'main'): where a server's CPU goes (the event loop,
 * libuv's thread pool, V8's GC helpers). Null where there is no procfs.
 */
function threadCpuUs(pid: number | undefined): Map<string, number> | null {
  if (pid === undefined) return null;
  try {
    const out = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
        out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS_PER_S);
      } catch {
        // the thread exited between the listing and the read
      }
    }
    return out;
  } catch {
    return null;
  }
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
async function rate(target: Target, w: Workload, seconds: number, warmupSeconds: number, counted?: { ops: number }): Promise<number> {
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
    const warm = await loop(performance.now() + warmupSeconds * 1000); // prepares statements, warms caches and JIT
    const t0 = performance.now();
    const done = await loop(t0 + seconds * 1000);
    if (counted !== undefined) counted.ops += warm + done;
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

const MARIADB_TYPES: Record<string, string> = { int32: 'INT', decimal: `DECIMAL(${DECIMAL_PRECISION},${DECIMAL_SCALE})`, date: 'DATE', string: 'VARCHAR(199)' };

/**
 * Tab-separated files (LOAD DATA's default format: `\\` escapes tab, newline and backslash) of
 * `rowsPerFile` rows each, written as bytes straight from the Arrow buffers (int32, decimal128 of
 * small values, date32, utf8).
 */
function writeTsvFiles(dir: string, batches: readonly RecordBatch[], rowsPerFile: number): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  let buf = Buffer.allocUnsafe(16 << 20);
  let len = 0;
  let fd = -1;
  let rowsInFile = 0;
  const flush = (): void => { writeSync(fd, buf, 0, len); len = 0; };
  const ensure = (n: number): void => {
    if (len + n <= buf.length) return;
    flush();
    if (n > buf.length) buf = Buffer.allocUnsafe(n * 2);
  };
  const digits = (v: number): void => { len += buf.write(String(v), len, 'latin1'); };
  const dates = new Map<number, string>();
  for (const batch of batches) {
    const cols = batch.schema.fields.map((f, k) => {
      const data = batch.getChildAt(k)!.data[0]!;
      return { type: f.type, values: data.values as ArrayLike<number>, offsets: data.valueOffsets as Int32Array | undefined, bytes: data.values as Uint8Array, scale: (f.type as { scale?: number }).scale ?? 0 };
    });
    for (let i = 0; i < batch.numRows; i++) {
      if (fd < 0) {
        const file = join(dir, `lineitem-${files.length}.tsv`);
        files.push(file);
        fd = openSync(file, 'w');
      }
      ensure(4096);
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k]!;
        if (k > 0) buf[len++] = 9;
        if (arrow.DataType.isInt(c.type)) digits(c.values[i] as number);
        else if (arrow.DataType.isDecimal(c.type)) {
          const w = c.values as Uint32Array;
          const lo = w[i * 4]!;
          const hi = w[i * 4 + 1]!;
          if (w[i * 4 + 2] !== 0 || w[i * 4 + 3] !== 0 || hi >= 0x200000) throw new Error('writeTsvFiles: decimal outside the small positive range');
          const n = hi * 0x100000000 + lo;
          const p = 10 ** c.scale;
          const frac = String(n % p).padStart(c.scale, '0');
          len += buf.write(c.scale > 0 ? `${Math.floor(n / p)}.${frac}` : String(n), len, 'latin1');
        } else if (arrow.DataType.isDate(c.type)) {
          const d = c.values[i] as number;
          let t = dates.get(d);
          if (t === undefined) { t = new Date(d * 86400000).toISOString().slice(0, 10); dates.set(d, t); }
          len += buf.write(t, len, 'latin1');
        } else if (arrow.DataType.isUtf8(c.type)) {
          const a = c.offsets![i]!;
          const b = c.offsets![i + 1]!;
          ensure(2 * (b - a) + 1);
          for (let j = a; j < b; j++) {
            const ch = c.bytes[j]!;
            if (ch === 9 || ch === 10 || ch === 92) { buf[len++] = 92; buf[len++] = ch === 9 ? 116 : ch === 10 ? 110 : 92; } else buf[len++] = ch;
          }
        } else throw new Error(`writeTsvFiles: unexpected column type ${String(c.type)}`);
      }
      buf[len++] = 10;
      if (++rowsInFile >= rowsPerFile) {
        flush();
        closeSync(fd);
        fd = -1;
        rowsInFile = 0;
      }
    }
  }
  if (fd >= 0) { flush(); closeSync(fd); }
  return files;
}

/** WAL counters plus the server process's CPU time (user + system µs, process.cpuUsage()). */
type ServerStats = LogSyncStats & { readonly cpuUs: number; readonly hold: RaftHoldStats; readonly elu: EventLoopUtilization };

function serverStats(): ServerStats {
  const u = process.cpuUsage();
  return { ...logSyncStats(), cpuUs: u.user + u.system, hold: raftHoldStats(), elu: performance.eventLoopUtilization() };
}

/** The share of `elu1 - elu0`'s wall time the event loop was busy (0..1, two decimals). */
function busyShare(elu0: EventLoopUtilization, elu1: EventLoopUtilization): number {
  const d = performance.eventLoopUtilization(elu1, elu0);
  return Math.round(d.utilization * 100) / 100;
}

/** Where the Saiga server runs: its own process (as `saiga start` deploys it, like mariadbd) or inside the bench process. */
type Placement = 'process' | 'inproc';

interface SaigaHost {
  readonly port: number;
  /** The server's own process id; undefined when it runs inside the bench process. */
  readonly pid: number | undefined;
  /** Generates TPC-H lineitem at sf, loads it through StorageApi.writeArrow, writes the TSV files for MariaDB. */
  loadLineitem(sf: number, tsvDir: string): Promise<{ rowCount: number; names: string[]; files: string[] }>;
  /** The server process's WAL group-commit counters (src/wal logSyncStats) and its CPU time so far. */
  syncStats(): Promise<ServerStats>;
  close(): Promise<void>;
}

async function startSaigaInProcess(dataDir: string): Promise<SaigaHost> {
  const storage = await openEmbeddedStorage({ dataDir });
  const engine = createQueryEngine({ storage });
  const users = openUserStore({ rootPassword: 'bench' });
  const server = await startMysqlServer({ engine, users, port: 0 });
  return {
    syncStats: () => Promise.resolve(serverStats()),
    port: server.port,
    pid: undefined,
    loadLineitem: async (sf, tsvDir) => {
      const t0 = performance.now();
      const lineitem = generateTpch(sf, 1).lineitem;
      console.error(`q6: generated ${lineitem.rowCount} lineitem rows in ${Math.round(performance.now() - t0)} ms`);
      const t1 = performance.now();
      await storage.createTable({ database: 'bench', name: 'lineitem', schema: saigaSchema('lineitem'), partitionSchema: saigaPartitionSchema('lineitem', 4) });
      for (const batch of lineitem.batches) {
        const res = await storage.writeArrow('bench', 'lineitem', 'insert', batch);
        if (res.appliedCount !== batch.numRows) throw new Error(`saiga lineitem load: ${res.appliedCount} of ${batch.numRows} rows applied (${res.rowErrors[0]?.message ?? ''})`);
      }
      await storage.flush('bench');
      console.error(`q6: saiga loaded lineitem in ${Math.round(performance.now() - t1)} ms`);
      const files = writeTsvFiles(tsvDir, lineitem.batches, 1_000_000);
      return { rowCount: lineitem.rowCount, names: lineitem.schema.fields.map((f) => f.name), files };
    },
    close: async () => {
      await server.close();
      await engine.close();
      await storage.close();
    },
  };
}

/** The server process (`mysql --serve DATADIR`): prints `READY port`, then answers `lineitem sf dir` lines with one JSON line. */
async function serve(dataDir: string): Promise<void> {
  const host = await startSaigaInProcess(dataDir);
  process.stdout.write(`READY ${host.port}\n`);
  let pending = '';
  for await (const chunk of process.stdin) {
    pending += String(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const [cmd, a, b] = pending.slice(0, nl).split(' ');
      pending = pending.slice(nl + 1);
      if (cmd === 'stats') process.stdout.write(`${JSON.stringify(serverStats())}\n`);
      if (cmd === 'lineitem') {
        try {
          process.stdout.write(`${JSON.stringify(await host.loadLineitem(Number(a), b as string))}\n`);
        } catch (e) {
          process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
        }
      }
    }
  }
  await host.close(); // stdin closed: the bench is done
}

async function startSaigaProcess(dataDir: string): Promise<SaigaHost> {
  const runJs = fileURLToPath(new URL('./run.js', import.meta.url));
  // SAIGA_SERVER_NODE_ARGS (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the server process.
  // The node flags Saiga's server launchers give a server (serverNodeFlags), then any extra.
  const nodeArgs = [...serverNodeFlags(), ...(process.env['SAIGA_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '')];
  const proc = spawn(process.execPath, [...nodeArgs, runJs, 'mysql', '--serve', dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  let buffered = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) { lines.push(buffered.slice(0, nl)); buffered = buffered.slice(nl + 1); }
    waiter?.();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { waiter?.(); resolve(); }));
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error('the saiga server process exited');
      await new Promise<void>((r) => { waiter = r; });
      waiter = null;
    }
    return lines.shift() as string;
  };
  const ready = await nextLine();
  if (!ready.startsWith('READY ')) throw new Error(`saiga server process: expected READY, got ${ready}`);
  return {
    port: Number(ready.slice(6)),
    pid: proc.pid,
    syncStats: async () => {
      proc.stdin!.write('stats\n');
      return JSON.parse(await nextLine()) as ServerStats;
    },
    loadLineitem: async (sf, tsvDir) => {
      proc.stdin!.write(`lineitem ${sf} ${tsvDir}\n`);
      const r = JSON.parse(await nextLine()) as { rowCount: number; names: string[]; files: string[] } | { error: string };
      if ('error' in r) throw new Error(r.error);
      return r;
    },
    close: async () => {
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function main(args: string[]): Promise<void> {
  if (args[0] === '--serve') return serve(args[1] as string);
  const seconds = Number(args[0] ?? 2);
  const sf = Number(args[1] ?? 0.01);
  const rounds = Math.max(1, Math.floor(Number(args[2] ?? 3)));
  const placement: Placement = args[3] === 'inproc' ? 'inproc' : 'process';
  const warmupSeconds = Math.min(1, seconds / 2);
  const dir = mkdtempSync(join(tmpdir(), 'saiga-bench-mysql-'));
  const host = placement === 'process' ? await startSaigaProcess(join(dir, 'saiga')) : await startSaigaInProcess(join(dir, 'saiga'));
  let maria: { proc: ChildProcess; port: number } | null = null;
  try {
    const saiga: Target = { name: 'saiga', options: { host: '127.0.0.1', port: host.port, user: 'root', password: 'bench' }, pid: host.pid, nextInsertKey: 0 };
    maria = await startMariaDb(dir);
    const targets: Target[] = [saiga];
    if (maria !== null) targets.push({ name: 'mariadb', options: { host: '127.0.0.1', port: maria.port, user: 'root' }, pid: maria.proc.pid, nextInsertKey: 0 });
    for (const t of targets) await setUp(t);

    const figures = new Map<string, { unit: string; saiga: number; mariadb: number | null; extra: Record<string, unknown> }>();
    // SAIGA_BENCH_WORKLOADS=insert_qps_c16,batch_insert_rows_per_s runs only those (sf 0 skips Q6).
    const only = (process.env['SAIGA_BENCH_WORKLOADS'] ?? '').split(',').filter((a) => a !== '');
    for (const w of workloads().filter((x) => only.length === 0 || only.includes(x.name))) {
      const samples: Record<string, number[]> = { saiga: [], mariadb: [] };
      /** WAL entries per fdatasync in the Saiga server, per round (warm-up included). */
      const walPerFsync: Record<string, number[]> = {};
      /** Mean ms from a WAL chunk's write to its durability, per round. */
      const walSyncMs: Record<string, number[]> = {};
      /** Saiga server CPU µs per op (user + system, warm-up included in both counts), per round. */
      const cpuUsPerOp: number[] = [];
      /** Group-commit holds of the Saiga server per round: [holds, ended by enough writers, ended by the time bound]. */
      const holds: number[][] = [];
      /**
       * Per target and round, CPU µs per op (warm-up included): the server process's user and
       * system time (/proc/PID/stat, 10 ms ticks), the same per server thread name (main = the event
       * loop; /proc/PID/task), and this bench process's (the mysql2 client).
       */
      const cpu: Record<string, { serverUserUsPerOp: number[]; serverSysUsPerOp: number[]; serverThreadUsPerOp: Record<string, number>[]; clientUsPerOp: number[] }> = {};
      /** WAL group commits (fdatasyncs) per second of the Saiga server, per round (warm-up included). */
      const syncsPerS: number[] = [];
      /**
       * Per round, the share of wall time the Saiga server's event loop was busy, the bench
       * (client) process's, and the share a group-commit hold was running.
       */
      const busy: { server: number[]; client: number[]; holding: number[] } = { server: [], client: [], holding: [] };
      for (let r = 0; r < rounds; r++) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          const before = t.name === 'saiga' ? await host.syncStats() : undefined;
          const counted = { ops: 0 };
          const serverCpu0 = procCpuUs(t.pid);
          const threads0 = threadCpuUs(t.pid);
          const clientCpu0 = process.cpuUsage();
          const clientElu0 = performance.eventLoopUtilization();
          const wall0 = performance.now();
          samples[t.name]?.push(await rate(t, w, seconds, warmupSeconds, counted));
          const wallS = (performance.now() - wall0) / 1000;
          const clientCpu = process.cpuUsage(clientCpu0);
          const clientBusy = busyShare(clientElu0, performance.eventLoopUtilization());
          const serverCpu1 = procCpuUs(t.pid);
          const threads1 = threadCpuUs(t.pid);
          if (counted.ops > 0) {
            const c = (cpu[t.name] ??= { serverUserUsPerOp: [], serverSysUsPerOp: [], serverThreadUsPerOp: [], clientUsPerOp: [] });
            c.clientUsPerOp.push(Math.round((clientCpu.user + clientCpu.system) / counted.ops));
            if (serverCpu0 !== null && serverCpu1 !== null) {
              c.serverUserUsPerOp.push(Math.round((serverCpu1.userUs - serverCpu0.userUs) / counted.ops));
              c.serverSysUsPerOp.push(Math.round((serverCpu1.sysUs - serverCpu0.sysUs) / counted.ops));
            }
            if (threads0 !== null && threads1 !== null) {
              const perThread: Record<string, number> = {};
              for (const [name, us] of threads1) {
                const d = Math.round((us - (threads0.get(name) ?? 0)) / counted.ops);
                if (d > 0) perThread[name] = d;
              }
              c.serverThreadUsPerOp.push(perThread);
            }
          }
          if (before !== undefined) {
            const after = await host.syncStats();
            syncsPerS.push(Math.round((after.syncs - before.syncs) / wallS));
            if (counted.ops > 0) cpuUsPerOp.push(Math.round((after.cpuUs - before.cpuUs) / counted.ops));
            holds.push([after.hold.holds - before.hold.holds, after.hold.releasedByWriters - before.hold.releasedByWriters, after.hold.releasedByTimer - before.hold.releasedByTimer]);
            busy.server.push(busyShare(before.elu, after.elu));
            busy.client.push(clientBusy);
            busy.holding.push(Math.round((after.hold.heldMs - before.hold.heldMs) / (wallS * 10)) / 100);
            const syncs = after.syncs - before.syncs;
            if (syncs > 0) {
              (walPerFsync[w.name] ??= []).push(Math.round(((after.entries - before.entries) / syncs) * 10) / 10);
              (walSyncMs[w.name] ??= []).push(Math.round(((after.syncMs - before.syncMs) / syncs) * 1000) / 1000);
            }
          }
        }
      }
      const m = samples['mariadb'] as number[];
      figures.set(w.name, {
        unit: w.unit,
        saiga: median(samples['saiga'] as number[]),
        mariadb: m.length > 0 ? median(m) : null,
        extra: { conns: w.conns, placement, walEntriesPerFsync: walPerFsync[w.name] ?? [], walSyncMs: walSyncMs[w.name] ?? [], serverCpuUsPerOp: placement === 'process' ? cpuUsPerOp : [], cpu, syncsPerS, holds, busy, rounds: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => Math.round(x))])) },
      });
    }

    // TPC-H Q6: lineitem generated once (in the Saiga process); Saiga loads it through
    // StorageApi.writeArrow (its bulk path), MariaDB through LOAD DATA INFILE of tab-separated files
    // written from the same batches.
    if (sf > 0) try {
      const lineitem = await host.loadLineitem(sf, join(dir, 'tsv'));
      const q6 = tpchQueries(sf).find((q) => q.id === 6)?.sql;
      if (q6 === undefined) throw new Error('no Q6 in bench/tpch/queries');
      const mt = targets.find((t) => t.name === 'mariadb');
      if (mt !== undefined) {
        const t2 = performance.now();
        const mc = await mysql.createConnection({ ...mt.options, database: 'bench' });
        const spec = TPCH_TABLES.lineitem.columns;
        const cols = spec.map((c) => `${c.name} ${MARIADB_TYPES[c.type] ?? 'VARCHAR(199)'} NOT NULL`);
        await mc.query(`CREATE TABLE lineitem (${cols.join(', ')}, PRIMARY KEY (l_orderkey, l_linenumber))`);
        const names = lineitem.names;
        for (const file of lineitem.files) {
          await mc.query(`LOAD DATA INFILE ${mc.escape(file)} INTO TABLE lineitem FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${names.join(', ')})`);
          rmSync(file);
        }
        await mc.end();
        console.error(`q6: mariadb loaded lineitem in ${Math.round(performance.now() - t2)} ms`);
      }
      const best: Record<string, number> = {};
      for (const t of targets) best[t.name] = await q6Best(t, q6);
      figures.set('tpch_q6_ms', { unit: 'ms', saiga: best['saiga'] as number, mariadb: best['mariadb'] ?? null, extra: { sf, placement, lineitemRows: lineitem.rowCount } });
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
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
