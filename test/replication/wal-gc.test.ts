import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalStorage } from '../../src/replication/wal-storage.js';
import { openLog, type LogEntry } from '../../src/wal/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function entries(from: number, to: number, term: (i: number) => number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ term: term(i), index: i, type: 'write', payload: new Uint8Array(200).fill(i & 0xff) });
  return out;
}

describe('log GC keeps Raft able to probe', () => {
  it('records the index and term of the last dropped entry, also across a reopen', async () => {
    dir = mkdtempSync(join(tmpdir(), 'saiga-walgc-'));
    const termOf = (i: number): number => 1 + Math.floor(i / 7);
    let log = await openLog({ dir, segmentBytes: 1024 });
    for (let i = 1; i <= 60; i += 3) await log.append(entries(i, i + 2, termOf)); // segments roll between appends
    const segs = log.segmentPaths().length;
    expect(segs).toBeGreaterThan(5);
    const point = log.gcPoint(40);
    expect(point).toBeDefined();
    const dropped = log.gc(40);
    expect(dropped).toBeGreaterThan(0);
    const first = log.firstIndex();
    expect(first - 1).toBe(point);
    expect(first).toBeLessThanOrEqual(40);
    expect(log.snapshotMarker()).toEqual({ index: first - 1, term: termOf(first - 1) });
    const storage = new WalStorage(log, { get: () => ({ voters: ['a'], learners: [] }) });
    expect(storage.term(first - 1)).toBe(termOf(first - 1));
    expect(() => storage.term(first - 2)).toThrow(/unknown/);
    expect(storage.snapshot().metadata).toEqual({ index: first - 1, term: termOf(first - 1), confState: { voters: ['a'], learners: [] } });
    await log.close();

    log = await openLog({ dir, segmentBytes: 1024 });
    expect(log.firstIndex()).toBe(first);
    expect(log.lastIndex()).toBe(60);
    expect(log.term(first - 1)).toBe(termOf(first - 1));
    expect(log.read(first, 61).map((e) => e.index)).toEqual(entries(first, 60, termOf).map((e) => e.index));
    expect(readdirSync(dir).filter((n) => n.endsWith('.wal')).length).toBe(segs - dropped);
    await log.close();
  });
});
