import type { RecordBatch } from 'apache-arrow';
import type { HybridTime } from './hybrid-time.js';
import type { PartitionSchema, RangeBounds } from './partition.js';
import type { ColumnPredicate, ScanSpec } from './scan-spec.js';
import type { ColumnSchema, Row, Schema, Value } from './types.js';

/**
 * The seam between the SQL layer (and the protocol edges) and storage. The embedded default
 * implements it in-process; a distributed client implements it over gRPC. The query layer
 * never sees a Tablet object, only this.
 */

export type WriteOpKind =
  | 'insert'
  | 'insert_ignore'
  | 'upsert'
  | 'update'
  | 'update_ignore'
  | 'delete'
  | 'delete_ignore';

export interface RowError {
  readonly rowIndex: number;
  readonly code: 'AlreadyPresent' | 'NotFound' | 'InvalidArgument';
  readonly message: string;
}

export interface WriteResult {
  /** Rows that changed the table (ignored duplicates / missing rows do not count). */
  readonly appliedCount: number;
  readonly rowErrors: readonly RowError[];
  /** Commit timestamp of the write; a read at this snapshot sees it (read-your-writes). */
  readonly timestamp: HybridTime;
  /** The last hidden auto-increment key assigned by this write, if any (LAST_INSERT_ID()). */
  readonly lastAutoIncrementId?: bigint;
  /**
   * BulkLoad.write only (additive): rows of this batch staged for the bulk path, durable and
   * visible only at finish() (not counted in appliedCount; finish() reports them).
   */
  readonly stagedCount?: number;
  /**
   * BulkLoad.write only (additive): rows staged by earlier write() calls that this call made
   * durable and visible (a tablet left bulk mode, committing what it had staged; their
   * duplicates are in rowErrors with rowIndex -1). Not counted in appliedCount.
   */
  readonly committedCount?: number;
}

/**
 * A bulk load (COPY FROM, DoPut, CREATE TABLE AS SELECT): rows go into new DiskRowSets written
 * once (no log copy, no MemRowSet) where the storage can do that (a single-voter tablet whose
 * keys arrive in increasing order above everything it holds), and through the ordinary write path
 * otherwise. Rows a load wrote this way become visible and durable together per tablet at
 * finish(), with one commit timestamp; rows that took the ordinary path are durable and visible
 * when their write() settles, as with writeArrow.
 */
export interface BulkLoad {
  /**
   * Takes one batch (columns matched by name, as writeArrow). Row errors found now (invalid
   * values, routing, duplicate keys) are reported with row indexes into this batch. Once the
   * promise settles the load holds no view on the batch's buffers. write() may be called again
   * before earlier calls settle (callers keep a few in flight); batches are taken in call order.
   * No write() after finish() or abort().
   */
  write(batch: RecordBatch): Promise<WriteResult>;
  /**
   * Makes every row taken durable and visible, then resolves with the rows this call made
   * visible (appliedCount) and any row errors found at commit (rowIndex -1: not attributable to
   * one batch row; the message says which key). After a failure nothing not yet committed is
   * visible, and the error says which rows were.
   */
  finish(): Promise<WriteResult>;
  /** Discards everything not yet committed (files written for it are deleted). */
  abort(): Promise<void>;
}

export interface TabletInfo {
  readonly tabletId: string;
  /** One bucket per hash level. */
  readonly hashBuckets: readonly number[];
  readonly range: RangeBounds;
}

export interface TableInfo {
  readonly tableId: string;
  readonly database: string;
  readonly name: string;
  readonly schema: Schema;
  readonly partitionSchema: PartitionSchema;
  readonly tablets: readonly TabletInfo[];
  readonly schemaVersion: number;
  readonly replicationFactor: number;
  readonly comment?: string;
}

export interface CreateTableRequest {
  readonly database: string;
  readonly name: string;
  /** Key columns first; when keyColumnCount is 0 a hidden auto-increment key is added. */
  readonly schema: Schema;
  readonly partitionSchema: PartitionSchema;
  /** Initial range partitions (ignored without range columns). Empty: one unbounded range. */
  readonly ranges?: readonly RangeBounds[];
  readonly replicationFactor?: number;
  readonly ifNotExists?: boolean;
  readonly comment?: string;
}

export type AlterTableStep =
  | { readonly kind: 'addColumn'; readonly column: ColumnSchema }
  | { readonly kind: 'dropColumn'; readonly name: string }
  | { readonly kind: 'renameColumn'; readonly from: string; readonly to: string }
  | { readonly kind: 'renameTable'; readonly newName: string }
  | { readonly kind: 'addRangePartition'; readonly range: RangeBounds }
  | { readonly kind: 'dropRangePartition'; readonly range: RangeBounds };

export interface TableStats {
  readonly rowCount: number;
  readonly onDiskBytes: number;
  readonly memoryBytes: number;
}

export interface StorageApi {
  // --- catalog ---
  listDatabases(): readonly string[];
  createDatabase(name: string, ifNotExists?: boolean): Promise<void>;
  dropDatabase(name: string, ifExists?: boolean): Promise<void>;
  listTables(database: string): readonly string[];
  /** Throws SaigaError('UnknownTable') when absent. */
  getTable(database: string, name: string): TableInfo;
  createTable(req: CreateTableRequest): Promise<TableInfo>;
  dropTable(database: string, name: string, ifExists?: boolean): Promise<void>;
  alterTable(database: string, name: string, steps: readonly AlterTableStep[]): Promise<TableInfo>;
  truncateTable(database: string, name: string): Promise<void>;

  // --- writes ---
  /**
   * Rows are aligned with the table's schema (hidden key column included, undefined for
   * auto-assignment). Per-row errors reject that row only; the rest is applied and durable
   * when the promise resolves.
   */
  write(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult>;
  /**
   * Bulk path: columns matched by name; missing nullable/defaulted columns take their default.
   * Once the promise settles, the storage holds no view on the batch's buffers: the caller may
   * reuse them (COPY FROM refills decode slots; see src/parquet/README.md).
   */
  writeArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult>;
  /**
   * Bulk load (optional: a storage without it is written through writeArrow). Starts a load of
   * Arrow batches into an existing table with insert semantics; see BulkLoad.
   */
  bulkLoad?(database: string, table: string): BulkLoad;

  // --- reads ---
  /** The current hybrid time: a snapshot timestamp that sees every write acknowledged so far. */
  now(): HybridTime;
  /** Tablets that may hold rows matching the predicates (partition pruning). */
  tabletsFor(database: string, table: string, predicates: readonly ColumnPredicate[]): readonly TabletInfo[];
  /**
   * Scan one tablet. Output batches carry exactly the projected columns with rows that match
   * every predicate. Fixed-width column buffers of unmodified base data are views on
   * SharedArrayBuffers so that coprocessor workers read them without copying.
   */
  scanTablet(database: string, table: string, tabletId: string, spec: ScanSpec): AsyncIterable<RecordBatch>;
  /** Scan all tablets (after pruning), in tablet order. */
  scan(database: string, table: string, spec: ScanSpec): AsyncIterable<RecordBatch>;
  /** Point lookup by full primary key; undefined when absent. Values follow the schema. */
  lookup(database: string, table: string, key: readonly Value[], projection?: readonly string[]): Promise<Row | undefined>;
  tableStats(database: string, table: string): TableStats;

  // --- maintenance ---
  /** Flush MemRowSets and DeltaMemStores of the table (or all tables) to disk. */
  flush(database?: string, table?: string): Promise<void>;
  close(): Promise<void>;
}
