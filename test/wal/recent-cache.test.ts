import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntries, SEGMENT_HEADER_BYTES, type LogEntry } from '../../src/wal/entry-codec.js';
import { openLog } from '../../src/wal/log.js';
import { RecentEntries, RecentEntryBudget } from '../../src/wal/recent-entries.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-wal-recent-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(index: number, term: number, size: number, salt = 0): LogEntry {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (index * 31 + i + salt) & 0xff;
  return { term, index, type: 'writeBatch', payload };
}

function payloads(es: readonly LogEntry[]): number[][] {
  return es.map((e) => [e.index, e.term, ...e.payload]);
}

describe('log writes payloads without copying and reads recent entries from memory', () => {
  it('writes the same bytes as encodeEntries (header + payload buffers, continued CRC)', async () => {
    const dir = tempDir();
    const log = await openLog({ dir, recentBudget: new RecentEntryBudget(0) });
    const es = [entry(1, 1, 0), entry(2, 1, 3000), entry(3, 2, 17)];
    await log.append(es.slice(0, 2));
    await log.append(es.slice(2));
    const file = readFileSync((log.segmentPaths()[0] as string));
    const records = encodeEntries(es);
    expect([...file.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + records.length)]).toEqual([...records]);
    expect(file.subarray(SEGMENT_HEADER_BYTES + records.length).every((b) => b === 0)).toBe(true); // zero-fill ahead
    await log.close();
    const again = await openLog({ dir });
    expect(payloads(again.read(1, 4))).toEqual(payloads(es));
    await again.close();
  });

  it('serves reads from the cache, from disk past the budget, and never a truncated entry', async () => {
    for (const budgetBytes of [0, 2500, 1 << 20]) {
      const dir = tempDir();
      const budget = new RecentEntryBudget(budgetBytes);
      const log = await openLog({ dir, recentBudget: budget, segmentBytes: 4096 });
      const written: LogEntry[] = [];
      for (let i = 1; i <= 40; i++) {
        const e = entry(i, 1, 100 + ((i * 37) % 300));
        written.push(e);
        await log.append([e]);
        expect(budget.bytes).toBeLessThanOrEqual(budgetBytes);
      }
      expect(payloads(log.read(1, 41)), `budget ${budgetBytes}`).toEqual(payloads(written));
      expect(payloads(log.read(17, 23))).toEqual(payloads(written.slice(16, 22)));
      // A conflicting suffix replaced with other payloads: reads see the new ones only.
      const replaced = [entry(30, 2, 50, 7), entry(31, 2, 60, 9)];
      await log.appendReplacing(replaced);
      const expected = [...written.slice(0, 29), ...replaced];
      expect(payloads(log.read(1, 100)), `budget ${budgetBytes}`).toEqual(payloads(expected));
      await log.close();
      const again = await openLog({ dir });
      expect(payloads(again.read(1, 100))).toEqual(payloads(expected));
      await again.close();
    }
  });

  it('a shared budget evicts the oldest entries of any log first', () => {
    const budget = new RecentEntryBudget(300);
    const a = new RecentEntries(budget);
    const b = new RecentEntries(budget);
    a.push(entry(1, 1, 100));
    b.push(entry(5, 1, 100));
    a.push(entry(2, 1, 100));
    expect(budget.bytes).toBe(300);
    b.push(entry(6, 1, 100)); // evicts a#1
    expect(a.get(1)).toBeUndefined();
    expect(a.get(2)?.index).toBe(2);
    expect(b.get(5)?.index).toBe(5);
    b.truncateFrom(6);
    expect(budget.bytes).toBe(200);
    a.push(entry(3, 1, 150)); // 350 > 300: evicts b#5 (a#1 and b#6 are gone already)
    expect(b.get(5)).toBeUndefined();
    expect(b.firstIndex()).toBe(Infinity);
    expect(a.firstIndex()).toBe(2);
    expect(budget.bytes).toBe(250);
    a.clear();
    expect(budget.bytes).toBe(0);
    expect(a.get(2)).toBeUndefined();
  });
});
