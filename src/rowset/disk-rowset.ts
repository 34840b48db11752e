import * as arrow from 'apache-arrow';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { assert } from '../common/assert.js';
import { corruption } from '../common/errors.js';
import { HT_MAX, type HybridTime } from '../common/hybrid-time.js';
import { compareBytes, startsWith } from '../common/key-encoding.js';
import type { Value } from '../common/types.js';
import { BloomFilter } from './bloom-filter.js';
import { arrowTypeOf } from '../common/arrow-type.js';
import { buildColumn, buildCompactValues, compareValues, constantColumn, gather, readValue } from './column-data.js';
import { setCompactValues } from '../common/compact-column.js';
import { DeltaIndex, valueFromJson, valueToJson, type DeltaRecord, type JsonValue } from './delta-file.js';
import { compareRuns, type MemRowSet, type RowVersion } from './mem-rowset.js';
import type { MrsColumns } from './mrs-columns.js';
import { BaseColumnAssembler, batchMinMax } from './flush-columns.js';
import { crc32Chunks, ipcStreamChunks, writeChunksSync, type IpcChunks } from './ipc-chunks.js';
import {
  buildStringDict, compileFilters, filterColumnFilter, rangeKernelExact, statsAllMatch, statsCanMatch, type ColumnFilter, type ColumnStats, type StringDict,
} from './predicate-eval.js';
import { missingColumnValue, type ScanChunk, type ScanPlan, type StoredColumn } from './scan-plan.js';

/**
 * DiskRowSet file layout (all integers little-endian):
 * | part    | content                                                                      |
 * |---------|------------------------------------------------------------------------------|
 * | header  | "SAIGADRS" (8 bytes), format version u32, reserved u32                       |
 * | blocks  | per batch: Arrow IPC stream of the base data, the encoded-key block, the    |
 * |         | insert-timestamp block; then the bloom filter. Each block = payload, crc32 u32 |
 * | footer  | JSON: columns (with ids), batches (offsets, row ranges, first/last key,     |
 * |         | per-column min/max/nullCount, max insert ts), bloom parameters               |
 * | trailer | footer length u32, footer crc32 u32, "SAIGAEND" (8 bytes)                   |
 * Key block: count u32, Int32 offsets[count+1], key bytes. Insert-ts block: u64 per row.
 */

const HEADER_MAGIC = 'SAIGADRS';
const TRAILER_MAGIC = 'SAIGAEND';
const HEADER_BYTES = 16;
const TRAILER_BYTES = 16;
/** redoMinTs of a batch without REDO records. */
const NO_REDO_TS: HybridTime = HT_MAX + 1n;

interface BlockRef { readonly offset: number; readonly length: number }

interface BatchMeta {
  readonly rowStart: number;
  readonly rowCount: number;
  readonly data: BlockRef;
  readonly keys: BlockRef;
  readonly insertTs: BlockRef;
  readonly firstKey: Uint8Array;
  readonly lastKey: Uint8Array;
  readonly maxInsertTs: HybridTime;
  /** Per file column. */
  readonly stats: readonly ColumnStats[];
}

interface FooterJson {
  version: 1;
  keyColumnCount: number;
  rowCount: number;
  columns: StoredColumnJson[];
  batches: Array<{
    rowStart: number; rowCount: number; data: BlockRef; keys: BlockRef; insertTs: BlockRef;
    firstKey: string; lastKey: string; maxInsertTs: string;
    stats: Array<[JsonValue, JsonValue, number]>;
  }>;
  bloom: BlockRef & { hashCount: number };
}

type StoredColumnJson = Omit<StoredColumn, 'defaultValue'> & { defaultValue?: JsonValue };

function columnToJson(c: StoredColumn): StoredColumnJson {
  const { defaultValue, ...rest } = c;
  return defaultValue === undefined ? rest : { ...rest, defaultValue: valueToJson(defaultValue) };
}

function columnFromJson(c: StoredColumnJson): StoredColumn {
  const { defaultValue, ...rest } = c;
  return defaultValue === undefined ? rest : { ...rest, defaultValue: valueFromJson(defaultValue) };
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** The full history of one row, oldest version first; versions[0] is the insert (non-null). */
export interface RowHistory {
  readonly key: Uint8Array;
  readonly versions: readonly RowVersion[];
}

export interface WriteResult {
  readonly rowCount: number;
  readonly fileBytes: number;
  /** History before each row's base data (empty when no row has any). */
  readonly undo: DeltaIndex;
  /** Mutations after the base data: a trailing delete of a row whose last version is deleted. */
  readonly redo: DeltaIndex;
}

function diffCells(columns: readonly StoredColumn[], from: readonly Value[], to: readonly Value[]): Array<readonly [number, Value]> {
  const cells: Array<readonly [number, Value]> = [];
  for (let i = 0; i < columns.length; i++) {
    const a = from[i] as Value;
    const b = to[i] as Value;
    const same = a === b || (a !== null && b !== null && compareValues((columns[i] as StoredColumn).type, a, b) === 0);
    if (!same) cells.push([(columns[i] as StoredColumn).id, a]);
  }
  return cells;
}

/**
 * Writes rows (in strictly increasing key order) to a new DiskRowSet file. Base data = each
 * row's last live version; earlier versions become UNDO records, a trailing delete a REDO record.
 */
export function writeDiskRowSet(path: string, columns: readonly StoredColumn[], keyColumnCount: number,
  rows: Iterable<RowHistory>, rowsPerBatch: number): WriteResult {
  return writeRows(path, columns, keyColumnCount, rowsPerBatch, undefined, Array.isArray(rows) ? rows.length : undefined, (sink) => {
    for (const h of rows) sink.history(h);
  });
}

/**
 * Writes a MemRowSet to a new DiskRowSet file. Rows never mutated are copied column by column
 * from its typed-array store (contiguous store rows as typed-array ranges); rows with later
 * versions take the history path. Same file, UNDO and REDO records as writeDiskRowSet.
 */
export function writeDiskRowSetFromMemRowSet(path: string, columns: readonly StoredColumn[], keyColumnCount: number,
  mrs: MemRowSet, rowsPerBatch: number): WriteResult {
  return writeRows(path, columns, keyColumnCount, rowsPerBatch, mrs.columns, mrs.size, (sink) => {
    mrs.forEachLeaf(
      (e) => {
        if (e.later === undefined) sink.storeRun(e.key, STORE_ROW_OFFSETS, 0, 1, e.rowIndex, e.ts);
        else sink.history({ key: e.key, versions: e.versions });
      },
      (leaf) => sink.storeRun(leaf.keys, leaf.offsets, leaf.lo, leaf.length, leaf.rowBase, leaf.ts),
    );
  });
}

/** Offsets of a single key filling its buffer (storeRun of one row: keys = the key itself). */
const STORE_ROW_OFFSETS = new Int32Array([0, -1]);

interface RowSink {
  history(h: RowHistory): void;
  /**
   * Rows at store indexes rowBase .. rowBase+count-1, never mutated, inserted at ts; key i =
   * keys[offsets[lo+i] .. offsets[lo+i+1]) (offsets[lo+1] = -1: the whole of keys, one row).
   */
  storeRun(keys: Uint8Array, offsets: Int32Array, lo: number, count: number, rowBase: number, ts: HybridTime | BigUint64Array): void;
}

/**
 * The column arrays of the last file written on this thread, kept for the next file of the same
 * layout (a flush worker writes file after file: ~10 MB of fresh arrays per file were page faults
 * and GC work). writeRows is synchronous and keeps no view on them once it returns.
 */
let spareAssembler: { readonly key: string; readonly cap: number; readonly assembler: BaseColumnAssembler } | undefined;

function takeAssembler(columns: readonly StoredColumn[], cap: number): NonNullable<typeof spareAssembler> {
  const key = columns.map((c) => `${c.id}:${c.type}:${c.nullable ? 1 : 0}:${c.precision ?? ''}:${c.scale ?? ''}`).join('|');
  const s = spareAssembler;
  if (s !== undefined && s.key === key && s.cap === cap) {
    spareAssembler = undefined;
    return s;
  }
  return { key, cap, assembler: new BaseColumnAssembler(columns, cap) };
}

/**
 * Rows per batch of a file of `rowCount` rows: the fewest batches of at most `cap` rows, equally
 * filled. A file of 67k rows at cap 64k is two batches of 33.7k instead of 64k + 1.9k: a tiny
 * tail batch costs scans (DoGet, coprocessor fragments) as much as a full one. A bulk load's
 * staged files (16 MiB) had one per ~67k rows: DoGet server CPU 15 -> 11 M rows/s, Q6 CPU halved.
 */
export function balancedBatchRows(rowCount: number, cap: number): number {
  if (rowCount <= cap) return cap;
  const batches = Math.ceil(rowCount / cap);
  return Math.ceil(rowCount / batches);
}

function writeRows(path: string, columns: readonly StoredColumn[], keyColumnCount: number, rowsPerBatch: number,
  store: MrsColumns | undefined, rowCountHint: number | undefined, feed: (sink: RowSink) => void): WriteResult {
  const fd = openSync(path, 'w');
  let pos = 0;
  const write = (b: Uint8Array): void => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  const crcBuf = Buffer.alloc(4);
  const writeBlock = (payload: Uint8Array): BlockRef => {
    const ref = { offset: pos, length: payload.length };
    write(payload);
    crcBuf.writeUInt32LE(crc32(payload), 0);
    write(crcBuf);
    return ref;
  };
  /** writeBlock of the concatenation of `chunks`, written with writev (never joined in memory). */
  const writeBlockChunks = (ipc: IpcChunks): BlockRef => {
    const ref = { offset: pos, length: ipc.byteLength };
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32Chunks(ipc.chunks), 0);
    const bytes = writeChunksSync(fd, [...ipc.chunks, crc], pos);
    assert(bytes === ipc.byteLength + 4, () => `block of ${ipc.byteLength} bytes + CRC written as ${bytes} bytes`);
    pos += bytes;
    return ref;
  };
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(HEADER_MAGIC, 0, 'latin1');
  header.writeUInt32LE(1, 8);
  write(header);

  const undo = new DeltaIndex();
  const redo = new DeltaIndex();
  const batches: FooterJson['batches'] = [];
  // Every key, in order, in one growing buffer: key r = keyBuf[keyEnds[r-1] .. keyEnds[r]).
  let keyBuf = new Uint8Array(64 * 1024);
  let keyEnds = new Int32Array(1024);
  let keyUsed = 0;
  const schema = new arrow.Schema(columns.map((c) => new arrow.Field(`c${c.id}`, arrowTypeOf(c), c.nullable)));
  // The current batch: row i is store row storeIdx[i] (>= 0) or the values baseRows[i].
  const cap = Math.max(1, rowsPerBatch);
  // Rows per batch written (the arrays keep `cap`, so a thread reuses them across files).
  const batchRows = rowCountHint === undefined ? cap : balancedBatchRows(rowCountHint, cap);
  const storeIdx = new Int32Array(cap);
  const baseRows: (readonly Value[] | undefined)[] = new Array<readonly Value[] | undefined>(cap).fill(undefined);
  const insertTs = new BigUint64Array(cap);
  // The same insert timestamps as (lo, hi) words: copied and compared without BigInt.
  const tsWords = new Uint32Array(insertTs.buffer);
  const held = takeAssembler(columns, cap);
  const assembler = held.assembler;
  let n = 0;
  let batchStart = 0;
  let rowCount = 0;

  const flushBatch = (): void => {
    if (n === 0) return;
    assembler.beginBatch(n, storeIdx, store);
    const datas = columns.map((_c, ci) => assembler.assemble(ci, baseRows));
    const stats = columns.map((c, ci): [JsonValue, JsonValue, number] => {
      const [min, max, nulls] = batchMinMax(c, datas[ci] as arrow.Data);
      return [valueToJson(min), valueToJson(max), nulls];
    });
    const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children: datas }));
    const data = writeBlockChunks(ipcStreamChunks([batch]));
    const ks = batchStart === 0 ? 0 : (keyEnds[batchStart - 1] as number);
    const ke = keyEnds[batchStart + n - 1] as number;
    // count u32, then little-endian Int32 offsets relative to the key bytes; the key bytes are
    // written from the key buffer itself (writev), not copied.
    const kh = new Int32Array(n + 2);
    kh[0] = n;
    for (let i = 0; i < n; i++) kh[i + 2] = (keyEnds[batchStart + i] as number) - ks;
    const khBytes = new Uint8Array(kh.buffer);
    const keysRef = writeBlockChunks({ chunks: [khBytes, keyBuf.subarray(ks, ke)], byteLength: khBytes.length + (ke - ks) });
    const firstKey = keyBuf.subarray(ks, batchStart === 0 ? (keyEnds[0] as number) : (keyEnds[batchStart] as number));
    const lastKey = keyBuf.subarray(n === 1 ? ks : (keyEnds[batchStart + n - 2] as number), ke);
    let maxAt = 0;
    for (let i = 1; i < n; i++) {
      const h = tsWords[2 * i + 1] as number;
      const mh = tsWords[2 * maxAt + 1] as number;
      if (h > mh || (h === mh && (tsWords[2 * i] as number) > (tsWords[2 * maxAt] as number))) maxAt = i;
    }
    const maxTs = insertTs[maxAt] as bigint;
    const tsRef = writeBlock(new Uint8Array(insertTs.buffer, 0, n * 8));
    batches.push({
      rowStart: batchStart, rowCount: n, data, keys: keysRef, insertTs: tsRef,
      firstKey: b64(firstKey), lastKey: b64(lastKey), maxInsertTs: maxTs.toString(), stats,
    });
    baseRows.fill(undefined, 0, n);
    n = 0;
    batchStart = rowCount;
  };

  /** Appends key bytes[s, e) as key number rowCount, checking the order against the previous key. */
  const addKey = (bytes: Uint8Array, s: number, e: number): void => {
    const len = e - s;
    if (keyUsed + len > keyBuf.length) {
      const b = new Uint8Array(Math.max(keyUsed + len, keyBuf.length * 2));
      b.set(keyBuf.subarray(0, keyUsed));
      keyBuf = b;
    }
    if (rowCount >= keyEnds.length) {
      const b = new Int32Array(keyEnds.length * 2);
      b.set(keyEnds);
      keyEnds = b;
    }
    // Keys are short: a byte loop, no subarray view per key.
    if (len <= 64) for (let j = 0; j < len; j++) keyBuf[keyUsed + j] = bytes[s + j] as number;
    else keyBuf.set(bytes.subarray(s, e), keyUsed);
    if (rowCount > 0) {
      const ps = rowCount === 1 ? 0 : (keyEnds[rowCount - 2] as number);
      assert(compareRuns(keyBuf, ps, keyUsed, keyUsed, keyUsed + len) < 0, 'DiskRowSet rows arrive in strictly increasing key order');
    }
    keyUsed += len;
    keyEnds[rowCount] = keyUsed;
  };

  /**
   * Appends keys j0 .. j0+m-1 (key j = bytes[offsets[j] .. offsets[j+1]), contiguous) as keys
   * rowCount.., checking that each is above the one before it.
   */
  const addKeyRun = (bytes: Uint8Array, offsets: Int32Array, j0: number, m: number): void => {
    const s0 = offsets[j0] as number;
    const len = (offsets[j0 + m] as number) - s0;
    if (keyUsed + len > keyBuf.length) {
      const b = new Uint8Array(Math.max(keyUsed + len, keyBuf.length * 2));
      b.set(keyBuf.subarray(0, keyUsed));
      keyBuf = b;
    }
    if (rowCount + m > keyEnds.length) {
      const b = new Int32Array(Math.max(rowCount + m, keyEnds.length * 2));
      b.set(keyEnds);
      keyEnds = b;
    }
    keyBuf.set(bytes.subarray(s0, s0 + len), keyUsed);
    const shift = keyUsed - s0;
    let prevStart = rowCount === 0 ? -1 : rowCount === 1 ? 0 : (keyEnds[rowCount - 2] as number);
    let prevEnd = keyUsed;
    for (let k = 0; k < m; k++) {
      const e = (offsets[j0 + k + 1] as number) + shift;
      if (prevStart >= 0) assert(compareRuns(keyBuf, prevStart, prevEnd, prevEnd, e) < 0, 'DiskRowSet rows arrive in strictly increasing key order');
      keyEnds[rowCount + k] = e;
      prevStart = prevEnd;
      prevEnd = e;
    }
    keyUsed += len;
  };

  const sink: RowSink = {
    storeRun(keys, offsets, lo, count, rowBase, ts) {
      if (count === 1 && (offsets[lo + 1] as number) < 0) {
        addKey(keys, offsets[lo] as number, keys.length);
        storeIdx[n] = rowBase;
        insertTs[n] = typeof ts === 'bigint' ? ts : (ts[0] as bigint);
        n++;
        rowCount++;
        if (n >= batchRows) flushBatch();
        return;
      }
      // Up to the end of the current batch at a time: keys as one byte range, timestamps as one copy.
      let i = 0;
      while (i < count) {
        const m = Math.min(count - i, batchRows - n);
        addKeyRun(keys, offsets, lo + i, m);
        for (let k = 0; k < m; k++) storeIdx[n + k] = rowBase + i + k;
        if (typeof ts === 'bigint') insertTs.fill(ts, n, n + m);
        else insertTs.set(ts.subarray(i, i + m), n);
        n += m;
        rowCount += m;
        i += m;
        if (n >= batchRows) flushBatch();
      }
    },
    history(h) {
      addKey(h.key, 0, h.key.length);
      const v = h.versions;
      assert(v.length > 0 && (v[0] as RowVersion).row !== null, 'a row history starts with its insert');
      let j = v.length - 1;
      while ((v[j] as RowVersion).row === null) j--;
      const ord = rowCount;
      for (let i = 1; i <= j; i++) {
        const cur = (v[i] as RowVersion).row;
        const prev = (v[i - 1] as RowVersion).row;
        const ts = (v[i] as RowVersion).ts;
        if (prev !== null && cur !== null) undo.add(ord, { ts, kind: 'update', cells: diffCells(columns, prev, cur) });
        else if (prev === null && cur !== null) undo.add(ord, { ts, kind: 'delete', cells: [] });
        else if (prev !== null && cur === null) undo.add(ord, { ts, kind: 'reinsert', cells: prev.map((x, ci) => [(columns[ci] as StoredColumn).id, x] as const) });
        else assert(false, 'a deleted row is not deleted again');
      }
      assert(j >= v.length - 2, 'at most one trailing delete after the last live version');
      const trailing = v[j + 1];
      if (trailing !== undefined) redo.add(ord, { ts: trailing.ts, kind: 'delete', cells: [] });
      storeIdx[n] = -1;
      baseRows[n] = (v[j] as RowVersion).row as readonly Value[];
      insertTs[n] = (v[0] as RowVersion).ts;
      n++;
      rowCount++;
      if (n >= batchRows) flushBatch();
    },
  };

  try {
    feed(sink);
    flushBatch();
    const bloom = BloomFilter.forKeys(rowCount);
    for (let r = 0; r < rowCount; r++) bloom.addRange(keyBuf, r === 0 ? 0 : (keyEnds[r - 1] as number), keyEnds[r] as number);
    const bloomRef = writeBlock(bloom.bits);
    const footer: FooterJson = {
      version: 1, keyColumnCount, rowCount, columns: columns.map(columnToJson), batches,
      bloom: { ...bloomRef, hashCount: bloom.hashCount },
    };
    const fb = Buffer.from(JSON.stringify(footer), 'utf8');
    write(fb);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(fb.length, 0);
    trailer.writeUInt32LE(crc32(fb), 4);
    trailer.write(TRAILER_MAGIC, 8, 'latin1');
    write(trailer);
    fsyncSync(fd);
    spareAssembler = held;
  } finally {
    closeSync(fd);
  }
  return { rowCount, fileBytes: pos, undo, redo };
}

interface KeyBlock { readonly offsets: Int32Array; readonly bytes: Uint8Array; readonly count: number }

/** A row's state at a snapshot: absent, or its values as overrides over the base data. */
export interface RowState {
  readonly exists: boolean;
  /** column id -> value, overriding the base data. */
  readonly cells: ReadonlyMap<number, Value>;
}

/**
 * An open DiskRowSet: immutable base data plus its delta stores (UNDO records loaded from
 * files, REDO records from files and from the DeltaMemStore).
 */
export class DiskRowSet {
  readonly columns: readonly StoredColumn[];
  readonly rowCount: number;
  readonly minKey: Uint8Array;
  readonly maxKey: Uint8Array;
  readonly fileBytes: number;
  readonly undo = new DeltaIndex();
  /** Flushed and unflushed REDO records together (what reads use). */
  readonly redo = new DeltaIndex();
  /** The DeltaMemStore: REDO records not yet in a delta file. */
  dms = new DeltaIndex();
  /** Highest op index whose effects the DeltaMemStore holds. */
  dmsMaxOpIndex = 0;
  private readonly batches: BatchMeta[];
  private readonly bloom: BloomFilter;
  private readonly colById = new Map<number, number>();
  private readonly batchCache: (arrow.RecordBatch | undefined)[];
  private readonly keyCache: (KeyBlock | undefined)[];
  private readonly tsCache: (Uint32Array | undefined)[];
  /** Cached columns compactOnce has seen (whether or not they got a compact copy). */
  private readonly compactTried = new WeakSet<arrow.Data>();
  /** Dictionaries of cached string / binary columns that filters read (null: too many distinct values). */
  private readonly dicts = new WeakMap<arrow.Data, StringDict | null>();
  private readonly deltaOrds: Set<number>[];
  private readonly undoMaxTs: HybridTime[];
  private readonly redoMinTs: HybridTime[];
  private fd: number;

  /**
   * A bulk-loaded rowset's insert timestamp (tablet metadata): every row was inserted at it,
   * whatever the file's insert-ts blocks say (they were written before the commit chose it).
   */
  readonly insertTsOverride: HybridTime | undefined;

  private constructor(readonly path: string, fd: number, fileBytes: number, footer: FooterJson, bloom: BloomFilter, insertTs: HybridTime | undefined) {
    this.fd = fd;
    this.insertTsOverride = insertTs;
    this.fileBytes = fileBytes;
    this.columns = footer.columns.map(columnFromJson);
    this.columns.forEach((c, i) => this.colById.set(c.id, i));
    this.rowCount = footer.rowCount;
    this.batches = footer.batches.map((b) => ({
      rowStart: b.rowStart, rowCount: b.rowCount, data: b.data, keys: b.keys, insertTs: b.insertTs,
      firstKey: unb64(b.firstKey), lastKey: unb64(b.lastKey), maxInsertTs: insertTs ?? BigInt(b.maxInsertTs),
      stats: b.stats.map(([min, max, nullCount]) => ({ min: valueFromJson(min), max: valueFromJson(max), nullCount, rowCount: b.rowCount })),
    }));
    assert(this.batches.length > 0, 'a DiskRowSet holds at least one row');
    this.minKey = (this.batches[0] as BatchMeta).firstKey;
    this.maxKey = (this.batches[this.batches.length - 1] as BatchMeta).lastKey;
    this.bloom = bloom;
    const nb = this.batches.length;
    this.batchCache = new Array<arrow.RecordBatch | undefined>(nb);
    this.keyCache = new Array<KeyBlock | undefined>(nb);
    this.tsCache = new Array<Uint32Array | undefined>(nb);
    this.deltaOrds = Array.from({ length: nb }, () => new Set<number>());
    this.undoMaxTs = this.batches.map((b) => b.maxInsertTs);
    // Above every snapshot, HT_MAX (read latest) included: a batch without REDOs needs none.
    this.redoMinTs = this.batches.map(() => NO_REDO_TS);
  }

  /** `insertTs`: the rowset-level insert timestamp of a bulk-loaded rowset (see insertTsOverride). */
  static open(path: string, insertTs?: HybridTime): DiskRowSet {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < HEADER_BYTES + TRAILER_BYTES) throw corruption(path, 0, `file of ${size} bytes is too short for a DiskRowSet`);
      const header = readAt(fd, 0, HEADER_BYTES);
      if (Buffer.from(header.subarray(0, 8)).toString('latin1') !== HEADER_MAGIC) throw corruption(path, 0, 'bad DiskRowSet header magic');
      const trailer = Buffer.from(readAt(fd, size - TRAILER_BYTES, TRAILER_BYTES));
      if (trailer.toString('latin1', 8, 16) !== TRAILER_MAGIC) throw corruption(path, size - 8, 'bad DiskRowSet trailer magic');
      const flen = trailer.readUInt32LE(0);
      const foff = size - TRAILER_BYTES - flen;
      if (flen === 0 || foff < HEADER_BYTES) throw corruption(path, size - TRAILER_BYTES, `footer length ${flen} does not fit the file`);
      const fb = readAt(fd, foff, flen);
      const want = trailer.readUInt32LE(4);
      const got = crc32(fb);
      if (want !== got) throw corruption(path, foff, `footer checksum mismatch (expected ${want}, found ${got})`);
      const footer = JSON.parse(Buffer.from(fb).toString('utf8')) as FooterJson;
      const bloomBits = readBlock(path, fd, footer.bloom, false);
      const drs = new DiskRowSet(path, fd, size, footer, new BloomFilter(bloomBits, footer.bloom.hashCount), insertTs);
      return drs;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  get batchCount(): number {
    return this.batches.length;
  }

  private batchOf(ord: number): number {
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.batches[mid] as BatchMeta).rowStart <= ord) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Registers a delta record (UNDO when undo, else REDO; dms: also into the DeltaMemStore). */
  addDelta(ord: number, rec: DeltaRecord, which: 'undo' | 'redo' | 'dms'): void {
    assert(ord >= 0 && ord < this.rowCount, () => `ordinal ${ord} within ${this.rowCount} rows`);
    const b = this.batchOf(ord);
    this.deltaOrds[b]?.add(ord);
    if (which === 'undo') {
      this.undo.add(ord, rec);
      if (rec.ts > (this.undoMaxTs[b] as bigint)) this.undoMaxTs[b] = rec.ts;
    } else {
      this.redo.add(ord, rec);
      if (which === 'dms') this.dms.add(ord, rec);
      if (rec.ts < (this.redoMinTs[b] as bigint)) this.redoMinTs[b] = rec.ts;
    }
  }

  /** Loads delta records (read from files) into this rowset's indexes. */
  addDeltas(index: DeltaIndex, which: 'undo' | 'redo'): void {
    for (const [o, recs] of index.byOrdinal) for (const r of recs) this.addDelta(o, r, which);
  }

  /** After the DeltaMemStore is written to a REDO file: its records stay in `redo`. */
  clearDms(): void {
    this.dms = new DeltaIndex();
    this.dmsMaxOpIndex = 0;
  }

  mayContainKey(key: Uint8Array): boolean {
    return compareBytes(key, this.minKey) >= 0 && compareBytes(key, this.maxKey) <= 0 && this.bloom.mayContain(key);
  }

  /** The ordinal of the row with this key, or -1. */
  findOrdinal(key: Uint8Array): number {
    if (!this.mayContainKey(key)) return -1;
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareBytes((this.batches[mid] as BatchMeta).firstKey, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    const kb = this.keyBlock(lo);
    let a = 0;
    let z = kb.count - 1;
    while (a <= z) {
      const m = (a + z) >> 1;
      const c = compareRange(kb.bytes, kb.offsets[m] as number, kb.offsets[m + 1] as number, key);
      if (c === 0) return (this.batches[lo] as BatchMeta).rowStart + m;
      if (c < 0) a = m + 1;
      else z = m - 1;
    }
    return -1;
  }

  keyAt(ord: number): Uint8Array {
    const b = this.batchOf(ord);
    const kb = this.keyBlock(b);
    const i = ord - (this.batches[b] as BatchMeta).rowStart;
    return kb.bytes.slice(kb.offsets[i] as number, kb.offsets[i + 1] as number);
  }

  insertTsAt(ord: number): HybridTime {
    if (this.insertTsOverride !== undefined) return this.insertTsOverride;
    const b = this.batchOf(ord);
    const ts = this.insertTsBlock(b);
    const i = ord - (this.batches[b] as BatchMeta).rowStart;
    return (BigInt(ts[2 * i + 1] as number) << 32n) | BigInt(ts[2 * i] as number);
  }

  /** True when the row's latest state is deleted (a REDO delete). */
  isDeletedLatest(ord: number): boolean {
    const r = this.redo.get(ord);
    return r !== undefined && r.length > 0 && (r[r.length - 1] as DeltaRecord).kind === 'delete';
  }

  rowStateAt(ord: number, t: HybridTime): RowState {
    let exists = true;
    const cells = new Map<number, Value>();
    const undos = this.undo.get(ord);
    if (undos !== undefined) {
      for (let i = undos.length - 1; i >= 0; i--) {
        const u = undos[i] as DeltaRecord;
        if (u.ts <= t) break;
        if (u.kind === 'delete') exists = false;
        else {
          if (u.kind === 'reinsert') exists = true;
          for (const [c, v] of u.cells) cells.set(c, v);
        }
      }
    }
    if (this.insertTsAt(ord) > t) return { exists: false, cells };
    const redos = this.redo.get(ord);
    if (redos !== undefined) {
      for (const r of redos) {
        if (r.ts > t) break;
        if (r.kind === 'delete') exists = false;
        else for (const [c, v] of r.cells) cells.set(c, v);
      }
    }
    return { exists, cells };
  }

  /** The row's values in the layout of `columns` at snapshot t, or undefined when absent. */
  rowAt(ord: number, t: HybridTime, columns: readonly StoredColumn[]): Value[] | undefined {
    const st = this.rowStateAt(ord, t);
    if (!st.exists) return undefined;
    return this.materialize(ord, st.cells, columns);
  }

  private materialize(ord: number, cells: ReadonlyMap<number, Value>, columns: readonly StoredColumn[]): Value[] {
    const b = this.batchOf(ord);
    const rb = this.batch(b);
    const i = ord - (this.batches[b] as BatchMeta).rowStart;
    return columns.map((c) => {
      if (cells.has(c.id)) return cells.get(c.id) as Value;
      const fi = this.colById.get(c.id);
      if (fi === undefined) return missingColumnValue(c) as Value;
      return readValue((this.columns[fi] as StoredColumn).type, (rb.data.children[fi] as arrow.Data), i);
    });
  }

  /** Full history of a row in the layout of `columns` (for compactions). */
  historyOf(ord: number, columns: readonly StoredColumn[]): RowVersion[] {
    const base = this.materialize(ord, new Map(), columns);
    const idx = new Map<number, number>();
    columns.forEach((c, i) => idx.set(c.id, i));
    const apply = (row: Value[], cells: DeltaRecord['cells']): Value[] => {
      const out = row.slice();
      for (const [c, v] of cells) {
        const i = idx.get(c);
        if (i !== undefined) out[i] = v;
      }
      return out;
    };
    const back: RowVersion[] = [];
    let cur: Value[] | null = base;
    const undos = this.undo.get(ord) ?? [];
    for (let i = undos.length - 1; i >= 0; i--) {
      const u = undos[i] as DeltaRecord;
      back.push({ ts: u.ts, row: cur });
      if (u.kind === 'delete') cur = null;
      else if (u.kind === 'reinsert') cur = apply(base, u.cells);
      else {
        assert(cur !== null, 'an UNDO update applies to a live row');
        cur = apply(cur, u.cells);
      }
    }
    assert(cur !== null, 'a row exists at its insert time');
    back.push({ ts: this.insertTsAt(ord), row: cur });
    back.reverse();
    let last: Value[] | null = base;
    for (const r of this.redo.get(ord) ?? []) {
      if (r.kind === 'delete') last = null;
      else {
        assert(last !== null, 'a REDO update applies to a live row');
        last = apply(last, r.cells);
      }
      back.push({ ts: r.ts, row: last });
    }
    return back;
  }

  /** Decoded base data of batch b; buffers are views on a SharedArrayBuffer (cached). */
  batch(b: number): arrow.RecordBatch {
    const cached = this.batchCache[b];
    if (cached !== undefined) return cached;
    const meta = this.batches[b];
    assert(meta !== undefined, `batch ${b} of ${this.batches.length}`);
    const bytes = readBlock(this.path, this.fd, meta.data, true);
    const table = arrow.tableFromIPC(bytes);
    const rb = table.batches[0];
    if (rb === undefined || rb.numRows !== meta.rowCount || rb.numCols !== this.columns.length) {
      throw corruption(this.path, meta.data.offset, `base data block decodes to ${rb?.numRows ?? 0} rows x ${rb?.numCols ?? 0} columns, expected ${meta.rowCount} x ${this.columns.length}`);
    }
    this.batchCache[b] = rb;
    return rb;
  }

  private keyBlock(b: number): KeyBlock {
    const cached = this.keyCache[b];
    if (cached !== undefined) return cached;
    const meta = this.batches[b] as BatchMeta;
    const bytes = readBlock(this.path, this.fd, meta.keys, true);
    const count = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    if (count !== meta.rowCount) throw corruption(this.path, meta.keys.offset, `key block holds ${count} keys, expected ${meta.rowCount}`);
    const offsets = new Int32Array(bytes.buffer, bytes.byteOffset + 4, count + 1);
    const kb = { offsets, bytes: bytes.subarray(4 + 4 * (count + 1)), count };
    this.keyCache[b] = kb;
    return kb;
  }

  private insertTsBlock(b: number): Uint32Array {
    const cached = this.tsCache[b];
    if (cached !== undefined) return cached;
    const meta = this.batches[b] as BatchMeta;
    const o = this.insertTsOverride;
    if (o !== undefined) {
      // Every row at the rowset's timestamp: the block is not read.
      const ts = new Uint32Array(meta.rowCount * 2);
      const lo = Number(o & 0xffffffffn);
      const hi = Number(o >> 32n);
      for (let i = 0; i < meta.rowCount; i++) {
        ts[2 * i] = lo;
        ts[2 * i + 1] = hi;
      }
      this.tsCache[b] = ts;
      return ts;
    }
    const bytes = readBlock(this.path, this.fd, meta.insertTs, true);
    if (bytes.length !== meta.rowCount * 8) throw corruption(this.path, meta.insertTs.offset, `insert-ts block of ${bytes.length} bytes, expected ${meta.rowCount * 8}`);
    const ts = new Uint32Array(bytes.buffer, bytes.byteOffset, meta.rowCount * 2);
    this.tsCache[b] = ts;
    return ts;
  }

  /** Range of batches that may hold keys within the plan's first-key-column bounds. */
  private batchRange(plan: ScanPlan): [number, number] {
    let start = 0;
    let end = this.batches.length;
    if (plan.lowerKey !== undefined) {
      const lower = plan.lowerKey;
      let lo = 0;
      let hi = this.batches.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (compareBytes((this.batches[mid] as BatchMeta).firstKey, lower) <= 0) lo = mid;
        else hi = mid - 1;
      }
      start = lo;
    }
    if (plan.upperPrefix !== undefined) {
      const up = plan.upperPrefix;
      while (end > start) {
        const first = (this.batches[end - 1] as BatchMeta).firstKey;
        if (compareBytes(first, up) > 0 && !startsWith(first, up)) end--;
        else break;
      }
    }
    return [start, end];
  }

  /** Scans the rowset at the plan's snapshot, batch by batch, in key order. */
  *scan(plan: ScanPlan): Generator<ScanChunk> {
    const [start, end] = this.batchRange(plan);
    const fileIdx = plan.columns.map((c) => this.colById.get(c.id) ?? -1);
    const filters = compileFilters(plan.predicates);
    // One selection vector per scan: chunks never keep it (gather copies, keys are read here).
    let scratch = new Int32Array(0);
    for (let b = start; b < end; b++) {
      const meta = this.batches[b] as BatchMeta;
      let skip = false;
      for (const p of plan.predicates) {
        const fi = fileIdx[p.columnIndex] as number;
        if (fi < 0) continue;
        if (!statsCanMatch(p, meta.stats[fi] as ColumnStats)) { skip = true; break; }
      }
      // Stats describe base data only: a batch with deltas visible at the snapshot is read anyway.
      if (skip && !this.needsDeltas(b, plan.snapshot)) continue;
      if (scratch.length < meta.rowCount) scratch = new Int32Array(meta.rowCount);
      const chunk = this.scanBatch(b, plan, fileIdx, filters, scratch);
      if (chunk !== undefined) yield chunk;
    }
  }

  private needsDeltas(b: number, t: HybridTime): boolean {
    return (this.undoMaxTs[b] as bigint) > t || (this.redoMinTs[b] as bigint) <= t;
  }

  /**
   * One batch: visibility (only when deltas apply at the snapshot), then the column filters on
   * typed arrays, then the output: the cached base data itself when every row survives and the
   * column has no deltas (zero-copy), else a gather through the selection vector.
   */
  private scanBatch(b: number, plan: ScanPlan, fileIdx: readonly number[], filters: readonly ColumnFilter[],
    scratch: Int32Array): ScanChunk | undefined {
    const meta = this.batches[b] as BatchMeta;
    const n = meta.rowCount;
    const rb = this.batch(b);
    const t = plan.snapshot;
    const needsDeltas = this.needsDeltas(b, t);
    /** Selected rows sel[0..count); undefined = all rows 0..n-1 in order. */
    let sel: Int32Array | undefined;
    let count = n;
    const cols = new Map<number, arrow.Data>();
    const column = (si: number): arrow.Data => {
      let d = cols.get(si);
      if (d === undefined) {
        const fi = fileIdx[si] as number;
        const c = plan.columns[si] as StoredColumn;
        d = fi >= 0 ? (rb.data.children[fi] as arrow.Data) : constantColumn(c, n, missingColumnValue(c) as Value);
        cols.set(si, d);
      }
      return d;
    };
    if (needsDeltas) {
      const visible = new Uint8Array(n).fill(1);
      if (meta.maxInsertTs > t) {
        const ts = this.insertTsBlock(b);
        const thi = Number(t >> 32n);
        const tlo = Number(t & 0xffffffffn);
        for (let i = 0; i < n; i++) {
          const hi = ts[2 * i + 1] as number;
          if (hi > thi || (hi === thi && (ts[2 * i] as number) > tlo)) visible[i] = 0;
        }
      }
      const patches = new Map<number, Map<number, Value>>(); // column id -> (row -> value)
      for (const ord of this.deltaOrds[b] ?? []) {
        const i = ord - meta.rowStart;
        const st = this.rowStateAt(ord, t);
        visible[i] = st.exists ? 1 : 0;
        if (!st.exists) continue;
        for (const [cid, v] of st.cells) {
          let m = patches.get(cid);
          if (m === undefined) patches.set(cid, (m = new Map()));
          m.set(i, v);
        }
      }
      for (let si = 0; si < plan.columns.length; si++) {
        const c = plan.columns[si] as StoredColumn;
        const m = patches.get(c.id);
        if (m === undefined) continue;
        const base = column(si);
        cols.set(si, buildColumn(c, n, (i) => (m.has(i) ? (m.get(i) as Value) : readValue(c.type, base, i))));
      }
      sel = scratch;
      count = 0;
      for (let i = 0; i < n; i++) if (visible[i] === 1) sel[count++] = i;
    }
    for (const f of filters) {
      if (count === 0) break;
      const fi = fileIdx[f.columnIndex] as number;
      // Stats hold for base data only; with deltas a column may carry patched values.
      const stats = needsDeltas || fi < 0 ? undefined : meta.stats[fi];
      if (stats !== undefined && statsAllMatch(f, stats)) continue;
      const d = column(f.columnIndex);
      const dict = fi >= 0 && d === rb.data.children[fi] ? this.stringDict(fi, d) : undefined;
      count = filterColumnFilter(f, d, rangeKernelExact(f, stats), sel, count, scratch, dict);
      sel = scratch;
    }
    if (count === 0) return undefined;
    const all = count === n;
    const out = plan.output.map((si) => {
      const d = column(si);
      const fi = fileIdx[si] as number;
      // Cached columns get their compact copy (zero-copy output carries it; gathers read it).
      if (fi >= 0 && d === rb.data.children[fi]) this.compactOnce(fi, d);
      return all || sel === undefined ? d : gather(plan.columns[si] as StoredColumn, d, sel, count);
    });
    let keys: Uint8Array[] | undefined;
    if (plan.wantKeys) {
      const kb = this.keyBlock(b);
      keys = new Array<Uint8Array>(count);
      for (let k = 0; k < count; k++) {
        const i = all || sel === undefined ? k : (sel[k] as number);
        keys[k] = kb.bytes.subarray(kb.offsets[i] as number, kb.offsets[i + 1] as number);
      }
    }
    return keys === undefined ? { columns: out, length: count } : { columns: out, length: count, keys };
  }

  /**
   * Gives a cached wide integer column (DECIMAL, INT64, TIMESTAMP) its compact copy
   * (common/compact-column.ts) the first time a scan outputs it: built once, kept as long as
   * the cached batch, read by the query kernels and by gathers instead of the 16- or 8-byte words.
   */
  private compactOnce(fi: number, d: arrow.Data): void {
    const t = (this.columns[fi] as StoredColumn).type;
    const words = t === 'decimal' ? 4 : t === 'int64' || t === 'timestamp' ? 2 : 0;
    if (words === 0 || this.compactTried.has(d)) return;
    this.compactTried.add(d);
    const c = buildCompactValues(d, words);
    if (c !== null) setCompactValues(d, c);
  }

  /**
   * The dictionary of a cached string / binary column (built by the first filter on it, kept
   * as long as the cached batch: 1 byte per row), or undefined when it has too many distinct
   * values or another type.
   */
  private stringDict(fi: number, d: arrow.Data): StringDict | undefined {
    const t = (this.columns[fi] as StoredColumn).type;
    if (t !== 'string' && t !== 'binary') return undefined;
    let dict = this.dicts.get(d);
    if (dict === undefined) this.dicts.set(d, (dict = buildStringDict(d)));
    return dict ?? undefined;
  }

  /** Ordinals in key order (for compactions). */
  *ordinals(): Generator<number> {
    for (let i = 0; i < this.rowCount; i++) yield i;
  }
}

function readAt(fd: number, offset: number, length: number, shared = false): Uint8Array {
  const out = shared ? new Uint8Array(new SharedArrayBuffer(length)) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Reads a block and its crc32 straight into (shared) memory and verifies it. */
function readBlock(path: string, fd: number, ref: BlockRef, shared: boolean): Uint8Array {
  const raw = readAt(fd, ref.offset, ref.length + 4, shared);
  if (raw.length !== ref.length + 4) throw corruption(path, ref.offset, `block of ${ref.length} bytes runs past the end of the file`);
  const payload = raw.subarray(0, ref.length);
  const want = new DataView(raw.buffer, raw.byteOffset + ref.length, 4).getUint32(0, true);
  const got = crc32(payload);
  if (want !== got) throw corruption(path, ref.offset, `block checksum mismatch (expected ${want}, found ${got})`);
  return payload;
}

function compareRange(buf: Uint8Array, s: number, e: number, key: Uint8Array): number {
  const len = e - s;
  const n = len < key.length ? len : key.length;
  for (let j = 0; j < n; j++) {
    const d = (buf[s + j] as number) - (key[j] as number);
    if (d !== 0) return d;
  }
  return len - key.length;
}

