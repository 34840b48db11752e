import * as arrow from 'apache-arrow';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { corruption, SaigaError } from '../common/errors.js';
import { HT_MIN, type HybridClock, type HybridTime } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import { openTablet } from '../tablet/index.js';
import { preparedToArrow } from '../tablet/prepare-batch.js';
import type { ApplyResult, PreparedBatch, Tablet, WriteOp } from '../tablet/tablet-api.js';
import { decodeSchema, decodeWriteBatch, decodeWriteBatchArrow, encodeSchema, encodeWriteBatch, encodeWriteBatchArrow, openLog, type Log, type LogEntry } from '../wal/index.js';

/**
 * The single-replica driver of one tablet (the embedded default, replication factor 1): owns
 * the tablet's log and the Tablet. Write path: hybrid timestamp, validate, append the op batch
 * to the log (group commit), then apply in log order. Raft's TabletReplica takes its place
 * later through the same Tablet contract.
 */

/** Term of every entry a LocalReplica writes (there is no election). */
export const LOCAL_TERM = 1;
const TABLET_ANCHOR = 'tablet';

export interface LocalWriteResult extends ApplyResult {
  readonly timestamp: HybridTime;
}

interface PendingApply {
  readonly index: number;
  /** The op's hybrid timestamp (HT_MIN for ops without one: always waited for). */
  readonly timestamp: HybridTime;
  readonly run: () => void;
}

export interface LocalReplicaOptions {
  /** The tablet's directory; the tablet data go to `dir/data`, the log to `dir/wal`. */
  readonly dir: string;
  readonly tabletId: string;
  /** Used only when the tablet is created. */
  readonly schema: Schema;
  readonly clock: HybridClock;
  readonly limits: Limits;
}

export class LocalReplica {
  /** Ops appended to the log and waiting for their fsync, in index order. */
  private readonly pending: PendingApply[] = [];
  private failed: unknown;

  private constructor(
    readonly tabletId: string,
    readonly tablet: Tablet,
    readonly log: Log,
    private readonly clock: HybridClock,
  ) {}

  /** Opens (or creates) the tablet and its log, then replays the log above durableOpIndex(). */
  static async open(o: LocalReplicaOptions): Promise<LocalReplica> {
    const tablet = openTablet({ dir: join(o.dir, 'data'), tabletId: o.tabletId, schema: o.schema, limits: o.limits });
    let log: Log;
    try {
      log = await openLog({ dir: join(o.dir, 'wal'), segmentBytes: o.limits.logSegmentBytes });
    } catch (e) {
      tablet.close();
      throw e;
    }
    const r = new LocalReplica(o.tabletId, tablet, log, o.clock);
    try {
      await r.bootstrap();
    } catch (e) {
      tablet.close();
      await log.close();
      throw e;
    }
    return r;
  }

  private async bootstrap(): Promise<void> {
    const durable = this.tablet.durableOpIndex();
    if (this.log.lastIndex() < durable) {
      // Everything in the log is already in the tablet's files (and the log lost its tail
      // segments, e.g. a fresh log dir): continue numbering after the tablet.
      await this.log.resetToSnapshot({ index: durable, term: LOCAL_TERM });
    }
    if (this.log.firstIndex() > durable + 1) {
      const path = join(this.log.segmentPaths()[0] ?? 'wal', '');
      throw corruption(path, 0, `log starts at index ${this.log.firstIndex()} but the tablet needs entries from ${durable + 1}`);
    }
    const last = this.log.lastIndex();
    let next = durable + 1;
    while (next <= last) {
      const batch = this.log.read(next, last + 1, 64 * 1024 * 1024);
      for (const e of batch) this.replay(e);
      next += batch.length;
    }
    this.updateAnchor();
  }

  private replay(e: LogEntry): void {
    const opId = { term: e.term, index: e.index };
    switch (e.type) {
      case 'write': {
        const p = decodeWriteBatch(e.payload);
        this.clock.update(p.timestamp);
        this.tablet.applyWrite(opId, p.timestamp, p.ops);
        return;
      }
      case 'writeBatch': {
        const p = decodeWriteBatchArrow(e.payload);
        this.clock.update(p.timestamp);
        const batches = arrow.tableFromIPC(p.ipc).batches;
        if (batches.length !== 1 || (batches[0] as arrow.RecordBatch).numRows !== p.rowCount) {
          throw corruption(this.log.segmentPaths().at(-1) ?? 'wal', 0, `writeBatch entry ${e.index} holds ${batches.length} batches, expected one of ${p.rowCount} rows`);
        }
        const prepared = this.tablet.prepareBatch(p.kind, batches[0] as arrow.RecordBatch);
        assert(prepared.rowErrors.length === 0, () => `logged batch of entry ${e.index} re-validates without errors, got ${prepared.rowErrors[0]?.message ?? ''}`);
        this.tablet.applyPrepared(opId, p.timestamp, prepared);
        return;
      }
      case 'alterSchema':
        this.tablet.alterSchema(opId, decodeSchema(e.payload));
        return;
      case 'noop':
      case 'configChange':
        return;
    }
  }

  private checkUsable(): void {
    if (this.failed !== undefined) {
      throw new SaigaError('IOError', `tablet ${this.tabletId} stopped after a failure: ${String(this.failed)}`);
    }
  }

  /**
   * Writes one op batch, validated once (prepareOps): rows failing validation are left out of
   * the log entry (so an op that makes the tablet throw never reaches the log, where replay
   * would hit it forever); the prepared form of the rest is applied once the entry is durable.
   * Row errors index `ops`.
   */
  async write(ops: readonly WriteOp[]): Promise<LocalWriteResult> {
    this.checkUsable();
    // Ops are prepared against the schema they are applied with: let a logged ALTER apply first.
    if (this.pending.some((p) => p.timestamp === HT_MIN)) await this.waitApplied(HT_MIN);
    const prepared = this.tablet.prepareOps(ops);
    const good = prepared.ops;
    if (good.length === 0) return { appliedCount: 0, rowErrors: prepared.rowErrors, timestamp: this.clock.now() };
    const timestamp = this.clock.now();
    const index = this.log.lastIndex() + 1;
    const payload = encodeWriteBatch({ timestamp, ops: good });
    const applied = await this.appendThenApply({ term: LOCAL_TERM, index, type: 'write', payload }, timestamp, () =>
      this.tablet.applyPreparedOps({ term: LOCAL_TERM, index }, timestamp, prepared),
    );
    const map = prepared.inputIndex;
    const applyErrors: RowError[] = map === undefined ? [...applied.rowErrors] : applied.rowErrors.map((e) => ({ ...e, rowIndex: map[e.rowIndex] as number }));
    const rowErrors = prepared.rowErrors.length === 0 ? applyErrors : [...prepared.rowErrors, ...applyErrors].sort((a, b) => a.rowIndex - b.rowIndex);
    return { appliedCount: applied.appliedCount, rowErrors, timestamp };
  }

  /**
   * Writes one columnar batch: validated once (prepareBatch), logged as the Arrow IPC of the
   * valid rows (group commit), applied with applyPrepared. Row errors index the input batch.
   */
  async writeBatch(kind: WriteOpKind, batch: arrow.RecordBatch): Promise<LocalWriteResult> {
    this.checkUsable();
    // A batch is prepared against the schema it is applied with: let a logged ALTER apply first.
    if (this.pending.some((p) => p.timestamp === HT_MIN)) await this.waitApplied(HT_MIN);
    return this.writePrepared(this.tablet.prepareBatch(kind, batch));
  }

  /** Logs and applies an already prepared batch (prepared by this replica's tablet). */
  async writePrepared(prepared: PreparedBatch): Promise<LocalWriteResult> {
    this.checkUsable();
    if (prepared.rowCount === 0) return { appliedCount: 0, rowErrors: prepared.rowErrors, timestamp: this.clock.now() };
    const timestamp = this.clock.now();
    const index = this.log.lastIndex() + 1;
    const ipc = arrow.RecordBatchStreamWriter.writeAll([preparedToArrow(this.tablet.schema, prepared)]).toUint8Array(true);
    const payload = encodeWriteBatchArrow({ timestamp, kind: prepared.kind, rowCount: prepared.rowCount, ipc });
    const applied = await this.appendThenApply({ term: LOCAL_TERM, index, type: 'writeBatch', payload }, timestamp, () =>
      this.tablet.applyPrepared({ term: LOCAL_TERM, index }, timestamp, prepared),
    );
    const map = prepared.inputIndex;
    const applyErrors = map === undefined ? [...applied.rowErrors] : applied.rowErrors.map((e) => ({ ...e, rowIndex: map[e.rowIndex] as number }));
    const rowErrors = prepared.rowErrors.length === 0 ? applyErrors : [...prepared.rowErrors, ...applyErrors].sort((a, b) => a.rowIndex - b.rowIndex);
    return { appliedCount: applied.appliedCount, rowErrors, timestamp };
  }

  /** Changes the tablet schema as a logged op. */
  async alterSchema(schema: Schema): Promise<void> {
    this.checkUsable();
    const index = this.log.lastIndex() + 1;
    await this.appendThenApply({ term: LOCAL_TERM, index, type: 'alterSchema', payload: encodeSchema(schema) }, HT_MIN, () =>
      this.tablet.alterSchema({ term: LOCAL_TERM, index }, schema),
    );
  }

  /**
   * Resolves once no op with a timestamp <= `ts` is still waiting for its fsync, so a scan at
   * snapshot `ts` sees a cut that no later apply changes (repeatable snapshot reads).
   */
  async waitApplied(ts: HybridTime): Promise<void> {
    while (this.pending.some((p) => p.timestamp <= ts)) {
      await this.log.sync();
      this.drainApplies();
    }
  }

  private appendThenApply<T>(entry: LogEntry, timestamp: HybridTime, apply: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({
        index: entry.index,
        timestamp,
        run: () => {
          try {
            resolve(apply());
          } catch (e) {
            // The op is in the log but not in the tablet: a bug or a tablet I/O failure.
            this.failed = e;
            reject(e);
          }
        },
      });
      this.log.append([entry]).then(
        () => this.drainApplies(),
        (e: unknown) => {
          this.failed = e;
          const i = this.pending.findIndex((p) => p.index === entry.index);
          if (i >= 0) this.pending.splice(i, 1);
          reject(e);
        },
      );
    });
  }

  /** Applies, in index order, every pending op whose log entry is durable. */
  private drainApplies(): void {
    const durable = this.log.durableIndex();
    while (this.pending.length > 0 && (this.pending[0] as PendingApply).index <= durable) {
      const p = this.pending.shift() as PendingApply;
      assert(p.index === this.tablet.lastAppliedOpIndex() + 1 || this.failed !== undefined, () => `apply of op ${p.index} follows op ${this.tablet.lastAppliedOpIndex()}`);
      p.run();
    }
    this.updateAnchor();
  }

  private updateAnchor(): void {
    this.log.anchors.set(TABLET_ANCHOR, this.tablet.durableOpIndex() + 1);
  }

  /** Flushes the tablet's in-memory stores, then drops log segments nothing anchors any more. */
  flush(): void {
    this.checkUsable();
    this.tablet.flush();
    this.gcLog();
  }

  gcLog(): number {
    this.updateAnchor();
    return this.log.gc();
  }

  /** One round of background maintenance; returns whether it did anything. */
  maintain(limits: Limits, now: HybridTime, compact: boolean): boolean {
    if (this.failed !== undefined) return false;
    let did = false;
    const s = this.tablet.stats();
    if (s.memRowSetBytes + s.deltaMemStoreBytes >= limits.memRowSetFlushBytes ||
        (this.log.sizeBytes() > 2 * limits.logSegmentBytes && this.tablet.durableOpIndex() < this.tablet.lastAppliedOpIndex())) {
      this.tablet.flush();
      did = true;
    }
    if (compact) {
      this.tablet.gcHistory(now);
      did = this.tablet.compact({ budgetBytes: limits.compactionBudgetBytes }) || did;
    }
    if (this.gcLog() > 0) did = true;
    return did;
  }

  /** Waits for in-flight writes, then closes the log and the tablet. */
  async close(): Promise<void> {
    try {
      await this.log.sync();
    } catch {
      // A failed log was reported to its writers already.
    }
    this.drainApplies();
    await this.log.close();
    this.tablet.close();
  }
}
