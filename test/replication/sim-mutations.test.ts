import { AssertionError } from '../../src/common/assert.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftNode } from '../../src/replication/raft.js';
import { RaftLog } from '../../src/replication/raft-log.js';
import { optionsForSeed, runSimulation } from './sim.js';
import type { SimOptions } from './sim.js';

/**
 * The simulation's checks must be able to fail: plant a known bug (in the core by patching a
 * method, or in the driver through SimOptions.driverBug) and require that some seed catches it.
 */
type Patch = () => () => void;

function patch<T extends object>(proto: T, name: string, impl: (this: any, ...args: any[]) => unknown): () => void {
  const target = proto as Record<string, unknown>;
  const orig = target[name];
  target[name] = impl;
  return () => { target[name] = orig; };
}

let undo: (() => void) | undefined;
afterEach(() => { undo?.(); undo = undefined; });

function firstCaught(overrides: Partial<SimOptions>, seedsMax: number, seedsFrom = 1): { seed: number; failure: string } | undefined {
  for (let seed = seedsFrom; seed <= seedsMax; seed++) {
    let r;
    try {
      r = runSimulation(optionsForSeed(seed, overrides));
    } catch (e) {
      if (!(e instanceof AssertionError)) throw e;
      return { seed, failure: `threw: ${e.message}` }; // an assertion in the core caught it
    }
    if (r.failures.length > 0) return { seed, failure: r.failures[0]! };
  }
  return undefined;
}

const cases: { name: string; overrides: Partial<SimOptions>; apply?: Patch; seedsMax: number; seedsFrom?: number }[] = [
  {
    name: 'ReadIndex answered without a heartbeat round (stale reads on a deposed leader)',
    overrides: { readOnly: 'Safe', partitions: true, checkQuorum: false },
    apply: () => patch(RaftNode.prototype, 'serveRead', function (this: any, ctx: string) {
      this.readStates.push({ index: this.log.committed, requestCtx: ctx });
    }),
    seedsMax: 300,
  },
  {
    name: 'a lease that never expires',
    overrides: { readOnly: 'LeaseBased', partitions: true },
    apply: () => patch(RaftNode.prototype, 'leaseValid', function (this: any) {
      return this.role === 'Leader' && this.committedEntryInCurrentTerm();
    }),
    seedsMax: 300,
  },
  {
    name: 'a follower answers ReadIndex from its own commit index instead of asking the leader',
    overrides: { readOnly: 'Safe', partitions: true },
    apply: () => {
      const orig = (RaftNode.prototype as any).readIndex;
      return patch(RaftNode.prototype, 'readIndex', function (this: any, ctx: string) {
        if (this.role === 'Follower' && this.lead !== '') this.readStates.push({ index: this.log.committed, requestCtx: ctx });
        else orig.call(this, ctx);
      });
    },
    seedsMax: 300,
  },
  {
    name: 'votes granted without the up-to-date log check',
    overrides: { crashes: true, partitions: true },
    apply: () => patch(RaftLog.prototype, 'isUpToDate', () => true),
    seedsMax: 300,
  },
  {
    name: 'driver sends a Ready\'s messages before persisting it',
    // Seeds 1..300 catch it with the classic driving style (apply after the persist).
    overrides: { driverBug: 'sendBeforeSync', crashes: true, applyWhilePersisting: false },
    seedsMax: 300,
  },
  {
    // Applying while persisting changes every schedule; the first catching seed is 784.
    name: 'driver sends a Ready\'s messages before persisting it (applying while persisting)',
    overrides: { driverBug: 'sendBeforeSync', crashes: true, applyWhilePersisting: true },
    seedsFrom: 701,
    seedsMax: 800,
  },
  {
    name: 'elections won with one vote short of a quorum',
    overrides: { checkQuorum: false, readOnly: 'Safe', preVote: false, partitions: true },
    apply: () => patch(RaftNode.prototype, 'quorum', function (this: any) {
      return Math.max(1, Math.floor(this.voters.size / 2));
    }),
    seedsMax: 300,
  },
  {
    name: 'driver loses appended entries it acknowledged',
    overrides: { driverBug: 'forgetEntries', crashes: true },
    seedsMax: 300,
  },
];

describe('simulation catches planted bugs', () => {
  for (const c of cases) {
    it(c.name, () => {
      if (c.apply !== undefined) undo = c.apply();
      const caught = firstCaught(c.overrides, c.seedsMax, c.seedsFrom);
      console.log(`${c.name}: ${caught === undefined ? 'NOT CAUGHT' : `seed ${caught.seed}: ${caught.failure}`}`);
      expect(caught, `no seed in ${c.seedsFrom ?? 1}..${c.seedsMax} caught: ${c.name}`).toBeDefined();
    });
  }
});
