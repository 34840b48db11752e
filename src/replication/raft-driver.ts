import { SaigaError } from '../common/errors.js';
import type { RaftNode } from './raft.js';
import type { Entry, HardState, Message, ReadState, ReplicaId, Snapshot, SoftState } from './types.js';

/**
 * The driver of every Raft group on one tablet server (STYLE.md section 1: the core is pure,
 * the driver owns the timer, the fsync, the network and the apply loop).
 *
 * Per group it loops: ready() -> persist entries + hard state (durably when mustSync) -> queue
 * the messages -> apply committed entries in log order -> deliver read states -> advance().
 * Proposals made while a Ready is being persisted pile up in the core and go out in the next
 * Ready, which is the group commit. Outgoing messages are queued per destination server and
 * flushed once per event-loop turn, so the heartbeats of all groups that share a pair of
 * servers (ticked in the same turn) travel in one batch.
 *
 * Ticks follow a monotonic wall clock: a timer fires every tickMs, and before a lease read the
 * caller runs catchUpTicks(), so a process that was paused (SIGSTOP) first lets its groups see
 * the time that passed (a leader steps down by check-quorum) instead of trusting a stale lease.
 */

/** A Raft message of one group. */
export interface GroupMessage {
  readonly groupId: string;
  readonly message: Message;
}

/** Delivers batches of messages to other tablet servers (replica id = tablet server id). */
export interface Transport {
  /** Sends one batch; resolves when delivered, rejects when the server could not be reached. */
  send(toServer: ReplicaId, batch: readonly GroupMessage[]): Promise<void>;
}

/** Durable storage of a group, written by the driver. */
export interface PersistTarget {
  persist(entries: readonly Entry[], hardState: HardState | undefined, mustSync: boolean): Promise<void>;
}

/** The replicated state machine of a group (a TabletReplica). */
export interface GroupStateMachine {
  /** Installs a snapshot received from the leader (tablet copy), before its entries follow. */
  installSnapshot(snapshot: Snapshot): Promise<void>;
  /**
   * Optional: fetches what installSnapshot will need (the tablet copy) before the InstallSnapshot
   * message from `from` is stepped into the core. Resolves false when it could not (the message is
   * dropped; the leader retries later). Without it the message is stepped directly.
   */
  prepareSnapshot?(snapshot: Snapshot, from: ReplicaId): Promise<boolean>;
  /** Applies committed entries, in log order. Synchronous: nothing else runs in between. */
  applyCommitted(entries: readonly Entry[]): void;
  /** Confirmed read points (ReadIndex answers). */
  readStates(states: readonly ReadState[]): void;
  /** Leader or role changed. */
  softStateChanged(s: SoftState): void;
  /** The driver could not persist or apply: the group is stopped. */
  failed(e: unknown): void;
}

export interface RaftDriverOptions {
  readonly serverId: ReplicaId;
  readonly transport: Transport;
  /** Raft tick length. */
  readonly tickMs: number;
  /** Monotonic milliseconds; defaults to performance.now(). */
  readonly nowMs?: () => number;
  /** Messages in one batch to a server before it is split. */
  readonly batchMessagesMax?: number;
  /**
   * Group-commit hold for lone-voter groups (the embedded server): the longest a persist of new
   * proposals is held back while writers answered by the previous persist are expected to send
   * their next write. 0 or absent = no hold.
   */
  readonly holdMsMax?: number;
}

interface Group {
  readonly id: string;
  readonly node: RaftNode;
  readonly storage: PersistTarget;
  readonly sm: GroupStateMachine;
  running: boolean;
  again: boolean;
  failed: unknown;
  lastSoft: SoftState | undefined;
  /** A snapshot fetch (prepareSnapshot) is running. */
  preparing: boolean;
  /** The current Ready's persist is in flight (its committed entries below the new ones are applied). */
  persisting: boolean;
  /** The next Ready (new proposals only) is held back for more proposals (see tryHold). */
  held: boolean;
  /** Released from a hold: the next Ready goes out without holding again. */
  released: boolean;
}

const BATCH_MESSAGES_MAX_DEFAULT = 4096;

/** Process-wide group-commit hold counters (every RaftDriver): holds started and how they ended. */
export interface RaftHoldStats {
  holds: number;
  /** Enough writers were waiting or being persisted again. */
  releasedByWriters: number;
  /** holdMsMax passed first. */
  releasedByTimer: number;
  /** Wall milliseconds during which a hold ran (the sum over holds of start to end). */
  heldMs: number;
}
const holdCounters: RaftHoldStats = { holds: 0, releasedByWriters: 0, releasedByTimer: 0, heldMs: 0 };

/** Process-wide Ready counters (every RaftDriver): how the work of the groups was batched. */
export interface RaftReadyStats {
  readies: number;
  /** Readies that carried new log entries (one log write each). */
  readiesWithEntries: number;
  /** Readies persisted durably (mustSync: new entries, term or vote). */
  syncedPersists: number;
  entriesPersisted: number;
  messagesQueued: number;
  /** Transport.send calls (one batch per destination server per flush). */
  batchesSent: number;
}
const readyCounters: RaftReadyStats = { readies: 0, readiesWithEntries: 0, syncedPersists: 0, entriesPersisted: 0, messagesQueued: 0, batchesSent: 0 };

/** A copy of the process-wide Ready counters. */
export function raftReadyStats(): RaftReadyStats {
  return { ...readyCounters };
}

/** A copy of the process-wide hold counters. */
export function raftHoldStats(): RaftHoldStats {
  return { ...holdCounters };
}
/** A held Ready is released once this share of the writers seen recently are waiting or being persisted. */
const HOLD_RELEASE_SHARE = 0.75;
/** Per persist, the writer estimate decays by this factor toward the writers seen. */
const HOLD_WRITERS_DECAY = 0.95;
/** Writers not seen for this long are gone: the estimate starts again from the writers seen. */
const HOLD_WRITERS_FORGET_MS = 50;

export class RaftDriver {
  readonly serverId: ReplicaId;
  private readonly groups = new Map<string, Group>();
  private readonly outbox = new Map<ReplicaId, GroupMessage[]>();
  private flushScheduled = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly nowMs: () => number;
  private readonly startMs: number;
  private ticks = 0;
  private readonly batchMessagesMax: number;
  private stopped = false;
  // Group-commit hold (lone-voter groups only; see tryHold).
  private readonly holdMsMax: number;
  private readonly heldGroups = new Set<Group>();
  /** A hold is running (its bound is holdTimer's next firing). */
  private holding = false;
  /** When the running hold started (nowMs). */
  private holdStartMs = 0;
  /**
   * One timer for every hold, re-armed by refresh() when a hold starts (a Timeout per hold was
   * ~1% of the server's CPU under single-row INSERTs). A release by the writers leaves it armed;
   * firing with no hold running does nothing.
   */
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Proposals of lone-voter leaders in persists now in flight. */
  private persistingProposals = 0;
  /** Estimate of the concurrent writers: the peak of proposals waiting or persisting, decaying slowly. */
  private writersEstimate = 0;
  private writersNotedMs = 0;

  constructor(private readonly o: RaftDriverOptions) {
    if (!(o.tickMs > 0)) throw new SaigaError('InvalidArgument', `expected tickMs > 0, found ${o.tickMs}`);
    this.serverId = o.serverId;
    this.nowMs = o.nowMs ?? (() => performance.now());
    this.startMs = this.nowMs();
    this.batchMessagesMax = o.batchMessagesMax ?? BATCH_MESSAGES_MAX_DEFAULT;
    this.holdMsMax = o.holdMsMax ?? 0;
    if (!(this.holdMsMax >= 0)) throw new SaigaError('InvalidArgument', `expected holdMsMax >= 0, found ${o.holdMsMax}`);
  }

  /** The current estimate of concurrent writers of lone-voter groups (the hold's target). */
  writersEstimateNow(): number {
    return this.writersEstimate;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.catchUpTicks(), this.o.tickMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.releaseHeld(false);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /** Ticks every group once per tick length elapsed since the last tick. */
  catchUpTicks(): void {
    const target = Math.floor((this.nowMs() - this.startMs) / this.o.tickMs);
    if (target <= this.ticks) return;
    const n = target - this.ticks;
    this.ticks = target;
    for (const g of this.groups.values()) {
      if (g.failed !== undefined) continue;
      for (let i = 0; i < n; i++) g.node.tick();
      this.schedule(g);
    }
  }

  addGroup(id: string, node: RaftNode, storage: PersistTarget, sm: GroupStateMachine): void {
    if (this.groups.has(id)) throw new SaigaError('AlreadyPresent', `raft group ${id} is already running on ${this.serverId}`);
    const g: Group = { id, node, storage, sm, running: false, again: false, failed: undefined, lastSoft: undefined, preparing: false, persisting: false, held: false, released: false };
    this.groups.set(id, g);
    this.schedule(g);
  }

  /** Stops driving a group; resolves once its current Ready is done. */
  async removeGroup(id: string): Promise<void> {
    const g = this.groups.get(id);
    this.groups.delete(id);
    if (g !== undefined && this.heldGroups.delete(g)) g.held = false;
    while (g !== undefined && g.running) await new Promise((r) => setTimeout(r, 1));
  }

  hasGroup(id: string): boolean {
    return this.groups.has(id);
  }

  /** Steps received messages into their groups (messages of unknown groups are dropped). */
  receive(batch: readonly GroupMessage[]): void {
    const touched = new Set<Group>();
    for (const gm of batch) {
      const g = this.groups.get(gm.groupId);
      if (g === undefined || g.failed !== undefined || gm.message.to !== this.serverId) continue;
      if (gm.message.type === 'InstallSnapshot' && g.sm.prepareSnapshot !== undefined) {
        this.prepareThenStep(g, gm.message);
        continue;
      }
      g.node.step(gm.message);
      touched.add(g);
    }
    for (const g of touched) {
      // A commit learned while the group's Ready is being persisted is applied now, not after that fsync.
      if (g.persisting) this.applyDurableCommitted(g);
      this.schedule(g);
    }
  }

  /** Applies committed entries that are durable here while the group's persist is in flight. */
  private applyDurableCommitted(g: Group): void {
    if (g.failed !== undefined || this.groups.get(g.id) !== g) return;
    try {
      const ents = g.node.takeDurableCommitted();
      if (ents.length > 0) g.sm.applyCommitted(ents);
    } catch (e) {
      g.failed = e;
      g.sm.failed(e);
    }
  }

  /** Fetches a snapshot's data first (one fetch per group at a time), then steps the message. */
  private prepareThenStep(g: Group, m: Message): void {
    const snap = m.snapshot;
    if (g.preparing || snap === undefined || g.sm.prepareSnapshot === undefined) return;
    g.preparing = true;
    g.sm.prepareSnapshot(snap, m.from).then((ok) => {
      g.preparing = false;
      if (!ok || g.failed !== undefined || this.groups.get(g.id) !== g) return;
      g.node.step(m);
      this.schedule(g);
    }, (e: unknown) => {
      g.preparing = false;
      process.stderr.write(`raft group ${g.id} on ${this.serverId}: snapshot from ${m.from} not fetched: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  }

  /** Runs `f` on the group's node (propose, readIndex, ...) and schedules its Ready. */
  withNode<T>(groupId: string, f: (node: RaftNode) => T): T {
    const g = this.groups.get(groupId);
    if (g === undefined) throw new SaigaError('NotFound', `raft group ${groupId} is not running on ${this.serverId}`);
    if (g.failed !== undefined) throw new SaigaError('IOError', `raft group ${groupId} stopped after a failure: ${String(g.failed)}`);
    const out = f(g.node);
    this.schedule(g);
    return out;
  }

  private schedule(g: Group): void {
    if (g.running) {
      g.again = true;
      return;
    }
    g.running = true;
    // Deferred one turn so proposals and messages arriving together share one Ready.
    setImmediate(() => void this.run(g));
  }

  private async run(g: Group): Promise<void> {
    try {
      do {
        g.again = false;
        while (g.failed === undefined && this.groups.get(g.id) === g && g.node.hasReady()) {
          if (this.holdMsMax > 0 && this.tryHold(g)) break;
          const rd = g.node.ready();
          readyCounters.readies++;
          if (rd.entries.length > 0) {
            readyCounters.readiesWithEntries++;
            readyCounters.entriesPersisted += rd.entries.length;
          }
          if (rd.mustSync) readyCounters.syncedPersists++;
          if (rd.snapshot !== undefined) await g.sm.installSnapshot(rd.snapshot);
          if (g.lastSoft === undefined || g.lastSoft.lead !== rd.softState.lead || g.lastSoft.role !== rd.softState.role) {
            g.lastSoft = rd.softState;
            g.sm.softStateChanged(rd.softState);
          }
          // A leader's Appends (and heartbeats) may leave before its own entries are durable: the
          // core counts the leader's entries only after advance() (Raft thesis 10.2.1), so the
          // followers' fsyncs overlap the leader's. Everything else (votes, acknowledgements)
          // waits for the persist.
          let later: readonly Message[] = rd.messages;
          if (rd.messages.length > 0 && rd.entries.length > 0) {
            const early: Message[] = [];
            const rest: Message[] = [];
            for (const m of rd.messages) (m.type === 'Append' || m.type === 'Heartbeat' ? early : rest).push(m);
            if (early.length > 0) this.queue(g.id, early);
            later = rest;
          }
          // The write and fsync start now; committed entries below this Ready's new entries are
          // durable here already (earlier Readies were persisted before their advance), so they
          // are applied while the new ones fsync: a commit is not held behind the next batch's
          // fsync, and applying does not delay that fsync (nor, on a leader, its Appends).
          // Proposals of a lone leader count toward the writer estimate of the hold (tryHold).
          const proposals = this.holdMsMax > 0 && rd.entries.length > 0 && rd.softState.role === 'Leader' && this.loneLeader(g) ? rd.entries.length : 0;
          this.persistingProposals += proposals;
          const persisted = g.storage.persist(rd.entries, rd.hardState, rd.mustSync);
          persisted.catch(() => undefined); // awaited below; an apply failure in between must not leave it unhandled
          const firstNew = rd.entries[0]?.index ?? Infinity;
          let split = 0;
          while (split < rd.committedEntries.length && (rd.committedEntries[split] as Entry).index < firstNew) split++;
          if (split > 0) g.sm.applyCommitted(split === rd.committedEntries.length ? rd.committedEntries : rd.committedEntries.slice(0, split));
          g.persisting = split === rd.committedEntries.length;
          try {
            await persisted;
          } finally {
            g.persisting = false;
            if (proposals > 0) {
              // Writers seen: being persisted, held, and proposed here since this Ready was taken.
              const newer = g.node.lastIndex() - ((rd.entries[rd.entries.length - 1] as Entry).index);
              this.noteWriters(this.persistingProposals + this.heldProposals() + Math.max(0, newer));
              this.persistingProposals -= proposals;
            }
          }
          if (g.failed !== undefined) break;
          if (later.length > 0) this.queue(g.id, later);
          if (split < rd.committedEntries.length) g.sm.applyCommitted(rd.committedEntries.slice(split));
          if (rd.readStates.length > 0) g.sm.readStates(rd.readStates);
          g.node.advance(rd);
        }
      } while (g.again && g.failed === undefined);
    } catch (e) {
      g.failed = e;
      g.sm.failed(e);
    } finally {
      g.running = false;
    }
  }

  private loneLeader(g: Group): boolean {
    const cs = g.node.confState();
    return cs.voters.length === 1 && cs.voters[0] === this.serverId && cs.learners.length === 0;
  }

  private heldProposals(): number {
    let n = 0;
    for (const h of this.heldGroups) n += h.node.holdableProposals();
    return n;
  }

  private noteWriters(seen: number): void {
    const now = this.nowMs();
    const prev = now - this.writersNotedMs > HOLD_WRITERS_FORGET_MS ? 0 : this.writersEstimate * HOLD_WRITERS_DECAY;
    this.writersEstimate = Math.max(seen, prev);
    this.writersNotedMs = now;
  }

  /**
   * Group commit across event-loop turns for lone-voter leaders (the embedded server). Without a
   * hold, a persist starts as soon as the previous one returns, carrying only the writes that
   * arrived during it; the writers it just answered send their next write during the new persist
   * and wait for the one after (two persists per write). Instead, the committed entries are applied
   * now (the writers are answered; a hold never delays an answer) and the new proposals wait
   * until about as many writers as were seen recently are waiting or being persisted again, or
   * holdMsMax passed. True when the group is now held (its run stops; a new proposal, the release
   * or the timer schedules it again).
   */
  private tryHold(g: Group): boolean {
    if (g.released) {
      g.released = false;
      return false;
    }
    if (g.held) {
      g.held = false;
      this.heldGroups.delete(g);
    }
    const waiting = g.node.holdableProposals();
    if (waiting === 0) return false;
    if (this.nowMs() - this.writersNotedMs > HOLD_WRITERS_FORGET_MS) this.writersEstimate = 0;
    if (this.persistingProposals + this.heldProposals() + waiting >= HOLD_RELEASE_SHARE * this.writersEstimate) {
      // The hold (if one is running) ends for every group: each held one is scheduled.
      if (this.holding) {
        holdCounters.releasedByWriters++;
        this.releaseHeld(true);
      }
      return false;
    }
    const ents = g.node.takeDurableCommitted();
    if (ents.length > 0) g.sm.applyCommitted(ents);
    // A configuration change still to apply, or anything else the apply produced, goes out now.
    if (g.node.holdableProposals() === 0 || g.node.hasCommittedToApply()) return false;
    g.held = true;
    this.heldGroups.add(g);
    if (!this.holding) {
      holdCounters.holds++;
      this.holding = true;
      this.holdStartMs = this.nowMs();
      if (this.holdTimer === undefined) this.holdTimer = setTimeout(() => this.holdExpired(), this.holdMsMax);
      else this.holdTimer.refresh();
    }
    return true;
  }

  /** holdMsMax after the start of the running hold, if one still runs: it ends. */
  private holdExpired(): void {
    if (!this.holding) return;
    if (this.heldGroups.size > 0) {
      holdCounters.releasedByTimer++;
      // The writers that did not come back within the bound are not counted on for the next hold.
      this.writersEstimate = Math.min(this.writersEstimate, this.persistingProposals + this.heldProposals());
    }
    this.releaseHeld(true);
  }

  /** Ends every hold; with `run`, the held groups are scheduled. */
  private releaseHeld(run: boolean): void {
    if (this.holding) holdCounters.heldMs += this.nowMs() - this.holdStartMs;
    this.holding = false;
    const held = [...this.heldGroups];
    this.heldGroups.clear();
    for (const h of held) {
      h.held = false;
      if (!run) continue;
      h.released = true;
      this.schedule(h);
    }
  }

  private queue(groupId: string, msgs: readonly Message[]): void {
    readyCounters.messagesQueued += msgs.length;
    for (const m of msgs) {
      let q = this.outbox.get(m.to);
      if (q === undefined) this.outbox.set(m.to, (q = []));
      q.push({ groupId, message: m });
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) {
      this.outbox.clear();
      return;
    }
    for (const [to, msgs] of this.outbox) {
      for (let at = 0; at < msgs.length; at += this.batchMessagesMax) {
        const batch = msgs.slice(at, at + this.batchMessagesMax);
        readyCounters.batchesSent++;
        this.o.transport.send(to, batch).catch(() => this.unreachable(to, batch));
      }
    }
    this.outbox.clear();
  }

  private unreachable(to: ReplicaId, batch: readonly GroupMessage[]): void {
    const seen = new Set<string>();
    for (const gm of batch) {
      if (seen.has(gm.groupId)) continue;
      seen.add(gm.groupId);
      const g = this.groups.get(gm.groupId);
      if (g === undefined || g.failed !== undefined) continue;
      g.node.reportUnreachable(to);
      if (gm.message.type === 'InstallSnapshot') g.node.reportSnapshot(to, false);
      this.schedule(g);
    }
  }
}
