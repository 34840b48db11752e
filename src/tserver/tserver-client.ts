import * as grpc from '@grpc/grpc-js';
import * as arrow from 'apache-arrow';
import type { HybridTime } from '../common/hybrid-time.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import { SaigaError, type ErrorCode } from '../common/errors.js';
import {
  CHANNEL_OPTIONS, fromServiceError, rowsToJson, services,
  type PbWriteItem, type PbWriteResult, type PbWriteStreamRequest, type PbWriteStreamResponse,
} from './grpc-codec.js';
import type { ServerConfig } from './tablet-server.js';

const EMPTY = new Uint8Array(0);

export interface ClientWriteResult {
  readonly appliedCount: number;
  readonly rowErrors: RowError[];
  readonly timestamp: HybridTime;
}

/** Unanswered writes one client keeps on its WriteStream (the server bounds each stream the same way). */
export const CLIENT_WRITES_INFLIGHT_MAX = 4096;

interface PendingWrite {
  readonly resolve: (r: ClientWriteResult) => void;
  readonly reject: (e: unknown) => void;
  /** performance.now() after which the write fails with TimedOut. */
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

/** How often unanswered writes are checked against their deadlines (one timer per client, not one per write). */
const DEADLINE_SWEEP_MS = 50;

/**
 * A client of one tablet server's TabletServer gRPC service. Errors come back as SaigaErrors.
 *
 * Writes go over one WriteStream per client: the writes issued in one event-loop turn leave in
 * one request message and are answered individually (by id), so many concurrent writers cost
 * one message per turn instead of one unary call each. When the stream breaks, every unanswered
 * write fails with ServiceUnavailable (its outcome is unknown) and the next write opens a new
 * stream. A write's timeout is enforced here (the stream has no per-item deadline).
 */
export class TabletServerClient {
  private readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  private stream: grpc.ClientDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse> | undefined;
  private readonly unanswered = new Map<number, PendingWrite>();
  private outgoing: PbWriteItem[] = [];
  private flushScheduled = false;
  private nextId = 0;

  constructor(readonly address: string) {
    this.client = new (services().tabletServer)(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  private call<Res>(method: string, req: unknown, timeoutMs: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) => (err === null ? resolve(res) : reject(fromServiceError(err))));
    });
  }

  /** Row ops (JSON on the wire) over the client's WriteStream. */
  write(tabletId: string, ops: readonly WriteOp[], timeoutMs = 15_000): Promise<ClientWriteResult> {
    return this.streamWrite({ tabletId, opsJson: rowsToJson(ops), kind: '', ipc: EMPTY }, timeoutMs);
  }

  /** Columnar write of Arrow rows (tablet column names) with one op kind; row errors index the batch's rows. */
  writeArrow(tabletId: string, kind: WriteOpKind, batch: arrow.RecordBatch, timeoutMs = 15_000): Promise<ClientWriteResult> {
    const ipc = arrow.RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
    return this.streamWrite({ tabletId, opsJson: '', kind, ipc }, timeoutMs);
  }

  /** Row ops as one unary Write call (tools; writers should use write()). */
  async writeUnary(tabletId: string, ops: readonly WriteOp[], timeoutMs = 15_000): Promise<ClientWriteResult> {
    const r = await this.call<{ appliedCount: number; rowErrorsJson: string; timestamp: string }>('write', { tabletId, opsJson: rowsToJson(ops) }, timeoutMs);
    return { appliedCount: r.appliedCount, rowErrors: JSON.parse(r.rowErrorsJson) as RowError[], timestamp: BigInt(r.timestamp) };
  }

  private streamWrite(item: Omit<PbWriteItem, 'id'>, timeoutMs: number): Promise<ClientWriteResult> {
    if (this.unanswered.size >= CLIENT_WRITES_INFLIGHT_MAX) {
      return Promise.reject(new SaigaError('ResourceExhausted', `expected at most ${CLIENT_WRITES_INFLIGHT_MAX} unanswered writes to ${this.address}, found ${this.unanswered.size}`));
    }
    let id = this.nextId;
    while (this.unanswered.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    return new Promise<ClientWriteResult>((resolve, reject) => {
      this.unanswered.set(id, { resolve, reject, deadlineMs: performance.now() + timeoutMs, timeoutMs });
      if (this.sweepTimer === undefined) this.sweepTimer = setInterval(() => this.sweepDeadlines(), DEADLINE_SWEEP_MS);
      this.outgoing.push({ id, ...item });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the current turn's microtasks: writers resumed by one response message all queue first.
        setImmediate(() => this.flushWrites());
      }
    });
  }

  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  /** Fails the writes past their deadline; the timer stops once nothing is unanswered. */
  private sweepDeadlines(): void {
    const now = performance.now();
    for (const [id, w] of this.unanswered) {
      if (w.deadlineMs > now) continue;
      this.unanswered.delete(id);
      w.reject(new SaigaError('TimedOut', `write to ${this.address} not answered within ${w.timeoutMs} ms (its outcome is unknown)`));
    }
    if (this.unanswered.size === 0) this.stopSweep();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private flushWrites(): void {
    this.flushScheduled = false;
    const items = this.outgoing;
    this.outgoing = [];
    if (items.length === 0) return;
    this.writeStream().write({ items });
  }

  private writeStream(): grpc.ClientDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse> {
    if (this.stream !== undefined) return this.stream;
    const call = this.client['writeStream']!() as grpc.ClientDuplexStream<PbWriteStreamRequest, PbWriteStreamResponse>;
    this.stream = call;
    call.on('data', (res: PbWriteStreamResponse) => {
      for (const r of res.results) this.settle(r);
    });
    const broken = (e: SaigaError): void => {
      if (this.stream !== call) return;
      this.stream = undefined;
      const ws = [...this.unanswered.values()];
      this.unanswered.clear();
      this.stopSweep();
      for (const w of ws) w.reject(e);
    };
    call.on('error', (err: grpc.ServiceError) => {
      const e = fromServiceError(err);
      broken(e.code === 'ServiceUnavailable' ? e : new SaigaError('ServiceUnavailable', `the write stream to ${this.address} failed (outcome of its unanswered writes unknown): ${e.message}`));
    });
    call.on('end', () => broken(new SaigaError('ServiceUnavailable', `the write stream to ${this.address} ended (outcome of its unanswered writes unknown)`)));
    return call;
  }

  private settle(r: PbWriteResult): void {
    const w = this.unanswered.get(r.id);
    if (w === undefined) return; // timed out already
    this.unanswered.delete(r.id);
    if (r.errorCode !== '') {
      w.reject(new SaigaError(r.errorCode as ErrorCode, r.errorMessage, r.leaderHint !== '' ? { leaderHint: r.leaderHint } : {}));
      return;
    }
    w.resolve({ appliedCount: r.appliedCount, rowErrors: r.rowErrorsJson === '[]' ? [] : JSON.parse(r.rowErrorsJson) as RowError[], timestamp: BigInt(r.timestamp) });
  }

  async scan(tabletId: string, spec: ScanSpec = {}, timeoutMs = 15_000): Promise<{ rowCount: number; batches: arrow.RecordBatch[] }> {
    const r = await this.call<{ ipc: Uint8Array; rowCount: number }>('scan', { tabletId, specJson: rowsToJson(spec) }, timeoutMs);
    return { rowCount: r.rowCount, batches: r.ipc.byteLength === 0 ? [] : arrow.tableFromIPC(r.ipc).batches };
  }

  status(tabletId: string, timeoutMs = 2000): Promise<{
    serverId: string; role: string; leader: string; term: number; commit: number; applied: number; lastIndex: number; voters: string[];
    logFirstIndex: number; copiesInstalled: number; copiesServed: number;
    /** JSON of the server's TabletServerStats (tablet-server.ts). */
    statsJson: string;
  }> {
    return this.call('status', { tabletId }, timeoutMs);
  }

  /** Flushes the tablet replica and garbage-collects its log. */
  flush(tabletId: string, timeoutMs = 10_000): Promise<{ segmentsDeleted: number; logFirstIndex: number }> {
    return this.call('flush', { tabletId }, timeoutMs);
  }

  async configure(c: ServerConfig, timeoutMs = 10_000): Promise<void> {
    await this.call('configure', {
      peers: c.peers,
      tablets: c.tablets.map((t) => ({ tabletId: t.tabletId, schemaJson: rowsToJson(t.schema satisfies Schema), voters: [...t.voters] })),
    }, timeoutMs);
  }

  close(): void {
    const call = this.stream;
    this.stream = undefined;
    call?.cancel();
    this.stopSweep();
    const ws = [...this.unanswered.values()];
    this.unanswered.clear();
    for (const w of ws) w.reject(new SaigaError('Cancelled', `client of ${this.address} closed before the write was answered`));
    this.client.close();
  }
}
