import { describe, expect, it } from 'vitest';
import { BloomFilter } from '../../src/rowset/bloom-filter.js';

describe('bloom filter', () => {
  it('has no false negatives and few false positives', () => {
    const key = (i: number): Uint8Array => new TextEncoder().encode(`key-${i}`);
    const f = BloomFilter.forKeys(5000);
    for (let i = 0; i < 5000; i++) f.add(key(i));
    for (let i = 0; i < 5000; i++) expect(f.mayContain(key(i))).toBe(true);
    let fp = 0;
    for (let i = 5000; i < 15000; i++) if (f.mayContain(key(i))) fp++;
    expect(fp / 10000).toBeLessThan(0.03);
  });

  it('sets exactly the bits of the file format\'s two hashes (filters written before stay readable)', () => {
    // The hashes as first written (one pass each), kept here as the format's reference.
    const hash1 = (k: Uint8Array): number => {
      let h = 0x811c9dc5;
      for (const c of k) h = Math.imul(h ^ c, 0x01000193);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      return h | 0;
    };
    const hash2 = (k: Uint8Array): number => {
      let h = 0x9747b28c ^ k.length;
      for (const c of k) { h = Math.imul(h ^ c, 0x5bd1e995); h ^= h >>> 15; }
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return (h ^ (h >>> 16)) | 0;
    };
    let seed = 7;
    const rand = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
    const keys = Array.from({ length: 3000 }, () => Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
    const f = BloomFilter.forKeys(keys.length);
    const want = new Uint8Array(f.bits.length);
    const nbits = want.length * 8;
    for (const k of keys) {
      // Half through add, half through addRange on a larger buffer.
      if (rand() < 0.5) f.add(k);
      else { const big = new Uint8Array(k.length + 10); big.set(k, 5); f.addRange(big, 5, 5 + k.length); }
      let h1 = hash1(k);
      const h2 = hash2(k) | 1;
      for (let i = 0; i < f.hashCount; i++) {
        const b = (h1 >>> 0) % nbits;
        want[b >> 3] = (want[b >> 3] as number) | (1 << (b & 7));
        h1 = (h1 + h2) | 0;
      }
    }
    expect(Buffer.from(f.bits).equals(Buffer.from(want))).toBe(true);
    for (const k of keys) expect(f.mayContain(k)).toBe(true);
  });
});
