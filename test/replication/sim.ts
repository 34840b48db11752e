/**
 * Deterministic simulation of a Raft group: N replicas driven by a seeded PRNG over a
 * simulated network (drop, delay, duplication, reordering, partitions) with crash-restart
 * that keeps only synced storage. A driver per replica persists each Ready (after a simulated
 * fsync delay) before sending its messages and applying its committed entries to a key-value
 * state machine. Clients issue puts (proposals) and gets (ReadIndex / lease reads).
 *
 * Checked while running: election safety, leader completeness, state-machine safety.
 * Checked at the end (after healing and quiescence): log matching, convergence of every
 * replica, every acknowledged write present everywhere, linearizability of the client history.
 */
import { isSaigaError } from '../../src/common/errors.js';
import { RaftNode } from '../../src/replication/raft.js';
import { SeededRandom } from '../../src/replication/random.js';
import { MemoryStorage } from '../../src/replication/storage.js';
import type { ConfChange, Entry, Message, Ready, ReplicaId, Snapshot } from '../../src/replication/types.js';
import { checkKvHistory } from './linearizability.js';
import type { KvOp } from './linearizability.js';

export interface SimOptions {
  readonly seed: number;
  readonly replicas: number;
  /** Extra replicas that start outside the group and may be added by membership changes. */
  readonly spares?: number;
  readonly readOnly: 'Safe' | 'LeaseBased';
  /** Default true; LeaseBased reads require it. */
  readonly checkQuorum?: boolean;
  /** Default true. */
  readonly preVote?: boolean;
  readonly clients: number;
  readonly keys: number;
  /** Simulated time of the faulty phase; ticks are every TICK_TIME. */
  readonly durationTime: number;
  readonly dropRate: number;
  readonly dupRate: number;
  readonly delayMax: number;
  readonly crashes: boolean;
  readonly partitions: boolean;
  readonly transfers: boolean;
  readonly membership: boolean;
  /** Compact the log after this many applied entries (small, to exercise InstallSnapshot). */
  readonly snapshotEvery: number;
  /** Faults come every 20 + [0, faultIntervalMax) time units (default 300); crashed replicas restart within restartDelayMax (default 600). */
  readonly faultIntervalMax?: number;
  readonly restartDelayMax?: number;
  /** Deliberate driver bugs, to show the checks catch them (mutation tests only). */
  readonly driverBug?: 'sendBeforeSync' | 'forgetVote' | 'forgetEntries';
  /**
   * Drive like the tablet server's RaftDriver: apply a Ready's committed entries below its new
   * ones before the persist, and entries committed meanwhile (takeDurableCommitted) as messages
   * arrive during the persist.
   */
  readonly applyWhilePersisting?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly failures: string[];
  readonly stats: {
    puts: number; putsAcked: number; gets: number; getsOk: number; leaders: number; crashes: number;
    snapshotsSent: number; transfers: number; confChanges: number; messages: number; commit: number;
    finalVoters: number; finalLearners: number; tornWrites: number; followerReads: number;
  };
  /** Hash of every event processed, in order: equal for two runs of one seed. */
  readonly traceHash: number;
}

const TICK_TIME = 10;
const ELECTION_TICKS = 10;

type Event =
  | { kind: 'tick'; node: number; inc: number }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'sync'; node: number; inc: number }
  | { kind: 'client'; client: number }
  | { kind: 'opTimeout'; client: number; opSeq: number }
  | { kind: 'fault' }
  | { kind: 'restart'; node: number };

interface QItem { time: number; seq: number; ev: Event }

class EventQueue {
  private heap: QItem[] = [];
  private seq = 0;
  push(time: number, ev: Event): void {
    const h = this.heap;
    h.push({ time, seq: this.seq++, ev });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): QItem | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
  get size(): number {
    return this.heap.length;
  }
}
function less(a: QItem, b: QItem): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

interface Replica {
  readonly id: ReplicaId;
  readonly storage: MemoryStorage;
  raft: RaftNode | undefined;
  inc: number;
  syncing: Ready | undefined;
  kv: Map<string, string>;
  applied: number;
  reads: { index: number; ctx: string }[];
  /** Joined the group (initial member or added); spares start false. */
  member: boolean;
}

interface Command { c: number; o: number; k: string; v: string }

interface PendingOp {
  readonly kind: 'put' | 'get';
  readonly opSeq: number;
  readonly key: string;
  readonly value: string;
  readonly call: number;
  readonly node: number;
  readonly inc: number;
  readonly index: number; // put: log index of the proposal
  readonly term: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function runSimulation(o: SimOptions): SimResult {
  const rnd = new SeededRandom(o.seed);
  const failures: string[] = [];
  const fail = (what: string): void => {
    if (failures.length < 20) failures.push(`t=${now}: ${what}`);
  };
  const stats = { puts: 0, putsAcked: 0, gets: 0, getsOk: 0, leaders: 0, crashes: 0, snapshotsSent: 0, transfers: 0, confChanges: 0, messages: 0, commit: 0, finalVoters: 0, finalLearners: 0, tornWrites: 0, followerReads: 0 };
  let trace = 0x811c9dc5;
  const mix = (x: number): void => {
    trace = Math.imul(trace ^ (x | 0), 16777619) >>> 0;
  };
  const q = new EventQueue();
  let now = 0;
  /** Logical clock for the history: strictly increasing per recorded event, so ties never blur order. */
  let clock = 0;
  const total = o.replicas + (o.spares ?? 0);
  const ids = Array.from({ length: total }, (_, i) => `r${i + 1}`);
  const initial = ids.slice(0, o.replicas);
  const replicas: Replica[] = ids.map((id, i) => ({
    id,
    storage: i < o.replicas ? MemoryStorage.bootstrap(initial) : new MemoryStorage(),
    raft: undefined, inc: 0, syncing: undefined, kv: new Map(), applied: 0, reads: [], member: i < o.replicas,
  }));
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  let faulty = true;
  let dropRate = o.dropRate;
  /** partition[i] = group number; messages cross groups never. */
  let partition: number[] = ids.map(() => 0);

  const leaderOfTerm = new Map<number, ReplicaId>();
  /** Globally committed entries seen applied by anyone: index -> term/data fingerprint. */
  const appliedAt = new Map<number, { term: number; fp: string }>();
  const history: KvOp[] = [];
  const pending = new Map<number, PendingOp>(); // client -> op in flight
  const ackedPuts: { index: number; op: string }[] = [];
  const clientLeaderGuess = new Map<number, number>();
  let opSeqNext = 0;

  const start = (i: number): void => {
    const r = replicas[i]!;
    r.inc++;
    const snap = r.storage.snapshot();
    r.kv = decodeKv(snap);
    r.applied = snap.metadata.index;
    r.reads = [];
    r.syncing = undefined;
    r.raft = new RaftNode({
      id: r.id, storage: r.storage, random: new SeededRandom(rnd.intBelow(2 ** 31)),
      electionTicks: ELECTION_TICKS, heartbeatTicks: 2, readOnly: o.readOnly, checkQuorum: o.checkQuorum ?? true, preVote: o.preVote ?? true,
      applied: snap.metadata.index, appendBytesMax: 4096, inflightMessagesMax: 4, committedEntriesBytesMax: 8192,
    });
    q.push(now + 1 + rnd.intBelow(TICK_TIME), { kind: 'tick', node: i, inc: r.inc });
  };

  const crash = (i: number): void => {
    const r = replicas[i]!;
    if (r.raft === undefined) return;
    stats.crashes++;
    // The pending (unsynced) Ready is lost, except perhaps a torn prefix: a WAL writes the
    // entries, then the hard state, and a crash mid-write keeps some prefix of that.
    const rd = r.syncing;
    if (rd !== undefined && rd.snapshot === undefined && rnd.chance(0.5)) {
      const k = rnd.intBelow(rd.entries.length + 1);
      r.storage.append(rd.entries.slice(0, k));
      if (k === rd.entries.length && rd.hardState !== undefined && rnd.chance(0.5)) r.storage.setHardState(rd.hardState);
      stats.tornWrites++;
    }
    r.raft = undefined;
    r.syncing = undefined;
    r.inc++;
    for (const [client, op] of pending) {
      if (op.node !== i) continue;
      finishOp(client, op, op.kind === 'put' ? 'unknown' : 'drop');
    }
  };

  const send = (m: Message): void => {
    stats.messages++;
    if (m.type === 'InstallSnapshot') stats.snapshotsSent++;
    const from = indexOf.get(m.from)!;
    const to = indexOf.get(m.to);
    if (to === undefined) return;
    if (faulty && rnd.chance(dropRate)) return;
    if (partition[from] !== partition[to]) return;
    q.push(now + 1 + rnd.intBelow(o.delayMax), { kind: 'deliver', msg: m });
    if (faulty && rnd.chance(o.dupRate)) q.push(now + 1 + rnd.intBelow(o.delayMax * 2), { kind: 'deliver', msg: m });
  };

  const checkSafety = (i: number): void => {
    const raft = replicas[i]!.raft;
    if (raft === undefined || !raft.isLeader()) return;
    const term = raft.currentTerm();
    const prev = leaderOfTerm.get(term);
    if (prev === undefined) {
      leaderOfTerm.set(term, raft.id);
      stats.leaders++;
      // Lease safety: no older leader may still believe its lease holds once a newer one is elected.
      for (const other of replicas) {
        const or = other.raft;
        if (or !== undefined && or !== raft && or.isLeader() && or.currentTerm() < term && or.leaseValid()) {
          fail(`lease safety: ${or.id} (term ${or.currentTerm()}) holds a lease while ${raft.id} leads term ${term}`);
        }
      }
      // Leader completeness: every entry committed so far is in the new leader's log.
      const first = raft.firstIndex();
      for (const [index, at] of appliedAt) {
        if (index < first) continue;
        const e = index <= raft.lastIndex() ? raft.logEntries(index, index + 1)?.[0] : undefined;
        if (e === undefined || fingerprint(e) !== at.fp) fail(`leader completeness: leader ${raft.id} of term ${term} lacks committed entry ${index} (term ${at.term})`);
      }
    } else if (prev !== raft.id) {
      fail(`election safety: two leaders in term ${term}: ${prev} and ${raft.id}`);
    }
  };

  const drive = (i: number): void => {
    const r = replicas[i]!;
    checkSafety(i);
    if (r.raft === undefined || r.syncing !== undefined || !r.raft.hasReady()) return;
    r.syncing = r.raft.ready();
    if (o.driverBug === 'sendBeforeSync') for (const m of r.syncing.messages) send(m);
    if (o.applyWhilePersisting === true && r.syncing.snapshot === undefined) {
      const firstNew = r.syncing.entries[0]?.index ?? Infinity;
      for (const e of r.syncing.committedEntries) if (e.index < firstNew && e.index > r.applied) applyEntry(i, e);
      serveReads(i);
    }
    q.push(now + 1 + rnd.intBelow(3), { kind: 'sync', node: i, inc: r.inc });
  };

  const finishOp = (client: number, op: PendingOp, outcome: 'ok' | 'unknown' | 'drop', readValue?: string): void => {
    pending.delete(client);
    if (op.kind === 'put') {
      if (outcome !== 'drop') {
        history.push({ client, kind: 'put', key: op.key, value: op.value, call: op.call, ret: outcome === 'ok' ? ++clock : Infinity });
      }
      if (outcome === 'ok') {
        stats.putsAcked++;
        ackedPuts.push({ index: op.index, op: `${client}:${op.opSeq}` });
      }
    } else if (outcome === 'ok') {
      stats.getsOk++;
      history.push({ client, kind: 'get', key: op.key, value: readValue ?? '', call: op.call, ret: ++clock });
    }
    if (faulty) q.push(now + 1 + rnd.intBelow(20), { kind: 'client', client });
  };

  const applyEntry = (i: number, e: Entry): void => {
    const r = replicas[i]!;
    const fp = fingerprint(e);
    const seen = appliedAt.get(e.index);
    if (seen === undefined) appliedAt.set(e.index, { term: e.term, fp });
    else if (seen.fp !== fp) fail(`state machine safety: ${r.id} applied ${fp} at ${e.index}, another replica applied ${seen.fp}`);
    stats.commit = Math.max(stats.commit, e.index);
    let cmd: Command | undefined;
    if (e.type === 'Normal' && e.data.length > 0) {
      cmd = JSON.parse(dec.decode(e.data)) as Command;
      r.kv.set(cmd.k, cmd.v);
    }
    r.applied = e.index;
    // Put completion on the replica the client proposed to.
    for (const [client, op] of pending) {
      if (op.kind !== 'put' || op.node !== i || op.inc !== r.inc || op.index !== e.index) continue;
      if (cmd !== undefined && cmd.c === client && cmd.o === op.opSeq) finishOp(client, op, 'ok');
      else finishOp(client, op, 'drop'); // another entry took that index: ours never commits
    }
  };

  const serveReads = (i: number): void => {
    const r = replicas[i]!;
    const keep: typeof r.reads = [];
    for (const rs of r.reads) {
      if (rs.index > r.applied) {
        keep.push(rs);
        continue;
      }
      const [c, s] = rs.ctx.split(':').map(Number) as [number, number];
      const op = pending.get(c);
      if (op !== undefined && op.kind === 'get' && op.opSeq === s && op.node === i && op.inc === r.inc) {
        finishOp(c, op, 'ok', r.kv.get(op.key) ?? '');
      }
    }
    r.reads = keep;
  };

  const sync = (i: number): void => {
    const r = replicas[i]!;
    const rd = r.syncing!;
    const raft = r.raft!;
    // 1. persist (this is the fsync completing)
    if (rd.snapshot !== undefined) r.storage.applySnapshot(rd.snapshot);
    if (o.driverBug !== 'forgetEntries' || rnd.chance(0.5)) r.storage.append(rd.entries);
    if (rd.hardState !== undefined) r.storage.setHardState(o.driverBug === 'forgetVote' ? { ...rd.hardState, vote: '' } : rd.hardState);
    // 2. send
    if (o.driverBug !== 'sendBeforeSync') for (const m of rd.messages) send(m);
    // 3. apply
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > r.applied) {
      r.kv = decodeKv(rd.snapshot);
      r.applied = rd.snapshot.metadata.index;
    }
    for (const e of rd.committedEntries) if (e.index > r.applied) applyEntry(i, e);
    for (const rs of rd.readStates) r.reads.push({ index: rs.index, ctx: rs.requestCtx });
    serveReads(i);
    raft.advance(rd);
    r.syncing = undefined;
    if (r.raft !== raft) return; // a client callback cannot crash us, but stay defensive
    if (rd.committedEntries.some((e) => e.type === 'ConfChange') || rd.snapshot !== undefined) {
      const cs = raft.confState();
      if (cs.voters.includes(r.id) || cs.learners.includes(r.id)) r.member = true;
    }
    // 4. snapshot + compact now and then
    if (r.applied - r.storage.snapshot().metadata.index >= o.snapshotEvery) {
      r.storage.createSnapshot(r.applied, raft.confState(), encodeKv(r.kv));
      r.storage.compact(Math.max(r.storage.firstIndex() - 1, r.applied - 5));
    }
  };

  const clientStep = (client: number): void => {
    if (!faulty || pending.has(client)) return;
    // Ask the replica we last saw lead; otherwise a random live one.
    let node = clientLeaderGuess.get(client) ?? rnd.intBelow(total);
    if (replicas[node]?.raft === undefined || rnd.chance(0.1)) node = rnd.intBelow(total);
    const r = replicas[node]!;
    const raft = r.raft;
    const retry = (): void => {
      const hint = raft?.leader();
      if (hint !== undefined && hint !== '') clientLeaderGuess.set(client, indexOf.get(hint)!);
      else clientLeaderGuess.delete(client);
      q.push(now + 5 + rnd.intBelow(20), { kind: 'client', client });
    };
    const isPut = rnd.chance(0.5);
    // Gets may go to a follower, which forwards the ReadIndex to its leader.
    const followerRead = !isPut && raft !== undefined && !raft.isLeader() && raft.leader() !== '' && rnd.chance(0.5);
    if (raft === undefined || (!raft.isLeader() && !followerRead && rnd.chance(0.9))) return retry();
    const key = `k${rnd.intBelow(o.keys)}`;
    const opSeq = opSeqNext++;
    const call = ++clock;
    try {
      if (isPut) {
        const value = `${client}.${opSeq}`;
        const at = raft.propose(enc.encode(JSON.stringify({ c: client, o: opSeq, k: key, v: value } satisfies Command)));
        stats.puts++;
        pending.set(client, { kind: 'put', opSeq, key, value, call, node, inc: r.inc, index: at.index, term: at.term });
      } else {
        raft.readIndex(`${client}:${opSeq}`);
        stats.gets++;
        pending.set(client, { kind: 'get', opSeq, key, value: '', call, node, inc: r.inc, index: 0, term: 0 });
      }
    } catch (e) {
      if (!isSaigaError(e)) throw e;
      return retry(); // rejected up front: never entered the log
    }
    if (!followerRead) clientLeaderGuess.set(client, node);
    else stats.followerReads++;
    q.push(now + 40 * TICK_TIME, { kind: 'opTimeout', client, opSeq });
    drive(node);
  };

  const liveLeader = (): number | undefined => {
    for (let i = 0; i < total; i++) if (replicas[i]!.raft?.isLeader()) return i;
    return undefined;
  };

  const fault = (): void => {
    if (!faulty) return;
    const roll = rnd.intBelow(100);
    const live = replicas.map((r, i) => (r.raft !== undefined ? i : -1)).filter((i) => i >= 0);
    if (o.crashes && roll < 15 && live.length > 0) {
      const victim = rnd.pick(live);
      crash(victim);
      q.push(now + rnd.intBelow(o.restartDelayMax ?? 60 * TICK_TIME), { kind: 'restart', node: victim });
    } else if (o.partitions && roll < 30) {
      partition = ids.map(() => rnd.intBelow(2));
    } else if (o.partitions && roll < 45) {
      partition = ids.map(() => 0);
    } else if (o.transfers && roll < 55) {
      const l = liveLeader();
      if (l !== undefined) {
        const raft = replicas[l]!.raft!;
        const voters = raft.confState().voters.filter((v) => v !== raft.id);
        if (voters.length > 0) {
          raft.transferLeadership(rnd.pick(voters));
          stats.transfers++;
          drive(l);
        }
      }
    } else if (o.membership && roll < 70) {
      const l = liveLeader();
      if (l !== undefined) {
        const raft = replicas[l]!.raft!;
        const cs = raft.confState();
        const members = new Set([...cs.voters, ...cs.learners]);
        const outsiders = ids.filter((id) => !members.has(id));
        const choices: ConfChange[] = [];
        for (const id of outsiders) choices.push({ type: 'AddLearner', replica: id }, { type: 'AddVoter', replica: id });
        for (const id of cs.learners) choices.push({ type: 'PromoteLearner', replica: id }, { type: 'RemoveVoter', replica: id });
        if (cs.voters.length > 3) for (const id of cs.voters) choices.push({ type: 'RemoveVoter', replica: id });
        if (choices.length > 0) {
          try {
            raft.proposeConfChange(rnd.pick(choices));
            stats.confChanges++;
            drive(l);
          } catch (e) {
            if (!isSaigaError(e)) throw e;
          }
        }
      }
    } else {
      dropRate = rnd.chance(0.5) ? 0 : o.dropRate;
    }
    q.push(now + 20 + rnd.intBelow(o.faultIntervalMax ?? 30 * TICK_TIME), { kind: 'fault' });
  };

  for (let i = 0; i < total; i++) start(i);
  for (let c = 0; c < o.clients; c++) q.push(rnd.intBelow(50 * TICK_TIME), { kind: 'client', client: c });
  q.push(30 * TICK_TIME, { kind: 'fault' });

  const quiesceAt = o.durationTime;
  const endAt = o.durationTime + 25 * ELECTION_TICKS * TICK_TIME;
  let healed = false;
  for (;;) {
    const item = q.pop();
    if (item === undefined) break;
    now = item.time;
    if (!healed && now >= quiesceAt) {
      healed = true;
      faulty = false;
      dropRate = 0;
      partition = ids.map(() => 0);
      for (let i = 0; i < total; i++) if (replicas[i]!.raft === undefined) start(i);
    }
    if (now > endAt) break;
    const ev = item.ev;
    mix(now);
    mix(ev.kind.length);
    if (ev.kind === 'deliver') mix(ev.msg.index * 31 + ev.msg.term + ev.msg.type.length);
    switch (ev.kind) {
      case 'tick': {
        const r = replicas[ev.node]!;
        if (r.inc !== ev.inc || r.raft === undefined) break;
        r.raft.tick();
        q.push(now + TICK_TIME, ev);
        drive(ev.node);
        break;
      }
      case 'deliver': {
        const to = indexOf.get(ev.msg.to)!;
        const from = indexOf.get(ev.msg.from)!;
        const r = replicas[to]!;
        if (r.raft === undefined || partition[from] !== partition[to]) break;
        r.raft.step(ev.msg);
        if (o.applyWhilePersisting === true && r.syncing !== undefined) {
          for (const e of r.raft.takeDurableCommitted()) {
            if (e.index !== r.applied + 1) fail(`takeDurableCommitted handed out entry ${e.index} on ${r.id}, expected ${r.applied + 1}`);
            if (e.index > r.storage.lastIndex()) fail(`takeDurableCommitted handed out entry ${e.index} on ${r.id} beyond its durable log (${r.storage.lastIndex()})`);
            applyEntry(to, e);
          }
          serveReads(to);
        }
        drive(to);
        break;
      }
      case 'sync': {
        const r = replicas[ev.node]!;
        if (r.inc !== ev.inc || r.raft === undefined || r.syncing === undefined) break;
        sync(ev.node);
        drive(ev.node);
        break;
      }
      case 'client':
        clientStep(ev.client);
        break;
      case 'opTimeout': {
        const op = pending.get(ev.client);
        if (op !== undefined && op.opSeq === ev.opSeq) finishOp(ev.client, op, op.kind === 'put' ? 'unknown' : 'drop');
        break;
      }
      case 'fault':
        fault();
        break;
      case 'restart':
        if (faulty && replicas[ev.node]!.raft === undefined) start(ev.node);
        break;
    }
  }
  for (const [client, op] of [...pending]) finishOp(client, op, op.kind === 'put' ? 'unknown' : 'drop');

  // ---- end-of-run checks (faults healed for a long quiet stretch) ----
  const members = replicas.filter((r) => r.member && r.raft !== undefined);
  const leader = liveLeader();
  if (leader === undefined) fail('liveness: no leader after healing');
  else {
    const lr = replicas[leader]!.raft!;
    const cs = lr.confState();
    const inGroup = replicas.filter((r) => cs.voters.includes(r.id) || cs.learners.includes(r.id));
    const commit = lr.status().commit;
    stats.finalVoters = cs.voters.length;
    stats.finalLearners = cs.learners.length;
    for (const r of inGroup) {
      if (r.applied !== commit) fail(`convergence: ${r.id} applied ${r.applied}, leader ${lr.id} committed ${commit}`);
      if (!sameKv(r.kv, replicas[leader]!.kv)) fail(`convergence: ${r.id}'s state machine differs from the leader's`);
    }
    for (const a of ackedPuts) {
      const at = appliedAt.get(a.index);
      if (at === undefined || !at.fp.includes(`"c":${a.op.split(':')[0]},"o":${a.op.split(':')[1]},`)) fail(`durability: acknowledged put ${a.op} is not the committed entry at ${a.index}`);
      for (const r of inGroup) if (r.applied < a.index) fail(`durability: ${r.id} has not applied acknowledged put ${a.op} at ${a.index}`);
    }
  }
  // Log matching: where two logs hold an entry with the same index and term, they agree up to it.
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) {
      const ra = members[a]!.raft!;
      const rb = members[b]!.raft!;
      const lo = Math.max(ra.firstIndex(), rb.firstIndex());
      const hi = Math.min(ra.lastIndex(), rb.lastIndex());
      if (lo > hi) continue;
      const ea = ra.logEntries(lo, hi + 1)!;
      const eb = rb.logEntries(lo, hi + 1)!;
      let lastSame = -1;
      for (let k = ea.length - 1; k >= 0; k--) if (ea[k]!.term === eb[k]!.term) { lastSame = k; break; }
      for (let k = 0; k <= lastSame; k++) {
        if (fingerprint(ea[k]!) !== fingerprint(eb[k]!)) {
          fail(`log matching: ${ra.id} and ${rb.id} agree at ${lo + lastSame} but differ at ${lo + k}`);
          break;
        }
      }
    }
  }
  const lin = checkKvHistory(history);
  if (!lin.ok) fail(`linearizability: history of key ${lin.key} has no linearization${lin.unknown === true ? ' (search budget exhausted)' : ''}`);
  return { seed: o.seed, failures, stats, traceHash: trace };
}

function fingerprint(e: Entry): string {
  return `${e.term}/${e.type}/${dec.decode(e.data)}`;
}

function encodeKv(kv: Map<string, string>): Uint8Array {
  return enc.encode(JSON.stringify([...kv]));
}

function decodeKv(s: Snapshot): Map<string, string> {
  if (s.data.length === 0) return new Map();
  return new Map(JSON.parse(dec.decode(s.data)) as [string, string][]);
}

function sameKv(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Options for seed n: cluster size, read mode and fault rates all derive from the seed. */
export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new SeededRandom(seed ^ 0x5eed);
  return {
    seed,
    replicas: r.chance(0.5) ? 3 : 5,
    readOnly: r.chance(0.5) ? 'Safe' : 'LeaseBased',
    clients: 3,
    keys: 3,
    durationTime: 3000 + r.intBelow(3000),
    dropRate: r.next() * 0.15,
    dupRate: r.next() * 0.05,
    delayMax: 1 + r.intBelow(30),
    crashes: r.chance(0.8),
    partitions: r.chance(0.8),
    transfers: r.chance(0.5),
    membership: false,
    snapshotEvery: 10 + r.intBelow(40),
    applyWhilePersisting: (seed & 1) === 0,
    ...overrides,
  };
}
