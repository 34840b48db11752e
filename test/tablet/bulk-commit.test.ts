import * as arrow from 'apache-arrow';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { htFromPhysical, HT_MAX } from '../../src/common/hybrid-time.js';
import type { Schema, Value } from '../../src/common/types.js';
import { openTablet, type Tablet } from '../../src/tablet/index.js';
import { prepareArrowBatch, takePrepared } from '../../src/tablet/prepare-batch.js';

/**
 * Tablet.beginBulkStage / commitBulk: staged `bulk-*` DiskRowSets become rowsets with one
 * rowset-level insert timestamp; the ordinary path when a key at or above the staged range
 * appeared meanwhile; replay of the commit entry (metadata already naming the files, or not);
 * compaction, history GC, updates over bulk rowsets; removeStaleBulkFiles.
 */

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-bulkc-'));
  dirs.push(d);
  return d;
}

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'int64', nullable: false },
    { name: 's', type: 'string', nullable: true },
    { name: 'i', type: 'int32', nullable: true },
  ],
};

function batchOf(from: number, count: number, tag = ''): arrow.RecordBatch {
  const k = new BigInt64Array(count);
  for (let j = 0; j < count; j++) k[j] = BigInt(from + j);
  return new arrow.RecordBatch({
    k: arrow.makeData({ type: new arrow.Int64(), length: count, data: k }),
    s: arrow.vectorFromArray(Array.from({ length: count }, (_, j) => ((from + j) % 7 === 0 ? null : `v${from + j}${tag}`)), new arrow.Utf8()).data[0] as arrow.Data,
    i: arrow.vectorFromArray(Array.from({ length: count }, (_, j) => from + j), new arrow.Int32()).data[0] as arrow.Data,
  });
}

function prepared(from: number, count: number, tag = ''): ReturnType<typeof prepareArrowBatch> {
  const p = prepareArrowBatch(schema, 'insert', batchOf(from, count, tag));
  const rows = new Int32Array(p.rowCount);
  for (let i = 0; i < rows.length; i++) rows[i] = i;
  return takePrepared(schema, p, rows);
}

function keysAt(t: Tablet, ts: bigint): bigint[] {
  const out: bigint[] = [];
  for (const b of t.scan({ readMode: { kind: 'snapshot', timestamp: ts }, projection: ['k'] })) {
    const v = b.getChild('k');
    for (let i = 0; i < b.numRows; i++) out.push(v?.get(i) as bigint);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function rowsOf(t: Tablet): Value[][] {
  const out: Value[][] = [];
  for (const b of t.scan({ ordered: true })) {
    for (let i = 0; i < b.numRows; i++) out.push(b.schema.fields.map((f) => b.getChild(f.name)?.get(i) as Value));
  }
  return out;
}

const ts = (ms: number): bigint => htFromPhysical(1_700_000_000_000_000 + ms * 1000);

async function stage(t: Tablet, parts: readonly [number, number][]): Promise<readonly string[]> {
  const st = t.beginBulkStage();
  for (const [from, count] of parts) {
    const p = prepared(from, count);
    expect(st.accepts(p)).toBe(true);
    await st.append(p);
  }
  return (await st.seal()).files;
}

describe('bulk commit', () => {
  it('commits staged files as rowsets visible from the commit timestamp', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't1', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    t.applyPrepared({ term: 1, index: 1 }, ts(1), prepared(0, 100));
    const files = await stage(t, [[100, 3000], [3100, 2000]]);
    expect(files.length).toBeGreaterThan(1);
    const r = t.commitBulk({ term: 1, index: 2 }, ts(10), files);
    expect(r).toEqual({ appliedCount: 5000, rowErrors: [] });
    expect(keysAt(t, ts(9)).length).toBe(100);
    expect(keysAt(t, ts(10)).length).toBe(5100);
    expect(t.lookup([4000n], ts(9))).toBeUndefined();
    expect(t.lookup([4000n], ts(10))).toEqual([4000n, 'v4000', 4000]);
    // A stage refuses keys not above everything stored, and unordered keys.
    const st = t.beginBulkStage();
    expect(st.accepts(prepared(5000, 10))).toBe(false);
    const unordered = prepareArrowBatch(schema, 'insert', new arrow.RecordBatch({ k: arrow.makeData({ type: new arrow.Int64(), length: 2, data: new BigInt64Array([9000n, 8999n]) }), s: arrow.vectorFromArray([null, null], new arrow.Utf8()).data[0] as arrow.Data, i: arrow.vectorFromArray([1, 2], new arrow.Int32()).data[0] as arrow.Data }));
    expect(st.accepts(unordered)).toBe(false);
    await st.discard();
    t.close();
    // Reopen: the rowsets keep their timestamp; replaying the entry changes nothing.
    const t2 = openTablet({ dir, tabletId: 't1', schema });
    expect(t2.durableOpIndex()).toBeLessThan(2);
    if (t2.lastAppliedOpIndex() < 1) t2.applyPrepared({ term: 1, index: 1 }, ts(1), prepared(0, 100));
    expect(t2.commitBulk({ term: 1, index: 2 }, ts(10), files)).toEqual({ appliedCount: 0, rowErrors: [] });
    expect(keysAt(t2, ts(9)).length).toBe(100);
    expect(keysAt(t2, ts(10)).length).toBe(5100);
    expect(t2.removeStaleBulkFiles()).toBe(0);
    t2.close();
  });

  it('inserts row by row when a key at or above the staged range appeared, keeping the files until durable', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't2', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    const files = await stage(t, [[0, 2000]]);
    // A concurrent writer: one key inside the staged range, one above it.
    t.applyPrepared({ term: 1, index: 1 }, ts(1), prepared(1000, 1, '-other'));
    t.applyPrepared({ term: 1, index: 2 }, ts(2), prepared(5000, 1, '-other'));
    const r = t.commitBulk({ term: 1, index: 3 }, ts(3), files);
    expect(r.appliedCount).toBe(1999);
    expect(r.rowErrors).toHaveLength(1);
    expect(r.rowErrors[0]).toMatchObject({ rowIndex: -1, code: 'AlreadyPresent' });
    expect(r.rowErrors[0]?.message).toContain('1000');
    for (const f of files) expect(existsSync(join(dir, f))).toBe(true);
    expect(t.lookup([1000n], HT_MAX)).toEqual([1000n, 'v1000-other', 1000]);
    expect(t.lookup([1002n], ts(2))).toBeUndefined();
    expect(t.lookup([1002n], ts(3))).toEqual([1002n, 'v1002', 1002]);
    // Not durable yet: a crash here replays the entry, which needs the files.
    t.close();
    const t2 = openTablet({ dir, tabletId: 't2', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    const from = t2.durableOpIndex();
    if (from < 1) t2.applyPrepared({ term: 1, index: 1 }, ts(1), prepared(1000, 1, '-other'));
    if (from < 2) t2.applyPrepared({ term: 1, index: 2 }, ts(2), prepared(5000, 1, '-other'));
    if (from < 3) {
      const again = t2.commitBulk({ term: 1, index: 3 }, ts(3), files);
      expect(again.appliedCount).toBe(1999);
    }
    expect(t2.removeStaleBulkFiles()).toBe(0);
    expect(rowsOf(t2).length).toBe(2001);
    t2.flush();
    for (const f of files) expect(existsSync(join(dir, f))).toBe(false);
    t2.close();
  });

  it('compaction, updates, deletes and history GC work over bulk rowsets', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't3', schema, limits: { memRowSetFlushBytes: 64 * 1024, historyRetentionMs: 1 } });
    const f1 = await stage(t, [[0, 1500]]);
    t.commitBulk({ term: 1, index: 1 }, ts(10), f1);
    const f2 = await stage(t, [[1500, 1500]]);
    t.commitBulk({ term: 1, index: 2 }, ts(20), f2);
    t.applyWrite({ term: 1, index: 3 }, ts(30), [{ kind: 'update', row: [5n, 'upd', undefined] }, { kind: 'delete', row: [6n] }, { kind: 'update', row: [2000n, 'upd2', undefined] }]);
    // Reinsert into a bulk rowset's range after delete, then an overlapping ordinary rowset.
    t.applyWrite({ term: 1, index: 4 }, ts(40), [{ kind: 'insert', row: [6n, 'again', 6] }]);
    t.flush();
    const want = rowsOf(t);
    expect(want.length).toBe(3000);
    const at15 = keysAt(t, ts(15));
    expect(at15.length).toBe(1500);
    expect(keysAt(t, ts(35)).length).toBe(2999);
    // Compact everything (rowset compaction merges the overlapping rowsets, then major delta compaction).
    for (let i = 0; i < 10 && t.compact({ major: true }); i++);
    expect(rowsOf(t)).toEqual(want);
    expect(keysAt(t, ts(15))).toEqual(at15);
    expect(keysAt(t, ts(9)).length).toBe(0);
    // History GC with the window passed: latest state unchanged.
    t.gcHistory(ts(10_000_000));
    expect(rowsOf(t)).toEqual(want);
    t.close();
    const t2 = openTablet({ dir, tabletId: 't3', schema });
    expect(rowsOf(t2)).toEqual(want);
    expect(readdirSync(dir).some((n) => n.startsWith('bulk-') && !n.endsWith('.drs'))).toBe(false);
    t2.close();
  });

  it('reuses the take buffers of written files for later takes, rows intact', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't5', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    const st = t.beginBulkStage();
    for (let b = 0; b < 40; b++) {
      const p = prepareArrowBatch(schema, 'insert', batchOf(b * 400, 400));
      const rows = new Int32Array(p.rowCount);
      for (let i = 0; i < rows.length; i++) rows[i] = i;
      const taken = takePrepared(schema, p, rows, st.alloc);
      expect(st.accepts(taken)).toBe(true);
      await st.append(taken);
      // Let finished files hand their buffers back.
      await new Promise((r) => setTimeout(r, 2));
    }
    const { files, rowCount } = await st.seal();
    expect(rowCount).toBe(16_000);
    expect(st.slabsReused).toBeGreaterThan(0);
    t.commitBulk({ term: 1, index: 1 }, ts(1), files);
    const got = rowsOf(t);
    expect(got.length).toBe(16_000);
    for (let i = 0; i < got.length; i++) if (JSON.stringify(got[i], (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)) !== JSON.stringify([String(i), i % 7 === 0 ? null : `v${i}`, i])) expect(got[i]).toEqual([BigInt(i), i % 7 === 0 ? null : `v${i}`, i]);
    t.close();
  });

  it('a commit entry replayed after a crash before its apply finds the staged files (open keeps them)', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't6', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    t.applyPrepared({ term: 1, index: 1 }, ts(1), prepared(0, 10));
    t.flush();
    const files = await stage(t, [[10, 3000]]);
    // The entry was logged, the process died before applying it: reopen and replay.
    t.close();
    const t2 = openTablet({ dir, tabletId: 't6', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    for (const f of files) expect(existsSync(join(dir, f))).toBe(true);
    expect(t2.durableOpIndex()).toBe(1);
    expect(t2.commitBulk({ term: 1, index: 2 }, ts(5), files)).toEqual({ appliedCount: 3000, rowErrors: [] });
    expect(t2.removeStaleBulkFiles()).toBe(0);
    expect(keysAt(t2, ts(4)).length).toBe(10);
    expect(keysAt(t2, ts(5)).length).toBe(3010);
    // Nothing else in memory: the entry itself is durable now (the log may be trimmed past it).
    expect(t2.durableOpIndex()).toBe(2);
    t2.close();
  });

  it('removeStaleBulkFiles deletes uncommitted staged files only', async () => {
    const dir = tempDir();
    const t = openTablet({ dir, tabletId: 't4', schema, limits: { memRowSetFlushBytes: 64 * 1024 } });
    const kept = await stage(t, [[0, 1000]]);
    t.commitBulk({ term: 1, index: 1 }, ts(1), kept);
    const stale = await stage(t, [[1000, 1000]]);
    expect(t.removeStaleBulkFiles()).toBe(stale.length);
    for (const f of stale) expect(existsSync(join(dir, f))).toBe(false);
    for (const f of kept) expect(existsSync(join(dir, f))).toBe(true);
    expect(keysAt(t, HT_MAX).length).toBe(1000);
    t.close();
  });
});
