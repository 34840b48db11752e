import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeData, RecordBatch, Schema as ArrowSchema, Field, Int32, Utf8, Struct, vectorFromArray } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import type { ScanSpec } from '../../src/common/scan-spec.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, type Row, type Schema } from '../../src/common/types.js';
import { openEmbeddedStorage } from '../../src/client/index.js';

const dirs: string[] = [];
const opened: StorageApi[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-emb-'));
  dirs.push(d);
  return d;
}
async function open(dataDir: string): Promise<StorageApi> {
  const s = await openEmbeddedStorage({ dataDir, limits: { memRowSetFlushBytes: 256 * 1024, logSegmentBytes: 64 * 1024 } });
  opened.push(s);
  return s;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schema: Schema = {
  keyColumnCount: 2,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'region', type: 'int32', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'qty', type: 'int32', nullable: false, defaultValue: 7 },
  ],
};

async function rowsOf(s: StorageApi, table: string, spec: ScanSpec = {}): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of s.scan('default', table, spec)) {
    for (let i = 0; i < b.numRows; i++) out.push(b.schema.fields.map((f) => b.getChild(f.name)?.get(i) as Row[number]));
  }
  return out;
}

function key(r: Row): string {
  return `${String(r[0])}/${String(r[1])}`;
}

async function createT(s: StorageApi): Promise<void> {
  await s.createTable({
    database: 'default',
    name: 't',
    schema,
    partitionSchema: { hash: [{ columns: ['id'], buckets: 3, seed: 1 }], rangeColumns: ['region'] },
    ranges: [{ upper: [10] }, { lower: [10], upper: [20] }],
  });
}

describe('embedded storage', () => {
  it('creates databases and tables, writes every op kind, scans, survives restart', async () => {
    const dir = tempDir();
    let s = await open(dir);
    expect(s.listDatabases()).toContain('default');
    await s.createDatabase('other');
    await expect(s.createDatabase('other')).rejects.toSatisfy((e: unknown) => isSaigaError(e, 'DatabaseExists'));
    await createT(s);
    const t = s.getTable('default', 't');
    expect(t.tablets).toHaveLength(6);
    expect(() => s.getTable('default', 'nope')).toThrow(/unknown table/);

    const rows: Row[] = [];
    for (let i = 0; i < 200; i++) rows.push([BigInt(i), i % 20, `n${i}`, i]);
    const w = await s.write('default', 't', 'insert', rows);
    expect(w.appliedCount).toBe(200);
    expect(w.rowErrors).toEqual([]);
    // Duplicate, out-of-range partition, bad type: per-row errors with the original indexes.
    const w2 = await s.write('default', 't', 'insert', [[5n, 5, 'dup', 1], [1000n, 25, 'x', 1], [1001n, 3, 'ok', undefined], [1002n, 3, 5, 1]]);
    expect(w2.appliedCount).toBe(1);
    expect(w2.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'AlreadyPresent'], [1, 'NotFound'], [3, 'InvalidArgument']]);
    expect(await s.lookup('default', 't', [1001n, 3])).toEqual([1001n, 3, 'ok', 7]);

    await s.write('default', 't', 'update', [[10n, 10, 'updated', undefined], [9999n, 1, 'missing', 1]]).then((r) => {
      expect(r.appliedCount).toBe(1);
      expect(r.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[1, 'NotFound']]);
    });
    expect((await s.write('default', 't', 'update_ignore', [[9999n, 1, 'missing', 1]])).rowErrors).toEqual([]);
    expect((await s.write('default', 't', 'insert_ignore', [[11n, 11, 'dup', 1]])).rowErrors).toEqual([]);
    await s.write('default', 't', 'upsert', [[11n, 11, 'upserted', 99], [2000n, 15, 'new', 1]]);
    await s.write('default', 't', 'delete', [[12n, 12, undefined, undefined]]);
    expect((await s.write('default', 't', 'delete_ignore', [[12n, 12, undefined, undefined]])).rowErrors).toEqual([]);

    const expectRows = async (st: StorageApi): Promise<void> => {
      const all = await rowsOf(st, 't');
      expect(all).toHaveLength(201);
      const byKey = new Map(all.map((r) => [key(r), r]));
      expect(byKey.get('10/10')?.[2]).toBe('updated');
      expect(byKey.get('11/11')?.slice(2)).toEqual(['upserted', 99]);
      expect(byKey.has('12/12')).toBe(false);
      expect(byKey.get('2000/15')?.[2]).toBe('new');
      // Predicates + pruning.
      const sel = await rowsOf(st, 't', { predicates: [{ kind: 'compare', column: 'region', op: '<', value: 3 }, { kind: 'compare', column: 'id', op: '>=', value: 100n }] });
      const brute = all.filter((r) => (r[1] as number) < 3 && (r[0] as bigint) >= 100n);
      expect(sel.map(key).sort()).toEqual(brute.map(key).sort());
      expect(st.tabletsFor('default', 't', [{ kind: 'compare', column: 'id', op: '=', value: 5n }, { kind: 'compare', column: 'region', op: '=', value: 5 }])).toHaveLength(1);
      expect(await rowsOf(st, 't', { limit: 7, projection: ['name'] })).toHaveLength(7);
      expect(st.tableStats('default', 't').rowCount).toBeGreaterThan(0);
    };
    await expectRows(s);
    await s.close();
    s = await open(dir);
    await expectRows(s);
    await s.flush();
    await s.close();
    s = await open(dir);
    await expectRows(s);
    expect(s.listDatabases()).toContain('other');
  });

  it('alters tables and range partitions, persisted across restart', async () => {
    const dir = tempDir();
    let s = await open(dir);
    await createT(s);
    await s.write('default', 't', 'insert', [[1n, 1, 'a', 1], [2n, 15, 'b', 2]]);
    await s.alterTable('default', 't', [
      { kind: 'addColumn', column: { name: 'extra', type: 'string', nullable: true } },
      { kind: 'renameColumn', from: 'name', to: 'label' },
    ]);
    await s.write('default', 't', 'insert', [[3n, 2, 'c', 3, 'x']]);
    await expect(s.alterTable('default', 't', [{ kind: 'addRangePartition', range: { lower: [15], upper: [30] } }])).rejects.toThrow(/overlaps/);
    await s.alterTable('default', 't', [{ kind: 'addRangePartition', range: { lower: [20], upper: [30] } }]);
    expect((await s.write('default', 't', 'insert', [[4n, 25, 'd', 4, null]])).appliedCount).toBe(1);
    await s.alterTable('default', 't', [{ kind: 'dropRangePartition', range: { lower: [10], upper: [20] } }, { kind: 'dropColumn', name: 'qty' }]);
    await s.close();
    s = await open(dir);
    const t = s.getTable('default', 't');
    expect(t.schema.columns.map((c) => c.name)).toEqual(['id', 'region', 'label', 'extra']);
    expect(t.tablets).toHaveLength(6);
    const all = await rowsOf(s, 't');
    expect(all.map((r) => r[0]).sort()).toEqual([1n, 3n, 4n]);
    expect(all.find((r) => r[0] === 3n)).toEqual([3n, 2, 'c', 'x']);
    await s.alterTable('default', 't', [{ kind: 'renameTable', newName: 't2' }]);
    expect(s.listTables('default')).toEqual(['t2']);
    await s.truncateTable('default', 't2');
    expect(await rowsOf(s, 't2')).toEqual([]);
    await s.dropTable('default', 't2');
    expect(s.listTables('default')).toEqual([]);
  });

  it('assigns hidden auto-increment keys that are never reused after a restart', async () => {
    const dir = tempDir();
    let s = await open(dir);
    await s.createTable({
      database: 'default',
      name: 'logs',
      schema: { keyColumnCount: 0, columns: [{ name: 'msg', type: 'string', nullable: true }] },
      partitionSchema: { hash: [{ columns: [AUTO_INCREMENT_COLUMN], buckets: 2, seed: 0 }], rangeColumns: [] },
    });
    const t = s.getTable('default', 'logs');
    expect(t.schema.columns[0]?.name).toBe(AUTO_INCREMENT_COLUMN);
    const r1 = await s.write('default', 'logs', 'insert', [[undefined, 'a'], [undefined, 'b']]);
    expect(r1.lastAutoIncrementId).toBe(2n);
    await s.close();
    s = await open(dir);
    const r2 = await s.write('default', 'logs', 'insert', [[undefined, 'c']]);
    expect(r2.lastAutoIncrementId).toBeGreaterThan(2n);
    const ids = (await rowsOf(s, 'logs')).map((r) => r[0] as bigint);
    expect(new Set(ids).size).toBe(3);
  });

  it('bulk-writes Arrow batches by column name with defaults for missing columns', async () => {
    const s = await open(tempDir());
    await s.createTable({ database: 'default', name: 'b', schema: { keyColumnCount: 1, columns: [{ name: 'k', type: 'int32', nullable: false }, { name: 's', type: 'string', nullable: true }, { name: 'q', type: 'int32', nullable: false, defaultValue: 42 }] }, partitionSchema: { hash: [], rangeColumns: [] } });
    const k = vectorFromArray([3, 1, 2], new Int32());
    const sv = vectorFromArray(['x', null, 'zz'], new Utf8());
    const fields = [new Field('S', new Utf8(), true), new Field('k', new Int32(), false)];
    const data = makeData({ type: new Struct(fields), length: 3, nullCount: 0, children: [sv.data[0], k.data[0]] as never });
    const batch = new RecordBatch(new ArrowSchema(fields), data);
    const r = await s.writeArrow('default', 'b', 'insert', batch);
    expect(r.appliedCount).toBe(3);
    const rows = (await rowsOf(s, 'b', { ordered: true }));
    expect(rows).toEqual([[1, null, 42], [2, 'zz', 42], [3, 'x', 42]]);
  });
});

describe('embedded storage recovery of interrupted DDL', () => {
  it('finishes an ALTER the catalog holds but a tablet missed, and removes orphan tablet dirs', async () => {
    const { Catalog } = await import('../../src/master/index.js');
    const { existsSync, mkdirSync } = await import('node:fs');
    const dir = tempDir();
    let s = await open(dir);
    await createT(s);
    await s.write('default', 't', 'insert', [[1n, 1, 'a', 1]]);
    await s.close();
    // As if the process died after persisting the catalog step, before logging it in the tablets.
    const c = Catalog.open(dir);
    const t = c.getTable('default', 't');
    c.replaceTable(c.planAlterStep(t, { kind: 'addColumn', column: { name: 'late', type: 'int32', nullable: true, defaultValue: 5 } }));
    const orphan = join(dir, 'tablets', 'orphan-tablet');
    mkdirSync(join(orphan, 'wal'), { recursive: true });
    s = await open(dir);
    expect(existsSync(orphan)).toBe(false);
    expect(await s.lookup('default', 't', [1n, 1])).toEqual([1n, 1, 'a', 1, 5]);
    const w = await s.write('default', 't', 'insert', [[2n, 2, 'b', 2, 9]]);
    expect(w.rowErrors).toEqual([]);
    await s.close();
    s = await open(dir);
    expect(await s.lookup('default', 't', [2n, 2])).toEqual([2n, 2, 'b', 2, 9]);
  });
});

describe('embedded storage snapshots', () => {
  it('a snapshot scan taken while writes are in flight is repeatable', async () => {
    const s = await open(tempDir());
    await createT(s);
    for (let round = 0; round < 5; round++) {
      const inflight: Promise<unknown>[] = [];
      for (let w = 0; w < 20; w++) {
        const rows: Row[] = Array.from({ length: 10 }, (_, i) => [BigInt(round * 1000 + w * 10 + i), (w + i) % 20, 'x', 1]);
        inflight.push(s.write('default', 't', 'insert', rows));
      }
      const snap = s.now();
      const spec: ScanSpec = { readMode: { kind: 'snapshot', timestamp: snap }, projection: ['id'] };
      const first = (await rowsOf(s, 't', spec)).length;
      await Promise.all(inflight);
      const second = (await rowsOf(s, 't', spec)).length;
      expect(second, `round ${round}`).toBe(first);
      expect((await rowsOf(s, 't', { projection: ['id'] })).length).toBe((round + 1) * 200);
    }
  });
});
