import { describe, expect, it } from 'vitest';
import type { ColumnSchema, Value } from '../../src/common/types.js';
import { buildColumn, columnMinMax } from '../../src/rowset/column-data.js';
import { mulberry32 as rng } from '../../bench/random.js';

/** columnMinMax of int64 / timestamp / decimal columns (double fast pass + exact fallback) vs BigInt. */

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

describe('columnMinMax of strings (first-byte shortcut) vs a byte-order model', () => {
  for (let seed = 1; seed <= 4; seed++) {
    it(`matches Buffer.compare order (seed ${seed})`, () => {
      const rand = rng(seed * 7919);
      const col: ColumnSchema = { name: 's', type: 'string', nullable: true };
      const alphabet = ['', 'a', 'b', 'z', 'é', '\u0000', 'ab', 'aa', 'zz', '日本'];
      for (let round = 0; round < 30; round++) {
        const n = 1 + Math.floor(rand() * 60);
        const values: (string | null)[] = [];
        for (let i = 0; i < n; i++) {
          if (rand() < 0.15) { values.push(null); continue; }
          let s = '';
          const parts = Math.floor(rand() * 4);
          for (let k = 0; k < parts; k++) s += alphabet[Math.floor(rand() * alphabet.length)];
          values.push(s);
        }
        const live = values.filter((v): v is string => v !== null).map((v) => Buffer.from(v, 'utf8'));
        const [min, max, nulls] = columnMinMax(col, buildColumn(col, n, (i) => values[i] as Value));
        const where = `seed ${seed} round ${round} ${JSON.stringify(values)}`;
        expect(nulls, where).toBe(n - live.length);
        if (live.length === 0) { expect([min, max], where).toEqual([null, null]); continue; }
        const sorted = [...live].sort(Buffer.compare);
        expect(min, where).toBe(sorted[0]!.toString('utf8'));
        expect(max, where).toBe(sorted[sorted.length - 1]!.toString('utf8'));
      }
    });
  }
});
