import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import type { StorageApi, WriteOpKind, WriteResult } from '../../src/common/storage-api.js';
import type { Row, Schema, Value } from '../../src/common/types.js';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { mulberry32 } from '../../bench/random.js';

/**
 * EmbeddedStorage.write: rows routed to one tablet take the tablet's write directly; others
 * (several tablets, route errors, wrong column counts, hidden keys to assign) take the general
 * path. Both must give the same results, errors and contents.
 */

const dirs: string[] = [];
const opened: StorageApi[] = [];
async function open(): Promise<StorageApi> {
  const d = mkdtempSync(join(tmpdir(), 'saiga-write-path-'));
  dirs.push(d);
  const s = await openEmbeddedStorage({ dataDir: d });
  opened.push(s);
  return s;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'qty', type: 'int32', nullable: false, defaultValue: 7 },
  ],
};

/** `one`: a single tablet (every write takes the direct path); `many`: hash 4 x 2 ranges (multi-row writes spread). */
async function createTables(s: StorageApi): Promise<void> {
  await s.createTable({ database: 'default', name: 'one', schema, partitionSchema: { hash: [], rangeColumns: [] } });
  await s.createTable({
    database: 'default', name: 'many', schema,
    partitionSchema: { hash: [{ columns: ['id'], buckets: 4, seed: 3 }], rangeColumns: ['id'] },
    ranges: [{ upper: [50n] }, { lower: [50n], upper: [100n] }],
  });
}

async function contents(s: StorageApi, table: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of s.scan('default', table, {})) {
    for (let i = 0; i < b.numRows; i++) out.push(b.schema.fields.map((f) => String(b.getChild(f.name)?.get(i))).join('|'));
  }
  return out.sort();
}

function shape(r: WriteResult): { appliedCount: number; rowErrors: { rowIndex: number; code: string; message: string }[] } {
  return { appliedCount: r.appliedCount, rowErrors: r.rowErrors.map((e) => ({ rowIndex: e.rowIndex, code: e.code, message: e.message })) };
}

const KINDS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];

function randomRow(r: () => number): Row {
  // (A NULL key is a route error on a partitioned table but a tablet error on an unpartitioned
  // one: the single-row case below covers it.)
  const id: Value = BigInt(Math.floor(r() * 90));
  const x = r();
  const name: Value | undefined = x < 0.15 ? undefined : x < 0.25 ? null : `n${Math.floor(r() * 1000)}`;
  const y = r();
  // Bad values: NULL for a non-nullable column, a string for an INT column.
  const qty: Value | undefined = y < 0.2 ? undefined : y < 0.25 ? null : y < 0.28 ? 'x' : Math.floor(r() * 100);
  return [id, name, qty] as Row;
}

describe('EmbeddedStorage.write: direct single-tablet path vs the general path', () => {
  it('gives the same results, row errors and contents for random single- and few-row writes', async () => {
    const seed = Number(process.env.SEED ?? 20261121);
    const r = mulberry32(seed);
    const s = await open();
    await createTables(s);
    try {
      for (let step = 0; step < 400; step++) {
        const kind = KINDS[Math.floor(r() * KINDS.length)] as WriteOpKind;
        const n = r() < 0.6 ? 1 : 2 + Math.floor(r() * 4);
        const rows: Row[] = [];
        for (let i = 0; i < n; i++) rows.push(randomRow(r));
        // Ask both at once (concurrent writes share proposals); results must agree row by row.
        const [a, b] = await Promise.all([s.write('default', 'one', kind, rows), s.write('default', 'many', kind, rows)]);
        expect(shape(a), `step ${step} ${kind} ${n} rows`).toEqual(shape(b));
        expect(a.timestamp > 0n && b.timestamp > 0n).toBe(true);
        for (let i = 1; i < a.rowErrors.length; i++) expect((a.rowErrors[i] as { rowIndex: number }).rowIndex).toBeGreaterThan((a.rowErrors[i - 1] as { rowIndex: number }).rowIndex);
      }
      const [c1, c2] = [await contents(s, 'one'), await contents(s, 'many')];
      expect(c1.length).toBeGreaterThan(10);
      expect(c1).toEqual(c2);
    } catch (e) {
      console.error(`write-path seed ${seed}`);
      throw e;
    }
  });

  it('reports a single row\'s duplicate, missing, invalid and mis-sized cases with row index 0', async () => {
    const s = await open();
    await createTables(s);
    for (const t of ['one', 'many']) {
      const ok = await s.write('default', t, 'insert', [[1n, 'a', 5]]);
      expect(ok.appliedCount).toBe(1);
      expect(ok.rowErrors).toEqual([]);
      const dup = await s.write('default', t, 'insert', [[1n, 'b', 6]]);
      expect(shape(dup)).toEqual({ appliedCount: 0, rowErrors: [{ rowIndex: 0, code: 'AlreadyPresent', message: 'a row with this primary key already exists' }] });
      expect(dup.timestamp).toBeGreaterThan(ok.timestamp);
      const ign = await s.write('default', t, 'insert_ignore', [[1n, 'b', 6]]);
      expect(shape(ign)).toEqual({ appliedCount: 0, rowErrors: [] });
      const miss = await s.write('default', t, 'update', [[2n, 'x', 1]]);
      expect(miss.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'NotFound']]);
      const bad = await s.write('default', t, 'insert', [[3n, 'c', null]]);
      expect(bad.appliedCount).toBe(0);
      expect(bad.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'InvalidArgument']]);
      expect(bad.timestamp).toBeGreaterThan(0n);
      const short = await s.write('default', t, 'insert', [[4n, 'd']]);
      expect(short.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'InvalidArgument']]);
      const def = await s.write('default', t, 'insert', [[5n, null, undefined]]);
      expect(def.appliedCount).toBe(1);
      expect(await contents(s, t)).toEqual(['1|a|5', '5|null|7']);
    }
    // Beyond every range partition, a NULL partition column: route errors, not exceptions.
    const out = await s.write('default', 'many', 'insert', [[500n, 'z', 1]]);
    expect(out.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'NotFound']]);
    const nul = await s.write('default', 'many', 'insert', [[null, 'z', 1]]);
    expect(shape(nul)).toEqual({ appliedCount: 0, rowErrors: [{ rowIndex: 0, code: 'InvalidArgument', message: 'a hash partition column of the row is missing or not of its type' }] });
    const nulOne = await s.write('default', 'one', 'insert', [[null, 'z', 1]]);
    expect(shape(nulOne)).toEqual({ appliedCount: 0, rowErrors: [{ rowIndex: 0, code: 'InvalidArgument', message: 'column id is not nullable, got NULL' }] });
  });

  it('maps row errors of a multi-row write to one tablet to the input rows', async () => {
    const s = await open();
    await createTables(s);
    await s.write('default', 'one', 'insert', [[10n, 'a', 1]]);
    const r = await s.write('default', 'one', 'insert', [[11n, 'b', 2], [10n, 'dup', 3], [12n, 'c', 'bad'], [13n, 'd', 4], [11n, 'again', 5]]);
    expect(r.appliedCount).toBe(2);
    expect(r.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[1, 'AlreadyPresent'], [2, 'InvalidArgument'], [4, 'AlreadyPresent']]);
    expect(await contents(s, 'one')).toEqual(['10|a|1', '11|b|2', '13|d|4']);
  });

  it('assigns hidden keys on the general path and keeps explicit ones on the direct path', async () => {
    const s = await open();
    await s.createTable({ database: 'default', name: 'h', schema: { keyColumnCount: 0, columns: [{ name: 'v', type: 'string', nullable: true }] }, partitionSchema: { hash: [], rangeColumns: [] } });
    const info = s.getTable('default', 'h');
    expect(info.schema.columns[0]?.autoIncrement).toBe(true);
    const a = await s.write('default', 'h', 'insert', [[undefined, 'x']]);
    const b = await s.write('default', 'h', 'insert', [[null, 'y']]);
    expect(a.appliedCount).toBe(1);
    expect(a.lastAutoIncrementId).toBeDefined();
    expect(b.lastAutoIncrementId).toBe((a.lastAutoIncrementId as bigint) + 1n);
    const c = await s.write('default', 'h', 'insert', [[1_000_000n, 'z']]);
    expect(c.appliedCount).toBe(1);
    expect(c.lastAutoIncrementId).toBeUndefined();
    expect((await contents(s, 'h')).length).toBe(3);
  });

  it('flush waits for the direct writes in flight when it is called', async () => {
    const s = await open();
    await createTables(s);
    let settled = 0;
    const writes = Array.from({ length: 40 }, (_, i) => s.write('default', i % 2 === 0 ? 'one' : 'many', 'insert', [[BigInt(i), 'f', i]]).then((r) => {
      settled++;
      return r;
    }));
    await s.flush();
    // Each write's own continuation runs before flush's (its promise settled first).
    expect(settled).toBe(40);
    expect((await Promise.all(writes)).every((r) => r.appliedCount === 1)).toBe(true);
    expect((await contents(s, 'one')).length + (await contents(s, 'many')).length).toBe(40);
  });

  it('rejects (never throws synchronously) for an unknown table or a closed storage', async () => {
    const s = await open();
    await createTables(s);
    let p: Promise<WriteResult> | undefined;
    expect(() => {
      p = s.write('default', 'nope', 'insert', [[1n, 'a', 1]]);
    }).not.toThrow();
    await expect(p).rejects.toSatisfy((e: unknown) => isSaigaError(e) && e.code === 'UnknownTable');
    const pending = s.write('default', 'one', 'insert', [[7n, 'a', 1]]);
    await s.close();
    // close() waits for the writes in flight.
    expect((await pending).appliedCount).toBe(1);
    await expect(s.write('default', 'one', 'insert', [[8n, 'a', 1]])).rejects.toSatisfy((e: unknown) => isSaigaError(e) && e.code === 'IllegalState');
  });
});
