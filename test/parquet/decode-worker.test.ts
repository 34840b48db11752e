import * as arrow from 'apache-arrow';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasedBatchesOfFiles, openParquetFile, writeParquetFile, type LeasedBatch } from '../../src/parquet/parquet-file.js';

// The worker runs compiled JS: transpile src/parquet/decode-worker.ts next to this test (so that
// 'parquet-wasm' resolves from the repository's node_modules).
const here = dirname(fileURLToPath(import.meta.url));
const workerFile = join(here, `.decode-worker-${process.pid}.mjs`);
let dir = '';

function batch(offset: number, n: number): arrow.RecordBatch {
  const id = new Int32Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    id[i] = offset + i;
    v[i] = (offset + i) * 0.5;
  }
  const s = Array.from({ length: n }, (_, i) => ((offset + i) % 5 === 0 ? null : `s${(offset + i) * 31}`));
  return new arrow.RecordBatch({
    id: arrow.makeData({ type: new arrow.Int32(), length: n, data: id }),
    v: arrow.makeData({ type: new arrow.Float64(), length: n, data: v }),
    s: arrow.vectorFromArray(s, new arrow.Utf8()).data[0] as arrow.Data,
  });
}

interface Summary { rows: number; batches: number; idSum: number; vSum: number; sLen: number; names: string[]; inOrder: boolean }

async function summary(path: string, worker: boolean | string, stopAfter = Infinity, decodeWorkers?: number): Promise<Summary> {
  const f = await openParquetFile(path);
  let rows = 0;
  let batches = 0;
  let idSum = 0;
  let vSum = 0;
  let sLen = 0;
  let names: string[] = [];
  let nextId = 0;
  let inOrder = true;
  for await (const b of f.batches({ columns: ['id', 's', 'v'], batchRowCount: 10_000, worker, ...(decodeWorkers !== undefined ? { decodeWorkers } : {}) })) {
    for (const d of b.getChild('id')!.data) for (let i = 0; i < d.length; i++) if ((d.values as Int32Array)[i] !== nextId++) inOrder = false;
    names = b.schema.fields.map((x) => x.name);
    for (const d of b.getChild('id')!.data) for (let i = 0; i < d.length; i++) idSum += (d.values as Int32Array)[i]!;
    for (const d of b.getChild('v')!.data) for (let i = 0; i < d.length; i++) vSum += (d.values as Float64Array)[i]!;
    for (const d of b.getChild('s')!.data) sLen += (d.valueOffsets as Int32Array)[d.length]! - (d.valueOffsets as Int32Array)[0]!;
    rows += b.numRows;
    if (++batches >= stopAfter) break;
  }
  return { rows, batches, idSum, vSum, sLen, names, inOrder };
}

beforeAll(() => {
  const src = readFileSync(join(here, '../../src/parquet/decode-worker.ts'), 'utf8');
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
  writeFileSync(workerFile, out.outputText);
  dir = mkdtempSync(join(tmpdir(), 'saiga-decode-worker-'));
});

afterAll(() => {
  rmSync(workerFile, { force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('Parquet decoding on a worker thread', () => {
  it('yields the same batches as decoding on the calling thread, and stops cleanly when the consumer does', async () => {
    const path = join(dir, 'w.parquet');
    const parts = [batch(0, 30_000), batch(30_000, 30_000), batch(60_000, 5_123)];
    await writeParquetFile(path, parts[0]!.schema, parts, { rowGroupRows: 20_000 });
    const local = await summary(path, false);
    const worker = await summary(path, workerFile);
    const n = 65_123;
    expect(local.rows).toBe(n);
    expect(local.idSum).toBe((n * (n - 1)) / 2);
    expect(worker).toEqual(local);
    // The consumer stops after one batch: the worker is terminated, nothing hangs.
    const first = await summary(path, workerFile, 1);
    expect(first.batches).toBe(1);
    expect(first.rows).toBeGreaterThan(0);
    expect(first.rows).toBeLessThan(n);
  });

  it('decodes row groups on 1, 2 or 3 workers and hands them over in file order', async () => {
    const path = join(dir, 'groups.parquet');
    const parts = [batch(0, 25_000), batch(25_000, 25_000), batch(50_000, 17)];
    await writeParquetFile(path, parts[0]!.schema, parts, { rowGroupRows: 7_000, workers: false });
    const local = await summary(path, false);
    expect(local.rows).toBe(50_017);
    expect(local.inOrder).toBe(true);
    for (const decodeWorkers of [1, 2, 3]) {
      expect(await summary(path, workerFile, Infinity, decodeWorkers), `${decodeWorkers} decode workers`).toEqual(local);
    }
    // Stopping early with several workers terminates them all.
    const first = await summary(path, workerFile, 2, 3);
    expect(first.batches).toBe(2);
    expect(first.inOrder).toBe(true);
  });

  it('leased batches: buffers reused only after release; held batches stay intact; early stop ends cleanly', async () => {
    const path = join(dir, 'leased.parquet');
    const parts = [batch(0, 40_000), batch(40_000, 40_000), batch(80_000, 3_001)];
    await writeParquetFile(path, parts[0]!.schema, parts, { rowGroupRows: 9_000, workers: false });
    const local = await summary(path, false);
    expect(local.rows).toBe(83_001);
    const f = await openParquetFile(path);
    const fold = (held: LeasedBatch[], next = { id: 0 }): Summary => {
      const acc: Summary = { rows: 0, batches: 0, idSum: 0, vSum: 0, sLen: 0, names: [], inOrder: true };
      for (const { batch: b } of held) {
        for (const d of b.getChild('id')!.data) for (let i = 0; i < d.length; i++) { const id = (d.values as Int32Array)[i]!; if (id !== next.id++) acc.inOrder = false; acc.idSum += id; }
        for (const d of b.getChild('v')!.data) for (let i = 0; i < d.length; i++) acc.vSum += (d.values as Float64Array)[i]!;
        for (const d of b.getChild('s')!.data) acc.sLen += (d.valueOffsets as Int32Array)[d.length]! - (d.valueOffsets as Int32Array)[0]!;
        acc.names = b.schema.fields.map((x) => x.name);
        acc.rows += b.numRows;
        acc.batches++;
      }
      return acc;
    };
    const options = { columns: ['id', 's', 'v'], batchRowCount: 4_000, worker: workerFile, decodeWorkers: 2 };
    // Released in a window of 3 (as COPY FROM releases after its writes settle): each batch is read
    // just before its release, so a slot reused too early shows up as wrong values.
    const window: LeasedBatch[] = [];
    const parts2: Summary[] = [];
    const next = { id: 0 };
    for await (const lb of f.leasedBatches(options)) {
      window.push(lb);
      if (window.length > 3) {
        const old = window.shift()!;
        parts2.push(fold([old], next));
        old.release();
        old.release(); // idempotent
      }
    }
    parts2.push(fold(window.splice(0), next));
    const windowed = parts2.reduce((a, b) => ({ ...a, rows: a.rows + b.rows, batches: a.batches + b.batches, idSum: a.idSum + b.idSum, vSum: a.vSum + b.vSum, sLen: a.sLen + b.sLen, names: b.names, inOrder: a.inOrder && b.inOrder }));
    expect(windowed).toEqual({ ...local, batches: windowed.batches });
    expect(windowed.batches).toBeGreaterThan(8);
    // Nothing released until the end: every batch must still hold its own rows.
    const held: LeasedBatch[] = [];
    for await (const lb of f.leasedBatches(options)) held.push(lb);
    expect(fold(held)).toEqual({ ...local, batches: held.length });
    for (const lb of held) lb.release();
    // Stopping early with leases outstanding terminates the workers; nothing hangs.
    let taken = 0;
    for await (const lb of f.leasedBatches(options)) { void lb; if (++taken === 2) break; }
    expect(taken).toBe(2);
  });

  it('the workers\' shared file descriptor is closed after a full read and after an early stop', async () => {
    const path = join(dir, 'fds.parquet');
    await writeParquetFile(path, batch(0, 10).schema, [batch(0, 30_000)], { rowGroupRows: 5_000, workers: false });
    const f = await openParquetFile(path);
    // Descriptors of this process open on the file.
    const openFds = (): number => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === path; } catch { return false; } }).length;
    let during = 0;
    let rows = 0;
    for await (const b of f.batches({ worker: workerFile, decodeWorkers: 2 })) { rows += b.numRows; during = Math.max(during, openFds()); }
    expect(rows).toBe(30_000);
    expect(during).toBeGreaterThanOrEqual(1);
    expect(openFds()).toBe(0);
    for await (const lb of f.leasedBatches({ worker: workerFile, decodeWorkers: 2 })) { lb.release(); break; }
    expect(openFds()).toBe(0);
  });

  it('several files on one set of workers: every row group in file order, each batch naming its file, descriptors closed', async () => {
    const sizes = [12_000, 0, 3_000, 25_001];
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const paths: string[] = [];
    let offset = 0;
    for (const [i, n] of sizes.entries()) {
      const path = join(dir, `multi-${i}.parquet`);
      await writeParquetFile(path, batch(0, 10).schema, n === 0 ? [] : [batch(offset, n)], { rowGroupRows: 4_000, workers: false });
      paths.push(path);
      offset += n;
    }
    const readers = await Promise.all(paths.map((p) => openParquetFile(p)));
    const reads = readers.map((reader) => ({ reader, columns: ['id', 'v', 's'] }));
    const openFds = (): number => readdirSync('/proc/self/fd').filter((fd) => { try { return paths.includes(readlinkSync(`/proc/self/fd/${fd}`)); } catch { return false; } }).length;
    const collect = async (worker: string | false, decodeWorkers: number): Promise<{ files: number[]; ids: number[]; sLen: number; during: number }> => {
      const files: number[] = [];
      const ids: number[] = [];
      let sLen = 0;
      let during = 0;
      for await (const { batch: b, file, release } of leasedBatchesOfFiles(reads, { worker, decodeWorkers, batchRowCount: 3_000 })) {
        files.push(file);
        // The batch's rows are its file's: ids [starts[file], starts[file] + sizes[file]).
        const first = (b.getChild('id')!.data[0]!.values as Int32Array)[0]!;
        expect(first >= starts[file]! && first < starts[file]! + sizes[file]!, `batch of file ${file} starts at id ${first}`).toBe(true);
        for (const d of b.getChild('id')!.data) for (let i = 0; i < d.length; i++) ids.push((d.values as Int32Array)[i]!);
        for (const d of b.getChild('s')!.data) sLen += (d.valueOffsets as Int32Array)[d.length]! - (d.valueOffsets as Int32Array)[0]!;
        during = Math.max(during, openFds());
        release();
      }
      return { files, ids, sLen, during };
    };
    const local = await collect(false, 1);
    expect(local.ids).toEqual(Array.from({ length: offset }, (_, i) => i));
    expect(new Set(local.files)).toEqual(new Set([0, 2, 3]));
    for (const decodeWorkers of [1, 2, 3]) {
      const got = await collect(workerFile, decodeWorkers);
      expect({ ...got, during: 0 }, `${decodeWorkers} decode workers`).toEqual({ ...local, files: got.files, during: 0 });
      // Same file order as the rows (a batch never mixes files), every batch names its own file.
      expect([...new Set(got.files)]).toEqual([0, 2, 3]);
      expect(got.during, 'one descriptor per file while reading').toBe(paths.length);
      expect(openFds()).toBe(0);
    }
  });

  it('reports a file that vanished under the worker as an error naming it', async () => {
    const path = join(dir, 'gone.parquet');
    await writeParquetFile(path, batch(0, 10).schema, [batch(0, 1000)]);
    const f = await openParquetFile(path);
    rmSync(path);
    await expect((async () => { for await (const b of f.batches({ worker: workerFile })) void b; })()).rejects.toThrow(path);
  });

  it('leased batches as column buffers: every carried type (nulls included) equals the calling thread\'s IPC decode; dictionaries go as IPC', async () => {
    const seed = 7;
    let state = seed;
    const rnd = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state / 4294967296; };
    const n = 23_456;
    const maybe = <T>(v: T): T | null => (rnd() < 0.15 ? null : v);
    const col = <T extends arrow.DataType>(type: T, f: (i: number) => unknown): arrow.Data => arrow.vectorFromArray(Array.from({ length: n }, (_, i) => f(i)), type).data[0] as arrow.Data;
    const data = {
      i8: col(new arrow.Int8(), () => maybe(Math.floor(rnd() * 256) - 128)),
      i16: col(new arrow.Int16(), () => maybe(Math.floor(rnd() * 65536) - 32768)),
      i32: col(new arrow.Int32(), (i) => i),
      i64: col(new arrow.Int64(), () => maybe(BigInt(Math.floor(rnd() * 2 ** 52)) * 1000n - 7n)),
      u8: col(new arrow.Uint8(), () => maybe(Math.floor(rnd() * 256))),
      u32: col(new arrow.Uint32(), () => maybe(Math.floor(rnd() * 2 ** 32))),
      f32: col(new arrow.Float32(), () => maybe(Math.fround(rnd() * 1000))),
      f64: col(new arrow.Float64(), () => maybe(rnd() * 1e6)),
      b: col(new arrow.Bool(), () => maybe(rnd() < 0.5)),
      s: col(new arrow.Utf8(), (i) => maybe(`s${i}${'é'.repeat(i % 4)}`)),
      ls: col(new arrow.LargeUtf8(), (i) => maybe(`large ${i * 3}`)),
      bin: col(new arrow.Binary(), (i) => maybe(Uint8Array.of(i & 255, (i >> 8) & 255, 7))),
      dec: col(new arrow.Decimal(2, 15, 128), () => maybe(Uint32Array.of(Math.floor(rnd() * 2 ** 32), 3, 0, 0))),
      day: col(new arrow.DateDay(), () => maybe(new Date(Math.floor(rnd() * 20000) * 86_400_000))),
      ms: col(new arrow.DateMillisecond(), () => maybe(new Date(Math.floor(rnd() * 20000) * 86_400_000))),
      ts: col(new arrow.TimestampMicrosecond('UTC'), () => maybe(Math.floor(rnd() * 2 ** 40))),
      tsn: col(new arrow.TimestampMillisecond(), () => maybe(Math.floor(rnd() * 2 ** 40))),
    };
    const path = join(dir, 'types.parquet');
    const all = new arrow.RecordBatch(data);
    await writeParquetFile(path, all.schema, [all.slice(0, 10_000), all.slice(10_000)], { rowGroupRows: 6_000, workers: false });
    const rows = (batches: readonly arrow.RecordBatch[]): string[] => batches.flatMap((b) => b.toArray().map((r) => JSON.stringify(r.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array || v instanceof Uint32Array ? [...v].join(':') : v))));
    const f = await openParquetFile(path);
    const local: arrow.RecordBatch[] = [];
    for await (const b of f.batches({ worker: false, batchRowCount: 4_000 })) local.push(b);
    const want = rows(local);
    expect(want.length).toBe(n);
    expect(want.some((r) => r.includes('null'))).toBe(true);
    for (const columnLayout of [true, false]) {
      const held: LeasedBatch[] = [];
      for await (const lb of f.leasedBatches({ worker: workerFile, batchRowCount: 4_000, decodeWorkers: 2, columnLayout })) held.push(lb);
      const got = held.map((lb) => lb.batch);
      expect(got.map((b) => b.schema.fields.map((x) => `${x.name}:${String(x.type)}:${x.nullable}`)), `columnLayout ${columnLayout}`).toEqual(local.map((b) => b.schema.fields.map((x) => `${x.name}:${String(x.type)}:${x.nullable}`)));
      expect(rows(got), `columnLayout ${columnLayout} (seed ${seed})`).toEqual(want);
      for (const lb of held) lb.release();
    }
    // A dictionary column is not carried as column buffers: the read falls back to IPC and still matches.
    const dictPath = join(dir, 'dict.parquet');
    const dict = arrow.vectorFromArray(Array.from({ length: 9_000 }, (_, i) => (i % 11 === 0 ? null : `k${i % 7}`)), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
    const withDict = new arrow.RecordBatch({ id: data.i32.slice(0, 9_000), d: dict.data[0]! });
    await writeParquetFile(dictPath, withDict.schema, [withDict], { rowGroupRows: 2_000, workers: false });
    const fd = await openParquetFile(dictPath);
    const dLocal: arrow.RecordBatch[] = [];
    for await (const b of fd.batches({ worker: false })) dLocal.push(b);
    const dHeld: LeasedBatch[] = [];
    for await (const lb of fd.leasedBatches({ worker: workerFile, decodeWorkers: 2 })) dHeld.push(lb);
    expect(rows(dHeld.map((lb) => lb.batch))).toEqual(rows(dLocal));
    expect(rows(dLocal)).toHaveLength(9_000);
    for (const lb of dHeld) lb.release();
  });
});
