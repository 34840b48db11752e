import * as grpc from '@grpc/grpc-js';
import * as arrow from 'apache-arrow';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { isSaigaError, SaigaError } from '../common/errors.js';
import { HybridClock } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import { RaftDriver, raftReadyStats, type GroupMessage, type RaftReadyStats, type Transport } from '../replication/raft-driver.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import { MetaFile, syncDir } from '../wal/index.js';
import {
  CHANNEL_OPTIONS, rowsFromJson, rowsToJson, services, toServiceError,
  type MessageBatch, type PbWriteResponse, type PbWriteResult, type PbWriteStreamRequest, type PbWriteStreamResponse,
} from './grpc-codec.js';
import { fetchCopy, streamCopy, type CopyChunk } from './tablet-copy.js';
import { TabletReplica } from './tablet-replica.js';

/**
 * A tablet server: the TabletReplicas of one data directory, the RaftDriver running their
 * groups, and the gRPC services (Consensus between servers; TabletServer for clients and the
 * static configuration a master would otherwise send). Configuration (peers, tablets) is kept
 * in `<dataDir>/tserver-config` so a restarted server comes back alone.
 */

export interface TabletConfig {
  readonly tabletId: string;
  readonly schema: Schema;
  /** Founding voters; empty: join an existing group with an empty replica. */
  readonly voters: readonly string[];
}

export interface ServerConfig {
  readonly peers: Readonly<Record<string, string>>;
  readonly tablets: readonly TabletConfig[];
}

export interface TabletServerOptions {
  readonly id: string;
  readonly dataDir: string;
  readonly host?: string;
  readonly port?: number;
  readonly limits: Limits;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Period of the maintenance pass (flush when the MemRowSet is big, log GC); 0 turns it off. Default 1000. */
  readonly maintenanceMs?: number;
}

/** Unanswered writes one WriteStream may carry (a client bounds itself the same way). */
export const WRITE_STREAM_INFLIGHT_MAX = 4096;

/** A write's failure as a WriteStream result. */
function errorResult(id: number, e: unknown): PbWriteResult {
  const code = isSaigaError(e) ? e.code : 'IOError';
  const leaderHint = isSaigaError(e) ? e.details.leaderHint ?? '' : '';
  return { id, appliedCount: 0, rowErrorsJson: '[]', timestamp: '0', errorCode: code, errorMessage: e instanceof Error ? e.message : String(e), leaderHint };
}

/** A stream that broke is not reopened for this long; sends meanwhile fail (the driver reports the peer unreachable). */
const STREAM_RETRY_MS = 100;
/** Bytes buffered on a peer's stream beyond which sends fail (a peer that stopped reading). */
const STREAM_BUFFER_BYTES_MAX = 64 * 1024 * 1024;

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * Counters of one tablet server since it started (Status `stats_json`; bench/raft.ts divides
 * their differences by the writes committed). Consensus batches are stream messages (one per
 * destination per driver flush); entry bytes are the Raft entries' payloads in Appends.
 */
export interface TabletServerStats {
  consensusBatchesSent: number;
  consensusMsgsSent: number;
  appendsSent: number;
  /** Appends that carried no entries (commit-only, probes, heartbeat follow-ups). */
  emptyAppendsSent: number;
  entriesSent: number;
  entryBytesSent: number;
  appendResponsesSent: number;
  heartbeatsSent: number;
  heartbeatResponsesSent: number;
  consensusBatchesReceived: number;
  consensusMsgsReceived: number;
  writeStreamRequests: number;
  writeItems: number;
  writeStreamResponses: number;
  /** process.cpuUsage() of the whole process, microseconds. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** V8 heap in use now (process.memoryUsage().heapUsed), bytes. */
  heapUsedBytes?: number;
  /** Garbage collections of the process since the first server started: counts and pause milliseconds, young generation (scavenges) and full (mark-compact). */
  gcMinorCount?: number;
  gcMinorMs?: number;
  gcMajorCount?: number;
  gcMajorMs?: number;
  /** The process's Raft driver Ready counters (every driver in the process). */
  ready?: RaftReadyStats;
}

const gcCounters = { gcMinorCount: 0, gcMinorMs: 0, gcMajorCount: 0, gcMajorMs: 0 };
let gcObserver: PerformanceObserver | undefined;

/** Starts counting the process's garbage collections (once per process). */
function observeGc(): void {
  if (gcObserver !== undefined) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } | null }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
        gcCounters.gcMinorCount++;
        gcCounters.gcMinorMs += e.duration;
      } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        gcCounters.gcMajorCount++;
        gcCounters.gcMajorMs += e.duration;
      }
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

function newStats(): TabletServerStats {
  return {
    consensusBatchesSent: 0, consensusMsgsSent: 0, appendsSent: 0, emptyAppendsSent: 0, entriesSent: 0, entryBytesSent: 0,
    appendResponsesSent: 0, heartbeatsSent: 0, heartbeatResponsesSent: 0, consensusBatchesReceived: 0, consensusMsgsReceived: 0,
    writeStreamRequests: 0, writeItems: 0, writeStreamResponses: 0, cpuUserUs: 0, cpuSystemUs: 0,
  };
}

interface PeerStream {
  readonly call: grpc.ClientWritableStream<MessageBatch>;
  broken: boolean;
}

/**
 * Raft messages to other servers over one client-streaming call per destination
 * (`Consensus.Stream`): a batch is written as soon as the driver flushes it, in order, without
 * waiting for the previous one to be acknowledged (a unary call per batch put a loopback round
 * trip, 7-12 ms on a loaded machine, between consecutive Appends). When the stream fails, sends
 * are refused for STREAM_RETRY_MS (the driver then marks the peer unreachable and probes again
 * later) and the next send opens a new stream. Messages written into a stream that then breaks
 * are lost, which Raft tolerates.
 */
class GrpcTransport implements Transport {
  private readonly clients = new Map<string, { addr: string; client: AnyClient }>();
  private readonly streams = new Map<string, PeerStream>();
  private readonly retryAt = new Map<string, number>();
  peers: Readonly<Record<string, string>> = {};

  constructor(private readonly fromServer: string, private readonly stats: TabletServerStats) {}

  private client(to: string): AnyClient | undefined {
    const addr = this.peers[to];
    if (addr === undefined) return undefined;
    const c = this.clients.get(to);
    if (c !== undefined && c.addr === addr) return c.client;
    c?.client.close();
    this.streams.get(to)?.call.cancel();
    this.streams.delete(to);
    const client = new (services().consensus)(addr, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as AnyClient;
    this.clients.set(to, { addr, client });
    return client;
  }

  private stream(to: string, c: AnyClient): PeerStream {
    const have = this.streams.get(to);
    if (have !== undefined && !have.broken) return have;
    const ps: PeerStream = {
      call: c['stream']!((err: grpc.ServiceError | null) => {
        ps.broken = true;
        if (this.streams.get(to) === ps) this.streams.delete(to);
        if (err !== null) this.retryAt.set(to, performance.now() + STREAM_RETRY_MS);
      }) as grpc.ClientWritableStream<MessageBatch>,
      broken: false,
    };
    ps.call.on('error', () => undefined); // reported through the callback above
    this.streams.set(to, ps);
    return ps;
  }

  send(to: string, batch: readonly GroupMessage[]): Promise<void> {
    const c = this.client(to);
    if (c === undefined) return Promise.reject(new SaigaError('NotFound', `no address known for server ${to}`));
    const retry = this.retryAt.get(to);
    if (retry !== undefined) {
      if (performance.now() < retry) return Promise.reject(new SaigaError('ServiceUnavailable', `the stream to server ${to} failed less than ${STREAM_RETRY_MS} ms ago`));
      this.retryAt.delete(to);
    }
    const s = this.stream(to, c);
    if (s.call.writableLength > STREAM_BUFFER_BYTES_MAX) {
      return Promise.reject(new SaigaError('ServiceUnavailable', `server ${to} is not reading its stream (${s.call.writableLength} bytes buffered)`));
    }
    const st = this.stats;
    for (let i = 0; i < batch.length; i++) {
      const gm = batch[i] as GroupMessage;
      const m = gm.message;
      if (m.type === 'Append') {
        st.appendsSent++;
        if (m.entries.length === 0) st.emptyAppendsSent++;
        st.entriesSent += m.entries.length;
        for (const e of m.entries) st.entryBytesSent += e.data.byteLength;
      } else if (m.type === 'AppendResponse') st.appendResponsesSent++;
      else if (m.type === 'Heartbeat') st.heartbeatsSent++;
      else if (m.type === 'HeartbeatResponse') st.heartbeatResponsesSent++;
    }
    st.consensusBatchesSent++;
    st.consensusMsgsSent += batch.length;
    s.call.write({ fromServer: this.fromServer, messages: batch });
    return Promise.resolve();
  }

  close(): void {
    for (const s of this.streams.values()) s.call.cancel();
    this.streams.clear();
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}

export class TabletServer {
  readonly id: string;
  private readonly server = new grpc.Server(CHANNEL_OPTIONS);
  private readonly transport: GrpcTransport;
  private readonly counters: TabletServerStats = newStats();
  readonly driver: RaftDriver;
  private readonly clock = new HybridClock();
  private readonly replicas = new Map<string, TabletReplica>();
  private readonly config: MetaFile<ServerConfig>;
  private boundPort = 0;
  private maintenanceTimer: ReturnType<typeof setInterval> | undefined;
  /** Open inbound Consensus streams (answered at close). */
  private readonly inbound = new Set<grpc.sendUnaryData<Record<string, never>>>();
  /** Open WriteStreams (ended at close, so clients fail their unanswered writes at once). */
  private readonly writeStreams = new Set<grpc.ServerDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse>>();

  private constructor(private readonly o: TabletServerOptions) {
    this.id = o.id;
    mkdirSync(join(o.dataDir, 'tablets'), { recursive: true });
    this.transport = new GrpcTransport(o.id, this.counters);
    this.driver = new RaftDriver({ serverId: o.id, transport: this.transport, tickMs: o.tickMs ?? 50 });
    const configPath = join(o.dataDir, 'tserver-config');
    const fresh = !existsSync(configPath);
    this.config = MetaFile.open<ServerConfig>(configPath, { peers: {}, tablets: [] });
    if (fresh) this.config.writeSync(this.config.value);
  }

  static async start(o: TabletServerOptions): Promise<TabletServer> {
    const s = new TabletServer(o);
    s.addServices();
    s.boundPort = await new Promise<number>((resolve, reject) => {
      s.server.bindAsync(`${o.host ?? '127.0.0.1'}:${o.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
    });
    observeGc();
    s.driver.start();
    await s.applyConfig(s.config.value);
    const every = o.maintenanceMs ?? 1000;
    if (every > 0) s.maintenanceTimer = setInterval(() => s.maintain(), every);
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  replica(tabletId: string): TabletReplica {
    const r = this.replicas.get(tabletId);
    if (r === undefined) throw new SaigaError('NotFound', `tablet ${tabletId} is not hosted on server ${this.id}`);
    return r;
  }

  /** Records and applies a configuration: peer addresses, tablets to host (opened or created). */
  async configure(c: ServerConfig): Promise<void> {
    const tablets = [...this.config.value.tablets];
    for (const t of c.tablets) if (!tablets.some((x) => x.tabletId === t.tabletId)) tablets.push(t);
    const next: ServerConfig = { peers: { ...this.config.value.peers, ...c.peers }, tablets };
    await this.config.write(next);
    await this.applyConfig(next);
  }

  /** One maintenance pass over the replicas: flush big MemRowSets, GC logs. */
  private maintain(): void {
    for (const r of this.replicas.values()) {
      try {
        r.maintain(this.o.limits, this.clock.now(), false);
        r.gcLog();
      } catch (e) {
        process.stderr.write(`maintenance of ${r.tabletId} on ${this.id} failed: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }

  private async applyConfig(c: ServerConfig): Promise<void> {
    this.transport.peers = c.peers;
    const root = join(this.o.dataDir, 'tablets');
    for (const t of c.tablets) {
      if (this.replicas.has(t.tabletId)) continue;
      const dir = join(root, t.tabletId);
      const created = !existsSync(dir);
      const r = await TabletReplica.open({
        dir, tabletId: t.tabletId, schema: t.schema, clock: this.clock, limits: this.o.limits, driver: this.driver,
        ...(t.voters.length > 0 ? { voters: t.voters } : {}),
        ...(this.o.electionTicks !== undefined ? { electionTicks: this.o.electionTicks } : {}),
        fetchCopy: (from, tabletId, tabletDir) => {
          const addr = this.transport.peers[from];
          if (addr === undefined) return Promise.reject(new SaigaError('NotFound', `no address known for server ${from} to copy tablet ${tabletId} from`));
          return fetchCopy(addr, tabletId, this.id, tabletDir);
        },
      });
      if (created) syncDir(root);
      this.replicas.set(t.tabletId, r);
    }
  }

  private addServices(): void {
    const { consensus, tabletServer, tabletCopy } = services();
    this.server.addService(tabletCopy.service, {
      fetch: (call: grpc.ServerWritableStream<{ tabletId: string; fromServer: string }, CopyChunk>) => {
        let pinned: { dir: string; files: string[]; opIndex: number } | undefined;
        Promise.resolve().then(async () => {
          pinned = this.replica(call.request.tabletId).pinCopy();
          await streamCopy(call, pinned.dir, pinned.files, pinned.opIndex);
        }).catch((e: unknown) => call.emit('error', toServiceError(e))).finally(() => {
          if (pinned !== undefined) rmSync(pinned.dir, { recursive: true, force: true });
        });
      },
    });
    const unary = <Req, Res>(f: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> =>
      (call, cb) => {
        Promise.resolve().then(() => f(call.request)).then((res) => cb(null, res), (e: unknown) => cb(toServiceError(e)));
      };
    this.server.addService(consensus.service, {
      send: unary((req: MessageBatch) => {
        this.counters.consensusBatchesReceived++;
        this.counters.consensusMsgsReceived += req.messages.length;
        this.driver.receive(req.messages);
        return {};
      }),
      stream: (call: grpc.ServerReadableStream<MessageBatch, Record<string, never>>, cb: grpc.sendUnaryData<Record<string, never>>) => {
        this.inbound.add(cb);
        call.on('data', (req: MessageBatch) => {
          this.counters.consensusBatchesReceived++;
          this.counters.consensusMsgsReceived += req.messages.length;
          this.driver.receive(req.messages);
        });
        call.on('end', () => {
          if (this.inbound.delete(cb)) cb(null, {});
        });
        call.on('error', () => this.inbound.delete(cb));
      },
    });
    this.server.addService(tabletServer.service, {
      write: unary((req: { tabletId: string; opsJson: string }) => this.writeRows(req.tabletId, req.opsJson)),
      writeArrow: unary((req: { tabletId: string; kind: string; ipc: Uint8Array }) => this.writeArrow(req.tabletId, req.kind, req.ipc)),
      writeStream: (call: grpc.ServerDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse>) => this.serveWriteStream(call),
      scan: unary(async (req: { tabletId: string; specJson: string }) => {
        const spec = rowsFromJson<ScanSpec>(req.specJson === '' ? '{}' : req.specJson);
        const batches = await this.replica(req.tabletId).scan(spec);
        const rowCount = batches.reduce((n, b) => n + b.numRows, 0);
        const ipc = batches.length === 0 ? new Uint8Array(0) : arrow.RecordBatchStreamWriter.writeAll(batches).toUint8Array(true);
        return { ipc, rowCount };
      }),
      status: unary((req: { tabletId: string }) => {
        const s = this.replica(req.tabletId).status();
        const r = this.replica(req.tabletId);
        return {
          serverId: this.id, role: s.role, leader: s.leader, term: s.term, commit: s.commit, applied: s.applied, lastIndex: s.lastIndex, voters: [...s.voters],
          logFirstIndex: r.log.firstIndex(), copiesInstalled: r.copiesInstalled, copiesServed: r.copiesServed,
          statsJson: JSON.stringify(this.stats()),
        };
      }),
      flush: unary((req: { tabletId: string }) => {
        const r = this.replica(req.tabletId);
        r.flush();
        const segmentsDeleted = r.gcLog();
        return { segmentsDeleted, logFirstIndex: r.log.firstIndex() };
      }),
      configure: unary(async (req: { peers: Record<string, string>; tablets: { tabletId: string; schemaJson: string; voters: string[] }[] }) => {
        await this.configure({
          peers: req.peers,
          tablets: req.tablets.map((t) => ({ tabletId: t.tabletId, schema: rowsFromJson<Schema>(t.schemaJson), voters: t.voters })),
        });
        return {};
      }),
    });
  }

  private async writeRows(tabletId: string, opsJson: string): Promise<PbWriteResponse> {
    const ops = rowsFromJson<WriteOp[]>(opsJson);
    const r = await this.replica(tabletId).write(ops);
    return { appliedCount: r.appliedCount, rowErrorsJson: r.rowErrors.length === 0 ? '[]' : JSON.stringify(r.rowErrors), timestamp: r.timestamp.toString() };
  }

  private async writeArrow(tabletId: string, kind: string, ipc: Uint8Array): Promise<PbWriteResponse> {
    const replica = this.replica(tabletId);
    const batches = arrow.tableFromIPC(ipc).batches;
    let applied = 0;
    let offset = 0;
    const rowErrors: RowError[] = [];
    let timestamp = 0n;
    for (const b of batches) {
      const r = await replica.writeBatch(kind as WriteOpKind, b);
      applied += r.appliedCount;
      for (const e of r.rowErrors) rowErrors.push({ ...e, rowIndex: e.rowIndex + offset });
      offset += b.numRows;
      timestamp = r.timestamp;
    }
    return { appliedCount: applied, rowErrorsJson: JSON.stringify(rowErrors), timestamp: timestamp.toString() };
  }

  /**
   * WriteStream: every item is an independent write; the results settled in one event-loop turn
   * leave in one response message. At most WRITE_STREAM_INFLIGHT_MAX items per stream are being
   * written at once; items beyond that are answered ResourceExhausted.
   */
  /** This server's counters since it started, with the process's CPU time now. */
  stats(): TabletServerStats {
    const cpu = process.cpuUsage();
    return { ...this.counters, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, heapUsedBytes: process.memoryUsage().heapUsed, ...gcCounters, ready: raftReadyStats() };
  }

  private serveWriteStream(call: grpc.ServerDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse>): void {
    this.writeStreams.add(call);
    let inflight = 0;
    let ended = false;
    let done = false;
    let out: PbWriteResult[] = [];
    let flushScheduled = false;
    const finish = (): void => {
      if (!done && ended && inflight === 0 && out.length === 0) {
        done = true;
        this.writeStreams.delete(call);
        call.end();
      }
    };
    const flush = (): void => {
      flushScheduled = false;
      if (done) return;
      const results = out;
      out = [];
      if (results.length > 0) {
        this.counters.writeStreamResponses++;
        call.write({ results });
      }
      finish();
    };
    const settle = (r: PbWriteResult): void => {
      out.push(r);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    };
    call.on('data', (req: PbWriteStreamRequest) => {
      this.counters.writeStreamRequests++;
      this.counters.writeItems += req.items.length;
      for (const item of req.items) {
        if (inflight >= WRITE_STREAM_INFLIGHT_MAX) {
          settle(errorResult(item.id, new SaigaError('ResourceExhausted', `expected at most ${WRITE_STREAM_INFLIGHT_MAX} unanswered writes on one stream, found more`)));
          continue;
        }
        inflight++;
        // Both are async functions: a synchronous throw inside them arrives as a rejection.
        const id = item.id;
        (item.ipc.byteLength > 0 ? this.writeArrow(item.tabletId, item.kind, item.ipc) : this.writeRows(item.tabletId, item.opsJson)).then((r) => {
          inflight--;
          settle({ id, appliedCount: r.appliedCount, rowErrorsJson: r.rowErrorsJson, timestamp: r.timestamp, errorCode: '', errorMessage: '', leaderHint: '' });
        }, (e: unknown) => {
          inflight--;
          settle(errorResult(id, e));
        });
      }
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
    const gone = (): void => {
      done = true;
      this.writeStreams.delete(call);
    };
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  async close(): Promise<void> {
    if (this.maintenanceTimer !== undefined) clearInterval(this.maintenanceTimer);
    this.driver.stop();
    this.transport.close();
    // Peers' Consensus streams stay open until they end them: end ours and force the rest.
    for (const cb of this.inbound) cb(null, {});
    for (const call of this.writeStreams) call.end();
    this.writeStreams.clear();
    this.inbound.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 200);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    for (const r of this.replicas.values()) await r.close();
    this.replicas.clear();
  }
}

/** Reads a server's stored configuration (for tools and tests). */
export function readServerConfig(dataDir: string): ServerConfig | undefined {
  const p = join(dataDir, 'tserver-config');
  if (!existsSync(p)) return undefined;
  return MetaFile.open<ServerConfig>(p, { peers: {}, tablets: [] }).value;
}
