import * as arrow from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import { arrowTypeFor, columnFromArrow, columnToArrowData } from '../columnar/index.js';
import type { StorageApi, TableInfo, WriteResult } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, type ColumnSchema, type DataType } from '../common/types.js';
import {
  expandParquetGlob, leasedBatchesOfFiles, openParquetFile, writeParquetFile, type ParquetCompression, type ParquetReader,
} from '../parquet/parquet-file.js';
import type { StatementResult } from './api.js';
import { conformBatch, mapColumns, type ColumnMapping } from './arrow-conform.js';
import { columnType } from './bind.js';
import { readCsvBatches, writeCsvFile } from './csv.js';
import { isExternalStorage } from './external-tables.js';
import { castVector } from './eval.js';
import { prepass, type ColumnDef } from './prepass.js';
import { TokenCursor, tokenize, type Token } from './tokenizer.js';
import { arrowTypeOf, chunkToRecordBatch, type Chunk } from './vector.js';

/**
 * Statements on files, run before the pre-pass sees the text:
 *   COPY table | (query) TO 'path' [WITH] [(FORMAT PARQUET|CSV, COMPRESSION 'snappy'|'zstd'|'uncompressed', ROW_GROUP_SIZE n, PARQUET_VERSION V1|V2, HEADER b, DELIMITER 'c')]
 *   COPY table FROM 'path-or-glob' [WITH] [(...)]
 *   CREATE EXTERNAL TABLE [IF NOT EXISTS] t [(cols)] STORED AS PARQUET LOCATION 'dir-or-glob'
 * and parquet('glob') in any other statement, rewritten to a table the overlay storage serves.
 */

export interface FileStatementContext {
  readonly storage: StorageApi;
  readonly database: string | null;
  /** Runs a SELECT (streaming result). */
  runSelect(sql: string): Promise<StatementResult>;
}

export type FileStatementOutcome =
  | { readonly kind: 'result'; readonly result: StatementResult }
  | { readonly kind: 'sql'; readonly sql: string };

interface CopyOptions {
  format: 'parquet' | 'csv';
  compression: ParquetCompression;
  header: boolean;
  delimiter: string;
  rowGroupRows: number | undefined;
  parquetVersion: 1 | 2 | undefined;
}

function ok(affectedRows: number, info?: string): StatementResult {
  return info === undefined ? { kind: 'ok', affectedRows, warnings: [] } : { kind: 'ok', affectedRows, warnings: [], info };
}

function isKw(t: Token | undefined, w: string): boolean {
  return t !== undefined && t.kind === 'id' && t.text.toUpperCase() === w;
}

/** Handles COPY / CREATE EXTERNAL TABLE, or rewrites parquet('glob') calls; otherwise returns the text unchanged. */
export async function runFileStatement(sql: string, ctx: FileStatementContext): Promise<FileStatementOutcome> {
  const lower = sql.toLowerCase();
  if (!lower.includes('copy') && !lower.includes('external') && !lower.includes('parquet')) return { kind: 'sql', sql };
  let toks: Token[];
  try { toks = tokenize(sql); } catch { return { kind: 'sql', sql }; }
  if (isKw(toks[0], 'COPY')) return { kind: 'result', result: await copy(sql, toks, ctx) };
  if (isKw(toks[0], 'CREATE') && isKw(toks[1], 'EXTERNAL')) return { kind: 'result', result: await createExternal(sql, toks, ctx) };
  return { kind: 'sql', sql: await rewriteParquetCalls(sql, toks, ctx) };
}

async function rewriteParquetCalls(sql: string, toks: readonly Token[], ctx: FileStatementContext): Promise<string> {
  let out = '';
  let at = 0;
  for (let i = 0; i + 3 < toks.length; i++) {
    const t = toks[i]!;
    if (!(t.kind === 'id' && /^(parquet|read_parquet)$/i.test(t.text))) continue;
    const open = toks[i + 1]!;
    const arg = toks[i + 2]!;
    const close = toks[i + 3]!;
    if (!(open.kind === 'op' && open.text === '(' && arg.kind === 'str' && close.kind === 'op' && close.text === ')')) continue;
    const prev = toks[i - 1];
    if (prev !== undefined && !(prev.kind === 'id' && /^(FROM|JOIN)$/i.test(prev.text)) && !(prev.kind === 'op' && prev.text === ',')) continue;
    const storage = ctx.storage;
    if (!isExternalStorage(storage)) throw new SaigaError('NotSupported', 'parquet() table functions need the engine created by createQueryEngine');
    const { database, name } = await storage.registerParquetFunction(arg.text);
    out += sql.slice(at, t.start) + `\`${database}\`.\`${name}\``;
    at = close.end;
    i += 3;
  }
  return at === 0 ? sql : out + sql.slice(at);
}

function parseOptions(c: TokenCursor, path: string): CopyOptions {
  const opts: CopyOptions = {
    format: /\.csv$/i.test(path) ? 'csv' : 'parquet', compression: 'snappy', header: false, delimiter: ',', rowGroupRows: undefined, parquetVersion: undefined,
  };
  c.acceptKw('WITH');
  if (c.atEnd()) return opts;
  const paren = c.acceptOp('(');
  while (!c.atEnd() && !c.isOp(')')) {
    const name = c.ident('COPY option').toUpperCase();
    c.acceptOp('=');
    const v = c.peek();
    const value = (): string => {
      if (v === undefined) c.fail(`a value for ${name}`);
      c.pos++;
      return v.text;
    };
    switch (name) {
      case 'FORMAT': {
        const f = value().toLowerCase();
        if (f !== 'parquet' && f !== 'csv') throw new SaigaError('InvalidArgument', `COPY FORMAT must be PARQUET or CSV, found ${f}`);
        opts.format = f;
        break;
      }
      case 'COMPRESSION': case 'CODEC': {
        const f = value().toLowerCase();
        if (f !== 'snappy' && f !== 'zstd' && f !== 'uncompressed') throw new SaigaError('InvalidArgument', `COPY COMPRESSION must be 'snappy', 'zstd' or 'uncompressed', found '${f}'`);
        opts.compression = f;
        break;
      }
      case 'HEADER': {
        if (v === undefined || (v.kind === 'op' && (v.text === ',' || v.text === ')'))) { opts.header = true; break; }
        const f = value().toLowerCase();
        if (!['true', 'false', '1', '0', 'on', 'off'].includes(f)) throw new SaigaError('InvalidArgument', `COPY HEADER must be true or false, found ${f}`);
        opts.header = f === 'true' || f === '1' || f === 'on';
        break;
      }
      case 'DELIMITER': case 'DELIM': case 'SEP': opts.delimiter = value(); break;
      case 'ROW_GROUP_SIZE': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new SaigaError('InvalidArgument', `COPY ROW_GROUP_SIZE must be a positive integer, found ${String(v?.text)}`);
        opts.rowGroupRows = n;
        break;
      }
      case 'PARQUET_VERSION': {
        const f = value().toUpperCase();
        if (f !== 'V1' && f !== 'V2') throw new SaigaError('InvalidArgument', `COPY PARQUET_VERSION must be V1 or V2, found ${f}`);
        opts.parquetVersion = f === 'V2' ? 2 : 1;
        break;
      }
      default: throw new SaigaError('InvalidArgument', `unknown COPY option ${name}; expected FORMAT, COMPRESSION, HEADER, DELIMITER, ROW_GROUP_SIZE or PARQUET_VERSION`);
    }
    if (!c.acceptOp(',')) break;
  }
  if (paren) c.expectOp(')');
  if (!c.atEnd()) c.fail('end of COPY statement');
  return opts;
}

function resolveTable(storage: StorageApi, database: string | null, q: { db: string | null; name: string }): { db: string; info: TableInfo } {
  const d = q.db ?? database;
  if (d === null) throw new SaigaError('NoDatabaseSelected', 'no database selected: USE a database or qualify the table name');
  const db = storage.listDatabases().find((x) => x.toLowerCase() === d.toLowerCase());
  if (db === undefined) throw new SaigaError('UnknownDatabase', `unknown database '${d}'`);
  const name = storage.listTables(db).find((t) => t.toLowerCase() === q.name.toLowerCase());
  if (name === undefined) throw new SaigaError('UnknownTable', `table '${db}.${q.name}' doesn't exist`);
  return { db, info: storage.getTable(db, name) };
}

function quoteId(s: string): string {
  return `\`${s.replace(/`/g, '``')}\``;
}

async function copy(sql: string, toks: Token[], ctx: FileStatementContext): Promise<StatementResult> {
  const c = new TokenCursor(toks, sql);
  c.pos = 1;
  let select: string | null = null;
  let table: { db: string | null; name: string } | null = null;
  let columnList: string[] | null = null;
  if (c.isOp('(')) {
    let depth = 0;
    const start = c.peek()!.end;
    for (;;) {
      const t = c.peek();
      if (t === undefined) return c.fail("')' closing the COPY query");
      if (t.kind === 'op' && t.text === '(') depth++;
      if (t.kind === 'op' && t.text === ')') depth--;
      c.pos++;
      if (depth === 0) { select = sql.slice(start, t.start); break; }
    }
  } else {
    table = c.qualifiedName();
    if (c.acceptOp('(')) {
      columnList = [];
      for (;;) { columnList.push(c.ident('column name')); if (!c.acceptOp(',')) break; }
      c.expectOp(')');
    }
  }
  if (c.acceptKw('TO')) {
    const pathTok = c.peek();
    if (pathTok?.kind !== 'str') return c.fail("a quoted file path after TO");
    c.pos++;
    const opts = parseOptions(c, pathTok.text);
    let source: { schema: arrow.Schema; batches: AsyncIterable<arrow.RecordBatch> };
    if (select === null) {
      // A whole table goes straight from the storage scan (Arrow batches) to the writer.
      const { db, info } = resolveTable(ctx.storage, ctx.database, table!);
      const visible = info.schema.columns.filter((x) => x.name !== AUTO_INCREMENT_COLUMN);
      const cols = columnList === null ? visible : columnList.map((n) => {
        const col = visible.find((x) => x.name.toLowerCase() === n.toLowerCase());
        if (col === undefined) throw new SaigaError('UnknownColumn', `unknown column '${n}' in table ${db}.${info.name}`);
        return col;
      });
      const schema = new arrow.Schema(cols.map((c) => new arrow.Field(c.name, arrowTypeFor(c.type, c.precision ?? 38, c.scale ?? 0), c.nullable)));
      const scan = ctx.storage.scan(db, info.name, { projection: cols.map((c) => c.name), readMode: { kind: 'snapshot', timestamp: ctx.storage.now() } });
      source = { schema, batches: renamed(scan, schema) };
    } else {
      const r = await ctx.runSelect(select);
      if (r.kind !== 'rows') throw new SaigaError('InvalidArgument', 'COPY (query) TO needs a query that returns rows');
      source = { schema: r.arrowSchema, batches: r.batches };
    }
    const w = opts.format === 'csv'
      ? await writeCsvFile(pathTok.text, source.schema, source.batches, { header: opts.header, delimiter: opts.delimiter })
      : await writeParquetFile(pathTok.text, source.schema, source.batches, {
        compression: opts.compression,
        ...(opts.rowGroupRows !== undefined ? { rowGroupRows: opts.rowGroupRows } : {}),
        ...(opts.parquetVersion !== undefined ? { version: opts.parquetVersion } : {}),
      });
    return ok(w.rowCount, `${w.rowCount} rows, ${w.sizeBytes} bytes written to ${pathTok.text}`);
  }
  if (!c.acceptKw('FROM')) c.fail('TO or FROM');
  if (table === null) throw new SaigaError('ParseError', 'COPY ... FROM needs a table name, not a query');
  const pathTok = c.peek();
  if (pathTok?.kind !== 'str') return c.fail('a quoted file path after FROM');
  c.pos++;
  const opts = parseOptions(c, pathTok.text);
  const { db, info } = resolveTable(ctx.storage, ctx.database, table);
  let columns = info.schema.columns.filter((x) => x.name !== AUTO_INCREMENT_COLUMN);
  if (columnList !== null) {
    columns = columnList.map((n) => {
      const col = columns.find((x) => x.name.toLowerCase() === n.toLowerCase());
      if (col === undefined) throw new SaigaError('UnknownColumn', `unknown column '${n}' in table ${db}.${info.name}`);
      return col;
    });
  }
  return opts.format === 'csv'
    ? copyFromCsv(ctx.storage, db, info, columns, pathTok.text, opts)
    : copyFromParquet(ctx.storage, db, info, columns, pathTok.text);
}

/** Scan batches re-labelled with the export schema (same column types; nullability and names as declared). */
async function* renamed(batches: AsyncIterable<arrow.RecordBatch>, schema: arrow.Schema): AsyncIterable<arrow.RecordBatch> {
  for await (const b of batches) {
    if (b.numRows === 0) continue;
    const children = schema.fields.map((f, i) => {
      const child = b.getChildAt(i);
      if (child === null) throw new SaigaError('IllegalState', `scan batch lacks column ${f.name}`);
      return child.data.length === 1 ? child.data[0]! : columnToArrowData(columnFromArrow(child));
    });
    yield new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: b.numRows, nullCount: 0, children }));
  }
}

class WriteTally {
  applied = 0;
  rows = 0;
  duplicates = 0;
  firstError: string | undefined;
  /** One write's result for the `rows` rows after those added so far (0 rows: a bulk load's finish, errors at rowIndex -1). */
  add(r: WriteResult, rows: number): void {
    this.applied += writtenCount(r);
    this.rows += rows;
    for (const e of r.rowErrors) {
      if (e.code === 'AlreadyPresent') this.duplicates++;
      else throw new SaigaError(e.code, e.rowIndex < 0 ? `COPY FROM: ${e.message}` : `COPY FROM: row ${this.rows - rows + e.rowIndex + 1}: ${e.message}`);
      this.firstError ??= e.message;
    }
  }
  result(target: string): StatementResult {
    if (this.duplicates > 0) {
      throw new SaigaError('AlreadyPresent', `COPY FROM into ${target}: ${this.duplicates} row(s) had a duplicate primary key and were not written (first: ${this.firstError ?? ''}); the other ${this.applied} row(s) were written`);
    }
    return ok(this.applied, `Records: ${this.rows}`);
  }
}

/**
 * Where a statement's insert batches go: one storage bulk load (StorageApi.bulkLoad) when the
 * storage has it, writeArrow('insert') calls otherwise. finish() makes the load's rows visible
 * (null: nothing to finish, every write was durable when it settled).
 */
export interface InsertSink {
  write(batch: arrow.RecordBatch): Promise<WriteResult>;
  finish(): Promise<WriteResult | null>;
  abort(): Promise<void>;
}

export function insertSink(storage: StorageApi, db: string, table: string): InsertSink {
  const load = storage.bulkLoad?.(db, table);
  if (load !== undefined) return { write: (b) => load.write(b), finish: () => load.finish(), abort: () => load.abort() };
  return { write: (b) => storage.writeArrow(db, table, 'insert', b), finish: () => Promise.resolve(null), abort: () => Promise.resolve() };
}

/**
 * Rows a write result made durable and visible: appliedCount, plus, for a bulk load's write(), the
 * rows staged by earlier writes that it committed (`committedCount`, which appliedCount leaves out).
 */
function writtenCount(r: WriteResult): number {
  return r.appliedCount + (r.committedCount ?? 0);
}

/** A batch to insert and what to call once its write has settled (a leased batch gives its buffers back). */
export interface InsertBatch {
  readonly batch: arrow.RecordBatch;
  release(): void;
}

/**
 * storage writes (or bulk-load writes) an insert keeps outstanding (each holds one batch in
 * memory). Four, not two: the writing thread keeps preparing batches while earlier ones wait for
 * their WAL fsync (which a concurrent DiskRowSet flush slows); lineitem SF1 was faster with 4 in
 * both of two paired runs on a loaded machine (16.6 / 19.3 s against 19.5 / 20.7 s).
 */
const INSERT_WRITES_IN_FLIGHT = 4;

/**
 * Writes `batches` into `sink` with up to INSERT_WRITES_IN_FLIGHT writes outstanding (the next
 * batch is read, decoded and conformed while storage takes the previous ones) and hands each
 * result, in batch order, to `onResult` with the batch's row count; `onResult` throws to stop.
 * Each batch is released once its write has settled (storage keeps no view on a written batch).
 * Then the sink is finished and its result handed over with 0 rows.
 * - A row error (`onResult` threw): the writes outstanding settle, the sink is finished (the rows
 *   taken so far stay written, as with writeArrow) or with `onRowError` 'abort' aborted, and the
 *   error is thrown.
 * - Any other failure (reading, decoding, a write or finish rejected): the writes outstanding
 *   settle, the sink is aborted (a bulk load discards what it has not committed), and the error is thrown.
 */
export async function insertBatches(
  sink: InsertSink, batches: AsyncIterable<InsertBatch>, onResult: (r: WriteResult, rows: number) => void,
  onRowError: 'finish' | 'abort' = 'finish',
): Promise<void> {
  const inFlight: { write: Promise<WriteResult>; rows: number; release: () => void }[] = [];
  let rowError = false;
  const settleOldest = async (): Promise<void> => {
    const w = inFlight.shift()!;
    let r: WriteResult;
    try {
      r = await w.write;
    } finally {
      w.release();
    }
    rowError = true;
    onResult(r, w.rows);
    rowError = false;
  };
  try {
    for await (const { batch, release } of batches) {
      if (batch.numRows === 0) { release(); continue; }
      while (inFlight.length >= INSERT_WRITES_IN_FLIGHT) await settleOldest();
      const write = sink.write(batch);
      write.catch(() => undefined); // awaited in order below; never unhandled meanwhile
      inFlight.push({ write, rows: batch.numRows, release });
    }
    while (inFlight.length > 0) await settleOldest();
  } catch (e) {
    // Let outstanding writes finish before finishing or aborting the load and reporting.
    for (const w of inFlight.splice(0)) {
      await w.write.catch(() => undefined);
      w.release();
    }
    if (rowError && onRowError === 'finish') await sink.finish().catch(() => sink.abort());
    else await sink.abort().catch(() => undefined);
    throw e;
  }
  let r: WriteResult | null;
  try {
    r = await sink.finish();
  } catch (e) {
    await sink.abort().catch(() => undefined);
    throw e;
  }
  if (r !== null) onResult(r, 0);
}

/** Rows per batch read from a Parquet file for COPY FROM (one storage write each). */
const PARQUET_READ_BATCH_ROWS = 65_536;

async function copyFromParquet(storage: StorageApi, db: string, info: TableInfo, columns: readonly ColumnSchema[], glob: string): Promise<StatementResult> {
  const files = await expandParquetGlob(glob);
  const where = (file: string): { file: string; table: string } => ({ file, table: `${db}.${info.name}` });
  // Check every file's schema before writing anything.
  const opened: { f: ParquetReader; mapping: ColumnMapping }[] = [];
  for (const file of files) {
    const f = await openParquetFile(file);
    const mapping = mapColumns(f.schema, columns, where(file), { requireAllFileFields: true, requireAllColumns: false });
    const missing = columns.filter((x) => !x.nullable && x.defaultValue === undefined && !mapping.target.includes(x));
    if (missing.length > 0) {
      throw new SaigaError('InvalidArgument', `${file} lacks column(s) ${missing.map((x) => `'${x.name}'`).join(', ')} that table ${db}.${info.name} requires (NOT NULL without a default)`);
    }
    opened.push({ f, mapping });
  }
  // Batches are leased from the reader (their buffers are reused once released); all files are
  // decoded by one set of decode workers.
  const reads = opened.map(({ f, mapping }) => ({ reader: f, columns: mapping.fileIndex.map((i) => f.schema.fields[i]!.name) }));
  async function* conformed(): AsyncIterable<InsertBatch> {
    for await (const { batch, release, file } of leasedBatchesOfFiles(reads, { batchRowCount: PARQUET_READ_BATCH_ROWS })) {
      const { f, mapping } = opened[file]!;
      let out: arrow.RecordBatch;
      try {
        out = batch.numRows === 0 ? batch : conformBatch(batch, mapping, f.schema);
      } catch (e) {
        release();
        throw e;
      }
      yield { batch: out, release };
    }
  }
  const tally = new WriteTally();
  await insertBatches(insertSink(storage, db, info.name), conformed(), (r, rows) => tally.add(r, rows));
  return tally.result(`${db}.${info.name}`);
}

const NO_RELEASE = (): void => undefined;

async function copyFromCsv(storage: StorageApi, db: string, info: TableInfo, columns: readonly ColumnSchema[], path: string, opts: CopyOptions): Promise<StatementResult> {
  async function* batches(): AsyncIterable<InsertBatch> {
    for await (const batch of readCsvBatches(path, columns, { header: opts.header, delimiter: opts.delimiter }, `${db}.${info.name}`)) {
      yield { batch, release: NO_RELEASE };
    }
  }
  const tally = new WriteTally();
  await insertBatches(insertSink(storage, db, info.name), batches(), (r, rows) => tally.add(r, rows));
  return tally.result(`${db}.${info.name}`);
}

/**
 * CREATE TABLE ... AS SELECT into a storage with a bulk load: the result chunks, streamed from the
 * executor and cast to the new table's column types, go into one bulk load as Arrow batches
 * instead of rows (the query runs while earlier batches are written; nothing is materialized).
 * A query that fails midway aborts the load. Results and errors
 * are the row path's (Session.writeParts for 'insert'): a rejected row fails the statement with the
 * rows written so far (the load is aborted: its uncommitted rows are not), duplicate keys fail it
 * after the other rows are written. Returns the rows written.
 */
export async function bulkInsertChunks(
  storage: StorageApi, db: string, info: TableInfo, target: readonly number[], chunks: AsyncIterable<Chunk> | Iterable<Chunk>,
): Promise<number> {
  const cols = info.schema.columns;
  const targetCols = target.map((i) => cols[i]!);
  const types = targetCols.map((c) => columnType(c));
  const schema = new arrow.Schema(targetCols.map((c, k) => new arrow.Field(c.name, arrowTypeOf(types[k]!), true)));
  async function* batches(): AsyncIterable<InsertBatch> {
    let checked = false;
    for await (const c of chunks) {
      if (c.length === 0) continue;
      if (!checked) {
        checked = true;
        cols.forEach((col, i) => {
          if (target.includes(i) || col.autoIncrement === true || col.name === AUTO_INCREMENT_COLUMN || col.defaultValue !== undefined || col.nullable) return;
          throw new SaigaError('InvalidArgument', `column '${col.name}' has no default and was not given a value`);
        });
      }
      const cast = { length: c.length, columns: c.columns.map((v, k) => castVector(v, types[k]!)) };
      yield { batch: chunkToRecordBatch(cast, schema, types), release: NO_RELEASE };
    }
  }
  let applied = 0;
  let rows = 0;
  let firstDup: string | null = null;
  await insertBatches(insertSink(storage, db, info.name), batches(), (r, n) => {
    applied += writtenCount(r);
    for (const e of r.rowErrors) {
      if (e.code === 'AlreadyPresent') { firstDup ??= e.message; continue; }
      const where = e.rowIndex < 0 ? 'a row' : `row ${rows + e.rowIndex + 1}`;
      throw new SaigaError('InvalidArgument', `${where} was rejected: ${e.message} (${applied} row(s) were written)`);
    }
    rows += n;
  }, 'abort');
  if (firstDup !== null) throw new SaigaError('AlreadyPresent', `duplicate primary key: ${firstDup} (${applied} other row(s) were written)`);
  return applied;
}

const SIMPLE_TYPES: Record<string, DataType> = {
  TINYINT: 'int8', SMALLINT: 'int16', INT: 'int32', INTEGER: 'int32', BIGINT: 'int64', BOOLEAN: 'bool', BOOL: 'bool',
  FLOAT: 'float', REAL: 'double', DOUBLE: 'double', STRING: 'string', VARCHAR: 'string', CHAR: 'string', TEXT: 'string',
  BINARY: 'binary', VARBINARY: 'binary', BLOB: 'binary', DATE: 'date', TIMESTAMP: 'timestamp', DATETIME: 'timestamp',
};

async function createExternal(sql: string, toks: Token[], ctx: FileStatementContext): Promise<StatementResult> {
  // LOCATION 'x' is the one clause the pre-pass does not know: take it out, let the pre-pass parse the rest.
  const locAt = toks.findIndex((t, i) => isKw(t, 'LOCATION') && toks[i + 1]?.kind === 'str');
  if (locAt < 0) throw new SaigaError('ParseError', "CREATE EXTERNAL TABLE needs LOCATION '<directory or glob>'");
  const location = toks[locAt + 1]!.text;
  const storedAt = toks.findIndex((t, i) => isKw(t, 'STORED') && isKw(toks[i + 1], 'AS'));
  if (storedAt < 0 || !isKw(toks[storedAt + 2], 'PARQUET')) {
    throw new SaigaError('NotSupported', 'CREATE EXTERNAL TABLE supports STORED AS PARQUET only');
  }
  const rest = sql.slice(0, toks[locAt]!.start) + sql.slice(toks[locAt + 1]!.end);
  const c = new TokenCursor(toks, sql);
  c.pos = 3;
  const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
  const q = c.qualifiedName();
  let st: { db: string | null; name: string; ifNotExists: boolean; columns: readonly ColumnDef[] } = { ...q, ifNotExists, columns: [] };
  if (c.isOp('(')) {
    const parsed = prepass(rest);
    if (parsed.kind !== 'createTable' || parsed.asSelect !== null) throw new SaigaError('ParseError', 'expected CREATE EXTERNAL TABLE name [(columns)] STORED AS PARQUET LOCATION \'...\'');
    if (parsed.primaryKey !== null && parsed.primaryKey.length > 0) throw new SaigaError('NotSupported', 'external Parquet tables have no primary key');
    st = parsed;
  }
  const storage = ctx.storage;
  if (!isExternalStorage(storage)) throw new SaigaError('NotSupported', 'external tables need the engine created by createQueryEngine');
  const db = st.db ?? ctx.database;
  if (db === null) throw new SaigaError('NoDatabaseSelected', 'no database selected: USE a database or qualify the table name');
  const columns: ColumnSchema[] | null = st.columns.length === 0 ? null : st.columns.map((d) => {
    const u = d.typeName.toUpperCase();
    if (u === 'DECIMAL' || u === 'NUMERIC') {
      return { name: d.name, type: 'decimal', nullable: true, precision: d.typeArgs[0] ?? 10, scale: d.typeArgs[1] ?? 0 };
    }
    const type = SIMPLE_TYPES[u];
    if (type === undefined) throw new SaigaError('NotSupported', `column type ${d.typeName} (column '${d.name}') is not supported`);
    return { name: d.name, type, nullable: true };
  });
  await storage.createExternalTable(db, st.name, location, columns, st.ifNotExists);
  return ok(0);
}
