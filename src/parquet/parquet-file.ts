import { closeSync, existsSync, openAsBlob, openSync } from 'node:fs';
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import { AsyncByteQueue, RecordBatch, RecordBatchStreamWriter, type Schema as ArrowSchema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { ColumnBuffers, DecodeControl, DecodeFile, DecodeJob, DecodeMessage } from './decode-worker.js';
import { parquetEncodePool, type ParquetEncodePool } from './encode-pool.js';
import { createParquetMerger } from './parquet-merge.js';
import { ROW_GROUP_ROWS_DEFAULT, writerProperties, type ParquetCompression, type ParquetEncodeSettings } from './writer-properties.js';

/**
 * Parquet in and out through parquet-wasm. Reading streams row groups with column projection
 * (ParquetFile.stream honours `columns`; readParquet does not), so a file larger than memory
 * is never loaded whole. Writing streams record batches through transformParquetStream.
 */

export type { ParquetCompression } from './writer-properties.js';

export interface ParquetWriteOptions {
  readonly compression?: ParquetCompression;
  readonly rowGroupRows?: number;
  /** Parquet writer version (see ParquetEncodeSettings.version); default 1. */
  readonly version?: 1 | 2;
  /**
   * Encode row groups in the process's encode workers (encode-pool.ts), in parallel, and join
   * their outputs into one file (parquet-merge.ts): the default when a compiled worker exists.
   * `false`: encode on the calling thread through one parquet-wasm writer; a file name: that
   * compiled worker (tests).
   */
  readonly workers?: boolean | string;
}

export interface ParquetWriteResult {
  readonly rowCount: number;
  readonly sizeBytes: number;
}

/** Converts an apache-arrow batch into a parquet-wasm batch through one IPC stream. */
function toWasmBatch(batch: RecordBatch): pw.RecordBatch {
  const table = pw.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
  const wasmBatch = table.recordBatch(0);
  if (wasmBatch === undefined) throw new SaigaError('IllegalState', 'parquet-wasm returned no batch for a non-empty table');
  return wasmBatch;
}

/** Encoded parts a parallel export holds at once, per encode worker (queued, encoding or waiting to be written). */
const PARTS_IN_FLIGHT_PER_WORKER = 2;

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
  const settings: ParquetEncodeSettings = {
    compression: options.compression ?? 'snappy',
    rowGroupRows: options.rowGroupRows ?? ROW_GROUP_ROWS_DEFAULT,
    ...(options.version !== undefined ? { version: options.version } : {}),
  };
  assert(Number.isInteger(settings.rowGroupRows) && settings.rowGroupRows > 0, `rowGroupRows must be a positive integer, found ${settings.rowGroupRows}`);
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
  const pool = options.workers === false ? null : parquetEncodePool(typeof options.workers === 'string' ? options.workers : undefined);
  return writeAtomically(path, async (fh) => {
    if (first === undefined) {
      // A schema-only file is written whole.
      const empty = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(new Table(schema), 'stream')), writerProperties(settings));
      await fh.write(empty);
      return { rowCount: 0, sizeBytes: empty.byteLength };
    }
    return pool === null
      ? writeOnThisThread(fh, first, nextNonEmpty, settings)
      : writeInWorkers(fh, first, nextNonEmpty, settings, pool, path);
  });
}

/** Runs `write` on a temporary file next to `path`, fsyncs it and renames it into place; removes it on failure. */
async function writeAtomically(path: string, write: (fh: FileHandle) => Promise<ParquetWriteResult>): Promise<ParquetWriteResult> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  let result: ParquetWriteResult;
  try {
    result = await write(fh);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  return result;
}

/** One parquet-wasm writer on the calling thread, fed batch by batch. */
async function writeOnThisThread(
  fh: FileHandle,
  first: RecordBatch,
  nextNonEmpty: () => Promise<RecordBatch | undefined>,
  settings: ParquetEncodeSettings,
): Promise<ParquetWriteResult> {
  let rowCount = 0;
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
  const bytes = (await pw.transformParquetStream(source, writerProperties(settings))) as ReadableStream<Uint8Array>;
  let sizeBytes = 0;
  const reader = bytes.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await fh.write(value);
    sizeBytes += value.byteLength;
  }
  return { rowCount, sizeBytes };
}

/**
 * The calling thread cuts the batches into parts of one row group each (rowGroupRows rows, the
 * last one shorter) and sends each part as Arrow IPC to the encode workers, which encode parts in
 * parallel, each into a whole Parquet file; the parts are joined in order (parquet-merge.ts) into
 * one file with one footer. At most PARTS_IN_FLIGHT_PER_WORKER parts per worker are outstanding.
 */
async function writeInWorkers(
  fh: FileHandle,
  first: RecordBatch,
  nextNonEmpty: () => Promise<RecordBatch | undefined>,
  settings: ParquetEncodeSettings,
  pool: ParquetEncodePool,
  path: string,
): Promise<ParquetWriteResult> {
  // Every part carries the first batch's schema: the writer of a single stream would take it too.
  const partSchema = first.schema;
  pool.start();
  const merger = createParquetMerger();
  await fh.write(merger.head);
  let sizeBytes = merger.head.byteLength;
  let rowCount = 0;
  const inFlight: Promise<Uint8Array>[] = [];
  const inFlightMax = pool.workersMax * PARTS_IN_FLIGHT_PER_WORKER;
  let partBatches: RecordBatch[] = [];
  let partRows = 0;
  let partIndex = 0;
  // One file write outstanding while the next parts are cut, serialized and encoded.
  let writing: Promise<void> = Promise.resolve();
  const writeOldest = async (): Promise<void> => {
    const parquet = await inFlight.shift()!;
    const body = merger.add(parquet, `${path} (part ${partIndex++})`);
    await writing;
    writing = fh.write(body).then(() => { sizeBytes += body.byteLength; });
    writing.catch(() => undefined); // awaited by the next write or at the end; never unhandled meanwhile
  };
  const slots = new SharedIpcSlots();
  const sendPart = async (): Promise<void> => {
    const ipc = slots.serialize(partSchema, partBatches);
    rowCount += partRows;
    partBatches = [];
    partRows = 0;
    const encoded = pool.encode(ipc, settings);
    encoded.then(() => slots.release(ipc), () => undefined); // the slot is free once the worker answered
    encoded.catch(() => undefined); // rejected later when awaited in order; never unhandled meanwhile
    inFlight.push(encoded);
    while (inFlight.length >= inFlightMax) await writeOldest();
  };
  try {
    for (let batch = first as RecordBatch | undefined; batch !== undefined; batch = await nextNonEmpty()) {
      const b = batch.schema === partSchema ? batch : relabel(batch, partSchema, path);
      let at = 0;
      while (at < b.numRows) {
        const take = Math.min(b.numRows - at, settings.rowGroupRows - partRows);
        partBatches.push(at === 0 && take === b.numRows ? b : b.slice(at, at + take));
        partRows += take;
        at += take;
        if (partRows === settings.rowGroupRows) await sendPart();
      }
    }
    if (partRows > 0) await sendPart();
    while (inFlight.length > 0) await writeOldest();
    await writing;
  } finally {
    // On failure, let outstanding parts and the last write finish before the caller removes the file.
    await Promise.allSettled([...inFlight.splice(0), writing]);
  }
  assert(merger.rowCount === rowCount, `merged Parquet parts hold ${merger.rowCount} rows, expected ${rowCount}`);
  const tail = merger.finish();
  await fh.write(tail);
  sizeBytes += tail.byteLength;
  return { rowCount, sizeBytes };
}

/**
 * A later batch under the first batch's schema (the one the file declares). Names and nullability
 * may differ; types may not, and a column the file declares REQUIRED may hold no nulls.
 */
function relabel(batch: RecordBatch, schema: ArrowSchema, path: string): RecordBatch {
  const fields = batch.schema.fields;
  if (fields.length !== schema.fields.length) {
    throw new SaigaError('InvalidArgument', `writing ${path}: a batch has ${fields.length} columns, the first had ${schema.fields.length}`);
  }
  schema.fields.forEach((f, i) => {
    const other = fields[i]!;
    if (String(other.type) !== String(f.type)) {
      throw new SaigaError('InvalidArgument', `writing ${path}: column ${f.name} is ${String(f.type)} in the first batch, ${String(other.type)} in a later one`);
    }
    if (!f.nullable && (batch.getChildAt(i)?.nullCount ?? 0) > 0) {
      throw new SaigaError('InvalidArgument', `writing ${path}: column ${f.name} is NOT NULL in the first batch's schema, but a later batch holds nulls`);
    }
  });
  return new RecordBatch(schema, batch.data);
}

/** Collects the chunks an Arrow IPC writer emits (views of the batches' buffers) instead of queueing them. */
class IpcChunks extends AsyncByteQueue<Uint8Array> {
  chunks: Uint8Array[] = [];
  byteLength = 0;
  override write(value: ArrayBufferView): void {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    this.chunks.push(bytes);
    this.byteLength += bytes.byteLength;
  }
}

/**
 * Serializes parts as Arrow IPC streams into SharedArrayBuffers reused from part to part: the
 * encode worker reads them without a copy across threads, and reusing the memory saves the page
 * faults of a fresh buffer per part (measured: tableToIPC's join into a new buffer was ~10% of an
 * export's main-thread time). A slot is reused only after release (the worker has answered).
 */
class SharedIpcSlots {
  private readonly free: SharedArrayBuffer[] = [];

  serialize(schema: ArrowSchema, batches: readonly RecordBatch[]): Uint8Array {
    const sink = new IpcChunks();
    const writer = new RecordBatchStreamWriter();
    writer.reset(sink, schema);
    for (const b of batches) writer.write(b);
    writer.finish();
    const n = sink.byteLength;
    const at = this.free.findIndex((b) => b.byteLength >= n);
    let sab: SharedArrayBuffer;
    if (at >= 0) sab = this.free.splice(at, 1)[0]!;
    else {
      this.free.pop(); // every kept buffer is too small: let one go, take a bigger one
      sab = new SharedArrayBuffer(Math.ceil(n * 1.25));
    }
    const out = new Uint8Array(sab, 0, n);
    let pos = 0;
    for (const c of sink.chunks) {
      out.set(c, pos);
      pos += c.byteLength;
    }
    return out;
  }

  release(ipc: Uint8Array): void {
    if (ipc.buffer instanceof SharedArrayBuffer && this.free.length < SHARED_SLOTS_MAX) this.free.push(ipc.buffer);
  }
}

/** SharedArrayBuffers an export keeps for reuse. */
const SHARED_SLOTS_MAX = 8;

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
  /** Decode workers when decoding on workers (row groups in parallel, in order to the consumer); default 2. */
  readonly decodeWorkers?: number;
  /**
   * leasedBatches on workers: pass each batch as its Arrow buffers copied from wasm memory (no IPC
   * stream) when every projected column type allows it (default); `false`: as IPC streams.
   */
  readonly columnLayout?: boolean;
}

/** Files with fewer rows are decoded on the calling thread unless a worker file is given. */
const DECODE_WORKER_ROWS_MIN = 262_144;

/**
 * Decode workers per file read: row groups decode in parallel, handed to the consumer in order.
 * Two: the consumer (COPY FROM's writing thread) is the bottleneck on a 2-core machine; a second
 * decoder keeps the next row group ready while the first one's batches are being written.
 */
const DECODE_WORKERS_DEFAULT = 2;

/** Decoded batches a worker may hold ahead of the consumer. */
const DECODE_AHEAD_BATCHES_MAX = 2;

/**
 * leasedBatches: SharedArrayBuffer slots per decode worker that batches are passed in (a batch
 * larger than a slot, or one decoded while every slot is leased, is transferred instead), and
 * their size. Enough for the batches a worker holds ahead (2) plus its share of those the consumer
 * has leased (COPY FROM: 4 writes in flight and one being conformed, over 2 workers).
 */
const DECODE_SLOTS_PER_WORKER = 5;
const DECODE_SLOT_BYTES = 16 * 1024 * 1024;

/** A decoded batch whose buffers the reader may reuse once the consumer releases it. */
export interface LeasedBatch {
  readonly batch: RecordBatch;
  /** The consumer no longer reads the batch, nor anything viewing its buffers (idempotent). */
  release(): void;
}

const NO_RELEASE = (): void => undefined;

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
  /**
   * batches() whose buffers may be reused for later batches once released: decode workers pass
   * them in shared slots, so the consuming thread neither allocates nor garbage-collects a
   * buffer per batch. The consumer must release every batch it took (and keep no view on its
   * buffers after that); a batch not released holds its slot until the read ends.
   */
  leasedBatches(options?: ParquetReadOptions): AsyncIterable<LeasedBatch>;
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
      return unleased(read(options, false));
    },
    leasedBatches(options: ParquetReadOptions = {}): AsyncIterable<LeasedBatch> {
      return read(options, true);
    },
  };

  function read(options: ParquetReadOptions, leased: boolean): AsyncIterable<LeasedBatch> {
    const workerFile = options.worker === false ? null
      : typeof options.worker === 'string' ? options.worker
      : options.worker === true || rowCount >= DECODE_WORKER_ROWS_MIN ? parquetDecodeWorkerFile() : null;
    return workerFile === null
      ? ownedBatches(streamBatches(file, path, options))
      : streamFilesInWorkers(workerFile, [{ path, rowGroupCount, ...(options.columns !== undefined ? { columns: options.columns } : {}) }], options,
        options.decodeWorkers ?? DECODE_WORKERS_DEFAULT, leased,
        leased && options.columnLayout !== false && columnLayoutCarries(options.columns === undefined ? schema.fields : schema.fields.filter((f) => options.columns!.includes(f.name))));
  }
}

async function* ownedBatches(batches: AsyncIterable<RecordBatch>): AsyncIterable<LeasedBatch> {
  for await (const batch of batches) yield { batch, release: NO_RELEASE };
}

async function* unleased(batches: AsyncIterable<LeasedBatch>): AsyncIterable<RecordBatch> {
  for await (const b of batches) yield b.batch;
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
 * Whether the decode worker can pass batches of these fields as column buffers (decode-worker.ts,
 * columnBufferSpec): integers, floats (not half), booleans, strings and binaries (32- or 64-bit
 * offsets), 128-bit decimals, dates and timestamps. Dictionaries, views and nested types go as IPC.
 */
function columnLayoutCarries(fields: readonly arrow.Field[]): boolean {
  return fields.every(({ type: t }) => {
    switch (t.typeId) {
      case arrow.Type.Int: case arrow.Type.Bool: case arrow.Type.Utf8: case arrow.Type.LargeUtf8:
      case arrow.Type.Binary: case arrow.Type.LargeBinary: case arrow.Type.Date: case arrow.Type.Timestamp:
        return true;
      case arrow.Type.Float: return (t as arrow.Float).precision !== arrow.Precision.HALF;
      case arrow.Type.Decimal: return (t as arrow.Decimal).bitWidth === 128;
      default: return false;
    }
  });
}

const TIME_UNITS: Readonly<Record<string, arrow.TimeUnit>> = { s: arrow.TimeUnit.SECOND, m: arrow.TimeUnit.MILLISECOND, u: arrow.TimeUnit.MICROSECOND, n: arrow.TimeUnit.NANOSECOND };

/** The Arrow JS type of a C Data Interface format string the column layout carries. */
function arrowTypeOfFormat(format: string): arrow.DataType {
  switch (format) {
    case 'c': return new arrow.Int8();
    case 'C': return new arrow.Uint8();
    case 's': return new arrow.Int16();
    case 'S': return new arrow.Uint16();
    case 'i': return new arrow.Int32();
    case 'I': return new arrow.Uint32();
    case 'l': return new arrow.Int64();
    case 'L': return new arrow.Uint64();
    case 'f': return new arrow.Float32();
    case 'g': return new arrow.Float64();
    case 'b': return new arrow.Bool();
    case 'u': return new arrow.Utf8();
    case 'U': return new arrow.LargeUtf8();
    case 'z': return new arrow.Binary();
    case 'Z': return new arrow.LargeBinary();
    case 'tdD': return new arrow.DateDay();
    case 'tdm': return new arrow.DateMillisecond();
    default: {
      const dec = /^d:(\d+),(\d+)(,128)?$/.exec(format);
      if (dec !== null) return new arrow.Decimal(Number(dec[2]), Number(dec[1]), 128);
      const ts = /^ts([smun]):(.*)$/.exec(format);
      if (ts !== null) return new arrow.Timestamp(TIME_UNITS[ts[1]!]!, ts[2] === '' ? null : ts[2]!);
      throw new SaigaError('IllegalState', `a decode worker sent a column of format '${format}', which the column layout does not carry`);
    }
  }
}

/** A record batch over the column buffers of a 'batch-columns' message (views, no copy). */
function batchOfColumns(buffer: ArrayBufferLike, numRows: number, columns: readonly ColumnBuffers[], schemas: Map<string, ArrowSchema>): RecordBatch {
  const key = columns.map((c) => `${c.name}\u0000${c.format}\u0000${c.nullable ? 1 : 0}`).join('\u0001');
  let schema = schemas.get(key);
  if (schema === undefined) {
    schema = new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowTypeOfFormat(c.format), c.nullable)));
    schemas.set(key, schema);
  }
  const view = ([at, len]: readonly [number, number]): Uint8Array => new Uint8Array(buffer, at, len);
  const children = columns.map((c, k) => {
    const type = schema.fields[k]!.type as arrow.DataType;
    const nulls = c.validity === null ? { nullCount: 0 } : { nullCount: c.nullCount, nullBitmap: view(c.validity) };
    const [first, second] = c.buffers;
    assert(first !== undefined, () => `column ${c.name}: no value buffer`);
    const props = second === undefined
      ? { type, length: numRows, data: view(first), ...nulls }
      : { type, length: numRows, valueOffsets: view(first), data: view(second), ...nulls };
    return arrow.makeData(props as unknown as Parameters<typeof arrow.makeData>[0]) as arrow.Data;
  });
  return new RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: numRows, nullCount: 0, children }));
}

/** A decode worker and the messages it sent that the consumer has not taken yet. */
class DecodeWorkerHandle {
  readonly worker: Worker;
  private readonly inbox: DecodeMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: unknown;

  private closed = false;

  constructor(workerFile: string, readonly job: DecodeJob) {
    this.worker = new Worker(workerFile, { workerData: job });
    this.worker.on('message', (m: DecodeMessage) => { this.inbox.push(m); this.notify(); });
    this.worker.on('error', (e) => { this.failure = e; this.notify(); });
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`decode worker exited with code ${code}`);
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next message; a worker that died first is an error. */
  async next(path: string): Promise<DecodeMessage> {
    for (;;) {
      const m = this.inbox.shift();
      if (m !== undefined) {
        if (m.kind === 'error') throw new SaigaError('Corruption', `cannot decode ${path}: ${m.message}`, { file: path });
        return m;
      }
      if (this.failure !== undefined) throw new SaigaError('Corruption', `cannot decode ${path}: ${errorText(this.failure)}`, { file: path });
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private readonly schemas = new Map<string, ArrowSchema>();

  /** The batches of one message: views on a slot (released when all of them are) or on a transferred buffer. */
  leased(m: Extract<DecodeMessage, { kind: 'batch' | 'batch-slot' | 'batch-columns' }>): LeasedBatch[] {
    if (m.kind === 'batch') return tableFromIPC(m.ipc).batches.map((batch) => ({ batch, release: NO_RELEASE }));
    if (m.kind === 'batch-columns' && m.slot < 0) {
      assert(m.buffer !== undefined, 'a decode worker sent column buffers in neither a slot nor a buffer');
      return [{ batch: batchOfColumns(m.buffer, m.numRows, m.columns, this.schemas), release: NO_RELEASE }];
    }
    const slots = this.job.slots;
    const byteLength = m.kind === 'batch-slot' ? m.byteLength : 0;
    assert(slots !== undefined && m.slot >= 0 && m.slot < slots.length && byteLength <= (slots[m.slot] as SharedArrayBuffer).byteLength,
      () => `a decode worker names slot ${m.slot} (${byteLength} bytes) of ${slots?.length ?? 0}`);
    const batches = m.kind === 'batch-slot'
      ? tableFromIPC(new Uint8Array(slots[m.slot] as SharedArrayBuffer, 0, m.byteLength)).batches
      : [batchOfColumns(slots[m.slot] as SharedArrayBuffer, m.numRows, m.columns, this.schemas)];
    let held = batches.length;
    const giveBack = (): void => {
      if (!this.closed) this.worker.postMessage({ release: m.slot } satisfies DecodeControl);
    };
    if (held === 0) giveBack();
    return batches.map((batch) => {
      let done = false;
      return {
        batch,
        release: () => {
          if (done) return;
          done = true;
          if (--held === 0) giveBack();
        },
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.worker.removeAllListeners();
    await this.worker.terminate();
  }
}

/** One file of a read on workers: its path, projection and row-group count. */
interface WorkerFileRead {
  readonly path: string;
  readonly columns?: readonly string[];
  readonly rowGroupCount: number;
}

/**
 * streamBatches of one or more files on worker threads: the row groups of all files, in order, are
 * dealt round-robin to the workers (worker k decodes groups k, k + n, k + 2n, ... of that sequence,
 * across file boundaries: one set of workers per read, however many files), and the consumer takes
 * them in order from the worker that holds each. Each batch comes with the index of its file.
 * The files are opened here (one descriptor each, shared by the workers) and closed once the
 * workers have ended. Batches come in slots (leased) or as transferred buffers (no copy); a
 * worker holds at most its slots plus DECODE_AHEAD_BATCHES_MAX transferred batches ahead.
 */
async function* streamFilesInWorkers(
  workerFile: string,
  files: readonly WorkerFileRead[],
  options: ParquetReadOptions,
  workerCount: number,
  leased: boolean,
  columnLayout: boolean,
): AsyncIterable<LeasedBatch & { readonly file: number }> {
  const items: { file: number; group: number }[] = [];
  files.forEach((f, file) => { for (let group = 0; group < f.rowGroupCount; group++) items.push({ file, group }); });
  if (items.length === 0) return;
  const n = Math.max(1, Math.min(workerCount, items.length));
  const fds: number[] = [];
  const slots = (): { slots?: SharedArrayBuffer[] } =>
    (leased ? { slots: Array.from({ length: DECODE_SLOTS_PER_WORKER }, () => new SharedArrayBuffer(DECODE_SLOT_BYTES)) } : {});
  const workers: DecodeWorkerHandle[] = [];
  try {
    for (const f of files) {
      try {
        fds.push(openSync(f.path, 'r'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SaigaError('NotFound', `no such Parquet file: ${f.path}`);
        throw new SaigaError('Corruption', `cannot decode ${f.path}: ${errorText(e)}`, { file: f.path });
      }
    }
    for (let k = 0; k < n; k++) {
      // This worker's items, consecutive ones of one file joined into one part.
      const parts: DecodeFile[] = [];
      for (let i = k; i < items.length; i += n) {
        const { file, group } = items[i]!;
        const last = parts[parts.length - 1];
        if (last?.file === file) (last.rowGroups as number[]).push(group);
        else {
          const f = files[file]!;
          parts.push({ path: f.path, fd: fds[file]!, file, rowGroups: [group], ...(f.columns !== undefined ? { columns: [...f.columns] } : {}) });
        }
      }
      workers.push(new DecodeWorkerHandle(workerFile, {
        files: parts, batchRowCount: options.batchRowCount ?? 65_536, aheadMax: DECODE_AHEAD_BATCHES_MAX, columnLayout, ...slots(),
      }));
    }
    for (let i = 0; i < items.length; i++) {
      const { file, group } = items[i]!;
      const path = files[file]!.path;
      const w = workers[i % n]!;
      for (;;) {
        const m = await w.next(path);
        if (m.kind === 'group-end') {
          assert(m.file === file && m.group === group, () => `decode worker ${i % n} ended row group ${m.group} of file ${m.file}, expected ${group} of ${file}`);
          break;
        }
        assert(m.kind === 'batch' || m.kind === 'batch-slot' || m.kind === 'batch-columns', `${path} row group ${group}: expected a batch or its end, found ${m.kind}`);
        if (m.kind === 'batch' || (m.kind === 'batch-columns' && m.slot < 0)) w.worker.postMessage('ack' satisfies DecodeControl);
        for (const lb of w.leased(m)) yield { ...lb, file };
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    for (const fd of fds) closeSync(fd);
  }
}

/** A file of a multi-file read: its reader and the columns to read (default all). */
export interface ParquetFileRead {
  readonly reader: ParquetReader;
  readonly columns?: readonly string[];
}

/** A leased batch of a multi-file read and the index of its file. */
export interface LeasedFileBatch extends LeasedBatch {
  readonly file: number;
}

/**
 * leasedBatches of several files, in file order: on one set of decode workers for all of them
 * when they hold DECODE_WORKER_ROWS_MIN rows or more together (a directory of small files decodes
 * off the calling thread too, without starting workers per file), else on the calling thread.
 */
export async function* leasedBatchesOfFiles(files: readonly ParquetFileRead[], options: Omit<ParquetReadOptions, 'columns'> = {}): AsyncIterable<LeasedFileBatch> {
  const rows = files.reduce((a, f) => a + f.reader.rowCount, 0);
  const workerFile = options.worker === false ? null
    : typeof options.worker === 'string' ? options.worker
    : options.worker === true || rows >= DECODE_WORKER_ROWS_MIN ? parquetDecodeWorkerFile() : null;
  if (workerFile === null) {
    for (const [file, f] of files.entries()) {
      const read: ParquetReadOptions = { ...options, worker: false, ...(f.columns !== undefined ? { columns: f.columns } : {}) };
      for await (const lb of f.reader.leasedBatches(read)) yield { ...lb, file };
    }
    return;
  }
  const projected = (f: ParquetFileRead): arrow.Field[] => (f.columns === undefined ? f.reader.schema.fields : f.reader.schema.fields.filter((x) => f.columns!.includes(x.name)));
  const columnLayout = options.columnLayout !== false && files.every((f) => columnLayoutCarries(projected(f)));
  for (let at = 0; at < files.length; at += FILES_PER_DECODE_READ_MAX) {
    const part = files.slice(at, at + FILES_PER_DECODE_READ_MAX);
    const reads = part.map((f) => ({ path: f.reader.path, rowGroupCount: f.reader.rowGroupCount, ...(f.columns !== undefined ? { columns: f.columns } : {}) }));
    for await (const lb of streamFilesInWorkers(workerFile, reads, options, options.decodeWorkers ?? DECODE_WORKERS_DEFAULT, true, columnLayout)) {
      yield { ...lb, file: at + lb.file };
    }
  }
}

/** Files one set of decode workers reads (each holds a descriptor open until the set ends). */
const FILES_PER_DECODE_READ_MAX = 256;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * File-name order with digit runs compared as numbers (`data_2` before `data_10`): writers that
 * number their parts (DuckDB's `data_N.parquet`, Spark's `part-N`) list them in the order they
 * wrote them, so rows keep their order (keys in increasing order take the bulk-load path).
 */
export function compareFileNames(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      // Longer digit runs (leading zeros aside) are larger numbers; equal values: fewer zeros first.
      const tx = x.replace(/^0+(?=\d)/, '');
      const ty = y.replace(/^0+(?=\d)/, '');
      if (tx.length !== ty.length) return tx.length - ty.length;
      if (tx !== ty) return tx < ty ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Expands a path whose last component may hold `*` and `?` wildcards (as DuckDB's and Impala's
 * file globs do) into the list of matching files in compareFileNames order. A path without wildcards that names
 * a directory expands to the Parquet files in it.
 */
export async function expandParquetGlob(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!/[*?]/.test(dir + base)) {
    const st = await stat(pattern).catch(() => undefined);
    if (st === undefined) throw new SaigaError('NotFound', `no such file or directory: ${pattern}`);
    if (!st.isDirectory()) return [pattern];
    return (await readdir(pattern)).filter((n) => n.endsWith('.parquet') && !n.startsWith('.')).sort(compareFileNames).map((n) => join(pattern, n));
  }
  if (/[*?]/.test(dir)) throw new SaigaError('NotSupported', `wildcards are supported in the file name only, not in the directory: ${pattern}`);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const names = await readdir(dir).catch(() => {
    throw new SaigaError('NotFound', `no such directory: ${dir}`);
  });
  const files = names.filter((n) => re.test(n) && !n.startsWith('.')).sort(compareFileNames).map((n) => join(dir, n));
  if (files.length === 0) throw new SaigaError('NotFound', `no files match ${pattern}`);
  return files;
}
