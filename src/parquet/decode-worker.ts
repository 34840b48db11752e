import { fstatSync, openAsBlob, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as pw from 'parquet-wasm';

/**
 * Worker thread that decodes one Parquet file (parquet-wasm) and posts each record batch to the
 * parent as Arrow IPC stream bytes: copied into a free slot of the job's SharedArrayBuffers when
 * it has slots (the parent's thread then allocates nothing per batch, and V8 sees no new
 * external memory: no GC it would trigger), else as an ArrayBuffer transferred, not copied. The
 * parent acknowledges every transferred batch it consumed; at most `aheadMax` of them are
 * unacknowledged, so a slow consumer bounds the memory the worker fills. A slot is the parent's
 * until it releases it.
 *
 * | message (worker -> parent) | meaning |
 * |---|---|
 * | `{ kind: 'batch', ipc: Uint8Array }` | one record batch (schema + batch, IPC stream) |
 * | `{ kind: 'batch-slot', slot, byteLength }` | the same, in `slots[slot]` bytes [0, byteLength) |
 * | `{ kind: 'batch-columns', slot, buffer?, numRows, columns }` | one record batch as its Arrow buffers (below) |
 * | `{ kind: 'group-end', file, group }` | row group `group` of file `file` is complete (only for files whose row groups the job names) |
 * | `{ kind: 'end' }` | the job's files are exhausted |
 * | `{ kind: 'error', message }` | decoding failed; nothing follows |
 * The parent sends `{ release: slot }` when it no longer reads a slot's bytes (anything still
 * viewing them would see the next batch), and `'ack'` once per transferred batch it took. A batch
 * goes into a free slot that holds it; when none is free it is transferred if the worker has a
 * credit (`aheadMax` at the start, one more per 'ack'), else the worker waits for a slot or a
 * credit. So a worker holds at most its slots plus `aheadMax` transferred batches ahead, and
 * a consumer that keeps every slot leased still gets batches.
 *
 * A job with `columnLayout` (its columns all have types columnBufferSpec knows; the parent
 * decides from the file's schema) skips the IPC stream: each batch is exported through the Arrow C
 * Data Interface (parquet-wasm's intoFFI), its buffers are copied straight from wasm memory into
 * a free slot (or into an ArrayBuffer transferred with the message when none is free or large
 * enough), each at an 8-byte aligned offset, and the message lists where each column's buffers are.
 * The parent views them without parsing anything. That saves parquet-wasm's IPC serialization
 * (a copy inside wasm memory) and its copy out to a fresh buffer.
 */

/** One file of a decode job: its row groups (in this order, each followed by 'group-end'), or all of it. */
export interface DecodeFile {
  readonly path: string;
  /**
   * An open descriptor of `path` to read with (positional reads, so workers may share it); the
   * parent owns it and closes it after the worker ends. Without it the worker opens a Blob.
   */
  readonly fd?: number;
  readonly columns?: readonly string[];
  /** Decode only these row groups, in this order, each followed by a 'group-end' message. */
  readonly rowGroups?: readonly number[];
  /** The file's index in the parent's list ('group-end' names it). */
  readonly file: number;
}

export interface DecodeJob {
  /** Decoded in this order: one worker serves the row groups of many files (COPY FROM a directory). */
  readonly files: readonly DecodeFile[];
  readonly batchRowCount: number;
  readonly aheadMax: number;
  /** Buffers to pass batches in (each at most one batch, until the parent releases it). */
  readonly slots?: readonly SharedArrayBuffer[];
  /** Pass batches as column buffers ('batch-columns') instead of IPC streams. */
  readonly columnLayout?: boolean;
}

/** The part of Blob parquet-wasm's ParquetFile.fromFile uses (size, slice, arrayBuffer). */
interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A Blob-like view of bytes [start, end) of an open file: each range parquet-wasm asks for is one
 * positional read into a buffer of its exact size. A file Blob (openAsBlob) reads in chunks and
 * joins them: about 15% more decode CPU on lineitem.
 */
export function fileRange(fd: number, start: number, end: number): BlobLike {
  return {
    size: end - start,
    slice: (a = 0, b = end - start) => fileRange(fd, start + Math.min(a, end - start), start + Math.min(b, end - start)),
    arrayBuffer: async () => {
      const out = new Uint8Array(end - start);
      for (let at = 0; at < out.length;) {
        const n = readSync(fd, out, at, out.length - at, start + at);
        if (n === 0) throw new Error(`file ended at byte ${start + at}, expected ${end} bytes`);
        at += n;
      }
      return out.buffer;
    },
  };
}

/**
 * One column of a 'batch-columns' message. `format` is the Arrow C Data Interface format string;
 * each buffer is [byteOffset, byteLength] in the message's slot or buffer; `validity` is null when
 * the column has no nulls. Fixed-width and boolean columns have one buffer (values), variable-width
 * ones two (offsets, data).
 */
export interface ColumnBuffers {
  readonly name: string;
  readonly format: string;
  readonly nullable: boolean;
  readonly nullCount: number;
  readonly validity: readonly [number, number] | null;
  readonly buffers: readonly (readonly [number, number])[];
}

/**
 * How the buffers of a column of format `format` are laid out, or null for a format the column
 * layout does not carry (the job then uses IPC): bytes per value of a fixed-width column, 'bits'
 * for booleans, 'var32' / 'var64' for Utf8 / Binary with 32- / 64-bit offsets.
 */
export function columnBufferSpec(format: string): number | 'bits' | 'var32' | 'var64' | null {
  switch (format) {
    case 'c': case 'C': return 1;
    case 's': case 'S': return 2;
    case 'i': case 'I': case 'f': case 'tdD': return 4;
    case 'l': case 'L': case 'g': case 'tdm': return 8;
    case 'b': return 'bits';
    case 'u': case 'z': return 'var32';
    case 'U': case 'Z': return 'var64';
    default:
      if (/^d:\d+,\d+(,128)?$/.test(format)) return 16;
      if (/^ts[smun]:/.test(format)) return 8;
      return null;
  }
}

/** Parent -> worker: a credit for one more batch, or a slot given back. */
export type DecodeControl = 'ack' | { readonly release: number };

export type DecodeMessage =
  | { readonly kind: 'batch'; readonly ipc: Uint8Array }
  | { readonly kind: 'batch-slot'; readonly slot: number; readonly byteLength: number }
  | {
    readonly kind: 'batch-columns';
    /** The slot holding the buffers, or -1: they are in `buffer` (transferred). */
    readonly slot: number;
    readonly buffer?: ArrayBuffer;
    readonly numRows: number;
    readonly columns: readonly ColumnBuffers[];
  }
  | { readonly kind: 'group-end'; readonly file: number; readonly group: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly message: string };

const ARROW_FLAG_NULLABLE = 2;

/** Reads the C Data Interface structs of an exported record batch (wasm32: 4-byte pointers). */
class FfiReader {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  constructor(buffer: ArrayBuffer) {
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }
  ptr(at: number): number { return this.view.getUint32(at, true); }
  i64(at: number): number { return Number(this.view.getBigInt64(at, true)); }
  cstr(at: number): string {
    if (at === 0) return '';
    const end = this.bytes.indexOf(0, at);
    return Buffer.from(this.bytes.buffer, at, end - at).toString('utf8');
  }
}

/** A column's buffers in wasm memory (its ranges are [wasm address, byte length]), before the copy. */
type ColumnPlan = ColumnBuffers;

/**
 * Where the buffers of an exported struct-of-columns batch are in wasm memory (ArrowSchema at
 * `schemaAt`, ArrowArray at `arrayAt`), and their byte lengths; throws on a layout the column
 * layout does not carry (the parent only asks for it when every column type is carried).
 */
export function planColumns(mem: ArrayBuffer, schemaAt: number, arrayAt: number): { numRows: number; columns: ColumnPlan[] } {
  const r = new FfiReader(mem);
  // ArrowSchema: format 0, name 4, metadata 8, flags 16 (i64), n_children 24 (i64), children 32, dictionary 36.
  // ArrowArray: length 0, null_count 8, offset 16, n_buffers 24, n_children 32 (all i64), buffers 40, children 44, dictionary 48.
  const top = r.cstr(r.ptr(schemaAt));
  const n = r.i64(schemaAt + 24);
  if (top !== '+s' || r.i64(arrayAt + 32) !== n) throw new Error(`expected an exported struct of ${n} columns, found format ${top}`);
  const numRows = r.i64(arrayAt);
  const columns: ColumnPlan[] = [];
  for (let k = 0; k < n; k++) {
    const sc = r.ptr(r.ptr(schemaAt + 32) + 4 * k);
    const ar = r.ptr(r.ptr(arrayAt + 44) + 4 * k);
    const format = r.cstr(r.ptr(sc));
    const name = r.cstr(r.ptr(sc + 4));
    const spec = columnBufferSpec(format);
    const length = r.i64(ar);
    const nullCount = r.i64(ar + 8);
    if (spec === null || r.ptr(sc + 36) !== 0 || r.ptr(ar + 48) !== 0 || r.i64(ar + 16) !== 0 || length !== numRows || nullCount < 0) {
      throw new Error(`column ${name} (format ${format}) has a layout the column-buffer transfer does not carry`);
    }
    const bufs = r.ptr(ar + 40);
    const nBuffers = r.i64(ar + 24);
    const expected = typeof spec === 'string' && spec.startsWith('var') ? 3 : 2;
    if (nBuffers !== expected) throw new Error(`column ${name} (format ${format}) has ${nBuffers} buffers, expected ${expected}`);
    const validityAt = r.ptr(bufs);
    const validity: [number, number] | null = nullCount > 0 && validityAt !== 0 ? [validityAt, (length + 7) >> 3] : null;
    const buffers: [number, number][] = [];
    const valuesAt = r.ptr(bufs + 4);
    if (spec === 'bits') buffers.push([valuesAt, (length + 7) >> 3]);
    else if (typeof spec === 'number') buffers.push([valuesAt, spec * length]);
    else {
      const wide = spec === 'var64';
      const end = length === 0 ? 0 : wide ? r.i64(valuesAt + 8 * length) : r.view.getInt32(valuesAt + 4 * length, true);
      buffers.push([valuesAt, (length + 1) * (wide ? 8 : 4)], [r.ptr(bufs + 8), end]);
    }
    columns.push({ name, format, nullable: (r.i64(sc + 16) & ARROW_FLAG_NULLABLE) !== 0, nullCount, validity, buffers });
  }
  return { numRows, columns };
}

const align8 = (x: number): number => (x + 7) & ~7;

/** Bytes the planned buffers take when copied, each at an 8-byte aligned offset. */
export function plannedBytes(columns: readonly ColumnPlan[]): number {
  let at = 0;
  for (const c of columns) {
    if (c.validity !== null) at = align8(at + c.validity[1]);
    for (const b of c.buffers) at = align8(at + b[1]);
  }
  return at;
}

/** Copies the planned buffers from wasm memory into `out` and says where each one went. */
export function copyColumns(mem: ArrayBuffer, columns: readonly ColumnPlan[], out: Uint8Array): ColumnBuffers[] {
  const src = new Uint8Array(mem);
  let at = 0;
  const place = ([from, len]: readonly [number, number]): [number, number] => {
    out.set(src.subarray(from, from + len), at);
    const where: [number, number] = [at, len];
    at = align8(at + len);
    return where;
  };
  return columns.map((c) => ({
    name: c.name, format: c.format, nullable: c.nullable, nullCount: c.nullCount,
    validity: c.validity === null ? null : place(c.validity),
    buffers: c.buffers.map(place),
  }));
}

const port = parentPort;
if (port !== null) {
  const job = workerData as DecodeJob;
  let credits = job.aheadMax;
  let wake: (() => void) | undefined;
  const slots = job.slots ?? [];
  const freeSlots = slots.map((_, i) => slots.length - 1 - i);
  port.on('message', (m: DecodeControl) => {
    if (m === 'ack') credits++;
    else freeSlots.push(m.release);
    const w = wake;
    wake = undefined;
    w?.();
  });
  const post = (m: DecodeMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  /** The smallest free slot of at least `bytes`, taken, or undefined. */
  const takeSlot = (bytes: number): number | undefined => {
    let best = -1;
    for (let i = 0; i < freeSlots.length; i++) {
      const len = (slots[freeSlots[i]!] as SharedArrayBuffer).byteLength;
      if (len >= bytes && (best < 0 || len < (slots[freeSlots[best]!] as SharedArrayBuffer).byteLength)) best = i;
    }
    return best < 0 ? undefined : freeSlots.splice(best, 1)[0];
  };
  /**
   * Where a batch of `bytes` goes: a free slot that holds it (slots bound what the worker holds
   * ahead), else -1, transferred, which takes a credit (the parent acknowledges transferred batches
   * only). Waits for whichever comes first; a consumer holding every slot still gets batches.
   */
  const placement = async (bytes: number): Promise<number> => {
    const fits = slots.some((b) => b.byteLength >= bytes);
    for (;;) {
      const slot = fits ? takeSlot(bytes) : undefined;
      if (slot !== undefined) return slot;
      if (credits > 0) {
        credits--;
        return -1;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  };
  const wasmBuffer = (): ArrayBuffer => (pw.wasmMemory() as unknown as { readonly buffer: ArrayBuffer }).buffer;
  const postColumns = async (batch: pw.RecordBatch): Promise<void> => {
    const ffi = batch.intoFFI();
    try {
      const plan = planColumns(wasmBuffer(), ffi.schemaAddr(), ffi.arrayAddr());
      const bytes = plannedBytes(plan.columns);
      const slot = await placement(bytes);
      // Read wasm memory again: it may have grown (a new buffer) while waiting.
      if (slot >= 0) {
        const columns = copyColumns(wasmBuffer(), plan.columns, new Uint8Array(slots[slot] as SharedArrayBuffer, 0, bytes));
        post({ kind: 'batch-columns', slot, numRows: plan.numRows, columns });
      } else {
        const buffer = new ArrayBuffer(bytes);
        const columns = copyColumns(wasmBuffer(), plan.columns, new Uint8Array(buffer));
        post({ kind: 'batch-columns', slot: -1, buffer, numRows: plan.numRows, columns }, [buffer]);
      }
    } finally {
      ffi.free();
    }
  };
  const decode = async (file: pw.ParquetFile, columns: readonly string[] | undefined, rowGroups: number[] | undefined): Promise<void> => {
    const options: pw.ReaderOptions = { batchSize: job.batchRowCount };
    if (columns !== undefined) options.columns = [...columns];
    if (rowGroups !== undefined) options.rowGroups = rowGroups;
    const reader = (await file.stream(options)).getReader();
    for (;;) {
      const next = (await reader.read()) as { done: boolean; value?: pw.RecordBatch };
      if (next.done || next.value === undefined) break;
      if (job.columnLayout === true) {
        await postColumns(next.value);
        continue;
      }
      let ipc = next.value.intoIPCStream();
      const slot = await placement(ipc.byteLength);
      if (slot >= 0) {
        new Uint8Array(slots[slot] as SharedArrayBuffer, 0, ipc.byteLength).set(ipc);
        post({ kind: 'batch-slot', slot, byteLength: ipc.byteLength });
        continue;
      }
      // intoIPCStream copies out of wasm memory into a buffer of its own: transfer it whole.
      if (ipc.byteOffset !== 0 || ipc.byteLength !== ipc.buffer.byteLength) ipc = ipc.slice();
      post({ kind: 'batch', ipc }, [ipc.buffer as ArrayBuffer]);
    }
  };
  const run = async (): Promise<void> => {
    for (const part of job.files) {
      const source = part.fd !== undefined ? fileRange(part.fd, 0, fstatSync(part.fd).size) : await openAsBlob(part.path);
      const file = await pw.ParquetFile.fromFile(source as Blob);
      if (part.rowGroups === undefined) await decode(file, part.columns, undefined);
      else {
        for (const group of part.rowGroups) {
          await decode(file, part.columns, [group]);
          post({ kind: 'group-end', file: part.file, group });
        }
      }
      file.free();
    }
    post({ kind: 'end' });
  };
  run().catch((e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e) }));
}
