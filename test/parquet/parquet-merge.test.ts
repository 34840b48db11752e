import * as arrow from 'apache-arrow';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import * as pw from 'parquet-wasm';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { parquetEncodePool } from '../../src/parquet/encode-pool.js';
import { createParquetMerger } from '../../src/parquet/parquet-merge.js';
import { openParquetFile, writeParquetFile } from '../../src/parquet/parquet-file.js';
import { mulberry32 } from '../../bench/random.js';

// The encode worker runs compiled JS: transpile it and its one import into a folder next to this
// test (so that 'parquet-wasm' resolves from the repository's node_modules).
const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, `.encode-worker-${process.pid}`);
const workerFile = join(workerDir, 'encode-worker.js');
let dir = '';
let duck: DuckDBConnection;

beforeAll(async () => {
  mkdirSync(workerDir, { recursive: true });
  for (const name of ['encode-worker', 'writer-properties']) {
    const src = readFileSync(join(here, `../../src/parquet/${name}.ts`), 'utf8');
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
    writeFileSync(join(workerDir, `${name}.js`), out.outputText);
  }
  dir = mkdtempSync(join(tmpdir(), 'saiga-parquet-merge-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(() => {
  rmSync(workerDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const schema = new arrow.Schema([
  new arrow.Field('id', new arrow.Int32(), false),
  new arrow.Field('big', new arrow.Int64(), true),
  new arrow.Field('tag', new arrow.Utf8(), false),
  new arrow.Field('name', new arrow.Utf8(), true),
  new arrow.Field('price', new arrow.Decimal(2, 15, 128), false),
]);

/** Rows offset .. offset+n-1; `name` is random (seeded) so that pages differ in size. */
function batch(offset: number, n: number, rnd: () => number): arrow.RecordBatch {
  const id = Int32Array.from({ length: n }, (_, i) => offset + i);
  const big = new BigInt64Array(n);
  const price = new Uint32Array(n * 4);
  for (let i = 0; i < n; i++) {
    big[i] = BigInt(offset + i) * 1_000_000_007n;
    price[i * 4] = (offset + i) * 3;
  }
  const tags = ['AIR', 'MAIL', 'RAIL', 'SHIP', 'TRUCK'];
  const children = [
    arrow.makeData({ type: new arrow.Int32(), length: n, data: id }),
    arrow.makeData({ type: new arrow.Int64(), length: n, data: big }),
    arrow.vectorFromArray(Array.from(id, (i) => tags[i % 5]!), new arrow.Utf8()).data[0]!,
    arrow.vectorFromArray(Array.from(id, (i) => (i % 13 === 0 ? null : `n${i}-${Math.floor(rnd() * 1e9)}`)), new arrow.Utf8()).data[0]!,
    arrow.makeData({ type: new arrow.Decimal(2, 15, 128), length: n, data: price }),
  ];
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children }));
}

/** Encodes batches as one parquet-wasm file (the way a worker encodes a part). */
function encode(batches: arrow.RecordBatch[], rowGroupRows: number, pageStatistics: boolean): Uint8Array {
  const props = new pw.WriterPropertiesBuilder()
    .setMaxRowGroupSize(rowGroupRows)
    .setStatisticsEnabled(pageStatistics ? pw.EnabledStatistics.Page : pw.EnabledStatistics.Chunk)
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(batches), 'stream')), props);
}

function merge(parts: Uint8Array[]): Uint8Array {
  const m = createParquetMerger();
  const out = [m.head, ...parts.map((p, i) => m.add(p, `part ${i}`)), m.finish()];
  return Buffer.concat(out);
}

async function duckSummary(path: string): Promise<unknown[]> {
  const r = await duck.runAndReadAll(`select count(*), sum(id)::varchar, sum(big)::varchar, count(name), sum(length(name))::varchar, sum(price)::varchar, count(distinct tag) from '${path}'`);
  return r.getRows()[0]!.map((v) => String(v));
}

describe('merging Parquet parts', () => {
  for (const pageStatistics of [false, true]) {
    it(`gives the bytes one writer gives for the same row groups (${pageStatistics ? 'page indexes with column indexes' : 'offset indexes only'})`, async () => {
      const seed = pageStatistics ? 7 : 8;
      const rnd = mulberry32(seed);
      // Parts of 3000, 1000 and 2500 rows in row groups of 1000: 3 + 1 + 3 row groups.
      const sizes = [3000, 1000, 2500];
      const batches: arrow.RecordBatch[] = [];
      let offset = 0;
      for (const n of sizes) { batches.push(batch(offset, n, rnd)); offset += n; }
      const merged = merge(batches.map((b) => encode([b], 1000, pageStatistics)));
      const whole = encode(batches, 1000, pageStatistics);
      // One writer over every batch cuts the same row groups (3000 and 1000 are multiples of 1000; the last 500 rows end a group either way).
      expect(merged.length, `seed ${seed}`).toBe(whole.length);
      expect(Buffer.from(merged).equals(Buffer.from(whole)), `seed ${seed}`).toBe(true);
    });
  }

  it('joins parts whose row groups do not line up; DuckDB and the reader see every row in order', async () => {
    const seed = 11;
    const rnd = mulberry32(seed);
    const sizes = [777, 5, 2048, 1, 1500];
    const parts: Uint8Array[] = [];
    const batches: arrow.RecordBatch[] = [];
    let offset = 0;
    for (const n of sizes) {
      const b = batch(offset, n, rnd);
      batches.push(b);
      parts.push(encode([b], 1000, true));
      offset += n;
    }
    const path = join(dir, 'joined.parquet');
    writeFileSync(path, merge(parts));
    const expected = join(dir, 'expected.parquet');
    writeFileSync(expected, encode(batches, 100_000, false));
    expect(await duckSummary(path), `seed ${seed}`).toEqual(await duckSummary(expected));
    const meta = (await duck.runAndReadAll(`select row_group_id, sum(row_group_num_rows) // 5 from parquet_metadata('${path}') group by 1 order by 1`)).getRows();
    // 777 | 5 | 1000+1000+48 | 1 | 1000+500
    expect(meta.map((r) => [Number(r[0]), Number(r[1])])).toEqual([[0, 777], [1, 5], [2, 1000], [3, 1000], [4, 48], [5, 1], [6, 1000], [7, 500]]);
    const f = await openParquetFile(path);
    expect(f.rowCount).toBe(offset);
    expect(f.rowGroupCount).toBe(8);
    let next = 0;
    for await (const b of f.batches({ columns: ['id'], worker: false })) {
      for (const d of b.getChild('id')!.data) {
        const v = d.values as Int32Array;
        for (let i = 0; i < d.length; i++) expect(v[i]).toBe(next++);
      }
    }
    expect(next).toBe(offset);
    // DuckDB's page-index aware filter reads the moved offset indexes.
    const filtered = (await duck.runAndReadAll(`select count(*), min(id), max(id) from '${path}' where id between 2500 and 2600`)).getRows()[0]!;
    expect(filtered.map(Number)).toEqual([101, 2500, 2600]);
  });

  it('refuses a part that is not Parquet (Corruption) or whose schema differs (InvalidArgument)', () => {
    const rnd = mulberry32(3);
    const good = encode([batch(0, 100, rnd)], 1000, false);
    const bad = good.slice();
    bad[bad.length - 1] = 0;
    const m = createParquetMerger();
    m.add(good, 'good');
    let caught: unknown;
    try { m.add(bad, 'bad part'); } catch (e) { caught = e; }
    expect(isSaigaError(caught, 'Corruption')).toBe(true);
    expect(String((caught as Error).message)).toContain('bad part');
    const other = pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(arrow.tableFromArrays({ x: Int32Array.of(1, 2) }), 'stream')));
    caught = undefined;
    try { m.add(other, 'other'); } catch (e) { caught = e; }
    expect(isSaigaError(caught, 'InvalidArgument')).toBe(true);
  });
});

describe('writeParquetFile with encode workers', () => {
  it('writes the same bytes as the calling thread, with batches cut across row groups', async () => {
    const seed = 42;
    const rnd = mulberry32(seed);
    const sizes = [10_000, 333, 25_000, 7, 14_660];
    const batches: arrow.RecordBatch[] = [];
    let offset = 0;
    for (const n of sizes) { batches.push(batch(offset, n, rnd)); offset += n; }
    const a = join(dir, 'workers.parquet');
    const b = join(dir, 'thread.parquet');
    const ra = await writeParquetFile(a, schema, batches, { rowGroupRows: 8192, workers: workerFile, compression: 'zstd' });
    const rb = await writeParquetFile(b, schema, batches, { rowGroupRows: 8192, workers: false, compression: 'zstd' });
    expect(ra).toEqual(rb);
    expect(ra.rowCount).toBe(offset);
    expect(ra.sizeBytes).toBe(readFileSync(a).length);
    expect(readFileSync(a).equals(readFileSync(b)), `seed ${seed}`).toBe(true);
    expect(await duckSummary(a)).toEqual(await duckSummary(b));
    const groups = (await duck.runAndReadAll(`select count(distinct row_group_id) from parquet_metadata('${a}')`)).getRows()[0]!;
    expect(Number(groups[0])).toBe(Math.ceil(offset / 8192));
  });

  it('writes a one-part file, and an async source that fails leaves no file behind', async () => {
    const rnd = mulberry32(5);
    const path = join(dir, 'small.parquet');
    const r = await writeParquetFile(path, schema, [batch(0, 10, rnd)], { workers: workerFile });
    expect(r.rowCount).toBe(10);
    expect(await duckSummary(path)).toEqual(['10', '45', String(45n * 1_000_000_007n), '9', expect.any(String), '1.35', '5']);
    async function* failing(): AsyncIterable<arrow.RecordBatch> {
      yield batch(0, 5000, rnd);
      yield batch(5000, 5000, rnd);
      throw new Error('scan failed');
    }
    const gone = join(dir, 'gone.parquet');
    await expect(writeParquetFile(gone, schema, failing(), { workers: workerFile, rowGroupRows: 1000 })).rejects.toThrow('scan failed');
    expect(() => readFileSync(gone)).toThrow();
  });

  it('an encode failure rejects that part with InvalidArgument; the pool keeps working', async () => {
    const pool = parquetEncodePool(workerFile)!;
    const settings = { compression: 'snappy', rowGroupRows: 1000 } as const;
    await expect(pool.encode(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), settings)).rejects.toSatisfy((e) => isSaigaError(e, 'InvalidArgument'));
    const rnd = mulberry32(9);
    const ipc = arrow.tableToIPC(new arrow.Table([batch(0, 300, rnd)]), 'stream');
    const parquet = await pool.encode(ipc, settings);
    const path = join(dir, 'after-failure.parquet');
    writeFileSync(path, parquet);
    expect((await duckSummary(path))[0]).toBe('300');
  });

  it('refuses a later batch whose type differs or that puts nulls in a column the first batch declared NOT NULL', async () => {
    const one = (nullable: boolean, values: (number | null)[]): arrow.RecordBatch => {
      const s = new arrow.Schema([new arrow.Field('x', new arrow.Int32(), nullable)]);
      const data = arrow.vectorFromArray(values, new arrow.Int32()).data[0]!;
      return new arrow.RecordBatch(s, arrow.makeData({ type: new arrow.Struct(s.fields), length: values.length, nullCount: 0, children: [data] }));
    };
    const path = join(dir, 'mixed.parquet');
    const first = one(false, [1, 2, 3]);
    // Same type, declared nullable later but without nulls: written under the first schema.
    const ok = await writeParquetFile(path, first.schema, [first, one(true, [4, 5])], { workers: workerFile });
    expect(ok.rowCount).toBe(5);
    expect((await duck.runAndReadAll(`select count(*), sum(x) from '${path}'`)).getRows()[0]!.map(Number)).toEqual([5, 15]);
    const bad = join(dir, 'mixed-bad.parquet');
    await expect(writeParquetFile(bad, first.schema, [first, one(true, [4, null])], { workers: workerFile }))
      .rejects.toSatisfy((e) => isSaigaError(e, 'InvalidArgument') && String((e as Error).message).includes('NOT NULL'));
    const s64 = new arrow.Schema([new arrow.Field('x', new arrow.Int64(), false)]);
    const wide = new arrow.RecordBatch(s64, arrow.makeData({ type: new arrow.Struct(s64.fields), length: 1, nullCount: 0, children: [arrow.makeData({ type: new arrow.Int64(), length: 1, data: BigInt64Array.of(7n) })] }));
    await expect(writeParquetFile(bad, first.schema, [first, wide], { workers: workerFile }))
      .rejects.toSatisfy((e) => isSaigaError(e, 'InvalidArgument') && String((e as Error).message).includes('Int64'));
    expect(() => readFileSync(bad)).toThrow();
  });
});
