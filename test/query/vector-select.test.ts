import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { fromArrow, fromArrowSelected, gather } from '../../src/query/vector.js';
import { mulberry32 as rng } from '../../bench/random.js';

// fromArrowSelected decodes only the selected rows of a string column when they are few; the
// answer must equal decoding everything and gathering (NULLs, non-ASCII, sliced data).
const SEED = 20261126;

describe(`fromArrowSelected over strings, seed ${SEED}`, () => {
  it('equals fromArrow + gather for sparse and dense selections', () => {
    const r = rng(SEED);
    const chars = ['a', 'b', 'é', '€', '😀', ' ', 'Z'];
    for (let round = 0; round < 30; round++) {
      const n = 1 + Math.floor(r() * 400);
      const vals = Array.from({ length: n }, () => (r() < 0.1 ? null : Array.from({ length: Math.floor(r() * 6) }, () => chars[Math.floor(r() * chars.length)]).join('')));
      let data = arrow.vectorFromArray(vals, new arrow.Utf8()).data[0]!;
      if (round % 3 === 2 && n > 4) data = arrow.vectorFromArray(vals, new arrow.Utf8()).slice(2, n - 1).data[0]!;
      const m = data.length;
      const density = round % 2 === 0 ? 0.05 : 0.6;
      const sel = Int32Array.from(Array.from({ length: m }, (_, i) => i).filter(() => r() < density));
      const want = gather(fromArrow([data], { type: 'string' }), sel);
      const got = fromArrowSelected(data, { type: 'string' }, sel);
      expect(got.values, `seed ${SEED} round ${round}`).toEqual(want.values);
      const norm = (v: Uint8Array | null, len: number): number[] => Array.from({ length: len }, (_, i) => (v === null ? 1 : v[i]!));
      expect(norm(got.valid, sel.length), `seed ${SEED} round ${round}`).toEqual(norm(want.valid, sel.length));
    }
  });
});
