import { describe, expect, it } from 'vitest';
import { optionsForSeed, runSimulation } from './sim.js';
import { runSeeds } from './sim-seeds.js';

/**
 * Seeded simulations of 3- and 5-replica groups under drops, delays, duplicates, partitions,
 * crash-restarts with lost unsynced writes and leadership transfers, with the safety and
 * linearizability checks of sim.ts. Replay one seed: SEED=n npx vitest run test/replication
 * More seeds: SIM_SEEDS=5000 npx vitest run test/replication/sim.test.ts
 */
describe('raft simulation', () => {
  runSeeds('faults', {}, 1200, 1);
});

describe('raft simulation determinism', () => {
  it('a seed replays exactly, and different seeds differ', () => {
    const a = runSimulation(optionsForSeed(7));
    const b = runSimulation(optionsForSeed(7));
    const c = runSimulation(optionsForSeed(8));
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.stats).toEqual(a.stats);
    expect(c.traceHash).not.toBe(a.traceHash);
    expect(a.stats.putsAcked).toBeGreaterThan(0);
    expect(a.stats.getsOk).toBeGreaterThan(0);
  });
});
