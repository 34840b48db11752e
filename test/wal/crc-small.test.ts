import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Small } from '../../src/wal/entry-codec.js';

/** Seeded LCG (the seed is printed with a failure). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
}

describe('crc32Small', () => {
  it('equals zlib crc32 over any range, continued from any value', () => {
    const seed = 20261121;
    const next = rng(seed);
    for (let t = 0; t < 2000; t++) {
      const bytes = new Uint8Array(next() % 64);
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      const from = bytes.length === 0 ? 0 : next() % bytes.length;
      const to = from + (bytes.length === from ? 0 : next() % (bytes.length - from + 1));
      const start = t % 3 === 0 ? 0 : next();
      expect(crc32Small(bytes, from, to, start), `seed ${seed} case ${t}`).toBe(crc32(bytes.subarray(from, to), start));
    }
  });

});
