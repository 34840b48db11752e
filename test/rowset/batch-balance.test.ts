import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { balancedBatchRows, DiskRowSet, writeDiskRowSetFromMemRowSet } from '../../src/rowset/disk-rowset.js';
import { MemRowSet } from '../../src/rowset/mem-rowset.js';
import type { StoredColumn } from '../../src/rowset/scan-plan.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * A file's rows are cut into the fewest batches of at most rowsPerBatch rows, equally filled:
 * no tiny tail batch (scans pay per batch), and every row read back in order.
 */

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('balancedBatchRows', () => {
  it('gives the fewest batches of at most cap rows, the last one short by less than the batch count', () => {
    const seed = Number(process.env['SAIGA_SEED'] ?? 7);
    const rand = rng(seed);
    for (let t = 0; t < 2000; t++) {
      const cap = 1 + Math.floor(rand() * 70_000);
      const n = 1 + Math.floor(rand() * 500_000);
      const b = balancedBatchRows(n, cap);
      const batches = Math.ceil(n / b);
      expect(b, `seed ${seed} n ${n} cap ${cap}`).toBeLessThanOrEqual(cap);
      expect(batches, `seed ${seed} n ${n} cap ${cap}`).toBe(Math.ceil(n / cap));
      // the last batch holds n - (batches - 1) * b rows: at least b - batches + 1
      if (n > cap) expect(n - (batches - 1) * b, `seed ${seed} n ${n} cap ${cap}`).toBeGreaterThanOrEqual(b - batches + 1);
      else expect(b, `seed ${seed} n ${n} cap ${cap}`).toBe(cap);
    }
    expect(balancedBatchRows(67_400, 65_536)).toBe(33_700);
    expect(balancedBatchRows(100, 65_536)).toBe(65_536);
  });
});

describe('DiskRowSet batches of a MemRowSet flush', () => {
  const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int32', nullable: false }, { name: 's', type: 'string', nullable: true }] };
  const columns: StoredColumn[] = schema.columns.map((c, i) => ({ ...c, id: 1 + i }));

  for (const [rowCount, rowsPerBatch] of [[1003, 1000], [2500, 1000], [999, 1000], [1, 1]] as const) {
    it(`writes ${rowCount} rows at rowsPerBatch ${rowsPerBatch} as equal batches, in key order`, () => {
      const mrs = new MemRowSet(columns);
      for (let k = 0; k < rowCount; k++) {
        const row: Value[] = [k * 3, k % 5 === 0 ? null : `v${k}`];
        mrs.insert(encodeKey(schema, row), 10n, row);
      }
      const dir = mkdtempSync(join(tmpdir(), 'saiga-balance-'));
      dirs.push(dir);
      const path = join(dir, 'a.drs');
      const res = writeDiskRowSetFromMemRowSet(path, columns, 1, mrs, rowsPerBatch);
      expect(res.rowCount).toBe(rowCount);
      const drs = DiskRowSet.open(path);
      try {
        const want = Math.ceil(rowCount / rowsPerBatch);
        expect(drs.batchCount).toBe(want);
        const sizes: number[] = [];
        let ord = 0;
        for (let b = 0; b < drs.batchCount; b++) {
          const rb = drs.batch(b);
          sizes.push(rb.numRows);
          const keys = rb.getChildAt(0)?.toArray() as Int32Array;
          for (let r = 0; r < rb.numRows; r++, ord++) expect(keys[r], `row ${ord}`).toBe(ord * 3);
        }
        expect(ord).toBe(rowCount);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(want);
        expect(Math.max(...sizes)).toBeLessThanOrEqual(rowsPerBatch);
      } finally {
        drs.close();
      }
    });
  }
});
