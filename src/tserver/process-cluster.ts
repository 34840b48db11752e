import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSaigaError, SaigaError } from '../common/errors.js';
import type * as arrow from 'apache-arrow';
import type { ScanSpec } from '../common/scan-spec.js';
import type { WriteOpKind } from '../common/storage-api.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import type { TabletConfig } from './tablet-server.js';
import { TabletServerClient } from './tserver-client.js';
import { serverNodeFlags } from './node-flags.js';

/**
 * A local multi-process cluster of tablet servers on 127.0.0.1 (tests and benchmarks): spawns
 * `dist/src/tserver/tserver-process.js` per server, learns each port from its READY line,
 * configures peers, follows NotLeader hints for writes, and kills / pauses / restarts servers.
 */

export interface ProcessClusterOptions {
  readonly root: string;
  readonly ids: readonly string[];
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Log segment size of every server (small values make log GC and tablet copy easy to reach). */
  readonly logSegmentBytes?: number;
  /** Maintenance period of every server (0: off). */
  readonly maintenanceMs?: number;
  /** Extra node flags for every server process (e.g. `--cpu-prof` when profiling a benchmark). */
  readonly nodeArgs?: readonly string[];
}

interface Proc {
  child: ChildProcess | undefined;
  port: number;
  readonly dataDir: string;
  client: TabletServerClient | undefined;
  stderr: string;
}

export { serverNodeFlags };

const READY_TIMEOUT_MS = 15_000;

function entryPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/src/tserver this file's sibling; from src/tserver (vitest) the compiled one.
  return here.includes(`${join('dist', 'src')}`) ? join(here, 'tserver-process.js') : join(here, '..', '..', 'dist', 'src', 'tserver', 'tserver-process.js');
}

export class ProcessCluster {
  private readonly procs = new Map<string, Proc>();
  private tablets: TabletConfig[] = [];

  constructor(private readonly o: ProcessClusterOptions) {
    for (const id of o.ids) this.procs.set(id, { child: undefined, port: 0, dataDir: join(o.root, id), client: undefined, stderr: '' });
  }

  private proc(id: string): Proc {
    const p = this.procs.get(id);
    if (p === undefined) throw new SaigaError('NotFound', `no server ${id} in this cluster`);
    return p;
  }

  /** Starts (or restarts) a server; keeps its previous port when it had one so peers need no update. */
  async start(id: string): Promise<number> {
    const p = this.proc(id);
    mkdirSync(p.dataDir, { recursive: true });
    const args = [...serverNodeFlags(), ...(this.o.nodeArgs ?? []), entryPath(), '--id', id, '--data-dir', p.dataDir, '--port', String(p.port)];
    if (this.o.tickMs !== undefined) args.push('--tick-ms', String(this.o.tickMs));
    if (this.o.electionTicks !== undefined) args.push('--election-ticks', String(this.o.electionTicks));
    if (this.o.logSegmentBytes !== undefined) args.push('--segment-bytes', String(this.o.logSegmentBytes));
    if (this.o.maintenanceMs !== undefined) args.push('--maintenance-ms', String(this.o.maintenanceMs));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    p.stderr = '';
    const logPath = join(this.o.root, `${id}.log`);
    child.stderr?.on('data', (d: Buffer) => {
      p.stderr = (p.stderr + d.toString()).slice(-4000);
      appendFileSync(logPath, d);
    });
    child.on('exit', (code, sig) => appendFileSync(logPath, `--- exited ${code ?? sig}\n`));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new SaigaError('TimedOut', `server ${id} did not report READY within ${READY_TIMEOUT_MS} ms: ${p.stderr}`)), READY_TIMEOUT_MS);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /TSERVER_READY (\{.*\})/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve((JSON.parse(m[1] as string) as { port: number }).port);
        }
      });
      child.on('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new SaigaError('IOError', `server ${id} exited (${code ?? sig}) before READY: ${p.stderr}`));
      });
    });
    if (p.port !== port) {
      p.client?.close();
      p.client = new TabletServerClient(`127.0.0.1:${port}`);
    }
    p.port = port;
    return port;
  }

  peers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, p] of this.procs) if (p.port !== 0) out[id] = `127.0.0.1:${p.port}`;
    return out;
  }

  /** Sends the peer table and tablets to every running server (`joining` servers get the tablets without founding voters). */
  async configure(tablets: readonly TabletConfig[], joining: readonly string[] = []): Promise<void> {
    this.tablets = [...tablets];
    const peers = this.peers();
    await Promise.all([...this.procs].filter(([, p]) => p.child !== undefined).map(([id]) =>
      this.client(id).configure({ peers, tablets: joining.includes(id) ? tablets.map((t) => ({ ...t, voters: [] })) : tablets })));
  }

  client(id: string): TabletServerClient {
    const c = this.proc(id).client;
    if (c === undefined) throw new SaigaError('IllegalState', `server ${id} was never started`);
    return c;
  }

  running(): string[] {
    return [...this.procs].filter(([, p]) => p.child !== undefined).map(([id]) => id);
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const p = this.proc(id);
    p.child?.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') p.child = undefined;
  }

  async stop(id: string): Promise<void> {
    const p = this.proc(id);
    const c = p.child;
    if (c === undefined) return;
    p.child = undefined;
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  /** Deletes a (stopped) server's data directory. */
  wipe(id: string): void {
    rmSync(this.proc(id).dataDir, { recursive: true, force: true });
  }

  /** The server that reports itself leader of the tablet (undefined if none right now). */
  async leader(tabletId: string, among: readonly string[] = this.running()): Promise<string | undefined> {
    const st = await Promise.all(among.map((id) => this.client(id).status(tabletId, 500).catch(() => undefined)));
    let best: { id: string; term: number } | undefined;
    for (const s of st) if (s !== undefined && s.role === 'Leader' && (best === undefined || s.term > best.term)) best = { id: s.serverId, term: s.term };
    return best?.id;
  }

  /** Writes on the leader, following NotLeader hints and retrying while no leader is known, until `deadlineMs`. */
  write(tabletId: string, ops: readonly WriteOp[], deadlineMs = 10_000, hint?: string): Promise<{ server: string; appliedCount: number }> {
    return this.onLeader(tabletId, (c, t) => c.write(tabletId, ops, t), deadlineMs, hint);
  }

  /** Columnar write (WriteArrow) on the leader, same retry rules as write(). */
  writeArrow(tabletId: string, kind: WriteOpKind, batch: arrow.RecordBatch, deadlineMs = 10_000, hint?: string): Promise<{ server: string; appliedCount: number }> {
    return this.onLeader(tabletId, (c, t) => c.writeArrow(tabletId, kind, batch, t), deadlineMs, hint);
  }

  private async onLeader(tabletId: string, f: (c: TabletServerClient, timeoutMs: number) => Promise<{ appliedCount: number }>, deadlineMs: number, hint: string | undefined): Promise<{ server: string; appliedCount: number }> {
    const end = Date.now() + deadlineMs;
    let target = hint ?? this.running()[0];
    let last: unknown;
    while (Date.now() < end) {
      if (target === undefined || this.proc(target).child === undefined) target = (await this.leader(tabletId)) ?? this.running()[0];
      if (target === undefined) throw new SaigaError('ServiceUnavailable', 'no server is running');
      try {
        const r = await f(this.client(target), Math.max(500, Math.min(5000, end - Date.now())));
        return { server: target, appliedCount: r.appliedCount };
      } catch (e) {
        last = e;
        // A refused request would be refused again anywhere: only leadership and reachability are retried.
        if (isSaigaError(e, 'InvalidArgument') || isSaigaError(e, 'NotSupported') || isSaigaError(e, 'AlreadyPresent')) throw e;
        if (isSaigaError(e, 'NotLeader') && e.details.leaderHint !== undefined && e.details.leaderHint !== target) {
          target = e.details.leaderHint;
          continue;
        }
        target = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new SaigaError('TimedOut', `no write succeeded on tablet ${tabletId} within ${deadlineMs} ms; last error: ${String(last)}`);
  }

  scan(id: string, tabletId: string, spec: ScanSpec = {}): ReturnType<TabletServerClient['scan']> {
    return this.client(id).scan(tabletId, spec);
  }

  stderrOf(id: string): string {
    return this.proc(id).stderr;
  }

  /** Kills every server (SIGKILL, then SIGCONT in case one is paused) and closes the clients. */
  async close(): Promise<void> {
    for (const [id, p] of this.procs) {
      p.child?.kill('SIGCONT');
      await this.stop(id);
      p.client?.close();
      p.client = undefined;
    }
  }
}
