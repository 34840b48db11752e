import { describe, expect, it } from 'vitest';
import type { ColumnSchema, Value } from '../../src/common/types.js';
import { buildColumn, columnMinMax } from '../../src/rowset/column-data.js';

/** columnMinMax of int64 / timestamp / decimal columns (double fast pass + exact fallback) vs BigInt. */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cols: ColumnSchema[] = [
  { name: 'i', type: 'int64', nullable: true },
  { name: 'd', type: 'decimal', nullable: true, precision: 38, scale: 2 },
  { name: 't', type: 'timestamp', nullable: true },
];

describe('columnMinMax', () => {
  for (let seed = 1; seed <= 6; seed++) {
    it(`matches a BigInt reference near and beyond 2^53 (seed ${seed})`, () => {
      const rand = rng(seed);
      const ri = (n: number): number => Math.floor(rand() * n);
      for (let round = 0; round < 40; round++) {
        const n = 1 + ri(50);
        const wide = rand() < 0.3;
        for (const c of cols) {
          const vals: Value[] = [];
          for (let i = 0; i < n; i++) {
            if (rand() < 0.15) { vals.push(null); continue; }
            const near = BigInt(ri(2000) - 1000) + (rand() < 0.5 ? 2n ** 53n : -(2n ** 53n));
            const big = c.type === 'decimal' ? BigInt(ri(2 ** 30)) * 10n ** 25n * (rand() < 0.5 ? 1n : -1n) : BigInt(ri(2 ** 30)) * 2n ** 32n * (rand() < 0.5 ? 1n : -1n);
            const v = wide && rand() < 0.3 ? big : rand() < 0.2 ? near : BigInt(ri(2 ** 31) - 2 ** 30) * BigInt(1 + ri(1000));
            vals.push(c.type === 'timestamp' ? Number(v >= -(2n ** 53n) && v <= 2n ** 53n ? v : v / 2n ** 20n) : v);
          }
          const data = buildColumn(c, n, (i) => vals[i]);
          const live = vals.filter((v) => v !== null).map((v) => BigInt(v as number | bigint));
          const [mn, mx, nulls] = columnMinMax(c, data);
          const where = `seed ${seed} round ${round} ${c.name}`;
          expect(nulls, where).toBe(n - live.length);
          if (live.length === 0) { expect([mn, mx], where).toEqual([null, null]); continue; }
          const wantMin = live.reduce((a, b) => (b < a ? b : a));
          const wantMax = live.reduce((a, b) => (b > a ? b : a));
          expect(BigInt(mn as number | bigint), `${where} min`).toBe(wantMin);
          expect(BigInt(mx as number | bigint), `${where} max`).toBe(wantMax);
        }
      }
    });
  }
});
