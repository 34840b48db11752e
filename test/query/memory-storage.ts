import * as arrow from 'apache-arrow';
import { arrowTypeOf } from '../../src/common/arrow-type.js';
import { SaigaError } from '../../src/common/errors.js';
import { HybridClock, type HybridTime } from '../../src/common/hybrid-time.js';
import type { ColumnPredicate, ScanSpec } from '../../src/common/scan-spec.js';
import type {
  AlterTableStep, CreateTableRequest, StorageApi, TableInfo, TableStats, TabletInfo, WriteOpKind, WriteResult,
} from '../../src/common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, type ColumnSchema, type Row, type Schema, type Value } from '../../src/common/types.js';

/**
 * A real (if simple) in-memory StorageApi for the SQL tests: rows kept in a Map by primary
 * key, hash + range partitioned into tablets, predicates evaluated on scan, Arrow batches
 * built independently of the query layer's own Arrow code.
 */
interface MemTable {
  info: TableInfo;
  rows: Map<string, (Value | undefined)[]>;
  ranges: { lower?: Row; upper?: Row }[];
  nextAuto: bigint;
}

function cmpValue(a: Value | undefined, b: Value | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = typeof a === 'bigint' ? a : BigInt(a as number);
    const y = typeof b === 'bigint' ? b : BigInt(b as number);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

function cmpRow(a: Row, b: Row): number {
  for (let i = 0; i < a.length; i++) {
    const c = cmpValue(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function keyString(vals: readonly (Value | undefined)[]): string {
  return JSON.stringify(vals.map((v) => (typeof v === 'bigint' ? `n${v}` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
}

function hashOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}

function matches(p: ColumnPredicate, v: Value | undefined): boolean {
  switch (p.kind) {
    case 'isNull': return v === null || v === undefined;
    case 'isNotNull': return v !== null && v !== undefined;
    case 'in': return v !== null && v !== undefined && p.values.some((x) => cmpValue(v, x) === 0);
    case 'compare': {
      if (v === null || v === undefined || p.value === null) return false;
      const c = cmpValue(v, p.value);
      switch (p.op) {
        case '=': return c === 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        case '>=': return c >= 0;
      }
    }
  }
}


function columnData(c: ColumnSchema, vals: readonly (Value | undefined)[]): arrow.Data {
  const n = vals.length;
  const bitmap = new Uint8Array(Math.ceil(n / 8) + 8);
  let nulls = 0;
  vals.forEach((v, i) => { if (v === null || v === undefined) nulls++; else bitmap[i >> 3]! |= 1 << (i & 7); });
  const type = arrowTypeOf(c);
  const nb = nulls > 0 ? bitmap : null;
  const base = { type: type as any, length: n, nullCount: nulls, nullBitmap: nb };
  switch (c.type) {
    case 'bool': {
      const bits = new Uint8Array(Math.ceil(n / 8) + 8);
      vals.forEach((v, i) => { if (v === true) bits[i >> 3]! |= 1 << (i & 7); });
      return arrow.makeData({ ...base, data: bits });
    }
    case 'int8': return arrow.makeData({ ...base, data: Int8Array.from(vals, (v) => Number(v ?? 0)) });
    case 'int16': return arrow.makeData({ ...base, data: Int16Array.from(vals, (v) => Number(v ?? 0)) });
    case 'int32': case 'date': return arrow.makeData({ ...base, data: Int32Array.from(vals, (v) => Number(v ?? 0)) });
    case 'float': return arrow.makeData({ ...base, data: Float32Array.from(vals, (v) => Number(v ?? 0)) });
    case 'double': return arrow.makeData({ ...base, data: Float64Array.from(vals, (v) => Number(v ?? 0)) });
    case 'int64': case 'timestamp': return arrow.makeData({ ...base, data: BigInt64Array.from(vals, (v) => BigInt(v === null || v === undefined ? 0 : typeof v === 'bigint' ? v : Math.round(Number(v)))) });
    case 'decimal': {
      const w = new Uint32Array(n * 4);
      vals.forEach((v, i) => {
        const u = BigInt.asUintN(128, typeof v === 'bigint' ? v : 0n);
        for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
      });
      return arrow.makeData({ ...base, data: w });
    }
    case 'string': case 'binary': {
      const bufs = vals.map((v) => (v === null || v === undefined ? Buffer.alloc(0) : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array)));
      const offsets = new Int32Array(n + 1);
      let o = 0;
      bufs.forEach((b, i) => { offsets[i] = o; o += b.length; });
      offsets[n] = o;
      return arrow.makeData({ ...base, valueOffsets: offsets, data: new Uint8Array(Buffer.concat(bufs)) });
    }
  }
}

export class MemoryStorage implements StorageApi {
  private readonly dbs = new Map<string, Map<string, MemTable>>();
  private readonly clock = new HybridClock();
  private tableSeq = 0;
  /** Scans observed (tests check pushdown). */
  readonly scans: { table: string; spec: ScanSpec }[] = [];
  batchRowCount = 3;

  listDatabases(): readonly string[] { return [...this.dbs.keys()]; }
  async createDatabase(name: string, ifNotExists?: boolean): Promise<void> {
    if (this.dbs.has(name)) { if (ifNotExists) return; throw new SaigaError('DatabaseExists', `database ${name} exists`); }
    this.dbs.set(name, new Map());
  }
  async dropDatabase(name: string, ifExists?: boolean): Promise<void> {
    if (!this.dbs.delete(name) && !ifExists) throw new SaigaError('UnknownDatabase', `unknown database ${name}`);
  }
  private db(name: string): Map<string, MemTable> {
    const d = this.dbs.get(name);
    if (d === undefined) throw new SaigaError('UnknownDatabase', `unknown database ${name}`);
    return d;
  }
  listTables(database: string): readonly string[] { return [...this.db(database).keys()]; }
  private t(database: string, name: string): MemTable {
    const t = this.db(database).get(name);
    if (t === undefined) throw new SaigaError('UnknownTable', `unknown table ${database}.${name}`);
    return t;
  }
  getTable(database: string, name: string): TableInfo { return this.t(database, name).info; }

  private tablets(schema: { hash: readonly { buckets: number }[] }, ranges: { lower?: Row; upper?: Row }[]): TabletInfo[] {
    let combos: number[][] = [[]];
    for (const h of schema.hash) combos = combos.flatMap((c) => Array.from({ length: h.buckets }, (_, b) => [...c, b]));
    const rs = ranges.length === 0 ? [{}] : ranges;
    const out: TabletInfo[] = [];
    for (const r of rs) for (const c of combos) out.push({ tabletId: `t${out.length}-${keyString([...c, ...(r as { lower?: Row }).lower ?? []])}`, hashBuckets: c, range: r });
    return out;
  }

  async createTable(req: CreateTableRequest): Promise<TableInfo> {
    const d = this.db(req.database);
    if (d.has(req.name)) { if (req.ifNotExists) return d.get(req.name)!.info; throw new SaigaError('TableExists', `table ${req.name} exists`); }
    let schema: Schema = req.schema;
    if (schema.keyColumnCount === 0) {
      schema = { columns: [{ name: AUTO_INCREMENT_COLUMN, type: 'int64', nullable: false, autoIncrement: true }, ...schema.columns], keyColumnCount: 1 };
    }
    const ranges = req.partitionSchema.rangeColumns.length > 0 ? [...(req.ranges ?? [])] : [];
    const info: TableInfo = {
      tableId: `tbl${++this.tableSeq}`, database: req.database, name: req.name, schema, partitionSchema: req.partitionSchema,
      tablets: this.tablets(req.partitionSchema, ranges), schemaVersion: 1, replicationFactor: 1,
      ...(req.comment !== undefined ? { comment: req.comment } : {}),
    };
    d.set(req.name, { info, rows: new Map(), ranges, nextAuto: 1n });
    return info;
  }
  async dropTable(database: string, name: string, ifExists?: boolean): Promise<void> {
    if (!this.db(database).delete(name) && !ifExists) throw new SaigaError('UnknownTable', `unknown table ${name}`);
  }
  async alterTable(database: string, name: string, steps: readonly AlterTableStep[]): Promise<TableInfo> {
    const t = this.t(database, name);
    for (const s of steps) {
      const cols = t.info.schema.columns;
      switch (s.kind) {
        case 'addColumn':
          t.info = { ...t.info, schema: { ...t.info.schema, columns: [...cols, s.column] } };
          for (const r of t.rows.values()) r.push(s.column.defaultValue ?? null);
          break;
        case 'dropColumn': {
          const i = cols.findIndex((c) => c.name === s.name);
          if (i < 0) throw new SaigaError('UnknownColumn', `unknown column ${s.name}`);
          if (i < t.info.schema.keyColumnCount) throw new SaigaError('InvalidArgument', 'cannot drop a key column');
          t.info = { ...t.info, schema: { ...t.info.schema, columns: cols.filter((_, k) => k !== i) } };
          for (const r of t.rows.values()) r.splice(i, 1);
          break;
        }
        case 'renameColumn':
          t.info = { ...t.info, schema: { ...t.info.schema, columns: cols.map((c) => (c.name === s.from ? { ...c, name: s.to } : c)) } };
          break;
        case 'renameTable': {
          const d = this.db(database);
          d.delete(name);
          t.info = { ...t.info, name: s.newName };
          d.set(s.newName, t);
          break;
        }
        case 'addRangePartition':
          t.ranges.push(s.range);
          t.info = { ...t.info, tablets: this.tablets(t.info.partitionSchema, t.ranges) };
          break;
        case 'dropRangePartition': {
          const k = t.ranges.findIndex((r) => cmpRow(r.lower ?? [], s.range.lower ?? []) === 0 && cmpRow(r.upper ?? [], s.range.upper ?? []) === 0);
          if (k < 0) throw new SaigaError('NotFound', 'no such range partition');
          const [r] = t.ranges.splice(k, 1);
          for (const [key, row] of t.rows) if (this.inRange(t, row, r!)) t.rows.delete(key);
          t.info = { ...t.info, tablets: this.tablets(t.info.partitionSchema, t.ranges) };
          break;
        }
      }
    }
    t.info = { ...t.info, schemaVersion: t.info.schemaVersion + 1 };
    return t.info;
  }
  async truncateTable(database: string, name: string): Promise<void> { this.t(database, name).rows.clear(); }

  private inRange(t: MemTable, row: readonly (Value | undefined)[], r: { lower?: Row; upper?: Row }): boolean {
    const cols = t.info.partitionSchema.rangeColumns.map((n) => t.info.schema.columns.findIndex((c) => c.name === n));
    const key = cols.map((i) => row[i] ?? null);
    if (r.lower !== undefined && cmpRow(key, r.lower) < 0) return false;
    if (r.upper !== undefined && cmpRow(key, r.upper) >= 0) return false;
    return true;
  }

  async write(database: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteResult> {
    const t = this.t(database, table);
    const schema = t.info.schema;
    const kc = schema.keyColumnCount;
    let applied = 0;
    const rowErrors: { rowIndex: number; code: 'AlreadyPresent' | 'NotFound' | 'InvalidArgument'; message: string }[] = [];
    let lastAuto: bigint | undefined;
    rows.forEach((input, rowIndex) => {
      const row = schema.columns.map((_, i) => input[i]);
      if (schema.columns[0]!.autoIncrement && (kind === 'insert' || kind === 'insert_ignore' || kind === 'upsert') && row[0] === undefined) {
        row[0] = t.nextAuto++;
        lastAuto = row[0] as bigint;
      }
      const key = keyString(row.slice(0, kc));
      if (row.slice(0, kc).some((v) => v === null || v === undefined)) { rowErrors.push({ rowIndex, code: 'InvalidArgument', message: 'key column is null' }); return; }
      if (t.ranges.length > 0 && !t.ranges.some((r) => this.inRange(t, row, r))) { rowErrors.push({ rowIndex, code: 'InvalidArgument', message: 'no range partition covers the row' }); return; }
      const existing = t.rows.get(key);
      switch (kind) {
        case 'insert': case 'insert_ignore':
          if (existing !== undefined) { rowErrors.push({ rowIndex, code: 'AlreadyPresent', message: `key ${key} already present` }); return; }
          t.rows.set(key, row.map((v, i) => (v === undefined ? schema.columns[i]!.defaultValue ?? null : v)));
          applied++;
          return;
        case 'upsert':
          if (existing !== undefined) t.rows.set(key, row.map((v, i) => (v === undefined ? existing[i] : v)));
          else t.rows.set(key, row.map((v, i) => (v === undefined ? schema.columns[i]!.defaultValue ?? null : v)));
          applied++;
          return;
        case 'update': case 'update_ignore':
          if (existing === undefined) { rowErrors.push({ rowIndex, code: 'NotFound', message: `key ${key} not found` }); return; }
          row.forEach((v, i) => { if (v !== undefined) existing[i] = v; });
          applied++;
          return;
        case 'delete': case 'delete_ignore':
          if (existing === undefined) { rowErrors.push({ rowIndex, code: 'NotFound', message: `key ${key} not found` }); return; }
          t.rows.delete(key);
          applied++;
          return;
      }
    });
    const ts = this.clock.now();
    return lastAuto !== undefined ? { appliedCount: applied, rowErrors, timestamp: ts, lastAutoIncrementId: lastAuto } : { appliedCount: applied, rowErrors, timestamp: ts };
  }
  async writeArrow(): Promise<WriteResult> { throw new SaigaError('NotSupported', 'writeArrow in MemoryStorage'); }
  now(): HybridTime { return this.clock.now(); }
  tabletsFor(database: string, table: string): readonly TabletInfo[] { return this.t(database, table).info.tablets; }

  private tabletOf(t: MemTable, row: readonly (Value | undefined)[]): string {
    const schema = t.info.schema;
    const buckets = t.info.partitionSchema.hash.map((h) => {
      const vals = h.columns.map((n) => row[schema.columns.findIndex((c) => c.name === n)]);
      return hashOf(keyString(vals)) % h.buckets;
    });
    const tab = t.info.tablets.find((x) => x.hashBuckets.every((b, i) => b === buckets[i]) && (t.ranges.length === 0 || this.inRange(t, row, x.range)));
    return tab?.tabletId ?? '';
  }

  async *scanTablet(database: string, table: string, tabletId: string, spec: ScanSpec): AsyncIterable<arrow.RecordBatch> {
    const t = this.t(database, table);
    yield* this.scanRows(t, spec, (row) => this.tabletOf(t, row) === tabletId);
  }

  private *scanRows(t: MemTable, spec: ScanSpec, keep: (row: readonly (Value | undefined)[]) => boolean): Generator<arrow.RecordBatch> {
    const schema = t.info.schema;
    const proj = spec.projection ?? schema.columns.map((c) => c.name);
    const idx = proj.map((n) => {
      const i = schema.columns.findIndex((c) => c.name === n);
      if (i < 0) throw new SaigaError('UnknownColumn', `scan of unknown column ${n}`);
      return i;
    });
    const preds = (spec.predicates ?? []).map((p) => ({ p, i: schema.columns.findIndex((c) => c.name === p.column) }));
    let sorted = [...t.rows.values()];
    if (spec.ordered) sorted = sorted.sort((a, b) => cmpRow(a.slice(0, schema.keyColumnCount), b.slice(0, schema.keyColumnCount)));
    const out: (Value | undefined)[][] = [];
    for (const r of sorted) {
      if (!keep(r)) continue;
      if (!preds.every(({ p, i }) => matches(p, r[i]))) continue;
      out.push(r);
      if (spec.limit !== undefined && out.length >= spec.limit) break;
    }
    const size = spec.batchRowCount ?? this.batchRowCount;
    const fields = idx.map((i) => new arrow.Field(schema.columns[i]!.name, arrowTypeOf(schema.columns[i]!), true));
    const aschema = new arrow.Schema(fields);
    for (let s = 0; s < out.length; s += size) {
      const part = out.slice(s, s + size);
      const children = idx.map((i) => columnData(schema.columns[i]!, part.map((r) => r[i])));
      const data = arrow.makeData({ type: new arrow.Struct(fields), length: part.length, nullCount: 0, children });
      yield new arrow.RecordBatch(aschema, data);
    }
  }

  async *scan(database: string, table: string, spec: ScanSpec): AsyncIterable<arrow.RecordBatch> {
    const t = this.t(database, table);
    this.scans.push({ table, spec });
    yield* this.scanRows(t, spec, () => true);
  }
  readonly lookups: string[] = [];
  async lookup(database: string, table: string, key: readonly Value[], projection?: readonly string[]): Promise<Row | undefined> {
    const t = this.t(database, table);
    this.lookups.push(table);
    const row = t.rows.get(keyString(key));
    if (row === undefined || projection === undefined) return row;
    return projection.map((n) => row[t.info.schema.columns.findIndex((c) => c.name === n)]);
  }
  tableStats(database: string, table: string): TableStats {
    return { rowCount: this.t(database, table).rows.size, onDiskBytes: 0, memoryBytes: 0 };
  }
  async flush(): Promise<void> { /* in memory */ }
  async close(): Promise<void> { this.dbs.clear(); }
}
