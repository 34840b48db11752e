import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Data, RecordBatch } from 'apache-arrow';
import { openEmbeddedStorage } from '../src/client/index.js';
import type { StorageApi } from '../src/common/storage-api.js';
import { createQueryEngine } from '../src/query/index.js';
import { FlightClient } from '../src/server/flight/client.js';
import { startFlightServer } from '../src/server/flight/server.js';
import { rerunWithServerFlags, serverGcMode } from './server-flags.js';
import { pageWarmerStats } from '../src/tablet/page-warmer.js';
import { emit, machine } from './report.js';
import { generateTpch } from './tpch/dbgen.js';
import { tpchQueries } from './tpch/queries.js';
import { saigaPartitionSchema, saigaSchema } from './tpch/schema.js';

/**
 * `npm run bench -- flight [--sf S | --rows N] [--tablets T] [--reps R] [--client-procs K] [--put-batch-rows B] [--put-only | --peer-only]`: Flight
 * DoPut ingest and DoGet scan throughput of TPC-H lineitem over loopback, against the embedded
 * storage. Targets (issue): DoGet >= 5 M rows/s, DoPut >= 1 M rows/s into a one-replica table.
 *
 * The server runs in this process; the client runs in a child process (`fork` of this file),
 * as a real Flight client would, so that its encode (DoPut) and decode (DoGet) run on the
 * other core instead of competing with the server's event loop. The client generates lineitem
 * itself (bench/tpch/dbgen.ts, seed 42), uploads it with DoPut, and fetches it back with DoGet
 * (decoding every batch into apache-arrow RecordBatches, then dropping it). DoGet runs single
 * stream (endpoints one after another), all endpoints in parallel from one client process, and
 * all endpoints in parallel dealt over K client processes (default 2), the way distributed
 * consumers take one endpoint each. Each figure carries wall rows/s and the CPU time per row of
 * the server process and of the client process(es). Last, a storage peer (unless
 * `--no-storage-peer`): the same batches written with storage.writeArrow in this process, no
 * Flight (`storage_peer`, final flush reported apart), and through storage.bulkLoad when the
 * storage has one (`storage_peer_bulk`, finish() included).
 *
 * `--no-bulk`: the Flight server sees the storage without `bulkLoad` (DoPut inserts through
 * writeArrow, the WAL path), for A/Bs of what the loading path leaves for scans. `--q6`: after
 * the DoGets, TPC-H Q6 over the DoPut table through the query engine (`reps` runs, best wall,
 * with server CPU). The DoPut figure names the DiskRowSet files the table has after the load.
 * The server process gets the node flags of Saiga's server launchers (`serverNodeFlags`: on
 * <= 2 cores `--single-threaded-gc`; SAIGA_SERVER_GC=parallel for V8's default GC).
 */
export async function main(args: string[]): Promise<void> {
  // The server (this process) runs with the node flags Saiga's server launchers give it
  // (bench/server-flags.ts).
  if (await rerunWithServerFlags('flight')) return;
  const flag = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const sf = args.includes('--sf') ? flag('sf', 1) : Math.max(0.001, flag('rows', 600_000) / 6_000_000);
  const tablets = flag('tablets', 4);
  const reps = flag('reps', 3);
  const clientProcs = Math.max(1, flag('client-procs', 2));
  // rows per uploaded DoPut batch (the client's record batches)
  const putBatchRows = flag('put-batch-rows', 65_536);
  const dir = mkdtempSync(join(tmpdir(), 'saiga-flight-bench-'));
  const storage = await openEmbeddedStorage({ dataDir: dir });
  const engine = createQueryEngine({ storage });
  // Without bulkLoad, DoPut inserts take the WAL path (writeArrow + MemRowSet flushes).
  const noBulk = args.includes('--no-bulk');
  const served: StorageApi = noBulk
    ? new Proxy(storage, {
      get: (t, p) => {
        if (p === 'bulkLoad') return undefined;
        const v: unknown = Reflect.get(t, p, t);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    })
    : storage;
  const server = await startFlightServer({ storage: served, engine, port: 0 });
  const clients: ClientProcess[] = [];
  // The clients run with V8's default GC (a server-process flag under test stays in the server).
  const execArgv = process.execArgv.filter((a) => a !== '--single-threaded-gc');
  for (let i = 0; i < clientProcs; i++) clients.push(new ClientProcess(fork(fileURLToPath(import.meta.url), [CLIENT_FLAG], { stdio: 'inherit', execArgv })));
  const client = clients[0] as ClientProcess;
  const common = { machine: machine(), sf, tablets, serverGc: serverGcMode() };
  try {
    await storage.createDatabase('tpch', true);
    await storage.createTable({ database: 'tpch', name: 'lineitem', schema: saigaSchema('lineitem'), partitionSchema: saigaPartitionSchema('lineitem', tablets) });
    const address = `127.0.0.1:${server.port}`;
    const ready = await client.ask({ kind: 'init', address, sf: args.includes('--peer-only') ? 0 : sf, batchRows: putBatchRows }) as { rows: number; generateMs: number };
    for (const c of clients.slice(1)) await c.ask({ kind: 'init', address, sf: 0, batchRows: putBatchRows });
    const rows = ready.rows;
    // `--peer-only`: the storage peer alone (no Flight; profiling storage.writeArrow).
    const peerOnly = args.includes('--peer-only');

    const p0 = process.cpuUsage();
    const f0 = process.resourceUsage();
    const m0 = mainThreadCpuSeconds();
    const put = peerOnly ? undefined : await client.ask({ kind: 'put' }) as ClientFigure & { applied: number; rowErrors: number };
    const putCpu = cpuSeconds(process.cpuUsage(p0));
    const f1 = process.resourceUsage();
    const mainCpu = m0 === undefined ? undefined : (mainThreadCpuSeconds() as number) - m0;
    // What the load left in memory (MemRowSets: the WAL path; nothing for a bulk load, whose
    // files are written and committed before DoPut ends) written too: comparable CPU per row.
    const flushStart = performance.now();
    if (!peerOnly) await storage.flush('tpch', 'lineitem');
    const flushSeconds = (performance.now() - flushStart) / 1000;
    const cpuWithFlush = cpuSeconds(process.cpuUsage(p0));
    if (put !== undefined) emit({
      name: 'flight.doput.rows_per_s', value: Math.round(rows / put.seconds), unit: 'rows/s', mbPerS: Math.round(put.bodyBytes / put.seconds / 1e6),
      applied: put.applied, rowErrors: put.rowErrors, serverCpuRowsPerS: Math.round(rows / putCpu), clientCpuRowsPerS: Math.round(rows / put.cpuSeconds),
      // Page faults (first touch of fresh memory) and system CPU of the server, all threads.
      serverMinorFaultsPer1kRows: Math.round((1000 * (f1.minorPageFault - f0.minorPageFault)) / rows),
      serverSystemCpuShare: Math.round((100 * (f1.systemCPUTime - f0.systemCPUTime)) / 1e6 / putCpu) / 100,
      // The writing (main) thread alone: what bounds DoPut's wall time on an idle machine.
      ...(mainCpu === undefined ? {} : { mainThreadCpuRowsPerS: Math.round(rows / mainCpu) }),
      withFinalFlushRowsPerS: Math.round(rows / (put.seconds + flushSeconds)), serverCpuWithFinalFlushRowsPerS: Math.round(rows / cpuWithFlush),
      pageWarmer: pageWarmerStats(),
      // DiskRowSet files of the table after the load (bulk-staged ones apart): what scans open.
      drsFiles: drsFiles(dir), bulkFiles: drsFiles(dir, 'bulk-'), path: noBulk ? 'wal' : 'bulk',
      target: 1_000_000, rows, putBatchRows, clientProcesses: 1, ...common,
    });

    // `--put-only`: DoPut alone (profiling the ingest path).
    const putOnly = args.includes('--put-only') || peerOnly;
    // Each DoGet mode runs `reps` times (the first also warms JIT and caches); the best wall-clock
    // run is reported with the CPU time per row of the server and of the client process(es).
    const modes = [
      { name: 'flight.doget.single_stream.rows_per_s', procs: 1, parallel: false },
      { name: 'flight.doget.parallel.rows_per_s', procs: 1, parallel: true },
      ...(clientProcs > 1 ? [{ name: 'flight.doget.parallel_processes.rows_per_s', procs: clientProcs, parallel: true }] : []),
    ];
    for (const mode of putOnly ? [] : modes) {
      let best: { seconds: number; rows: number; bodyBytes: number; endpoints: number; serverCpu: number; clientCpu: number } | undefined;
      for (let r = 0; r < reps; r++) {
        const { tickets } = await client.ask({ kind: 'info' }) as { tickets: string[] };
        // endpoints dealt round-robin to the client processes, each fetching its share in parallel
        const shares = clients.slice(0, mode.procs).map((_, i) => tickets.filter((_t, k) => k % mode.procs === i));
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const got = await Promise.all(shares.map((share, i) => (clients[i] as ClientProcess).ask({ kind: 'get', tickets: share, parallel: mode.parallel }))) as (ClientFigure & { rows: number })[];
        const seconds = (performance.now() - t0) / 1000;
        const serverCpu = cpuSeconds(process.cpuUsage(c0));
        const sum = (f: (g: ClientFigure & { rows: number }) => number): number => got.reduce((n, g) => n + f(g), 0);
        if (sum((g) => g.rows) !== rows) throw new Error(`DoGet read ${sum((g) => g.rows)} rows, the table holds ${rows}`);
        if (best === undefined || seconds < best.seconds) {
          best = { seconds, rows, bodyBytes: sum((g) => g.bodyBytes), endpoints: tickets.length, serverCpu, clientCpu: sum((g) => g.cpuSeconds) };
        }
      }
      if (best === undefined) continue;
      emit({
        name: mode.name, value: Math.round(best.rows / best.seconds), unit: 'rows/s', mbPerS: Math.round(best.bodyBytes / best.seconds / 1e6),
        endpoints: best.endpoints, rowsRead: best.rows, reps, clientProcesses: mode.procs,
        serverCpuRowsPerS: Math.round(best.rows / best.serverCpu), clientCpuRowsPerS: Math.round(best.rows / best.clientCpu),
        target: 5_000_000, path: noBulk ? 'wal' : 'bulk', ...common,
      });
    }
    if (args.includes('--q6') && !putOnly) {
      const q6 = tpchQueries(sf).find((q) => q.id === 6);
      if (q6 === undefined) throw new Error('TPC-H Q6 not found');
      const session = engine.openSession({ user: 'root', database: 'tpch', connectionId: 1 });
      let best: { seconds: number; cpu: number } | undefined;
      let revenue: unknown;
      for (let r = 0; r < Math.max(2, reps); r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const first = (await session.execute(q6.sql))[0];
        if (first?.kind !== 'rows') throw new Error('Q6 returned no rows');
        for await (const b of first.batches) if (b.numRows > 0) revenue = b.getChildAt(0)?.get(0);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(process.cpuUsage(c0));
        if (best === undefined || seconds < best.seconds) best = { seconds, cpu };
      }
      session.close();
      if (best !== undefined) emit({
        name: 'flight.table_scan.q6.rows_per_s', value: Math.round(rows / best.seconds), unit: 'rows/s', ms: Math.round(best.seconds * 1000),
        cpuRowsPerS: Math.round(rows / best.cpu), revenue: String(revenue), path: noBulk ? 'wal' : 'bulk', ...common,
      });
    }

    // Storage peer: the same lineitem batches (generated here, same seed) written straight to
    // storage.writeArrow in this process, putWritesInFlightMax (2) writes outstanding as DoPut
    // keeps them, into a second table of the same shape. DoPut's figure minus this one is what
    // the Flight edge (gRPC receive, FlightData/IPC decode, PutResults) costs.
    if (!args.includes('--no-storage-peer') && (!putOnly || peerOnly)) {
      const peer = generateTpch(sf, 42, { batchRows: putBatchRows }).lineitem;
      await storage.createTable({ database: 'tpch', name: 'lineitem_peer', schema: saigaSchema('lineitem'), partitionSchema: saigaPartitionSchema('lineitem', tablets) });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let applied = 0;
      const inFlight: Promise<{ appliedCount: number }>[] = [];
      for (const b of peer.batches) {
        if (inFlight.length >= 2) applied += (await (inFlight.shift() as Promise<{ appliedCount: number }>)).appliedCount;
        inFlight.push(storage.writeArrow('tpch', 'lineitem_peer', 'insert', b));
      }
      for (const w of inFlight) applied += (await w).appliedCount;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(process.cpuUsage(c0));
      const flushStart = performance.now();
      await storage.flush('tpch', 'lineitem_peer');
      const flushSeconds = (performance.now() - flushStart) / 1000;
      const cpuWithFlush = cpuSeconds(process.cpuUsage(c0));
      if (applied !== peer.rowCount) throw new Error(`storage peer applied ${applied} of ${peer.rowCount} rows`);
      emit({
        name: 'flight.doput.storage_peer.rows_per_s', value: Math.round(peer.rowCount / seconds), unit: 'rows/s',
        cpuRowsPerS: Math.round(peer.rowCount / cpu), rows: peer.rowCount, putBatchRows, ...common,
        // The rows left in MemRowSets flushed too: what a steady state of flushes costs per row.
        withFinalFlushRowsPerS: Math.round(peer.rowCount / (seconds + flushSeconds)), withFinalFlushCpuRowsPerS: Math.round(peer.rowCount / cpuWithFlush),
      });
      await storage.dropTable('tpch', 'lineitem_peer');
      // The same batches through storage.bulkLoad (what DoPut inserts use when the storage has
      // it): staged DiskRowSets committed at finish(), which is inside the timed span.
      const bulkLoad = storage.bulkLoad?.bind(storage);
      if (bulkLoad !== undefined) {
        await storage.createTable({ database: 'tpch', name: 'lineitem_peer', schema: saigaSchema('lineitem'), partitionSchema: saigaPartitionSchema('lineitem', tablets) });
        const b0 = process.cpuUsage();
        const bt0 = performance.now();
        const load = bulkLoad('tpch', 'lineitem_peer');
        const pending: Promise<unknown>[] = [];
        for (const b of peer.batches) {
          if (pending.length >= 2) await pending.shift();
          pending.push(load.write(b));
        }
        await Promise.all(pending);
        const fin = await load.finish();
        const bulkSeconds = (performance.now() - bt0) / 1000;
        const bulkCpu = cpuSeconds(process.cpuUsage(b0));
        const stored = storage.tableStats('tpch', 'lineitem_peer').rowCount;
        if (stored !== peer.rowCount) throw new Error(`bulk peer stored ${stored} of ${peer.rowCount} rows (finish applied ${fin.appliedCount})`);
        emit({
          name: 'flight.doput.storage_peer_bulk.rows_per_s', value: Math.round(peer.rowCount / bulkSeconds), unit: 'rows/s',
          cpuRowsPerS: Math.round(peer.rowCount / bulkCpu), rows: peer.rowCount, putBatchRows, ...common,
        });
        await storage.dropTable('tpch', 'lineitem_peer');
      }
    }
  } finally {
    for (const c of clients) await c.close();
    await server.close();
    await engine.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// The client process: a request/response loop over the fork IPC channel.

const CLIENT_FLAG = '--flight-bench-client';

type ClientRequest =
  | { readonly kind: 'init'; readonly address: string; readonly sf: number; readonly batchRows: number }
  | { readonly kind: 'put' }
  | { readonly kind: 'info' }
  | { readonly kind: 'get'; readonly tickets: readonly string[]; readonly parallel: boolean }
  | { readonly kind: 'exit' };

interface ClientFigure {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly bodyBytes: number;
}

type ClientReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** CPU seconds (user + system) of the process's main thread, from /proc (Linux; else undefined). */
function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat(5) (utime, stime), counted from field 3 after the command name
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** DiskRowSet files (`.drs`, names starting with `prefix`) under `dir`. */
function drsFiles(dir: string, prefix = ''): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.drs') && e.name.startsWith(prefix)) n++;
  }
  return n;
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

class ClientProcess {
  private waiting: ((r: ClientReply) => void) | undefined;
  private exited: string | undefined;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (m) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m as ClientReply);
    });
    child.on('exit', (code) => {
      this.exited = `the bench client process exited (code ${String(code)})`;
      const w = this.waiting;
      this.waiting = undefined;
      w?.({ ok: false, error: this.exited });
    });
  }

  async ask(req: ClientRequest): Promise<unknown> {
    if (this.exited !== undefined) throw new Error(this.exited);
    const reply = await new Promise<ClientReply>((resolve) => {
      this.waiting = resolve;
      this.child.send(req);
    });
    if (!reply.ok) throw new Error(`bench client: ${reply.error}`);
    return reply.value;
  }

  async close(): Promise<void> {
    if (this.exited !== undefined) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'exit' });
    const timer = setTimeout(() => this.child.kill(), 5000);
    await gone;
    clearTimeout(timer);
  }
}

async function clientMain(): Promise<void> {
  let flight: FlightClient | undefined;
  let batches: readonly RecordBatch[] = [];
  let schema: RecordBatch['schema'] | undefined;
  let rows = 0;
  const d = { type: 'path' as const, path: ['tpch', 'lineitem'] };
  const handle = async (req: ClientRequest): Promise<unknown> => {
    switch (req.kind) {
      case 'init': {
        const t0 = performance.now();
        if (req.sf > 0) {
          const data = generateTpch(req.sf, 42, { batchRows: req.batchRows }).lineitem;
          batches = data.batches;
          schema = data.schema;
          rows = data.rowCount;
        }
        flight = new FlightClient(req.address);
        return { rows, generateMs: Math.round(performance.now() - t0) };
      }
      case 'info': {
        if (flight === undefined) throw new Error('init first');
        const info = await flight.getFlightInfo(d);
        return { tickets: info.tickets.map((t) => Buffer.from(t).toString('base64')) };
      }
      case 'put': {
        if (flight === undefined || schema === undefined) throw new Error('init first');
        let bodyBytes = 0;
        for (const b of batches) for (const c of b.data.children) bodyBytes += dataBytes(c);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const results = await flight.putBatches(d, schema, batches) as { appliedCount: number; rowErrorCount: number }[];
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(process.cpuUsage(c0));
        // The server holds the data now; free the client's copy before the scans.
        batches = [];
        return {
          seconds, cpuSeconds: cpu, bodyBytes,
          applied: results.reduce((n, r) => n + r.appliedCount, 0),
          rowErrors: results.reduce((n, r) => n + r.rowErrorCount, 0),
        };
      }
      case 'get': {
        if (flight === undefined) throw new Error('init first');
        const f = flight;
        const tickets = req.tickets.map((t) => Buffer.from(t, 'base64'));
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        // A streaming consumer: every batch is decoded (apache-arrow RecordBatch over the
        // received buffer), its rows counted, then released (the client reuses its buffer).
        let rowsSeen = 0;
        const fetch = (t: Uint8Array): Promise<{ rowCount: number; bodyBytes: number }> => f.doGetLeased(t, (b) => {
          rowsSeen += b.batch.numRows;
          b.release();
        });
        const parts = req.parallel
          ? await Promise.all(tickets.map(fetch))
          : await (async () => { const out = []; for (const t of tickets) out.push(await fetch(t)); return out; })();
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(process.cpuUsage(c0));
        const rowsRead = parts.reduce((n, p) => n + p.rowCount, 0);
        if (rowsRead !== rowsSeen) throw new Error(`DoGet counted ${rowsRead} rows but handed over ${rowsSeen}`);
        return { seconds, cpuSeconds: cpu, rows: rowsRead, bodyBytes: parts.reduce((n, p) => n + p.bodyBytes, 0) };
      }
      case 'exit':
        flight?.close();
        process.exit(0);
    }
  };
  process.on('message', (m) => {
    handle(m as ClientRequest).then(
      (value) => process.send?.({ ok: true, value }),
      (e: unknown) => process.send?.({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
    );
  });
}

function dataBytes(d: Data): number {
  let n = 0;
  for (const b of [d.values as unknown, d.valueOffsets as unknown, d.nullBitmap as unknown]) {
    if (ArrayBuffer.isView(b)) n += b.byteLength;
  }
  for (const c of d.children) n += dataBytes(c);
  return n;
}

if (process.argv.includes(CLIENT_FLAG) && process.send !== undefined) void clientMain();
