import { existsSync, openAsBlob } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RecordBatch, type Schema as ArrowSchema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { DecodeJob, DecodeMessage } from './decode-worker.js';

/**
 * Parquet in and out through parquet-wasm. Reading streams row groups with column projection
 * (ParquetFile.stream honours `columns`; readParquet does not), so a file larger than memory
 * is never loaded whole. Writing streams record batches through transformParquetStream.
 */

export type ParquetCompression = 'snappy' | 'zstd' | 'uncompressed';

export interface ParquetWriteOptions {
  readonly compression?: ParquetCompression;
  readonly rowGroupRows?: number;
}

export interface ParquetWriteResult {
  readonly rowCount: number;
  readonly sizeBytes: number;
}

const COMPRESSION: Record<ParquetCompression, pw.Compression> = {
  snappy: pw.Compression.SNAPPY,
  zstd: pw.Compression.ZSTD,
  uncompressed: pw.Compression.UNCOMPRESSED,
};

/** Dictionary page size limit: columns whose dictionary outgrows it fall back to plain encoding. */
const DICTIONARY_PAGE_BYTES = 16 * 1024;

/** Converts an apache-arrow batch into a parquet-wasm batch through one IPC stream. */
function toWasmBatch(batch: RecordBatch): pw.RecordBatch {
  const table = pw.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
  const wasmBatch = table.recordBatch(0);
  if (wasmBatch === undefined) throw new SaigaError('IllegalState', 'parquet-wasm returned no batch for a non-empty table');
  return wasmBatch;
}

/**
 * Writes batches to `path` atomically (a temporary file renamed into place once complete).
 * An empty input writes a file with the schema and no rows.
 */
export async function writeParquetFile(
  path: string,
  schema: ArrowSchema,
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  options: ParquetWriteOptions = {},
): Promise<ParquetWriteResult> {
  // Measured on TPC-H lineitem (bench/parquet.ts): the defaults (1 MiB dictionary pages, page-level
  // statistics) spend most of the encoding time building dictionaries for high-cardinality columns
  // and page indexes. A 16 KiB dictionary page limit makes those columns fall back to plain encoding
  // early while low-cardinality ones keep their dictionary (same file size); row-group (chunk)
  // statistics are what DuckDB and others use for pruning. Together about 25% less encoding CPU.
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(COMPRESSION[options.compression ?? 'snappy'])
    .setMaxRowGroupSize(options.rowGroupRows ?? 122_880)
    .setDictionaryPageSizeLimit(DICTIONARY_PAGE_BYTES)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy('saiga')
    .build();
  let rowCount = 0;
  const iterator = (Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]()) as
    | AsyncIterator<RecordBatch>
    | Iterator<RecordBatch>;
  const nextNonEmpty = async (): Promise<RecordBatch | undefined> => {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return undefined;
      if (next.value.numRows > 0) return next.value;
    }
  };
  const first = await nextNonEmpty();
  let bytes: ReadableStream<Uint8Array>;
  if (first === undefined) {
    // transformParquetStream needs at least one batch; a schema-only file is written whole.
    const empty = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(new Table(schema), 'stream')), props);
    bytes = new ReadableStream({ start: (c) => { c.enqueue(empty); c.close(); } });
  } else {
    let pending: RecordBatch | undefined = first;
    const source = new ReadableStream<pw.RecordBatch>({
      async pull(controller) {
        const batch = pending ?? (await nextNonEmpty());
        pending = undefined;
        if (batch === undefined) {
          controller.close();
          return;
        }
        rowCount += batch.numRows;
        controller.enqueue(toWasmBatch(batch));
      },
    });
    bytes = (await pw.transformParquetStream(source, props)) as ReadableStream<Uint8Array>;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  let sizeBytes = 0;
  try {
    const reader = bytes.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await fh.write(value);
      sizeBytes += value.byteLength;
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  return { rowCount, sizeBytes };
}

export interface ParquetFileInfo {
  readonly path: string;
  readonly schema: ArrowSchema;
  readonly rowCount: number;
  readonly rowGroupCount: number;
}

export interface ParquetReadOptions {
  readonly columns?: readonly string[];
  readonly batchRowCount?: number;
  /**
   * Decode in a worker thread, overlapping decoding with the consumer's work: by default the
   * compiled decode-worker.js next to this module (or under dist/ when running from source), or
   * the worker file given; `false`, or no compiled worker: decode on the calling thread. By
   * default files under DECODE_WORKER_ROWS_MIN rows decode on the calling thread (a worker's
   * start and its own parquet-wasm instance cost more than they save there).
   */
  readonly worker?: boolean | string;
}

/** Files with fewer rows are decoded on the calling thread unless a worker file is given. */
const DECODE_WORKER_ROWS_MIN = 262_144;

/** Decoded batches a worker may hold ahead of the consumer. */
const DECODE_AHEAD_BATCHES_MAX = 2;

/** The compiled decode worker, or null (running from source without a build). */
export function parquetDecodeWorkerFile(): string | null {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js')
    ? here.replace(/parquet-file\.js$/, 'decode-worker.js')
    : here.replace(/[/\\]src[/\\]parquet[/\\]parquet-file\.ts$/, '/dist/src/parquet/decode-worker.js');
  return existsSync(file) ? file : null;
}

/** An open Parquet file; read it with batches(). */
export interface ParquetReader extends ParquetFileInfo {
  batches(options?: ParquetReadOptions): AsyncIterable<RecordBatch>;
}

export async function openParquetFile(path: string): Promise<ParquetReader> {
  let file: pw.ParquetFile;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new SaigaError('InvalidArgument', `${path} is not a file`);
    file = await pw.ParquetFile.fromFile(await openAsBlob(path));
  } catch (e) {
    if (e instanceof SaigaError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SaigaError('NotFound', `no such Parquet file: ${path}`);
    throw new SaigaError('InvalidArgument', `cannot read ${path} as Parquet: ${errorText(e)}`);
  }
  const meta = file.metadata();
  const rowCount = meta.fileMetadata().numRows();
  const rowGroupCount = meta.numRowGroups();
  // The Arrow schema comes from an empty read of the first row group's projection-free schema.
  const schemaTable = tableFromIPC((await file.read({ limit: 0 })).intoIPCStream());
  const schema = schemaTable.schema;
  return {
    path,
    schema,
    rowCount,
    rowGroupCount,
    batches(options: ParquetReadOptions = {}): AsyncIterable<RecordBatch> {
      const workerFile = options.worker === false ? null
        : typeof options.worker === 'string' ? options.worker
        : options.worker === true || rowCount >= DECODE_WORKER_ROWS_MIN ? parquetDecodeWorkerFile() : null;
      return workerFile === null ? streamBatches(file, path, options) : streamBatchesInWorker(workerFile, path, options);
    },
  };
}

async function* streamBatches(file: pw.ParquetFile, path: string, options: ParquetReadOptions): AsyncIterable<RecordBatch> {
  const readerOptions: pw.ReaderOptions = { batchSize: options.batchRowCount ?? 65_536 };
  if (options.columns !== undefined) readerOptions.columns = [...options.columns];
  let stream: ReadableStream;
  try {
    stream = await file.stream(readerOptions);
  } catch (e) {
    throw new SaigaError('InvalidArgument', `cannot read ${path}: ${errorText(e)}`);
  }
  const reader = stream.getReader();
  try {
    for (;;) {
      let next: { done: boolean; value?: pw.RecordBatch };
      try {
        next = (await reader.read()) as { done: boolean; value?: pw.RecordBatch };
      } catch (e) {
        throw new SaigaError('Corruption', `cannot decode ${path}: ${errorText(e)}`, { file: path });
      }
      if (next.done || next.value === undefined) return;
      for (const batch of tableFromIPC(next.value.intoIPCStream()).batches) yield batch;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * streamBatches on a worker thread: the worker decodes up to DECODE_AHEAD_BATCHES_MAX batches
 * ahead while the consumer works on the current one; batches arrive as transferred IPC buffers.
 */
async function* streamBatchesInWorker(workerFile: string, path: string, options: ParquetReadOptions): AsyncIterable<RecordBatch> {
  const job: DecodeJob = {
    path,
    batchRowCount: options.batchRowCount ?? 65_536,
    aheadMax: DECODE_AHEAD_BATCHES_MAX,
    ...(options.columns !== undefined ? { columns: [...options.columns] } : {}),
  };
  const worker = new Worker(workerFile, { workerData: job });
  const inbox: DecodeMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: DecodeMessage) => { inbox.push(m); notify(); });
  worker.on('error', (e) => { failure = e; notify(); });
  worker.on('exit', (code) => {
    if (failure === undefined) failure = new Error(`decode worker exited with code ${code}`);
    notify();
  });
  try {
    for (;;) {
      const m = inbox.shift();
      if (m === undefined) {
        if (failure !== undefined) throw new SaigaError('Corruption', `cannot decode ${path}: ${errorText(failure)}`, { file: path });
        await new Promise<void>((resolve) => { wake = resolve; });
        continue;
      }
      if (m.kind === 'end') return;
      if (m.kind === 'error') throw new SaigaError('Corruption', `cannot decode ${path}: ${m.message}`, { file: path });
      assert(m.ipc instanceof Uint8Array, 'a decode worker batch carries IPC bytes');
      worker.postMessage('ack');
      for (const batch of tableFromIPC(m.ipc).batches) yield batch;
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Expands a path whose last component may hold `*` and `?` wildcards (as DuckDB's and Impala's
 * file globs do) into the sorted list of matching files. A path without wildcards that names
 * a directory expands to the Parquet files in it.
 */
export async function expandParquetGlob(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!/[*?]/.test(dir + base)) {
    const st = await stat(pattern).catch(() => undefined);
    if (st === undefined) throw new SaigaError('NotFound', `no such file or directory: ${pattern}`);
    if (!st.isDirectory()) return [pattern];
    return (await readdir(pattern)).filter((n) => n.endsWith('.parquet') && !n.startsWith('.')).sort().map((n) => join(pattern, n));
  }
  if (/[*?]/.test(dir)) throw new SaigaError('NotSupported', `wildcards are supported in the file name only, not in the directory: ${pattern}`);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const names = await readdir(dir).catch(() => {
    throw new SaigaError('NotFound', `no such directory: ${dir}`);
  });
  const files = names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n));
  if (files.length === 0) throw new SaigaError('NotFound', `no files match ${pattern}`);
  return files;
}
