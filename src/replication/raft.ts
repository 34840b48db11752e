import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { applyConfChangeTo, decodeConfChange, encodeConfChange } from './conf-change.js';
import { raftConfig } from './config.js';
import type { RaftConfig, RaftOptions } from './config.js';
import { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import type {
  ConfChange, ConfState, Entry, EntryType, HardState, Message, MessageInit, RaftRole, ReadState, Ready,
  ReplicaId, Snapshot, SoftState,
} from './types.js';
import { NO_REPLICA, entrySizeBytes, hardStateEqual, makeMessage } from './types.js';

type CampaignType = 'PreElection' | 'Election' | 'Transfer';

/**
 * A commit that covers at least this many entry bytes is sent to the followers at once
 * (commit-only Appends) rather than on the next Append: applying that much is real work, best
 * done before the next round's entries arrive. Smaller commits ride on the next Append.
 */
const COMMIT_BCAST_BYTES = 16 * 1024;

interface PendingRead {
  readonly requestCtx: string;
  /** The replica that asked: this leader, or a follower that forwarded a ReadIndex. */
  readonly from: ReplicaId;
  readonly index: number;
  readonly seq: number;
}

interface WaitingRead {
  readonly requestCtx: string;
  readonly from: ReplicaId;
}

export interface RaftStatus {
  readonly id: ReplicaId;
  readonly role: RaftRole;
  readonly term: number;
  readonly vote: ReplicaId;
  readonly lead: ReplicaId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: ReplicaId;
  readonly progress: ReadonlyMap<ReplicaId, { match: number; next: number; state: string }>;
}

/**
 * One replica's Raft state machine, in the style of etcd's raft + RawNode: synchronous and
 * deterministic. Inputs: tick(), step(msg), propose(), proposeConfChange(), readIndex(),
 * transferLeadership(), campaign(). Output: ready() -> persist, send, apply -> advance(ready).
 * No timers, no I/O: the driver owns those (see README.md).
 */
export class RaftNode {
  readonly id: ReplicaId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;

  private term = 0;
  private vote: ReplicaId = NO_REPLICA;
  private role: RaftRole = 'Follower';
  private lead: ReplicaId = NO_REPLICA;

  private voters = new Set<ReplicaId>();
  private learners = new Set<ReplicaId>();
  private readonly progress = new Map<ReplicaId, Progress>();
  private readonly votes = new Map<ReplicaId, boolean>();

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];

  /** Logical clock: ticks since this instance started. */
  private now = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private leadTransferee: ReplicaId = NO_REPLICA;
  /** Set once this leader sent TimeoutNow in its term: a delayed TimeoutNow can still elect someone, so no more lease reads. */
  private leaseRevoked = false;
  private pendingConfIndex = 0;
  /** Index of the entry (or snapshot) the current configuration comes from. */
  private confIndex = 0;
  private uncommittedBytes = 0;

  private heartbeatSeq = 0;
  private readonly seqSentTick = new Map<number, number>();
  private pendingReads: PendingRead[] = [];
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private readsBeforeCommit: WaitingRead[] = [];

  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined = undefined;
  /** Last index handed out by takeDurableCommitted() while `outstanding` was set (marked applied in advance()). */
  private takenTo = 0;

  constructor(options: RaftOptions) {
    this.cfg = raftConfig(options);
    this.id = this.cfg.id;
    this.log = new RaftLog(this.cfg.storage);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.setConf(confState);
    this.confIndex = this.cfg.storage.firstIndex() - 1;
    if (hardState.term !== 0 || hardState.commit !== 0) {
      assert(hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        () => `expected stored commit ${hardState.commit} in [${this.log.committed}, ${this.log.lastIndex()}]`);
      this.log.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (this.cfg.applied > this.log.committed) {
      // A commit-only hard state may be written without fsync (Ready.mustSync false) and lost,
      // while the state machine durably holds more: what it applied was committed.
      assert(this.cfg.applied <= this.log.lastIndex(),
        () => `expected applied ${this.cfg.applied} <= last log index ${this.log.lastIndex()}`);
      this.log.committed = this.cfg.applied;
    }
    if (this.cfg.applied > 0) this.log.appliedTo(Math.max(this.cfg.applied, this.log.applied));
    this.becomeFollower(this.term, NO_REPLICA);
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
  }

  // ---- inputs ------------------------------------------------------------------------------

  tick(): void {
    this.now++;
    if (this.role === 'Leader') this.tickLeader();
    else this.tickElection();
  }

  /** Starts an election now (as if the election timeout had fired). */
  campaign(): void {
    this.hup(this.cfg.preVote ? 'PreElection' : 'Election');
  }

  /** Appends `data` as a Normal entry; only on the leader. Returns where it went in the log. */
  propose(data: Uint8Array): { term: number; index: number } {
    return this.appendProposal('Normal', data);
  }

  /**
   * Appends several Normal entries at once (one broadcast): what a driver's group commit uses.
   * All or nothing; empty `datas` is rejected.
   */
  proposeBatch(datas: readonly Uint8Array[]): { term: number; firstIndex: number; lastIndex: number } {
    if (datas.length === 0) throw new SaigaError('InvalidArgument', 'expected at least one entry to propose, found none');
    return this.appendProposals('Normal', datas);
  }

  /** Proposes a one-server membership change; one at a time, applied when committed. */
  proposeConfChange(cc: ConfChange): { term: number; index: number } {
    this.requireLeader();
    if (this.pendingConfIndex > this.log.applied) {
      throw new SaigaError('IllegalState', `expected no pending configuration change, found one at index ${this.pendingConfIndex} (applied ${this.log.applied})`);
    }
    const next = applyConfChangeTo(this.confState(), cc);
    if (typeof next === 'string') throw new SaigaError('InvalidArgument', `invalid configuration change ${cc.type} ${cc.replica}: ${next}`);
    const at = this.appendProposal('ConfChange', encodeConfChange(cc));
    this.pendingConfIndex = at.index;
    return at;
  }

  /**
   * Asks for a linearizable read point. The answer arrives as a ReadState with the same
   * requestCtx in a later Ready (after a heartbeat round, or at once under a valid lease).
   * On a follower the request is forwarded to the leader it knows (NotLeader if none); if the
   * leader changes or a message is lost, no answer comes: callers time out and retry.
   */
  readIndex(requestCtx: string): void {
    if (this.role !== 'Leader') {
      if (this.lead === NO_REPLICA || this.role !== 'Follower') this.requireLeader();
      this.send({ type: 'ReadIndex', to: this.lead, term: this.term, context: requestCtx });
      return;
    }
    this.checkReadsBound();
    this.leaderRead(requestCtx, this.id);
  }

  /** Hands leadership to `to` once its log is caught up (TimeoutNow). */
  transferLeadership(to: ReplicaId): void {
    this.requireLeader();
    if (!this.voters.has(to)) throw new SaigaError('InvalidArgument', `expected a voter to transfer leadership to, found '${to}'`);
    if (to === this.id) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer must finish within an election timeout
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  /** The driver could not deliver to `to`: stop streaming to it until it answers again. */
  reportUnreachable(to: ReplicaId): void {
    const pr = this.progress.get(to);
    if (this.role === 'Leader' && pr !== undefined && pr.state === 'Replicate') pr.becomeProbe();
  }

  /** The outcome of sending a snapshot to `to`. */
  reportSnapshot(to: ReplicaId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== 'Leader' || pr === undefined || pr.state !== 'Snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true; // wait for the follower's answer (or a heartbeat) before probing again
  }

  step(m: Message): void {
    assert(m.to === this.id, () => `expected a message to ${this.id}, found one to ${m.to}`);
    if (m.term > this.term) {
      if (m.type === 'RequestVote' || m.type === 'RequestPreVote') {
        const inLease = this.cfg.checkQuorum &&
          ((this.lead !== NO_REPLICA && this.electionElapsed < this.cfg.electionTicks) || this.now < this.cfg.electionTicks);
        if (!m.force && inLease) return; // a leader we heard from recently (or may have promised to) still holds
      }
      if (m.type === 'RequestPreVote' || (m.type === 'RequestPreVoteResponse' && !m.reject)) {
        // Pre-votes never change terms; a granted pre-vote response carries the future term.
      } else if (m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NO_REPLICA);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'Append' || m.type === 'Heartbeat')) {
        // Tell a stale leader (e.g. one cut off by a partition) about the new term so it steps down.
        this.send({ type: 'AppendResponse', to: m.from, term: this.term });
      } else if (m.type === 'RequestPreVote') {
        this.send({ type: 'RequestPreVoteResponse', to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'RequestVote' || m.type === 'RequestPreVote') {
      const canVote = this.vote === m.from ||
        (this.vote === NO_REPLICA && this.lead === NO_REPLICA) ||
        (m.type === 'RequestPreVote' && m.term > this.term);
      const respType = m.type === 'RequestVote' ? 'RequestVoteResponse' : 'RequestPreVoteResponse';
      if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
        this.send({ type: respType, to: m.from, term: m.term });
        if (m.type === 'RequestVote') {
          this.electionElapsed = 0;
          this.vote = m.from;
        }
      } else {
        this.send({ type: respType, to: m.from, term: this.term, reject: true });
      }
      return;
    }
    switch (this.role) {
      case 'Leader': this.stepLeader(m); break;
      case 'Candidate':
      case 'PreCandidate': this.stepCandidate(m); break;
      case 'Follower': this.stepFollower(m); break;
    }
  }

  // ---- outputs -----------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const soft = this.softState();
    return soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role ||
      !hardStateEqual(this.hardState(), this.prevHard) ||
      this.log.unstable.entries.length > 0 || this.log.unstable.snapshot !== undefined ||
      this.log.hasNextCommittedEntries() || this.msgs.length > 0 || this.readStates.length > 0;
  }

  /** Collects the work for the driver. Call advance(ready) before the next ready(). */
  ready(): Ready {
    assert(this.outstanding === undefined, 'expected advance() of the previous Ready before ready()');
    const hard = this.hardState();
    const entries = this.log.unstable.entries.slice();
    const rd: Ready = {
      softState: this.softState(),
      hardState: hardStateEqual(hard, this.prevHard) ? undefined : hard,
      mustSync: entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
      entries,
      snapshot: this.log.unstable.snapshot,
      committedEntries: this.log.nextCommittedEntries(this.cfg.committedEntriesBytesMax),
      messages: this.msgs,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /** The driver persisted, sent and applied `rd`: mark entries stable and applied, apply configuration changes. */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'expected advance() with the Ready last returned by ready()');
    this.outstanding = undefined;
    this.prevSoft = rd.softState;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      this.log.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > this.log.applied) this.log.appliedTo(rd.snapshot.metadata.index);
    }
    const lastNew = rd.entries[rd.entries.length - 1];
    if (lastNew !== undefined) {
      this.log.stableTo(lastNew.index, lastNew.term);
      // Own entries are durable now: they count for the leader (followers learn the new commit
      // with the next Append or heartbeat).
      if (this.role === 'Leader' && lastNew.term === this.term && this.progress.get(this.id)?.maybeUpdate(lastNew.index) === true && this.maybeCommit()) {
        // Big entries committed by this persist: the followers learn it at once (see stepLeader).
        let bytes = 0;
        for (const e of rd.entries) bytes += entrySizeBytes(e);
        if (bytes >= COMMIT_BCAST_BYTES) this.bcastAppend();
      }
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.log.applied) continue; // covered by a snapshot installed meanwhile
      this.log.appliedTo(e.index);
      // A snapshot installed since this Ready was made already contains the change.
      if (e.type === 'ConfChange' && e.index > this.confIndex) {
        this.confIndex = e.index;
        this.applyConfChange(decodeConfChange(e.data));
      }
      if (this.role === 'Leader') this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entrySizeBytes(e));
    }
    if (this.takenTo > this.log.applied) this.log.appliedTo(this.takenTo);
    this.takenTo = 0;
  }

  /**
   * Committed entries the driver may apply now, while the outstanding Ready is still being
   * persisted (a commit learned meanwhile is not held behind that fsync): the ones after
   * everything handed out so far (by ready() or this), below the first entry not yet persisted
   * (so durable here), stopping before a configuration change (left to ready() / advance()).
   * The driver must already have applied the outstanding Ready's committed entries below its
   * new entries. Taken entries count as applied: at once without an outstanding Ready, else in
   * advance(). Empty while a snapshot is pending.
   */
  takeDurableCommitted(): Entry[] {
    const rd = this.outstanding;
    if (rd?.snapshot !== undefined || this.log.unstable.snapshot !== undefined) return [];
    const handedOut = Math.max(this.log.applied, rd?.committedEntries[rd.committedEntries.length - 1]?.index ?? 0, this.takenTo);
    const durableTo = Math.min(this.log.committed, this.log.unstable.offset - 1);
    if (durableTo <= handedOut) return [];
    const ents = this.log.slice(handedOut + 1, durableTo + 1, this.cfg.committedEntriesBytesMax);
    assert(ents !== undefined, () => `expected committed entries from ${handedOut + 1} to be available`);
    let n = 0;
    while (n < ents.length && (ents[n] as Entry).type !== 'ConfChange') n++;
    const out = n === ents.length ? ents : ents.slice(0, n);
    const last = out[out.length - 1];
    if (last === undefined) return out;
    if (this.role === 'Leader') for (const e of out) this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entrySizeBytes(e));
    if (rd === undefined) this.log.appliedTo(last.index);
    else this.takenTo = last.index;
    return out;
  }

  /**
   * The number of proposals a lone leader (the only voter, no learners) appended and has not yet
   * handed out in a Ready, when the next Ready would carry nothing else a driver must not delay:
   * no role, term or vote change, no message, read state or snapshot, no transfer. Committed
   * entries may be pending: the driver takes them first (takeDurableCommitted()). 0 otherwise.
   * A driver may hold such a Ready briefly so that more proposals share one persist.
   */
  holdableProposals(): number {
    if (this.outstanding !== undefined || this.role !== 'Leader' || this.voters.size !== 1 || !this.voters.has(this.id) || this.learners.size !== 0) return 0;
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.log.unstable.snapshot !== undefined || this.leadTransferee !== NO_REPLICA) return 0;
    if (this.term !== this.prevHard.term || this.vote !== this.prevHard.vote || this.lead !== this.prevSoft.lead || this.role !== this.prevSoft.role) return 0;
    return this.log.unstable.entries.length;
  }

  /** Committed entries not yet handed out (by ready() or takeDurableCommitted()). */
  hasCommittedToApply(): boolean {
    return this.log.hasNextCommittedEntries();
  }

  // ---- queries -----------------------------------------------------------------------------

  isLeader(): boolean {
    return this.role === 'Leader';
  }

  leader(): ReplicaId {
    return this.lead;
  }

  currentTerm(): number {
    return this.term;
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  /**
   * True while this leader may answer reads locally: a quorum acknowledged a heartbeat round
   * sent less than leaseTicks ago, it committed an entry of its term, and no transfer is under way.
   */
  leaseValid(): boolean {
    // Without check-quorum, voters do not hold back for a live leader, so there is no lease.
    if (!this.cfg.checkQuorum || this.role !== 'Leader' || this.leaseRevoked || this.leadTransferee !== NO_REPLICA) return false;
    if (!this.committedEntryInCurrentTerm()) return false;
    if (this.voters.size === 1 && this.voters.has(this.id)) return true;
    const sent = this.seqSentTick.get(this.quorumAckedSeq());
    return sent !== undefined && this.now < sent + this.cfg.leaseTicks;
  }

  status(): RaftStatus {
    const progress = new Map<ReplicaId, { match: number; next: number; state: string }>();
    for (const [id, pr] of this.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    return {
      id: this.id, role: this.role, term: this.term, vote: this.vote, lead: this.lead,
      commit: this.log.committed, applied: this.log.applied, lastIndex: this.log.lastIndex(),
      confState: this.confState(), leadTransferee: this.leadTransferee, progress,
    };
  }

  /** Entries [lo, hi) of this replica's log (for checks and tests); undefined if compacted. */
  logEntries(lo: number, hi: number): Entry[] | undefined {
    return this.log.slice(lo, hi, Number.MAX_SAFE_INTEGER);
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  // ---- roles -------------------------------------------------------------------------------

  private softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NO_REPLICA;
    }
    this.lead = NO_REPLICA;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random.intBelow(this.cfg.electionTicks);
    this.leadTransferee = NO_REPLICA;
    this.leaseRevoked = false;
    this.votes.clear();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.pendingReads = [];
    this.readsBeforeCommit = [];
    this.seqSentTick.clear();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(last + 1, pr.isLearner, this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax);
      if (id === this.id) fresh.match = last;
      this.progress.set(id, fresh);
    }
  }

  private becomeFollower(term: number, lead: ReplicaId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'Follower';
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'Leader', 'expected a non-leader to become pre-candidate');
    this.votes.clear();
    this.lead = NO_REPLICA;
    this.role = 'PreCandidate';
  }

  private becomeCandidate(): void {
    assert(this.role !== 'Leader', 'expected a non-leader to become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'Candidate';
  }

  private becomeLeader(): void {
    assert(this.role === 'Candidate', () => `expected a candidate to become leader, found ${this.role}`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'Leader';
    this.progress.get(this.id)?.becomeReplicate();
    this.appendEntries([{ term: this.term, index: this.log.lastIndex() + 1, type: 'Normal', data: new Uint8Array(0) }]);
    // No conf change until this term's no-op is applied: a leader must commit an entry of its
    // term before changing membership, or one-step changes can lose committed entries.
    this.pendingConfIndex = this.log.lastIndex();
  }

  private promotable(): boolean {
    return this.voters.has(this.id);
  }

  private hup(t: CampaignType): void {
    if (this.role === 'Leader' || !this.promotable()) return;
    // Configuration changes committed but not applied would change who may vote: apply first.
    const pending = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER);
    if (pending !== undefined && pending.some((e) => e.type === 'ConfChange')) return;
    this.startCampaign(t);
  }

  private startCampaign(t: CampaignType): void {
    let term: number;
    let type: 'RequestVote' | 'RequestPreVote';
    if (t === 'PreElection') {
      this.becomePreCandidate();
      type = 'RequestPreVote';
      term = this.term + 1; // the term we would campaign in; our own term stays
    } else {
      this.becomeCandidate();
      type = 'RequestVote';
      term = this.term;
    }
    if (this.poll(this.id, true) === 'Won') {
      if (t === 'PreElection') this.startCampaign('Election');
      else this.becomeLeader();
      return;
    }
    for (const id of [...this.voters].sort()) {
      if (id === this.id) continue;
      this.send({ type, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), force: t === 'Transfer' });
    }
  }

  private poll(id: ReplicaId, granted: boolean): 'Won' | 'Lost' | 'Pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.voters) {
      const g = this.votes.get(v);
      if (g === true) yes++;
      else if (g === false) no++;
    }
    const q = this.quorum();
    if (yes >= q) return 'Won';
    if (this.voters.size - no < q) return 'Lost';
    return 'Pending';
  }

  private quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  // ---- ticks -------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.state !== 'Snapshot') continue;
      // An InstallSnapshot (or its answer) may be lost without anyone telling us: retry after a while.
      if (++pr.snapshotTicks >= 2 * this.cfg.electionTicks) {
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
      }
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NO_REPLICA);
        return;
      }
      if (this.leadTransferee !== NO_REPLICA) this.leadTransferee = NO_REPLICA; // transfer timed out
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
    this.sendPendingCommits();
  }

  /**
   * Commit-only Appends to the followers that have not been sent the current commit index (the
   * commit moved without new entries to carry it): once per tick, so followers apply (and serve
   * follower reads) at most a tick later when the leader is idle.
   */
  private sendPendingCommits(): void {
    const committed = this.log.committed;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.commitSent >= committed || pr.state !== 'Replicate' || pr.match < committed) continue;
      this.maybeSendAppend(id, true);
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.id) {
        if (this.voters.has(id)) active++;
        continue;
      }
      if (pr.recentActive && this.voters.has(id)) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  // ---- message handling --------------------------------------------------------------------

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return; // not (or no longer) a member
    switch (m.type) {
      case 'AppendResponse': {
        pr.recentActive = true;
        if (m.reject) {
          let nextProbe = m.rejectHint;
          if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === 'Replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const wasPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) return;
        let ackedBytes = 0;
        if (pr.state === 'Probe') pr.becomeReplicate();
        else if (pr.state === 'Snapshot' && pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'Replicate') {
          const inflightBefore = pr.inflights.sizeBytes();
          pr.inflights.freeLE(m.index);
          ackedBytes = inflightBefore - pr.inflights.sizeBytes();
        }
        // A commit that moved rides on the next Append to each follower (new entries, or the next
        // tick: see sendPendingCommits) instead of a commit-only Append to all at once, which
        // roughly doubled the messages (and the followers' answers) per write under load.
        // It goes out at once for a configuration change (or this term's no-op) — the followers
        // must apply it promptly (a removed leader stops ticking as leader) — and for big entries
        // (about COMMIT_BCAST_BYTES acknowledged by this answer): followers then apply them
        // while idle instead of in front of their answer to the next Append.
        const commitBefore = this.log.committed;
        let sent = false;
        if (this.maybeCommit()) {
          if ((this.pendingConfIndex > commitBefore && this.pendingConfIndex <= this.log.committed) || ackedBytes >= COMMIT_BCAST_BYTES) {
            this.bcastAppend();
            sent = true;
          } else {
            for (const id of this.progress.keys()) if (id !== this.id && id !== m.from) this.maybeSendAppend(id, false);
          }
        }
        if (wasPaused && !sent) this.sendAppend(m.from);
        while (this.maybeSendAppend(m.from, false)) { /* fill the in-flight window */ }
        if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
        return;
      }
      case 'HeartbeatResponse': {
        pr.recentActive = true;
        if (m.reject) {
          if (m.rejectHint < pr.match) pr.resetAfterLogLoss(m.rejectHint);
          this.sendAppend(m.from);
          return;
        }
        pr.probeSent = false;
        if (pr.state === 'Replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.seq > pr.ackedSeq) {
          pr.ackedSeq = m.seq;
          this.releaseReads();
        }
        return;
      }
      case 'ReadIndex':
        if (!this.readsFull()) this.leaderRead(m.context, m.from); // else dropped: the asker times out
        return;
      case 'ReadIndexResponse':
        return;
      case 'Append': case 'Heartbeat': case 'InstallSnapshot':
        // Same term, another leader: election safety is broken.
        assert(false, () => `replica ${this.id} is leader of term ${this.term} and got ${m.type} from ${m.from} in the same term`);
        return;
      case 'RequestVoteResponse': case 'RequestPreVoteResponse': case 'TimeoutNow':
      case 'RequestVote': case 'RequestPreVote':
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'Append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'Heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'InstallSnapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'RequestVoteResponse':
      case 'RequestPreVoteResponse': {
        const mine = this.role === 'PreCandidate' ? 'RequestPreVoteResponse' : 'RequestVoteResponse';
        if (m.type !== mine) return;
        const r = this.poll(m.from, !m.reject);
        if (r === 'Won') {
          if (this.role === 'PreCandidate') this.startCampaign('Election');
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (r === 'Lost') {
          this.becomeFollower(this.term, NO_REPLICA);
        }
        return;
      }
      case 'AppendResponse': case 'HeartbeatResponse': case 'TimeoutNow': case 'RequestVote': case 'RequestPreVote':
      case 'ReadIndex': case 'ReadIndexResponse':
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'Append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'Heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'InstallSnapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'TimeoutNow':
        // Campaign at once, skipping pre-vote, and ask voters to ignore the old leader's lease.
        if (this.promotable()) this.hup('Transfer');
        return;
      case 'ReadIndexResponse':
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return;
      case 'ReadIndex': // not forwarded further: the asker's leader hint is stale, it will time out and retry
      case 'AppendResponse': case 'HeartbeatResponse': case 'RequestVoteResponse': case 'RequestPreVoteResponse':
      case 'RequestVote': case 'RequestPreVote':
        return;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'AppendResponse', to: m.from, term: this.term, index: this.log.committed });
      return;
    }
    for (const e of m.entries) assert(e.term <= m.term, () => `expected entry terms <= message term ${m.term}, found ${e.term}`);
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send({ type: 'AppendResponse', to: m.from, term: this.term, index: last });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: 'AppendResponse', to: m.from, term: this.term, index: m.index, reject: true,
      rejectHint: hint, logTerm: this.log.term(hint) ?? 0,
    });
  }

  private handleHeartbeat(m: Message): void {
    if (m.commit > this.log.lastIndex()) {
      // The leader counts entries this replica no longer has: its log was lost (a wiped replica
      // that came back empty). Say where the log really ends instead of committing past it.
      this.send({ type: 'HeartbeatResponse', to: m.from, term: this.term, reject: true, rejectHint: this.log.lastIndex() });
      return;
    }
    this.log.commitTo(m.commit);
    this.send({ type: 'HeartbeatResponse', to: m.from, term: this.term, seq: m.seq });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    assert(s !== undefined, 'expected InstallSnapshot to carry a snapshot');
    if (this.restore(s)) this.send({ type: 'AppendResponse', to: m.from, term: this.term, index: this.log.lastIndex() });
    else this.send({ type: 'AppendResponse', to: m.from, term: this.term, index: this.log.committed });
  }

  private restore(s: Snapshot): boolean {
    const { index, term } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      this.log.commitTo(index); // we have the log up to there: fast-forward instead
      return false;
    }
    this.log.restore(s);
    this.setConf(s.metadata.confState);
    this.confIndex = index;
    return true;
  }

  // ---- leader sending ----------------------------------------------------------------------

  private send(m: Omit<MessageInit, 'from'>): void {
    const msg = makeMessage(this.id, m);
    assert(msg.to !== this.id, () => `expected no message to self, found ${msg.type}`);
    this.msgs.push(msg);
  }

  private sendAppend(to: ReplicaId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendAppend(to: ReplicaId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevTerm = this.log.term(pr.next - 1);
    const ents = this.log.entriesFrom(pr.next, this.cfg.appendBytesMax);
    if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
    if (prevTerm === undefined || ents === undefined) {
      if (!pr.recentActive) return false;
      const snap = this.log.snapshot();
      pr.becomeSnapshot(snap.metadata.index);
      this.send({ type: 'InstallSnapshot', to, term: this.term, snapshot: snap });
      return true;
    }
    const prevIndex = pr.next - 1;
    const last = ents[ents.length - 1];
    if (last !== undefined) {
      if (pr.state === 'Replicate') {
        pr.next = last.index + 1;
        let bytes = 0;
        for (const e of ents) bytes += entrySizeBytes(e);
        pr.inflights.add(last.index, bytes);
      } else if (pr.state === 'Probe') {
        pr.probeSent = true;
      }
    }
    this.send({ type: 'Append', to, term: this.term, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    if (pr.commitSent < this.log.committed) pr.commitSent = this.log.committed;
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    const seq = ++this.heartbeatSeq;
    this.seqSentTick.set(seq, this.now);
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      if (pr.commitSent < commit) pr.commitSent = commit;
      this.send({ type: 'Heartbeat', to: id, term: this.term, commit, seq });
    }
  }

  private sendTimeoutNow(to: ReplicaId): void {
    this.leaseRevoked = true;
    this.send({ type: 'TimeoutNow', to, term: this.term });
  }

  /**
   * The leader's own entries count toward a quorum only once persisted (advance()), so the
   * driver may send the Appends of a Ready before or while it persists that Ready's entries.
   */
  private appendEntries(ents: Entry[]): void {
    this.log.append(ents);
  }

  private appendProposal(type: EntryType, data: Uint8Array): { term: number; index: number } {
    const at = this.appendProposals(type, [data]);
    return { term: at.term, index: at.lastIndex };
  }

  /** Appends all of `datas` or none (the checks come first), then replicates them in one broadcast. */
  private appendProposals(type: EntryType, datas: readonly Uint8Array[]): { term: number; firstIndex: number; lastIndex: number } {
    this.requireLeader();
    if (this.leadTransferee !== NO_REPLICA) {
      throw new SaigaError('ServiceUnavailable', `expected to accept proposals, found leadership moving to ${this.leadTransferee}`);
    }
    const first = this.log.lastIndex() + 1;
    const ents: Entry[] = datas.map((data, i) => ({ term: this.term, index: first + i, type, data }));
    let size = 0;
    for (const e of ents) size += entrySizeBytes(e);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.cfg.uncommittedBytesMax) {
      throw new SaigaError('ResourceExhausted', `expected uncommitted entries within ${this.cfg.uncommittedBytesMax} bytes, found ${this.uncommittedBytes} + ${size}`);
    }
    this.uncommittedBytes += size;
    this.appendEntries(ents);
    this.bcastAppend();
    return { term: this.term, firstIndex: first, lastIndex: first + ents.length - 1 };
  }


  private maybeCommit(): boolean {
    const matches: number[] = [];
    for (const v of this.voters) matches.push(this.progress.get(v)?.match ?? 0);
    if (matches.length === 0) return false;
    matches.sort((a, b) => b - a);
    const mci = matches[this.quorum() - 1]!;
    const before = this.committedEntryInCurrentTerm();
    const moved = this.log.maybeCommit(mci, this.term);
    if (moved && !before && this.role === 'Leader') {
      const waiting = this.readsBeforeCommit;
      this.readsBeforeCommit = [];
      for (const w of waiting) this.serveRead(w.requestCtx, w.from);
    }
    return moved;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- reads -------------------------------------------------------------------------------

  private leaderRead(requestCtx: string, from: ReplicaId): void {
    if (!this.committedEntryInCurrentTerm()) {
      this.readsBeforeCommit.push({ requestCtx, from });
      return;
    }
    this.serveRead(requestCtx, from);
  }

  private serveRead(requestCtx: string, from: ReplicaId): void {
    if ((this.voters.size === 1 && this.voters.has(this.id)) || (this.cfg.readOnly === 'LeaseBased' && this.leaseValid())) {
      this.answerRead(requestCtx, from, this.log.committed);
      return;
    }
    this.bcastHeartbeat();
    this.pendingReads.push({ requestCtx, from, index: this.log.committed, seq: this.heartbeatSeq });
  }

  private answerRead(requestCtx: string, from: ReplicaId, index: number): void {
    if (from === this.id) {
      this.readStates.push({ index, requestCtx });
      return;
    }
    // The asker applies up to `index` before serving: tell it the commit first if it may not know it.
    const pr = this.progress.get(from);
    if (pr !== undefined && pr.commitSent < index) this.maybeSendAppend(from, true);
    this.send({ type: 'ReadIndexResponse', to: from, term: this.term, index, context: requestCtx });
  }

  private readsFull(): boolean {
    return this.pendingReads.length + this.readsBeforeCommit.length >= this.cfg.readsPendingMax;
  }

  private checkReadsBound(): void {
    if (this.readsFull()) {
      throw new SaigaError('ResourceExhausted', `expected fewer than ${this.cfg.readsPendingMax} pending reads, found ${this.pendingReads.length + this.readsBeforeCommit.length}`);
    }
  }

  /** The highest heartbeat round a quorum of voters (this leader included) acknowledged. */
  private quorumAckedSeq(): number {
    const acked: number[] = [];
    for (const v of this.voters) acked.push(v === this.id ? this.heartbeatSeq : (this.progress.get(v)?.ackedSeq ?? 0));
    acked.sort((a, b) => b - a);
    return acked[this.quorum() - 1] ?? 0;
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0 && this.seqSentTick.size < 64) return;
    const q = this.quorumAckedSeq();
    for (const seq of this.seqSentTick.keys()) if (seq < q) this.seqSentTick.delete(seq);
    let n = 0;
    while (n < this.pendingReads.length && this.pendingReads[n]!.seq <= q) {
      const r = this.pendingReads[n]!;
      this.answerRead(r.requestCtx, r.from, r.index);
      n++;
    }
    if (n > 0) this.pendingReads = this.pendingReads.slice(n);
  }

  // ---- configuration -----------------------------------------------------------------------

  private setConf(cs: ConfState): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners);
    const last = this.log.lastIndex();
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...cs.voters, ...cs.learners]) {
      const pr = this.progress.get(id);
      if (pr === undefined) {
        const fresh = new Progress(last + 1, this.learners.has(id), this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax);
        if (id === this.id) fresh.match = last;
        this.progress.set(id, fresh);
      } else {
        pr.isLearner = this.learners.has(id);
      }
    }
  }

  private applyConfChange(cc: ConfChange): void {
    const next = applyConfChangeTo(this.confState(), cc);
    if (typeof next === 'string') return; // invalid on every replica alike: skipped everywhere
    this.setConf(next);
    if (this.role !== 'Leader') return;
    if (!this.voters.has(this.id)) {
      this.becomeFollower(this.term, NO_REPLICA); // removed or demoted: step down
      return;
    }
    if (this.leadTransferee !== NO_REPLICA && !this.voters.has(this.leadTransferee)) this.leadTransferee = NO_REPLICA;
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  private requireLeader(): void {
    if (this.role !== 'Leader') {
      throw new SaigaError('NotLeader', `expected replica ${this.id} to be leader, found it ${this.role.toLowerCase()} in term ${this.term}`, this.lead !== NO_REPLICA ? { leaderHint: this.lead } : {});
    }
  }
}

export function newRaftNode(options: RaftOptions): RaftNode {
  return new RaftNode(options);
}
