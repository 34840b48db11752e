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
    let h1 = hashes(bytes, s, e);
    const h2 = lastHash2 | 1;
    for (let i = 0; i < this.hashCount; i++) {
      const b = (h1 >>> 0) % nbits;
      this.bits[b >> 3] = (this.bits[b >> 3] as number) | (1 << (b & 7));
      h1 = (h1 + h2) | 0;
    }
  }

  mayContain(key: Uint8Array): boolean {
    const nbits = this.bits.length * 8;
    let h1 = hashes(key, 0, key.length);
    const h2 = lastHash2 | 1;
    for (let i = 0; i < this.hashCount; i++) {
      const b = (h1 >>> 0) % nbits;
      if (((this.bits[b >> 3] as number) & (1 << (b & 7))) === 0) return false;
      h1 = (h1 + h2) | 0;
    }
    return true;
  }
}

/** hashes()'s second hash (a module variable: no object per key). */
let lastHash2 = 0;

/**
 * Both probe hashes of key[s, e) in one pass over its bytes (the file format fixes them): returns
 * the FNV-1a variant and leaves the murmur-style one in lastHash2.
 */
function hashes(key: Uint8Array, s: number, e: number): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ (e - s);
  for (let i = s; i < e; i++) {
    const c = key[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  lastHash2 = (b ^ (b >>> 16)) | 0;
  return a | 0;
}
