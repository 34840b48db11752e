import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntryData, fromLogEntry, toLogEntry, WalStorage } from '../../src/replication/wal-storage.js';
import type { Entry } from '../../src/replication/types.js';
import { openLog } from '../../src/wal/log.js';
import { RecentEntryBudget } from '../../src/wal/recent-entries.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-wal-raftdata-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SEED = 20261121;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function payload(size: number, next: () => number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = next() & 0xff;
  return p;
}

const conf = { get: () => ({ voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }) };

describe('Raft entries through the WAL keep their data without a re-encode', () => {
  it('hands back the very data buffer of entries served from the unsynced list and the recent cache', async () => {
    const next = rng(SEED);
    const log = await openLog({ dir: tempDir() });
    const storage = new WalStorage(log, conf as never);
    const kinds = ['writeBatch', 'write', 'alterSchema'] as const;
    const ents: Entry[] = [];
    for (let i = 1; i <= 6; i++) {
      ents.push({ term: 1, index: i, type: 'Normal', data: encodeEntryData(kinds[i % 3] as 'write', payload(100 + (next() % 5000), next)) });
    }
    ents.push({ term: 1, index: 7, type: 'Normal', data: new Uint8Array(0) });
    ents.push({ term: 2, index: 8, type: 'ConfChange', data: payload(40, next) });
    const persisted = storage.persist(ents, undefined, true);
    // Before the write returns: served from the log's unsynced entries.
    const early = storage.entries(1, 9, Infinity);
    await persisted;
    const late = storage.entries(1, 9, Infinity);
    for (const got of [early, late]) {
      expect(got.map((e) => [e.term, e.index, e.type, [...e.data]]), `seed ${SEED}`).toEqual(ents.map((e) => [e.term, e.index, e.type, [...e.data]]));
      for (let k = 0; k < 6; k++) expect(got[k]!.data).toBe(ents[k]!.data); // same buffer, not a copy
      expect(got[7]!.data).toBe(ents[7]!.data);
    }
    await log.close();
  });

  it('returns entries read back from disk as views on the read buffer (framed by the log), with the right bytes', async () => {
    const next = rng(SEED + 1);
    const dir = tempDir();
    const log = await openLog({ dir, recentBudget: new RecentEntryBudget(0) }); // nothing cached: reads decode the segment
    const storage = new WalStorage(log, conf as never);
    const ents: Entry[] = [];
    for (let i = 1; i <= 4; i++) ents.push({ term: 3, index: i, type: 'Normal', data: encodeEntryData('writeBatch', payload(1 + (next() % 3000), next)) });
    await storage.persist(ents, undefined, true);
    const got = storage.entries(1, 5, Infinity);
    expect(got.map((e) => [e.index, [...e.data]]), `seed ${SEED + 1}`).toEqual(ents.map((e) => [e.index, [...e.data]]));
    for (let k = 0; k < 4; k++) expect(got[k]!.data).not.toBe(ents[k]!.data);
    // One segment read, no per-entry copy: every entry's data views the same read buffer.
    for (let k = 1; k < 4; k++) expect(got[k]!.data.buffer).toBe(got[0]!.data.buffer);
    // Reading again (the file is unchanged by the in-memory framing) gives the same bytes.
    expect(storage.entries(2, 4, Infinity).map((e) => [...e.data])).toEqual(ents.slice(1, 3).map((e) => [...e.data]));
    await log.close();
    const reopened = await openLog({ dir, recentBudget: new RecentEntryBudget(0) });
    expect(new WalStorage(reopened, conf as never).entries(1, 5, Infinity).map((e) => [...e.data])).toEqual(ents.map((e) => [...e.data]));
    await reopened.close();

  });

  it('copies when an entry\'s payload no longer follows its framed kind byte', async () => {
    const next = rng(SEED + 2);
    const ents: Entry[] = [{ term: 1, index: 1, type: 'Normal', data: encodeEntryData('writeBatch', payload(700, next)) }];
    // A LogEntry rebuilt by spreading with another payload (or type) must not return the stale data.
    const le = toLogEntry(ents[0]!);
    const other = payload(le.payload.byteLength, next);
    const swapped = fromLogEntry({ ...le, payload: other });
    expect([...swapped.data]).toEqual([...encodeEntryData('writeBatch', other)]);
    const retyped = fromLogEntry({ ...le, type: 'write' });
    expect(retyped.data[0]).toBe(encodeEntryData('write', new Uint8Array(0))[0]);
    expect([...retyped.data.subarray(1)]).toEqual([...le.payload]);
    expect(fromLogEntry(le).data).toBe(ents[0]!.data);
    expect(fromLogEntry({ term: 1, index: 1, type: 'writeBatch', payload: le.payload }).data).not.toBe(ents[0]!.data);
  });
});
