import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int32, Int64, makeData, RecordBatch, Schema as ArrowSchema, Struct, Utf8, vectorFromArray, type DataType } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import type { BulkLoad, StorageApi, WriteResult } from '../../src/common/storage-api.js';
import type { Row, Schema, Value } from '../../src/common/types.js';
import type { PartitionSchema } from '../../src/common/partition.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { EmbeddedBulkLoad, type BulkLoadHost } from '../../src/client/bulk-load.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * EmbeddedStorage.bulkLoad: staged DiskRowSets committed by one log entry per tablet. The table
 * contents after a load must equal what writeArrow of the same batches gives (on a twin table),
 * rows are invisible before finish and visible from the commit timestamp on, and every way out
 * of bulk mode (out-of-order keys, duplicates, concurrent writers, abort, restart) stays correct.
 */

const dirs: string[] = [];
const opened: StorageApi[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-bulk-'));
  dirs.push(d);
  return d;
}

async function open(dir: string): Promise<StorageApi> {
  // Small MemRowSets: a load stages several files per tablet.
  const s = await openEmbeddedStorage({ dataDir: dir, limits: { memRowSetFlushBytes: 96 * 1024, logSegmentBytes: 256 * 1024 }, maintenanceIntervalMs: 3_600_000, compactionIntervalMs: 3_600_000 });
  opened.push(s);
  return s;
}

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'qty', type: 'int32', nullable: false, defaultValue: 7 },
  ],
};
const arrowTypes: DataType[] = [new Int64(), new Utf8(), new Int32()];

const HASHED: PartitionSchema = { hash: [{ columns: ['id'], buckets: 3, seed: 1 }], rangeColumns: [] };
const SINGLE: PartitionSchema = { hash: [], rangeColumns: [] };

async function create(s: StorageApi, name: string, partitionSchema: PartitionSchema): Promise<void> {
  await s.createTable({ database: 'default', name, schema, partitionSchema });
}

function row(id: number, tag = ''): Row {
  return [BigInt(id), id % 11 === 0 ? null : `name-${id}${tag}`, id % 1000];
}

function toBatch(rows: readonly Row[]): RecordBatch {
  const fields = schema.columns.map((c, ci) => new Field(c.name, arrowTypes[ci] as DataType, true));
  const children = schema.columns.map((_c, ci) => vectorFromArray(rows.map((r) => r[ci] ?? null), arrowTypes[ci] as DataType).data[0]!);
  return new RecordBatch(new ArrowSchema(fields), makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }));
}

function range(from: number, count: number, tag = ''): Row[] {
  return Array.from({ length: count }, (_, i) => row(from + i, tag));
}

async function contents(s: StorageApi, table: string, readMode?: { kind: 'snapshot'; timestamp: bigint }): Promise<string[]> {
  const out: string[] = [];
  for await (const b of s.scan('default', table, readMode === undefined ? {} : { readMode })) {
    for (let i = 0; i < b.numRows; i++) out.push(JSON.stringify(b.schema.fields.map((f) => b.getChild(f.name)?.get(i) as Value), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  }
  return out.sort();
}

function expected(rows: readonly Row[]): string[] {
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).sort();
}

function files(dir: string, prefix: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.startsWith(prefix)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

function loadOf(s: StorageApi, table: string): BulkLoad {
  expect(s.bulkLoad).toBeDefined();
  return (s.bulkLoad as NonNullable<StorageApi['bulkLoad']>).call(s, 'default', table);
}

describe('bulk load', () => {
  for (const [label, ps] of [['one tablet', SINGLE], ['three hash tablets', HASHED]] as const) {
    it(`stages ordered batches and makes them visible at finish (${label})`, async () => {
      const dir = tempDir();
      const s = await open(dir);
      await create(s, 't', ps);
      const load = loadOf(s, 't');
      const all: Row[] = [];
      const pending: Promise<WriteResult>[] = [];
      for (let b = 0; b < 8; b++) {
        const rows = range(b * 2500, 2500);
        all.push(...rows);
        pending.push(load.write(toBatch(rows)));
        if (pending.length >= 2) {
          const r = await pending.shift()!;
          expect(r.appliedCount).toBe(0);
          expect(r.stagedCount).toBe(2500);
          expect(r.rowErrors).toEqual([]);
        }
      }
      for (const p of pending) expect((await p).stagedCount).toBe(2500);
      // Staged rows are invisible, though files exist.
      expect(await contents(s, 't')).toEqual([]);
      expect(files(dir, 'bulk-').length).toBeGreaterThan(0);
      const before = s.now();
      const fin = await load.finish();
      expect(fin.appliedCount).toBe(all.length);
      expect(fin.rowErrors).toEqual([]);
      expect(await contents(s, 't')).toEqual(expected(all));
      expect(await contents(s, 't', { kind: 'snapshot', timestamp: before })).toEqual([]);
      expect(await contents(s, 't', { kind: 'snapshot', timestamp: fin.timestamp })).toEqual(expected(all));
      // Point lookups see the rowsets.
      expect(await s.lookup('default', 't', [12345n])).toEqual(row(12345));
      // Restart: the committed files are rowsets.
      await s.close();
      const s2 = await open(dir);
      expect(await contents(s2, 't')).toEqual(expected(all));
      expect(await contents(s2, 't', { kind: 'snapshot', timestamp: before })).toEqual([]);
    });
  }

  it('reports duplicates and invalid rows as writeArrow does, falling back to the ordinary path', async () => {
    const seed = 7;
    const rand = rng(seed);
    const s = await open(tempDir());
    await create(s, 'bulk', HASHED);
    await create(s, 'twin', HASHED);
    const existing = range(1000, 200, '-old');
    for (const t of ['bulk', 'twin']) await s.writeArrow('default', t, 'insert', toBatch(existing));
    const load = loadOf(s, 'bulk');
    const batches: Row[][] = [
      range(2000, 3000), // above everything: staged
      range(5000, 500).concat(range(5499, 3)), // duplicate inside the batch: falls back
      range(1100, 300), // overlaps existing rows
      Array.from({ length: 400 }, () => row(Math.floor(rand() * 9000))), // random order
    ];
    let applied = 0;
    let staged = 0;
    let committed = 0;
    for (const rows of batches) {
      const a = await load.write(toBatch(rows));
      const b = await s.writeArrow('default', 'twin', 'insert', toBatch(rows));
      applied += a.appliedCount;
      staged += a.stagedCount ?? 0;
      committed += a.committedCount ?? 0;
      // Staged rows of the first batch are counted when committed; later errors match exactly.
      if ((a.stagedCount ?? 0) === 0) expect({ seed, errors: a.rowErrors.map((e) => [e.rowIndex, e.code]) }).toEqual({ seed, errors: b.rowErrors.map((e) => [e.rowIndex, e.code]) });
    }
    const fin = await load.finish();
    expect(staged).toBeGreaterThan(0);
    expect(applied + committed + fin.appliedCount).toBeGreaterThan(0);
    expect(await contents(s, 'bulk')).toEqual(await contents(s, 'twin'));
  });

  it('a descending load falls back after committing what was staged', async () => {
    const s = await open(tempDir());
    await create(s, 't', SINGLE);
    const load = loadOf(s, 't');
    const a = await load.write(toBatch(range(10_000, 1000)));
    expect(a.stagedCount).toBe(1000);
    const b = await load.write(toBatch(range(5_000, 1000)));
    expect(b.stagedCount).toBe(0);
    expect(b.committedCount).toBe(1000);
    expect(b.appliedCount).toBe(1000);
    // Committed when leaving bulk mode: visible before finish.
    expect((await contents(s, 't')).length).toBe(2000);
    const c = await load.write(toBatch(range(20_000, 10)));
    expect(c.appliedCount).toBe(10);
    const fin = await load.finish();
    expect(fin.appliedCount).toBe(0);
    expect(await contents(s, 't')).toEqual(expected([...range(10_000, 1000), ...range(5_000, 1000), ...range(20_000, 10)]));
  });

  it('a concurrent ordinary insert into the staged range makes the commit insert row by row', async () => {
    const s = await open(tempDir());
    await create(s, 't', SINGLE);
    const load = loadOf(s, 't');
    await load.write(toBatch(range(0, 3000)));
    // Another writer inserts a key the load staged, and one above it.
    const w = await s.writeArrow('default', 't', 'insert', toBatch([row(1500, '-other'), row(9000, '-other')]));
    expect(w.appliedCount).toBe(2);
    const fin = await load.finish();
    expect(fin.appliedCount).toBe(2999);
    expect(fin.rowErrors.length).toBe(1);
    expect(fin.rowErrors[0]).toMatchObject({ rowIndex: -1, code: 'AlreadyPresent' });
    expect(fin.rowErrors[0]?.message).toContain('1500');
    const want = range(0, 3000).filter((r) => r[0] !== 1500n).concat([row(1500, '-other'), row(9000, '-other')]);
    expect(await contents(s, 't')).toEqual(expected(want));
  });

  it('abort deletes the staged files and leaves nothing visible', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await create(s, 't', HASHED);
    const load = loadOf(s, 't');
    for (let b = 0; b < 4; b++) await load.write(toBatch(range(b * 3000, 3000)));
    expect(files(dir, 'bulk-').length).toBeGreaterThan(0);
    await load.abort();
    expect(files(dir, 'bulk-')).toEqual([]);
    expect(await contents(s, 't')).toEqual([]);
    await expect(load.write(toBatch(range(0, 1)))).rejects.toThrow(/aborted/);
  });

  it('an unfinished load is gone after a restart; the staged files are deleted', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await create(s, 't', HASHED);
    await s.writeArrow('default', 't', 'insert', toBatch(range(0, 10)));
    const load = loadOf(s, 't');
    for (let b = 1; b < 4; b++) await load.write(toBatch(range(b * 3000, 3000)));
    expect(files(dir, 'bulk-').length).toBeGreaterThan(0);
    // Closing the tablets discards stages still open (files being written included).
    await s.close();
    expect(files(dir, 'bulk-')).toEqual([]);
    const s2 = await open(dir);
    expect(files(dir, 'bulk-')).toEqual([]);
    expect(await contents(s2, 't')).toEqual(expected(range(0, 10)));
  });

  it('bulk rowsets survive compaction, ALTER, updates, deletes and history GC', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await create(s, 't', SINGLE);
    const l1 = loadOf(s, 't');
    await l1.write(toBatch(range(0, 4000)));
    const f1 = await l1.finish();
    // Updates and deletes of bulk rows go to their DeltaMemStores.
    await s.write('default', 't', 'update', [[5n, 'changed', 1]]);
    await s.write('default', 't', 'delete', [[6n, undefined, undefined]]);
    const l2 = loadOf(s, 't');
    await l2.write(toBatch(range(4000, 4000)));
    const f2 = await l2.finish();
    expect(f2.timestamp > f1.timestamp).toBe(true);
    await s.alterTable('default', 't', [{ kind: 'addColumn', column: { name: 'extra', type: 'int32', nullable: true } }]);
    const want = range(0, 8000).filter((r) => r[0] !== 6n).map((r) => (r[0] === 5n ? [5n, 'changed', 1, null] : [...r, null]));
    expect(await contents(s, 't')).toEqual(expected(want));
    // Snapshot between the loads: the first load only (before the update).
    expect((await contents(s, 't', { kind: 'snapshot', timestamp: f1.timestamp })).length).toBe(4000);
    await s.flush();
    await s.close();
    // Compaction and GC with the history window passed (retention 1 ms).
    const s2 = await openEmbeddedStorage({ dataDir: dir, limits: { memRowSetFlushBytes: 96 * 1024, historyRetentionMs: 1 }, compactionIntervalMs: 3_600_000 });
    opened.push(s2);
    expect(await contents(s2, 't')).toEqual(expected(want));
    const l3 = loadOf(s2, 't');
    await l3.write(toBatch(range(8000, 100)));
    await l3.finish();
    expect((await contents(s2, 't')).length).toBe(want.length + 100);
  });
});

describe('bulk load on a multi-voter tablet', () => {
  it('takes the ordinary write path', async () => {
    const calls: string[] = [];
    const replica = {
      singleVoter: false,
      tablet: { beginBulkStage: () => { calls.push('stage'); throw new Error('no staging on a multi-voter tablet'); } },
      writePrepared: async (p: { rowCount: number }) => { calls.push(`write ${p.rowCount}`); return { appliedCount: p.rowCount, rowErrors: [], timestamp: 5n }; },
      commitBulk: async () => { calls.push('commit'); return { appliedCount: 0, rowErrors: [], timestamp: 5n }; },
    };
    const host: BulkLoadHost = {
      limits: { writeBatchRowsMax: 1 << 20 } as BulkLoadHost['limits'],
      runtime: () => ({ info: { schema, partitionSchema: SINGLE, tablets: [{ tabletId: 'x', hashBuckets: [], range: {} }] }, router: {} }) as never,
      replica: () => replica as never,
      tabletsMatchCatalog: () => true,
      writeArrow: async () => { throw new Error('not used'); },
      now: () => 1n,
      track: (p) => p,
    };
    const load = new EmbeddedBulkLoad(host, 'default', 't');
    const r = await load.write(toBatch(range(0, 100)));
    expect(r.appliedCount).toBe(100);
    expect(r.stagedCount).toBe(0);
    const fin = await load.finish();
    expect(fin.appliedCount).toBe(0);
    expect(calls).toEqual(['write 100']);
  });
});

it('leaves no staged file behind after finish', async () => {
  const dir = tempDir();
  const s = await open(dir);
  await create(s, 't', HASHED);
  const load = loadOf(s, 't');
  await load.write(toBatch(range(0, 5000)));
  await load.finish();
  // Every bulk file is a rowset now (named in tablet-meta.json).
  for (const f of files(dir, 'bulk-')) {
    const meta = join(f, '..', 'tablet-meta.json');
    expect(existsSync(meta)).toBe(true);
    const body = JSON.parse((JSON.parse(readFileSync(meta, 'utf8')) as { body: string }).body) as { rowsets: { file: string; insertTs?: string }[] };
    const rs = body.rowsets.find((r) => join(f, '..', r.file) === f);
    expect(rs?.insertTs).toMatch(/^\d+$/);
  }
  expect(files(dir, 'bulk-').length).toBeGreaterThan(0);
});
