import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntries, SEGMENT_HEADER_BYTES, type LogEntry } from '../../src/wal/entry-codec.js';
import { openLog } from '../../src/wal/log.js';
import { RecentEntryBudget } from '../../src/wal/recent-entries.js';

// Group commits lay records out in the log's reusable write slab (small payloads copied next to
// their headers, large ones written from the caller's buffer). These tests check the bytes on
// disk equal the reference encoding and read back after a reopen, across slab reuse and growth.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Deterministic payload sizes: mostly small, some just around the inline limit, some large. */
function sizes(seed: number, n: number): number[] {
  let s = seed >>> 0;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = next() % 10;
    out.push(r < 6 ? next() % 200 : r < 8 ? 4090 + (next() % 12) : 5000 + (next() % 300_000));
  }
  return out;
}

function entryOf(index: number, size: number): LogEntry {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (index * 131 + i * 7) & 0xff;
  return { term: 1 + (index >> 4), index, type: index % 3 === 0 ? 'writeBatch' : 'write', payload };
}

describe('log write slab', () => {
  for (const seed of [1, 2, 3]) {
    it(`concurrent appends of mixed sizes are written as the reference encoding (seed ${seed})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'saiga-wal-slab-'));
      dirs.push(dir);
      const budget = new RecentEntryBudget(0);
      const log = await openLog({ dir, segmentBytes: 64 << 20, recentBudget: budget });
      const all: LogEntry[] = [];
      const sz = sizes(seed, 120);
      let k = 0;
      // Rounds of several appends issued in one turn: each round is a few group commits.
      while (k < sz.length) {
        const pending: Promise<void>[] = [];
        const round = 1 + (k % 9);
        for (let j = 0; j < round && k < sz.length; j++, k++) {
          const e = entryOf(log.lastIndex() + 1, sz[k] as number);
          all.push(e);
          pending.push(log.append([e]));
        }
        await Promise.all(pending);
      }
      await log.close();
      const segs = readdirSync(dir).filter((f) => f.endsWith('.wal'));
      expect(segs.length, `seed ${seed}`).toBe(1);
      const bytes = readFileSync(join(dir, segs[0] as string));
      const expected = encodeEntries(all);
      const records = bytes.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + expected.byteLength);
      expect(Buffer.compare(Buffer.from(records), Buffer.from(expected)), `seed ${seed}`).toBe(0);
      // The rest of the segment (zero-fill ahead) holds no stray bytes.
      expect(bytes.subarray(SEGMENT_HEADER_BYTES + expected.byteLength).every((b) => b === 0), `seed ${seed}`).toBe(true);

      const again = await openLog({ dir, segmentBytes: 64 << 20, recentBudget: budget });
      const back = again.read(1, all.length + 1);
      expect(back.length, `seed ${seed}`).toBe(all.length);
      for (let i = 0; i < all.length; i++) {
        const a = all[i] as LogEntry;
        const b = back[i] as LogEntry;
        expect([b.index, b.term, b.type], `seed ${seed} entry ${i}`).toEqual([a.index, a.term, a.type]);
        expect(Buffer.compare(Buffer.from(b.payload), Buffer.from(a.payload)), `seed ${seed} entry ${i}`).toBe(0);
      }
      await again.close();
    });
  }
});
