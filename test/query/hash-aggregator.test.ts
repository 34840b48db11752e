import { describe, expect, it } from 'vitest';
import { HashAggregator } from '../../src/query/execute.js';
import type { Chunk, Vector } from '../../src/query/vector.js';
import { mulberry32 as rng } from '../../bench/random.js';

// Single numeric group keys go through a direct map (key - lo) while their range stays small,
// growing below and above, and move to the hash map when a batch does not fit (sparse keys,
// fractions). Sums and counts per key against a Map model, for batches that take every path.
const SEED = 20261125;

function numVec(values: (number | null)[], type: 'int32' | 'double'): Vector {
  return {
    kind: 'num', type: { type }, values: Float64Array.from(values.map((v) => v ?? 0)),
    valid: values.some((v) => v === null) ? Uint8Array.from(values.map((v) => (v === null ? 0 : 1))) : null,
  };
}

describe(`HashAggregator over single numeric keys, seed ${SEED}`, () => {
  for (const scenario of ['dense', 'grow-down', 'sparse-later', 'fraction-later', 'nulls-first']) {
    it(`groups like a Map model: ${scenario}`, () => {
      const r = rng(SEED + scenario.length);
      const type = scenario === 'fraction-later' ? 'double' : 'int32';
      const agg = new HashAggregator([{ kind: 'col', index: 0, type: { type } }], [
        { fn: 'count_star', arg: null, type: { type: 'int64' } },
        { fn: 'sum', arg: { kind: 'col', index: 1, type: { type: 'int32' } }, type: { type: 'int64' } },
      ]);
      const model = new Map<number | null, [number, number]>();
      for (let b = 0; b < 12; b++) {
        const n = 1 + Math.floor(r() * 500);
        const keys: (number | null)[] = [];
        for (let i = 0; i < n; i++) {
          let k: number | null;
          if (scenario === 'nulls-first' && b < 2) k = null;
          else if (r() < 0.03) k = null;
          else if (scenario === 'grow-down') k = 1_000_000 - b * 20_000 + Math.floor(r() * 5000);
          else if (scenario === 'sparse-later' && b >= 6) k = Math.floor(r() * 1e9);
          else if (scenario === 'fraction-later' && b >= 6) k = Math.floor(r() * 1000) + 0.5;
          else k = Math.floor(r() * 3000) - 100;
          keys.push(k);
        }
        const vals = keys.map(() => Math.floor(r() * 100));
        const c: Chunk = { columns: [numVec(keys, type), numVec(vals, 'int32')], length: n };
        agg.add(c);
        keys.forEach((k, i) => { const m = model.get(k) ?? [0, 0]; m[0]++; m[1] += vals[i]!; model.set(k, m); });
      }
      const out = agg.finish();
      const got = new Map<number | null, [number, number]>();
      const kv = out.columns[0]!, cnt = out.columns[1]!, sum = out.columns[2]!;
      for (let i = 0; i < out.length; i++) {
        const k = kv.valid !== null && kv.valid[i] !== 1 ? null : (kv.values[i] as number);
        expect(got.has(k), `seed ${SEED} duplicate group ${k}`).toBe(false);
        got.set(k, [cnt.values[i] as number, sum.values[i] as number]);
      }
      expect(got, `seed ${SEED} ${scenario}`).toEqual(model);
    });
  }
});
