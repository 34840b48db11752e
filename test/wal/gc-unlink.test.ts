import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/wal/entry-codec.js';
import { openLog } from '../../src/wal/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entries(from: number, to: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term: 1, type: 'write', payload: new Uint8Array(50).fill(i & 0xff) });
  return out;
}

describe('log GC unlinks dropped segments off the writing thread', () => {
  it('removes every dropped segment file by segmentsRemoved(), keeps the rest, and reopens the same log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-gc-unlink-'));
    dirs.push(dir);
    const log = await openLog({ dir, segmentBytes: 1000 });
    for (let i = 1; i <= 100; i += 5) await log.append(entries(i, i + 4));
    const before = log.segmentPaths();
    log.anchors.set('mrs', 60);
    const dropped = log.gc();
    expect(dropped).toBeGreaterThan(0);
    const kept = log.segmentPaths();
    expect(kept).toEqual(before.slice(dropped));
    // A second round while the first round's unlinks may still be in flight.
    for (let i = 101; i <= 150; i += 5) await log.append(entries(i, i + 4));
    log.anchors.set('mrs', 120);
    const dropped2 = log.gc();
    expect(dropped2).toBeGreaterThan(0);
    await log.segmentsRemoved();
    for (const p of before.slice(0, dropped)) expect(existsSync(p), p).toBe(false);
    for (const p of log.segmentPaths()) expect(existsSync(p), p).toBe(true);
    const first = log.firstIndex();
    expect(first).toBeLessThanOrEqual(120);
    expect(log.read(first, 151)).toHaveLength(151 - first);
    await log.close();
    const again = await openLog({ dir, segmentBytes: 1000 });
    expect(again.firstIndex()).toBe(first);
    expect(again.lastIndex()).toBe(150);
    await again.close();
  });
});
