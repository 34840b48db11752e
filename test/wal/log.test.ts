import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError, SaigaError } from '../../src/common/errors.js';
import { decodeRecord, encodeEntries, entryTypeCode, type LogEntry } from '../../src/wal/entry-codec.js';
import { RecentEntryBudget } from '../../src/wal/recent-entries.js';
import { openLog, type Log } from '../../src/wal/log.js';
import { decodeSchema, decodeWriteBatch, encodeSchema, encodeWriteBatch } from '../../src/wal/op-codec.js';
import { SEGMENT_HEADER_BYTES } from '../../src/wal/entry-codec.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-wal-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(index: number, term = 1, size = 10): LogEntry {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (index * 31 + i) & 0xff;
  return { term, index, type: 'write', payload };
}

function entries(from: number, to: number, term = 1, size = 10): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

async function expectCorruption(p: Promise<unknown>, file: string, offset: number): Promise<SaigaError> {
  try {
    await p;
  } catch (e) {
    expect(isSaigaError(e, 'Corruption')).toBe(true);
    const err = e as SaigaError;
    expect(err.details.file).toBe(file);
    expect(err.details.offset).toBe(offset);
    expect(err.message).toContain(file);
    expect(err.message).toContain(String(offset));
    return err;
  }
  throw new Error('expected Corruption');
}

describe('entry codec', () => {
  it('round-trips entries and detects every flipped byte', () => {
    const es = [entry(1, 1, 0), entry(2, 3, 100), { term: 7, index: 2 ** 40, type: 'alterSchema' as const, payload: new Uint8Array([1, 2, 3]) }];
    const bytes = encodeEntries(es);
    let at = 0;
    for (const e of es) {
      const r = decodeRecord(bytes, at);
      expect(r.kind).toBe('entry');
      if (r.kind !== 'entry') return;
      expect(r.entry.term).toBe(e.term);
      expect(r.entry.index).toBe(e.index);
      expect(r.entry.type).toBe(e.type);
      expect([...r.entry.payload]).toEqual([...e.payload]);
      at += r.recordBytes;
    }
    expect(decodeRecord(bytes, at).kind).toBe('end');
    const one = encodeEntries([entry(5, 2, 20)]);
    for (let i = 0; i < one.byteLength; i++) {
      const copy = one.slice();
      copy[i] = (copy[i] as number) ^ 0x40;
      expect(decodeRecord(copy, 0).kind).not.toBe('entry');
    }
  });

  it('reports a partial record as torn', () => {
    const one = encodeEntries([entry(5, 2, 20)]);
    for (let cut = 1; cut < one.byteLength; cut++) {
      expect(decodeRecord(one.subarray(0, cut), 0).kind).toBe('torn');
    }
  });

  it('round-trips write batches and schemas', () => {
    const rows = [
      [1n, -5n, 2n ** 100n, -(2n ** 70n), 0n],
      ['héllo ✓', '', null, undefined, true, false],
      [1.5, -0, NaN, new Uint8Array([0, 255, 7])],
    ];
    const p = { timestamp: 2n ** 63n + 12345n, ops: rows.map((row, i) => ({ kind: (['insert', 'upsert', 'delete_ignore'] as const)[i] ?? 'insert', row })) };
    const back = decodeWriteBatch(encodeWriteBatch(p));
    expect(back.timestamp).toBe(p.timestamp);
    expect(back.ops.map((o) => o.kind)).toEqual(['insert', 'upsert', 'delete_ignore']);
    expect(back.ops[0]?.row).toEqual(rows[0]);
    expect(back.ops[1]?.row).toEqual(rows[1]);
    expect(back.ops[2]?.row[0]).toBe(1.5);
    expect(Object.is(back.ops[2]?.row[1], -0)).toBe(true);
    expect(Number.isNaN(back.ops[2]?.row[2])).toBe(true);
    expect([...(back.ops[2]?.row[3] as Uint8Array)]).toEqual([0, 255, 7]);
    const schema = { keyColumnCount: 1, columns: [{ name: 'a', type: 'int64' as const, nullable: false, defaultValue: 5n }] };
    expect(decodeSchema(encodeSchema(schema))).toEqual(schema);
  });
});

describe('log', () => {
  it('appends, reads and reopens', async () => {
    const dir = tempDir();
    let log = await openLog({ dir });
    expect(log.lastIndex()).toBe(0);
    await log.append(entries(1, 5));
    await log.append(entries(6, 10, 2));
    expect(log.lastIndex()).toBe(10);
    expect(log.lastTerm()).toBe(2);
    expect(log.read(3, 8).map((e) => e.index)).toEqual([3, 4, 5, 6, 7]);
    await log.close();
    log = await openLog({ dir });
    expect(log.lastIndex()).toBe(10);
    expect(log.durableIndex()).toBe(10);
    expect(log.term(5)).toBe(1);
    expect(log.term(6)).toBe(2);
    const all = log.read(1, 11);
    expect(all.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...(all[6] as LogEntry).payload]).toEqual([...entry(7).payload]);
    await log.close();
  });

  it('rejects an append that does not continue the log', async () => {
    const log = await openLog({ dir: tempDir() });
    await log.append(entries(1, 2));
    expect(() => log.append([entry(4)])).toThrow(/continue at index 3/);
    expect(() => log.append([entry(3, 0)])).toThrow(/term/);
    await log.close();
  });

  it('group-commits concurrent appends and resolves each after its fsync', async () => {
    const log = await openLog({ dir: tempDir() });
    const ps: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) ps.push(log.append([entry(i)]));
    // Unsynced entries are readable at once.
    expect(log.read(150, 152).map((e) => e.index)).toEqual([150, 151]);
    await Promise.all(ps);
    expect(log.durableIndex()).toBe(200);
    expect(log.read(1, 201)).toHaveLength(200);
    await log.close();
  });

  it('truncates a torn tail on open', async () => {
    const dir = tempDir();
    let log = await openLog({ dir });
    await log.append(entries(1, 4, 1, 50));
    const seg = log.segmentPaths()[0] as string;
    // The records end at sizeBytes(); the file may go on with zeros written ahead (zero-fill).
    const size = log.sizeBytes();
    await log.close();
    expect(statSync(seg).size).toBeGreaterThanOrEqual(size);
    const bytes = readFileSync(seg);
    writeFileSync(seg, bytes.subarray(0, size - 17));
    log = await openLog({ dir });
    expect(log.lastIndex()).toBe(3);
    expect(statSync(seg).size).toBeLessThan(size - 17);
    await log.append(entries(4, 5));
    await log.close();
    // Zero-filled tail counts as torn too.
    appendFileSync(seg, new Uint8Array(100));
    log = await openLog({ dir });
    expect(log.lastIndex()).toBe(5);
    expect(log.read(1, 6).map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    await log.close();
  });

  it('reports a flipped byte in the middle as Corruption naming the file and offset', async () => {
    const dir = tempDir();
    const log = await openLog({ dir });
    await log.append(entries(1, 5, 1, 40));
    const seg = log.segmentPaths()[0] as string;
    await log.close();
    const recordBytes = 12 + 20 + 40;
    const bytes = readFileSync(seg);
    const third = SEGMENT_HEADER_BYTES + 2 * recordBytes;
    bytes[third + 40] = (bytes[third + 40] as number) ^ 1;
    writeFileSync(seg, bytes);
    await expectCorruption(openLog({ dir }), seg, third);
  });

  it('rolls segments and GCs them only below the anchor', async () => {
    const dir = tempDir();
    const log = await openLog({ dir, segmentBytes: 1000 });
    for (let i = 1; i <= 100; i += 5) await log.append(entries(i, i + 4, 1, 50));
    const segs = log.segmentPaths().length;
    expect(segs).toBeGreaterThan(5);
    log.anchors.set('mrs', 1);
    expect(log.gc()).toBe(0);
    log.anchors.set('mrs', 50);
    const deleted = log.gc();
    expect(deleted).toBeGreaterThan(0);
    expect(log.firstIndex()).toBeLessThanOrEqual(50);
    expect(log.read(50, 101)).toHaveLength(51);
    expect(() => log.read(1, 2)).toThrow(/compacted/);
    log.anchors.set('follower', 20);
    expect(log.gc()).toBe(0);
    log.anchors.release('follower');
    log.anchors.set('mrs', 1_000_000);
    log.gc();
    expect(log.segmentPaths()).toHaveLength(1);
    await log.close();
    const again = await openLog({ dir, segmentBytes: 1000 });
    expect(again.lastIndex()).toBe(100);
    expect(again.firstIndex()).toBe(log.firstIndex());
    await again.append([entry(101)]);
    await again.close();
  });

  it('truncates a suffix across segments (Raft conflict) and continues', async () => {
    const dir = tempDir();
    let log: Log = await openLog({ dir, segmentBytes: 600 });
    for (let i = 1; i <= 40; i += 4) await log.append(entries(i, i + 3, 1, 30));
    expect(log.segmentPaths().length).toBeGreaterThan(3);
    await log.truncateSuffix(13);
    expect(log.lastIndex()).toBe(12);
    expect(log.lastTerm()).toBe(1);
    await log.append(entries(13, 15, 3));
    await log.close();
    log = await openLog({ dir, segmentBytes: 600 });
    expect(log.lastIndex()).toBe(15);
    expect(log.term(14)).toBe(3);
    expect(log.read(1, 100).map((e) => e.index)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    await log.close();
  });

  it('replaces a conflicting suffix on appendReplacing', async () => {
    const log = await openLog({ dir: tempDir() });
    await log.append(entries(1, 6, 1));
    await log.appendReplacing([entry(4, 2), entry(5, 2)]);
    expect(log.lastIndex()).toBe(5);
    expect(log.read(1, 10).map((e) => `${e.index}:${e.term}`)).toEqual(['1:1', '2:1', '3:1', '4:2', '5:2']);
    await log.appendReplacing([entry(6, 2)]);
    expect(log.lastIndex()).toBe(6);
    await log.close();
  });

  it('persists hard state and snapshot markers', async () => {
    const dir = tempDir();
    let log = await openLog({ dir });
    await log.append(entries(1, 10));
    await log.setHardState({ term: 4, vote: 'peer-b', commit: 7 });
    await log.setHardState({ term: 5, vote: '', commit: 9 });
    await log.resetToSnapshot({ index: 100, term: 5 });
    expect(log.lastIndex()).toBe(100);
    expect(log.term(100)).toBe(5);
    await log.append([entry(101, 5)]);
    await log.close();
    log = await openLog({ dir });
    expect(log.hardState()).toEqual({ term: 5, vote: '', commit: 9 });
    expect(log.snapshotMarker()).toEqual({ index: 100, term: 5 });
    expect(log.firstIndex()).toBe(101);
    expect(log.lastIndex()).toBe(101);
    expect(readdirSync(dir).filter((n) => n.endsWith('.wal'))).toHaveLength(1);
    await log.close();
  });
});

describe('log read from a segment frames each entry', () => {
  it('sets framed = [type code][payload] as a view on the read buffer, for every entry type', async () => {
    const dir = tempDir();
    const types = ['write', 'alterSchema', 'noop', 'configChange', 'writeBatch'] as const;
    const es = types.map((type, k) => ({ term: 2, index: k + 1, type, payload: new Uint8Array(type === 'noop' ? 0 : 10 + 300 * k).map((_, i) => (i * 7 + k) & 0xff) }));
    const log = await openLog({ dir, recentBudget: new RecentEntryBudget(0) });
    await log.append(es);
    for (let round = 0; round < 2; round++) {
      const got = log.read(1, 6);
      expect(got.map((e) => [e.index, e.type, [...e.payload]])).toEqual(es.map((e) => [e.index, e.type, [...e.payload]]));
      for (const e of got) {
        const f = e.framed;
        expect(f).toBeDefined();
        expect(f![0]).toBe(entryTypeCode(e.type));
        expect(f!.buffer).toBe(e.payload.buffer);
        expect(f!.byteOffset + 1).toBe(e.payload.byteOffset);
        expect(f!.byteLength).toBe(e.payload.byteLength + 1);
      }
    }
    await log.close();
  });
});
