import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { openTablet } from '../../src/tablet/index.js';

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'price', type: 'decimal', nullable: true, precision: 12, scale: 2 },
    { name: 'd', type: 'date', nullable: false, defaultValue: 7 },
  ],
};

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tmp(): string { const d = mkdtempSync(join(tmpdir(), 'saiga-smoke-')); dirs.push(d); return d; }

describe('tablet smoke', () => {
  it('writes, flushes, reopens and scans', () => {
    const dir = tmp();
    let t = openTablet({ dir, tabletId: 't1', schema });
    const r = t.applyWrite({ term: 1, index: 1 }, 100n, [
      { kind: 'insert', row: [1n, 'a', 150n, undefined] },
      { kind: 'insert', row: [2n, null, null, 3] },
      { kind: 'insert', row: [1n, 'dup', null, 1] },
    ]);
    expect(r.appliedCount).toBe(2);
    expect(r.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[2, 'AlreadyPresent']]);
    t.flush();
    t.applyWrite({ term: 1, index: 2 }, 200n, [{ kind: 'update', row: [2n, 'b', undefined, undefined] }, { kind: 'delete', row: [1n] }]);
    expect(t.lookup([2n], 300n)).toEqual([2n, 'b', null, 3]);
    expect(t.lookup([1n], 150n)).toEqual([1n, 'a', 150n, 7]);
    expect(t.lookup([1n], 250n)).toBeUndefined();
    t.close();
    t = openTablet({ dir, tabletId: 't1', schema });
    expect(t.durableOpIndex()).toBe(1);
    t.applyWrite({ term: 1, index: 2 }, 200n, [{ kind: 'update', row: [2n, 'b', undefined, undefined] }, { kind: 'delete', row: [1n] }]);
    const rows: unknown[] = [];
    for (const b of t.scan({ ordered: true })) for (const row of b.toArray()) rows.push(row.toJSON());
    expect(rows.length).toBe(1);
    const old: unknown[] = [];
    for (const b of t.scan({ readMode: { kind: 'snapshot', timestamp: 150n }, projection: ['id'] })) old.push(...b.getChildAt(0)!.toArray());
    expect(old).toEqual([1n, 2n]);
    t.close();
  });
});
