import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { compactValuesOf, setCompactValues } from '../../src/common/compact-column.js';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { buildCompactValues, gather, readValue } from '../../src/rowset/column-data.js';
import { mulberry32 } from '../query/tpch-mini.js';
import { DiskRowSet, writeDiskRowSet, type RowHistory } from '../../src/rowset/disk-rowset.js';
import type { ScanPlan, StoredColumn } from '../../src/rowset/scan-plan.js';

/**
 * Compact copies of wide integer columns (common/compact-column.ts): the smallest exact form
 * (int32, else a double within 2^53, else none), built once per cached DiskRowSet column when a
 * scan outputs it whole, equal to the wide values on every non-NULL row.
 */
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'saiga-compact-')); dirs.push(d); return d; };

function decWords(vals: readonly bigint[]): Uint32Array {
  const w = new Uint32Array(vals.length * 4);
  vals.forEach((v, i) => { const u = BigInt.asUintN(128, v); for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn); });
  return w;
}
const decData = (vals: readonly bigint[]): arrow.Data => arrow.makeData({ type: new arrow.Decimal(2, 38, 128), length: vals.length, data: decWords(vals) });
const i64Data = (vals: readonly bigint[]): arrow.Data => arrow.makeData({ type: new arrow.Int64(), length: vals.length, data: BigInt64Array.from(vals) });

describe('buildCompactValues', () => {
  const MAX53 = 2n ** 53n - 1n;
  const cases: [string, bigint[], 'i32' | 'f64' | null][] = [
    ['int32 values', [0n, 1n, -1n, 2147483647n, -2147483648n], 'i32'],
    ['one value past int32', [0n, 2147483648n, -5n], 'f64'],
    ['values at +-(2^53-1)', [MAX53, -MAX53, 3n], 'f64'],
    ['a value at 2^53', [1n, 2n ** 53n], null],
    ['a value at -2^53', [1n, -(2n ** 53n)], null],
    ['a value at -2^53 + 2^32 - 1', [1n, -(2n ** 53n) + 2n ** 32n - 1n], 'f64'],
    ['a value beyond 2^64', [1n, 2n ** 70n], null],
    ['a negative value beyond -2^64', [1n, -(2n ** 70n)], null],
  ];
  for (const [what, vals, want] of cases) {
    it(`decimal and int64: ${what}`, () => {
      const datas: [arrow.Data, 2 | 4][] = [[decData(vals), 4]];
      if (vals.every((v) => v >= -(2n ** 63n) && v < 2n ** 63n)) datas.push([i64Data(vals), 2]);
      for (const [d, words] of datas) {
        const c = buildCompactValues(d, words);
        if (want === null) { expect(c).toBeNull(); continue; }
        expect(c).toBeInstanceOf(want === 'i32' ? Int32Array : Float64Array);
        expect(c!.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(Array.from(c!, (x) => BigInt(x))).toEqual(vals);
      }
    });
  }

  it('ignores what NULL slots hold', () => {
    const vals = [5n, 2n ** 90n, -7n];
    const d = arrow.makeData({ type: new arrow.Decimal(2, 38, 128), length: 3, nullCount: 1, nullBitmap: new Uint8Array([0b101]), data: decWords(vals) });
    const c = buildCompactValues(d, 4);
    expect(c).toBeInstanceOf(Int32Array);
    expect(c![0]).toBe(5);
    expect(c![2]).toBe(-7);
  });
});

describe('gather through a compact copy', () => {
  it('gives the same words as the wide values (negative values sign-extended)', () => {
    const rnd = mulberry32(4711);
    const n = 2000;
    const vals = Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4294967296) - 2147483648));
    const sel = Int32Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.3);
    for (const [make, col] of [[decData, { name: 'd', type: 'decimal', precision: 38, scale: 2, nullable: false }], [i64Data, { name: 'i', type: 'int64', nullable: false }]] as const) {
      const plain = make(vals);
      const withCopy = make(vals);
      const c = buildCompactValues(withCopy, col.type === 'decimal' ? 4 : 2);
      expect(c).toBeInstanceOf(Int32Array);
      setCompactValues(withCopy, c!);
      // A copy that disagrees with the wide words shows the gather reads it.
      const skewedData = make(vals);
      setCompactValues(skewedData, c!.map((x) => x ^ 1));
      const want = gather(col, plain, sel, sel.length);
      const got = gather(col, withCopy, sel, sel.length);
      const words = (d: arrow.Data): number[] => Array.from(new Int32Array((d.values as Uint32Array).buffer, (d.values as Uint32Array).byteOffset, sel.length * (col.type === 'decimal' ? 4 : 2)));
      expect(words(got)).toEqual(words(want));
      expect(words(gather(col, skewedData, sel, sel.length))).not.toEqual(words(want));
    }
  });
});

describe('DiskRowSet compact copies', () => {
  const schema: Schema = {
    keyColumnCount: 1,
    columns: [
      { name: 'id', type: 'int64', nullable: false },
      { name: 'price', type: 'decimal', precision: 15, scale: 2, nullable: false },
      { name: 'big', type: 'decimal', precision: 38, scale: 0, nullable: true },
      { name: 'ts', type: 'timestamp', nullable: false },
      { name: 'tag', type: 'string', nullable: true },
    ],
  };
  const columns: StoredColumn[] = schema.columns.map((c, i) => ({ ...c, id: i }));
  const plan = (over: Partial<ScanPlan> = {}): ScanPlan => ({ columns, keyColumnCount: 1, output: [0, 1, 2, 3, 4], predicates: [], snapshot: (1n << 64n) - 1n, wantKeys: false, batchRowCount: 1000, ...over });
  // price fits int32; big fits 2^53 in batch 0 only (row 150 is 2^60); ts needs doubles.
  function* rows(n: number): Generator<RowHistory> {
    for (let i = 0; i < n; i++) {
      const row: Value[] = [BigInt(i), BigInt(i * 1234 - 50_000), i === 150 ? 2n ** 60n : i % 7 === 0 ? null : BigInt(i) * 10_000_000_000n, 1_700_000_000_000_000n + BigInt(i), i % 3 === 0 ? null : `t${i}`];
      yield { key: encodeKey(schema, row), versions: [{ ts: BigInt(100 + i), row }] };
    }
  }

  it('registers the smallest exact form per cached column, equal to the wide values', () => {
    const path = join(tmp(), 'rs-1.drs');
    writeDiskRowSet(path, columns, 1, rows(300), 128);
    const drs = DiskRowSet.open(path);
    let b = 0;
    for (const chunk of drs.scan(plan())) {
      const [id, price, big, ts, tag] = chunk.columns as [arrow.Data, arrow.Data, arrow.Data, arrow.Data, arrow.Data];
      expect(compactValuesOf(id)).toBeInstanceOf(Int32Array);
      expect(compactValuesOf(price)).toBeInstanceOf(Int32Array);
      if (b === 1) expect(compactValuesOf(big)).toBeUndefined(); // holds 2^60
      else expect(compactValuesOf(big)).toBeInstanceOf(Float64Array);
      expect(compactValuesOf(ts)).toBeInstanceOf(Float64Array);
      expect(compactValuesOf(tag)).toBeUndefined();
      for (const [ci, d] of [[0, id], [1, price], [2, big], [3, ts]] as const) {
        const c = compactValuesOf(d);
        if (c === undefined) continue;
        for (let r = 0; r < chunk.length; r++) {
          const v = readValue(columns[ci]!.type, d, r);
          if (v !== null) expect(BigInt(c[r]!), `batch ${b} column ${ci} row ${r}`).toBe(BigInt(v as bigint | number));
        }
      }
      b++;
    }
    expect(b).toBe(3);
    // A second scan returns the same cached columns with the same copies.
    const first = [...drs.scan(plan())][0]!;
    const again = [...drs.scan(plan())][0]!;
    expect(compactValuesOf(again.columns[1]!)).toBe(compactValuesOf(first.columns[1]!));
    drs.close();
  });

  it('gathered output (a filter dropped rows) has no compact copy', () => {
    const path = join(tmp(), 'rs-2.drs');
    writeDiskRowSet(path, columns, 1, rows(100), 128);
    const drs = DiskRowSet.open(path);
    const p = plan({ predicates: [{ column: columns[0]!, columnIndex: 0, kind: 'compare', mask: 4 | 2, values: [50n], never: false }] });
    const chunks = [...drs.scan(p)];
    expect(chunks.length).toBe(1);
    expect(chunks[0]!.length).toBe(50);
    expect(compactValuesOf(chunks[0]!.columns[1]!)).toBeUndefined();
    drs.close();
  });
});
