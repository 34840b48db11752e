import { describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { decodeConfChange, encodeConfChange, applyConfChangeTo } from '../../src/replication/conf-change.js';
import { raftConfig } from '../../src/replication/config.js';
import { RaftNode } from '../../src/replication/raft.js';
import { SeededRandom } from '../../src/replication/random.js';
import { MemoryStorage } from '../../src/replication/storage.js';
import type { Message } from '../../src/replication/types.js';
import { makeMessage } from '../../src/replication/types.js';
import { Cluster, bytes } from './harness.js';

const isolate = (...ids: string[]) => (m: Message): boolean => ids.includes(m.from) === ids.includes(m.to);

function expectSaigaError(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(isSaigaError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected SaigaError ${code}, nothing was thrown`);
}

describe('election', () => {
  it('a single replica elects itself and commits at once', () => {
    const c = new Cluster(['a']);
    const l = c.elect();
    expect(l.id).toBe('a');
    l.propose(bytes('x'));
    c.settle();
    expect(c.appliedData('a')).toEqual(['x']);
    l.readIndex('r1');
    c.settle();
    expect(c.reads.get('a')).toEqual([{ index: l.status().commit, requestCtx: 'r1' }]);
  });

  it('three replicas elect exactly one leader, which commits a no-op of its term', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const leaders = [...c.nodes.values()].filter((n) => n.isLeader());
    expect(leaders).toHaveLength(1);
    const st = l.status();
    expect(st.term).toBeGreaterThanOrEqual(2);
    // bootstrap entries 1..3 plus the no-op at 4, all committed and applied everywhere
    expect(st.commit).toBe(4);
    expect(l.logEntries(4, 5)![0]).toMatchObject({ term: st.term, type: 'Normal' });
    for (const id of ['a', 'b', 'c']) expect(c.node(id).status().applied).toBe(4);
    for (const id of ['a', 'b', 'c']) expect(c.node(id).confState().voters).toEqual(['a', 'b', 'c']);
  });

  it('proposals on a follower fail with NotLeader and a leader hint', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const f = [...c.nodes.values()].find((n) => !n.isLeader())!;
    try {
      f.propose(bytes('x'));
      throw new Error('expected NotLeader');
    } catch (e) {
      expect(isSaigaError(e, 'NotLeader')).toBe(true);
      expect((e as { details: { leaderHint?: string } }).details.leaderHint).toBe(l.id);
    }
  });

  it('pre-vote: an isolated replica does not raise its term and does not disrupt the leader on return', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const term = l.currentTerm();
    const f = [...c.nodes.values()].find((n) => !n.isLeader())!;
    c.filter = isolate(f.id);
    c.tickAll(100);
    expect(f.currentTerm()).toBe(term);
    expect(f.status().role).toBe('PreCandidate');
    c.filter = () => true;
    c.tickAll(5);
    expect(l.isLeader()).toBe(true);
    expect(l.currentTerm()).toBe(term);
  });

  it('without pre-vote an isolated replica raises its term', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: false });
    const l = c.elect();
    const f = [...c.nodes.values()].find((n) => !n.isLeader())!;
    c.filter = isolate(f.id);
    c.tickAll(100);
    expect(f.currentTerm()).toBeGreaterThan(l.currentTerm());
  });

  it('check-quorum: an isolated leader steps down within two election timeouts; the others elect a new one', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.filter = isolate(l.id);
    c.tickAll(20);
    expect(l.isLeader()).toBe(false);
    const others = [...c.nodes.values()].filter((n) => n !== l);
    c.tickAll(40);
    expect(others.filter((n) => n.isLeader())).toHaveLength(1);
  });

  it('a vote for a candidate with a shorter log is refused', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const [f1, f2] = [...c.nodes.values()].filter((n) => n !== l) as [RaftNode, RaftNode];
    c.filter = isolate(f1.id);
    l.propose(bytes('x'));
    c.settle();
    expect(f2.status().lastIndex).toBeGreaterThan(f1.status().lastIndex);
    // f1 (shorter log) campaigns directly against f2
    c.filter = (m) => m.from !== l.id && m.to !== l.id;
    const lastBefore = f1.status().lastIndex;
    c.tickAll(60, [f1.id, f2.id]);
    expect(f1.isLeader()).toBe(false);
    expect(f1.status().lastIndex).toBeGreaterThanOrEqual(lastBefore);
  });
});

describe('replication', () => {
  it('takeDurableCommitted hands out entries committed while a Ready is being persisted: once, in order, only durable ones', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.settle();
    const st = c.storages.get(l.id)!;
    const [f1] = ['a', 'b', 'c'].filter((id) => id !== l.id) as [string, string];
    const ack = (index: number): void => l.step(makeMessage(f1, { type: 'AppendResponse', to: l.id, term: l.currentTerm(), index }));
    // x1: persisted and advanced by the leader; the followers' acks are still out.
    l.propose(bytes('x1'));
    const rd1 = l.ready();
    st.append(rd1.entries);
    if (rd1.hardState !== undefined) st.setHardState(rd1.hardState);
    l.advance(rd1);
    const x1 = rd1.entries[0]!.index;
    // x2: its Ready is being persisted (outstanding).
    l.propose(bytes('x2'));
    const rd2 = l.ready();
    expect(rd2.committedEntries).toEqual([]);
    expect(l.takeDurableCommitted()).toEqual([]);
    ack(x1); // x1 commits while x2 is being persisted
    expect(l.takeDurableCommitted().map((e) => new TextDecoder().decode(e.data))).toEqual(['x1']);
    expect(l.takeDurableCommitted()).toEqual([]); // handed out once
    ack(x1 + 1); // a follower has x2, but the leader's own copy is not durable yet: not committed
    expect(l.status().commit).toBe(x1);
    expect(l.takeDurableCommitted()).toEqual([]);
    st.append(rd2.entries);
    l.advance(rd2);
    expect(l.status().applied).toBe(x1);
    const rd3 = l.ready(); // x2 committed now; x1 is not handed out again
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([x1 + 1]);
    l.advance(rd3);
    expect(l.status().applied).toBe(x1 + 1);
  });

  it('takeDurableCommitted on a follower holds back committed entries it has not persisted yet', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.settle();
    const f = c.node(['a', 'b', 'c'].find((id) => id !== l.id)!);
    l.propose(bytes('y'));
    const lr = l.ready();
    const append = lr.messages.find((m) => m.type === 'Append' && m.to === f.id)!;
    const y = lr.entries[0]!.index;
    f.step(append);
    const fr = f.ready(); // y is being persisted on the follower
    expect(fr.entries.map((e) => e.index)).toEqual([y]);
    f.step(makeMessage(l.id, { type: 'Heartbeat', to: f.id, term: l.currentTerm(), commit: y }));
    expect(f.status().commit).toBe(y);
    expect(f.takeDurableCommitted()).toEqual([]); // committed but not durable here
    c.storages.get(f.id)!.append(fr.entries);
    f.advance(fr);
    expect(f.takeDurableCommitted().map((e) => e.index)).toEqual([y]); // durable now; no Ready outstanding: applied at once
    expect(f.status().applied).toBe(y);
    expect(f.ready().committedEntries).toEqual([]);
  });

  it('replicates and applies proposals in order on every replica', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e']);
    const l = c.elect();
    for (let i = 0; i < 50; i++) l.propose(bytes(`v${i}`));
    c.settle();
    const want = Array.from({ length: 50 }, (_, i) => `v${i}`);
    expect(c.appliedData(l.id)).toEqual(want);
    // Followers learn the last commit with the next Append or, when idle, the next tick.
    for (const id of c.nodes.keys()) expect(want.slice(0, c.appliedData(id).length)).toEqual(c.appliedData(id));
    c.tickAll(1);
    for (const id of c.nodes.keys()) expect(c.appliedData(id)).toEqual(want);
  });

  it('commits with a majority, not before', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e']);
    const l = c.elect();
    const others = [...c.nodes.keys()].filter((id) => id !== l.id);
    c.filter = isolate(others[0]!, others[1]!, others[2]!);
    const { index } = l.propose(bytes('x'));
    c.settle();
    expect(l.status().commit).toBeLessThan(index);
    c.filter = isolate(others[0]!, others[1]!);
    l.tick();
    c.settle();
    expect(l.status().commit).toBeGreaterThanOrEqual(index);
  });

  it('a lagging follower catches up by probing back, overwriting its divergent tail', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l1 = c.elect();
    const [f1, f2] = [...c.nodes.values()].filter((n) => n !== l1) as [RaftNode, RaftNode];
    // l1 appends entries only it has, then gets cut off
    c.filter = isolate(l1.id);
    for (let i = 0; i < 5; i++) l1.propose(bytes(`lost${i}`));
    c.settle();
    c.tickAll(60, [f1.id, f2.id]);
    const l2 = [f1, f2].find((n) => n.isLeader())!;
    expect(l2).toBeDefined();
    for (let i = 0; i < 5; i++) l2.propose(bytes(`kept${i}`));
    c.settle();
    c.filter = () => true;
    c.tickAll(30);
    for (const id of c.nodes.keys()) expect(c.appliedData(id)).toEqual(['kept0', 'kept1', 'kept2', 'kept3', 'kept4']);
    expect(l1.status().lastIndex).toBe(l2.status().lastIndex);
  });

  it('keeps at most inflightMessagesMax Appends in flight per follower', () => {
    const c = new Cluster(['a', 'b', 'c'], { inflightMessagesMax: 3, appendBytesMax: 1 });
    const l = c.elect();
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    const held: Message[] = [];
    c.filter = (m) => {
      if (m.to === f && m.type === 'Append') {
        held.push(m);
        return false;
      }
      return true;
    };
    c.sent.length = 0;
    for (let i = 0; i < 20; i++) l.propose(bytes(`v${i}`));
    c.settle();
    const withEntries = held.filter((m) => m.entries.length > 0);
    expect(withEntries.length).toBe(3);
    expect(l.status().progress.get(f)!.state).toBe('Replicate');
    // once they are acked the window moves on and everything arrives
    c.filter = () => true;
    c.tickAll(5);
    expect(c.appliedData(f)).toHaveLength(20);
  });

  it('proposeBatch appends all entries in one go; Ready.mustSync says when an fsync is needed', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const at = l.proposeBatch([bytes('p'), bytes('q'), bytes('r')]);
    expect(at.lastIndex - at.firstIndex).toBe(2);
    const rd = l.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([at.firstIndex, at.firstIndex + 1, at.lastIndex]);
    expect(rd.mustSync).toBe(true);
    // every Append to a follower carries the whole batch
    expect(rd.messages.filter((m) => m.type === 'Append').every((m) => m.entries.length === 3)).toBe(true);
    c.storages.get(l.id)!.append(rd.entries);
    l.advance(rd);
    expect(l.hasReady()).toBe(false);
    // a heartbeat round moves nothing durable: no fsync needed
    l.tick();
    const hb = l.ready();
    expect(hb.messages.some((m) => m.type === 'Heartbeat')).toBe(true);
    expect(hb.mustSync).toBe(false);
    l.advance(hb);
    c.tickAll(3); // the dropped Appends are resent after heartbeat responses
    for (const id of c.nodes.keys()) expect(c.appliedData(id)).toEqual(['p', 'q', 'r']);
    expectSaigaError(() => l.proposeBatch([]), 'InvalidArgument');
  });

  it('rejects proposals past uncommittedBytesMax with ResourceExhausted', () => {
    const c = new Cluster(['a', 'b', 'c'], { uncommittedBytesMax: 200 });
    const l = c.elect();
    c.filter = isolate(l.id);
    expectSaigaError(() => { for (let i = 0; i < 100; i++) l.propose(new Uint8Array(50)); }, 'ResourceExhausted');
  });

  it('restarts with applied beyond a stored commit index that was written without fsync', () => {
    const s = MemoryStorage.bootstrap(['a']);
    const e = (index: number) => ({ term: 1, index, type: 'Normal' as const, data: bytes(`e${index}`) });
    s.append([e(2), e(3), e(4)]);
    // hard state says commit 1, but the state machine durably holds up to 3
    const n = new RaftNode({ id: 'a', storage: s, random: new SeededRandom(1), applied: 3 });
    expect(n.status().commit).toBe(3);
    expect(n.status().applied).toBe(3);
    expect(() => new RaftNode({ id: 'a', storage: s, random: new SeededRandom(1), applied: 9 })).toThrow(/assertion/);
  });

  it('a restarted replica recovers its log, term and vote from storage alone', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    for (let i = 0; i < 5; i++) l.propose(bytes(`v${i}`));
    c.settle();
    c.tickAll(1); // the followers learn the last commit
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    const before = c.node(f).status();
    const r = c.restart(f);
    expect(r.status().term).toBe(before.term);
    expect(r.status().lastIndex).toBe(before.lastIndex);
    c.settle();
    expect(c.appliedData(f)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']); // re-applied from the log
  });
});

describe('reads', () => {
  it('ReadIndex answers only after a quorum acknowledges a heartbeat round', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.filter = isolate(l.id);
    l.readIndex('r1');
    c.settle();
    expect(c.reads.get(l.id)).toEqual([]);
    c.filter = () => true;
    l.readIndex('r2');
    c.settle();
    expect(c.reads.get(l.id)!.map((r) => r.requestCtx)).toEqual(['r1', 'r2']);
    for (const r of c.reads.get(l.id)!) expect(r.index).toBe(l.status().commit);
  });

  it('a new leader holds reads until it commits an entry of its term', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const target = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = (m) => m.type !== 'AppendResponse';
    l.transferLeadership(target);
    c.settle();
    const l2 = c.node(target);
    expect(l2.isLeader()).toBe(true);
    l2.readIndex('q');
    c.tickAll(3);
    expect(c.reads.get(target)).toEqual([]); // heartbeats were acknowledged, but the no-op is not committed
    c.filter = () => true;
    c.tickAll(3);
    expect(c.reads.get(target)!.map((r) => r.requestCtx)).toEqual(['q']);
    expect(c.reads.get(target)![0]!.index).toBeGreaterThanOrEqual(l2.status().commit);
    expect(l2.logEntries(c.reads.get(target)![0]!.index, c.reads.get(target)![0]!.index + 1)![0]!.term).toBe(l2.currentTerm());
  });

  it('lease: valid while heartbeats are acknowledged, gone leaseTicks after the last acknowledged round', () => {
    const c = new Cluster(['a', 'b', 'c'], { readOnly: 'LeaseBased', electionTicks: 10, leaseTicks: 8 });
    const l = c.elect();
    c.tickAll(2);
    expect(l.leaseValid()).toBe(true);
    l.readIndex('fast');
    c.settle();
    expect(c.reads.get(l.id)!.map((r) => r.requestCtx)).toEqual(['fast']);
    c.filter = isolate(l.id);
    let validTicks = 0;
    for (let i = 0; i < 12; i++) {
      c.tickAll(1);
      if (l.leaseValid()) validTicks++;
    }
    expect(validTicks).toBeGreaterThan(0);
    expect(validTicks).toBeLessThanOrEqual(8);
    expect(l.leaseValid()).toBe(false);
    // a lease read now needs the heartbeat round, which cannot complete
    c.reads.set(l.id, []);
    if (l.isLeader()) {
      l.readIndex('slow');
      c.settle();
      expect(c.reads.get(l.id)).toEqual([]);
    }
  });

  it('voters that heard from the leader recently ignore a disruptive candidate (leases stay sound)', () => {
    const c = new Cluster(['a', 'b', 'c'], { readOnly: 'LeaseBased' });
    const l = c.elect();
    c.tickAll(2);
    const f = [...c.nodes.values()].find((n) => n !== l)!;
    f.campaign(); // an impatient follower
    c.settle();
    expect(l.isLeader()).toBe(true);
    expect(l.leaseValid()).toBe(true);
  });

  it('a follower forwards ReadIndex to the leader and gets the read point back', () => {
    for (const readOnly of ['Safe', 'LeaseBased'] as const) {
      const c = new Cluster(['a', 'b', 'c'], { readOnly });
      const l = c.elect();
      c.tickAll(2);
      l.propose(bytes('x'));
      c.settle();
      const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
      c.node(f).readIndex('fr');
      c.settle();
      expect(c.reads.get(f)).toEqual([{ index: l.status().commit, requestCtx: 'fr' }]);
      expect(c.reads.get(l.id)).toEqual([]);
      // with the leader unreachable the request is simply not answered
      c.filter = isolate(l.id);
      c.node(f).readIndex('lost');
      c.settle();
      expect(c.reads.get(f)!.map((r) => r.requestCtx)).toEqual(['fr']);
    }
    const lonely = new Cluster(['a', 'b', 'c']);
    expectSaigaError(() => lonely.node('a').readIndex('no-leader'), 'NotLeader');
  });

  it('no lease without check-quorum', () => {
    const c = new Cluster(['a', 'b', 'c'], { checkQuorum: false });
    const l = c.elect();
    c.tickAll(2);
    expect(l.leaseValid()).toBe(false);
  });
});

describe('membership', () => {
  it('adds a learner that receives the log but does not count for commit, then promotes it', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    l.proposeConfChange({ type: 'AddLearner', replica: 'd' });
    c.settle();
    c.add('d');
    for (let i = 0; i < 3; i++) l.propose(bytes(`v${i}`));
    c.tickAll(3);
    expect(c.node('d').confState()).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    expect(c.appliedData('d')).toEqual(['v0', 'v1', 'v2']);
    // learners never campaign
    c.tickAll(50, ['d']);
    expect(c.node('d').status().role).toBe('Follower');
    // with two voters cut off, the learner does not make a quorum
    const voters = ['a', 'b', 'c'].filter((id) => id !== l.id);
    c.filter = isolate(voters[0]!, voters[1]!);
    const { index } = l.propose(bytes('w'));
    c.settle();
    expect(l.status().commit).toBeLessThan(index);
    c.filter = () => true;
    c.tickAll(2);
    l.proposeConfChange({ type: 'PromoteLearner', replica: 'd' });
    c.settle();
    for (const id of ['a', 'b', 'c', 'd']) expect(c.node(id).confState()).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
  });

  it('allows one pending configuration change at a time', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.filter = isolate(l.id);
    l.proposeConfChange({ type: 'AddLearner', replica: 'd' });
    expectSaigaError(() => l.proposeConfChange({ type: 'AddLearner', replica: 'e' }), 'IllegalState');
    c.filter = () => true;
    c.tickAll(2);
    l.proposeConfChange({ type: 'AddLearner', replica: 'e' });
    c.settle();
    expect(l.confState().learners).toEqual(['d', 'e']);
  });

  it('a new leader changes membership only after its no-op is committed and applied', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const target = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = (m) => m.type !== 'AppendResponse';
    l.transferLeadership(target);
    c.settle();
    const l2 = c.node(target);
    expect(l2.isLeader()).toBe(true);
    expectSaigaError(() => l2.proposeConfChange({ type: 'AddLearner', replica: 'd' }), 'IllegalState');
    c.filter = () => true;
    c.tickAll(2);
    l2.proposeConfChange({ type: 'AddLearner', replica: 'd' });
    c.settle();
    expect(l2.confState().learners).toEqual(['d']);
  });

  it('rejects changes that make no sense', () => {
    const c = new Cluster(['a']);
    const l = c.elect();
    expectSaigaError(() => l.proposeConfChange({ type: 'RemoveVoter', replica: 'a' }), 'InvalidArgument');
    expectSaigaError(() => l.proposeConfChange({ type: 'PromoteLearner', replica: 'x' }), 'InvalidArgument');
    expectSaigaError(() => l.proposeConfChange({ type: 'AddVoter', replica: 'a' }), 'InvalidArgument');
  });

  it('removing the leader makes it step down and the rest elect a new one', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    l.proposeConfChange({ type: 'RemoveVoter', replica: l.id });
    c.settle();
    expect(l.isLeader()).toBe(false);
    const rest = [...c.nodes.keys()].filter((id) => id !== l.id);
    const l2 = c.elect(rest);
    expect(l2.confState().voters).toEqual(rest);
    l2.propose(bytes('after'));
    c.settle();
    c.tickAll(1);
    for (const id of rest) expect(c.appliedData(id)).toEqual(['after']);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to a caught-up voter with TimeoutNow, revoking the lease first', () => {
    const c = new Cluster(['a', 'b', 'c'], { readOnly: 'LeaseBased' });
    const l = c.elect();
    c.tickAll(2);
    expect(l.leaseValid()).toBe(true);
    const target = [...c.nodes.keys()].find((id) => id !== l.id)!;
    l.transferLeadership(target);
    expect(l.leaseValid()).toBe(false);
    expectSaigaError(() => l.propose(bytes('x')), 'ServiceUnavailable');
    c.settle();
    expect(c.node(target).isLeader()).toBe(true);
    expect(l.isLeader()).toBe(false);
    expect(c.sent.some((m) => m.type === 'TimeoutNow' && m.to === target)).toBe(true);
  });

  it('catches the target up before sending TimeoutNow', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const target = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = isolate(target);
    for (let i = 0; i < 5; i++) l.propose(bytes(`v${i}`));
    c.settle();
    c.filter = () => true;
    l.transferLeadership(target);
    c.settle();
    expect(c.node(target).isLeader()).toBe(true);
    expect(c.appliedData(target)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('gives up after an election timeout if the target never catches up', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const target = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = isolate(target);
    l.propose(bytes('v'));
    c.settle();
    l.transferLeadership(target);
    expect(l.status().leadTransferee).toBe(target);
    c.tickAll(11, [...c.nodes.keys()].filter((id) => id !== target));
    expect(l.isLeader()).toBe(true);
    expect(l.status().leadTransferee).toBe('');
    l.propose(bytes('again'));
  });
});

describe('snapshots', () => {
  it('a follower behind the compacted log gets InstallSnapshot and continues from it', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = isolate(f);
    for (let i = 0; i < 10; i++) l.propose(bytes(`v${i}`));
    c.settle();
    const st = c.storages.get(l.id)!;
    const applied = l.status().applied;
    st.createSnapshot(applied, l.confState(), bytes('state-at-' + applied));
    st.compact(applied);
    expect(l.firstIndex()).toBe(applied + 1);
    c.filter = () => true;
    c.sent.length = 0;
    c.tickAll(3);
    const snapMsg = c.sent.find((m) => m.type === 'InstallSnapshot');
    expect(snapMsg?.snapshot?.metadata.index).toBe(applied);
    expect(c.storages.get(f)!.snapshot().data).toEqual(bytes('state-at-' + applied));
    expect(c.node(f).confState().voters).toEqual(['a', 'b', 'c']);
    l.propose(bytes('after'));
    c.settle();
    c.tickAll(1);
    expect(c.appliedData(f)).toEqual(['after']);
    expect(c.node(f).status().applied).toBe(l.status().applied);
  });
});

describe('driver reports', () => {
  it('reportUnreachable drops a replicating follower back to probing', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    l.propose(bytes('x'));
    c.settle();
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    expect(l.status().progress.get(f)!.state).toBe('Replicate');
    l.reportUnreachable(f);
    expect(l.status().progress.get(f)!.state).toBe('Probe');
    l.propose(bytes('y')); // the next acknowledged Append resumes streaming
    c.settle();
    expect(l.status().progress.get(f)!.state).toBe('Replicate');
    expect(c.appliedData(f)).toEqual(['x', 'y']);
  });

  it('a failed snapshot is resent; a lost one is retried after two election timeouts', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    c.filter = isolate(f);
    for (let i = 0; i < 5; i++) l.propose(bytes(`v${i}`));
    c.settle();
    const st = c.storages.get(l.id)!;
    st.createSnapshot(l.status().applied, l.confState(), bytes('s'));
    st.compact(l.status().applied);
    // heartbeats get through, snapshots do not
    c.filter = (m) => m.type !== 'InstallSnapshot';
    c.sent.length = 0;
    c.tickAll(2);
    expect(l.status().progress.get(f)!.state).toBe('Snapshot');
    const sentBefore = c.sent.filter((m) => m.type === 'InstallSnapshot').length;
    expect(sentBefore).toBe(1);
    l.reportSnapshot(f, false);
    expect(l.status().progress.get(f)!.state).toBe('Probe');
    c.tickAll(2);
    expect(c.sent.filter((m) => m.type === 'InstallSnapshot').length).toBe(2);
    c.tickAll(25);
    expect(c.sent.filter((m) => m.type === 'InstallSnapshot').length).toBeGreaterThanOrEqual(3);
    c.filter = () => true;
    c.tickAll(25);
    expect(c.node(f).status().applied).toBe(l.status().applied);
  });

  it('bounds pending reads with readsPendingMax', () => {
    const c = new Cluster(['a', 'b', 'c'], { readsPendingMax: 3 });
    const l = c.elect();
    c.filter = isolate(l.id);
    l.readIndex('1');
    l.readIndex('2');
    l.readIndex('3');
    expectSaigaError(() => l.readIndex('4'), 'ResourceExhausted');
  });
});

describe('snapshot racing an unadvanced Ready', () => {
  it('configuration changes handed out before a snapshot arrived do not rewind the snapshot\'s configuration', () => {
    const f = new RaftNode({ id: 'c', storage: MemoryStorage.bootstrap(['a', 'b', 'c']), random: new SeededRandom(3) });
    const rd = f.ready();
    expect(rd.committedEntries.map((e) => e.type)).toEqual(['ConfChange', 'ConfChange', 'ConfChange']);
    // Before the driver advances, a leader sends a snapshot taken after 'c' was made a learner.
    const snapshot = { metadata: { index: 10, term: 2, confState: { voters: ['a', 'b'], learners: ['c'] } }, data: new Uint8Array(0) };
    f.step(makeMessage('a', { type: 'InstallSnapshot', to: 'c', term: 2, snapshot }));
    f.advance(rd);
    expect(f.confState()).toEqual({ voters: ['a', 'b'], learners: ['c'] });
    const rd2 = f.ready();
    expect(rd2.snapshot?.metadata.index).toBe(10);
    expect(rd2.messages.some((m) => m.type === 'AppendResponse' && m.index === 10)).toBe(true);
    f.advance(rd2);
    expect(f.status().applied).toBe(10);
    expect(f.confState()).toEqual({ voters: ['a', 'b'], learners: ['c'] });
  });
});

describe('config and codecs', () => {
  const base = { id: 'a', storage: new MemoryStorage(), random: new SeededRandom(1) };

  it('validates limits at start-up', () => {
    expectSaigaError(() => raftConfig({ ...base, electionTicks: 10, heartbeatTicks: 10 }), 'InvalidArgument');
    expectSaigaError(() => raftConfig({ ...base, electionTicks: 10, leaseTicks: 9 }), 'InvalidArgument');
    expectSaigaError(() => raftConfig({ ...base, inflightMessagesMax: 0 }), 'InvalidArgument');
    expectSaigaError(() => raftConfig({ ...base, readOnly: 'LeaseBased', checkQuorum: false }), 'InvalidArgument');
    expect(raftConfig(base).leaseTicks).toBe(8);
  });

  it('round-trips configuration changes and applies them one server at a time', () => {
    for (const type of ['AddVoter', 'RemoveVoter', 'AddLearner', 'PromoteLearner'] as const) {
      expect(decodeConfChange(encodeConfChange({ type, replica: 'tserver-7' }))).toEqual({ type, replica: 'tserver-7' });
    }
    expectSaigaError(() => decodeConfChange(new Uint8Array([9, 65])), 'Corruption');
    const cs = { voters: ['a'], learners: [] };
    const withLearner = applyConfChangeTo(cs, { type: 'AddLearner', replica: 'b' });
    expect(withLearner).toEqual({ voters: ['a'], learners: ['b'] });
    expect(applyConfChangeTo(withLearner as typeof cs, { type: 'AddVoter', replica: 'b' })).toEqual({ voters: ['a', 'b'], learners: [] });
    expect(typeof applyConfChangeTo(cs, { type: 'RemoveVoter', replica: 'a' })).toBe('string');
  });

  it('MemoryStorage appends with truncation, snapshots and compacts', () => {
    const s = MemoryStorage.bootstrap(['a', 'b']);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(2);
    const e = (term: number, index: number) => ({ term, index, type: 'Normal' as const, data: bytes(`${term}.${index}`) });
    s.append([e(2, 3), e(2, 4), e(2, 5)]);
    s.append([e(3, 4)]);
    s.setHardState({ term: 3, vote: 'a', commit: 4 });
    expect(s.lastIndex()).toBe(4);
    expect(s.term(4)).toBe(3);
    s.createSnapshot(3, { voters: ['a', 'b'], learners: [] }, bytes('snap'));
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(s.entries(4, 5, 1 << 20)).toEqual([e(3, 4)]);
    expect(() => s.entries(3, 5, 1 << 20)).toThrow(/assertion/);
    const r = new RaftNode({ id: 'a', storage: s, random: new SeededRandom(1), applied: 3 });
    expect(r.firstIndex()).toBe(4);
  });
});

describe('commit propagation', () => {
  const appends = (ms: readonly Message[], empty: boolean): Message[] => ms.filter((m) => m.type === 'Append' && (m.entries.length === 0) === empty);

  it('a commit rides on the next Append instead of a commit-only Append; an idle leader sends it on the next tick', () => {
    for (const heartbeatTicks of [1, 3]) {
      const c = new Cluster(['a', 'b', 'c'], { heartbeatTicks });
      const l = c.elect();
      c.tickAll(heartbeatTicks); // everyone knows the no-op's commit
      const fs = [...c.nodes.keys()].filter((id) => id !== l.id);
      c.sent.length = 0;
      const first = l.propose(bytes('x1'));
      c.settle();
      // one Append with the entry per follower, one answer each, and nothing else
      expect(appends(c.sent, false).length).toBe(2);
      expect(appends(c.sent, true)).toEqual([]);
      expect(c.sent.filter((m) => m.type === 'AppendResponse').length).toBe(2);
      expect(l.status().commit).toBe(first.index);
      for (const f of fs) expect(c.node(f).status().commit).toBe(first.index - 1);
      // the next proposal carries the commit of the first
      c.sent.length = 0;
      const second = l.propose(bytes('x2'));
      c.settle();
      expect(appends(c.sent, false).map((m) => m.commit)).toEqual([first.index, first.index]);
      expect(appends(c.sent, true)).toEqual([]);
      for (const f of fs) expect(c.node(f).status().commit).toBe(first.index);
      // idle: the next tick tells the followers, whether or not a heartbeat is due
      c.sent.length = 0;
      for (const n of c.nodes.values()) n.tick();
      c.settle();
      for (const f of fs) {
        expect(c.node(f).status().commit).toBe(second.index);
        expect(c.appliedData(f)).toEqual(['x1', 'x2']);
      }
      // once they know it, ticks send no more commit-only Appends
      c.sent.length = 0;
      for (const n of c.nodes.values()) n.tick();
      c.settle();
      expect(appends(c.sent, true)).toEqual([]);
    }
  });

  it('a commit of big entries goes out to the followers at once', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.tickAll(1);
    const fs = [...c.nodes.keys()].filter((id) => id !== l.id);
    c.sent.length = 0;
    const { index } = l.propose(new Uint8Array(20 * 1024).fill(7));
    c.settle();
    expect(appends(c.sent, true).length).toBe(2); // one commit-only Append per follower, no tick needed
    for (const f of fs) {
      expect(c.node(f).status().commit).toBe(index);
      expect(c.applied.get(f)!.map((e) => e.index)).toContain(index);
    }
  });

  it('a committed configuration change goes out to the followers at once', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const l = c.elect();
    c.tickAll(1);
    const { index } = l.proposeConfChange({ type: 'AddLearner', replica: 'd' });
    c.settle();
    for (const id of ['a', 'b', 'c']) {
      expect(c.node(id).status().commit).toBe(index);
      expect(c.node(id).confState().learners).toEqual(['d']);
    }
  });

  it('a leader answering a follower read point under its lease sends the commit first', () => {
    const c = new Cluster(['a', 'b', 'c'], { readOnly: 'LeaseBased' });
    const l = c.elect();
    c.tickAll(2);
    expect(l.leaseValid()).toBe(true);
    const { index } = l.propose(bytes('x'));
    c.settle(); // committed on the leader; the followers do not know yet
    const f = [...c.nodes.keys()].find((id) => id !== l.id)!;
    expect(c.node(f).status().commit).toBeLessThan(index);
    c.node(f).readIndex('fr');
    c.settle();
    expect(c.reads.get(f)).toEqual([{ index, requestCtx: 'fr' }]);
    expect(c.node(f).status().commit).toBeGreaterThanOrEqual(index);
    expect(c.appliedData(f)).toEqual(['x']);
  });
});
