import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HybridClock } from '../../src/common/hybrid-time.js';
import { DEFAULT_LIMITS } from '../../src/common/limits.js';
import type { Schema } from '../../src/common/types.js';
import { LocalReplica } from '../../src/tserver/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int32', nullable: true }] };
const limits = { ...DEFAULT_LIMITS, logSegmentBytes: 4 * 1024 };

async function open(dir: string): Promise<LocalReplica> {
  return LocalReplica.open({ dir, tabletId: 't', schema, clock: new HybridClock(), limits });
}

function count(r: LocalReplica): number {
  let n = 0;
  for (const b of r.tablet.scan({})) n += b.numRows;
  return n;
}

describe('local replica', () => {
  it('applies concurrent writes in log order, replays the log after a restart, GCs it after a flush', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-rep-'));
    dirs.push(dir);
    let r = await open(dir);
    const ps = [];
    for (let b = 0; b < 50; b++) ps.push(r.write(Array.from({ length: 20 }, (_, i) => ({ kind: 'insert' as const, row: [BigInt(b * 20 + i), b] }))));
    const res = await Promise.all(ps);
    expect(res.every((x) => x.appliedCount === 20 && x.rowErrors.length === 0)).toBe(true);
    // Timestamps follow log order.
    for (let i = 1; i < res.length; i++) expect((res[i]?.timestamp ?? 0n) > (res[i - 1]?.timestamp ?? 0n)).toBe(true);
    const bad = await r.write([{ kind: 'insert', row: [1n, 1] }, { kind: 'insert', row: [5000n, 'x'] }, { kind: 'insert', row: [5001n, 2] }]);
    expect(bad.appliedCount).toBe(1);
    expect(bad.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'AlreadyPresent'], [1, 'InvalidArgument']]);
    expect(r.tablet.durableOpIndex()).toBe(0);
    const segments = r.log.segmentPaths().length;
    expect(segments).toBeGreaterThan(3);
    await r.close();

    r = await open(dir);
    expect(count(r)).toBe(1001);
    expect(r.tablet.lastAppliedOpIndex()).toBe(51);
    r.flush();
    expect(r.tablet.durableOpIndex()).toBe(51);
    expect(r.log.segmentPaths()).toHaveLength(1);
    await r.write([{ kind: 'update', row: [7n, 99] }]);
    await r.alterSchema({ ...schema, columns: [...schema.columns, { name: 'w', type: 'string', nullable: true }] });
    await r.write([{ kind: 'insert', row: [9000n, 1, 'hello'] }]);
    await r.close();

    r = await open(dir);
    expect(r.tablet.schema.columns.map((c) => c.name)).toEqual(['k', 'v', 'w']);
    expect(r.tablet.lookup([7n], 2n ** 64n - 1n)).toEqual([7n, 99, null]);
    expect(r.tablet.lookup([9000n], 2n ** 64n - 1n)).toEqual([9000n, 1, 'hello']);
    expect(count(r)).toBe(1002);
    // Indexes continue after the log was GC'd.
    expect(r.log.lastIndex()).toBe(54);
    await r.close();
  });
});
