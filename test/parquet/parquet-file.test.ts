import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bool, DateDay, Decimal, Field, Float64, Int32, Int64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFileNames, expandParquetGlob, openParquetFile, writeParquetFile } from '../../src/parquet/parquet-file.js';
import { isSaigaError } from '../../src/common/errors.js';

let dir: string;
let duck: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-parquet-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sampleBatch(offset: number, n: number): RecordBatch {
  const ids = Int32Array.from({ length: n }, (_, i) => offset + i);
  const schema = new Schema([
    new Field('id', new Int32(), false),
    new Field('big', new Int64(), true),
    new Field('name', new Utf8(), true),
    new Field('price', new Decimal(2, 15, 128), true),
    new Field('day', new DateDay(), true),
    new Field('ts', new TimestampMicrosecond(), true),
    new Field('flag', new Bool(), true),
    new Field('ratio', new Float64(), true),
  ]);
  const price = new Uint32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const v = (offset + i) * 101 - 5000; // unscaled cents, some negative
    price[i * 4] = v >>> 0;
    const hi = v < 0 ? 0xffffffff : 0;
    price[i * 4 + 1] = hi;
    price[i * 4 + 2] = hi;
    price[i * 4 + 3] = hi;
  }
  const columns = [
    vectorFromArray(ids, new Int32()),
    vectorFromArray(Array.from(ids, (i) => (i % 5 === 0 ? null : BigInt(i) * 3_000_000_000n)), new Int64()),
    vectorFromArray(Array.from(ids, (i) => (i % 7 === 0 ? null : `name-${i}-é`)), new Utf8()),
    makeData({ type: new Decimal(2, 15, 128), length: n, data: price }),
    vectorFromArray(Array.from(ids, (i) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000)), new DateDay()),
    vectorFromArray(Array.from(ids, (i) => (i % 3 === 0 ? null : 1_600_000_000_000 + i * 1000)), new TimestampMicrosecond()),
    vectorFromArray(Array.from(ids, (i) => (i % 11 === 0 ? null : i % 2 === 0)), new Bool()),
    vectorFromArray(Array.from(ids, (i) => i / 3), new Float64()),
  ];
  const children = columns.map((c) => ('data' in c ? c.data[0]! : c));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children, nullCount: 0 }));
}

describe('parquet files', () => {
  it('writes a file DuckDB reads with the same rows', async () => {
    const path = join(dir, 'out.parquet');
    const batches = [sampleBatch(0, 1000), sampleBatch(1000, 500)];
    const result = await writeParquetFile(path, batches[0]!.schema, batches, { compression: 'zstd' });
    expect(result.rowCount).toBe(1500);
    expect(result.sizeBytes).toBe(readFileSync(path).byteLength);
    const rows = (await duck.runAndReadAll(
      `select count(*), sum(id), count(big), sum(big)::varchar, count(name), min(name), sum(price)::varchar, min(day)::varchar, max(day)::varchar, count(ts), count(flag), sum(flag::int) from '${path}'`,
    )).getRows()[0]!;
    const ids = Array.from({ length: 1500 }, (_, i) => i);
    expect(Number(rows[0])).toBe(1500);
    expect(Number(rows[1])).toBe(ids.reduce((a, b) => a + b, 0));
    expect(Number(rows[2])).toBe(ids.filter((i) => i % 5 !== 0).length);
    expect(rows[3]).toBe(ids.filter((i) => i % 5 !== 0).reduce((a, i) => a + BigInt(i) * 3_000_000_000n, 0n).toString());
    expect(Number(rows[4])).toBe(ids.filter((i) => i % 7 !== 0).length);
    expect(rows[5]).toBe('name-1-é');
    const cents = ids.reduce((a, i) => a + (i * 101 - 5000), 0);
    expect(rows[6]).toBe((cents / 100).toFixed(2));
    expect(rows[7]).toBe('2020-01-01');
    expect(rows[8]).toBe(new Date(Date.UTC(2020, 0, 1) + 1499 * 86_400_000).toISOString().slice(0, 10));
    expect(Number(rows[9])).toBe(ids.filter((i) => i % 3 !== 0).length);
    expect(Number(rows[10])).toBe(ids.filter((i) => i % 11 !== 0).length);
    expect(Number(rows[11])).toBe(ids.filter((i) => i % 11 !== 0 && i % 2 === 0).length);
  });

  it('keeps dictionaries for low-cardinality columns, falls back for high-cardinality ones, and writes row-group statistics', async () => {
    // 3 batches x 40000 rows: 'tag' has 4 values (dictionary), 'name' is unique per row (its dictionary
    // outgrows the page limit mid-chunk and falls back to plain); DuckDB must read every row back.
    const path = join(dir, 'dict.parquet');
    const schema = new Schema([new Field('id', new Int32(), false), new Field('tag', new Utf8(), false), new Field('name', new Utf8(), true)]);
    const tags = ['AIR', 'MAIL', 'RAIL', 'SHIP'];
    const batch = (offset: number, n: number): RecordBatch => {
      const ids = Int32Array.from({ length: n }, (_, i) => offset + i);
      const children = [
        makeData({ type: new Int32(), length: n, data: ids }),
        vectorFromArray(Array.from(ids, (i) => tags[i % 4]!), new Utf8()).data[0]!,
        vectorFromArray(Array.from(ids, (i) => (i % 9 === 0 ? null : `n${i * 7919}`)), new Utf8()).data[0]!,
      ];
      return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children, nullCount: 0 }));
    };
    const n = 40_000;
    const result = await writeParquetFile(path, schema, [batch(0, n), batch(n, n), batch(2 * n, n)], { rowGroupRows: 50_000 });
    expect(result.rowCount).toBe(3 * n);
    const total = 3 * n;
    const rows = (await duck.runAndReadAll(
      `select count(*), sum(id), count(distinct tag), sum(case when tag = 'RAIL' then 1 else 0 end), count(name), count(distinct name), max(name), sum(length(name)) from '${path}'`,
    )).getRows()[0]!;
    const ids = Array.from({ length: total }, (_, i) => i);
    const names = ids.filter((i) => i % 9 !== 0).map((i) => `n${i * 7919}`);
    expect(Number(rows[0])).toBe(total);
    expect(Number(rows[1])).toBe(ids.reduce((a, b) => a + b, 0));
    expect(Number(rows[2])).toBe(4);
    expect(Number(rows[3])).toBe(ids.filter((i) => i % 4 === 2).length);
    expect(Number(rows[4])).toBe(names.length);
    expect(Number(rows[5])).toBe(names.length);
    expect(rows[6]).toBe([...names].sort().at(-1));
    expect(Number(rows[7])).toBe(names.reduce((a, s) => a + s.length, 0));
    const meta = (await duck.runAndReadAll(
      `select row_group_id, path_in_schema, stats_min_value, stats_max_value, encodings from parquet_metadata('${path}') order by row_group_id, column_id`,
    )).getRows();
    expect(new Set(meta.map((r) => Number(r[0]))).size).toBe(Math.ceil(total / 50_000));
    for (const r of meta) {
      expect(r[2]).not.toBeNull();
      expect(r[3]).not.toBeNull();
    }
    const idStats = meta.filter((r) => r[1] === 'id').map((r) => [Number(r[2]), Number(r[3])]);
    expect(idStats).toEqual([[0, 49_999], [50_000, 99_999], [100_000, total - 1]]);
    expect(meta.filter((r) => r[1] === 'tag').every((r) => String(r[4]).includes('DICTIONARY'))).toBe(true);
  });

  it('reads a DuckDB-written file in batches with column projection', async () => {
    const path = join(dir, 'duck.parquet');
    await duck.run(
      `copy (select i::int as a, i::bigint * 3 as b, 'v' || i as s, (i / 4)::decimal(15,2) as d from range(200000) t(i)) to '${path}' (format parquet, row_group_size 50000)`,
    );
    const file = await openParquetFile(path);
    expect(file.rowCount).toBe(200000);
    expect(file.rowGroupCount).toBe(4);
    expect(file.schema.fields.map((f) => f.name)).toEqual(['a', 'b', 's', 'd']);
    let n = 0;
    let sum = 0;
    let batches = 0;
    for await (const b of file.batches({ columns: ['a', 's'], batchRowCount: 65536 })) {
      expect(b.schema.fields.map((f) => f.name)).toEqual(['a', 's']);
      expect(b.numRows).toBeLessThanOrEqual(65536);
      const a = b.getChildAt(0)!;
      for (const d of a.data) {
        const values = d.values as Int32Array;
        for (let i = 0; i < d.length; i++) sum += values[i]!;
      }
      n += b.numRows;
      batches++;
    }
    expect(n).toBe(200000);
    expect(sum).toBe((199999 * 200000) / 2);
    expect(batches).toBeGreaterThanOrEqual(4);
  });

  it('writes a schema-only file for empty input', async () => {
    const path = join(dir, 'empty.parquet');
    const schema = sampleBatch(0, 1).schema;
    const result = await writeParquetFile(path, schema, []);
    expect(result.rowCount).toBe(0);
    const rows = (await duck.runAndReadAll(`select count(*) from '${path}'`)).getRows();
    expect(Number(rows[0]![0])).toBe(0);
    const cols = (await duck.runAndReadAll(`describe select * from '${path}'`)).getRows().map((r) => r[0]);
    expect(cols).toEqual(schema.fields.map((f) => f.name));
  });

  it('expands globs and directories, and names missing files', async () => {
    const sub = join(dir, 'glob');
    await duck.run(`copy (select 1 as x) to '${join(dir, 'g1.parquet')}' (format parquet)`);
    await duck.run(`copy (select 2 as x) to '${join(dir, 'g2.parquet')}' (format parquet)`);
    expect(await expandParquetGlob(join(dir, 'g*.parquet'))).toEqual([join(dir, 'g1.parquet'), join(dir, 'g2.parquet')]);
    await expect(expandParquetGlob(join(sub, 'none*.parquet'))).rejects.toSatisfy((e) => isSaigaError(e, 'NotFound'));
    await expect(openParquetFile(join(dir, 'missing.parquet'))).rejects.toSatisfy((e) => isSaigaError(e, 'NotFound'));
  });

  it('lists numbered parts in number order (data_2 before data_10), in globs and directories', async () => {
    const names = ['data_10.parquet', 'data_2.parquet', 'data_0.parquet', 'data_1.parquet', 'data_01.parquet', 'data_1a.parquet', 'a.parquet', 'data_.parquet', 'data_100.parquet', 'data_9.parquet'];
    expect([...names].sort(compareFileNames)).toEqual([
      // Runs compare one by one: digits by value (then fewer leading zeros first), the rest as strings.
      'a.parquet', 'data_0.parquet', 'data_1.parquet', 'data_1a.parquet', 'data_01.parquet', 'data_2.parquet', 'data_9.parquet', 'data_10.parquet', 'data_100.parquet', 'data_.parquet',
    ]);
    const parts = join(dir, 'parts');
    mkdirSync(parts);
    for (const i of [10, 2, 0, 1, 11]) writeFileSync(join(parts, `data_${i}.parquet`), '');
    const want = [0, 1, 2, 10, 11].map((i) => join(parts, `data_${i}.parquet`));
    expect(await expandParquetGlob(parts)).toEqual(want);
    expect(await expandParquetGlob(join(parts, 'data_*.parquet'))).toEqual(want);
  });

  it('rejects a file that is not Parquet with a typed error', async () => {
    const path = join(dir, 'junk.parquet');
    writeFileSync(path, Buffer.from('this is not a parquet file at all'));
    await expect(openParquetFile(path)).rejects.toSatisfy((e) => isSaigaError(e, 'InvalidArgument'));
  });
});
