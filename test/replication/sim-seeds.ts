import { expect, it } from 'vitest';
import { optionsForSeed, runSimulation } from './sim.js';
import type { SimOptions } from './sim.js';

/**
 * Registers seeded simulation runs as tests, 100 seeds per test. Replay one seed:
 * SEED=n npx vitest run test/replication ; more seeds: SIM_SEEDS=5000.
 */
export function runSeeds(label: string, overrides: Partial<SimOptions>, defaultCount: number, firstSeed: number): void {
  const one = process.env['SEED'];
  const count = Number(process.env['SIM_SEEDS'] ?? defaultCount);
  const seeds = one !== undefined ? [Number(one)] : Array.from({ length: count }, (_, i) => firstSeed + i);
  const chunk = 100;
  for (let at = 0; at < seeds.length; at += chunk) {
    const slice = seeds.slice(at, at + chunk);
    it(`${label}: seeds ${slice[0]}..${slice[slice.length - 1]}`, () => {
      for (const seed of slice) {
        const opts = optionsForSeed(seed, overrides);
        let failures: string[];
        try {
          failures = runSimulation(opts).failures;
        } catch (e) {
          failures = [`threw: ${(e as Error).stack ?? String(e)}`];
        }
        if (failures.length > 0) {
          console.error(`${label} failed with SEED=${seed} (replay: SEED=${seed} npx vitest run test/replication)\noptions: ${JSON.stringify(opts)}\n${failures.join('\n')}`);
        }
        expect(failures, `${label} SEED=${seed}`).toEqual([]);
      }
    });
  }
}

