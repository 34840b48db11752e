import { describe } from 'vitest';
import { runSeeds } from './sim-seeds.js';

/**
 * Seeded simulations of 3- and 5-replica groups under drops, delays, duplicates, partitions,
 * crash-restarts with lost unsynced writes and leadership transfers, with the safety and
 * linearizability checks of sim.ts. Replay one seed: SEED=n npx vitest run test/replication
 * More seeds: SIM_SEEDS=5000 npx vitest run test/replication/sim.test.ts
 */
describe('raft simulation', () => {
  runSeeds('faults', {}, 1000, 1);
});
