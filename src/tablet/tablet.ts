import * as arrow from 'apache-arrow';
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { SaigaError, corruption, isSaigaError } from '../common/errors.js';
import { HT_MAX, HT_MIN, htFromPhysical, htPhysicalMicros, type HybridTime } from '../common/hybrid-time.js';
import { compareBytes, encodeFirstKeyColumn, encodeKey, encodeKeyView, startsWith } from '../common/key-encoding.js';
import { DEFAULT_LIMITS, validateLimits, type Limits } from '../common/limits.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import { MAX_CELL_SIZE_BYTES, MAX_KEY_SIZE_BYTES, columnIndex, type Row, type Schema, type Value } from '../common/types.js';
import { arrowField, buildColumn, cellSizeBytes, coerceValue, compareValues, readValue } from '../rowset/column-data.js';
import { DeltaIndex, readDeltaFile, writeDeltaFile, type DeltaRecord } from '../rowset/delta-file.js';
import { DiskRowSet, writeDiskRowSet, writeDiskRowSetFromMemRowSet, type RowHistory } from '../rowset/disk-rowset.js';
import { compareRuns, MemRowSet, type MrsEntry, type RowVersion } from '../rowset/mem-rowset.js';
import { bindPredicate, valueMatches, type BoundPredicate } from '../rowset/predicate-eval.js';
import type { ScanChunk, ScanPlan, StoredColumn } from '../rowset/scan-plan.js';
import { canonicalKind, canonicalValue, type CanonicalKind } from '../rowset/column-batch.js';
import { prepareArrowBatch } from './prepare-batch.js';
import { submitFlush, type FlushJob } from './background-flush.js';
import { BULK_FILE_PREFIX, BULK_STAGE_FILE_BYTES_MAX, BulkStage } from './bulk-stage.js';
import type { ApplyResult, OpId, PreparedBatch, PreparedOps, Tablet, TabletStats, WriteOp } from './tablet-api.js';
import { META_FILE, fsyncDir, readMeta, writeMeta, type RowSetMeta, type TabletMeta } from './tablet-metadata.js';

export interface OpenTabletOptions {
  readonly dir: string;
  readonly tabletId: string;
  readonly schema: Schema;
  readonly limits?: Partial<Limits>;
}

interface BulkTrash {
  readonly index: number;
  readonly files: readonly string[];
}

interface OpenRowSet {
  readonly meta: RowSetMeta;
  readonly drs: DiskRowSet;
}

/** A frozen MemRowSet being written by the flush worker (background-flush.ts). */
interface PendingFlush {
  readonly frozen: MemRowSet;
  readonly job: FlushJob;
  readonly id: number;
  readonly file: string;
}

/** A validated op: canonical values; `src[i] === undefined` = column not given (default / unchanged). */
interface PreparedOp {
  readonly key: Uint8Array;
  readonly row: Value[];
  readonly src: WriteOp['row'];
}

function rowError(rowIndex: number, code: RowError['code'], message: string): RowError {
  return { rowIndex, code, message };
}

/** The row errors of a write without any (shared: nothing may add to it). */
const NO_ROW_ERRORS: readonly RowError[] = Object.freeze([]);

/** `[0, n]` by key length n: the keyOffsets of one-op PreparedOps (shared, read only). */
const ONE_KEY_OFFSETS: Int32Array[] = [];

function oneKeyOffsets(n: number): Int32Array {
  let o = ONE_KEY_OFFSETS[n];
  if (o === undefined) {
    o = Int32Array.of(0, n);
    if (n <= MAX_KEY_SIZE_BYTES) ONE_KEY_OFFSETS[n] = o;
  }
  return o;
}

type Location =
  | { readonly kind: 'mrs'; readonly entry: MrsEntry }
  | { readonly kind: 'drs'; readonly rs: OpenRowSet; readonly ord: number };

export class TabletImpl implements Tablet {
  readonly tabletId: string;
  private columns: StoredColumn[];
  private keyColumnCount: number;
  private schemaCache: Schema;
  private mrs: MemRowSet;
  private rowsets: OpenRowSet[] = [];
  private nextColumnId: number;
  private nextFileId: number;
  private durable: number;
  private lastApplied: number;
  private horizon: HybridTime = HT_MIN;
  private readonly limits: Limits;
  private closed = false;
  /** The MemRowSet being flushed in the background: readable until its DiskRowSet is swapped in. */
  private pending: PendingFlush | undefined;
  /** A row of the frozen MemRowSet changed after the freeze: its background file is stale. */
  private frozenDirty = false;
  /** First op index applied into the current MemRowSet (0: none). */
  private mrsFirstOp = 0;
  /** First op index applied into any DeltaMemStore since they were last flushed (0: none). */
  private dmsFirstOp = 0;
  /**
   * Bulk files whose commit wrote their rows through the ordinary path: kept (a replay of the
   * commit entry reads them) until durableOpIndex reaches the entry, in entry order.
   */
  private readonly bulkTrash: BulkTrash[] = [];
  /** Bulk stages begun here and not yet sealed or discarded (close() discards them). */
  private readonly stages = new Set<BulkStage>();

  constructor(private readonly dir: string, tabletId: string, schema: Schema, limits: Partial<Limits> | undefined) {
    this.tabletId = tabletId;
    this.limits = validateLimits({ ...DEFAULT_LIMITS, ...(limits ?? {}) });
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const meta = readMeta(dir);
    if (meta === undefined) {
      validateSchema(schema);
      this.columns = schema.columns.map((c, i) => ({ ...c, id: i }));
      this.keyColumnCount = schema.keyColumnCount;
      this.nextColumnId = schema.columns.length;
      this.nextFileId = 1;
      this.durable = 0;
      this.writeMetadata();
    } else {
      if (meta.tabletId !== tabletId) {
        throw new SaigaError('IllegalState', `directory ${dir} holds tablet ${meta.tabletId}, expected ${tabletId}`);
      }
      this.columns = [...meta.columns];
      this.keyColumnCount = meta.keyColumnCount;
      this.nextColumnId = meta.nextColumnId;
      this.nextFileId = meta.nextFileId;
      this.durable = meta.durableOpIndex;
      for (const rm of meta.rowsets) this.rowsets.push(this.openRowSet(rm));
      this.removeUnreferencedFiles(meta);
    }
    this.lastApplied = this.durable;
    this.schemaCache = this.makeSchema();
    this.mrs = new MemRowSet(this.columns);
  }

  get schema(): Schema {
    return this.schemaCache;
  }

  private makeSchema(): Schema {
    return { columns: this.columns.map(({ id: _id, ...c }) => c), keyColumnCount: this.keyColumnCount };
  }

  private openRowSet(rm: RowSetMeta): OpenRowSet {
    const drs = DiskRowSet.open(join(this.dir, rm.file), rm.insertTs === undefined ? undefined : BigInt(rm.insertTs));
    try {
      for (const f of rm.undoFiles) {
        const idx = new DeltaIndex();
        readDeltaFile(join(this.dir, f), idx);
        drs.addDeltas(idx, 'undo');
      }
      for (const f of rm.redoFiles) {
        const idx = new DeltaIndex();
        readDeltaFile(join(this.dir, f), idx);
        drs.addDeltas(idx, 'redo');
      }
    } catch (e) {
      drs.close();
      throw e;
    }
    return { meta: rm, drs };
  }

  private removeUnreferencedFiles(meta: TabletMeta): void {
    const keep = new Set<string>([META_FILE]);
    for (const r of meta.rowsets) {
      keep.add(r.file);
      for (const f of [...r.undoFiles, ...r.redoFiles]) keep.add(f);
    }
    for (const name of readdirSync(this.dir)) {
      if (!keep.has(name) && /^rs-\d+\./.test(name)) unlinkSync(join(this.dir, name));
    }
  }

  private writeMetadata(): void {
    this.writeMetaFile();
    // Files of bulk commits that took the ordinary path: their rows are durable elsewhere now.
    while (this.bulkTrash.length > 0 && (this.bulkTrash[0] as BulkTrash).index <= this.durable) {
      for (const f of (this.bulkTrash.shift() as BulkTrash).files) {
        const path = join(this.dir, f);
        if (existsSync(path)) unlinkSync(path);
      }
    }
  }

  private writeMetaFile(): void {
    writeMeta(this.dir, {
      version: 1,
      tabletId: this.tabletId,
      columns: this.columns,
      keyColumnCount: this.keyColumnCount,
      nextColumnId: this.nextColumnId,
      nextFileId: this.nextFileId,
      durableOpIndex: this.durable,
      rowsets: this.rowsets.map((r) => r.meta),
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new SaigaError('IllegalState', `tablet ${this.tabletId} is closed`);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Validates one op and converts its values to their canonical form. Called once per written
   * row: no closures, one array allocated. Column `i` was given when `op.row[i] !== undefined`.
   */
  private prepare(op: WriteOp, rowIndex: number): PreparedOp | RowError {
    const cols = this.columns;
    const n = cols.length;
    const keyCount = this.keyColumnCount;
    const src = op.row;
    if (src.length > n) return rowError(rowIndex, 'InvalidArgument', `row has ${src.length} values, the schema has ${n} columns`);
    const kind = op.kind;
    const isInsertLike = kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert';
    const isDelete = kind === 'delete' || kind === 'delete_ignore';
    const row: Value[] = new Array<Value>(n);
    for (let i = 0; i < n; i++) {
      const c = cols[i] as StoredColumn;
      const v = src[i];
      if (v === undefined) {
        if (i < keyCount) return rowError(rowIndex, 'InvalidArgument', `key column ${c.name} is not given`);
        let d: Value = null;
        if (isInsertLike) {
          d = c.defaultValue === undefined ? null : c.defaultValue;
          if (d === null && !c.nullable && kind !== 'upsert') return rowError(rowIndex, 'InvalidArgument', `column ${c.name} is not nullable and has no default`);
        }
        row[i] = d;
        continue;
      }
      if (isDelete && i >= keyCount) {
        row[i] = null;
        continue;
      }
      if (v === null) {
        if (!c.nullable || i < keyCount) return rowError(rowIndex, 'InvalidArgument', `column ${c.name} is not nullable, got NULL`);
        row[i] = null;
        continue;
      }
      let cv: Value;
      try {
        cv = coerceValue(c, v);
      } catch (e) {
        if (isSaigaError(e)) return rowError(rowIndex, 'InvalidArgument', e.message);
        throw e;
      }
      if ((c.type === 'string' || c.type === 'binary') && cellSizeBytes(cv) > MAX_CELL_SIZE_BYTES) {
        return rowError(rowIndex, 'InvalidArgument', `cell of column ${c.name} is larger than ${MAX_CELL_SIZE_BYTES} bytes`);
      }
      row[i] = cv;
    }
    // A view of the shared encoding buffer: used (and copied by the MemRowSet) before the next op.
    const key = encodeKeyView(this.schemaCache, row);
    if (key.length > MAX_KEY_SIZE_BYTES) return rowError(rowIndex, 'InvalidArgument', `encoded key of ${key.length} bytes is larger than ${MAX_KEY_SIZE_BYTES}`);
    if (kind === 'upsert') {
      // An upsert that inserts needs every non-nullable column without default.
      for (let i = keyCount; i < n; i++) {
        const c = cols[i] as StoredColumn;
        if (src[i] === undefined && !c.nullable && c.defaultValue === undefined) {
          return rowError(rowIndex, 'InvalidArgument', `column ${c.name} is not nullable and has no default`);
        }
      }
    }
    return { key, row, src };
  }

  validate(ops: readonly WriteOp[]): readonly RowError[] {
    const errors: RowError[] = [];
    for (let i = 0; i < ops.length; i++) {
      const p = this.prepare(ops[i] as WriteOp, i);
      if ('code' in p) errors.push(p);
    }
    return errors;
  }

  prepareOps(ops: readonly WriteOp[]): PreparedOps {
    this.checkOpen();
    const n = ops.length;
    if (n === 1) return this.prepareOneOp(ops);
    const rowErrors: RowError[] = [];
    const rows: Value[][] = [];
    const kept: WriteOp[] = [];
    let keyBytes = new Uint8Array(Math.max(256, n * 16));
    const keyOffsets = new Int32Array(n + 1);
    let used = 0;
    let inputIndex: Int32Array | undefined;
    for (let i = 0; i < n; i++) {
      const op = ops[i] as WriteOp;
      const p = this.prepare(op, i);
      if ('code' in p) {
        if (inputIndex === undefined) {
          inputIndex = new Int32Array(n);
          for (let k = 0; k < kept.length; k++) inputIndex[k] = k;
        }
        rowErrors.push(p);
        continue;
      }
      const k = kept.length;
      if (inputIndex !== undefined) inputIndex[k] = i;
      // p.key is a view of the shared encoding buffer: copy it before the next prepare.
      if (used + p.key.length > keyBytes.length) {
        const b = new Uint8Array(Math.max(used + p.key.length, keyBytes.length * 2));
        b.set(keyBytes.subarray(0, used));
        keyBytes = b;
      }
      keyBytes.set(p.key, used);
      used += p.key.length;
      keyOffsets[k + 1] = used;
      kept.push(op);
      rows.push(p.row);
    }
    return {
      ops: kept, rowErrors, rows, keyBytes: keyBytes.subarray(0, used), keyOffsets: keyOffsets.subarray(0, kept.length + 1), schema: this.schemaCache,
      ...(inputIndex !== undefined ? { inputIndex: inputIndex.subarray(0, kept.length) } : {}),
    };
  }

  /**
   * prepareOps of a single op (the single-row INSERT): the input array is the kept ops, the key
   * an exact copy (no scratch-sized buffer, no views).
   */
  private prepareOneOp(ops: readonly WriteOp[]): PreparedOps {
    const p = this.prepare(ops[0] as WriteOp, 0);
    if ('code' in p) return { ops: [], rowErrors: [p], rows: [], keyBytes: new Uint8Array(0), keyOffsets: new Int32Array(1), schema: this.schemaCache, inputIndex: new Int32Array(0) };
    const keyBytes = new Uint8Array(p.key.length);
    keyBytes.set(p.key);
    return { ops, rowErrors: NO_ROW_ERRORS, rows: [p.row], keyBytes, keyOffsets: oneKeyOffsets(keyBytes.length), schema: this.schemaCache };
  }

  /** touched rowsets of the apply in progress (applies are synchronous: one set for all of them). */
  private readonly touchedScratch = new Set<DiskRowSet>();

  applyPreparedOps(opId: OpId, timestamp: HybridTime, prepared: PreparedOps): ApplyResult {
    this.checkOpen();
    assert(opId.index > this.lastApplied, () => `op index ${opId.index} follows the last applied ${this.lastApplied}`);
    assert(prepared.schema === this.schemaCache, 'ops prepared against the current schema');
    const ops = prepared.ops;
    const kb = prepared.keyBytes;
    const ko = prepared.keyOffsets;
    assert(prepared.rows.length === ops.length && ko.length === ops.length + 1, 'prepared ops, rows and keys agree');
    const rowErrors: RowError[] = [];
    let applied = 0;
    const touched = this.touchedScratch;
    touched.clear();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as WriteOp;
      const from = ko[i] as number;
      const to = ko[i + 1] as number;
      // A key that is all of keyBytes (one op) needs no view.
      const p: PreparedOp = { key: from === 0 && to === kb.length ? kb : kb.subarray(from, to), row: prepared.rows[i] as Value[], src: op.row };
      if (this.applyOne(op.kind, p, i, timestamp, touched, rowErrors)) applied++;
    }
    const result = this.finishApply(opId, touched, applied, rowErrors);
    touched.clear();
    return result;
  }

  /** Where the row with this key lives at the latest state, if it exists; and its MemRowSet entry. */
  private locate(key: Uint8Array): { live: Location | undefined; entry: MrsEntry | undefined } {
    const entry = this.findEntry(key);
    if (entry !== undefined) {
      if (entry.isLive()) return { live: { kind: 'mrs', entry }, entry };
    }
    for (let r = this.rowsets.length - 1; r >= 0; r--) {
      const rs = this.rowsets[r] as OpenRowSet;
      const ord = rs.drs.findOrdinal(key);
      if (ord >= 0 && !rs.drs.isDeletedLatest(ord)) return { live: { kind: 'drs', rs, ord }, entry };
    }
    return { live: undefined, entry };
  }

  applyWrite(opId: OpId, timestamp: HybridTime, ops: readonly WriteOp[]): ApplyResult {
    this.checkOpen();
    assert(opId.index > this.lastApplied, () => `op index ${opId.index} follows the last applied ${this.lastApplied}`);
    const rowErrors: RowError[] = [];
    let applied = 0;
    const touched = new Set<DiskRowSet>();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as WriteOp;
      const p = this.prepare(op, i);
      if ('code' in p) {
        rowErrors.push(p);
        continue;
      }
      if (this.applyOne(op.kind, p, i, timestamp, touched, rowErrors)) applied++;
    }
    return this.finishApply(opId, touched, applied, rowErrors);
  }

  /** The MemRowSet entry of `key` (current MemRowSet first, then the frozen one). */
  private findEntry(key: Uint8Array): MrsEntry | undefined {
    return this.mrs.find(key) ?? this.pending?.frozen.find(key);
  }

  /** addVersion on whichever MemRowSet holds `entry` (a change to the frozen one makes its background file stale). */
  private addVersion(entry: MrsEntry, ts: HybridTime, row: readonly Value[] | null): void {
    const frozen = this.pending?.frozen;
    if (frozen !== undefined && frozen.owns(entry)) {
      this.frozenDirty = true;
      frozen.addVersion(entry, ts, row);
    } else this.mrs.addVersion(entry, ts, row);
  }

  private finishApply(opId: OpId, touched: Set<DiskRowSet>, applied: number, rowErrors: RowError[]): ApplyResult {
    this.mrs.maxOpIndex = opId.index;
    if (this.mrsFirstOp === 0 && this.mrs.size > 0) this.mrsFirstOp = opId.index;
    for (const d of touched) d.dmsMaxOpIndex = opId.index;
    if (this.dmsFirstOp === 0 && touched.size > 0) this.dmsFirstOp = opId.index;
    this.lastApplied = opId.index;
    if (this.pending !== undefined && this.pending.job.poll() !== undefined) this.completeFlush();
    // While the previous MemRowSet is still being written by the flush worker, the new one may
    // grow to twice the limit before the writing thread waits for that flush.
    const mem = this.memoryBytes(), limit = this.limits.memRowSetFlushBytes;
    if (mem >= limit && (this.pending === undefined || mem >= 2 * limit)) this.flushForMemory();
    return { appliedCount: applied, rowErrors };
  }

  /**
   * The MemRowSet (and DeltaMemStores) passed the memory limit. A MemRowSet of plain inserts
   * that holds most of that memory is frozen and written by the flush worker while a new one
   * takes writes; otherwise (or without a compiled worker) everything flushes here.
   */
  private flushForMemory(): void {
    if (this.pending !== undefined) this.completeFlush();
    const mrs = this.mrs;
    if (mrs.size === 0 || mrs.versionCount > 0 || mrs.sizeBytes * 2 < this.limits.memRowSetFlushBytes) {
      this.flush();
      return;
    }
    const { id, name } = this.newFile('drs');
    let job: FlushJob | undefined;
    try {
      job = submitFlush({ path: join(this.dir, name), columns: this.columns, keyColumnCount: this.keyColumnCount, rowsPerBatch: this.limits.rowsPerBatchMax, image: mrs.toImage() });
    } catch (e) {
      // The worker cannot take it (e.g. it failed to start): flush here.
      console.error(`saiga tablet ${this.tabletId}: background flush not started: ${String(e)}`);
      job = undefined;
    }
    if (job === undefined) {
      this.flush();
      return;
    }
    this.pending = { frozen: mrs, job, id, file: name };
    this.frozenDirty = false;
    this.mrs = new MemRowSet(this.columns);
    this.mrsFirstOp = 0;
    job.onSettled = () => {
      if (this.closed || this.pending?.job !== job) return;
      try {
        this.completeFlush();
      } catch (e) {
        // Left pending: the next write, flush or close retries the swap and reports the error.
        console.error(`saiga tablet ${this.tabletId}: swapping in a background flush failed: ${String(e)}`);
      }
    };
  }

  /**
   * Swaps the frozen MemRowSet's DiskRowSet in (waiting for the worker when it has not finished).
   * A failed job, or a frozen MemRowSet changed after the freeze, is flushed here instead.
   */
  private completeFlush(): void {
    const p = this.pending;
    if (p === undefined) return;
    const outcome = p.job.wait();
    const path = join(this.dir, p.file);
    let rs: OpenRowSet | undefined;
    if (outcome.ok && !this.frozenDirty) {
      assert(outcome.rowCount === p.frozen.size, () => `background flush wrote ${outcome.rowCount} rows of ${p.frozen.size}`);
      rs = { meta: { id: p.id, file: p.file, undoFiles: [], redoFiles: [] }, drs: DiskRowSet.open(path) };
    } else {
      if (!outcome.ok) console.error(`saiga tablet ${this.tabletId}: ${outcome.message}; flushing on the writing thread`);
      if (existsSync(path)) unlinkSync(path);
      rs = this.writeRowSet(p.frozen);
      fsyncDir(this.dir);
    }
    if (rs !== undefined) this.rowsets.push(rs);
    this.pending = undefined;
    this.frozenDirty = false;
    // Durable: every op of the frozen MemRowSet, short of the first op still only in memory.
    let d = p.frozen.maxOpIndex;
    if (this.mrsFirstOp > 0) d = Math.min(d, this.mrsFirstOp - 1);
    if (this.dmsFirstOp > 0) d = Math.min(d, this.dmsFirstOp - 1);
    // The worker fsynced its file and the directory entry (job state 1); a file written here
    // was synced just above: the metadata may reference it.
    if (d > this.durable) this.durable = d;
    this.writeMetadata();
  }

  /** Applies one validated op; returns whether it changed the tablet (errors go to rowErrors). */
  private applyOne(kind: WriteOp['kind'], p: PreparedOp, i: number, timestamp: HybridTime, touched: Set<DiskRowSet>, rowErrors: RowError[]): boolean {
    // Fast path: an insert of a key above everything stored cannot collide with anything.
    if ((kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert') && this.isAboveAllKeys(p.key)) {
      this.mrs.insert(p.key, timestamp, p.row);
      return true;
    }
    const { live, entry } = this.locate(p.key);
    switch (kind) {
      case 'insert':
      case 'insert_ignore':
        if (live !== undefined) {
          if (kind === 'insert') rowErrors.push(rowError(i, 'AlreadyPresent', 'a row with this primary key already exists'));
          return false;
        }
        this.insertRow(p, entry, timestamp);
        return true;
      case 'upsert':
        if (live !== undefined) this.updateRow(p, live, timestamp, touched);
        else this.insertRow(p, entry, timestamp);
        return true;
      case 'update':
      case 'update_ignore':
        if (live === undefined) {
          if (kind === 'update') rowErrors.push(rowError(i, 'NotFound', 'no row with this primary key'));
          return false;
        }
        this.updateRow(p, live, timestamp, touched);
        return true;
      case 'delete':
      case 'delete_ignore':
        if (live === undefined) {
          if (kind === 'delete') rowErrors.push(rowError(i, 'NotFound', 'no row with this primary key'));
          return false;
        }
        if (live.kind === 'mrs') this.addVersion(live.entry, timestamp, null);
        else {
          live.rs.drs.addDelta(live.ord, { ts: timestamp, kind: 'delete', cells: [] }, 'dms');
          touched.add(live.rs.drs);
        }
        return true;
    }
  }

  prepareBatch(kind: WriteOpKind, batch: arrow.RecordBatch): PreparedBatch {
    this.checkOpen();
    return prepareArrowBatch(this.schemaCache, kind, batch);
  }

  applyPrepared(opId: OpId, timestamp: HybridTime, prepared: PreparedBatch): ApplyResult {
    this.checkOpen();
    assert(opId.index > this.lastApplied, () => `op index ${opId.index} follows the last applied ${this.lastApplied}`);
    const n = prepared.rowCount;
    const cols = prepared.columns;
    assert(cols.length === this.columns.length && prepared.keyOffsets.length === n + 1, () => `prepared batch of ${cols.length} columns / ${prepared.keyOffsets.length - 1} keys for ${this.columns.length} columns / ${n} rows`);
    const kind = prepared.kind;
    const kb = prepared.keyBytes;
    const ko = prepared.keyOffsets;
    const rowErrors: RowError[] = [];
    const touched = new Set<DiskRowSet>();
    let applied = 0;
    let i = 0;
    const insertLike = kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert';
    const kinds = this.columns.map(canonicalKind);
    while (i < n) {
      if (insertLike) {
        // The longest run of strictly increasing keys above everything stored: one bulk append.
        let j = i;
        if (this.isAboveAllKeys(kb.subarray(ko[i] as number, ko[i + 1] as number))) {
          j = i + 1;
          while (j < n && compareRuns(kb, ko[j - 1] as number, ko[j] as number, ko[j] as number, ko[j + 1] as number) < 0) j++;
          this.mrs.appendBatch(kb, ko, cols, i, j - i, timestamp, prepared.buffersOwned === true);
          applied += j - i;
          i = j;
          continue;
        }
      }
      const row: Value[] = new Array<Value>(cols.length);
      const src: (Value | undefined)[] = new Array<Value | undefined>(cols.length);
      for (let c = 0; c < cols.length; c++) {
        const v = canonicalValue(kinds[c] as CanonicalKind, cols[c] as arrow.Data, i);
        row[c] = v;
        src[c] = prepared.given[c] === true || c < this.keyColumnCount ? v : undefined;
      }
      const p: PreparedOp = { key: kb.subarray(ko[i] as number, ko[i + 1] as number), row, src };
      if (this.applyOne(kind, p, i, timestamp, touched, rowErrors)) applied++;
      i++;
    }
    return this.finishApply(opId, touched, applied, rowErrors);
  }

  // ---------------------------------------------------------------- bulk loads

  beginBulkStage(): BulkStage {
    this.checkOpen();
    for (const st of this.stages) if (st.isClosed) this.stages.delete(st);
    const stage = new BulkStage({
      dir: this.dir, tabletId: this.tabletId, columns: this.columns, keyColumnCount: this.keyColumnCount, schema: this.schemaCache,
      rowsPerBatch: this.limits.rowsPerBatchMax, flushBytes: Math.min(this.limits.memRowSetFlushBytes, BULK_STAGE_FILE_BYTES_MAX), isAboveAllKeys: (k) => this.isAboveAllKeys(k),
    });
    this.stages.add(stage);
    return stage;
  }

  commitBulk(opId: OpId, timestamp: HybridTime, files: readonly string[]): ApplyResult {
    this.checkOpen();
    assert(opId.index > this.lastApplied, () => `op index ${opId.index} follows the last applied ${this.lastApplied}`);
    const referenced = new Set(this.rowsets.map((r) => r.meta.file));
    const named = files.filter((f) => referenced.has(f)).length;
    if (files.length === 0 || named === files.length) {
      // Nothing staged, or replayed after a restart whose metadata already holds the rowsets.
      this.lastApplied = opId.index;
      return { appliedCount: 0, rowErrors: [] };
    }
    assert(named === 0, () => `bulk commit ${opId.index}: ${named} of ${files.length} files are already rowsets`);
    const opened: DiskRowSet[] = [];
    try {
      for (const f of files) {
        const path = join(this.dir, f);
        if (!existsSync(path)) throw corruption(path, 0, `bulk commit entry ${opId.index} names ${f}, which tablet ${this.tabletId} does not hold`);
        opened.push(DiskRowSet.open(path, timestamp));
      }
    } catch (e) {
      for (const d of opened) d.close();
      throw e;
    }
    let rows = 0;
    for (let i = 0; i < opened.length; i++) {
      const d = opened[i] as DiskRowSet;
      rows += d.rowCount;
      if (i > 0) assert(compareBytes((opened[i - 1] as DiskRowSet).maxKey, d.minKey) < 0, () => `bulk commit ${opId.index}: staged file ${files[i]} starts below the end of ${files[i - 1]}`);
    }
    if (this.isAboveAllKeys((opened[0] as DiskRowSet).minKey)) {
      const allDurable = this.durable === this.lastApplied;
      opened.forEach((drs, i) => {
        const id = this.nextFileId++;
        this.rowsets.push({ meta: { id, file: files[i] as string, undoFiles: [], redoFiles: [], insertTs: timestamp.toString() }, drs });
      });
      this.lastApplied = opId.index;
      // The rowsets are durable as they are; the log may be trimmed past the entry only when
      // nothing applied before it is still in memory alone.
      if (allDurable) this.durable = opId.index;
      this.writeMetadata();
      return { appliedCount: rows, rowErrors: [] };
    }
    // A concurrent writer inserted at or above the staged keys meanwhile: insert the rows one by
    // one (duplicates are row errors); the files stay until the rows are durable.
    const rowErrors: RowError[] = [];
    const touched = new Set<DiskRowSet>();
    let applied = 0;
    const kc = this.keyColumnCount;
    for (const d of opened) {
      for (let ord = 0; ord < d.rowCount; ord++) {
        const row = d.rowAt(ord, HT_MAX, this.columns);
        assert(row !== undefined, 'a staged row is visible at its commit timestamp');
        const before = rowErrors.length;
        if (this.applyOne('insert', { key: d.keyAt(ord), row, src: row }, -1, timestamp, touched, rowErrors)) applied++;
        if (rowErrors.length > before) {
          const e = rowErrors[before] as RowError;
          rowErrors[before] = rowError(-1, e.code, `bulk load row with primary key (${row.slice(0, kc).map(String).join(', ')}): ${e.message}`);
        }
      }
      d.close();
    }
    this.bulkTrash.push({ index: opId.index, files: [...files] });
    return this.finishApply(opId, touched, applied, rowErrors);
  }

  removeStaleBulkFiles(): number {
    const keep = new Set<string>(this.rowsets.map((r) => r.meta.file));
    for (const t of this.bulkTrash) for (const f of t.files) keep.add(f);
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(BULK_FILE_PREFIX) && !keep.has(name)) {
        unlinkSync(join(this.dir, name));
        removed++;
      }
    }
    return removed;
  }

  /** True when `key` is above every key in the MemRowSet and in every DiskRowSet (no lookup needed). */
  isAboveAllKeys(key: Uint8Array): boolean {
    if (!this.mrs.isAboveMax(key)) return false;
    if (this.pending !== undefined && !this.pending.frozen.isAboveMax(key)) return false;
    for (const r of this.rowsets) if (compareBytes(key, r.drs.maxKey) <= 0) return false;
    return true;
  }

  private insertRow(p: PreparedOp, entry: MrsEntry | undefined, timestamp: HybridTime): void {
    if (entry !== undefined) this.addVersion(entry, timestamp, p.row);
    else this.mrs.insert(p.key, timestamp, p.row);
  }

  /** Applies the given non-key columns of `p` over the live row. */
  private updateRow(p: PreparedOp, loc: Location, timestamp: HybridTime, touched: Set<DiskRowSet>): void {
    const n = this.columns.length;
    if (loc.kind === 'mrs') {
      const next = (loc.entry.latest() as readonly Value[]).slice();
      for (let c = this.keyColumnCount; c < n; c++) if (p.src[c] !== undefined) next[c] = p.row[c] as Value;
      this.addVersion(loc.entry, timestamp, next);
      return;
    }
    const cells: Array<readonly [number, Value]> = [];
    for (let c = this.keyColumnCount; c < n; c++) if (p.src[c] !== undefined) cells.push([(this.columns[c] as StoredColumn).id, p.row[c] as Value]);
    loc.rs.drs.addDelta(loc.ord, { ts: timestamp, kind: 'update', cells }, 'dms');
    touched.add(loc.rs.drs);
  }

  private memoryBytes(): number {
    let s = this.mrs.sizeBytes;
    for (const r of this.rowsets) s += r.drs.dms.sizeBytes;
    return s;
  }

  // ---------------------------------------------------------------- flush and compaction

  private newFile(suffix: string): { id: number; name: string } {
    const id = this.nextFileId++;
    return { id, name: `rs-${id}.${suffix}` };
  }

  /** Writes a new DiskRowSet (and its delta files) from row histories; undefined when empty. */
  private writeRowSet(rows: Iterable<RowHistory> | MemRowSet): OpenRowSet | undefined {
    const { id, name } = this.newFile('drs');
    const path = join(this.dir, name);
    const res = rows instanceof MemRowSet
      ? writeDiskRowSetFromMemRowSet(path, this.columns, this.keyColumnCount, rows, this.limits.rowsPerBatchMax)
      : writeDiskRowSet(path, this.columns, this.keyColumnCount, rows, this.limits.rowsPerBatchMax);
    if (res.rowCount === 0) {
      unlinkSync(path);
      return undefined;
    }
    const undoFiles: string[] = [];
    const redoFiles: string[] = [];
    if (res.undo.recordCount > 0) {
      const f = `rs-${id}.undo-${this.nextFileId++}`;
      writeDeltaFile(join(this.dir, f), res.undo);
      undoFiles.push(f);
    }
    if (res.redo.recordCount > 0) {
      const f = `rs-${id}.redo-${this.nextFileId++}`;
      writeDeltaFile(join(this.dir, f), res.redo);
      redoFiles.push(f);
    }
    const drs = DiskRowSet.open(path);
    drs.addDeltas(res.undo, 'undo');
    drs.addDeltas(res.redo, 'redo');
    return { meta: { id, file: name, undoFiles, redoFiles }, drs };
  }

  flush(): void {
    this.checkOpen();
    this.completeFlush();
    let changed = false;
    if (this.mrs.size > 0) {
      const rs = this.writeRowSet(this.mrs);
      if (rs !== undefined) this.rowsets.push(rs);
      this.mrs = new MemRowSet(this.columns);
      changed = true;
    }
    this.mrsFirstOp = 0;
    this.dmsFirstOp = 0;
    this.rowsets = this.rowsets.map((r) => {
      if (r.drs.dms.recordCount === 0) return r;
      const f = `rs-${r.meta.id}.redo-${this.nextFileId++}`;
      writeDeltaFile(join(this.dir, f), r.drs.dms);
      r.drs.clearDms();
      changed = true;
      return { meta: { ...r.meta, redoFiles: [...r.meta.redoFiles, f] }, drs: r.drs };
    });
    if (changed || this.durable !== this.lastApplied) {
      fsyncDir(this.dir);
      this.durable = this.lastApplied;
      this.writeMetadata();
    }
  }

  /** Rewrites `inputs` into one new rowset (merging by key, dropping history before the horizon). */
  private rewrite(inputs: readonly OpenRowSet[]): void {
    const columns = this.columns;
    const horizon = this.horizon;
    const sources = inputs.map((r) => ({ drs: r.drs, ord: 0 }));
    const merged = function* (): Generator<RowHistory> {
      for (;;) {
        let best: Uint8Array | undefined;
        for (const s of sources) {
          if (s.ord >= s.drs.rowCount) continue;
          const k = s.drs.keyAt(s.ord);
          if (best === undefined || compareBytes(k, best) < 0) best = k;
        }
        if (best === undefined) return;
        // A key lives in at most one rowset at a time, so its live stretches (insert .. delete)
        // are disjoint in time. A rowset's history may hold several stretches with gaps where
        // another rowset held the key (an earlier compaction merged only some of them), so
        // split every history into stretches and order all of them in time.
        const stretches: RowVersion[][] = [];
        for (const s of sources) {
          if (s.ord < s.drs.rowCount && compareBytes(s.drs.keyAt(s.ord), best) === 0) {
            splitStretches(s.drs.historyOf(s.ord, columns), stretches);
            s.ord++;
          }
        }
        stretches.sort(compareStretches);
        const versions = stretches.length === 1 ? (stretches[0] as RowVersion[]) : stretches.flat();
        const gced = gcVersions(versions, horizon);
        if (gced.length > 0) yield { key: best, versions: gced };
      }
    };
    const out = this.writeRowSet(merged());
    const inputSet = new Set(inputs);
    const at = this.rowsets.findIndex((r) => inputSet.has(r));
    const rest = this.rowsets.filter((r) => !inputSet.has(r));
    if (out !== undefined) rest.splice(Math.min(at, rest.length), 0, out);
    this.rowsets = rest;
    fsyncDir(this.dir);
    this.writeMetadata();
    for (const r of inputs) {
      r.drs.close();
      for (const f of [r.meta.file, ...r.meta.undoFiles, ...r.meta.redoFiles]) unlinkSync(join(this.dir, f));
    }
  }

  compact(options?: { readonly budgetBytes?: number; readonly major?: boolean }): boolean {
    this.checkOpen();
    this.flush();
    const budget = options?.budgetBytes ?? this.limits.compactionBudgetBytes;
    // Rowset compaction: the largest group of rowsets with overlapping key ranges, within budget.
    const sorted = [...this.rowsets].sort((a, b) => compareBytes(a.drs.minKey, b.drs.minKey));
    let best: OpenRowSet[] = [];
    let group: OpenRowSet[] = [];
    let groupMax: Uint8Array | undefined;
    for (const r of sorted) {
      if (groupMax !== undefined && compareBytes(r.drs.minKey, groupMax) <= 0) {
        group.push(r);
        if (compareBytes(r.drs.maxKey, groupMax) > 0) groupMax = r.drs.maxKey;
      } else {
        group = [r];
        groupMax = r.drs.maxKey;
      }
      if (group.length > best.length) best = [...group];
    }
    if (best.length >= 2) {
      best.sort((a, b) => a.drs.fileBytes - b.drs.fileBytes);
      const pick: OpenRowSet[] = [];
      let bytes = 0;
      for (const r of best) {
        if (pick.length >= 2 && bytes + r.drs.fileBytes > budget) break;
        pick.push(r);
        bytes += r.drs.fileBytes;
      }
      this.rewrite(pick);
      return true;
    }
    // Major delta compaction folds REDOs into base data; minor merges REDO files.
    for (const r of this.rowsets) {
      if (options?.major === true && r.drs.redo.recordCount > 0 && r.drs.fileBytes <= budget) {
        this.rewrite([r]);
        return true;
      }
      if (r.meta.redoFiles.length >= 2) {
        const f = `rs-${r.meta.id}.redo-${this.nextFileId++}`;
        writeDeltaFile(join(this.dir, f), r.drs.redo);
        const old = r.meta.redoFiles;
        const i = this.rowsets.indexOf(r);
        this.rowsets[i] = { meta: { ...r.meta, redoFiles: [f] }, drs: r.drs };
        fsyncDir(this.dir);
        this.writeMetadata();
        for (const o of old) unlinkSync(join(this.dir, o));
        return true;
      }
    }
    return false;
  }

  gcHistory(now: HybridTime): void {
    this.checkOpen();
    const micros = htPhysicalMicros(now) - this.limits.historyRetentionMs * 1000;
    if (micros <= 0) return;
    const horizon = htFromPhysical(micros);
    if (horizon <= this.horizon) return;
    this.horizon = horizon;
    this.flush();
    for (const r of [...this.rowsets]) {
      let old = false;
      for (const recs of r.drs.undo.byOrdinal.values()) if ((recs[0] as DeltaRecord).ts <= horizon) { old = true; break; }
      if (!old) for (const recs of r.drs.redo.byOrdinal.values()) if ((recs[recs.length - 1] as DeltaRecord).kind === 'delete' && (recs[recs.length - 1] as DeltaRecord).ts <= horizon) { old = true; break; }
      if (old) this.rewrite([r]);
    }
  }

  // ---------------------------------------------------------------- reads

  private bind(spec: ScanSpec): ScanPlan {
    const cols = this.columns;
    const find = (name: string): number => {
      const i = columnIndex(this.schemaCache, name);
      if (i < 0) throw new SaigaError('UnknownColumn', `unknown column ${name} in tablet ${this.tabletId}`);
      return i;
    };
    const output = spec.projection === undefined ? cols.map((_, i) => i) : spec.projection.map(find);
    const predicates = (spec.predicates ?? []).map((p) => {
      const i = find(p.column);
      return bindPredicate(p, cols[i] as StoredColumn, i);
    });
    const snapshot = spec.readMode?.kind === 'snapshot' ? spec.readMode.timestamp : HT_MAX;
    let lowerKey: Uint8Array | undefined;
    let upperPrefix: Uint8Array | undefined;
    const first = cols[0] as StoredColumn;
    for (const p of predicates) {
      if (p.columnIndex !== 0 || p.never || p.values.length === 0) continue;
      const vs = [...p.values].sort((a, b) => compareValues(first.type, a, b));
      const lo = vs[0] as Value;
      const hi = vs[vs.length - 1] as Value;
      if (p.kind === 'in' || (p.mask & 4) !== 0 || p.mask === 2) {
        if (p.kind === 'in' || p.mask === 2 || (p.mask & 1) === 0) {
          const k = encodeFirstKeyColumn(this.schemaCache, lo);
          if (lowerKey === undefined || compareBytes(k, lowerKey) > 0) lowerKey = k;
        }
      }
      if (p.kind === 'in' || (p.mask & 4) === 0) {
        const k = encodeFirstKeyColumn(this.schemaCache, hi);
        if (upperPrefix === undefined || compareBytes(k, upperPrefix) < 0) upperPrefix = k;
      }
    }
    const batchRowCount = Math.max(1, Math.min(spec.batchRowCount ?? this.limits.rowsPerBatchMax, this.limits.rowsPerBatchMax));
    return {
      columns: cols, keyColumnCount: this.keyColumnCount, output, predicates, snapshot,
      wantKeys: spec.ordered === true, batchRowCount,
      ...(lowerKey !== undefined ? { lowerKey } : {}),
      ...(upperPrefix !== undefined ? { upperPrefix } : {}),
    };
  }

  *scan(spec: ScanSpec): Iterable<arrow.RecordBatch> {
    this.checkOpen();
    const plan = this.bind(spec);
    const schema = new arrow.Schema(plan.output.map((i) => arrowField(this.schemaCache.columns[i] as StoredColumn)));
    let remaining = spec.limit ?? Infinity;
    if (remaining <= 0) return;
    const chunks = spec.ordered === true ? this.orderedChunks(plan) : this.unorderedChunks(plan);
    for (const c of chunks) {
      let rb = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: c.length, nullCount: 0, children: [...c.columns] }));
      if (rb.numRows > remaining) rb = rb.slice(0, remaining);
      for (let s = 0; s < rb.numRows; s += plan.batchRowCount) {
        yield s === 0 && rb.numRows <= plan.batchRowCount ? rb : rb.slice(s, Math.min(rb.numRows, s + plan.batchRowCount));
      }
      remaining -= rb.numRows;
      if (remaining <= 0) return;
    }
  }

  /** The MemRowSets to read, oldest first (the frozen one while its flush runs). */
  private memRowSets(): MemRowSet[] {
    return this.pending === undefined ? [this.mrs] : [this.pending.frozen, this.mrs];
  }

  private *unorderedChunks(plan: ScanPlan): Generator<ScanChunk> {
    // The sources as of the scan's start: a flush swapping rowsets in meanwhile changes nothing seen.
    const rowsets = [...this.rowsets];
    const mrss = this.memRowSets();
    for (const r of rowsets) yield* r.drs.scan(plan);
    for (const m of mrss) yield* scanMemRowSet(m, plan);
  }

  private *orderedChunks(plan: ScanPlan): Generator<ScanChunk> {
    const sources: Array<Iterator<ScanChunk>> = [...this.rowsets.map((r) => r.drs.scan(plan)), ...this.memRowSets().map((m) => scanMemRowSet(m, plan))];
    interface Cursor { it: Iterator<ScanChunk>; chunk: ScanChunk; row: number }
    const cursors: Cursor[] = [];
    for (const it of sources) {
      const n = it.next();
      if (n.done !== true) cursors.push({ it, chunk: n.value, row: 0 });
    }
    if (cursors.length === 1) {
      const c = cursors[0] as Cursor;
      yield c.chunk;
      for (let n = c.it.next(); n.done !== true; n = c.it.next()) yield n.value;
      return;
    }
    const outCols = plan.output.map((i) => plan.columns[i] as StoredColumn);
    let pending: Array<[ScanChunk, number]> = [];
    const emit = (): ScanChunk => {
      const rows = pending;
      pending = [];
      return {
        columns: outCols.map((c, oi) => buildColumn(c, rows.length, (k) => {
          const [ch, r] = rows[k] as [ScanChunk, number];
          return readValue(c.type, ch.columns[oi] as arrow.Data, r);
        })),
        length: rows.length,
      };
    };
    while (cursors.length > 0) {
      let bi = 0;
      for (let i = 1; i < cursors.length; i++) {
        const a = cursors[i] as Cursor;
        const b = cursors[bi] as Cursor;
        if (compareBytes((a.chunk.keys as Uint8Array[])[a.row] as Uint8Array, (b.chunk.keys as Uint8Array[])[b.row] as Uint8Array) < 0) bi = i;
      }
      const c = cursors[bi] as Cursor;
      pending.push([c.chunk, c.row]);
      if (pending.length >= plan.batchRowCount) yield emit();
      c.row++;
      if (c.row >= c.chunk.length) {
        const n = c.it.next();
        if (n.done === true) cursors.splice(bi, 1);
        else {
          c.chunk = n.value;
          c.row = 0;
        }
      }
    }
    if (pending.length > 0) yield emit();
  }

  lookup(key: readonly Value[], snapshot: HybridTime, projection?: readonly string[]): Row | undefined {
    this.checkOpen();
    const keyVals: Value[] = [];
    for (let i = 0; i < this.keyColumnCount; i++) {
      const v = key[i];
      if (v === undefined || v === null) throw new SaigaError('InvalidArgument', `lookup needs ${this.keyColumnCount} key values, got ${key.length}`);
      keyVals.push(coerceValue(this.columns[i] as StoredColumn, v));
    }
    const k = encodeKey(this.schemaCache, keyVals);
    const proj = projection === undefined ? undefined : projection.map((name) => {
      const i = columnIndex(this.schemaCache, name);
      if (i < 0) throw new SaigaError('UnknownColumn', `unknown column ${name} in tablet ${this.tabletId}`);
      return i;
    });
    const project = (row: readonly Value[]): Row => (proj === undefined ? row.slice() : proj.map((i) => row[i] as Value));
    const entry = this.findEntry(k);
    if (entry !== undefined) {
      const r = entry.rowAt(snapshot);
      if (r !== undefined && r !== null) return project(r);
    }
    for (let i = this.rowsets.length - 1; i >= 0; i--) {
      const drs = (this.rowsets[i] as OpenRowSet).drs;
      const ord = drs.findOrdinal(k);
      if (ord < 0) continue;
      const row = drs.rowAt(ord, snapshot, this.columns);
      if (row !== undefined) return project(row);
    }
    return undefined;
  }

  // ---------------------------------------------------------------- schema and status

  alterSchema(opId: OpId, schema: Schema, renamed?: Readonly<Record<string, string>>): void {
    this.checkOpen();
    assert(opId.index > this.lastApplied, () => `op index ${opId.index} follows the last applied ${this.lastApplied}`);
    validateSchema(schema);
    if (schema.keyColumnCount !== this.keyColumnCount) throw new SaigaError('InvalidArgument', 'alterSchema cannot change the primary key');
    this.flush();
    const old = this.columns;
    const used = new Set<number>();
    const byName = (n: string): StoredColumn | undefined => old.find((c) => c.name.toLowerCase() === n.toLowerCase());
    const next: StoredColumn[] = schema.columns.map((c, i) => {
      let prev = byName(renamed?.[c.name] ?? c.name);
      // A single column whose name changed in place, with the same type, is a rename.
      if (prev === undefined && renamed === undefined && schema.columns.length === old.length) {
        const cand = old[i];
        if (cand !== undefined && cand.type === c.type && schema.columns.findIndex((x) => x.name.toLowerCase() === cand.name.toLowerCase()) < 0) prev = cand;
      }
      if (i < this.keyColumnCount) {
        const k = old[i] as StoredColumn;
        if (prev !== k || k.type !== c.type) throw new SaigaError('InvalidArgument', `alterSchema cannot change key column ${k.name}`);
      }
      if (prev !== undefined && !used.has(prev.id)) {
        if (prev.type !== c.type || (prev.precision ?? 0) !== (c.precision ?? 0) || (prev.scale ?? 0) !== (c.scale ?? 0)) {
          throw new SaigaError('NotSupported', `changing the type of column ${prev.name} is not supported`);
        }
        used.add(prev.id);
        return { ...c, id: prev.id };
      }
      return { ...c, id: this.nextColumnId++ };
    });
    this.columns = next;
    this.schemaCache = this.makeSchema();
    assert(this.mrs.size === 0, 'the MemRowSet is empty after the flush');
    this.mrs = new MemRowSet(this.columns);
    this.lastApplied = opId.index;
    this.durable = opId.index;
    this.writeMetadata();
  }

  durableOpIndex(): number {
    return this.durable;
  }

  lastAppliedOpIndex(): number {
    return this.lastApplied;
  }

  stats(): TabletStats {
    let rows = this.mrs.size + (this.pending?.frozen.size ?? 0);
    let disk = 0;
    let dms = 0;
    for (const r of this.rowsets) {
      rows += r.drs.rowCount;
      disk += r.drs.fileBytes;
      dms += r.drs.dms.sizeBytes;
    }
    return { rowCountEstimate: rows, memRowSetBytes: this.mrs.sizeBytes, flushingMemRowSetBytes: this.pending?.frozen.sizeBytes ?? 0, deltaMemStoreBytes: dms, diskRowSetCount: this.rowsets.length, onDiskBytes: disk };
  }

  close(): void {
    if (this.closed) return;
    // A running background flush finishes first (its file and the metadata naming it).
    this.completeFlush();
    // Loads still staging here cannot commit any more: their files go (sealed ones stay: a
    // commit entry may name them; the next open's replay decides).
    for (const st of this.stages) if (!st.isClosed) st.discardSync();
    this.stages.clear();
    this.closed = true;
    for (const r of this.rowsets) r.drs.close();
  }
}

function validateSchema(schema: Schema): void {
  if (schema.keyColumnCount < 1 || schema.keyColumnCount > schema.columns.length) {
    throw new SaigaError('InvalidArgument', `a tablet schema needs 1..${schema.columns.length} key columns, got ${schema.keyColumnCount}`);
  }
  const names = new Set<string>();
  schema.columns.forEach((c, i) => {
    const n = c.name.toLowerCase();
    if (names.has(n)) throw new SaigaError('InvalidArgument', `duplicate column ${c.name}`);
    names.add(n);
    if (i < schema.keyColumnCount && c.nullable) throw new SaigaError('InvalidArgument', `key column ${c.name} cannot be nullable`);
  });
}

/** Appends the live stretches of `history` (each from an insert up to and including its delete). */
function splitStretches(history: readonly RowVersion[], out: RowVersion[][]): void {
  let start = 0;
  for (let i = 0; i < history.length; i++) {
    if ((history[i] as RowVersion).row === null) {
      assert(i > start, 'a live stretch starts with an insert');
      out.push(history.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < history.length) out.push(start === 0 ? history.slice() : history.slice(start));
}

/** Orders disjoint live stretches of one key in time (same-timestamp ties: the deleted one first). */
function compareStretches(a: readonly RowVersion[], b: readonly RowVersion[]): number {
  const c = (x: bigint, y: bigint): number => (x < y ? -1 : x > y ? 1 : 0);
  const fa = (a[0] as RowVersion).ts;
  const fb = (b[0] as RowVersion).ts;
  const la = a[a.length - 1] as RowVersion;
  const lb = b[b.length - 1] as RowVersion;
  return c(fa, fb) || c(la.ts, lb.ts) || (la.row === null ? 0 : 1) - (lb.row === null ? 0 : 1);
}

/** Drops history no snapshot at or after `horizon` can see; [] when the row is gone for good. */
function gcVersions(versions: readonly RowVersion[], horizon: HybridTime): RowVersion[] {
  let cut = -1;
  for (let i = 0; i < versions.length; i++) if ((versions[i] as RowVersion).ts <= horizon) cut = i;
  if (cut < 0) return [...versions];
  let rest = versions.slice(cut);
  if ((rest[0] as RowVersion).row === null) rest = rest.slice(1);
  return rest;
}

/** Scans the MemRowSet row by row (it is small and in memory). */
function* scanMemRowSet(mrs: MemRowSet, plan: ScanPlan): Generator<ScanChunk> {
  const outCols = plan.output.map((i) => plan.columns[i] as StoredColumn);
  let rows: (readonly Value[])[] = [];
  let keys: Uint8Array[] = [];
  const emit = (): ScanChunk => {
    const r = rows;
    const k = keys;
    rows = [];
    keys = [];
    const columns = outCols.map((c, oi) => buildColumn(c, r.length, (i) => (r[i] as readonly Value[])[plan.output[oi] as number]));
    return plan.wantKeys ? { columns, length: r.length, keys: k } : { columns, length: r.length };
  };
  const preds: readonly BoundPredicate[] = plan.predicates;
  for (const e of mrs.entries(plan.lowerKey)) {
    if (plan.upperPrefix !== undefined && compareBytes(e.key, plan.upperPrefix) > 0 && !startsWith(e.key, plan.upperPrefix)) break;
    const row = e.rowAt(plan.snapshot);
    if (row === undefined || row === null) continue;
    let ok = true;
    for (const p of preds) if (!valueMatches(p, row[p.columnIndex] as Value)) { ok = false; break; }
    if (!ok) continue;
    rows.push(row);
    keys.push(e.key);
    if (rows.length >= plan.batchRowCount) yield emit();
  }
  if (rows.length > 0) yield emit();
}
