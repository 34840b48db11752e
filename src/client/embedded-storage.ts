import type { RecordBatch } from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import { HT_MAX, HybridClock, htPhysicalMicros, type HybridTime } from '../common/hybrid-time.js';
import { DEFAULT_LIMITS, validateLimits, type Limits } from '../common/limits.js';
import { PartitionRouter } from '../common/partitioning.js';
import type { ColumnPredicate, ScanSpec } from '../common/scan-spec.js';
import type {
  AlterTableStep,
  BulkLoad,
  CreateTableRequest,
  RowError,
  StorageApi,
  TableInfo,
  TableStats,
  TabletInfo,
  WriteOpKind,
  WriteResult,
} from '../common/storage-api.js';
import type { Row, Schema, Value } from '../common/types.js';
import { Catalog } from '../master/index.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import { TabletManager, type TabletReplica } from '../tserver/index.js';
import { arrowToRows } from './arrow-rows.js';
import { prepareArrowBatch, takePreparedForLog } from '../tablet/prepare-batch.js';
import { WRITE_BATCH_ENTRY_RESERVE_BYTES } from '../wal/batch-codec.js';
import { routePrepared, type TableRuntime } from './route-prepared.js';
import { EmbeddedBulkLoad, type BulkLoadHost } from './bulk-load.js';

/**
 * The embedded StorageApi: catalog (master) + tablet manager (tablet server) in one process over
 * one data directory, replication factor 1. Background maintenance flushes, compacts and
 * collects history and log segments on unref'd timers that close() stops.
 */

export interface EmbeddedStorageOptions {
  readonly dataDir: string;
  readonly limits?: Partial<Limits>;
  /** Period of the flush / log-GC check. */
  readonly maintenanceIntervalMs?: number;
  /** Period of compaction and history GC. */
  readonly compactionIntervalMs?: number;
}

/**
 * Compaction rounds (compactionIntervalMs apart) skipped in a row while writes are in flight or
 * the round's tablet has a background flush in flight, before one runs anyway.
 */
const COMPACTION_DEFERRALS_MAX = 10;

function backgroundFlushInFlight(r: TabletReplica): boolean {
  return (r.tablet.stats().flushingMemRowSetBytes ?? 0) > 0;
}

/** How far ahead of the local clock a snapshot timestamp may pull it. */
const SNAPSHOT_AHEAD_MICROS_MAX = 1_000_000;


/** Serializes catalog changes (DDL) so each sees the previous one's result. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(f: () => Promise<T>): Promise<T> {
    const result = this.tail.then(f);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

function sameColumns(a: Schema, b: Schema): boolean {
  if (a.columns.length !== b.columns.length || a.keyColumnCount !== b.keyColumnCount) return false;
  return a.columns.every((c, i) => {
    const d = b.columns[i];
    return d !== undefined && c.name === d.name && c.type === d.type && c.nullable === d.nullable;
  });
}

class EmbeddedStorage implements StorageApi {
  private readonly ddl = new Mutex();
  private readonly runtimes = new Map<string, TableRuntime>();
  private readonly timers: NodeJS.Timeout[] = [];
  private maintenanceBusy = false;
  private compactCursor = 0;
  /** Compaction rounds skipped in a row (see COMPACTION_DEFERRALS_MAX). */
  private compactionDeferrals = 0;
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly catalog: Catalog,
    private readonly tablets: TabletManager,
    private readonly limits: Limits,
    private readonly clock: HybridClock,
  ) {}

  static async open(o: EmbeddedStorageOptions): Promise<EmbeddedStorage> {
    const limits = validateLimits({ ...DEFAULT_LIMITS, ...(o.limits ?? {}) });
    const catalog = Catalog.open(o.dataDir);
    // One clock for the whole process: every replica stamps its writes from it.
    const clock = new HybridClock();
    const s = new EmbeddedStorage(catalog, new TabletManager(o.dataDir, clock, limits), limits, clock);
    const list: { tabletId: string; schema: Schema }[] = [];
    for (const t of catalog.allTables()) for (const x of t.tablets) list.push({ tabletId: x.tabletId, schema: t.schema });
    try {
      await s.tablets.openAll(list);
      for (const t of catalog.allTables()) {
        // A crash between persisting an ALTER in the catalog and logging it in a tablet leaves
        // the tablet one step behind: finish the step.
        for (const x of t.tablets) {
          const r = s.tablets.get(x.tabletId);
          if (!sameColumns(r.tablet.schema, t.schema)) await r.alterSchema(t.schema);
        }
        s.setRuntime(t);
      }
    } catch (e) {
      await s.tablets.closeAll();
      throw e;
    }
    s.startMaintenance(o.maintenanceIntervalMs ?? 1000, o.compactionIntervalMs ?? 30_000);
    return s;
  }

  private setRuntime(info: TableInfo): void {
    this.runtimes.set(info.tableId, { info, router: new PartitionRouter(info.schema, info.partitionSchema, info.tablets) });
  }

  private runtime(database: string, name: string): TableRuntime {
    this.checkOpen();
    const info = this.catalog.getTable(database, name);
    const rt = this.runtimes.get(info.tableId);
    if (rt === undefined || rt.info !== info) {
      this.setRuntime(info);
      return this.runtimes.get(info.tableId) as TableRuntime;
    }
    return rt;
  }

  private checkOpen(): void {
    if (this.closed) throw new SaigaError('IllegalState', 'storage is closed');
  }

  /** Waits for the writes in flight now: tracked ones and those the replicas hold. */
  private async writesSettled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await Promise.all(this.tablets.all().map((r) => r.writesSettled()));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  // --- catalog ---

  listDatabases(): readonly string[] {
    return this.catalog.listDatabases();
  }

  createDatabase(name: string, ifNotExists?: boolean): Promise<void> {
    return this.ddl.run(async () => {
      this.checkOpen();
      this.catalog.createDatabase(name, ifNotExists ?? false);
    });
  }

  dropDatabase(name: string, ifExists?: boolean): Promise<void> {
    return this.ddl.run(async () => {
      this.checkOpen();
      const dropped = this.catalog.dropDatabase(name, ifExists ?? false);
      for (const t of dropped) {
        this.runtimes.delete(t.tableId);
        for (const x of t.tablets) await this.tablets.delete(x.tabletId);
      }
    });
  }

  listTables(database: string): readonly string[] {
    return this.catalog.listTables(database);
  }

  getTable(database: string, name: string): TableInfo {
    return this.catalog.getTable(database, name);
  }

  createTable(req: CreateTableRequest): Promise<TableInfo> {
    return this.ddl.run(async () => {
      this.checkOpen();
      const existing = this.catalog.findTable(req.database, req.name);
      if (existing !== undefined && req.ifNotExists === true) return existing;
      const info = this.catalog.planCreateTable(req);
      // Tablets first: a crash before the catalog names them leaves orphans that open() removes.
      try {
        for (const t of info.tablets) await this.tablets.open(t.tabletId, info.schema);
      } catch (e) {
        for (const t of info.tablets) await this.tablets.delete(t.tabletId);
        throw e;
      }
      this.catalog.addTable(info);
      this.setRuntime(info);
      return info;
    });
  }

  dropTable(database: string, name: string, ifExists?: boolean): Promise<void> {
    return this.ddl.run(async () => {
      this.checkOpen();
      const t = this.catalog.findTable(database, name);
      if (t === undefined) {
        if (ifExists === true) return;
        throw new SaigaError('UnknownTable', `unknown table '${database}.${name}'`);
      }
      this.catalog.removeTable(t.tableId);
      this.runtimes.delete(t.tableId);
      for (const x of t.tablets) await this.tablets.delete(x.tabletId);
    });
  }

  alterTable(database: string, name: string, steps: readonly AlterTableStep[]): Promise<TableInfo> {
    return this.ddl.run(async () => {
      this.checkOpen();
      let t = this.catalog.getTable(database, name);
      for (const step of steps) {
        const next = this.catalog.planAlterStep(t, step);
        if (step.kind === 'addRangePartition') {
          const added = next.tablets.filter((x) => !t.tablets.some((y) => y.tabletId === x.tabletId));
          for (const x of added) await this.tablets.open(x.tabletId, next.schema);
          this.catalog.replaceTable(next);
        } else if (step.kind === 'dropRangePartition') {
          const gone = t.tablets.filter((x) => !next.tablets.some((y) => y.tabletId === x.tabletId));
          this.catalog.replaceTable(next);
          for (const x of gone) await this.tablets.delete(x.tabletId);
        } else {
          // Catalog first; open() finishes the step in tablets a crash left behind.
          this.catalog.replaceTable(next);
          if (next.schema !== t.schema) {
            for (const x of next.tablets) await this.tablets.get(x.tabletId).alterSchema(next.schema);
          }
        }
        t = next;
        this.setRuntime(t);
      }
      return t;
    });
  }

  truncateTable(database: string, name: string): Promise<void> {
    return this.ddl.run(async () => {
      this.checkOpen();
      const t = this.catalog.getTable(database, name);
      const next = this.catalog.planTruncate(t);
      for (const x of next.tablets) await this.tablets.open(x.tabletId, t.schema);
      this.catalog.replaceTable(next);
      this.setRuntime(next);
      for (const x of t.tablets) await this.tablets.delete(x.tabletId);
    });
  }

  // --- writes ---

  /**
   * Rows that all go to one tablet, valid for routing and needing no hidden key (a single-row
   * INSERT) take the tablet's write directly: its result is the write's (row errors index the
   * ops, which are the rows), without grouping, index maps or a promise per tablet. Anything
   * else takes doWrite. flush / close / maintenance see direct writes through the replicas
   * (writesInFlight / writesSettled), the others through `inflight`.
   */
  write(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult> {
    try {
      const rt = this.runtime(database, table);
      const tabletId = this.oneTabletOf(rt, kind, rows);
      if (tabletId !== undefined) {
        const ops: WriteOp[] = rows.length === 1 ? [{ kind, row: rows[0] as Row }] : rows.map((row) => ({ kind, row }));
        // Not tracked here: the replica holds the write from now until it settles (writesSettled).
        return this.tablets.get(tabletId).write(ops);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.track(this.doWrite(database, table, kind, rows));
  }

  /**
   * The tablet of every row when they all route to the same one, each has the table's column
   * count and none needs a hidden auto-increment key; undefined otherwise (doWrite reports).
   */
  private oneTabletOf(rt: TableRuntime, kind: WriteOpKind, rows: readonly Row[]): string | undefined {
    const n = rows.length;
    if (n === 0 || n > this.limits.writeBatchRowsMax) return undefined;
    const columns = rt.info.schema.columns;
    const assignsKeys = columns[0]?.autoIncrement === true && (kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert');
    let tabletId: string | undefined;
    for (let i = 0; i < n; i++) {
      const row = rows[i] as Row;
      if (row.length !== columns.length || (assignsKeys && (row[0] === undefined || row[0] === null))) return undefined;
      const res = rt.router.route(row);
      if (!res.ok || (tabletId !== undefined && res.tabletId !== tabletId)) return undefined;
      tabletId = res.tabletId;
    }
    return tabletId;
  }

  private async doWrite(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult> {
    const rt = this.runtime(database, table);
    if (rows.length > this.limits.writeBatchRowsMax) {
      throw new SaigaError('ResourceExhausted', `a write batch holds at most ${this.limits.writeBatchRowsMax} rows, got ${rows.length}`);
    }
    const schema = rt.info.schema;
    const rowErrors: RowError[] = [];
    let lastAutoIncrementId: bigint | undefined;
    let input = rows;
    if (schema.columns[0]?.autoIncrement === true && (kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert')) {
      let missing = 0;
      for (const r of rows) if (r[0] === undefined || r[0] === null) missing++;
      if (missing > 0) {
        let id = this.catalog.reserveAutoIncrement(rt.info.tableId, missing);
        input = rows.map((r) => {
          if (r[0] !== undefined && r[0] !== null) return r;
          const copy = [...r];
          copy[0] = id;
          lastAutoIncrementId = id;
          id += 1n;
          return copy;
        });
      }
    }
    const perTablet = new Map<string, { ops: WriteOp[]; index: number[] }>();
    for (let i = 0; i < input.length; i++) {
      const row = input[i] as Row;
      if (row.length !== schema.columns.length) {
        rowErrors.push({ rowIndex: i, code: 'InvalidArgument', message: `row has ${row.length} values, the table has ${schema.columns.length} columns` });
        continue;
      }
      const res = rt.router.route(row);
      if (!res.ok) {
        rowErrors.push({ rowIndex: i, code: res.code, message: res.message });
        continue;
      }
      let g = perTablet.get(res.tabletId);
      if (g === undefined) {
        g = { ops: [], index: [] };
        perTablet.set(res.tabletId, g);
      }
      g.ops.push({ kind, row });
      g.index.push(i);
    }
    if (perTablet.size === 1 && rowErrors.length === 0) {
      // Every row in one tablet (a hidden-key insert): its row errors index the rows already.
      const [tabletId, g] = perTablet.entries().next().value as [string, { ops: WriteOp[] }];
      const r = await this.tablets.get(tabletId).write(g.ops);
      return lastAutoIncrementId === undefined ? r : { appliedCount: r.appliedCount, rowErrors: r.rowErrors, timestamp: r.timestamp, lastAutoIncrementId };
    }
    let appliedCount = 0;
    let timestamp: HybridTime = 0n;
    const results = await Promise.all(
      [...perTablet.entries()].map(async ([tabletId, g]) => ({ g, r: await this.tablets.get(tabletId).write(g.ops) })),
    );
    for (const { g, r } of results) {
      appliedCount += r.appliedCount;
      if (r.timestamp > timestamp) timestamp = r.timestamp;
      for (const e of r.rowErrors) rowErrors.push({ ...e, rowIndex: g.index[e.rowIndex] as number });
    }
    if (timestamp === 0n) timestamp = this.clock.now();
    rowErrors.sort((a, b) => a.rowIndex - b.rowIndex);
    return { appliedCount, rowErrors, timestamp, ...(lastAutoIncrementId === undefined ? {} : { lastAutoIncrementId }) };
  }

  writeArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> {
    return this.track(this.doWriteArrow(database, table, kind, batch));
  }

  /**
   * Columnar path: the batch is validated once (prepareArrowBatch), routed with the key columns'
   * canonical values into per-tablet row index arrays, and each tablet's rows taken with
   * typed-array copies. Tables with a hidden auto-increment key take the row path (keys are
   * assigned per row).
   */
  private async doWriteArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> {
    const rt = this.runtime(database, table);
    const schema = rt.info.schema;
    // Hidden auto-increment keys are assigned per row; a tablet still finishing an ALTER has
    // another column layout than the catalog: both take the row path.
    if (schema.columns[0]?.autoIncrement === true || !this.tabletsMatchCatalog(rt)) {
      return this.doWrite(database, table, kind, arrowToRows(batch, schema));
    }
    if (batch.numRows > this.limits.writeBatchRowsMax) {
      throw new SaigaError('ResourceExhausted', `a write batch holds at most ${this.limits.writeBatchRowsMax} rows, got ${batch.numRows}`);
    }
    const prepared = prepareArrowBatch(schema, kind, batch);
    const rowErrors: RowError[] = [...prepared.rowErrors];
    // One copy per row, into the tablet's log entry, which the MemRowSet then keeps.
    const parts = routePrepared(rt, prepared, rowErrors).map(({ tabletId, rows }) => ({ tabletId, p: takePreparedForLog(schema, prepared, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES) }));
    let appliedCount = 0;
    let timestamp: HybridTime = 0n;
    const results = await Promise.all(parts.map(({ tabletId, p }) => this.tablets.get(tabletId).writePrepared({ ...p, rowErrors: [] })));
    for (const r of results) {
      appliedCount += r.appliedCount;
      if (r.timestamp > timestamp) timestamp = r.timestamp;
      rowErrors.push(...r.rowErrors);
    }
    if (timestamp === 0n) timestamp = this.clock.now();
    rowErrors.sort((a, b) => a.rowIndex - b.rowIndex);
    return { appliedCount, rowErrors, timestamp };
  }

  private tabletsMatchCatalog(rt: TableRuntime): boolean {
    return rt.info.tablets.every((t) => sameColumns(this.tablets.get(t.tabletId).tablet.schema, rt.info.schema));
  }

  bulkLoad(database: string, table: string): BulkLoad {
    this.checkOpen();
    const host: BulkLoadHost = {
      limits: this.limits,
      runtime: (db, name) => this.runtime(db, name),
      replica: (tabletId) => this.tablets.get(tabletId),
      tabletsMatchCatalog: (rt) => this.tabletsMatchCatalog(rt),
      writeArrow: (db, name, kind, batch) => this.doWriteArrow(db, name, kind, batch),
      now: () => this.clock.now(),
      track: (p) => this.track(p),
    };
    return new EmbeddedBulkLoad(host, database, table);
  }

  // --- reads ---

  now(): HybridTime {
    return this.clock.now();
  }

  tabletsFor(database: string, table: string, predicates: readonly ColumnPredicate[]): readonly TabletInfo[] {
    return this.runtime(database, table).router.prune(predicates);
  }

  async *scanTablet(database: string, table: string, tabletId: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const rt = this.runtime(database, table);
    if (!rt.info.tablets.some((t) => t.tabletId === tabletId)) {
      throw new SaigaError('NotFound', `tablet ${tabletId} is not a tablet of '${database}.${table}'`);
    }
    const replica = this.tablets.get(tabletId);
    if (spec.readMode?.kind === 'snapshot') await this.settleSnapshot([replica], spec.readMode.timestamp);
    yield* replica.tablet.scan(spec);
  }

  /**
   * Makes a snapshot read repeatable: later writes get later timestamps (clock update), and ops
   * stamped at or before the snapshot but not yet applied (waiting for their fsync) are applied
   * before the scan starts.
   */
  private async settleSnapshot(replicas: readonly TabletReplica[], ts: HybridTime): Promise<void> {
    // A snapshot slightly ahead of this clock (another node's) pulls the clock forward; a far
    // future one (e.g. HT_MAX used as "latest") reads the latest data, which is not repeatable.
    if (ts > this.clock.peek() && htPhysicalMicros(ts) - htPhysicalMicros(this.clock.peek()) < SNAPSHOT_AHEAD_MICROS_MAX) this.clock.update(ts);
    for (const r of replicas) await r.waitApplied(ts);
  }

  async *scan(database: string, table: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const rt = this.runtime(database, table);
    const tablets = rt.router.prune(spec.predicates ?? []);
    // One snapshot for all tablets so the scan sees one consistent cut.
    const readMode = spec.readMode ?? { kind: 'latest' };
    const fixed: ScanSpec = tablets.length > 1 && readMode.kind === 'latest' ? { ...spec, readMode: { kind: 'snapshot', timestamp: this.clock.now() } } : spec;
    if (fixed.readMode?.kind === 'snapshot') {
      await this.settleSnapshot(tablets.map((t) => this.tablets.get(t.tabletId)), fixed.readMode.timestamp);
    }
    let remaining = spec.limit ?? Infinity;
    for (const t of tablets) {
      if (remaining <= 0) return;
      const perTablet: ScanSpec = remaining === Infinity ? fixed : { ...fixed, limit: remaining };
      for (const b of this.tablets.get(t.tabletId).tablet.scan(perTablet)) {
        if (remaining <= 0) return;
        const out = b.numRows > remaining ? b.slice(0, remaining) : b;
        remaining -= out.numRows;
        yield out;
      }
    }
  }

  async lookup(database: string, table: string, key: readonly Value[], projection?: readonly string[]): Promise<Row | undefined> {
    const rt = this.runtime(database, table);
    if (key.length !== rt.info.schema.keyColumnCount) {
      throw new SaigaError('InvalidArgument', `a lookup of '${table}' needs ${rt.info.schema.keyColumnCount} key values, got ${key.length}`);
    }
    const res = rt.router.routeKey(key);
    if (!res.ok) {
      if (res.code === 'NotFound') return undefined;
      throw new SaigaError('InvalidArgument', `lookup key: ${res.message}`);
    }
    return this.tablets.get(res.tabletId).tablet.lookup(key, HT_MAX, projection);
  }

  tableStats(database: string, table: string): TableStats {
    const rt = this.runtime(database, table);
    let rowCount = 0;
    let onDiskBytes = 0;
    let memoryBytes = 0;
    for (const t of rt.info.tablets) {
      const r = this.tablets.get(t.tabletId);
      const s = r.tablet.stats();
      rowCount += s.rowCountEstimate;
      onDiskBytes += s.onDiskBytes + r.log.sizeBytes();
      memoryBytes += s.memRowSetBytes + (s.flushingMemRowSetBytes ?? 0) + s.deltaMemStoreBytes;
    }
    return { rowCount, onDiskBytes, memoryBytes };
  }

  // --- maintenance ---

  async flush(database?: string, table?: string): Promise<void> {
    this.checkOpen();
    let replicas: TabletReplica[];
    if (database === undefined) replicas = this.tablets.all();
    else if (table === undefined) {
      replicas = this.catalog.listTables(database).flatMap((n) => this.catalog.getTable(database, n).tablets.map((t) => this.tablets.get(t.tabletId)));
    } else replicas = this.runtime(database, table).info.tablets.map((t) => this.tablets.get(t.tabletId));
    await this.writesSettled();
    for (const r of replicas) r.flush();
  }

  private startMaintenance(intervalMs: number, compactionMs: number): void {
    const tick = (compact: boolean): void => {
      if (this.closed || this.maintenanceBusy) return;
      this.maintenanceBusy = true;
      try {
        const all = this.tablets.all();
        if (compact) {
          // One tablet per round bounds the time the event loop is held. History GC and
          // compaction flush the tablet on this thread first (after waiting for its background
          // flush): while writes are in flight (a bulk load) that stalls them for seconds, so the
          // round waits for a quiet moment, at most compactionDeferralsMax rounds in a row.
          const r = all[this.compactCursor % Math.max(1, all.length)];
          const busy = r !== undefined && (this.inflight.size > 0 || all.some((x) => x.writesInFlight() > 0) || backgroundFlushInFlight(r));
          if (busy && this.compactionDeferrals < COMPACTION_DEFERRALS_MAX) {
            this.compactionDeferrals++;
          } else {
            this.compactionDeferrals = 0;
            this.compactCursor++;
            r?.maintain(this.limits, this.clock.now(), true);
          }
        } else {
          for (const r of all) {
            // A background flush in flight releases the log when it is swapped in; maintain()'s
            // memory / log-anchor flush would wait for it and then write the new MemRowSet on
            // this thread (a second-long stall of the writes at 64 MiB MemRowSets, and the
            // tablet's write path already bounds its memory meanwhile): only trim the log.
            if (backgroundFlushInFlight(r)) r.gcLog();
            else r.maintain(this.limits, this.clock.now(), false);
          }
        }
      } catch (e) {
        // Maintenance failures must not crash the process; the next write reports the tablet's state.
        console.error(`saiga maintenance: ${String(e)}`);
      } finally {
        this.maintenanceBusy = false;
      }
    };
    const a = setInterval(() => tick(false), intervalMs);
    const b = setInterval(() => tick(true), compactionMs);
    a.unref();
    b.unref();
    this.timers.push(a, b);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.ddl.run(async () => undefined);
    await this.writesSettled();
    await this.tablets.closeAll();
  }
}

export function openEmbeddedStorage(options: EmbeddedStorageOptions): Promise<StorageApi> {
  return EmbeddedStorage.open(options);
}
