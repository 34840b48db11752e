import type { RecordBatch } from 'apache-arrow';
import { SaigaError, isSaigaError } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { BulkLoad, RowError, WriteOpKind, WriteResult } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import type { BulkStage } from '../tablet/bulk-stage.js';
import { prepareArrowBatch, takePrepared, takePreparedForLog } from '../tablet/prepare-batch.js';
import { WRITE_BATCH_ENTRY_RESERVE_BYTES } from '../wal/batch-codec.js';
import type { PreparedBatch } from '../tablet/tablet-api.js';
import type { ReplicaWriteResult, TabletReplica } from '../tserver/index.js';
import { routePrepared, type RoutedPart, type TableRuntime } from './route-prepared.js';

/** What a bulk load needs from the embedded storage. */
export interface BulkLoadHost {
  readonly limits: Limits;
  runtime(database: string, table: string): TableRuntime;
  replica(tabletId: string): TabletReplica;
  /** True when every tablet of the table has the catalog's column layout (no ALTER half done). */
  tabletsMatchCatalog(rt: TableRuntime): boolean;
  /** The ordinary columnar write (tracked by the storage). */
  writeArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult>;
  now(): HybridTime;
  track<T>(p: Promise<T>): Promise<T>;
}

/** One tablet's side of a load. */
interface TabletLoad {
  readonly tabletId: string;
  readonly replica: TabletReplica;
  /** Still staging (false once the tablet left bulk mode; it never re-enters). */
  bulk: boolean;
  stage: BulkStage | undefined;
  /** This tablet's steps, in write() call order. */
  tail: Promise<unknown>;
}

interface PartResult {
  readonly appliedCount: number;
  readonly rowErrors: readonly RowError[];
  readonly stagedCount: number;
  readonly committedCount: number;
  readonly timestamp: HybridTime;
}

function identityRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/**
 * The embedded storage's BulkLoad (src/common/storage-api.ts). Per tablet, rows are staged into
 * `bulk-*` DiskRowSet files (Tablet.beginBulkStage) while the tablet is in bulk mode: a
 * single-voter replica, a table without a hidden auto-increment key, each batch's keys strictly
 * increasing and above the previous batch's last key, and the first batch above every key the
 * tablet holds. A batch that breaks this ends bulk mode on that tablet: what it staged is
 * committed first (one bulkCommit log entry), then this batch and every later one take the
 * ordinary write path (so an ordinary insert never duplicates a staged key unseen). finish()
 * commits every tablet's staged files: their rows become visible at that commit's timestamp.
 */
export class EmbeddedBulkLoad implements BulkLoad {
  private readonly tablets = new Map<string, TabletLoad>();
  private state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';

  constructor(private readonly host: BulkLoadHost, private readonly database: string, private readonly table: string) {
    // Throws UnknownTable now, not at the first write.
    host.runtime(database, table);
  }

  write(batch: RecordBatch): Promise<WriteResult> {
    if (this.state !== 'open') return Promise.reject(new SaigaError('IllegalState', `bulk load of '${this.database}.${this.table}' is ${this.state === 'finishing' || this.state === 'done' ? 'finished' : 'aborted'}: no more writes`));
    let p: Promise<WriteResult>;
    try {
      p = this.writeNow(batch);
    } catch (e) {
      p = Promise.reject(e);
    }
    return this.host.track(p);
  }

  /** Prepares and routes synchronously (so parts queue per tablet in call order), then awaits the parts. */
  private writeNow(batch: RecordBatch): Promise<WriteResult> {
    const rt = this.host.runtime(this.database, this.table);
    const schema = rt.info.schema;
    if (schema.columns[0]?.autoIncrement === true || !this.host.tabletsMatchCatalog(rt)) {
      // Keys assigned per row, or a tablet still finishing an ALTER: the ordinary path, after
      // every tablet committed what it staged.
      return this.afterLeavingAll(() => this.host.writeArrow(this.database, this.table, 'insert', batch));
    }
    if (batch.numRows > this.host.limits.writeBatchRowsMax) {
      throw new SaigaError('ResourceExhausted', `a write batch holds at most ${this.host.limits.writeBatchRowsMax} rows, got ${batch.numRows}`);
    }
    const prepared = prepareArrowBatch(schema, 'insert', batch);
    const rowErrors: RowError[] = [...prepared.rowErrors];
    const parts = routePrepared(rt, prepared, rowErrors);
    const results = parts.map((part) => this.enqueue(this.tabletLoad(part.tabletId), (tl) => this.writePart(tl, schema, prepared, part)));
    return Promise.all(results).then((rs) => combine(rs, rowErrors, this.host.now()));
  }

  private tabletLoad(tabletId: string): TabletLoad {
    let tl = this.tablets.get(tabletId);
    if (tl === undefined) {
      const replica = this.host.replica(tabletId);
      tl = { tabletId, replica, bulk: replica.singleVoter, stage: undefined, tail: Promise.resolve() };
      this.tablets.set(tabletId, tl);
    }
    return tl;
  }

  /** Runs `step` after every earlier step of this tablet settled. */
  private enqueue<T>(tl: TabletLoad, step: (tl: TabletLoad) => Promise<T>): Promise<T> {
    const run = tl.tail.then(() => step(tl), () => step(tl));
    tl.tail = run.catch(() => undefined);
    return run;
  }

  private async writePart(tl: TabletLoad, schema: Schema, prepared: PreparedBatch, part: RoutedPart): Promise<PartResult> {
    // The load keeps no view on the caller's batch: staged rows are copied into buffers of their
    // own (shared, so a staged MemRowSet goes to the flush worker without another copy).
    let committed: ReplicaWriteResult | undefined;
    if (tl.bulk) {
      const tablet = tl.replica.tablet;
      const stage = (tl.stage ??= tablet.beginBulkStage());
      if (stage.schema === tablet.schema && stage.accepts(prepared, part.rows)) {
        const taken = takePrepared(schema, prepared, part.rows ?? identityRows(prepared.rowCount), stage.alloc);
        await stage.append(taken);
        return { appliedCount: 0, rowErrors: [], stagedCount: taken.rowCount, committedCount: 0, timestamp: 0n };
      }
      committed = await this.leave(tl);
    }
    // As writeArrow: one copy per row, into the tablet's log entry, which the MemRowSet keeps.
    const r = await tl.replica.writePrepared(takePreparedForLog(schema, prepared, part.rows, WRITE_BATCH_ENTRY_RESERVE_BYTES));
    return {
      appliedCount: r.appliedCount,
      rowErrors: committed === undefined ? r.rowErrors : [...committed.rowErrors, ...r.rowErrors],
      stagedCount: 0,
      committedCount: committed?.appliedCount ?? 0,
      timestamp: r.timestamp,
    };
  }

  /** Ends bulk mode on a tablet: commits what it staged (one log entry); undefined when nothing was staged. */
  private async leave(tl: TabletLoad): Promise<ReplicaWriteResult | undefined> {
    tl.bulk = false;
    const stage = tl.stage;
    tl.stage = undefined;
    if (stage === undefined || stage.rowCount === 0) return undefined;
    let files: readonly string[];
    try {
      files = (await stage.seal()).files;
    } catch (e) {
      await stage.discard();
      throw e;
    }
    // A failed commit may still be in the log (outcome unknown): its files stay; the next open
    // of the tablet deletes them if no commit entry named them.
    return tl.replica.commitBulk(files);
  }

  private afterLeavingAll(then: () => Promise<WriteResult>): Promise<WriteResult> {
    const left = [...this.tablets.values()].map((tl) => this.enqueue(tl, (x) => this.leave(x)));
    return Promise.all(left).then(async (cs) => {
      const r = await then();
      let committedCount = 0;
      const rowErrors: RowError[] = [];
      for (const c of cs) {
        if (c === undefined) continue;
        committedCount += c.appliedCount;
        rowErrors.push(...c.rowErrors);
      }
      return { ...r, rowErrors: [...rowErrors, ...r.rowErrors], committedCount, stagedCount: 0 };
    });
  }

  async finish(): Promise<WriteResult> {
    if (this.state !== 'open') throw new SaigaError('IllegalState', `bulk load of '${this.database}.${this.table}' is already ${this.state === 'aborted' ? 'aborted' : 'finished'}`);
    this.state = 'finishing';
    const all = [...this.tablets.values()];
    const settled = await Promise.allSettled(all.map((tl) => this.enqueue(tl, (x) => this.leave(x))));
    this.state = 'done';
    let appliedCount = 0;
    let timestamp: HybridTime = 0n;
    const rowErrors: RowError[] = [];
    const failed: string[] = [];
    let firstError: unknown;
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        failed.push((all[i] as TabletLoad).tabletId);
        firstError ??= s.reason;
        return;
      }
      const r = s.value;
      if (r === undefined) return;
      appliedCount += r.appliedCount;
      rowErrors.push(...r.rowErrors);
      if (r.timestamp > timestamp) timestamp = r.timestamp;
    });
    if (firstError !== undefined) {
      const code = isSaigaError(firstError) ? firstError.code : 'IOError';
      const text = firstError instanceof Error ? firstError.message : String(firstError);
      throw new SaigaError(code, `${text} (bulk load finish: ${appliedCount} staged rows were committed and are visible; the rows staged for tablet${failed.length > 1 ? 's' : ''} ${failed.join(', ')} were not)`);
    }
    return { appliedCount, rowErrors, timestamp: timestamp === 0n ? this.host.now() : timestamp };
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted' || this.state === 'done') return;
    this.state = 'aborted';
    await Promise.allSettled([...this.tablets.values()].map((tl) => this.enqueue(tl, async (x) => {
      x.bulk = false;
      const stage = x.stage;
      x.stage = undefined;
      if (stage !== undefined) await stage.discard();
    })));
  }
}

function combine(rs: readonly PartResult[], rowErrors: RowError[], now: HybridTime): WriteResult {
  let appliedCount = 0;
  let stagedCount = 0;
  let committedCount = 0;
  let timestamp: HybridTime = 0n;
  for (const r of rs) {
    appliedCount += r.appliedCount;
    stagedCount += r.stagedCount;
    committedCount += r.committedCount;
    if (r.timestamp > timestamp) timestamp = r.timestamp;
    rowErrors.push(...r.rowErrors);
  }
  rowErrors.sort((a, b) => a.rowIndex - b.rowIndex);
  return { appliedCount, rowErrors, timestamp: timestamp === 0n ? now : timestamp, stagedCount, committedCount };
}
