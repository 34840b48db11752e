import type { Data, RecordBatch } from 'apache-arrow';
import type { HybridTime } from '../common/hybrid-time.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Row, Schema, Value } from '../common/types.js';
import type { BulkStage } from './bulk-stage.js';

/**
 * The contract between one tablet's storage (src/tablet, src/rowset) and whatever drives it:
 * the local replica of the embedded default today, the Raft TabletReplica later. The driver
 * owns the log: it appends an op (with its OpId and hybrid timestamp) durably, then calls
 * applyWrite in log order. The tablet records, per MemRowSet / DeltaMemStore, the highest
 * OpId whose effects it holds, so after a flush the driver may drop log segments below
 * durableOpIndex() and bootstrap replays only what lies above it.
 */

export interface OpId {
  readonly term: number;
  readonly index: number;
}

export interface WriteOp {
  readonly kind: WriteOpKind;
  /** Aligned with the tablet schema; undefined = not given (default / unchanged). */
  readonly row: Row;
}

export interface ApplyResult {
  readonly appliedCount: number;
  readonly rowErrors: readonly RowError[];
}

/**
 * A batch of one op kind validated, coerced and key-encoded once (Tablet.prepareBatch), in the
 * canonical columnar form of src/rowset/column-batch.ts. Rows in error are left out.
 */
export interface PreparedBatch {
  readonly kind: WriteOpKind;
  /** Rows kept (valid). */
  readonly rowCount: number;
  /** One canonical column per tablet column, `rowCount` rows each (defaults / NULL where not given). */
  readonly columns: readonly Data[];
  /** Per tablet column: given by the batch (false: default on insert, unchanged on update). */
  readonly given: readonly boolean[];
  /** Encoded primary keys: key j = keyBytes[keyOffsets[j] .. keyOffsets[j+1]). */
  readonly keyBytes: Uint8Array;
  readonly keyOffsets: Int32Array;
  /** Errors of the rows left out, by input row index. */
  readonly rowErrors: readonly RowError[];
  /** Input row index of each kept row; absent when every row was kept. */
  readonly inputIndex?: Int32Array;
  /**
   * True when the column and key buffers were allocated for this batch alone (a take, not views
   * on the caller's batch): applying it may keep them in the MemRowSet instead of copying.
   */
  readonly buffersOwned?: boolean;
  /**
   * The batch's write-ahead log entry, built with the take (prepare-batch.ts
   * takePreparedForLog): `bytes` = [ipcOffset bytes for the driver to fill (entry kind,
   * payload header)][Arrow IPC stream of the given columns, as preparedToArrow]; the columns
   * may be views on it, so it is immutable once built. Absent: the driver encodes the entry.
   */
  readonly logEntry?: { readonly bytes: Uint8Array; readonly ipcOffset: number };
}

/**
 * Row ops validated, coerced and key-encoded once (Tablet.prepareOps), for drivers that
 * validate before logging and apply after: the valid ops are what the driver logs (replay
 * applies them with applyWrite, which validates again), the prepared form is what
 * applyPreparedOps applies. Valid only against the schema it was prepared with.
 */
export interface PreparedOps {
  /** The valid ops, in input order (the log entry's content). */
  readonly ops: readonly WriteOp[];
  /** Errors of the ops left out, by input index. */
  readonly rowErrors: readonly RowError[];
  /** Input index of each kept op; absent when every op was kept. */
  readonly inputIndex?: Int32Array;
  /** Canonical values of each kept op (tablet column order; defaults filled as applyWrite does). */
  readonly rows: readonly (readonly Value[])[];
  /** Encoded primary keys: key j = keyBytes[keyOffsets[j] .. keyOffsets[j+1]). */
  readonly keyBytes: Uint8Array;
  readonly keyOffsets: Int32Array;
  /** The tablet schema object the ops were prepared against (applyPreparedOps checks it). */
  readonly schema: Schema;
}

export interface TabletStats {
  readonly rowCountEstimate: number;
  /** The MemRowSet taking writes (a flush is due when this and the DeltaMemStores pass the limit). */
  readonly memRowSetBytes: number;
  /** A frozen MemRowSet being written by the flush worker (already on its way to disk). */
  readonly flushingMemRowSetBytes?: number;
  readonly deltaMemStoreBytes: number;
  readonly diskRowSetCount: number;
  readonly onDiskBytes: number;
}

export interface Tablet {
  readonly tabletId: string;
  readonly schema: Schema;

  /**
   * Validates ops without changing anything: type, nullability, key and cell size errors are
   * reported per row so the driver can leave bad rows out of the log entry.
   */
  validate(ops: readonly WriteOp[]): readonly RowError[];
  /** Applies one logged op batch at its timestamp. Deterministic: replicas applying the same log agree. */
  applyWrite(opId: OpId, timestamp: HybridTime, ops: readonly WriteOp[]): ApplyResult;
  /** Row path, validate once (additive): validate()'s checks, keeping the prepared form of the valid ops. */
  prepareOps(ops: readonly WriteOp[]): PreparedOps;
  /**
   * Applies prepared ops logged as `prepared.ops`; same effects and row errors as
   * applyWrite(opId, timestamp, prepared.ops), with row errors indexing the kept ops.
   */
  applyPreparedOps(opId: OpId, timestamp: HybridTime, prepared: PreparedOps): ApplyResult;

  /**
   * Columnar write path (additive): validates an Arrow batch once (columns matched by name;
   * unknown columns / missing key columns throw, value errors are per row).
   */
  prepareBatch(kind: WriteOpKind, batch: RecordBatch): PreparedBatch;
  /** Applies a logged prepared batch; row errors index the prepared (kept) rows. Deterministic. */
  applyPrepared(opId: OpId, timestamp: HybridTime, prepared: PreparedBatch): ApplyResult;

  /**
   * Changes the schema (add / drop / rename non-key columns) as a logged op. Existing rowsets
   * keep their old layout; reads map them to the new schema (added columns read as default).
   */
  alterSchema(opId: OpId, schema: Schema): void;

  /**
   * Bulk loads (additive; bulk-stage.ts): a private stage that writes strictly increasing insert
   * rows above every key the tablet holds straight into `bulk-*` DiskRowSet files, never visible
   * and never logged. Single-voter tablets only (followers would lack the files).
   */
  beginBulkStage(): BulkStage;
  /**
   * Applies a logged bulk commit naming staged files (in key order). When the first staged key
   * is still above every key the tablet holds, the files become rowsets whose rows are all
   * visible from `timestamp` on (metadata written at once); otherwise the rows are inserted
   * through the ordinary path (duplicates: AlreadyPresent, rowIndex -1, the message names the
   * key). A replay whose metadata already names the files changes nothing. Deterministic.
   */
  commitBulk(opId: OpId, timestamp: HybridTime, files: readonly string[]): ApplyResult;
  /**
   * Deletes staged `bulk-*` files no rowset references: call once the log has been replayed
   * after open (before, a commit entry may still name them), never while a load is staging.
   */
  removeStaleBulkFiles(): number;
  /** True when `key` (encoded) is above every key the tablet holds. */
  isAboveAllKeys(key: Uint8Array): boolean;

  /** Scan at a snapshot (readMode) with projection and predicates pushed into rowset iteration. */
  scan(spec: ScanSpec): Iterable<RecordBatch>;
  lookup(key: readonly Value[], snapshot: HybridTime, projection?: readonly string[]): Row | undefined;

  /** Flushes the MemRowSet and DeltaMemStores; afterwards durableOpIndex() covers all applied ops. */
  flush(): void;
  /** Runs compactions chosen by policy within the I/O budget; returns whether anything was done. */
  compact(options?: { readonly budgetBytes?: number; readonly major?: boolean }): boolean;
  /** Drops history older than the retention window (relative to `now`). */
  gcHistory(now: HybridTime): void;
  /** The highest op index whose effects are all in durable rowset / delta files. */
  durableOpIndex(): number;
  /** Largest op index applied so far (durable or in memory). */
  lastAppliedOpIndex(): number;
  stats(): TabletStats;
  close(): void;
}
