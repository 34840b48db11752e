import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntries, type LogEntry } from '../../src/wal/entry-codec.js';
import { logSyncStats, openLog } from '../../src/wal/log.js';
import { SEGMENT_HEADER_BYTES } from '../../src/wal/entry-codec.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(index: number): LogEntry {
  const payload = new Uint8Array(40);
  for (let i = 0; i < payload.length; i++) payload[i] = (index * 17 + i) & 0xff;
  return { term: 1, index, type: 'write', payload };
}

describe('group commit counters and the O_DSYNC active segment', () => {
  it('counts one sync per group commit and every entry it made durable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-wal-stats-'));
    dirs.push(dir);
    const log = await openLog({ dir });
    const before = logSyncStats();
    // 20 appends issued in one turn: the first starts a write, the other 19 queue behind it and
    // share the next one.
    const all: LogEntry[] = [];
    const done: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      const e = entry(i);
      all.push(e);
      done.push(log.append([e]));
    }
    await Promise.all(done);
    const after = logSyncStats();
    expect(after.entries - before.entries).toBe(20);
    expect(after.syncs - before.syncs).toBeGreaterThanOrEqual(1);
    expect(after.syncs - before.syncs).toBeLessThanOrEqual(2);
    expect(after.syncMs).toBeGreaterThanOrEqual(before.syncMs);
    expect(log.durableIndex()).toBe(20);
    // The segment holds exactly the records, in order (no second write path), then only the zeros
    // written ahead of them (zero-fill).
    const seg = log.segmentPaths()[0] as string;
    const bytes = readFileSync(seg);
    const records = Buffer.from(encodeEntries(all));
    expect(log.sizeBytes()).toBe(SEGMENT_HEADER_BYTES + records.length);
    expect(Buffer.from(bytes.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + records.length)).equals(records)).toBe(true);
    expect(bytes.subarray(SEGMENT_HEADER_BYTES + records.length).every((b) => b === 0)).toBe(true);
    await log.close();
    // Durable across a reopen.
    const again = await openLog({ dir });
    expect(again.lastIndex()).toBe(20);
    expect(again.read(1, 21).map((e) => e.index)).toEqual(all.map((e) => e.index));
    await again.close();
  });
});
