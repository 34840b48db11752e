import { describe } from 'vitest';
import { runSeeds } from './sim-seeds.js';

/** As sim.test.ts, plus one-server membership changes (learners, promotions, removals) with two spare replicas. */
describe('raft simulation with membership changes', () => {
  runSeeds('membership', { membership: true, spares: 2, transfers: true }, 400, 100_001);
});
