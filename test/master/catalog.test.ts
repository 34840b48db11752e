import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { AUTO_INCREMENT_COLUMN } from '../../src/common/types.js';
import { AUTO_INCREMENT_RESERVE_BLOCK, Catalog } from '../../src/master/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-cat-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const req = {
  database: 'default',
  name: 'T1',
  schema: { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64' as const, nullable: false, defaultValue: 3n }, { name: 'v', type: 'string' as const, nullable: true }] },
  partitionSchema: { hash: [{ columns: ['k'], buckets: 2, seed: 0 }], rangeColumns: ['k'] },
  ranges: [{ upper: [0n] }, { lower: [0n] }],
};

describe('catalog', () => {
  it('persists databases, tables and partitions atomically and reloads them', () => {
    const dir = tempDir();
    const c = Catalog.open(dir);
    expect(c.listDatabases()).toEqual(['default']);
    c.createDatabase('sales');
    expect(() => c.createDatabase('SALES')).toThrow(/already exists/);
    const t = c.planCreateTable(req);
    expect(t.tablets).toHaveLength(4);
    expect(new Set(t.tablets.map((x) => x.tabletId)).size).toBe(4);
    c.addTable(t);
    expect(() => c.planCreateTable(req)).toThrow(/already exists/);
    const again = Catalog.open(dir);
    expect(again.listDatabases()).toEqual(['default', 'sales']);
    expect(again.getTable('default', 't1')).toEqual(t);
    expect(again.getTable('DEFAULT', 'T1').schema.columns[0]?.defaultValue).toBe(3n);
    expect(() => again.getTable('default', 'nope')).toThrow(/unknown table/);
    try {
      again.listTables('nope');
      expect.unreachable();
    } catch (e) {
      expect(isSaigaError(e, 'UnknownDatabase')).toBe(true);
    }
  });

  it('detects a corrupted catalog file', () => {
    const dir = tempDir();
    Catalog.open(dir).createDatabase('x');
    const path = join(dir, 'catalog.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"x', '"y'));
    expect(() => Catalog.open(dir)).toThrow(/checksum/);
  });

  it('validates schemas, partition schemas and ranges', () => {
    const c = Catalog.open(tempDir());
    expect(() => c.planCreateTable({ ...req, partitionSchema: { hash: [{ columns: ['v'], buckets: 2, seed: 0 }], rangeColumns: [] } })).toThrow(/primary-key/);
    expect(() => c.planCreateTable({ ...req, ranges: [{ upper: [5n] }, { lower: [0n] }] })).toThrow(/overlap/);
    expect(() => c.planCreateTable({ ...req, ranges: [{ lower: [5n], upper: [5n] }] })).toThrow(/lower bound < upper/);
    expect(() => c.planCreateTable({ ...req, schema: { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: true }] } })).toThrow(/nullable/);
    expect(() => c.planCreateTable({ ...req, schema: { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'K', type: 'int32', nullable: true }] } })).toThrow(/duplicate/);
  });

  it('adds a hidden auto-increment key and never reuses ids after reopening', () => {
    const dir = tempDir();
    const c = Catalog.open(dir);
    const t = c.planCreateTable({ database: 'default', name: 'nokey', schema: { keyColumnCount: 0, columns: [{ name: 'v', type: 'string', nullable: true }] }, partitionSchema: { hash: [], rangeColumns: [] } });
    expect(t.schema.keyColumnCount).toBe(1);
    expect(t.schema.columns[0]).toMatchObject({ name: AUTO_INCREMENT_COLUMN, type: 'int64', autoIncrement: true });
    c.addTable(t);
    expect(c.reserveAutoIncrement(t.tableId, 3)).toBe(1n);
    expect(c.reserveAutoIncrement(t.tableId, 2)).toBe(4n);
    const big = Number(AUTO_INCREMENT_RESERVE_BLOCK) + 10;
    expect(c.reserveAutoIncrement(t.tableId, big)).toBe(6n);
    const used = 6n + BigInt(big);
    const again = Catalog.open(dir);
    expect(again.reserveAutoIncrement(t.tableId, 1)).toBeGreaterThanOrEqual(used);
  });

  it('plans alter steps: columns, range partitions, rename', () => {
    const c = Catalog.open(tempDir());
    const t = c.planCreateTable(req);
    c.addTable(t);
    const a = c.planAlterStep(t, { kind: 'addColumn', column: { name: 'n', type: 'int32', nullable: true } });
    expect(a.schemaVersion).toBe(2);
    expect(() => c.planAlterStep(t, { kind: 'addColumn', column: { name: 'n', type: 'int32', nullable: false } })).toThrow(/nullable or have a default/);
    expect(() => c.planAlterStep(t, { kind: 'dropColumn', name: 'k' })).toThrow(/primary-key/);
    expect(() => c.planAlterStep(t, { kind: 'addRangePartition', range: { lower: [10n] } })).toThrow(/overlaps/);
    const dropped = c.planAlterStep(t, { kind: 'dropRangePartition', range: { lower: [0n] } });
    expect(dropped.tablets).toHaveLength(2);
    const readded = c.planAlterStep(dropped, { kind: 'addRangePartition', range: { lower: [0n], upper: [100n] } });
    expect(readded.tablets).toHaveLength(4);
    expect(() => c.planAlterStep(t, { kind: 'dropRangePartition', range: { lower: [1n] } })).toThrow(/exactly/);
    expect(c.planAlterStep(t, { kind: 'renameColumn', from: 'v', to: 'w' }).schema.columns[1]?.name).toBe('w');
  });
});
