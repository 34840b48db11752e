import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert } from '../common/assert.js';
import { corruption, SaigaError } from '../common/errors.js';
import type { PartitionSchema, RangeBounds } from '../common/partition.js';
import {
  bucketCombinations,
  PartitionRouter,
  rangesEqual,
  rangesOverlap,
  validatePartitionSchema,
  validateRange,
} from '../common/partitioning.js';
import type { AlterTableStep, CreateTableRequest, TableInfo, TabletInfo } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, columnIndex, DATA_TYPES, type ColumnSchema, type Schema } from '../common/types.js';
import { jsonReplacer, jsonReviver, syncDir } from '../wal/index.js';

/**
 * The catalog of the embedded master: databases, tables (schema, partition schema, tablets) and
 * the hidden auto-increment counters. Persisted as one file replaced atomically (write temp,
 * fsync, rename, fsync dir) on every change; callers change it one step at a time.
 */

export const DEFAULT_DATABASE = 'default';
const CATALOG_FILE = 'catalog.json';
/** Auto-increment ids are reserved in blocks so a write does not rewrite the catalog each time. */
export const AUTO_INCREMENT_RESERVE_BLOCK = 100_000n;

interface CatalogState {
  readonly version: 1;
  readonly databases: string[];
  readonly tables: TableInfo[];
  /** tableId -> highest auto-increment id reserved (persisted before any id of the block is used). */
  readonly autoIncrementReserved: Record<string, bigint>;
}

function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** Catalog.lookupIndex(): name lookups of one catalog state. */
interface CatalogIndex {
  readonly of: CatalogState;
  /** Lower-cased name -> stored name. */
  readonly databases: Map<string, string>;
  /** Stored names. */
  readonly databasesExact: Set<string>;
  /** Lower-cased `database\0table` -> table. */
  readonly tables: Map<string, TableInfo>;
  /** Stored database name -> stored table name -> table. */
  readonly tablesExact: Map<string, Map<string, TableInfo>>;
}

function lc(s: string): string {
  return s.toLowerCase();
}

export class Catalog {
  private state: CatalogState;
  /** tableId -> next id to hand out (in memory; the reserved bound is persisted). */
  private readonly nextAutoId = new Map<string, bigint>();
  /**
   * Lookups by name (every statement resolves its table, twice per prepared INSERT), built from
   * `state` when first needed after it changed (a linear scan lower-casing every name was per
   * lookup). Names are case-insensitive; a name spelled as stored is found without lower-casing.
   */
  private index: CatalogIndex | undefined;

  private constructor(
    private readonly dir: string,
    state: CatalogState,
  ) {
    this.state = state;
    for (const [id, reserved] of Object.entries(state.autoIncrementReserved)) this.nextAutoId.set(id, reserved + 1n);
  }

  static open(dataDir: string): Catalog {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, CATALOG_FILE);
    if (!existsSync(path)) {
      const c = new Catalog(dataDir, { version: 1, databases: [DEFAULT_DATABASE], tables: [], autoIncrementReserved: {} });
      c.persist(c.state);
      return c;
    }
    const text = readFileSync(path, 'utf8');
    let outer: { crc: number; body: string };
    try {
      outer = JSON.parse(text) as { crc: number; body: string };
    } catch {
      throw corruption(path, 0, 'catalog is not valid JSON');
    }
    if (typeof outer.body !== 'string' || crc32(Buffer.from(outer.body, 'utf8')) !== outer.crc) {
      throw corruption(path, 0, 'catalog checksum mismatch');
    }
    const state = JSON.parse(outer.body, jsonReviver) as CatalogState;
    return new Catalog(dataDir, state);
  }

  private persist(next: CatalogState): void {
    const body = JSON.stringify(next, jsonReplacer);
    const bytes = Buffer.from(JSON.stringify({ crc: crc32(Buffer.from(body, 'utf8')), body }), 'utf8');
    const path = join(this.dir, CATALOG_FILE);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDir(this.dir);
    this.state = next;
  }

  // --- databases ---

  listDatabases(): string[] {
    return [...this.state.databases];
  }

  private findDatabase(name: string): string | undefined {
    const ix = this.lookupIndex();
    return ix.databasesExact.has(name) ? name : ix.databases.get(lc(name));
  }

  private lookupIndex(): CatalogIndex {
    const state = this.state;
    if (this.index?.of === state) return this.index;
    // The first match in state order wins, as the scans did; the exact-spelling maps hold only
    // those winners, so a hit there is the case-insensitive answer too.
    const databases = new Map<string, string>();
    const databasesExact = new Set<string>();
    for (const d of state.databases) {
      if (databases.has(lc(d))) continue;
      databases.set(lc(d), d);
      databasesExact.add(d);
    }
    const tables = new Map<string, TableInfo>();
    const tablesExact = new Map<string, Map<string, TableInfo>>();
    for (const t of state.tables) {
      const k = `${lc(t.database)}\0${lc(t.name)}`;
      if (tables.has(k)) continue;
      tables.set(k, t);
      let m = tablesExact.get(t.database);
      if (m === undefined) tablesExact.set(t.database, (m = new Map()));
      m.set(t.name, t);
    }
    this.index = { of: state, databases, databasesExact, tables, tablesExact };
    return this.index;
  }

  requireDatabase(name: string): string {
    const d = this.findDatabase(name);
    if (d === undefined) throw new SaigaError('UnknownDatabase', `unknown database '${name}'`);
    return d;
  }

  createDatabase(name: string, ifNotExists = false): void {
    if (!/^[A-Za-z0-9_$][A-Za-z0-9_$-]*$/.test(name) || name.length > 128) {
      throw new SaigaError('InvalidArgument', `database name '${name}' must be 1..128 letters, digits, _ $ -`);
    }
    if (this.findDatabase(name) !== undefined) {
      if (ifNotExists) return;
      throw new SaigaError('DatabaseExists', `database '${name}' already exists`);
    }
    this.persist({ ...this.state, databases: [...this.state.databases, name] });
  }

  /** Removes the database and returns its tables (the caller deletes their tablets). */
  dropDatabase(name: string, ifExists = false): TableInfo[] {
    const d = this.findDatabase(name);
    if (d === undefined) {
      if (ifExists) return [];
      throw new SaigaError('UnknownDatabase', `unknown database '${name}'`);
    }
    if (lc(d) === DEFAULT_DATABASE) throw new SaigaError('InvalidArgument', `database '${DEFAULT_DATABASE}' cannot be dropped`);
    const dropped = this.state.tables.filter((t) => lc(t.database) === lc(d));
    const autoIncrementReserved = { ...this.state.autoIncrementReserved };
    for (const t of dropped) delete autoIncrementReserved[t.tableId];
    this.persist({
      ...this.state,
      databases: this.state.databases.filter((x) => x !== d),
      tables: this.state.tables.filter((t) => lc(t.database) !== lc(d)),
      autoIncrementReserved,
    });
    return dropped;
  }

  // --- tables ---

  listTables(database: string): string[] {
    const d = this.requireDatabase(database);
    return this.state.tables.filter((t) => lc(t.database) === lc(d)).map((t) => t.name);
  }

  allTables(): readonly TableInfo[] {
    return this.state.tables;
  }

  findTable(database: string, name: string): TableInfo | undefined {
    const d = this.requireDatabase(database);
    const ix = this.lookupIndex();
    return ix.tablesExact.get(d)?.get(name) ?? ix.tables.get(`${lc(d)}\0${lc(name)}`);
  }

  getTable(database: string, name: string): TableInfo {
    const t = this.findTable(database, name);
    if (t === undefined) throw new SaigaError('UnknownTable', `unknown table '${database}.${name}'`);
    return t;
  }

  /** Validates a create request and builds the table (not yet persisted: the caller creates its tablets first). */
  planCreateTable(req: CreateTableRequest): TableInfo {
    const database = this.requireDatabase(req.database);
    if (!/^[A-Za-z0-9_$][A-Za-z0-9_$-]*$/.test(req.name) || req.name.length > 128) {
      throw new SaigaError('InvalidArgument', `table name '${req.name}' must be 1..128 letters, digits, _ $ -`);
    }
    if (this.findTable(database, req.name) !== undefined) {
      throw new SaigaError('TableExists', `table '${database}.${req.name}' already exists`);
    }
    const schema = withHiddenKey(req.schema);
    validateSchema(schema);
    validatePartitionSchema(schema, req.partitionSchema);
    const tablets = planTablets(schema, req.partitionSchema, req.ranges ?? []);
    const info: TableInfo = {
      tableId: newId(),
      database,
      name: req.name,
      schema,
      partitionSchema: req.partitionSchema,
      tablets,
      schemaVersion: 1,
      replicationFactor: req.replicationFactor ?? 1,
      ...(req.comment === undefined ? {} : { comment: req.comment }),
    };
    return info;
  }

  addTable(info: TableInfo): void {
    assert(this.state.tables.every((t) => t.tableId !== info.tableId), `table id ${info.tableId} is new`);
    this.persist({ ...this.state, tables: [...this.state.tables, info] });
  }

  removeTable(tableId: string): void {
    const autoIncrementReserved = { ...this.state.autoIncrementReserved };
    delete autoIncrementReserved[tableId];
    this.nextAutoId.delete(tableId);
    this.persist({ ...this.state, tables: this.state.tables.filter((t) => t.tableId !== tableId), autoIncrementReserved });
  }

  replaceTable(info: TableInfo): void {
    const i = this.state.tables.findIndex((t) => t.tableId === info.tableId);
    assert(i >= 0, `table ${info.tableId} is in the catalog`);
    const tables = [...this.state.tables];
    tables[i] = info;
    this.persist({ ...this.state, tables });
  }

  /**
   * Applies one alter step to a table description (validated; not persisted). Column steps
   * change the schema; partition steps change the tablet list (new tablets get fresh ids).
   */
  planAlterStep(t: TableInfo, step: AlterTableStep): TableInfo {
    switch (step.kind) {
      case 'addColumn': {
        const c = step.column;
        if (columnIndex(t.schema, c.name) >= 0) throw new SaigaError('InvalidArgument', `column '${c.name}' already exists in '${t.name}'`);
        if (!c.nullable && c.defaultValue === undefined) {
          throw new SaigaError('InvalidArgument', `added column '${c.name}' must be nullable or have a default`);
        }
        const schema: Schema = { ...t.schema, columns: [...t.schema.columns, c] };
        validateSchema(schema);
        return { ...t, schema, schemaVersion: t.schemaVersion + 1 };
      }
      case 'dropColumn': {
        const i = requireColumn(t, step.name);
        if (i < t.schema.keyColumnCount) throw new SaigaError('InvalidArgument', `cannot drop primary-key column '${step.name}'`);
        const schema: Schema = { ...t.schema, columns: t.schema.columns.filter((_c, k) => k !== i) };
        return { ...t, schema, schemaVersion: t.schemaVersion + 1 };
      }
      case 'renameColumn': {
        const i = requireColumn(t, step.from);
        const j = columnIndex(t.schema, step.to);
        if (j >= 0 && j !== i) throw new SaigaError('InvalidArgument', `column '${step.to}' already exists in '${t.name}'`);
        if (i < t.schema.keyColumnCount) throw new SaigaError('NotSupported', `renaming primary-key column '${step.from}' is not supported`);
        const columns = t.schema.columns.map((c, k) => (k === i ? { ...c, name: step.to } : c));
        const schema: Schema = { ...t.schema, columns };
        validateSchema(schema);
        return { ...t, schema, schemaVersion: t.schemaVersion + 1 };
      }
      case 'renameTable': {
        const existing = this.findTable(t.database, step.newName);
        if (existing !== undefined && existing.tableId !== t.tableId) {
          throw new SaigaError('TableExists', `table '${t.database}.${step.newName}' already exists`);
        }
        if (!/^[A-Za-z0-9_$][A-Za-z0-9_$-]*$/.test(step.newName)) throw new SaigaError('InvalidArgument', `bad table name '${step.newName}'`);
        return { ...t, name: step.newName };
      }
      case 'addRangePartition': {
        if (t.partitionSchema.rangeColumns.length === 0) throw new SaigaError('InvalidArgument', `table '${t.name}' has no range partitioning`);
        const router = new PartitionRouter(t.schema, t.partitionSchema, t.tablets);
        validateRange(step.range, router);
        for (const r of router.rangeBounds()) {
          if (rangesOverlap(r, step.range, router)) throw new SaigaError('InvalidArgument', 'the new range partition overlaps an existing one');
        }
        const added: TabletInfo[] = bucketCombinations(t.partitionSchema).map((hashBuckets) => ({ tabletId: newId(), hashBuckets, range: step.range }));
        return { ...t, tablets: [...t.tablets, ...added] };
      }
      case 'dropRangePartition': {
        if (t.partitionSchema.rangeColumns.length === 0) throw new SaigaError('InvalidArgument', `table '${t.name}' has no range partitioning`);
        const router = new PartitionRouter(t.schema, t.partitionSchema, t.tablets);
        const keep = t.tablets.filter((x) => !rangesEqual(x.range, step.range, router));
        if (keep.length === t.tablets.length) throw new SaigaError('NotFound', 'no range partition with exactly these bounds');
        return { ...t, tablets: keep };
      }
    }
  }

  /** New tablet ids for every tablet of the table (TRUNCATE): same partitions, empty tablets. */
  planTruncate(t: TableInfo): TableInfo {
    return { ...t, tablets: t.tablets.map((x) => ({ ...x, tabletId: newId() })) };
  }

  /**
   * Reserves `count` consecutive auto-increment ids for a table and returns the first. Ids are
   * never handed out twice, across restarts too: a new block is persisted before it is used.
   */
  reserveAutoIncrement(tableId: string, count: number): bigint {
    assert(count > 0, 'reserve at least one id');
    const reserved = this.state.autoIncrementReserved[tableId] ?? 0n;
    const next = this.nextAutoId.get(tableId) ?? reserved + 1n;
    const last = next + BigInt(count) - 1n;
    if (last > reserved) {
      const block = BigInt(count) > AUTO_INCREMENT_RESERVE_BLOCK ? BigInt(count) : AUTO_INCREMENT_RESERVE_BLOCK;
      this.persist({ ...this.state, autoIncrementReserved: { ...this.state.autoIncrementReserved, [tableId]: next - 1n + block } });
    }
    this.nextAutoId.set(tableId, last + 1n);
    return next;
  }
}

function requireColumn(t: TableInfo, name: string): number {
  const i = columnIndex(t.schema, name);
  if (i < 0) throw new SaigaError('UnknownColumn', `unknown column '${name}' in '${t.name}'`);
  return i;
}

/** Adds the hidden auto-increment int64 key to a schema declared without a primary key. */
export function withHiddenKey(schema: Schema): Schema {
  if (schema.keyColumnCount > 0) return schema;
  const hidden: ColumnSchema = { name: AUTO_INCREMENT_COLUMN, type: 'int64', nullable: false, autoIncrement: true };
  return { columns: [hidden, ...schema.columns], keyColumnCount: 1 };
}

export function validateSchema(schema: Schema): void {
  if (schema.columns.length === 0) throw new SaigaError('InvalidArgument', 'a table needs at least one column');
  if (schema.keyColumnCount < 1 || schema.keyColumnCount > schema.columns.length) {
    throw new SaigaError('InvalidArgument', `key column count ${schema.keyColumnCount} outside [1, ${schema.columns.length}]`);
  }
  const names = new Set<string>();
  schema.columns.forEach((c, i) => {
    if (c.name.length === 0 || c.name.length > 256) throw new SaigaError('InvalidArgument', `column name '${c.name}' must be 1..256 characters`);
    if (names.has(lc(c.name))) throw new SaigaError('InvalidArgument', `duplicate column name '${c.name}'`);
    names.add(lc(c.name));
    if (!DATA_TYPES.includes(c.type)) throw new SaigaError('InvalidArgument', `unknown type '${String(c.type)}' of column '${c.name}'`);
    if (i < schema.keyColumnCount && c.nullable) throw new SaigaError('InvalidArgument', `primary-key column '${c.name}' cannot be nullable`);
    if (c.type === 'decimal' && (c.precision === undefined || c.precision < 1 || c.precision > 38)) {
      throw new SaigaError('InvalidArgument', `decimal column '${c.name}' needs a precision in [1, 38]`);
    }
  });
}

function planTablets(schema: Schema, ps: PartitionSchema, ranges: readonly RangeBounds[]): TabletInfo[] {
  const combos = bucketCombinations(ps);
  const effective: RangeBounds[] = ps.rangeColumns.length === 0 || ranges.length === 0 ? [{}] : [...ranges];
  if (ps.rangeColumns.length > 0) {
    const router = new PartitionRouter(schema, ps, []);
    for (let i = 0; i < effective.length; i++) {
      validateRange(effective[i] as RangeBounds, router);
      for (let j = 0; j < i; j++) {
        if (rangesOverlap(effective[i] as RangeBounds, effective[j] as RangeBounds, router)) {
          throw new SaigaError('InvalidArgument', `range partitions ${j} and ${i} overlap`);
        }
      }
    }
  }
  const out: TabletInfo[] = [];
  for (const range of effective) for (const hashBuckets of combos) out.push({ tabletId: newId(), hashBuckets, range });
  if (out.length > 4096) throw new SaigaError('InvalidArgument', `a table may have at most 4096 tablets, this one would have ${out.length}`);
  return out;
}
