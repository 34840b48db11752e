import { afterEach, describe, expect, it } from 'vitest';
import { newRaftNode, MemoryStorage, SeededRandom } from '../../src/replication/index.js';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from '../../src/replication/index.js';
import { RaftDriver, raftHoldStats, type GroupStateMachine, type PersistTarget } from '../../src/replication/raft-driver.js';

// The RaftDriver's group-commit hold for lone-voter groups (the embedded server): proposals made
// just after a persist wait (bounded) until about as many writers as were seen recently are back,
// so one persist carries them all; committed entries are never held, and nothing is applied
// before it is durable.

/** A lone voter's storage whose persists the test completes by hand (or at once with `auto`). */
class ManualPersist implements PersistTarget {
  readonly persists: number[] = [];
  durable = 0;
  auto = true;
  private waiting: (() => void)[] = [];
  constructor(readonly storage: MemoryStorage) {
    this.durable = storage.lastIndex();
  }

  persist(entries: readonly Entry[], hardState: HardState | undefined): Promise<void> {
    if (entries.length > 0) this.persists.push(entries.length);
    const done = (): void => {
      if (entries.length > 0) {
        this.storage.append(entries);
        this.durable = (entries[entries.length - 1] as Entry).index;
      }
      if (hardState !== undefined) this.storage.setHardState(hardState);
    };
    if (this.auto) {
      done();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(() => {
      done();
      resolve();
    }));
  }

  /** Completes the oldest persist in flight. */
  complete(): void {
    const f = this.waiting.shift();
    expect(f).toBeDefined();
    f?.();
  }

  inFlight(): number {
    return this.waiting.length;
  }
}

class Recorder implements GroupStateMachine {
  readonly applied: number[] = [];
  role = '';
  constructor(private readonly target: ManualPersist) {}
  installSnapshot(_s: Snapshot): Promise<void> {
    return Promise.resolve();
  }
  applyCommitted(entries: readonly Entry[]): void {
    for (const e of entries) {
      // Durability: nothing is applied (answered) before it is persisted here.
      expect(e.index).toBeLessThanOrEqual(this.target.durable);
      if (e.type === 'Normal' && e.data.byteLength > 0) this.applied.push(e.index);
    }
  }
  readStates(_s: readonly ReadState[]): void {}
  softStateChanged(s: SoftState): void {
    this.role = s.role;
  }
  failed(e: unknown): void {
    throw e;
  }
}

const drivers: RaftDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.stop();
});

/** Lets setImmediate / promise continuations run (the driver defers each Ready one turn). */
async function turns(n = 6): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function loneLeader(holdMsMax: number, nowMs?: () => number): Promise<{ driver: RaftDriver; target: ManualPersist; sm: Recorder; propose: (n: number) => void }> {
  const driver = new RaftDriver({ serverId: 's1', tickMs: 1000, holdMsMax, transport: { send: () => Promise.reject(new Error('no peers')) }, ...(nowMs === undefined ? {} : { nowMs }) });
  drivers.push(driver);
  const storage = MemoryStorage.bootstrap(['s1']);
  const node = newRaftNode({ id: 's1', storage, random: new SeededRandom(7), electionTicks: 10, heartbeatTicks: 1 });
  const target = new ManualPersist(storage);
  const sm = new Recorder(target);
  driver.addGroup('g', node, target, sm);
  await turns(); // applies the bootstrap configuration entry first
  driver.withNode('g', (n) => n.campaign());
  await turns();
  expect(sm.role).toBe('Leader');
  const data = new Uint8Array([1, 2, 3]);
  return { driver, target, sm, propose: (n) => driver.withNode('g', (x) => x.proposeBatch(Array.from({ length: n }, () => data))) };
}

describe('RaftDriver group-commit hold (lone voter)', () => {
  it('holds proposals until about as many writers as last time are back, then persists them together', async () => {
    const { target, sm, propose } = await loneLeader(10_000);
    propose(8);
    await turns();
    expect(target.persists.at(-1)).toBe(8);
    expect(sm.applied.length).toBe(8); // applied: the persist was immediate
    const before = target.persists.length;
    propose(1);
    await turns();
    propose(4);
    await turns();
    // 5 of the 8 writers seen are back (a hold ends at 3/4): still held, nothing persisted or applied.
    expect(target.persists.length).toBe(before);
    expect(sm.applied.length).toBe(8);
    propose(1);
    await turns();
    expect(target.persists.slice(before)).toEqual([6]);
    expect(sm.applied.length).toBe(14);
    // Applied in log order.
    expect([...sm.applied].sort((a, b) => a - b)).toEqual(sm.applied);
  });

  it('releases a hold after holdMsMax when the writers do not come back', async () => {
    const { target, sm, propose } = await loneLeader(5);
    propose(6);
    await turns();
    const before = target.persists.length;
    const stats0 = raftHoldStats();
    propose(1);
    await turns();
    expect(target.persists.length).toBe(before);
    await new Promise((r) => setTimeout(r, 30));
    await turns();
    expect(target.persists.slice(before)).toEqual([1]);
    expect(sm.applied.length).toBe(7);
    const stats1 = raftHoldStats();
    expect(stats1.holds - stats0.holds).toBe(1);
    expect(stats1.releasedByTimer - stats0.releasedByTimer).toBe(1);
    // The writers that did not come back are no longer expected: the next lone write goes at once.
    propose(1);
    await turns();
    expect(target.persists.slice(before)).toEqual([1, 1]);
    expect(raftHoldStats().holds).toBe(stats1.holds);
  });

  it('a hold that starts after one its writers ended gets its whole holdMsMax (the one timer is re-armed)', async () => {
    // The driver's clock stands still (writers are never forgotten); the hold bound is a real timer.
    const { target, sm, propose } = await loneLeader(200, () => 0);
    propose(8);
    await turns();
    const before = target.persists.length;
    const stats0 = raftHoldStats();
    propose(1); // hold 1 starts: its bound is 200 ms from now
    await turns();
    propose(6); // 7 of 8 writers back: released by the writers, the timer stays armed
    await turns();
    expect(target.persists.slice(before)).toEqual([7]);
    await new Promise((r) => setTimeout(r, 120));
    propose(1); // hold 2 starts ~120 ms later
    await turns();
    await new Promise((r) => setTimeout(r, 120)); // past hold 1's bound, within hold 2's
    await turns();
    expect(target.persists.slice(before)).toEqual([7]);
    await new Promise((r) => setTimeout(r, 200));
    await turns();
    expect(target.persists.slice(before)).toEqual([7, 1]);
    expect(sm.applied.length).toBe(16);
    const stats1 = raftHoldStats();
    expect([stats1.holds - stats0.holds, stats1.releasedByWriters - stats0.releasedByWriters, stats1.releasedByTimer - stats0.releasedByTimer]).toEqual([2, 1, 1]);
  });

  it('never holds back the answers of a finished persist', async () => {
    const { target, sm, propose } = await loneLeader(10_000);
    target.auto = false;
    propose(4);
    await turns();
    expect(target.inFlight()).toBe(1);
    propose(2); // arrive while the 4 are persisted: 6 writers are active
    await turns();
    target.complete();
    await turns();
    // The 4 are applied (answered) at once; the 2 are held for the 4 to come back.
    expect(sm.applied.length).toBe(4);
    expect(target.inFlight()).toBe(0);
    propose(2);
    await turns();
    expect(target.inFlight()).toBe(0);
    propose(1); // 5 of 6 writers: released
    await turns();
    expect(target.inFlight()).toBe(1);
    expect(target.persists.slice(-2)).toEqual([4, 5]);
    target.complete();
    await turns();
    expect(sm.applied.length).toBe(9);
  });

  it('forgets writers not seen for a while: a lone write after a pause is not held', async () => {
    const { target, sm, propose } = await loneLeader(10_000);
    propose(8);
    await turns();
    await new Promise((r) => setTimeout(r, 80));
    const before = target.persists.length;
    propose(1);
    await turns();
    expect(target.persists.slice(before)).toEqual([1]);
    expect(sm.applied.length).toBe(9);
  });

  it('does not hold without holdMsMax', async () => {
    const { target, sm, propose } = await loneLeader(0);
    propose(8);
    await turns();
    propose(1);
    await turns();
    expect(target.persists.slice(-2)).toEqual([8, 1]);
    expect(sm.applied.length).toBe(9);
  });
});
