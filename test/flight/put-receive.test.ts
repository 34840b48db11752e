import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { MessageBufferPool, POOL_IN_USE_TRACKED_MAX, POOLED_MESSAGE_BYTES_MIN, PooledMessageDecoder } from '../../src/server/flight/put-receive.js';

// grpc-js's own reassembler is the model the pooled one must match.
const require = createRequire(import.meta.url);
const { StreamDecoder } = require('@grpc/grpc-js/build/src/stream-decoder.js') as { StreamDecoder: new (max: number) => { write(b: Buffer): Buffer[] } };

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
}

/** gRPC frames of messages with the given sizes (contents from the seed). */
function frames(sizes: readonly number[], seed: number): Buffer {
  const r = rng(seed);
  const parts: Buffer[] = [];
  for (const n of sizes) {
    const f = Buffer.alloc(5 + n);
    f.writeUInt32BE(n, 1);
    for (let i = 0; i < n; i += 97) f[5 + i] = Math.floor(r() * 256);
    parts.push(f);
  }
  return Buffer.concat(parts);
}

/** `wire` cut into chunks of random lengths (1 byte .. maxChunk). */
function chunks(wire: Buffer, maxChunk: number, r: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < wire.length;) {
    const n = Math.min(wire.length - at, 1 + Math.floor(r() * maxChunk));
    out.push(wire.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('DoPut pooled message decoder', () => {
  it('reassembles exactly the messages grpc-js StreamDecoder does, at any chunking (seeded)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const sizes = Array.from({ length: 3 + Math.floor(r() * 6) }, () => (r() < 0.3 ? 0 : r() < 0.5 ? Math.floor(r() * 300) : POOLED_MESSAGE_BYTES_MIN + Math.floor(r() * 200_000)));
      const wire = frames(sizes, seed);
      const model = new StreamDecoder(-1);
      const pool = new MessageBufferPool();
      const ours = new PooledMessageDecoder(pool, -1);
      const want: Buffer[] = [];
      const got: Buffer[] = [];
      for (const c of chunks(wire, seed % 2 === 0 ? 20_000 : 7, r)) {
        want.push(...model.write(c));
        // Messages are handed on as they complete; the consumer reads them, then gives them back.
        for (const m of ours.write(c)) {
          got.push(Buffer.from(m));
          pool.release(m);
        }
      }
      expect(got.length, `seed ${seed}`).toBe(sizes.length);
      expect(got.map((b) => b.length), `seed ${seed}`).toEqual(want.map((b) => b.length));
      got.forEach((b, i) => expect(b.equals(want[i] as Buffer), `seed ${seed} message ${i}`).toBe(true));
      expect(ours.readState).toBe(0);
      expect(pool.inUseCount).toBe(0);
    }
  });

  it('reuses a buffer only after it is given back', () => {
    const pool = new MessageBufferPool();
    const dec = new PooledMessageDecoder(pool, -1);
    const n = POOLED_MESSAGE_BYTES_MIN + 1000;
    const [a] = dec.write(frames([n], 1));
    const [b] = dec.write(frames([n], 2));
    expect(a!.buffer).not.toBe(b!.buffer);
    expect(pool.inUseCount).toBe(2);
    const keep = Buffer.from(a!);
    pool.release(a!.subarray(5));
    const [c] = dec.write(frames([n - 10], 3));
    expect(c!.buffer).toBe(a!.buffer);
    expect(pool.reused).toBe(1);
    // b was never given back: its bytes are untouched by the later messages.
    expect(b!.equals(frames([n], 2))).toBe(true);
    expect(keep.equals(frames([n], 1))).toBe(true);
    // Views on other memory are ignored.
    pool.release(new Uint8Array(8));
    expect(pool.inUseCount).toBe(2);
  });

  it('forgets the oldest buffers never given back (bounded), and never reuses them', () => {
    const pool = new MessageBufferPool();
    const dec = new PooledMessageDecoder(pool, -1);
    const n = POOLED_MESSAGE_BYTES_MIN + 10;
    const held: Buffer[] = [];
    for (let i = 0; i < POOL_IN_USE_TRACKED_MAX + 5; i++) held.push(...dec.write(frames([n], 100 + i)));
    expect(pool.inUseCount).toBe(POOL_IN_USE_TRACKED_MAX);
    // A forgotten buffer given back late is ignored; tracked ones are reused.
    pool.release(held[0]!);
    expect(pool.inUseCount).toBe(POOL_IN_USE_TRACKED_MAX);
    pool.release(held[held.length - 1]!);
    const [again] = dec.write(frames([n], 1));
    expect(again!.buffer).toBe(held[held.length - 1]!.buffer);
    held.slice(0, -1).forEach((b, i) => expect(b.equals(frames([n], 100 + i)), `message ${i}`).toBe(true));
  });

  it('refuses a message above the limit with grpc-js decoder message', () => {
    const dec = new PooledMessageDecoder(new MessageBufferPool(), 100);
    expect(() => dec.write(frames([101], 1))).toThrow('Received message larger than max (101 vs 100)');
  });
});
