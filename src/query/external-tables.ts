import { mkdirSync, readFileSync, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import type { ColumnPredicate, ScanSpec } from '../common/scan-spec.js';
import type {
  BulkLoad,
  AlterTableStep, CreateTableRequest, StorageApi, TableInfo, TableStats, TabletInfo, WriteOpKind, WriteResult,
} from '../common/storage-api.js';
import type { ColumnSchema, Row, Schema, Value } from '../common/types.js';
import { batchFromColumns, compact } from '../columnar/index.js';
import { expandParquetGlob, openParquetFile } from '../parquet/parquet-file.js';
import { conformColumns, emptyColumnsBatch, fileTypeOf, mapColumns, selectPredicates } from './arrow-conform.js';

/**
 * External Parquet tables and the parquet('glob') table function, presented to the engine as
 * ordinary read-only tables: a StorageApi overlay answers for them and passes everything else
 * to the real storage. Scans push the projection (plus predicate columns) into the Parquet
 * reader and apply the scan spec's predicates to each decoded batch.
 */

/** Database holding the temporary tables that parquet('glob') table functions resolve to. */
export const PARQUET_FUNCTION_DATABASE = '__parquet';
/** File in the data directory with the external-table catalog. */
export const EXTERNAL_CATALOG_FILE = 'external-tables.json';
const TEMP_TABLES_MAX = 64;
const CATALOG_VERSION = 1;

interface ExternalEntry {
  readonly database: string;
  readonly name: string;
  readonly location: string;
  readonly columns: readonly ColumnSchema[];
  rowCount: number;
}

export interface ExternalStorage extends StorageApi {
  /** Registers an external table (persisted when the engine has a data directory). */
  createExternalTable(database: string, name: string, location: string, columns: readonly ColumnSchema[] | null, ifNotExists: boolean): Promise<TableInfo>;
  /** Opens the files of a glob and returns the (database, table) the parquet() call binds to. */
  registerParquetFunction(glob: string): Promise<{ database: string; name: string }>;
  isExternal(database: string, name: string): boolean;
  /** The storage underneath (native tables only). */
  readonly base: StorageApi;
}

function key(db: string, name: string): string {
  return `${db.toLowerCase()}\u0000${name.toLowerCase()}`;
}

/** Columns of a Parquet file schema as nullable table columns. */
export async function schemaOfGlob(glob: string): Promise<{ columns: ColumnSchema[]; rowCount: number }> {
  const files = await expandParquetGlob(glob);
  if (files.length === 0) throw new SaigaError('NotFound', `no Parquet files in ${glob}`);
  let rowCount = 0;
  let columns: ColumnSchema[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = await openParquetFile(files[i]!);
    rowCount += f.rowCount;
    if (i === 0) {
      columns = f.schema.fields.map((field) => {
        let t;
        try { t = fileTypeOf(field.type); } catch {
          throw new SaigaError('NotSupported', `column '${field.name}' of ${files[0]} has type ${String(field.type)}, which Saiga cannot store`);
        }
        const c: ColumnSchema = t.type === 'decimal'
          ? { name: field.name, type: t.type, nullable: true, precision: t.precision, scale: t.scale }
          : { name: field.name, type: t.type, nullable: true };
        return c;
      });
    }
  }
  return { columns, rowCount };
}

class ExternalStorageImpl implements ExternalStorage {
  private readonly tables = new Map<string, ExternalEntry>();
  private readonly temps = new Map<string, ExternalEntry>();
  private nextTemp = 1;

  /** The base storage's bulk load, for native tables only; absent when the base has none. */
  readonly bulkLoad?: (database: string, table: string) => BulkLoad;

  constructor(readonly base: StorageApi, private readonly dataDir: string | undefined) {
    if (dataDir !== undefined) this.load();
    if (base.bulkLoad !== undefined) {
      this.bulkLoad = (database, table) => {
        this.refuseWrite(database, table, 'COPY FROM');
        return base.bulkLoad!(database, table);
      };
    }
  }

  private catalogPath(): string | undefined {
    return this.dataDir === undefined ? undefined : join(this.dataDir, EXTERNAL_CATALOG_FILE);
  }

  private load(): void {
    const path = this.catalogPath()!;
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    let parsed: { version: number; tables: ExternalEntry[] };
    try { parsed = JSON.parse(text) as { version: number; tables: ExternalEntry[] }; } catch (e) {
      throw new SaigaError('Corruption', `external table catalog ${path} is not valid JSON: ${(e as Error).message}`, { file: path });
    }
    if (parsed.version !== CATALOG_VERSION || !Array.isArray(parsed.tables)) {
      throw new SaigaError('Corruption', `external table catalog ${path}: expected version ${CATALOG_VERSION} with a tables array, found version ${String(parsed.version)}`, { file: path });
    }
    for (const t of parsed.tables) this.tables.set(key(t.database, t.name), { ...t });
  }

  private persist(): void {
    const path = this.catalogPath();
    if (path === undefined) return;
    mkdirSync(this.dataDir!, { recursive: true });
    const tmp = `${path}.tmp`;
    const body = JSON.stringify({ version: CATALOG_VERSION, tables: [...this.tables.values()] }, null, 1);
    writeFileSync(tmp, body);
    const fd = openSync(tmp, 'r+');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
    const dfd = openSync(this.dataDir!, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  }

  private entry(db: string, name: string): ExternalEntry | undefined {
    if (db === PARQUET_FUNCTION_DATABASE) return this.temps.get(name.toLowerCase());
    return this.tables.get(key(db, name));
  }

  isExternal(db: string, name: string): boolean {
    return this.entry(db, name) !== undefined;
  }

  private info(e: ExternalEntry): TableInfo {
    const tablet: TabletInfo = { tabletId: 'parquet', hashBuckets: [], range: {} };
    return {
      tableId: `external:${e.database}.${e.name}`,
      database: e.database,
      name: e.name,
      schema: { columns: e.columns, keyColumnCount: 0 },
      partitionSchema: { hash: [], rangeColumns: [] },
      tablets: [tablet],
      schemaVersion: 1,
      replicationFactor: 1,
      comment: `EXTERNAL PARQUET LOCATION '${e.location}'`,
    };
  }

  async createExternalTable(database: string, name: string, location: string, columns: readonly ColumnSchema[] | null, ifNotExists: boolean): Promise<TableInfo> {
    const db = this.base.listDatabases().find((d) => d.toLowerCase() === database.toLowerCase());
    if (db === undefined) throw new SaigaError('UnknownDatabase', `unknown database '${database}'`);
    const existing = this.listTables(db).find((t) => t.toLowerCase() === name.toLowerCase());
    if (existing !== undefined) {
      if (ifNotExists) return this.getTable(db, existing);
      throw new SaigaError('TableExists', `table '${db}.${name}' already exists`);
    }
    const found = await schemaOfGlob(location);
    let cols = found.columns;
    if (columns !== null) {
      // Declared columns must be readable from the files (checked now, not at the first scan).
      const first = (await expandParquetGlob(location))[0]!;
      const f = await openParquetFile(first);
      mapColumns(f.schema, columns, { file: first, table: `${db}.${name}` }, { requireAllFileFields: false, requireAllColumns: true });
      cols = columns.map((c) => ({ ...c, nullable: true }));
    }
    const e: ExternalEntry = { database: db, name, location, columns: cols, rowCount: found.rowCount };
    this.tables.set(key(db, name), e);
    this.persist();
    return this.info(e);
  }

  async registerParquetFunction(glob: string): Promise<{ database: string; name: string }> {
    const { columns, rowCount } = await schemaOfGlob(glob);
    for (const [n, e] of this.temps) {
      if (e.location === glob) {
        this.temps.set(n, { ...e, columns, rowCount });
        return { database: PARQUET_FUNCTION_DATABASE, name: n };
      }
    }
    if (this.temps.size >= TEMP_TABLES_MAX) this.temps.delete(this.temps.keys().next().value as string);
    const name = `parquet_${this.nextTemp++}`;
    this.temps.set(name, { database: PARQUET_FUNCTION_DATABASE, name, location: glob, columns, rowCount });
    return { database: PARQUET_FUNCTION_DATABASE, name };
  }

  // --- catalog ---
  listDatabases(): readonly string[] {
    const dbs = this.base.listDatabases();
    return this.temps.size > 0 ? [...dbs, PARQUET_FUNCTION_DATABASE] : dbs;
  }
  createDatabase(name: string, ifNotExists?: boolean): Promise<void> {
    if (name.toLowerCase() === PARQUET_FUNCTION_DATABASE) throw new SaigaError('InvalidArgument', `database name '${name}' is reserved for parquet() table functions`);
    return this.base.createDatabase(name, ifNotExists);
  }
  async dropDatabase(name: string, ifExists?: boolean): Promise<void> {
    await this.base.dropDatabase(name, ifExists);
    let changed = false;
    for (const [k, e] of this.tables) if (e.database.toLowerCase() === name.toLowerCase()) { this.tables.delete(k); changed = true; }
    if (changed) this.persist();
  }
  listTables(database: string): readonly string[] {
    if (database === PARQUET_FUNCTION_DATABASE) return [...this.temps.keys()];
    const ext = [...this.tables.values()].filter((e) => e.database === database).map((e) => e.name);
    const native = this.base.listTables(database);
    return ext.length === 0 ? native : [...native, ...ext];
  }
  getTable(database: string, name: string): TableInfo {
    const e = this.entry(database, name);
    return e !== undefined ? this.info(e) : this.base.getTable(database, name);
  }
  createTable(req: CreateTableRequest): Promise<TableInfo> {
    if (this.isExternal(req.database, req.name)) throw new SaigaError('TableExists', `table '${req.database}.${req.name}' already exists (external Parquet table)`);
    return this.base.createTable(req);
  }
  async dropTable(database: string, name: string, ifExists?: boolean): Promise<void> {
    const k = key(database, name);
    if (this.tables.has(k)) {
      this.tables.delete(k);
      this.persist();
      return;
    }
    return this.base.dropTable(database, name, ifExists);
  }
  alterTable(database: string, name: string, steps: readonly AlterTableStep[]): Promise<TableInfo> {
    this.refuseWrite(database, name, 'ALTER TABLE');
    return this.base.alterTable(database, name, steps);
  }
  truncateTable(database: string, name: string): Promise<void> {
    this.refuseWrite(database, name, 'TRUNCATE');
    return this.base.truncateTable(database, name);
  }

  private refuseWrite(database: string, name: string, what: string): void {
    if (this.isExternal(database, name)) {
      throw new SaigaError('NotSupported', `${what} on ${database}.${name}: external Parquet tables are read-only (change the files instead)`);
    }
  }

  // --- writes ---
  write(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult> {
    this.refuseWrite(database, table, kind.toUpperCase());
    return this.base.write(database, table, kind, rows);
  }
  writeArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> {
    this.refuseWrite(database, table, kind.toUpperCase());
    return this.base.writeArrow(database, table, kind, batch);
  }

  // --- reads ---
  now(): HybridTime { return this.base.now(); }
  tabletsFor(database: string, table: string, predicates: readonly ColumnPredicate[]): readonly TabletInfo[] {
    const e = this.entry(database, table);
    return e !== undefined ? this.info(e).tablets : this.base.tabletsFor(database, table, predicates);
  }
  scanTablet(database: string, table: string, tabletId: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const e = this.entry(database, table);
    return e !== undefined ? this.scanExternal(e, spec) : this.base.scanTablet(database, table, tabletId, spec);
  }
  scan(database: string, table: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const e = this.entry(database, table);
    return e !== undefined ? this.scanExternal(e, spec) : this.base.scan(database, table, spec);
  }
  async lookup(database: string, table: string, keyValues: readonly Value[], projection?: readonly string[]): Promise<Row | undefined> {
    const e = this.entry(database, table);
    if (e === undefined) return this.base.lookup(database, table, keyValues, projection);
    throw new SaigaError('NotSupported', `point lookup on external table ${database}.${table}: it has no primary key`);
  }
  tableStats(database: string, table: string): TableStats {
    const e = this.entry(database, table);
    return e !== undefined ? { rowCount: e.rowCount, onDiskBytes: 0, memoryBytes: 0 } : this.base.tableStats(database, table);
  }
  flush(database?: string, table?: string): Promise<void> {
    if (database !== undefined && table !== undefined && this.isExternal(database, table)) return Promise.resolve();
    return this.base.flush(database, table);
  }
  close(): Promise<void> { return this.base.close(); }

  private async *scanExternal(e: ExternalEntry, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const schema: Schema = { columns: e.columns, keyColumnCount: 0 };
    const colOf = (n: string): ColumnSchema => {
      const c = schema.columns.find((x) => x.name.toLowerCase() === n.toLowerCase());
      if (c === undefined) throw new SaigaError('UnknownColumn', `external table ${e.database}.${e.name} has no column '${n}'`);
      return c;
    };
    const projection = (spec.projection ?? e.columns.map((c) => c.name)).map(colOf);
    const predicates = spec.predicates ?? [];
    const readCols: ColumnSchema[] = [...projection];
    for (const p of predicates) {
      const c = colOf(p.column);
      if (!readCols.includes(c)) readCols.push(c);
    }
    let remaining = spec.limit ?? Infinity;
    if (remaining <= 0) return;
    const files = await expandParquetGlob(e.location);
    let seen = 0;
    for (const file of files) {
      const f = await openParquetFile(file);
      // COUNT(*) with no predicates reads one column only to learn the batch sizes.
      const fetch = readCols.length > 0 ? readCols : [];
      const mapping = mapColumns(f.schema, fetch, { file, table: `${e.database}.${e.name}` }, { requireAllFileFields: false, requireAllColumns: true });
      const names = fetch.length > 0 ? mapping.fileIndex.map((i) => f.schema.fields[i]!.name) : f.schema.fields.slice(0, 1).map((x) => x.name);
      for await (const batch of f.batches({ columns: names, ...(spec.batchRowCount !== undefined ? { batchRowCount: spec.batchRowCount } : {}) })) {
        const cols = fetch.length > 0 ? conformColumns(batch, mapping, f.schema) : [];
        const sel = predicates.length > 0 ? selectPredicates(fetch.map((c) => c.name), cols, predicates) : null;
        let n = sel === null ? batch.numRows : sel.length;
        if (n === 0) continue;
        const cut = n > remaining ? Int32Array.from({ length: remaining }, (_, i) => (sel === null ? i : sel[i]!)) : sel;
        n = Math.min(n, remaining);
        seen += n;
        remaining -= n;
        if (projection.length === 0) yield emptyColumnsBatch(n);
        else {
          const out = projection.map((c) => compact(cols[fetch.indexOf(c)]!, cut));
          yield batchFromColumns(projection.map((c) => c.name), out, projection.map((c) => c.nullable));
        }
        if (remaining <= 0) break;
      }
      if (remaining <= 0) break;
    }
    if (spec.limit === undefined && predicates.length === 0) e.rowCount = seen;
  }
}

/** Wraps a storage with external Parquet tables; `dataDir` holds their catalog (in memory without one). */
export function withExternalTables(base: StorageApi, dataDir?: string): ExternalStorage {
  if (base instanceof ExternalStorageImpl) return base;
  return new ExternalStorageImpl(base, dataDir);
}

export function isExternalStorage(s: StorageApi): s is ExternalStorage {
  return s instanceof ExternalStorageImpl;
}


