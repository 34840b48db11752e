import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HybridClock } from '../../src/common/hybrid-time.js';
import { DEFAULT_LIMITS } from '../../src/common/limits.js';
import type { Schema } from '../../src/common/types.js';
import { TabletManager, type TabletReplica } from '../../src/tserver/index.js';

// The embedded default: every tablet a one-voter Raft group (TabletReplica, singleVoter) opened
// by TabletManager.

const dirs: string[] = [];
const managers: TabletManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.closeAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int32', nullable: true }] };
const limits = { ...DEFAULT_LIMITS, logSegmentBytes: 4 * 1024 };
const MAX_TS = 2n ** 64n - 1n;

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-sv-'));
  dirs.push(d);
  return d;
}

async function open(dir: string): Promise<{ m: TabletManager; r: TabletReplica }> {
  const m = new TabletManager(dir, new HybridClock(), limits);
  managers.push(m);
  await m.openAll([{ tabletId: 't', schema }]);
  return { m, r: m.get('t') };
}

async function close(m: TabletManager): Promise<void> {
  managers.splice(managers.indexOf(m), 1);
  await m.closeAll();
}

function count(r: TabletReplica): number {
  let n = 0;
  for (const b of r.tablet.scan({})) n += b.numRows;
  return n;
}

describe('single-voter tablet replica (embedded default)', () => {
  it('applies concurrent writes in log order, replays the log after a restart, GCs it after a flush', async () => {
    const dir = tmp();
    let { m, r } = await open(dir);
    const ps = [];
    for (let b = 0; b < 50; b++) ps.push(r.write(Array.from({ length: 20 }, (_, i) => ({ kind: 'insert' as const, row: [BigInt(b * 20 + i), b] }))));
    const res = await Promise.all(ps);
    expect(res.every((x) => x.appliedCount === 20 && x.rowErrors.length === 0)).toBe(true);
    // Timestamps follow log order (the writes were issued, and so logged, in array order).
    for (let i = 1; i < res.length; i++) expect((res[i]?.timestamp ?? 0n) > (res[i - 1]?.timestamp ?? 0n)).toBe(true);
    // Each write batch's rows carry its batch number: applied with the batch's own ops.
    expect(r.tablet.lookup([999n], MAX_TS)).toEqual([999n, 49]);
    // A row failing validation (index 1) is left out, a duplicate key (index 0) fails on apply;
    // both errors carry the caller's row indexes.
    const bad = await r.write([{ kind: 'insert', row: [1n, 1] }, { kind: 'insert', row: [5000n, 'x'] }, { kind: 'insert', row: [5001n, 2] }]);
    expect(bad.appliedCount).toBe(1);
    expect(bad.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'AlreadyPresent'], [1, 'InvalidArgument']]);
    const allBad = await r.write([{ kind: 'insert', row: [6000n, 'y'] }]);
    expect(allBad.appliedCount).toBe(0);
    expect(allBad.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'InvalidArgument']]);
    expect(r.tablet.durableOpIndex()).toBe(0);
    const lastWrite = r.tablet.lastAppliedOpIndex();
    // 51 write entries (the all-invalid write logs nothing) after the election's empty entry.
    expect(lastWrite).toBe(r.log.lastIndex());
    expect(lastWrite).toBeGreaterThanOrEqual(51);
    expect(r.log.segmentPaths().length).toBeGreaterThan(1);
    await close(m);

    ({ m, r } = await open(dir));
    expect(count(r)).toBe(1001);
    expect(r.tablet.lookup([5001n], MAX_TS)).toEqual([5001n, 2]);
    expect(r.tablet.lookup([5000n], MAX_TS)).toBeUndefined();
    expect(r.tablet.lastAppliedOpIndex()).toBe(lastWrite);
    r.flush();
    expect(r.tablet.durableOpIndex()).toBe(lastWrite);
    expect(r.log.segmentPaths()).toHaveLength(1);
    const beforeGcLast = r.log.lastIndex();
    await r.write([{ kind: 'update', row: [7n, 99] }]);
    await r.alterSchema({ ...schema, columns: [...schema.columns, { name: 'w', type: 'string', nullable: true }] });
    await r.write([{ kind: 'insert', row: [9000n, 1, 'hello'] }]);
    expect(r.log.lastIndex()).toBe(beforeGcLast + 3);
    const lastBeforeClose = r.log.lastIndex();
    await close(m);

    ({ m, r } = await open(dir));
    expect(r.tablet.schema.columns.map((c) => c.name)).toEqual(['k', 'v', 'w']);
    expect(r.tablet.lookup([7n], MAX_TS)).toEqual([7n, 99, null]);
    expect(r.tablet.lookup([9000n], MAX_TS)).toEqual([9000n, 1, 'hello']);
    expect(count(r)).toBe(1002);
    // Indexes continue after the log was GC'd (plus the new term's empty entry).
    expect(r.log.lastIndex()).toBeGreaterThan(lastBeforeClose);
    expect(r.log.firstIndex()).toBeLessThanOrEqual(lastBeforeClose - 2);
  });

  it('validates each row op once on the leader and prepares writes after a pending ALTER', async () => {
    const { r } = await open(tmp());
    const validate = vi.spyOn(r.tablet, 'validate');
    const applyWrite = vi.spyOn(r.tablet, 'applyWrite');
    const prepareOps = vi.spyOn(r.tablet, 'prepareOps');
    const res = await r.write([{ kind: 'insert', row: [1n, 1] }, { kind: 'insert', row: [2n, 'bad'] }]);
    expect(res.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[1, 'InvalidArgument']]);
    expect(prepareOps).toHaveBeenCalledTimes(1);
    expect(validate).not.toHaveBeenCalled();
    expect(applyWrite).not.toHaveBeenCalled();

    // Issued in the same turn as the ALTER: the write waits for it and validates its 3-column row
    // against the new schema.
    const alter = r.alterSchema({ ...schema, columns: [...schema.columns, { name: 'w', type: 'string', nullable: true }] });
    const w = r.write([{ kind: 'insert', row: [3n, 3, 'three'] }, { kind: 'upsert', row: [1n, 10, 'one'] }]);
    await alter;
    const wr = await w;
    expect(wr.rowErrors).toEqual([]);
    expect(wr.appliedCount).toBe(2);
    expect(r.tablet.lookup([3n], MAX_TS)).toEqual([3n, 3, 'three']);
    expect(r.tablet.lookup([1n], MAX_TS)).toEqual([1n, 10, 'one']);
    expect(applyWrite).not.toHaveBeenCalled();
  });

  it('flushes a MemRowSet that anchors the log past two segments only while it is small, and past four segments always', async () => {
    // 4 KiB log segments; the flush limit given to maintain() is set from what the MemRowSet holds.
    const dir = tmp();
    const { m, r } = await open(dir);
    const write = async (from: number, n: number): Promise<void> => {
      await r.write(Array.from({ length: n }, (_, i) => ({ kind: 'insert' as const, row: [BigInt(from + i), i] })));
    };
    let next = 0;
    while (r.log.sizeBytes() <= 2 * limits.logSegmentBytes) { await write(next, 20); next += 20; }
    const mem = r.tablet.stats().memRowSetBytes;
    expect(mem).toBeGreaterThan(0);
    const applied = r.tablet.lastAppliedOpIndex();
    // MemRowSet over half the limit: the write path's memory flush is near, maintenance leaves it.
    const big = { ...limits, memRowSetFlushBytes: Math.floor(mem * 1.5) };
    expect(r.maintain(big, new HybridClock().now(), false)).toBe(false);
    expect(r.tablet.durableOpIndex()).toBeLessThan(applied);
    // MemRowSet under half the limit: the anchored log is released by a flush now.
    const small = { ...limits, memRowSetFlushBytes: mem * 4 };
    expect(r.maintain(small, new HybridClock().now(), false)).toBe(true);
    expect(r.tablet.durableOpIndex()).toBe(applied);
    // Past four segments the flush happens even with a MemRowSet over half its limit.
    while (r.log.sizeBytes() <= 4 * limits.logSegmentBytes) { await write(next, 20); next += 20; }
    const mem2 = r.tablet.stats().memRowSetBytes;
    const applied2 = r.tablet.lastAppliedOpIndex();
    expect(r.maintain({ ...limits, memRowSetFlushBytes: Math.floor(mem2 * 1.5) }, new HybridClock().now(), false)).toBe(true);
    expect(r.tablet.durableOpIndex()).toBe(applied2);
    expect(count(r)).toBe(next);
  });
});
