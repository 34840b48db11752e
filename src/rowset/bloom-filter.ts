import { assert } from '../common/assert.js';

/**
 * A blocked-free classic Bloom filter over encoded primary keys: k probes by double hashing of
 * two 32-bit FNV-1a variants. Sized for ~1% false positives at 10 bits per key.
 */
export class BloomFilter {
  constructor(readonly bits: Uint8Array, readonly hashCount: number) {
    assert(bits.length > 0 && hashCount > 0, 'bloom filter has bits and hashes');
  }

  static forKeys(keyCount: number, bitsPerKey = 10): BloomFilter {
    const nbits = Math.max(64, keyCount * bitsPerKey);
    const hashCount = Math.max(1, Math.min(12, Math.round(bitsPerKey * 0.69)));
    return new BloomFilter(new Uint8Array((nbits + 7) >> 3), hashCount);
  }

  add(key: Uint8Array): void {
    this.addRange(key, 0, key.length);
  }

  /** add(bytes.subarray(s, e)) without the view. */
  addRange(bytes: Uint8Array, s: number, e: number): void {
    const nbits = this.bits.length * 8;
    let h1 = hash1(bytes, s, e);
    const h2 = hash2(bytes, s, e) | 1;
    for (let i = 0; i < this.hashCount; i++) {
      const b = (h1 >>> 0) % nbits;
      this.bits[b >> 3] = (this.bits[b >> 3] as number) | (1 << (b & 7));
      h1 = (h1 + h2) | 0;
    }
  }

  mayContain(key: Uint8Array): boolean {
    const nbits = this.bits.length * 8;
    let h1 = hash1(key, 0, key.length);
    const h2 = hash2(key, 0, key.length) | 1;
    for (let i = 0; i < this.hashCount; i++) {
      const b = (h1 >>> 0) % nbits;
      if (((this.bits[b >> 3] as number) & (1 << (b & 7))) === 0) return false;
      h1 = (h1 + h2) | 0;
    }
    return true;
  }
}

function hash1(key: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

function hash2(key: Uint8Array, s: number, e: number): number {
  let h = 0x9747b28c ^ (e - s);
  for (let i = s; i < e; i++) {
    h = Math.imul(h ^ (key[i] as number), 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
