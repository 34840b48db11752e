import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { openTablet, TabletImpl } from '../../src/tablet/index.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'saiga-alter-')); dirs.push(d); return d; };

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'string', nullable: false },
    { name: 'a', type: 'int32', nullable: false },
    { name: 'b', type: 'binary', nullable: true },
  ],
};

describe('tablet schema changes and row errors', () => {
  it('rejects bad rows one by one and applies the rest', () => {
    const t = openTablet({ dir: tmp(), tabletId: 'e', schema });
    const res = t.applyWrite({ term: 1, index: 1 }, 5n, [
      { kind: 'insert', row: ['ok', 1, null] },
      { kind: 'insert', row: ['nul', null, null] },
      { kind: 'insert', row: ['type', 'x', null] },
      { kind: 'insert', row: ['x'.repeat(17 * 1024), 1, null] },
      { kind: 'insert', row: ['cell', 1, new Uint8Array(65 * 1024)] },
      { kind: 'insert', row: ['range', 2 ** 31, null] },
      { kind: 'update', row: ['missing', 3, undefined] },
      { kind: 'delete', row: ['missing'] },
      { kind: 'insert', row: ['ok2', 2, new Uint8Array([0, 1])] },
    ]);
    expect(res.appliedCount).toBe(2);
    expect(res.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([
      [1, 'InvalidArgument'], [2, 'InvalidArgument'], [3, 'InvalidArgument'], [4, 'InvalidArgument'],
      [5, 'InvalidArgument'], [6, 'NotFound'], [7, 'NotFound'],
    ]);
    expect(t.validate([{ kind: 'insert', row: ['v', null, null] }]).map((e) => e.code)).toEqual(['InvalidArgument']);
    t.close();
  });

  it('adds, renames and drops columns; old rowsets are mapped on read and after reopen', () => {
    const dir = tmp();
    const t = openTablet({ dir, tabletId: 's', schema });
    t.applyWrite({ term: 1, index: 1 }, 10n, [{ kind: 'insert', row: ['x', 1, null] }, { kind: 'insert', row: ['y', 2, new Uint8Array([9])] }]);
    const s2: Schema = { keyColumnCount: 1, columns: [...schema.columns, { name: 'c', type: 'double', nullable: false, defaultValue: 2.5 }] };
    t.alterSchema({ term: 1, index: 2 }, s2);
    expect(t.durableOpIndex()).toBe(2);
    t.applyWrite({ term: 1, index: 3 }, 20n, [{ kind: 'insert', row: ['z', 3, null, 7] }]);
    expect(t.lookup(['x'], 30n)).toEqual(['x', 1, null, 2.5]);
    expect(t.lookup(['z'], 30n)).toEqual(['z', 3, null, 7]);
    // Rename a -> aa (explicitly) and drop b.
    const s3: Schema = { keyColumnCount: 1, columns: [schema.columns[0]!, { name: 'aa', type: 'int32', nullable: false }, s2.columns[3]!] };
    (t as TabletImpl).alterSchema({ term: 1, index: 4 }, s3, { aa: 'a' });
    t.close();
    const t2 = openTablet({ dir, tabletId: 's', schema });
    expect(t2.schema.columns.map((c) => c.name)).toEqual(['k', 'aa', 'c']);
    const rows: unknown[] = [];
    for (const b of t2.scan({ ordered: true, predicates: [{ kind: 'compare', column: 'aa', op: '>=', value: 2 }] })) {
      for (let r = 0; r < b.numRows; r++) rows.push([b.getChildAt(0)!.get(r), b.getChildAt(1)!.get(r), b.getChildAt(2)!.get(r)]);
    }
    expect(rows).toEqual([['y', 2, 2.5], ['z', 3, 7]]);
    t2.close();
  });
});
