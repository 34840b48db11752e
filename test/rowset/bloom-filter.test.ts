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
});
