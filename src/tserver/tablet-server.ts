import * as grpc from '@grpc/grpc-js';
import * as arrow from 'apache-arrow';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SaigaError } from '../common/errors.js';
import { HybridClock } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { Schema } from '../common/types.js';
import { RaftDriver, type GroupMessage, type Transport } from '../replication/raft-driver.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import { MetaFile, syncDir } from '../wal/index.js';
import {
  CHANNEL_OPTIONS, decodeGroupMessage, encodeGroupMessage, rowsFromJson, rowsToJson, services, toServiceError,
  type PbMessageBatch,
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

const SEND_DEADLINE_MS = 2000;
/** Queued batches merged into one call. */
const SEND_QUEUE_ITEMS_MAX = 1024;

interface SendQueue {
  inflight: boolean;
  pending: { batch: readonly GroupMessage[]; resolve: () => void; reject: (e: unknown) => void }[];
}

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

class GrpcTransport implements Transport {
  private readonly clients = new Map<string, { addr: string; client: AnyClient }>();
  private readonly queues = new Map<string, SendQueue>();
  peers: Readonly<Record<string, string>> = {};

  constructor(private readonly fromServer: string) {}

  private client(to: string): AnyClient | undefined {
    const addr = this.peers[to];
    if (addr === undefined) return undefined;
    const c = this.clients.get(to);
    if (c !== undefined && c.addr === addr) return c.client;
    c?.client.close();
    const client = new (services().consensus)(addr, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as AnyClient;
    this.clients.set(to, { addr, client });
    return client;
  }

  /**
   * One call in flight per destination: batches queued meanwhile go out together when it
   * returns. Keeps messages to a server in order (concurrent unary calls may be handled out of
   * order, which makes a follower reject Appends and the leader fall back to probing) and
   * batches more under load.
   */
  send(to: string, batch: readonly GroupMessage[]): Promise<void> {
    let q = this.queues.get(to);
    if (q === undefined) this.queues.set(to, (q = { inflight: false, pending: [] }));
    const queue = q;
    return new Promise<void>((resolve, reject) => {
      queue.pending.push({ batch, resolve, reject });
      if (!queue.inflight) this.pump(to, queue);
    });
  }

  private pump(to: string, q: SendQueue): void {
    const items = q.pending.splice(0, SEND_QUEUE_ITEMS_MAX);
    if (items.length === 0) return;
    const c = this.client(to);
    if (c === undefined) {
      for (const it of items) it.reject(new SaigaError('NotFound', `no address known for server ${to}`));
      this.pump(to, q);
      return;
    }
    const messages: PbMessageBatch['messages'] = [];
    for (const it of items) for (const gm of it.batch) messages.push(encodeGroupMessage(gm));
    q.inflight = true;
    c['send']!({ fromServer: this.fromServer, messages }, { deadline: Date.now() + SEND_DEADLINE_MS }, (err: grpc.ServiceError | null) => {
      q.inflight = false;
      for (const it of items) {
        if (err === null) it.resolve();
        else it.reject(err);
      }
      this.pump(to, q);
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}

export class TabletServer {
  readonly id: string;
  private readonly server = new grpc.Server(CHANNEL_OPTIONS);
  private readonly transport: GrpcTransport;
  readonly driver: RaftDriver;
  private readonly clock = new HybridClock();
  private readonly replicas = new Map<string, TabletReplica>();
  private readonly config: MetaFile<ServerConfig>;
  private boundPort = 0;
  private maintenanceTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly o: TabletServerOptions) {
    this.id = o.id;
    mkdirSync(join(o.dataDir, 'tablets'), { recursive: true });
    this.transport = new GrpcTransport(o.id);
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
      send: unary((req: PbMessageBatch) => {
        this.driver.receive(req.messages.map(decodeGroupMessage));
        return {};
      }),
    });
    this.server.addService(tabletServer.service, {
      write: unary(async (req: { tabletId: string; opsJson: string }) => {
        const ops = rowsFromJson<WriteOp[]>(req.opsJson);
        const r = await this.replica(req.tabletId).write(ops);
        return { appliedCount: r.appliedCount, rowErrorsJson: JSON.stringify(r.rowErrors), timestamp: r.timestamp.toString() };
      }),
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

  async close(): Promise<void> {
    if (this.maintenanceTimer !== undefined) clearInterval(this.maintenanceTimer);
    this.driver.stop();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    for (const r of this.replicas.values()) await r.close();
    this.replicas.clear();
    this.transport.close();
  }
}

/** Reads a server's stored configuration (for tools and tests). */
export function readServerConfig(dataDir: string): ServerConfig | undefined {
  const p = join(dataDir, 'tserver-config');
  if (!existsSync(p)) return undefined;
  return MetaFile.open<ServerConfig>(p, { peers: {}, tablets: [] }).value;
}
