import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema } from '../../src/common/types.js';
import { readValue } from '../../src/rowset/column-data.js';
import { DeltaIndex, readDeltaFile, writeDeltaFile } from '../../src/rowset/delta-file.js';
import { DiskRowSet, writeDiskRowSet, type RowHistory } from '../../src/rowset/disk-rowset.js';
import type { ScanPlan, StoredColumn } from '../../src/rowset/scan-plan.js';
import { openTablet } from '../../src/tablet/index.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'saiga-drs-')); dirs.push(d); return d; };

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'qty', type: 'double', nullable: false },
    { name: 'tag', type: 'string', nullable: true },
  ],
};
const columns: StoredColumn[] = schema.columns.map((c, i) => ({ ...c, id: i }));

function* rows(n: number): Generator<RowHistory> {
  for (let i = 0; i < n; i++) {
    const row = [BigInt(i), i * 0.5, i % 3 === 0 ? null : `t${i}`];
    yield { key: encodeKey(schema, row), versions: [{ ts: BigInt(100 + i), row }] };
  }
}

function plan(over: Partial<ScanPlan> = {}): ScanPlan {
  return { columns, keyColumnCount: 1, output: [0, 1, 2], predicates: [], snapshot: (1n << 64n) - 1n, wantKeys: false, batchRowCount: 1000, ...over };
}

describe('DiskRowSet file', () => {
  it('round-trips rows, finds keys, and serves base data zero-copy from SharedArrayBuffers', () => {
    const path = join(tmp(), 'rs-1.drs');
    const res = writeDiskRowSet(path, columns, 1, rows(1000), 128);
    expect(res.rowCount).toBe(1000);
    const drs = DiskRowSet.open(path);
    expect(drs.batchCount).toBe(8);
    for (const i of [0, 1, 127, 128, 500, 999]) expect(drs.findOrdinal(encodeKey(schema, [BigInt(i)]))).toBe(i);
    expect(drs.findOrdinal(encodeKey(schema, [1000n]))).toBe(-1);
    expect(drs.findOrdinal(encodeKey(schema, [-1n]))).toBe(-1);
    let n = 0;
    for (const chunk of drs.scan(plan())) {
      for (const d of chunk.columns) expect(d.values.buffer).toBeInstanceOf(SharedArrayBuffer);
      for (let r = 0; r < chunk.length; r++) {
        expect(readValue('int64', chunk.columns[0]!, r)).toBe(BigInt(n));
        expect(readValue('string', chunk.columns[2]!, r)).toBe(n % 3 === 0 ? null : `t${n}`);
        n++;
      }
    }
    expect(n).toBe(1000);
    // Snapshot before some inserts: the insert timestamps hide later rows.
    let visible = 0;
    for (const c of drs.scan(plan({ snapshot: 149n }))) visible += c.length;
    expect(visible).toBe(50);
    drs.close();
  });

  it('skips batches by min/max stats and the sparse key index', () => {
    const path = join(tmp(), 'rs-1.drs');
    writeDiskRowSet(path, columns, 1, rows(1000), 100);
    const drs = DiskRowSet.open(path);
    const out: bigint[] = [];
    const p = plan({ predicates: [{ column: columns[1]!, columnIndex: 1, kind: 'compare', mask: 4 | 2, values: [450], never: false }], lowerKey: encodeKey(schema, [900n]) });
    for (const c of drs.scan(p)) for (let r = 0; r < c.length; r++) out.push(readValue('int64', c.columns[0]!, r) as bigint);
    expect(out.length).toBe(100);
    expect(out[0]).toBe(900n);
    drs.close();
  });

  it('reports a flipped byte in a DiskRowSet block as Corruption with file and offset', () => {
    const path = join(tmp(), 'rs-1.drs');
    writeDiskRowSet(path, columns, 1, rows(300), 100);
    const bytes = readFileSync(path);
    const off = 40;
    bytes[off] = (bytes[off] as number) ^ 0xff;
    writeFileSync(path, bytes);
    const drs = DiskRowSet.open(path);
    let err: unknown;
    try {
      for (const _ of drs.scan(plan())) { /* drain */ }
    } catch (e) { err = e; }
    expect(isSaigaError(err, 'Corruption')).toBe(true);
    if (isSaigaError(err)) {
      expect(err.details.file).toBe(path);
      expect(err.details.offset).toBe(16);
      expect(err.message).toContain(path);
    }
    drs.close();
  });

  it('reports a flipped byte in the footer as Corruption on open', () => {
    const path = join(tmp(), 'rs-1.drs');
    writeDiskRowSet(path, columns, 1, rows(300), 100);
    const bytes = readFileSync(path);
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] as number) ^ 0x01;
    writeFileSync(path, bytes);
    expect(() => DiskRowSet.open(path)).toThrowError(/footer checksum mismatch .* in .*rs-1\.drs at offset \d+/);
  });

  it('reports a flipped byte in a delta file as Corruption with file and offset', () => {
    const path = join(tmp(), 'rs-1.redo-2');
    const idx = new DeltaIndex();
    idx.add(3, { ts: 7n, kind: 'update', cells: [[1, 2.5], [2, 'x']] });
    idx.add(1, { ts: 9n, kind: 'delete', cells: [] });
    writeDeltaFile(path, idx);
    const back = new DeltaIndex();
    readDeltaFile(path, back);
    expect(back.get(3)).toEqual([{ ts: 7n, kind: 'update', cells: [[1, 2.5], [2, 'x']] }]);
    const bytes = readFileSync(path);
    bytes[20] = (bytes[20] as number) ^ 0x20;
    writeFileSync(path, bytes);
    let err: unknown;
    try { readDeltaFile(path, new DeltaIndex()); } catch (e) { err = e; }
    expect(isSaigaError(err, 'Corruption')).toBe(true);
    if (isSaigaError(err)) expect([err.details.file, err.details.offset]).toEqual([path, 16]);
  });

  it('a tablet refuses to open over a corrupted delta file', () => {
    const dir = tmp();
    const t = openTablet({ dir, tabletId: 'c', schema });
    t.applyWrite({ term: 1, index: 1 }, 10n, [{ kind: 'insert', row: [1n, 1, 'a'] }, { kind: 'insert', row: [2n, 2, 'b'] }]);
    t.flush();
    t.applyWrite({ term: 1, index: 2 }, 20n, [{ kind: 'update', row: [1n, 5, undefined] }]);
    t.flush();
    t.close();
    const redo = readdirSync(dir).find((f) => f.includes('.redo-'));
    expect(redo).toBeDefined();
    const p = join(dir, redo!);
    const bytes = readFileSync(p);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0x04;
    writeFileSync(p, bytes);
    expect(() => openTablet({ dir, tabletId: 'c', schema })).toThrowError(/Corruption|checksum/);
  });
});
