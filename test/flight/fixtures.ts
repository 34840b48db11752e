/**
 * Test-only StorageApi and QueryEngine that really store and return rows (in memory), used
 * until src/client's embedded storage and src/query's engine land. Deliberately simple:
 * rows in a Map per table, hash-partitioned into tablets, each row version stamped with its
 * commit hybrid time so snapshot scans are exact.
 */
import { Field, RecordBatch, Schema as ArrowSchema, Struct, makeData, type Data } from 'apache-arrow';
import { SaigaError } from '../../src/common/errors.js';
import { HybridClock, type HybridTime } from '../../src/common/hybrid-time.js';
import type { ColumnPredicate, ScanSpec } from '../../src/common/scan-spec.js';
import type {
  AlterTableStep, CreateTableRequest, StorageApi, TableInfo, TableStats, TabletInfo, WriteOpKind, WriteResult, RowError,
} from '../../src/common/storage-api.js';
import type { ColumnSchema, DataType, Row, Value } from '../../src/common/types.js';
import type {
  PreparedStatement, QueryEngine, ResultColumn, Session, SessionOptions, StatementResult,
} from '../../src/query/api.js';
import { arrowTypeOf } from '../../src/server/flight/arrow-schema.js';

// ---------------------------------------------------------------------------------------
// Arrow <-> Saiga values, straight from the buffers (builders would reinterpret units).

export function readColumn(data: Data, type: DataType): Value[] {
  const out: Value[] = [];
  const bitmap = data.nullBitmap;
  const valid = (i: number): boolean => {
    if (bitmap === undefined || bitmap === null || bitmap.length === 0 || data.nullCount === 0) return true;
    const j = data.offset + i;
    return ((bitmap[j >> 3] as number) & (1 << (j & 7))) !== 0;
  };
  const vals = data.values as ArrayLike<number | bigint>;
  for (let i = 0; i < data.length; i++) {
    if (!valid(i)) {
      out.push(null);
      continue;
    }
    const j = data.offset + i;
    switch (type) {
      case 'bool': out.push((((data.values as Uint8Array)[j >> 3] as number) & (1 << (j & 7))) !== 0); break;
      case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
        out.push(vals[j] as number); break;
      case 'int64': out.push((data.values as BigInt64Array)[j] as bigint); break;
      case 'timestamp': out.push(Number((data.values as BigInt64Array)[j] as bigint)); break;
      case 'decimal': {
        const w = data.values as Uint32Array;
        let v = 0n;
        for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(w[j * 4 + k] as number);
        out.push(BigInt.asIntN(128, v));
        break;
      }
      case 'string': case 'binary': {
        const offs = data.valueOffsets as Int32Array;
        const bytes = (data.values as Uint8Array).subarray(offs[j] as number, offs[j + 1] as number);
        out.push(type === 'string' ? new TextDecoder().decode(bytes) : Uint8Array.from(bytes));
        break;
      }
    }
  }
  return out;
}

export function buildColumn(col: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>, values: readonly Value[]): Data {
  const type = arrowTypeOf(col);
  const n = values.length;
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  const common = { type, length: n, nullCount, nullBitmap: bitmap };
  switch (col.type) {
    case 'bool': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      values.forEach((v, i) => { if (v === true) bits[i >> 3]! |= 1 << (i & 7); });
      return makeData({ ...common, data: bits } as never);
    }
    case 'int8': return makeData({ ...common, data: Int8Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int16': return makeData({ ...common, data: Int16Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int32': case 'date': return makeData({ ...common, data: Int32Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'float': return makeData({ ...common, data: Float32Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'double': return makeData({ ...common, data: Float64Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int64': case 'timestamp': return makeData({ ...common, data: BigInt64Array.from(values, (v) => BigInt((v ?? 0) as number | bigint)) } as never);
    case 'decimal': {
      const w = new Uint32Array(n * 4);
      values.forEach((v, i) => {
        const u = BigInt.asUintN(128, BigInt((v ?? 0) as bigint));
        for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
      });
      return makeData({ ...common, data: w } as never);
    }
    case 'string': case 'binary': {
      const parts = values.map((v) => (v === null || v === undefined ? new Uint8Array(0) : typeof v === 'string' ? new TextEncoder().encode(v) : (v as Uint8Array)));
      const offsets = new Int32Array(n + 1);
      parts.forEach((p, i) => { offsets[i + 1] = (offsets[i] as number) + p.length; });
      const bytes = new Uint8Array(offsets[n] as number);
      parts.forEach((p, i) => bytes.set(p, offsets[i] as number));
      return makeData({ ...common, valueOffsets: offsets, data: bytes } as never);
    }
  }
}

export function buildBatch(columns: readonly ColumnSchema[], rows: readonly Row[]): RecordBatch {
  const fields = columns.map((c) => new Field(c.name, arrowTypeOf(c), c.nullable));
  const children = columns.map((c, ci) => buildColumn(c, rows.map((r) => r[ci] ?? null)));
  const schema = new ArrowSchema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }));
}

export function batchRows(batch: RecordBatch, types: readonly DataType[]): Value[][] {
  const cols = types.map((t, i) => readColumn(batch.getChildAt(i)!.data[0] as Data, t));
  return Array.from({ length: batch.numRows }, (_, r) => cols.map((c) => c[r] as Value));
}

// ---------------------------------------------------------------------------------------
// MemoryStorage

interface Version { readonly ts: HybridTime; readonly row: Row }
interface MemTable { info: TableInfo; rows: Map<string, Version[]> }

function keyOf(info: TableInfo, row: Row): string {
  return JSON.stringify(row.slice(0, info.schema.keyColumnCount), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function bucketOf(key: string, buckets: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % buckets;
}

export class MemoryStorage implements StorageApi {
  private readonly dbs = new Map<string, Map<string, MemTable>>();
  private readonly clock = new HybridClock();
  private nextTableId = 1;
  flushCount = 0;

  constructor(private readonly tabletsPerTable = 3) {}

  listDatabases(): readonly string[] { return [...this.dbs.keys()]; }
  async createDatabase(name: string, ifNotExists?: boolean): Promise<void> {
    if (this.dbs.has(name)) {
      if (ifNotExists === true) return;
      throw new SaigaError('DatabaseExists', `database ${name} exists`);
    }
    this.dbs.set(name, new Map());
  }
  async dropDatabase(name: string): Promise<void> { this.dbs.delete(name); }
  listTables(database: string): readonly string[] { return [...(this.dbs.get(database)?.keys() ?? [])]; }
  private table(database: string, name: string): MemTable {
    const t = this.dbs.get(database)?.get(name);
    if (t === undefined) throw new SaigaError('UnknownTable', `table ${database}.${name} does not exist`);
    return t;
  }
  getTable(database: string, name: string): TableInfo { return this.table(database, name).info; }
  async createTable(req: CreateTableRequest): Promise<TableInfo> {
    const db = this.dbs.get(req.database);
    if (db === undefined) throw new SaigaError('UnknownDatabase', `database ${req.database} does not exist`);
    if (db.has(req.name)) throw new SaigaError('TableExists', `table ${req.name} exists`);
    const id = `t${this.nextTableId++}`;
    const tablets: TabletInfo[] = Array.from({ length: this.tabletsPerTable }, (_, i) => ({ tabletId: `${id}-${i}`, hashBuckets: [i], range: {} }));
    const info: TableInfo = {
      tableId: id, database: req.database, name: req.name, schema: req.schema, partitionSchema: req.partitionSchema,
      tablets, schemaVersion: 1, replicationFactor: 1,
    };
    db.set(req.name, { info, rows: new Map() });
    return info;
  }
  async dropTable(database: string, name: string, ifExists?: boolean): Promise<void> {
    if (this.dbs.get(database)?.delete(name) !== true && ifExists !== true) {
      throw new SaigaError('UnknownTable', `table ${database}.${name} does not exist`);
    }
  }
  async alterTable(_d: string, _n: string, _s: readonly AlterTableStep[]): Promise<TableInfo> {
    throw new SaigaError('NotSupported', 'alterTable is not in the test storage');
  }
  async truncateTable(database: string, name: string): Promise<void> { this.table(database, name).rows.clear(); }

  async write(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult> {
    const t = this.table(database, table);
    const ts = this.clock.now();
    const rowErrors: RowError[] = [];
    let applied = 0;
    rows.forEach((row, i) => {
      const key = keyOf(t.info, row);
      const versions = t.rows.get(key);
      const live = versions !== undefined && versions[versions.length - 1]!.row.length > 0;
      if (kind === 'insert' || kind === 'insert_ignore') {
        if (live) {
          if (kind === 'insert') rowErrors.push({ rowIndex: i, code: 'AlreadyPresent', message: `key ${key} already present` });
          return;
        }
      } else if (kind === 'delete' || kind === 'delete_ignore') {
        if (!live) {
          if (kind === 'delete') rowErrors.push({ rowIndex: i, code: 'NotFound', message: `key ${key} not found` });
          return;
        }
        versions.push({ ts, row: [] });
        applied++;
        return;
      }
      const full = t.info.schema.columns.map((c, ci) => row[ci] === undefined ? (c.defaultValue ?? null) : row[ci]);
      if (versions === undefined) t.rows.set(key, [{ ts, row: full }]);
      else versions.push({ ts, row: full });
      applied++;
    });
    return { appliedCount: applied, rowErrors, timestamp: ts };
  }

  async writeArrow(database: string, table: string, kind: WriteOpKind, batch: RecordBatch): Promise<WriteResult> {
    const t = this.table(database, table);
    const cols = t.info.schema.columns;
    const perCol: (Value[] | undefined)[] = cols.map((c) => {
      const idx = batch.schema.fields.findIndex((f) => f.name.toLowerCase() === c.name.toLowerCase());
      return idx < 0 ? undefined : readColumn(batch.getChildAt(idx)!.data[0] as Data, c.type);
    });
    const rows: Row[] = Array.from({ length: batch.numRows }, (_, r) => perCol.map((vals) => (vals === undefined ? undefined : vals[r])));
    return this.write(database, table, kind, rows);
  }

  now(): HybridTime { return this.clock.now(); }
  tabletsFor(database: string, table: string, _p: readonly ColumnPredicate[]): readonly TabletInfo[] { return this.getTable(database, table).tablets; }

  async *scanTablet(database: string, table: string, tabletId: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    const t = this.table(database, table);
    const tabletIndex = t.info.tablets.findIndex((x) => x.tabletId === tabletId);
    if (tabletIndex < 0) throw new SaigaError('NotFound', `tablet ${tabletId} not in ${database}.${table}`);
    const ts = spec.readMode?.kind === 'snapshot' ? spec.readMode.timestamp : this.clock.now();
    const proj = spec.projection ?? t.info.schema.columns.map((c) => c.name);
    const idx = proj.map((p) => t.info.schema.columns.findIndex((c) => c.name === p));
    const columns = idx.map((i) => t.info.schema.columns[i]!);
    const out: Row[] = [];
    for (const [key, versions] of [...t.rows].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (bucketOf(key, t.info.tablets.length) !== tabletIndex) continue;
      let v: Version | undefined;
      for (const x of versions) if (x.ts <= ts) v = x;
      if (v === undefined || v.row.length === 0) continue;
      if (!(spec.predicates ?? []).every((p) => matches(t.info, v.row, p))) continue;
      out.push(idx.map((i) => v.row[i]));
    }
    const per = spec.batchRowCount ?? 65536;
    for (let i = 0; i < out.length; i += per) yield buildBatch(columns, out.slice(i, i + per));
  }

  async *scan(database: string, table: string, spec: ScanSpec): AsyncIterable<RecordBatch> {
    for (const tab of this.getTable(database, table).tablets) yield* this.scanTablet(database, table, tab.tabletId, spec);
  }
  async lookup(): Promise<Row | undefined> { throw new SaigaError('NotSupported', 'lookup is not in the test storage'); }
  tableStats(database: string, table: string): TableStats {
    return { rowCount: this.table(database, table).rows.size, onDiskBytes: 0, memoryBytes: 0 };
  }
  async flush(): Promise<void> { this.flushCount++; }
  async close(): Promise<void> { /* nothing to release */ }
}

function matches(info: TableInfo, row: Row, p: ColumnPredicate): boolean {
  const v = row[info.schema.columns.findIndex((c) => c.name === p.column)];
  if (p.kind === 'compare' && p.op === '=') return v !== null && v !== undefined && v == p.value; // eslint-disable-line eqeqeq
  throw new SaigaError('NotSupported', `predicate ${p.kind} not in the test storage`);
}

// ---------------------------------------------------------------------------------------
// TinyEngine: SELECT cols FROM [db.]t [WHERE col = literal|?]; INSERT INTO [db.]t VALUES (...), ...

const SELECT_RE = /^\s*select\s+(.+?)\s+from\s+([\w.]+)(?:\s+where\s+(\w+)\s*=\s*(\?|-?\d+|'[^']*'))?\s*;?\s*$/is;
const INSERT_RE = /^\s*insert\s+into\s+([\w.]+)\s+values\s*(.+?);?\s*$/is;

function literal(s: string): Value {
  if (s.startsWith("'")) return s.slice(1, -1);
  return Number(s);
}

export class TinyEngine implements QueryEngine {
  constructor(private readonly storage: StorageApi) {}

  openSession(options: SessionOptions): Session {
    const storage = this.storage;
    const resolve = (name: string, db: string | null): { db: string; table: string } => {
      const parts = name.split('.');
      if (parts.length === 2) return { db: parts[0]!, table: parts[1]! };
      if (db === null) throw new SaigaError('NoDatabaseSelected', 'no database selected');
      return { db, table: name };
    };
    const session: Session = {
      connectionId: options.connectionId,
      user: options.user,
      database: options.database ?? null,
      variables: new Map(),
      async execute(sql: string, opts): Promise<StatementResult[]> {
        return [await run(sql, opts?.params ?? [])];
      },
      async prepare(sql: string): Promise<PreparedStatement> {
        const m = SELECT_RE.exec(sql);
        const columns = m === null ? [] : selectColumns(m);
        return {
          id: 1, paramCount: (sql.match(/\?/g) ?? []).length, columns,
          execute: (params) => run(sql, params),
          close: () => undefined,
        };
      },
      lastWarnings: () => [],
      close: () => undefined,
    };
    const selectColumns = (m: RegExpExecArray): ResultColumn[] => {
      const { db, table } = resolve(m[2]!, session.database);
      const info = storage.getTable(db, table);
      const names = m[1]!.trim() === '*' ? info.schema.columns.map((c) => c.name) : m[1]!.split(',').map((s) => s.trim());
      return names.map((n) => {
        const c = info.schema.columns.find((x) => x.name.toLowerCase() === n.toLowerCase());
        if (c === undefined) throw new SaigaError('UnknownColumn', `unknown column ${n}`);
        const rc: ResultColumn = { name: c.name, type: c.type, nullable: c.nullable, table, database: db };
        return c.type === 'decimal' ? { ...rc, precision: c.precision ?? 38, scale: c.scale ?? 0 } : rc;
      });
    };
    const run = async (sql: string, params: readonly Value[]): Promise<StatementResult> => {
      const sel = SELECT_RE.exec(sql);
      if (sel !== null) {
        const { db, table } = resolve(sel[2]!, session.database);
        const columns = selectColumns(sel);
        const predicates: ColumnPredicate[] = sel[3] === undefined ? [] : [{
          kind: 'compare', column: sel[3], op: '=', value: sel[4] === '?' ? (params[0] ?? null) : literal(sel[4]!),
        }];
        const arrowSchema = new ArrowSchema(columns.map((c) => new Field(c.name, arrowTypeOf(c), c.nullable)));
        const batches = storage.scan(db, table, { projection: columns.map((c) => c.name), predicates, readMode: { kind: 'latest' } });
        return { kind: 'rows', columns, arrowSchema, batches };
      }
      const ins = INSERT_RE.exec(sql);
      if (ins !== null) {
        const { db, table } = resolve(ins[1]!, session.database);
        const tuples = [...ins[2]!.matchAll(/\(([^)]*)\)/g)].map((t) => t[1]!.split(',').map((s) => literal(s.trim())));
        const info = storage.getTable(db, table);
        const rows = tuples.map((t) => info.schema.columns.map((c, i) => (c.type === 'int64' && typeof t[i] === 'number' ? BigInt(t[i] as number) : t[i])));
        const r = await storage.write(db, table, 'insert', rows);
        if (r.rowErrors.length > 0) throw new SaigaError('AlreadyPresent', r.rowErrors[0]!.message);
        return { kind: 'ok', affectedRows: r.appliedCount, warnings: [] };
      }
      throw new SaigaError('ParseError', `the test engine cannot parse: ${sql}`);
    };
    return session;
  }

  async close(): Promise<void> { /* nothing to release */ }
}
