import * as arrow from 'apache-arrow';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { corruption, SaigaError } from '../common/errors.js';
import { HT_MIN, type HybridClock, type HybridTime } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import {
  encodeConfChange, newRaftNode, SeededRandom,
  type ConfState, type Entry, type RaftNode, type ReadState, type ReplicaId, type Snapshot, type SoftState,
} from '../replication/index.js';
import type { GroupStateMachine, RaftDriver } from '../replication/raft-driver.js';
import { encodeEntryData, toLogEntry, WAL_KIND, WalStorage, type ConfStore } from '../replication/wal-storage.js';
import { openTablet } from '../tablet/index.js';
import { pinCopy, recoverCopyDirs, swapInCopy } from './tablet-copy.js';
import { preparedToIpcChunks } from '../tablet/prepare-batch.js';
import { WRITE_BATCH_ENTRY_RESERVE_BYTES, writeWriteBatchArrowHeader } from '../wal/batch-codec.js';
import type { ApplyResult, OpId, PreparedBatch, PreparedOps, Tablet, WriteOp } from '../tablet/tablet-api.js';
import {
  decodeBulkCommit, decodeSchema, decodeWriteBatch, decodeWriteBatchArrow, encodeBulkCommit, encodeSchema, encodeWriteBatch, encodeWriteBatchArrowChunks,
  MetaFile, openLog, type Log, type LogEntry,
} from '../wal/index.js';

/**
 * TabletReplica: one replica of a Raft-replicated tablet, joining a RaftNode (driven by the
 * server's RaftDriver), the tablet's log (which is the Raft log, via WalStorage) and the Tablet.
 *
 * Writes (leader only, else NotLeader naming the leader): validate once (prepare), assign a
 * hybrid timestamp, propose the encoded valid ops, answer after the entry is committed and
 * applied (the leader applies its prepared form; other replicas and replay decode the entry).
 * Every replica applies committed entries in log order. Reads: READ_LATEST on the leader under
 * a valid lease is served locally; otherwise (and on followers) a ReadIndex confirms the read
 * point first and the replica serves once it applied it. A snapshot read waits until no op at or before the
 * snapshot is still in flight here.
 *
 * Surface: write / writeBatch / writePrepared / alterSchema / waitApplied / flush / gcLog /
 * maintain / close, plus scan() with the read rules above and status(). With `singleVoter` it is
 * the embedded default (TabletManager): a one-voter group that elects itself at open.
 */

export interface TabletReplicaOptions {
  readonly dir: string;
  readonly tabletId: string;
  readonly schema: Schema;
  readonly clock: HybridClock;
  readonly limits: Limits;
  readonly driver: RaftDriver;
  /** Initial voters of a new group (this replica writes the founding configuration); omit to join an existing group empty. */
  readonly voters?: readonly ReplicaId[];
  readonly electionTicks?: number;
  /** How long a write or read waits for commit / a read point. */
  readonly opTimeoutMs?: number;
  readonly seed?: number;
  /**
   * Fetches a tablet copy from server `from` into `<dir>/data.copy-tmp` (tablet-copy.ts
   * fetchCopy) and resolves with its op index; without it a snapshot from the leader is refused.
   */
  readonly fetchCopy?: (from: ReplicaId, tabletId: string, tabletDir: string) => Promise<number>;
  /**
   * The embedded default: this replica is its group's only voter, for good. The configuration is
   * fixed to {this server} (no founding entries: the log holds only tablet ops and the empty
   * entries of its own elections), the replica campaigns at open, and open resolves once it
   * leads and applied its whole log.
   */
  readonly singleVoter?: boolean;
}

export interface ReplicaWriteResult extends ApplyResult {
  readonly timestamp: HybridTime;
}

/**
 * A proposal of this replica, from the moment it is queued (pending) until it is applied or
 * fails: one object per write (the queue entry is the waiter; term and deadline are set when
 * it is proposed).
 */
interface Waiter {
  seq: number;
  /** The entry's Raft data; dropped (empty) once proposed. */
  data: Uint8Array;
  term: number;
  readonly timestamp: HybridTime;
  /** Applies this replica's own proposal (no decode) as `opId`; returns what the write resolves with. */
  apply(opId: OpId): unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** performance.now() after which the write fails with TimedOut (swept, see sweepWaiters). */
  deadlineMs: number;
}

const NO_DATA = new Uint8Array(0);

/** Fields every waiter starts with (term and deadline are set when proposed). */
abstract class QueuedWaiter implements Waiter {
  /** Order of queueing on its replica (writesSettled). */
  seq = 0;
  term = 0;
  deadlineMs = 0;
  resolve: (v: unknown) => void = noop;
  reject: (e: unknown) => void = noop;
  constructor(
    public data: Uint8Array,
    readonly timestamp: HybridTime,
  ) {}

  abstract apply(opId: OpId): unknown;
}

/** A waiter whose apply is a closure (alter, bulk commit, columnar writes). */
class CallbackWaiter extends QueuedWaiter {
  constructor(data: Uint8Array, timestamp: HybridTime, private readonly callback: () => unknown) {
    super(data, timestamp);
  }

  apply(): unknown {
    return this.callback();
  }
}

/**
 * The waiter of a row write (TabletReplica.write): no closure per write; apply() applies the
 * prepared ops and builds the write's result (row errors indexing the written ops).
 */
class OpsWaiter extends QueuedWaiter {
  constructor(
    data: Uint8Array,
    timestamp: HybridTime,
    private readonly replica: TabletReplica,
    private readonly prepared: PreparedOps,
  ) {
    super(data, timestamp);
  }

  apply(opId: OpId): ReplicaWriteResult {
    const prepared = this.prepared;
    const tablet = this.replica.tablet;
    // An ALTER logged by an earlier leader may have applied in between: apply the logged ops
    // the way every other replica does (applyWrite validates them against the schema now).
    const applied = prepared.schema === tablet.schema ? tablet.applyPreparedOps(opId, this.timestamp, prepared) : tablet.applyWrite(opId, this.timestamp, prepared.ops);
    return { appliedCount: applied.appliedCount, rowErrors: mergeRowErrors(prepared.rowErrors, prepared.inputIndex, applied.rowErrors), timestamp: this.timestamp };
  }
}

function noop(): void {}

/**
 * Row errors of a prepared write by input index: the errors of the rows left out by prepare
 * (`prepareErrors`, by input index) and the apply errors (`applyErrors`, by kept-row index,
 * mapped through `inputIndex` when rows were left out), in input order.
 */
function mergeRowErrors(prepareErrors: readonly RowError[], inputIndex: Int32Array | undefined, applyErrors: readonly RowError[]): readonly RowError[] {
  if (applyErrors.length === 0) return prepareErrors;
  const mapped = inputIndex === undefined ? applyErrors : applyErrors.map((e) => ({ ...e, rowIndex: inputIndex[e.rowIndex] as number }));
  return prepareErrors.length === 0 ? mapped : [...prepareErrors, ...mapped].sort((a, b) => a.rowIndex - b.rowIndex);
}

/** The configuration for any log snapshot marker in [from, to]. */
interface ConfRange {
  readonly from: number;
  readonly to: number;
  readonly confState: ConfState;
}

/** The configuration as of the log's snapshot marker: the newest range and the one before it (a crash may leave the marker in either). */
interface ConfRecord {
  readonly ranges: readonly ConfRange[];
}

const OP_TIMEOUT_MS_DEFAULT = 10_000;
const CONF_FILE = 'raft-conf';

export class TabletReplica implements GroupStateMachine {
  private readonly waiters = new Map<number, Waiter>();
  private readonly readWaiters = new Map<string, { resolve: (index: number) => void; reject: (e: unknown) => void }>();
  private readonly appliedWaiters: { index: number; resolve: () => void }[] = [];
  private appliedIndex: number;
  private soft: SoftState = { lead: '', role: 'Follower' };
  private failure: unknown;
  private readSeq = 0;
  private closed = false;
  /** Index of the newest configuration change applied (or the snapshot point it is known at). */
  private lastConfIndex: number;
  /** Tablet copies installed / served since open. */
  copiesInstalled = 0;
  copiesServed = 0;
  private copySeq = 0;
  readonly serverId: ReplicaId;

  private constructor(
    readonly tabletId: string,
    private tabletNow: Tablet,
    private readonly dir: string,
    private readonly limits: Limits,
    private readonly fetchCopyFrom: TabletReplicaOptions['fetchCopy'],
    readonly log: Log,
    readonly storage: WalStorage,
    private readonly conf: MetaFile<ConfRecord>,
    private readonly node: RaftNode,
    private readonly clock: HybridClock,
    private readonly driver: RaftDriver,
    private readonly opTimeoutMs: number,
    /** The embedded default's one-voter group (bulk loads may stage files: no follower needs them). */
    readonly singleVoter: boolean,
  ) {
    this.serverId = driver.serverId;
    this.appliedIndex = tabletNow.lastAppliedOpIndex();
    this.lastConfIndex = log.snapshotMarker().index;
  }

  get tablet(): Tablet {
    return this.tabletNow;
  }

  static async open(o: TabletReplicaOptions): Promise<TabletReplica> {
    recoverCopyDirs(o.dir);
    const tablet = openTablet({ dir: join(o.dir, 'data'), tabletId: o.tabletId, schema: o.schema, limits: o.limits });
    let log: Log | undefined;
    try {
      log = await openLog({ dir: join(o.dir, 'wal'), segmentBytes: o.limits.logSegmentBytes });
      const confPath = join(o.dir, CONF_FILE);
      const fresh = !existsSync(confPath);
      const conf = MetaFile.open<ConfRecord>(confPath, { ranges: [] });
      // A record from before log GC existed ({index: 0, confState}) holds no ranges.
      if (!Array.isArray(conf.value.ranges)) conf.writeSync({ ranges: [] });
      const durable = tablet.durableOpIndex();
      if (o.singleVoter === true && (log.lastIndex() < durable || (log.lastIndex() === log.firstIndex() - 1 && log.term(log.lastIndex()) === undefined))) {
        // Everything the log holds is in the tablet's files (a lost or fully collected log):
        // continue numbering after the tablet, with a known term at the base.
        await log.resetToSnapshot({ index: durable, term: Math.max(log.lastTerm(), 1) });
      }
      if (o.singleVoter !== true && fresh && log.lastIndex() === 0 && durable === 0 && o.voters !== undefined) {
        // Founding member: AddVoter entries 1..n committed in term 1 (every replica derives the
        // configuration from the log alone, also ones added later).
        const ents: LogEntry[] = o.voters.map((replica, i) => ({ term: 1, index: i + 1, type: 'configChange', payload: encodeConfChange({ type: 'AddVoter', replica }) }));
        await log.append(ents);
        await log.setHardState({ term: 1, vote: '', commit: ents.length });
      }
      if (fresh) await conf.write(conf.value);
      if (log.firstIndex() > durable + 1) {
        throw corruption(log.segmentPaths()[0] ?? join(o.dir, 'wal'), 0, `log starts at index ${log.firstIndex()} but the tablet needs entries from ${durable + 1}`);
      }
      const logRef = log;
      const self: ConfState = { voters: [o.driver.serverId], learners: [] };
      const confStore: ConfStore = o.singleVoter === true ? { get: () => self } : {
        get: () => {
          const at = logRef.snapshotMarker().index;
          if (at === 0) return { voters: [], learners: [] };
          const r = conf.value.ranges.find((x) => x.from <= at && at <= x.to);
          if (r === undefined) throw corruption(confPath, 0, `no configuration recorded for the log's snapshot point ${at} (ranges ${JSON.stringify(conf.value.ranges.map((x) => [x.from, x.to]))})`);
          return r.confState;
        },
      };
      const storage = new WalStorage(log, confStore);
      const seed = o.seed ?? ((Date.now() ^ (process.pid << 8)) >>> 0);
      const electionTicks = o.electionTicks ?? 10;
      // Raft hands out every committed entry after the log's snapshot point again; the replica
      // skips the ones the tablet already holds (applied below), so configuration changes in the
      // log are re-applied by the core and the configuration needs no separate record.
      const node = newRaftNode({
        id: o.driver.serverId, storage, random: new SeededRandom(seed), electionTicks, heartbeatTicks: 1,
        leaseTicks: electionTicks - 3, readOnly: 'LeaseBased',
        // A single voter has no configuration entries to re-derive: entries the tablet holds are not handed out again.
        applied: o.singleVoter === true ? Math.min(durable, log.lastIndex()) : log.snapshotMarker().index,
      });
      const r = new TabletReplica(o.tabletId, tablet, o.dir, o.limits, o.fetchCopy, log, storage, conf, node, o.clock, o.driver, o.opTimeoutMs ?? OP_TIMEOUT_MS_DEFAULT, o.singleVoter === true);
      o.driver.addGroup(o.tabletId, node, storage, r);
      if (o.singleVoter === true) {
        try {
          await r.leadAlone();
          // The log is replayed: staged bulk files no commit entry named belong to loads that
          // never committed.
          tablet.removeStaleBulkFiles();
        } catch (e) {
          await r.close();
          throw e;
        }
      }
      return r;
    } catch (e) {
      tablet.close();
      if (log !== undefined) await log.close();
      throw e;
    }
  }

  private leaderWaiters: (() => void)[] = [];

  /** Single voter: campaign now, wait until leading (its Ready processed) and the log is applied. */
  private async leadAlone(): Promise<void> {
    const last = this.log.lastIndex();
    if (!this.isLeader()) {
      const led = new Promise<void>((resolve) => this.leaderWaiters.push(resolve));
      this.driver.withNode(this.tabletId, (n) => n.campaign());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([led, new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SaigaError('TimedOut', `tablet ${this.tabletId}: the single voter ${this.serverId} did not become leader within ${this.opTimeoutMs} ms`)), this.opTimeoutMs);
      })]).finally(() => clearTimeout(timer));
    }
    this.checkUsable();
    await this.waitIndexApplied(last);
  }

  // ---- GroupStateMachine ---------------------------------------------------------------------

  /** Fetches the leader's tablet copy before the InstallSnapshot message is stepped (the driver drops it on false). */
  async prepareSnapshot(snapshot: Snapshot, from: ReplicaId): Promise<boolean> {
    if (this.fetchCopyFrom === undefined || this.closed || this.failure !== undefined) return false;
    if (snapshot.metadata.index <= this.appliedIndex) return true; // the core answers without installing
    const opIndex = await this.fetchCopyFrom(from, this.tabletId, this.dir);
    if (opIndex < snapshot.metadata.index) {
      throw new SaigaError('IllegalState', `tablet ${this.tabletId}: the copy from ${from} holds ops up to ${opIndex}, below the snapshot index ${snapshot.metadata.index}`);
    }
    this.fetchedCopyIndex = opIndex;
    return true;
  }

  private fetchedCopyIndex = -1;

  /**
   * Installs the fetched copy as this replica's state: swap the data directory, reopen the
   * tablet, record the configuration at the snapshot point, then reset the log to the snapshot
   * marker (data first: a crash in between leaves a tablet ahead of its log, which only skips
   * entries; the other order would leave a log the tablet cannot be replayed from).
   */
  async installSnapshot(snapshot: Snapshot): Promise<void> {
    const { index, term, confState } = snapshot.metadata;
    if (this.fetchedCopyIndex < index) {
      throw new SaigaError('IllegalState', `tablet ${this.tabletId}: asked to install a snapshot at index ${index} but the fetched copy holds ops up to ${this.fetchedCopyIndex}`);
    }
    this.fetchedCopyIndex = -1;
    for (const [, w] of this.waiters) {
      w.reject(new SaigaError('NotLeader', `tablet ${this.tabletId}: replaced by a tablet copy at index ${index}`, this.leaderDetails()));
    }
    this.waiters.clear();
    const schema = this.tabletNow.schema;
    this.tabletNow.close();
    swapInCopy(this.dir);
    this.tabletNow = openTablet({ dir: join(this.dir, 'data'), tabletId: this.tabletId, schema, limits: this.limits });
    // A copy holds every op up to the snapshot in its rowsets: staged files in it are stale.
    this.tabletNow.removeStaleBulkFiles();
    const durable = this.tabletNow.durableOpIndex();
    if (durable < index) throw corruption(join(this.dir, 'data'), 0, `installed tablet copy holds ops up to ${durable}, below the snapshot index ${index}`);
    this.conf.writeSync({ ranges: [{ from: index, to: index, confState }] });
    await this.log.resetToSnapshot({ index, term });
    this.appliedIndex = this.tabletNow.lastAppliedOpIndex();
    this.lastConfIndex = index;
    this.copiesInstalled++;
    this.applyingOpId = { term, index };
  }

  /**
   * Source side of a tablet copy: flushes (so the files hold every applied op) and pins the
   * files by hard links into a private directory. The caller streams and then removes it.
   */
  pinCopy(): { dir: string; files: string[]; opIndex: number } {
    this.checkUsable();
    this.tabletNow.flush();
    const opIndex = this.tabletNow.durableOpIndex();
    const dir = join(this.dir, `copy-src-${process.pid}-${++this.copySeq}`);
    const files = pinCopy(join(this.dir, 'data'), dir);
    this.copiesServed++;
    return { dir, files, opIndex };
  }

  applyCommitted(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type === 'ConfChange' && e.index > this.lastConfIndex) this.lastConfIndex = e.index;
      if (e.index <= this.appliedIndex) continue; // in the tablet already (replayed after a restart)
      const w = this.waiters.get(e.index);
      let result: unknown;
      this.applyingOpId = { term: e.term, index: e.index };
      if (w !== undefined && w.term === e.term) result = w.apply(this.applyingOpId);
      else result = this.applyEntry(e);
      this.appliedIndex = e.index;
      if (w !== undefined) {
        this.waiters.delete(e.index);
          if (w.term === e.term) w.resolve(result);
        else w.reject(new SaigaError('NotLeader', `tablet ${this.tabletId}: the write at index ${e.index} was replaced by a newer leader (term ${e.term})`, this.leaderDetails()));
      }
    }
    while (this.appliedWaiters.length > 0 && (this.appliedWaiters[0]?.index ?? Infinity) <= this.appliedIndex) this.appliedWaiters.shift()?.resolve();
  }

  private applyEntry(e: Entry): unknown {
    const le = toLogEntry(e);
    const opId = { term: e.term, index: e.index };
    switch (le.type) {
      case 'write': {
        const p = decodeWriteBatch(le.payload);
        this.clock.update(p.timestamp);
        return this.tablet.applyWrite(opId, p.timestamp, p.ops);
      }
      case 'writeBatch': {
        const p = decodeWriteBatchArrow(le.payload);
        this.clock.update(p.timestamp);
        const batches = arrow.tableFromIPC(p.ipc).batches;
        const b = batches[0];
        if (batches.length !== 1 || b === undefined || b.numRows !== p.rowCount) {
          throw corruption(this.log.segmentPaths().at(-1) ?? 'wal', 0, `writeBatch entry ${e.index} holds ${batches.length} batches, expected one of ${p.rowCount} rows`);
        }
        return this.tablet.applyPrepared(opId, p.timestamp, this.tablet.prepareBatch(p.kind, b));
      }
      case 'alterSchema':
        this.tablet.alterSchema(opId, decodeSchema(le.payload));
        return undefined;
      case 'bulkCommit': {
        const p = decodeBulkCommit(le.payload);
        this.clock.update(p.timestamp);
        return this.tablet.commitBulk(opId, p.timestamp, p.files);
      }
      case 'noop':
      case 'configChange':
        return undefined;
    }
  }

  /**
   * A new leader's log may hold entries (committed or not, from earlier leaders) that it has not
   * applied yet: move the clock past their timestamps before it assigns any, so timestamps keep
   * following log order across leader changes.
   */
  private clockPastLog(): void {
    const last = this.log.lastIndex();
    let next = Math.max(this.appliedIndex + 1, this.log.firstIndex());
    while (next <= last) {
      const batch = this.log.read(next, last + 1, 16 * 1024 * 1024);
      for (const e of batch) {
        if (e.type === 'write') this.clock.update(decodeWriteBatch(e.payload).timestamp);
        else if (e.type === 'writeBatch') this.clock.update(decodeWriteBatchArrow(e.payload).timestamp);
        else if (e.type === 'bulkCommit') this.clock.update(decodeBulkCommit(e.payload).timestamp);
      }
      next += batch.length;
    }
  }

  readStates(states: readonly ReadState[]): void {
    for (const s of states) {
      const w = this.readWaiters.get(s.requestCtx);
      if (w !== undefined) {
        this.readWaiters.delete(s.requestCtx);
        w.resolve(s.index);
      }
    }
  }

  softStateChanged(s: SoftState): void {
    this.soft = s;
    if (s.role === 'Leader') {
      this.clockPastLog();
      const ws = this.leaderWaiters;
      this.leaderWaiters = [];
      for (const w of ws) w();
    }
    // The core drops pending ReadIndex requests when leadership changes (they are never
    // answered): fail them now so callers retry instead of waiting for their timeout.
    if (this.readWaiters.size > 0) {
      const err = new SaigaError('NotLeader', `tablet ${this.tabletId}: leadership changed on ${this.serverId} (now ${s.role.toLowerCase()}, leader '${s.lead}') before the read point was confirmed`, s.lead === '' ? {} : { leaderHint: s.lead });
      const ws = [...this.readWaiters.values()];
      this.readWaiters.clear();
      for (const w of ws) w.reject(err);
    }
  }

  failed(e: unknown): void {
    this.failure = e;
    process.stderr.write(`tablet ${this.tabletId} on ${this.serverId} stopped: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    for (const [, w] of this.waiters) {
      w.reject(e);
    }
    this.waiters.clear();
  }

  // ---- writes --------------------------------------------------------------------------------

  private leaderDetails(): { leaderHint?: string } {
    const lead = this.node.leader();
    return lead === '' ? {} : { leaderHint: lead };
  }

  private checkUsable(): void {
    if (this.failure !== undefined) throw new SaigaError('IOError', `tablet ${this.tabletId} stopped after a failure: ${String(this.failure)}`);
    if (this.closed) throw new SaigaError('ServiceUnavailable', `tablet ${this.tabletId} is closed on ${this.serverId}`);
  }

  private requireLeader(): void {
    this.checkUsable();
    // soft.role turns Leader only once the driver processed the election's Ready (and moved the
    // clock past the log); the node may already be leader a moment earlier.
    if (!this.node.isLeader() || this.soft.role !== 'Leader') {
      const lead = this.node.leader();
      throw new SaigaError('NotLeader', `tablet ${this.tabletId}: expected to write on the leader, but ${this.serverId} is a ${this.node.isLeader() ? 'leader still taking office' : this.node.status().role.toLowerCase()}${lead === '' ? ' and knows no leader' : `; the leader is ${lead}`}`, this.leaderDetails());
    }
  }

  /** Writes queued for the next proposeBatch (one Raft append message per follower for all of them). */
  private pending: Waiter[] = [];
  private pendingScheduled = false;
  private readonly proposePendingNow = (): void => this.proposePending();

  /**
   * Queues one entry and resolves with `apply()`'s result once it is committed and applied here.
   * Entries queued in the same event-loop turn are proposed together (proposeBatch): fewer,
   * larger Append messages and Readies under concurrent writers.
   */
  private proposeThenApply<T>(data: Uint8Array, timestamp: HybridTime, apply: () => T): Promise<T> {
    return this.propose(new CallbackWaiter(data, timestamp, apply)) as Promise<T>;
  }

  /** Set by takeResolvers (the Promise executor runs synchronously): no executor closure per write. */
  private takenResolve: (v: unknown) => void = noop;
  private takenReject: (e: unknown) => void = noop;
  private readonly takeResolvers = (resolve: (v: unknown) => void, reject: (e: unknown) => void): void => {
    this.takenResolve = resolve;
    this.takenReject = reject;
  };

  /** Waiters queued so far (their seq). */
  private queuedSeq = 0;

  /** Writes (and other proposals) of this replica not settled yet. */
  writesInFlight(): number {
    return this.pending.length + this.waiters.size;
  }

  /**
   * Resolves once every proposal queued here before the call has settled (applied, failed or
   * timed out: at most opTimeoutMs). Waiters leave `waiters` / `pending` when they settle and
   * enter them in seq order, so the first one left is the oldest unsettled. Polls (1 ms): for
   * flush / close, not for the write path.
   */
  async writesSettled(): Promise<void> {
    const last = this.queuedSeq;
    for (;;) {
      const oldest = this.waiters.size > 0 ? (this.waiters.values().next().value as Waiter).seq : (this.pending[0]?.seq ?? Infinity);
      if (oldest > last) return;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Queues `w` for the next proposeBatch; the promise settles with its apply's result. */
  private propose(w: Waiter): Promise<unknown> {
    const p = new Promise<unknown>(this.takeResolvers);
    w.resolve = this.takenResolve;
    w.reject = this.takenReject;
    w.seq = ++this.queuedSeq;
    this.pending.push(w);
    if (!this.pendingScheduled) {
      this.pendingScheduled = true;
      setImmediate(this.proposePendingNow);
    }
    return p;
  }

  /** Proposes the queued entries in one batch and registers their waiters. */
  private proposePending(): void {
    this.pendingScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let at: { term: number; firstIndex: number };
    try {
      this.checkUsable();
      at = this.driver.withNode(this.tabletId, (n) => n.proposeBatch(batch.map((p) => p.data)));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    const deadlineMs = performance.now() + this.opTimeoutMs;
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i] as Waiter;
      const stale = this.waiters.get(at.firstIndex + i);
      if (stale !== undefined) {
        // An earlier term's proposal at this index was overwritten before it was applied here.
        this.waiters.delete(at.firstIndex + i);
        stale.reject(new SaigaError('NotLeader', `tablet ${this.tabletId}: the write at index ${at.firstIndex + i} was replaced by a newer proposal (term ${at.term})`, this.leaderDetails()));
      }
      w.data = NO_DATA;
      w.term = at.term;
      w.deadlineMs = deadlineMs;
      this.waiters.set(at.firstIndex + i, w);
    }
    if (this.sweepTimer === undefined) this.sweepTimer = setInterval(() => this.sweepWaiters(), Math.max(10, Math.min(1000, this.opTimeoutMs / 4)));
  }

  /** One timer for every write of the replica instead of one each (a timer per write cost CPU on every write). */
  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * Fails the writes whose deadline passed (TimedOut: the outcome is unknown). Waiters enter the
   * map in proposal order with the same timeout, so their deadlines only grow: the sweep stops at
   * the first one still running. The timer stops once no write waits.
   */
  private sweepWaiters(): void {
    const now = performance.now();
    for (const [index, w] of this.waiters) {
      if (w.deadlineMs > now) break;
      this.waiters.delete(index);
      w.reject(new SaigaError('TimedOut', `tablet ${this.tabletId}: the write at index ${index} was not committed within ${this.opTimeoutMs} ms (its outcome is unknown)`, this.leaderDetails()));
    }
    if (this.waiters.size === 0 && this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  /**
   * Writes one op batch, validated once (prepareOps): rows failing validation are left out of
   * the entry (so an op that makes the tablet throw never reaches the log, where every replica
   * would hit it on apply); the prepared form of the rest is applied once the entry commits.
   * Other replicas (and replay) apply the logged ops with applyWrite. Row errors index `ops`.
   * Not async: one promise per write (the waiter's), settled by the apply.
   */
  write(ops: readonly WriteOp[]): Promise<ReplicaWriteResult> {
    try {
      this.requireLeader();
      // Ops are prepared against the schema they are applied with: let a pending ALTER apply first.
      if (this.altersInFlight > 0) return this.writeAfterAlters(ops);
      return this.proposeOps(ops);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async writeAfterAlters(ops: readonly WriteOp[]): Promise<ReplicaWriteResult> {
    await this.altersApplied();
    return this.proposeOps(ops);
  }

  private proposeOps(ops: readonly WriteOp[]): Promise<ReplicaWriteResult> {
    const prepared = this.tablet.prepareOps(ops);
    const timestamp = this.clock.now();
    if (prepared.ops.length === 0) return Promise.resolve({ appliedCount: 0, rowErrors: prepared.rowErrors, timestamp });
    const data = encodeWriteBatch({ timestamp, ops: prepared.ops }, 1);
    data[0] = WAL_KIND.write;
    return this.propose(new OpsWaiter(data, timestamp, this, prepared)) as Promise<ReplicaWriteResult>;
  }

  /** Waits until no ALTER this replica proposed (or queued) is still unapplied. */
  private async altersApplied(): Promise<void> {
    if (this.altersInFlight === 0) return;
    if (this.pending.some((p) => p.timestamp === HT_MIN)) this.proposePending();
    for (const [index, w] of this.waiters) if (w.timestamp === HT_MIN) await this.waitIndexApplied(index);
  }

  async writeBatch(kind: WriteOpKind, batch: arrow.RecordBatch): Promise<ReplicaWriteResult> {
    this.requireLeader();
    // A batch is prepared against the schema it is applied with: let a pending ALTER apply first.
    if (this.altersInFlight > 0) await this.altersApplied();
    return this.writePrepared(this.tablet.prepareBatch(kind, batch));
  }

  async writePrepared(prepared: PreparedBatch): Promise<ReplicaWriteResult> {
    this.requireLeader();
    if (prepared.rowCount === 0) return { appliedCount: 0, rowErrors: prepared.rowErrors, timestamp: this.clock.now() };
    const timestamp = this.clock.now();
    const header = { timestamp, kind: prepared.kind, rowCount: prepared.rowCount };
    // [kind byte][writeBatch payload], as encodeEntryData lays it out. A take for the log built the
    // IPC stream in place (no copy: the MemRowSet keeps views on it); else the IPC bytes are copied once.
    const built = prepared.logEntry;
    let data: Uint8Array;
    if (built !== undefined && built.ipcOffset === WRITE_BATCH_ENTRY_RESERVE_BYTES) {
      data = writeWriteBatchArrowHeader(built.bytes, 1, header);
    } else {
      const ipc = preparedToIpcChunks(this.tablet.schema, prepared);
      data = encodeWriteBatchArrowChunks(header, ipc.chunks, ipc.byteLength, 1);
    }
    data[0] = WAL_KIND.writeBatch;
    const applied = await this.proposeThenApply(data, timestamp, () => this.tablet.applyPrepared(this.currentOpId(), timestamp, prepared));
    const map = prepared.inputIndex;
    const applyErrors = map === undefined ? [...applied.rowErrors] : applied.rowErrors.map((e) => ({ ...e, rowIndex: map[e.rowIndex] as number }));
    const rowErrors = prepared.rowErrors.length === 0 ? applyErrors : [...prepared.rowErrors, ...applyErrors].sort((a, b) => a.rowIndex - b.rowIndex);
    return { appliedCount: applied.appliedCount, rowErrors, timestamp };
  }

  /**
   * Commits a bulk load's staged files (Tablet.beginBulkStage, sealed: durable) with one log
   * entry; resolves once it is applied (the rows visible at the returned timestamp, or inserted
   * through the ordinary path with row errors, see Tablet.commitBulk). Single-voter only.
   */
  async commitBulk(files: readonly string[]): Promise<ReplicaWriteResult> {
    this.requireLeader();
    if (!this.singleVoter) throw new SaigaError('NotSupported', `tablet ${this.tabletId}: a bulk commit needs a single-voter tablet (followers would lack the staged files)`);
    if (this.altersInFlight > 0) await this.altersApplied();
    const timestamp = this.clock.now();
    const data = encodeEntryData('bulkCommit', encodeBulkCommit({ timestamp, files }));
    const applied = await this.proposeThenApply(data, timestamp, () => this.tablet.commitBulk(this.currentOpId(), timestamp, files));
    return { ...applied, timestamp };
  }

  async alterSchema(schema: Schema): Promise<void> {
    this.requireLeader();
    this.proposePending();
    this.altersInFlight++;
    try {
      await this.proposeThenApply(encodeEntryData('alterSchema', encodeSchema(schema)), HT_MIN, () => this.tablet.alterSchema(this.currentOpId(), schema));
    } finally {
      this.altersInFlight--;
    }
  }

  /** alterSchema calls not settled yet (write / writeBatch wait for them before preparing). */
  private altersInFlight = 0;

  /** OpId of the entry being applied (valid inside an apply callback). */
  private applyingOpId = { term: 0, index: 0 };
  private currentOpId(): { term: number; index: number } {
    return this.applyingOpId;
  }

  // ---- reads ---------------------------------------------------------------------------------

  private waitIndexApplied(index: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.appliedWaiters.indexOf(entry);
        if (i >= 0) this.appliedWaiters.splice(i, 1);
        reject(new SaigaError('TimedOut', `tablet ${this.tabletId}: index ${index} not applied on ${this.serverId} within ${this.opTimeoutMs} ms (applied ${this.appliedIndex})`));
      }, this.opTimeoutMs);
      const entry = { index, resolve: () => { clearTimeout(timer); resolve(); } };
      let at = this.appliedWaiters.length;
      while (at > 0 && (this.appliedWaiters[at - 1]?.index ?? 0) > index) at--;
      this.appliedWaiters.splice(at, 0, entry);
    });
  }

  /** A linearizable read point: the commit index confirmed by a quorum (or the leader's lease). */
  private readPoint(): Promise<number> {
    this.checkUsable();
    const ctx = `${this.serverId}/${++this.readSeq}`;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readWaiters.delete(ctx);
        reject(new SaigaError('TimedOut', `tablet ${this.tabletId}: no read point confirmed for ${this.serverId} within ${this.opTimeoutMs} ms`, this.leaderDetails()));
      }, this.opTimeoutMs);
      this.readWaiters.set(ctx, {
        resolve: (index) => {
          clearTimeout(timer);
          resolve(index);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      try {
        this.driver.withNode(this.tabletId, (n) => n.readIndex(ctx));
      } catch (e) {
        clearTimeout(timer);
        this.readWaiters.delete(ctx);
        reject(e);
      }
    });
  }

  /** True when this replica may serve a latest read from local state right now. */
  holdsLease(): boolean {
    // A paused process first lets its groups see the time that passed: a stale lease expires here.
    this.driver.catchUpTicks();
    return this.node.isLeader() && this.node.leaseValid();
  }

  /** Waits until this replica may serve a read in `mode` (see the class comment). */
  async prepareRead(spec: ScanSpec): Promise<void> {
    this.checkUsable();
    const mode = spec.readMode ?? { kind: 'latest' as const };
    if (mode.kind === 'latest' && this.holdsLease()) return;
    const index = await this.readPoint();
    await this.waitIndexApplied(index);
    if (mode.kind === 'snapshot') await this.waitApplied(mode.timestamp);
  }

  /** Scans after prepareRead(); materialized so the read holds no iterator across awaits. */
  async scan(spec: ScanSpec): Promise<arrow.RecordBatch[]> {
    await this.prepareRead(spec);
    return [...this.tablet.scan(spec)];
  }

  /** Resolves once no op of this replica's own proposals with a timestamp <= `ts` is still in flight. */
  async waitApplied(ts: HybridTime): Promise<void> {
    this.proposePending(); // queued writes are in flight too
    for (const [index, w] of this.waiters) if (w.timestamp <= ts) await this.waitIndexApplied(index).catch(() => undefined);
  }

  // ---- status and maintenance ----------------------------------------------------------------

  status(): { role: string; leader: string; term: number; commit: number; applied: number; lastIndex: number; voters: readonly string[] } {
    const s = this.node.status();
    return { role: s.role, leader: s.lead, term: s.term, commit: s.commit, applied: this.appliedIndex, lastIndex: s.lastIndex, voters: s.confState.voters };
  }

  /** Leader and ready to take writes (its election's Ready was processed). */
  isLeader(): boolean {
    return this.node.isLeader() && this.soft.role === 'Leader';
  }

  leader(): ReplicaId {
    return this.node.leader();
  }

  /** Flushes the tablet and drops the log segments it no longer needs. */
  flush(): void {
    this.checkUsable();
    this.tabletNow.flush();
    this.gcLog();
  }

  /**
   * Drops log segments the tablet holds durably (a follower that needs them later gets a tablet
   * copy). The configuration at the new snapshot point is recorded first: the core's current
   * one, valid from the newest configuration change to the core's applied index; a round where
   * the new point would lie outside that range is skipped. Returns the segments deleted.
   */
  gcLog(): number {
    if (this.failure !== undefined || this.closed) return 0;
    const st = this.node.status();
    if (this.lastConfIndex > st.applied) return 0;
    const limit = Math.min(this.tabletNow.durableOpIndex(), st.applied) + 1;
    const at = this.log.gcPoint(limit);
    if (at === undefined || at < this.lastConfIndex) return 0;
    const keep = this.conf.value.ranges.filter((r) => r.from <= this.log.snapshotMarker().index && this.log.snapshotMarker().index <= r.to);
    this.conf.writeSync({ ranges: [...keep.slice(-1), { from: this.lastConfIndex, to: st.applied, confState: st.confState }] });
    return this.log.gc(limit);
  }

  maintain(limits: Limits, now: HybridTime, compact: boolean): boolean {
    if (this.failure !== undefined || this.closed) return false;
    let did = false;
    const s = this.tabletNow.stats();
    const memBytes = s.memRowSetBytes + s.deltaMemStoreBytes, logBytes = this.log.sizeBytes();
    // Also flush when the log grew past two segments only because the MemRowSet anchors it —
    // unless the MemRowSet is over half its limit: then the write path's own memory flush (in
    // the background, for plain inserts) comes soon, and a flush here would write it on this
    // thread in the middle of a bulk load. Past four segments the log is trimmed regardless.
    const anchored = this.tabletNow.durableOpIndex() < this.tabletNow.lastAppliedOpIndex() &&
      (logBytes > 4 * limits.logSegmentBytes || (logBytes > 2 * limits.logSegmentBytes && 2 * memBytes < limits.memRowSetFlushBytes));
    if (memBytes >= limits.memRowSetFlushBytes || anchored) {
      this.tabletNow.flush();
      did = true;
    }
    if (this.gcLog() > 0) did = true;
    if (compact) {
      this.tablet.gcHistory(now);
      did = this.tablet.compact({ budgetBytes: limits.compactionBudgetBytes }) || did;
    }
    return did;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending) p.reject(new SaigaError('ServiceUnavailable', `tablet ${this.tabletId} closed on ${this.serverId} before the write was proposed`));
    this.pending = [];
    await this.driver.removeGroup(this.tabletId);
    for (const [, w] of this.waiters) {
      w.reject(new SaigaError('ServiceUnavailable', `tablet ${this.tabletId} closed on ${this.serverId} before the write was applied`));
    }
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.waiters.clear();
    try {
      await this.log.sync();
    } catch {
      // reported to the writers already
    }
    await this.log.close();
    this.tabletNow.close();
  }
}
