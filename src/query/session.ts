import * as arrow from 'apache-arrow';
import nodeSqlParser from 'node-sql-parser';
import { assert } from '../common/assert.js';
import { SaigaError, isSaigaError } from '../common/errors.js';
import type { Limits } from '../common/limits.js';
import type { AlterTableStep, StorageApi, TableInfo, WriteOpKind, WriteResult } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, typeToSql, type ColumnSchema, type DataType, type Row, type Schema, type Value } from '../common/types.js';
import type {
  ExecuteOptions, PreparedStatement, QueryEngine, ResultColumn, Session, SessionOptions, StatementProgress, StatementResult, Warning,
} from './api.js';
import {
  bindConstantRow, bindQuery, columnType, lookupTable, mkProject, unsupported, type BindEnv, type BoundCol, type Rel,
} from './bind.js';
import { literalToValue, toColumnValue } from './coerce-value.js';
import { formatDate, formatTimestamp } from './dates.js';
import type { CoprocessorPool } from './coprocessor.js';
import { castVector, constVector, formatNumber } from './eval.js';
import { run, type ExecContext } from './execute.js';
import { BOOL, DOUBLE, INT64, STRING, col, type LitValue } from './expr.js';
import { ColumnStatsStore, computeColumnStats } from './column-stats.js';
import type { LogicalPlan } from './logical-plan.js';
import { explain, optimize } from './optimize.js';
import { bulkInsertChunks, runFileStatement } from './copy.js';
import { compilePointSelect, pointBatch, pointKey, pointValues, stillValid, type PointSelect } from './point-path.js';
import { COLUMNAR_INSERT_MIN_ROWS, columnarInsertBatch, scanInsertValues } from './values-scan.js';
import { prepass, type ColumnDef, type Literal, type PartitionDef, type RangePartitionDef, type Statement } from './prepass.js';
import { rewriteForParser, splitStatements, tokenize } from './tokenizer.js';
import { arrowTypeOf, cellValue, chunkToRecordBatch, type Chunk, type SqlType, type Vector } from './vector.js';



/* eslint-disable @typescript-eslint/no-explicit-any */
type Ast = any;

export const SERVER_VERSION = '8.0.35-saiga-0.1.0';

const AST_CACHE_MAX = 1000;

/** Default partitioning for MySQL-form CREATE TABLE: HASH (primary key) PARTITIONS 2. */
export const DEFAULT_HASH_BUCKETS = 2;

interface EngineState {
  readonly templateCache: Map<string, Ast | null>;
  readonly storage: StorageApi;
  readonly limits: Limits;
  readonly coprocessor: CoprocessorPool | null;
  readonly astCache: Map<string, Ast>;
  readonly parser: InstanceType<typeof nodeSqlParser.Parser>;
  /** Per-table write locks (see withTableLock), keyed `db.table` lower-case. */
  readonly tableLocks: Map<string, Promise<void>>;
  /** COMPUTE STATS results, per table (in memory: a restart loses them). */
  readonly columnStats: ColumnStatsStore;
  closed: boolean;
}

/**
 * Runs fn holding the engine's lock on one table: UPDATE / DELETE / INSERT ... SELECT / UPSERT /
 * REPLACE statements on the same table run one after another, so each one's read-modify-write is
 * atomic against the others in this process. Reads never take it. The queue is a promise chain;
 * the lock is released when fn settles (success, error or cancellation).
 */
export async function withTableLock<T>(state: EngineState, db: string, table: string, fn: () => Promise<T>): Promise<T> {
  const key = `${db}.${table}`.toLowerCase();
  const prev = state.tableLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => { release = r; });
  const tail = prev.then(() => mine);
  state.tableLocks.set(key, tail);
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (state.tableLocks.get(key) === tail) state.tableLocks.delete(key);
  }
}

export function newEngineState(storage: StorageApi, limits: Limits, coprocessor: CoprocessorPool | null): EngineState {
  return { storage, limits, coprocessor, astCache: new Map(), templateCache: new Map(), parser: new nodeSqlParser.Parser(), tableLocks: new Map(), columnStats: new ColumnStatsStore(), closed: false };
}

function parseSql(state: EngineState, text: string): Ast {
  const cached = state.astCache.get(text);
  if (cached !== undefined) return cached;
  let ast: Ast;
  try {
    ast = state.parser.astify(rewriteForParser(text), { database: 'mysql', parseOptions: { includeLocations: true } } as any);
  } catch (e) {
    if (isSaigaError(e)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new SaigaError('ParseError', `syntax error: ${msg.length > 300 ? `${msg.slice(0, 300)}...` : msg}`);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new SaigaError('ParseError', `expected one statement but found ${ast.length}`);
    ast = ast[0];
  }
  if (state.astCache.size >= AST_CACHE_MAX) state.astCache.delete(state.astCache.keys().next().value as string);
  state.astCache.set(text, ast);
  return ast;
}

/** Replaces `?` placeholders (outside quotes/comments) with SQL literals. */
export function substituteParams(sql: string, params: readonly Value[]): string {
  const toks = tokenize(sql).filter((t) => t.kind === 'param');
  if (toks.length !== params.length) throw new SaigaError('InvalidArgument', `statement has ${toks.length} placeholders but ${params.length} values were given`);
  let out = '';
  let p = 0;
  toks.forEach((t, i) => {
    out += sql.slice(p, t.start) + sqlLiteral(params[i]!);
    p = t.end;
  });
  return out + sql.slice(p);
}

const MARKER_BASE = 918273645500;

/** `?` -> a numbered marker literal the parser keeps as a number node. */
function substituteMarkers(sql: string): string {
  const toks = tokenize(sql).filter((t) => t.kind === 'param');
  let out = '';
  let p = 0;
  toks.forEach((t, i) => {
    out += `${sql.slice(p, t.start)}${MARKER_BASE + i}`;
    p = t.end;
  });
  return out + sql.slice(p);
}

function markerIndex(n: Ast): number {
  if (n === null || typeof n !== 'object' || n.type !== 'number') return -1;
  const v = Number(n.value);
  return Number.isInteger(v) && v >= MARKER_BASE && v < MARKER_BASE + 65536 ? v - MARKER_BASE : -1;
}

function walkAst(n: Ast, f: (n: Ast) => void): void {
  if (n === null || typeof n !== 'object') return;
  f(n);
  for (const k of Object.keys(n)) {
    if (k === 'loc') continue;
    const v = n[k];
    if (Array.isArray(v)) for (const x of v) walkAst(x, f);
    else if (v !== null && typeof v === 'object') walkAst(v, f);
  }
}

function paramNode(v: Value): Ast {
  if (v === null) return { type: 'null', value: null };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'number') return Number.isFinite(v) ? { type: 'number', value: v < 0 ? v : v } : { type: 'null', value: null };
  if (typeof v === 'bigint') return { type: 'number', value: v.toString() };
  if (v instanceof Uint8Array) return { type: 'hex_string', value: Buffer.from(v).toString('hex') };
  return { type: 'single_quote_string', value: v };
}

/** A copy of the template AST with markers replaced by parameter literals. */
function bindParams(n: Ast, params: readonly Value[]): Ast {
  if (n === null || typeof n !== 'object') return n;
  if (Array.isArray(n)) return n.map((x) => bindParams(x, params));
  const k = markerIndex(n);
  if (k >= 0) return { ...paramNode(params[k]!), param: true };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(n)) out[key] = key === 'loc' ? n[key] : bindParams(n[key], params);
  return out;
}

function sqlLiteral(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `X'${Buffer.from(v).toString('hex')}'`;
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** A prepared INSERT ... VALUES whose `?` are all plain values: per row, a literal or a parameter index. */
interface InsertTemplate {
  readonly st: Extract<Statement, { kind: 'insertValues' }>;
  readonly slots: readonly (readonly (Literal | number)[])[];
  readonly paramCount: number;
}

function compileInsert(st: Extract<Statement, { kind: 'insertValues' }>, paramCount: number): InsertTemplate | null {
  const seen = new Array<number>(paramCount).fill(0);
  const slots: (Literal | number)[][] = [];
  for (const row of st.rows) {
    const out: (Literal | number)[] = [];
    for (const l of row) {
      if (l.k === 'expr') return null;
      const k = l.k === 'num' ? markerIndex({ type: 'number', value: l.text }) : -1;
      if (k >= 0 && k < paramCount) { seen[k]!++; out.push(k); } else out.push(l);
    }
    slots.push(out);
  }
  return seen.every((n) => n === 1) ? { st, slots, paramCount } : null;
}

/** The literal the pre-pass parses out of sqlLiteral(v); null when that would not be a plain literal. */
function paramLiteral(v: Value | undefined): Literal | null {
  if (v === null) return { k: 'null' };
  if (typeof v === 'boolean') return { k: 'bool', v };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { k: 'null' };
    const text = String(v);
    return /^-?[0-9.]+$/.test(text) ? { k: 'num', text } : null;
  }
  if (typeof v === 'bigint') return { k: 'num', text: v.toString() };
  if (typeof v === 'string') return { k: 'str', v };
  return null; // binary parameters go through the generic path (hex literal)
}

/**
 * The table of a prepared INSERT, resolved at PREPARE: each EXECUTE checks it is still the same
 * table (session database, table id and schema version) with one getTable instead of resolving
 * the name and the target columns again.
 */
interface InsertTarget {
  readonly sessionDatabase: string | null;
  readonly db: string;
  readonly info: TableInfo;
  /** Schema column index of each VALUES position. */
  readonly target: readonly number[];
}

function bindInsert(t: InsertTemplate, params: readonly Value[]): Literal[][] | null {
  if (params.length !== t.paramCount) return null; // the generic path reports the mismatch
  const rows: Literal[][] = [];
  for (const slotRow of t.slots) {
    const row: Literal[] = [];
    for (const x of slotRow) {
      if (typeof x !== 'number') { row.push(x); continue; }
      const l = paramLiteral(params[x]);
      if (l === null) return null;
      row.push(l);
    }
    rows.push(row);
  }
  return rows;
}

/** What a write statement reports: rows applied, warnings (skipped rows), the last auto-increment key. */
interface WriteSummary {
  readonly appliedCount: number;
  readonly warnings: Warning[];
  readonly lastId?: bigint;
}

/** The running totals of a write statement's parts (storage calls of at most writeBatchRowsMax rows). */
interface PartsTally {
  applied: number;
  readonly warnings: Warning[];
  lastId: bigint | undefined;
  /** The first duplicate key of a plain INSERT (reported once all parts are written). */
  firstDup: string | null;
}

/** Adds one part's result (rows from `start`) to the tally; rejected rows that fail the statement throw. */
function tallyPart(acc: PartsTally, kind: WriteOpKind, start: number, r: WriteResult): PartsTally {
  acc.applied += r.appliedCount;
  if (r.lastAutoIncrementId !== undefined) acc.lastId = r.lastAutoIncrementId;
  for (const e of r.rowErrors) {
    if (kind === 'insert' && e.code === 'AlreadyPresent') { acc.firstDup ??= e.message; continue; }
    // Rows no tablet accepts (range gaps) or storage rejects fail plain INSERT / UPSERT.
    if ((kind === 'insert' || kind === 'upsert') && e.code !== 'AlreadyPresent') {
      throw new SaigaError('InvalidArgument', `row ${start + e.rowIndex + 1} was rejected: ${e.message} (${acc.applied} row(s) were written)`);
    }
    if (kind === 'update' && e.code === 'InvalidArgument') throw new SaigaError('InvalidArgument', e.message);
    if (acc.warnings.length < 64) acc.warnings.push({ level: 'Warning', code: e.code === 'AlreadyPresent' ? 1062 : 1032, message: e.message });
  }
  return acc;
}

/** The OK result of an INSERT ... VALUES. */
function writeResult(r: WriteSummary): StatementResult & { kind: 'ok' } {
  return r.lastId !== undefined
    ? { kind: 'ok', affectedRows: r.appliedCount, warnings: r.warnings, lastInsertId: r.lastId }
    : { kind: 'ok', affectedRows: r.appliedCount, warnings: r.warnings };
}

/**
 * True when every parameter is one paramValue converts exactly as the pre-pass would parse its
 * sqlLiteral (paramLiteral): no binary values (hex literals) and no numbers whose text would be
 * in exponent notation (|v| >= 1e21 or below 1e-6).
 */
function plainParams(params: readonly Value[]): boolean {
  for (const v of params) {
    if (v instanceof Uint8Array) return false;
    if (typeof v === 'number' && Number.isFinite(v) && v !== 0 && (Math.abs(v) >= 1e21 || Math.abs(v) < 1e-6)) return false;
  }
  return true;
}

/**
 * A parameter as its column's value, equal to literalToValue(paramLiteral(v), col) for
 * plainParams: toColumnValue of the number itself converts like its decimal text except for
 * dates and timestamps (and a bigint like its text nowhere in general), which take the text.
 */
function paramValue(v: Value, col: ColumnSchema): Value | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return toColumnValue(null, col);
    if (v === 0) v = 0; // -0 is written '0'
    // A safe integer's decimal text parses to the same bigint (the common BIGINT key parameter).
    if (col.type === 'int64' && Number.isSafeInteger(v)) return BigInt(v);
    return col.type === 'date' || col.type === 'timestamp' ? toColumnValue(String(v), col) : toColumnValue(v, col);
  }
  if (typeof v === 'bigint') return toColumnValue(v.toString(), col);
  return toColumnValue(v, col);
}

/** A result stream of at most one batch. */
async function* oneBatch(batch: (() => arrow.RecordBatch) | null): AsyncGenerator<arrow.RecordBatch> {
  if (batch !== null) yield batch();
}

function okResult(affectedRows = 0, extra: { lastInsertId?: bigint; info?: string; warnings?: readonly Warning[] } = {}): StatementResult {
  const r: { kind: 'ok'; affectedRows: number; warnings: readonly Warning[]; lastInsertId?: bigint; info?: string } = { kind: 'ok', affectedRows, warnings: extra.warnings ?? [] };
  if (extra.lastInsertId !== undefined) r.lastInsertId = extra.lastInsertId;
  if (extra.info !== undefined) r.info = extra.info;
  return r;
}

function resultColumns(cols: readonly BoundCol[]): ResultColumn[] {
  return cols.map((c) => {
    const r: { -readonly [K in keyof ResultColumn]: ResultColumn[K] } = { name: c.name, type: c.type.type, nullable: c.nullable };
    if (c.type.type === 'decimal') { r.precision = c.type.precision ?? 38; r.scale = c.type.scale ?? 0; }
    if (c.table !== undefined) r.table = c.table;
    if (c.db !== undefined) r.database = c.db;
    if (c.originalName !== undefined) r.originalName = c.originalName;
    return r;
  });
}

function arrowSchemaOf(cols: readonly BoundCol[]): arrow.Schema {
  return new arrow.Schema(cols.map((c) => new arrow.Field(c.name, arrowTypeOf(c.type), true)));
}

/** A rows result from literal values (SHOW, DESCRIBE, EXPLAIN, @@vars). */
function valuesResult(columns: readonly { name: string; type: SqlType }[], rows: readonly (readonly Value[])[]): StatementResult {
  const cols: BoundCol[] = columns.map((c) => ({ qualifier: null, name: c.name, type: c.type, nullable: true }));
  const schema = arrowSchemaOf(cols);
  const types = cols.map((c) => c.type);
  const chunk: Chunk = {
    length: rows.length,
    columns: types.map((t, i) => {
      const vals = rows.map((r) => r[i] ?? null);
      if (t.type === 'string') return { kind: 'str', type: t, values: vals.map((v) => (v === null ? '' : String(v))), valid: Uint8Array.from(vals.map((v) => (v === null ? 0 : 1))) };
      return { kind: 'num', type: t, values: Float64Array.from(vals.map((v) => (v === null ? 0 : Number(v)))), valid: Uint8Array.from(vals.map((v) => (v === null ? 0 : 1))) };
    }),
  };
  const batch = chunkToRecordBatch(chunk, schema, types);
  return { kind: 'rows', columns: resultColumns(cols), arrowSchema: schema, batches: (async function* () { if (rows.length > 0) yield batch; })() };
}

const S: SqlType = STRING;

/** Byte width of a fixed-width type; -1 for strings/binary (Impala's "unknown"). */
function typeWidth(t: DataType): number {
  switch (t) {
    case 'bool': case 'int8': return 1;
    case 'int16': return 2;
    case 'int32': case 'float': case 'date': return 4;
    case 'int64': case 'double': case 'timestamp': return 8;
    case 'decimal': return 16;
    default: return -1;
  }
}

/** A numeric min/max of column stats as text: dates as YYYY-MM-DD, timestamps as ISO text, numbers as is. */
function statValueText(v: number, t: DataType): string {
  if (t === 'date') return formatDate(v);
  if (t === 'timestamp') return formatTimestamp(v);
  return String(v);
}
const I: SqlType = INT64;

function likeToRegex(like: string): RegExp {
  let re = '^';
  for (const ch of like) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`, 'i');
}

const DEFAULT_VARIABLES: readonly [string, Value][] = [
  ['autocommit', 1n], ['auto_increment_increment', 1n], ['character_set_client', 'utf8mb4'], ['character_set_connection', 'utf8mb4'],
  ['character_set_results', 'utf8mb4'], ['character_set_server', 'utf8mb4'], ['collation_connection', 'utf8mb4_general_ci'],
  ['collation_server', 'utf8mb4_general_ci'], ['init_connect', ''], ['interactive_timeout', 28800n], ['license', 'Apache-2.0'],
  ['lower_case_table_names', 0n], ['max_allowed_packet', 67108864n], ['net_buffer_length', 16384n], ['net_write_timeout', 60n],
  ['query_cache_size', 0n], ['query_cache_type', 'OFF'], ['sql_mode', 'STRICT_TRANS_TABLES'], ['system_time_zone', 'UTC'],
  ['time_zone', 'SYSTEM'], ['transaction_isolation', 'REPEATABLE-READ'], ['tx_isolation', 'REPEATABLE-READ'],
  ['wait_timeout', 28800n], ['version', SERVER_VERSION], ['version_comment', 'Saiga'], ['sql_auto_is_null', 0n],
  ['performance_schema', 0n], ['transaction_read_only', 0n], ['tx_read_only', 0n], ['sql_select_limit', 18446744073709551615n],
  ['default_storage_engine', 'KUDU'], ['storage_engine', 'KUDU'], ['div_precision_increment', 4n],
];

class SessionImpl implements Session {
  database: string | null;
  readonly variables = new Map<string, Value>();
  readonly connectionId: number;
  readonly user: string;
  private warnings: Warning[] = [];
  private lastInsertId = 0n;
  private nextStmtId = 1;
  private closed = false;
  /** The statement started last: its counter (fed by scans and joins) and its executor contexts. */
  private current: { rowsScanned: number; readonly startedMs: number; readonly sql: string; readonly contexts: ExecContext[] } | undefined;

  constructor(private readonly state: EngineState, options: SessionOptions) {
    this.connectionId = options.connectionId;
    this.user = options.user;
    this.database = options.database ?? null;
    for (const [k, v] of DEFAULT_VARIABLES) this.variables.set(k, v);
  }

  lastWarnings(): readonly Warning[] {
    return this.warnings;
  }

  progress(): StatementProgress | undefined {
    const c = this.current;
    if (c === undefined) return undefined;
    let memoryBytes = 0;
    for (const ctx of c.contexts) memoryBytes += ctx.memoryBytes;
    return { rowsScanned: c.rowsScanned, memoryBytes, startedMs: c.startedMs, sql: c.sql };
  }

  private startStatement(sql: string): void {
    this.current = { rowsScanned: 0, startedMs: Date.now(), sql: sql.trim(), contexts: [] };
  }

  close(): void {
    this.closed = true;
  }

  async prepare(sql: string): Promise<PreparedStatement> {
    const paramCount = splitStatements(sql).reduce((n, s) => n + tokenize(s).filter((t) => t.kind === 'param').length, 0);
    let columns: readonly ResultColumn[] = [];
    let point: { plan: PointSelect; schema: arrow.Schema; columns: readonly ColumnSchema[] } | null = null;
    let insert: InsertTemplate | null = null;
    let insertTarget: InsertTarget | null = null;
    try {
      const probe = paramCount > 0 ? substituteMarkers(sql) : sql;
      const st = prepass(probe);
      if (st.kind === 'insertValues' && paramCount > 0 && splitStatements(sql).length === 1) insert = compileInsert(st, paramCount);
      if (insert !== null) insertTarget = this.resolveInsertTarget(insert.st);
      if (st.kind === 'sql') {
        const ast = parseSql(this.state, st.text);
        if (ast.type === 'select') {
          const rel = bindQuery(ast, this.env(st.text), null);
          columns = resultColumns(rel.cols);
          if (paramCount > 0 && splitStatements(sql).length === 1) point = this.compilePoint(ast, rel, columns, paramCount);
        }
      }
    } catch (e) {
      if (!isSaigaError(e)) throw e;
      if (e.code === 'ParseError') throw e;
    }
    const id = this.nextStmtId++;
    return {
      id, paramCount, columns,
      // Not async itself: each path is one async call (no frame awaiting another's promise).
      execute: (params: readonly Value[], options?: ExecuteOptions): Promise<StatementResult> => {
        if (point !== null) return this.executePreparedPoint(sql, point, columns, params, options);
        if (insert !== null && !this.closed && !this.state.closed) {
          // Prepared INSERT ... VALUES: the parameters become the literals the pre-pass would have
          // parsed from the substituted text, without tokenizing or parsing anything per execution.
          if (insert.slots.length === 1 && (insert.st.op === 'insert' || insert.st.op === 'insert_ignore') && params.length === insert.paramCount && plainParams(params)) {
            return this.executePreparedRow(sql, insert, params, insertTarget);
          }
          const rows = bindInsert(insert, params);
          if (rows !== null) return this.executePreparedInsert(sql, insert.st, rows, insertTarget);
        }
        return this.executePrepared(sql, params, options);
      },
      close: () => { /* nothing held */ },
    };
  }

  private async executePreparedPoint(sql: string, point: { plan: PointSelect; schema: arrow.Schema; columns: readonly ColumnSchema[] }, columns: readonly ResultColumn[], params: readonly Value[], options: ExecuteOptions | undefined): Promise<StatementResult> {
    const r = await this.executePoint(sql, point.plan, point.schema, point.columns, columns, params, options);
    return r ?? this.executePrepared(sql, params, options);
  }

  private async executePreparedInsert(sql: string, st: Extract<Statement, { kind: 'insertValues' }>, rows: readonly (readonly Literal[])[], insertTarget: InsertTarget | null): Promise<StatementResult> {
    this.warnings = [];
    this.startStatement(sql);
    const r = await this.insertValues(st, rows, this.currentInsertTarget(insertTarget));
    if (r.kind === 'ok' && r.warnings.length > 0) this.warnings = [...r.warnings];
    return r;
  }

  /**
   * A prepared single-row INSERT [IGNORE] (plainParams): each parameter becomes its column's
   * value as the literal the pre-pass would parse from it would (paramValue), with no literal
   * objects, and the row goes to storage.write from this one async frame.
   */
  private async executePreparedRow(sql: string, insert: InsertTemplate, params: readonly Value[], insertTarget: InsertTarget | null): Promise<StatementResult> {
    this.warnings = [];
    this.startStatement(sql);
    const resolved = this.currentInsertTarget(insertTarget);
    if (resolved === undefined) {
      // The table changed since PREPARE (or is gone): the general path resolves it again and reports.
      const lits = bindInsert(insert, params);
      assert(lits !== null, 'plain parameters of the right count bind as literals');
      return this.insertValues(insert.st, lits, resolved);
    }
    const { db, info, target } = resolved;
    const slots = insert.slots[0]!;
    if (slots.length !== target.length) throw new SaigaError('InvalidArgument', `expected ${target.length} values per row but found ${slots.length}`);
    const cols = info.schema.columns;
    const row: (Value | undefined)[] = new Array(cols.length).fill(undefined);
    for (let k = 0; k < target.length; k++) {
      const col = cols[target[k]!]!;
      const x = slots[k]!;
      row[target[k]!] = typeof x === 'number' ? paramValue(params[x]!, col) : literalToValue(x, col);
    }
    this.checkRequired(info, row);
    const op = insert.st.op;
    const w = await this.state.storage.write(db, info.name, op, [row]);
    const r = writeResult(this.partsDone(tallyPart({ applied: 0, warnings: [], lastId: undefined, firstDup: null }, op, 0, w)));
    if (r.warnings.length > 0) this.warnings = [...r.warnings];
    return r;
  }

  /** A prepared statement through the text path, its parameters bound into the cached AST. */
  private async executePrepared(sql: string, params: readonly Value[], options: ExecuteOptions | undefined): Promise<StatementResult> {
    const rs = await this.execute(sql, { ...(options ?? {}), params });
    assert(rs.length >= 1, 'a prepared statement yields a result');
    return rs[rs.length - 1]!;
  }

  /** The table and target columns of a prepared INSERT, or null (unknown table, bad column list: the execution reports it). */
  private resolveInsertTarget(st: Extract<Statement, { kind: 'insertValues' }>): InsertTarget | null {
    try {
      const { db, info } = this.table(st.db, st.table);
      return { sessionDatabase: this.database, db, info, target: this.targetColumns(info, st.columns) };
    } catch (e) {
      if (isSaigaError(e)) return null;
      throw e;
    }
  }

  /** `t` when it still names the table the statement would resolve to now; undefined otherwise. */
  private currentInsertTarget(t: InsertTarget | null): InsertTarget | undefined {
    if (t === null || this.database !== t.sessionDatabase) return undefined;
    let info: TableInfo;
    try {
      info = this.state.storage.getTable(t.db, t.info.name);
    } catch {
      return undefined; // the generic resolution reports the missing table
    }
    if (info.tableId !== t.info.tableId || info.schemaVersion !== t.info.schemaVersion) return undefined;
    return info === t.info ? t : { ...t, info };
  }

  /** A point-select plan for a prepared SELECT (point-path.ts), or null for another shape. */
  private compilePoint(ast: Ast, rel: Rel, columns: readonly ResultColumn[], paramCount: number): { plan: PointSelect; schema: arrow.Schema; columns: readonly ColumnSchema[] } | null {
    const f = Array.isArray(ast.from) && ast.from.length === 1 ? ast.from[0] : null;
    if (f === null || typeof f.table !== 'string') return null;
    const { db, info } = this.table(f.db ?? null, f.table);
    const plan = compilePointSelect(ast, info, db, this.database, MARKER_BASE, paramCount);
    if (plan === null || plan.outColumns.length !== rel.cols.length) return null;
    // The compiled plan must yield exactly the bound result columns (names and types).
    for (let i = 0; i < rel.cols.length; i++) {
      const b = rel.cols[i]!;
      const c = plan.outColumns[i]!;
      const t = columnType(c);
      if (b.type.type !== t.type || (t.type === 'decimal' && (b.type.precision !== t.precision || b.type.scale !== t.scale))) return null;
      if (columns[i]!.originalName !== undefined && columns[i]!.originalName!.toLowerCase() !== c.name.toLowerCase()) return null;
    }
    return { plan, schema: arrowSchemaOf(rel.cols), columns: info.schema.columns };
  }

  /** Runs a compiled point select; null when these parameters or the table's state need the generic path. */
  private async executePoint(sql: string, plan: PointSelect, schema: arrow.Schema, tableColumns: readonly ColumnSchema[], columns: readonly ResultColumn[], params: readonly Value[], options: ExecuteOptions | undefined): Promise<StatementResult | null> {
    if (this.closed || this.state.closed || this.database !== plan.sessionDatabase) return null;
    const key = pointKey(plan, params);
    if (key === null) return null;
    const storage = this.state.storage;
    let info: TableInfo;
    try {
      info = storage.getTable(plan.db, plan.table);
    } catch {
      return null; // the generic path reports the missing table
    }
    if (!stillValid(plan, info)) return null;
    if (options?.signal?.aborted === true) throw new SaigaError('Cancelled', 'the statement was cancelled');
    this.warnings = [];
    this.startStatement(sql);
    const row = await storage.lookup(plan.db, plan.table, key, plan.fetch);
    if (row === undefined) return { kind: 'rows', columns, arrowSchema: schema, batches: oneBatch(null), rowValues: [] };
    this.current!.rowsScanned += 1;
    return {
      kind: 'rows', columns, arrowSchema: schema,
      batches: oneBatch(() => pointBatch(plan, row, schema, tableColumns)),
      rowValues: [pointValues(plan, row, tableColumns)],
    };
  }

  async execute(sql: string, options: ExecuteOptions = {}): Promise<StatementResult[]> {
    if (this.closed || this.state.closed) throw new SaigaError('IllegalState', 'session is closed');
    if (options.params === undefined || options.params.length === 0) {
      // Large literal INSERT ... VALUES lists: one charCode scan instead of split + tokenize + pre-pass.
      const ins = scanInsertValues(sql);
      if (ins !== null) {
        this.warnings = [];
        this.startStatement(sql);
        const r = await this.insertValues(ins);
        if (r.kind === 'ok' && r.warnings.length > 0) this.warnings = [...r.warnings];
        return [r];
      }
    }
    if (options.params !== undefined && options.params.length > 0 && splitStatements(sql).length === 1) {
      const tpl = this.templateAst(sql, options.params.length);
      if (tpl !== null) {
        this.warnings = [];
        this.startStatement(sql);
        const bound = bindParams(tpl, options.params);
        return [await this.executeAst(bound, substituteMarkers(sql), options, false)];
      }
    }
    const text = options.params !== undefined && options.params.length > 0 ? substituteParams(sql, options.params) : sql;
    const stmts = splitStatements(text);
    if (stmts.length === 0) throw new SaigaError('ParseError', 'empty query');
    const out: StatementResult[] = [];
    for (const s of stmts) {
      const isShowWarnings = /^\s*show\s+(warnings|errors)\b/i.test(s);
      if (!isShowWarnings) this.warnings = [];
      this.startStatement(s);
      const r = await this.executeOne(s, options, stmts.length > 1);
      if (r.kind === 'ok' && r.warnings.length > 0) this.warnings = [...r.warnings];
      out.push(r);
    }
    return out;
  }

  private env(sql: string): BindEnv {
    return {
      storage: this.state.storage,
      database: this.database,
      sql,
      ctes: new Map(),
      sessionValue: (name) => this.sessionValue(name),
      columnStats: this.state.columnStats,
    };
  }

  private sessionValue(name: string): { value: LitValue; type: SqlType } | undefined {
    const n = name.toLowerCase();
    const str = (v: string | null): { value: LitValue; type: SqlType } => ({ value: v, type: STRING });
    switch (n) {
      case 'database()': case 'schema()': return str(this.database);
      case 'version()': return str(SERVER_VERSION);
      case 'connection_id()': return { value: this.connectionId, type: INT64 };
      case 'last_insert_id()': return { value: Number(this.lastInsertId), type: INT64 };
      case 'user()': case 'current_user()': case 'session_user()': case 'system_user()': case 'current_user':
        return str(`${this.user}@localhost`);
      case 'found_rows()': case 'row_count()': return { value: 0, type: INT64 };
      case 'current_timestamp': case 'now()': case 'localtime': case 'localtimestamp': return { value: Math.floor(Date.now() * 1000), type: { type: 'timestamp' } };
      case 'current_date': case 'curdate()': return { value: Math.floor(Date.now() / 86400000), type: { type: 'date' } };
      default: break;
    }
    if (n.startsWith('@@')) {
      const v = this.variables.get(n.slice(2));
      if (v === undefined) return undefined;
      return typeof v === 'bigint' || typeof v === 'number' ? { value: Number(v), type: INT64 } : typeof v === 'boolean' ? { value: v ? 1 : 0, type: BOOL } : str(v === null ? null : String(v));
    }
    if (n.startsWith('@')) {
      const v = this.variables.get(n);
      if (v === undefined || v === null) return { value: null, type: STRING };
      return typeof v === 'bigint' ? { value: Number(v), type: INT64 } : typeof v === 'number' ? { value: v, type: { type: 'double' } } : str(String(v));
    }
    return undefined;
  }

  private execContext(options: ExecuteOptions): ExecContext {
    const current = this.current;
    const ctx: ExecContext = {
      ...(current !== undefined ? { progress: current } : {}),
      storage: this.state.storage,
      readMode: { kind: 'latest' },
      signal: options.signal,
      deadlineMs: performance.now() + this.state.limits.queryTimeoutMs,
      memoryBytesMax: this.state.limits.queryMemoryBytesMax,
      memoryBytes: 0,
      rowsPerBatch: Math.min(this.state.limits.rowsPerBatchMax, 64 * 1024),
      subs: new Map(),
      coprocessor: this.state.coprocessor,
    };
    current?.contexts.push(ctx);
    return ctx;
  }

  private requireDb(db: string | null): string {
    const d = db ?? this.database;
    if (d === null) throw new SaigaError('NoDatabaseSelected', 'no database selected: USE a database or qualify the table name');
    return d;
  }

  private table(db: string | null, name: string): { db: string; info: TableInfo } {
    return lookupTable(this.env(''), db, name);
  }

  private async executeOne(sql0: string, options: ExecuteOptions, materialize: boolean): Promise<StatementResult> {
    // COPY, CREATE EXTERNAL TABLE and parquet('glob') calls (copy.ts) come first.
    const file = await runFileStatement(sql0, { storage: this.state.storage, database: this.database, runSelect: (q) => this.executeSql(q, options, false) });
    if (file.kind === 'result') return file.result;
    const sql = file.sql;
    const st = prepass(sql);
    return this.executeStatement(st, sql, options, materialize);
  }

  private async executeStatement(st: Statement, sql: string, options: ExecuteOptions, materialize: boolean): Promise<StatementResult> {
    const storage = this.state.storage;
    switch (st.kind) {
      case 'sql': return this.executeSql(st.text, options, materialize);
      case 'noop': return okResult();
      case 'use': {
        const db = storage.listDatabases().find((d) => d.toLowerCase() === st.name.toLowerCase());
        if (db === undefined) throw new SaigaError('UnknownDatabase', `unknown database '${st.name}'`);
        this.database = db;
        return okResult();
      }
      case 'createDatabase': {
        const exists = storage.listDatabases().some((d) => d.toLowerCase() === st.name.toLowerCase());
        if (exists && !st.ifNotExists) throw new SaigaError('DatabaseExists', `database '${st.name}' already exists`);
        if (exists) return okResult(0, { warnings: [{ level: 'Note', code: 1007, message: `Can't create database '${st.name}'; database exists` }] });
        await storage.createDatabase(st.name, st.ifNotExists);
        return okResult(1);
      }
      case 'dropDatabase': {
        const db = storage.listDatabases().find((d) => d.toLowerCase() === st.name.toLowerCase());
        if (db === undefined) {
          if (st.ifExists) return okResult(0, { warnings: [{ level: 'Note', code: 1008, message: `Can't drop database '${st.name}'; database doesn't exist` }] });
          throw new SaigaError('UnknownDatabase', `unknown database '${st.name}'`);
        }
        const n = storage.listTables(db).length;
        const ids = storage.listTables(db).map((t) => { try { return storage.getTable(db, t).tableId; } catch { return null; } });
        await storage.dropDatabase(db, st.ifExists);
        for (const id of ids) if (id !== null) this.state.columnStats.invalidate(id);
        if (this.database === db) this.database = null;
        return okResult(n);
      }
      case 'createTable': return this.createTable(st, options);
      case 'dropTable': {
        const warnings: Warning[] = [];
        for (const t of st.tables) {
          const db = this.requireDb(t.db);
          let found: { db: string; info: TableInfo } | null = null;
          try { found = this.table(db, t.name); } catch (e) {
            if (!(isSaigaError(e, 'UnknownTable') || isSaigaError(e, 'UnknownDatabase')) || !st.ifExists) throw e;
            warnings.push({ level: 'Note', code: 1051, message: `Unknown table '${db}.${t.name}'` });
          }
          if (found !== null) {
            await storage.dropTable(found.db, found.info.name, st.ifExists);
            this.state.columnStats.invalidate(found.info.tableId);
          }
        }
        return okResult(0, { warnings });
      }
      case 'truncate': {
        const { db, info } = this.table(st.db, st.name);
        await storage.truncateTable(db, info.name);
        this.state.columnStats.invalidate(info.tableId);
        return okResult();
      }
      case 'alterTable': return this.alterTable(st);
      case 'insertValues': return this.insertValues(st);
      case 'insertSelect': return this.insertSelect(st, options);
      case 'show': return this.show(st);
      case 'describe': {
        const { info } = this.table(st.db, st.table);
        return this.describeTable(info, st.formatted);
      }
      case 'set': {
        for (const a of st.assignments) {
          let v: Value;
          if (a.value.k === 'expr') {
            const ast = parseSql(this.state, `SELECT ${a.value.text}`);
            const e = bindConstantRow([ast.columns[0].expr], this.env(`SELECT ${a.value.text}`))[0]!;
            if (e.kind !== 'lit') throw new SaigaError('NotSupported', `SET ${a.name} to a non-constant expression`);
            v = e.value === null ? null : typeof e.value === 'number' ? (Number.isInteger(e.value) ? BigInt(e.value) : e.value) : e.value instanceof Uint8Array ? e.value : e.value;
          } else {
            v = a.value.k === 'num' ? (/^-?\d+$/.test(a.value.text) ? BigInt(a.value.text) : Number(a.value.text))
              : a.value.k === 'str' ? a.value.v : a.value.k === 'bool' ? (a.value.v ? 1n : 0n) : a.value.k === 'null' ? null
              : a.value.k === 'default' ? (DEFAULT_VARIABLES.find(([k]) => k === a.name)?.[1] ?? null) : a.value.v;
          }
          this.variables.set(a.name, v);
        }
        return okResult();
      }
      case 'computeStats': {
        const { db, info } = this.table(st.db, st.table);
        const hidden = new Set(info.schema.columns.filter((c) => c.name === AUTO_INCREMENT_COLUMN).map((c) => c.name));
        const stats = await computeColumnStats(storage, db, info, hidden);
        this.state.columnStats.set(stats);
        return okResult(0, { info: `Updated ${info.tablets.length} partition(s) and ${stats.columns.size} column(s) of ${db}.${info.name}: ${stats.rowCount} rows; column stats (#distinct, #nulls, min, max, sizes) for ${[...stats.columns.keys()].join(', ')}.` });
      }
      case 'explain': {
        if (st.inner.kind !== 'sql') return valuesResult([{ name: 'Explain', type: S }], [[`${st.inner.kind} (executed by the statement layer, no query plan)`]]);
        const ast = parseSql(this.state, st.inner.text);
        if (ast.type !== 'select') return valuesResult([{ name: 'Explain', type: S }], [[`${String(ast.type).toUpperCase()}: scan for matching keys, then write`]]);
        const rel = bindQuery(ast, this.env(st.inner.text), null);
        const plan = optimize(rel.plan);
        return valuesResult([{ name: 'Explain', type: S }], explain(plan).map((l) => [l]));
      }
    }
    void sql;
  }

  // ---------- SELECT / UPDATE / DELETE ----------

  private async executeSql(text: string, options: ExecuteOptions, materialize: boolean): Promise<StatementResult> {
    return this.executeAst(parseSql(this.state, text), text, options, materialize);
  }

  /**
   * Prepared-statement fast path: the template is parsed once with numbered markers in place of
   * `?`, and each execution copies the cached AST with the parameter literals in place.
   */
  private templateAst(sql: string, paramCount: number): Ast | null {
    const cache = this.state.templateCache;
    if (cache.has(sql)) return cache.get(sql) ?? null;
    let ast: Ast | null = null;
    try {
      const marked = substituteMarkers(sql);
      const st = prepass(marked);
      if (st.kind === 'sql') {
        const a = parseSql(this.state, marked);
        if (a.type === 'select' || a.type === 'update' || a.type === 'delete') {
          // Every marker must appear exactly once as a number node.
          const seen = new Array<number>(paramCount).fill(0);
          walkAst(a, (n) => { const k = markerIndex(n); if (k >= 0 && k < paramCount) seen[k]!++; });
          if (seen.every((x) => x === 1)) ast = a;
        }
      }
    } catch (e) {
      if (!isSaigaError(e)) throw e;
    }
    if (cache.size >= AST_CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(sql, ast);
    return ast;
  }

  private async executeAst(ast: Ast, text: string, options: ExecuteOptions, materialize: boolean): Promise<StatementResult> {
    const env = this.env(text);
    switch (ast.type) {
      case 'select': {
        const rel = bindQuery(ast, env, null);
        return this.runQuery(rel, options, materialize);
      }
      case 'update': return this.update(ast, env, options);
      case 'delete': return this.delete(ast, env, options);
      default: unsupported(`statement ${String(ast.type).toUpperCase()}`);
    }
  }

  private async runQuery(rel: Rel, options: ExecuteOptions, materialize: boolean): Promise<StatementResult> {
    const plan = optimize(rel.plan);
    const ctx = this.execContext(options);
    const schema = arrowSchemaOf(rel.cols);
    const types = rel.cols.map((c) => c.type);
    const gen = run(plan, ctx);
    const toBatch = (c: Chunk): arrow.RecordBatch => chunkToRecordBatch(c, schema, types);
    if (materialize) {
      const all: arrow.RecordBatch[] = [];
      for await (const c of gen) all.push(toBatch(c));
      return { kind: 'rows', columns: resultColumns(rel.cols), arrowSchema: schema, batches: (async function* () { yield* all; })() };
    }
    // Pull the first chunk now so that errors surface from execute(); stream the rest.
    const first = await gen.next();
    const batches = (async function* () {
      if (first.done === true) return;
      yield toBatch(first.value);
      for await (const c of gen) yield toBatch(c);
    })();
    return { kind: 'rows', columns: resultColumns(rel.cols), arrowSchema: schema, batches };
  }

  private async collectRows(plan: LogicalPlan, options: ExecuteOptions): Promise<Chunk[]> {
    const ctx = this.execContext(options);
    const out: Chunk[] = [];
    for await (const c of run(optimize(plan), ctx)) out.push(c);
    return out;
  }

  private async update(ast: Ast, env: BindEnv, options: ExecuteOptions): Promise<StatementResult> {
    const tables = ast.table as Ast[];
    if (!Array.isArray(tables) || tables.length !== 1 || tables[0].join) unsupported('multi-table UPDATE');
    const t = tables[0];
    const { db, info } = this.table(t.db ?? null, t.table);
    return withTableLock(this.state, db, info.name, () => this.updateLocked(ast, env, options, db, info));
  }

  private async updateLocked(ast: Ast, env: BindEnv, options: ExecuteOptions, db: string, info: TableInfo): Promise<StatementResult> {
    const t = (ast.table as Ast[])[0];
    const schema = info.schema;
    const keyCount = Math.max(schema.keyColumnCount, 1);
    const setItems = ast.set as Ast[];
    const colIdx = setItems.map((s) => {
      const i = schema.columns.findIndex((c) => c.name.toLowerCase() === String(s.column).toLowerCase());
      if (i < 0) throw new SaigaError('UnknownColumn', `unknown column '${s.column}' in SET`);
      if (i < keyCount) throw new SaigaError('NotSupported', `updating primary key column '${schema.columns[i]!.name}' is not supported`);
      return i;
    });
    const selAst: Ast = {
      type: 'select', with: null, distinct: null, options: null,
      columns: [
        ...schema.columns.slice(0, keyCount).map((c) => ({ expr: { type: 'column_ref', table: null, column: c.name }, as: null })),
        ...setItems.map((s) => ({ expr: s.value?.type === 'expr_list' ? s.value.value[0] : s.value, as: null })),
      ],
      from: [{ db: t.db ?? null, table: t.table, as: t.as ?? null }],
      where: ast.where ?? null, groupby: null, having: null, orderby: ast.orderby ?? null, limit: ast.limit ?? null,
    };
    const rel = bindQuery(selAst, env, null);
    const chunks = await this.collectRows(rel.plan, options);
    const rows: Row[] = [];
    for (const c of chunks) {
      const vecs = c.columns.map((v, k) => (k >= keyCount ? castVector(v, columnType(schema.columns[colIdx[k - keyCount]!]!)) : v));
      for (let i = 0; i < c.length; i++) {
        const row: (Value | undefined)[] = new Array(schema.columns.length).fill(undefined);
        for (let k = 0; k < keyCount; k++) row[k] = toColumnValue(cellValue(vecs[k]!, i), schema.columns[k]!);
        for (let k = 0; k < colIdx.length; k++) row[colIdx[k]!] = apiCell(vecs[keyCount + k]!, i, schema.columns[colIdx[k]!]!);
        rows.push(row);
      }
    }
    const ignore = ast.options?.some?.((o: Ast) => String(o).toUpperCase() === 'IGNORE') === true;
    const r = await this.writeRows(db, info.name, ignore ? 'update_ignore' : 'update', rows);
    return okResult(r.appliedCount, { info: `Rows matched: ${rows.length}  Changed: ${r.appliedCount}  Warnings: 0` });
  }

  private async delete(ast: Ast, env: BindEnv, options: ExecuteOptions): Promise<StatementResult> {
    const from = ast.from as Ast[];
    if (!Array.isArray(from) || from.length !== 1 || (Array.isArray(ast.table) && ast.table.length > 1)) unsupported('multi-table DELETE');
    const t = from[0];
    const { db, info } = this.table(t.db ?? null, t.table);
    return withTableLock(this.state, db, info.name, () => this.deleteLocked(ast, env, options, db, info));
  }

  private async deleteLocked(ast: Ast, env: BindEnv, options: ExecuteOptions, db: string, info: TableInfo): Promise<StatementResult> {
    const t = (ast.from as Ast[])[0];
    const schema = info.schema;
    const keyCount = Math.max(schema.keyColumnCount, 1);
    const selAst: Ast = {
      type: 'select', with: null, distinct: null, options: null,
      columns: schema.columns.slice(0, keyCount).map((c) => ({ expr: { type: 'column_ref', table: null, column: c.name }, as: null })),
      from: [{ db: t.db ?? null, table: t.table, as: t.as ?? null }],
      where: ast.where ?? null, groupby: null, having: null, orderby: ast.orderby ?? null, limit: ast.limit ?? null,
    };
    const rel = bindQuery(selAst, env, null);
    const chunks = await this.collectRows(rel.plan, options);
    const rows: Row[] = [];
    for (const c of chunks) {
      for (let i = 0; i < c.length; i++) {
        const row: (Value | undefined)[] = new Array(schema.columns.length).fill(undefined);
        for (let k = 0; k < keyCount; k++) row[k] = toColumnValue(cellValue(c.columns[k]!, i), schema.columns[k]!);
        rows.push(row);
      }
    }
    const r = await this.writeRows(db, info.name, 'delete_ignore', rows);
    return okResult(r.appliedCount);
  }

  // ---------- writes ----------

  private writeRows(db: string, table: string, kind: WriteOpKind, rows: readonly Row[]): Promise<WriteSummary> {
    return this.writeParts(kind, rows.length, (s, e) => this.state.storage.write(db, table, kind, rows.slice(s, e)));
  }

  /** Columnar twin of writeRows: the same limits, error and warning reporting, one writeArrow per part. */
  private writeBatch(db: string, table: string, kind: WriteOpKind, batch: arrow.RecordBatch, onPartWritten: () => void): Promise<WriteSummary> {
    return this.writeParts(kind, batch.numRows, async (s, e) => {
      const r = await this.state.storage.writeArrow(db, table, kind, s === 0 && e === batch.numRows ? batch : batch.slice(s, e));
      onPartWritten();
      return r;
    });
  }

  private async writeParts(kind: WriteOpKind, rowCount: number, writePart: (start: number, end: number) => Promise<WriteResult>): Promise<WriteSummary> {
    const acc: PartsTally = { applied: 0, warnings: [], lastId: undefined, firstDup: null };
    const step = this.state.limits.writeBatchRowsMax;
    for (let s = 0; s < rowCount; s += step) tallyPart(acc, kind, s, await writePart(s, Math.min(rowCount, s + step)));
    return this.partsDone(acc);
  }

  /** The statement's outcome from its parts' tally (throws for a duplicate key of a plain INSERT). */
  private partsDone(acc: PartsTally): WriteSummary {
    if (acc.firstDup !== null) {
      throw new SaigaError('AlreadyPresent', `duplicate primary key: ${acc.firstDup} (${acc.applied} other row(s) were written)`);
    }
    if (acc.lastId !== undefined) this.lastInsertId = acc.lastId;
    return acc.lastId !== undefined ? { appliedCount: acc.applied, warnings: acc.warnings, lastId: acc.lastId } : { appliedCount: acc.applied, warnings: acc.warnings };
  }

  private targetColumns(info: TableInfo, names: readonly string[] | null): number[] {
    const cols = info.schema.columns;
    if (names === null) return cols.flatMap((c, i) => (c.name === AUTO_INCREMENT_COLUMN ? [] : [i]));
    return names.map((n) => {
      const i = cols.findIndex((c) => c.name.toLowerCase() === n.toLowerCase());
      if (i < 0) throw new SaigaError('UnknownColumn', `unknown column '${n}' in table '${info.name}'`);
      return i;
    });
  }

  private checkRequired(info: TableInfo, row: (Value | undefined)[]): void {
    const cols = info.schema.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      if (row[i] !== undefined || c.autoIncrement || c.name === AUTO_INCREMENT_COLUMN) continue;
      if (c.defaultValue !== undefined) { row[i] = c.defaultValue; continue; }
      if (!c.nullable) throw new SaigaError('InvalidArgument', `column '${c.name}' has no default and was not given a value`);
      row[i] = null;
    }
  }

  /** `resolved`: the statement's table and target columns, already checked (prepared INSERT). */
  private async insertValues(st: Extract<Statement, { kind: 'insertValues' }>, lits: readonly (readonly Literal[])[] = st.rows, resolved?: InsertTarget): Promise<StatementResult> {
    const { db, info } = resolved ?? this.table(st.db, st.table);
    const target = resolved?.target ?? this.targetColumns(info, st.columns);
    const cols = info.schema.columns;
    if ((st.op === 'insert' || st.op === 'insert_ignore') && lits.length >= COLUMNAR_INSERT_MIN_ROWS) {
      // Literals straight into Arrow columns, one writeArrow (no per-row objects); null: row path.
      const batch = columnarInsertBatch(info.schema, target, lits, literalToValue);
      if (batch !== null) {
        let started = false;
        try {
          const r = await this.writeBatch(db, info.name, st.op, batch, () => { started = true; });
          return okResult(r.appliedCount, { warnings: r.warnings });
        } catch (e) {
          // A storage without the columnar path (or one refusing the write: the row path says
          // the same) rejects the first part before writing anything; any other error stands.
          if (started || !isSaigaError(e, 'NotSupported')) throw e;
        }
      }
    }
    const rows: Row[] = [];
    for (const rowLits of lits) {
      if (rowLits.length !== target.length) throw new SaigaError('InvalidArgument', `expected ${target.length} values per row but found ${rowLits.length}`);
      const row: (Value | undefined)[] = new Array(cols.length).fill(undefined);
      for (let k = 0; k < target.length; k++) {
        const col = cols[target[k]!]!;
        const l = rowLits[k]!;
        row[target[k]!] = l.k === 'expr' ? this.evalConstant(l.text, col) : literalToValue(l, col);
      }
      this.checkRequired(info, row);
      rows.push(row);
    }
    // UPSERT / REPLACE overwrite whole rows: ordered against UPDATEs' read-modify-writes. A
    // statement of one part (every single-row INSERT) awaits the storage write here directly.
    const r = st.op === 'upsert'
      ? await withTableLock(this.state, db, info.name, () => this.writeRows(db, info.name, st.op, rows))
      : rows.length <= this.state.limits.writeBatchRowsMax
        ? this.partsDone(tallyPart({ applied: 0, warnings: [], lastId: undefined, firstDup: null }, st.op, 0, await this.state.storage.write(db, info.name, st.op, rows)))
        : await this.writeRows(db, info.name, st.op, rows);
    return writeResult(r);
  }

  private evalConstant(text: string, col: ColumnSchema): Value | undefined {
    const sql = `SELECT ${text}`;
    const ast = parseSql(this.state, sql);
    const e = bindConstantRow([ast.columns[0].expr], this.env(sql))[0]!;
    if (e.kind !== 'lit') throw new SaigaError('NotSupported', `a non-constant expression in VALUES: ${text}`);
    const vec = typeof e.value === 'bigint' ? constVector(e.value, e.type, 1)
      : castVector({ kind: 'num', type: e.type, values: new Float64Array([typeof e.value === 'number' ? e.value : 0]), valid: e.value === null ? new Uint8Array(1) : null }, e.type);
    if (typeof e.value === 'string') return toColumnValue(e.type.type === 'string' ? e.value : e.value, col);
    if (e.value instanceof Uint8Array) return toColumnValue(e.value, col);
    const casted = castVector(vec, columnType(col));
    return apiCell(casted, 0, col);
  }

  private async insertSelect(st: Extract<Statement, { kind: 'insertSelect' }>, options: ExecuteOptions): Promise<StatementResult> {
    const { db, info } = this.table(st.db, st.table);
    return withTableLock(this.state, db, info.name, () => this.insertSelectLocked(st, options, db, info));
  }

  private async insertSelectLocked(st: Extract<Statement, { kind: 'insertSelect' }>, options: ExecuteOptions, db: string, info: TableInfo): Promise<StatementResult> {
    const target = this.targetColumns(info, st.columns);
    const ast = parseSql(this.state, st.select);
    if (ast.type !== 'select') unsupported(`INSERT ... ${String(ast.type).toUpperCase()}`);
    const rel = bindQuery(ast, this.env(st.select), null);
    if (rel.cols.length !== target.length) throw new SaigaError('InvalidArgument', `INSERT names ${target.length} columns but the SELECT returns ${rel.cols.length}`);
    const chunks = await this.collectRows(rel.plan, options);
    const rows = this.chunksToRows(chunks, info, target);
    const r = await this.writeRows(db, info.name, st.op, rows);
    const extra: { lastInsertId?: bigint; warnings: Warning[]; info: string } = { warnings: r.warnings, info: `Records: ${rows.length}  Duplicates: ${rows.length - r.appliedCount}  Warnings: ${r.warnings.length}` };
    if (r.lastId !== undefined) extra.lastInsertId = r.lastId;
    return okResult(r.appliedCount, extra);
  }

  private chunksToRows(chunks: readonly Chunk[], info: TableInfo, target: readonly number[]): Row[] {
    const cols = info.schema.columns;
    const rows: Row[] = [];
    for (const c of chunks) {
      const vecs = c.columns.map((v, k) => castVector(v, columnType(cols[target[k]!]!)));
      for (let i = 0; i < c.length; i++) {
        const row: (Value | undefined)[] = new Array(cols.length).fill(undefined);
        for (let k = 0; k < target.length; k++) row[target[k]!] = apiCell(vecs[k]!, i, cols[target[k]!]!);
        this.checkRequired(info, row);
        rows.push(row);
      }
    }
    return rows;
  }

  // ---------- DDL ----------

  private columnSchema(d: ColumnDef, isKey: boolean): ColumnSchema {
    const t = d.typeName;
    let type: DataType;
    let precision: number | undefined;
    let scale: number | undefined;
    switch (t) {
      case 'INT': case 'INTEGER': case 'MEDIUMINT': case 'INT4': type = 'int32'; break;
      case 'BIGINT': case 'INT8': type = 'int64'; break;
      case 'TINYINT': type = d.typeArgs[0] === 1 ? 'bool' : 'int8'; break;
      case 'SMALLINT': case 'INT2': type = 'int16'; break;
      case 'BOOL': case 'BOOLEAN': case 'BIT': type = 'bool'; break;
      case 'FLOAT': case 'FLOAT4': type = d.typeArgs.length === 2 ? 'double' : 'float'; break;
      case 'DOUBLE': case 'REAL': case 'FLOAT8': type = 'double'; break;
      case 'DECIMAL': case 'NUMERIC': case 'DEC': case 'FIXED':
        type = 'decimal'; precision = d.typeArgs[0] ?? 10; scale = d.typeArgs[1] ?? 0;
        if (precision < 1 || precision > 38 || scale < 0 || scale > precision) throw new SaigaError('InvalidArgument', `DECIMAL(${precision},${scale}) for column '${d.name}': expected 1 <= precision <= 38 and 0 <= scale <= precision`);
        break;
      case 'VARCHAR': case 'CHAR': case 'TEXT': case 'STRING': case 'TINYTEXT': case 'MEDIUMTEXT': case 'LONGTEXT': case 'NVARCHAR': case 'NCHAR': case 'ENUM': case 'SET': case 'JSON':
        type = 'string'; break;
      case 'BINARY': case 'VARBINARY': case 'BLOB': case 'TINYBLOB': case 'MEDIUMBLOB': case 'LONGBLOB': type = 'binary'; break;
      case 'DATE': type = 'date'; break;
      case 'DATETIME': case 'TIMESTAMP': type = 'timestamp'; break;
      default: throw new SaigaError('NotSupported', `column type ${t} (column '${d.name}') is not supported`);
    }
    const base: { -readonly [K in keyof ColumnSchema]: ColumnSchema[K] } = { name: d.name, type, nullable: isKey ? false : !d.notNull };
    if (precision !== undefined) { base.precision = precision; base.scale = scale ?? 0; }
    if (d.comment !== undefined) base.comment = d.comment;
    if (d.defaultValue !== undefined && d.defaultValue.k !== 'expr' && d.defaultValue.k !== 'null') {
      base.defaultValue = literalToValue(d.defaultValue, base as ColumnSchema) ?? null;
    }
    if (isKey && d.nullExplicit && !d.notNull) throw new SaigaError('InvalidArgument', `primary key column '${d.name}' cannot be NULL`);
    return base;
  }

  private rangeBound(lits: readonly Literal[] | undefined, cols: readonly ColumnSchema[]): Row | undefined {
    if (lits === undefined) return undefined;
    if (lits.length !== cols.length) throw new SaigaError('InvalidArgument', `range bound has ${lits.length} values but the range has ${cols.length} column(s)`);
    return lits.map((l, i) => literalToValue(l, cols[i]!) ?? null);
  }

  private rangeBounds(r: RangePartitionDef, cols: readonly ColumnSchema[]): { lower?: Row; upper?: Row } {
    const out: { lower?: Row; upper?: Row } = {};
    const lo = this.rangeBound(r.lower, cols);
    const hi = this.rangeBound(r.upper, cols);
    if (lo !== undefined) out.lower = lo;
    if (hi !== undefined) out.upper = hi;
    return out;
  }

  private async createTable(st: Extract<Statement, { kind: 'createTable' }>, options: ExecuteOptions): Promise<StatementResult> {
    const db = this.requireDb(st.db);
    const storage = this.state.storage;
    if (!storage.listDatabases().some((d) => d === db)) throw new SaigaError('UnknownDatabase', `unknown database '${db}'`);
    const exists = storage.listTables(db).some((t) => t.toLowerCase() === st.name.toLowerCase());
    if (exists) {
      if (st.ifNotExists) return okResult(0, { warnings: [{ level: 'Note', code: 1050, message: `Table '${st.name}' already exists` }] });
      throw new SaigaError('TableExists', `table '${db}.${st.name}' already exists`);
    }
    let defs = st.columns.slice();
    let selectRel: Rel | null = null;
    if (st.asSelect !== null) {
      const ast = parseSql(this.state, st.asSelect);
      if (ast.type !== 'select') unsupported('CREATE TABLE ... AS with a non-SELECT');
      selectRel = bindQuery(ast, this.env(st.asSelect), null);
      if (defs.length === 0) {
        defs = selectRel.cols.map((c) => ({
          name: c.name, typeName: sqlTypeName(c.type), typeArgs: c.type.type === 'decimal' ? [c.type.precision ?? 38, c.type.scale ?? 0] : [],
          notNull: false, nullExplicit: false, primaryKey: false, autoIncrement: false,
        }));
      }
    }
    const pk = st.primaryKey ?? [];
    const seenNames = new Set<string>();
    for (const d of defs) {
      if (seenNames.has(d.name.toLowerCase())) throw new SaigaError('InvalidArgument', `duplicate column name '${d.name}'`);
      seenNames.add(d.name.toLowerCase());
    }
    const byName = new Map(defs.map((d) => [d.name.toLowerCase(), d]));
    for (const k of pk) if (!byName.has(k.toLowerCase())) throw new SaigaError('UnknownColumn', `primary key column '${k}' is not a column of table '${st.name}'`);
    const keyDefs = pk.map((k) => byName.get(k.toLowerCase())!);
    const rest = defs.filter((d) => !pk.some((k) => k.toLowerCase() === d.name.toLowerCase()));
    const columns = [...keyDefs.map((d) => this.columnSchema(d, true)), ...rest.map((d) => this.columnSchema(d, false))];
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c.name.toLowerCase())) throw new SaigaError('InvalidArgument', `duplicate column name '${c.name}'`);
      seen.add(c.name.toLowerCase());
    }
    const schema: Schema = { columns, keyColumnCount: keyDefs.length };
    const partition = this.partitionSchema(st.partition, pk, columns);
    const req = {
      database: db, name: st.name, schema, partitionSchema: partition.schema, ranges: partition.ranges, ifNotExists: st.ifNotExists,
      ...(st.comment !== undefined ? { comment: st.comment } : {}),
    };
    await storage.createTable(req);
    if (selectRel !== null) {
      const info = storage.getTable(db, st.name);
      const target = selectRel.cols.map((c) => {
        const i = info.schema.columns.findIndex((x) => x.name.toLowerCase() === c.name.toLowerCase());
        if (i < 0) throw new SaigaError('UnknownColumn', `CREATE TABLE ... AS SELECT: column '${c.name}' is not in the new table`);
        return i;
      });
      // A storage with a bulk load takes the streamed result as Arrow batches (copy.ts), the same errors.
      if (storage.bulkLoad !== undefined) return okResult(await bulkInsertChunks(storage, db, info, target, run(optimize(selectRel.plan), this.execContext(options))));
      const chunks = await this.collectRows(selectRel.plan, options);
      const rows = this.chunksToRows(chunks, info, target);
      const r = await this.writeRows(db, info.name, 'insert', rows);
      return okResult(r.appliedCount);
    }
    return okResult();
  }

  private partitionSchema(p: PartitionDef | null, pk: readonly string[], columns: readonly ColumnSchema[]): { schema: { hash: { columns: string[]; buckets: number; seed: number }[]; rangeColumns: string[] }; ranges: { lower?: Row; upper?: Row }[] } {
    const keyNames = new Set(pk.map((k) => k.toLowerCase()));
    const canon = (n: string): string => {
      if (!keyNames.has(n.toLowerCase())) throw new SaigaError('InvalidArgument', `partition column '${n}' must be a primary key column`);
      return columns.find((c) => c.name.toLowerCase() === n.toLowerCase())!.name;
    };
    if (p === null) {
      if (pk.length === 0) return { schema: { hash: [], rangeColumns: [] }, ranges: [] };
      return { schema: { hash: [{ columns: pk.map(canon), buckets: DEFAULT_HASH_BUCKETS, seed: 0 }], rangeColumns: [] }, ranges: [] };
    }
    const hash = p.hash.map((h) => {
      if (h.buckets < 2) throw new SaigaError('InvalidArgument', `HASH PARTITIONS must be at least 2 but found ${h.buckets}`);
      return { columns: (h.columns.length > 0 ? h.columns : pk).map(canon), buckets: h.buckets, seed: 0 };
    });
    const rangeColumns = p.rangeColumns.map(canon);
    const rcols = rangeColumns.map((n) => columns.find((c) => c.name === n)!);
    const ranges = p.ranges.map((r) => this.rangeBounds(r, rcols));
    return { schema: { hash, rangeColumns }, ranges };
  }

  private async alterTable(st: Extract<Statement, { kind: 'alterTable' }>): Promise<StatementResult> {
    const { db, info } = this.table(st.db, st.name);
    const steps: AlterTableStep[] = [];
    const rcols = info.partitionSchema.rangeColumns.map((n) => info.schema.columns.find((c) => c.name === n)!);
    for (const s of st.steps) {
      switch (s.kind) {
        case 'addColumns':
          for (const d of s.columns) {
            const c = this.columnSchema(d, false);
            if (!c.nullable && c.defaultValue === undefined) throw new SaigaError('InvalidArgument', `a NOT NULL column added to an existing table needs a DEFAULT ('${c.name}')`);
            steps.push({ kind: 'addColumn', column: c });
          }
          break;
        case 'dropColumn': steps.push({ kind: 'dropColumn', name: s.name }); break;
        case 'renameColumn': steps.push({ kind: 'renameColumn', from: s.from, to: s.to }); break;
        case 'renameTable':
          if (s.db !== null && s.db !== db) unsupported('renaming a table into another database');
          steps.push({ kind: 'renameTable', newName: s.name });
          break;
        case 'addRange':
          if (rcols.length === 0) throw new SaigaError('InvalidArgument', `table '${info.name}' has no range partitioning`);
          steps.push({ kind: 'addRangePartition', range: this.rangeBounds(s.range, rcols) });
          break;
        case 'dropRange':
          if (rcols.length === 0) throw new SaigaError('InvalidArgument', `table '${info.name}' has no range partitioning`);
          steps.push({ kind: 'dropRangePartition', range: this.rangeBounds(s.range, rcols) });
          break;
      }
    }
    await this.state.storage.alterTable(db, info.name, steps);
    this.state.columnStats.invalidate(info.tableId);
    return okResult();
  }

  // ---------- SHOW / DESCRIBE ----------

  private describeTable(info: TableInfo, formatted: boolean): StatementResult {
    const keys = info.schema.keyColumnCount;
    const rows = info.schema.columns
      .filter((c) => c.name !== AUTO_INCREMENT_COLUMN)
      .map((c) => {
        const i = info.schema.columns.indexOf(c);
        return [c.name, typeToSql(c).toLowerCase(), c.nullable ? 'YES' : 'NO', i < keys ? 'PRI' : '', c.defaultValue === undefined || c.defaultValue === null ? null : displayValue(c.defaultValue, c), c.autoIncrement ? 'auto_increment' : ''] as Value[];
      });
    if (formatted) {
      const extra: Value[][] = [
        ['', null, null, null, null, null],
        ['# Detailed Table Information', null, null, null, null, null],
        ['Table', info.name, null, null, null, null],
        ['Database', info.database, null, null, null, null],
        ['Tablets', String(info.tablets.length), null, null, null, null],
        ['Partition', partitionText(info), null, null, null, null],
        ['Replication factor', String(info.replicationFactor), null, null, null, null],
      ];
      return valuesResult([{ name: 'Field', type: S }, { name: 'Type', type: S }, { name: 'Null', type: S }, { name: 'Key', type: S }, { name: 'Default', type: S }, { name: 'Extra', type: S }], [...rows, ...extra]);
    }
    return valuesResult([{ name: 'Field', type: S }, { name: 'Type', type: S }, { name: 'Null', type: S }, { name: 'Key', type: S }, { name: 'Default', type: S }, { name: 'Extra', type: S }], rows);
  }

  private show(st: Extract<Statement, { kind: 'show' }>): StatementResult {
    const storage = this.state.storage;
    const filter = (names: string[]): string[] => (st.like === null ? names : names.filter((n) => likeToRegex(st.like!).test(n)));
    switch (st.what) {
      case 'databases':
        return valuesResult([{ name: 'Database', type: S }], filter([...storage.listDatabases()].sort()).map((d) => [d]));
      case 'tables': {
        const db = this.requireDb(st.db);
        if (!storage.listDatabases().includes(db)) throw new SaigaError('UnknownDatabase', `unknown database '${db}'`);
        const names = filter([...storage.listTables(db)].sort());
        if (st.full) return valuesResult([{ name: `Tables_in_${db}`, type: S }, { name: 'Table_type', type: S }], names.map((n) => [n, 'BASE TABLE']));
        return valuesResult([{ name: `Tables_in_${db}`, type: S }], names.map((n) => [n]));
      }
      case 'tableStatus': {
        const db = this.requireDb(st.db);
        const names = filter([...storage.listTables(db)].sort());
        return valuesResult(
          [{ name: 'Name', type: S }, { name: 'Engine', type: S }, { name: 'Rows', type: I }, { name: 'Data_length', type: I }, { name: 'Comment', type: S }],
          names.map((n) => { const s = storage.tableStats(db, n); return [n, 'Kudu', BigInt(s.rowCount), BigInt(s.onDiskBytes + s.memoryBytes), storage.getTable(db, n).comment ?? '']; }),
        );
      }
      case 'columnStats': {
        const { info } = this.table(st.db, st.table!);
        const cs = this.state.columnStats.get(info);
        const rows = info.schema.columns.filter((c) => c.name !== AUTO_INCREMENT_COLUMN).map((c) => {
          const s = cs?.columns.get(c.name);
          const fixed = typeWidth(c.type);
          const m = (v: number | string | null | undefined): Value => (v === null || v === undefined ? null : typeof v === 'string' ? v : statValueText(v, c.type));
          return [c.name, typeToSql(c).toUpperCase(), BigInt(s?.ndv ?? -1), BigInt(s?.nulls ?? -1),
            BigInt(s !== undefined ? s.maxSize : fixed), s !== undefined ? s.avgSize : fixed, m(s?.min), m(s?.max)] as Value[];
        });
        return valuesResult([{ name: 'Column', type: S }, { name: 'Type', type: S }, { name: '#Distinct Values', type: I }, { name: '#Nulls', type: I },
          { name: 'Max Size', type: I }, { name: 'Avg Size', type: DOUBLE }, { name: 'Min', type: S }, { name: 'Max', type: S }], rows);
      }
      case 'tableStats': {
        const { db, info } = this.table(st.db, st.table!);
        const s = storage.tableStats(db, info.name);
        return valuesResult([{ name: '#Rows', type: I }, { name: '#Tablets', type: I }, { name: 'Size', type: I }, { name: 'Memory', type: I }],
          [[BigInt(s.rowCount), BigInt(info.tablets.length), BigInt(s.onDiskBytes), BigInt(s.memoryBytes)]]);
      }
      case 'columns': {
        const { info } = this.table(st.db, st.table!);
        return this.describeTable(info, false);
      }
      case 'indexes': {
        const { info } = this.table(st.db, st.table!);
        const rows = info.schema.columns.slice(0, info.schema.keyColumnCount).map((c, i) => [info.name, 0n, 'PRIMARY', BigInt(i + 1), c.name] as Value[]);
        return valuesResult([{ name: 'Table', type: S }, { name: 'Non_unique', type: I }, { name: 'Key_name', type: S }, { name: 'Seq_in_index', type: I }, { name: 'Column_name', type: S }], rows);
      }
      case 'createTable': {
        const { info } = this.table(st.db, st.table!);
        return valuesResult([{ name: 'Table', type: S }, { name: 'Create Table', type: S }], [[info.name, showCreateTable(info)]]);
      }
      case 'createDatabase': {
        const db = storage.listDatabases().find((d) => d.toLowerCase() === st.db!.toLowerCase());
        if (db === undefined) throw new SaigaError('UnknownDatabase', `unknown database '${st.db}'`);
        return valuesResult([{ name: 'Database', type: S }, { name: 'Create Database', type: S }], [[db, `CREATE DATABASE \`${db}\``]]);
      }
      case 'partitions': {
        const { info } = this.table(st.db, st.table!);
        const rcols = info.partitionSchema.rangeColumns;
        const rows = info.tablets.map((t) => [t.tabletId, t.hashBuckets.join(','), rangeText(t.range, rcols)] as Value[]);
        return valuesResult([{ name: 'Tablet', type: S }, { name: 'Hash buckets', type: S }, { name: 'Range', type: S }], rows);
      }
      case 'variables': {
        const names = filter([...this.variables.keys()].filter((k) => !k.startsWith('@')).sort());
        return valuesResult([{ name: 'Variable_name', type: S }, { name: 'Value', type: S }], names.map((n) => [n, stringOf(this.variables.get(n) ?? null)]));
      }
      case 'status': {
        const rows: Value[][] = [['Uptime', String(Math.floor(process.uptime()))], ['Threads_connected', '1']];
        return valuesResult([{ name: 'Variable_name', type: S }, { name: 'Value', type: S }], rows.filter((r) => st.like === null || likeToRegex(st.like).test(String(r[0]))));
      }
      case 'engines':
        return valuesResult([{ name: 'Engine', type: S }, { name: 'Support', type: S }, { name: 'Comment', type: S }, { name: 'Transactions', type: S }, { name: 'XA', type: S }, { name: 'Savepoints', type: S }],
          [['Kudu', 'DEFAULT', 'Saiga columnar tablets (Kudu-style)', 'NO', 'NO', 'NO']]);
      case 'warnings': case 'errors': {
        const w = st.what === 'errors' ? this.warnings.filter((x) => x.level === 'Error') : this.warnings;
        return valuesResult([{ name: 'Level', type: S }, { name: 'Code', type: I }, { name: 'Message', type: S }], w.map((x) => [x.level, BigInt(x.code), x.message]));
      }
      case 'collation':
        return valuesResult([{ name: 'Collation', type: S }, { name: 'Charset', type: S }, { name: 'Id', type: I }, { name: 'Default', type: S }, { name: 'Compiled', type: S }, { name: 'Sortlen', type: I }],
          [['utf8mb4_general_ci', 'utf8mb4', 45n, 'Yes', 'Yes', 1n], ['utf8mb4_bin', 'utf8mb4', 46n, '', 'Yes', 1n]]);
      case 'charset':
        return valuesResult([{ name: 'Charset', type: S }, { name: 'Description', type: S }, { name: 'Default collation', type: S }, { name: 'Maxlen', type: I }],
          [['utf8mb4', 'UTF-8 Unicode', 'utf8mb4_general_ci', 4n]]);
      case 'processlist':
        return valuesResult([{ name: 'Id', type: I }, { name: 'User', type: S }, { name: 'Host', type: S }, { name: 'db', type: S }, { name: 'Command', type: S }, { name: 'Time', type: I }, { name: 'State', type: S }, { name: 'Info', type: S }],
          [[BigInt(this.connectionId), this.user, 'localhost', this.database, 'Query', 0n, '', 'SHOW PROCESSLIST']]);
      case 'grants':
        return valuesResult([{ name: `Grants for ${this.user}@localhost`, type: S }], [[`GRANT ALL PRIVILEGES ON *.* TO \`${this.user}\`@\`localhost\``]]);
      case 'plugins':
        return valuesResult([{ name: 'Name', type: S }, { name: 'Status', type: S }, { name: 'Type', type: S }, { name: 'Library', type: S }, { name: 'License', type: S }], []);
    }
  }
}

/** A cell of a vector already cast to the column's type, as the column's API value. */
function apiCell(v: Vector, i: number, col: ColumnSchema): Value {
  const x = cellValue(v, i);
  if (x === null && !col.nullable && !col.autoIncrement) throw new SaigaError('InvalidArgument', `column '${col.name}' cannot be null`);
  return x;
}

function stringOf(v: Value): string | null {
  if (v === null) return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

function sqlTypeName(t: SqlType): string {
  switch (t.type) {
    case 'bool': return 'BOOLEAN';
    case 'int8': return 'TINYINT';
    case 'int16': return 'SMALLINT';
    case 'int32': return 'INT';
    case 'int64': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'decimal': return 'DECIMAL';
    case 'string': return 'STRING';
    case 'binary': return 'BINARY';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
  }
}

export function displayValue(v: Value, c: Pick<ColumnSchema, 'type' | 'scale'>): string {
  if (v === null) return 'NULL';
  if (c.type === 'date' && typeof v === 'number') return formatDate(v);
  if (c.type === 'timestamp' && typeof v === 'number') return formatTimestamp(v);
  if (c.type === 'decimal' && typeof v === 'bigint') return formatNumber(Number(v), { type: 'decimal', scale: c.scale ?? 0 });
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

function rangeText(r: { lower?: Row; upper?: Row }, cols: readonly string[]): string {
  if (cols.length === 0) return 'UNBOUNDED';
  const fmt = (row: Row | undefined): string => (row === undefined ? '' : row.length === 1 ? sqlLiteral(row[0] ?? null) : `(${row.map((x) => sqlLiteral(x ?? null)).join(', ')})`);
  const lo = r.lower === undefined ? '' : `${fmt(r.lower)} <= `;
  const hi = r.upper === undefined ? '' : ` < ${fmt(r.upper)}`;
  return `${lo}VALUES${hi}`;
}

function partitionText(info: TableInfo): string {
  const parts = info.partitionSchema.hash.map((h) => `HASH (${h.columns.join(', ')}) PARTITIONS ${h.buckets}`);
  if (info.partitionSchema.rangeColumns.length > 0) {
    const ranges = new Map<string, string>();
    for (const t of info.tablets) ranges.set(rangeText(t.range, info.partitionSchema.rangeColumns), '');
    parts.push(`RANGE (${info.partitionSchema.rangeColumns.join(', ')}) (${[...ranges.keys()].map((r) => `PARTITION ${r}`).join(', ')})`);
  }
  return parts.join(', ');
}

export function showCreateTable(info: TableInfo): string {
  const cols = info.schema.columns.filter((c) => c.name !== AUTO_INCREMENT_COLUMN).map((c) => {
    let s = `  \`${c.name}\` ${typeToSql(c)}${c.nullable ? ' NULL' : ' NOT NULL'}`;
    if (c.defaultValue !== undefined) s += ` DEFAULT ${c.defaultValue === null ? 'NULL' : typeof c.defaultValue === 'string' || c.type === 'date' || c.type === 'timestamp' ? `'${displayValue(c.defaultValue, c)}'` : displayValue(c.defaultValue, c)}`;
    if (c.comment !== undefined) s += ` COMMENT '${c.comment.replace(/'/g, "''")}'`;
    return s;
  });
  const keys = info.schema.columns.slice(0, info.schema.keyColumnCount).filter((c) => c.name !== AUTO_INCREMENT_COLUMN);
  if (keys.length > 0) cols.push(`  PRIMARY KEY (${keys.map((c) => `\`${c.name}\``).join(', ')})`);
  const part = partitionText(info);
  return `CREATE TABLE \`${info.name}\` (\n${cols.join(',\n')}\n)${part ? `\nPARTITION BY ${part}` : ''}\nSTORED AS KUDU`;
}

export class QueryEngineImpl implements QueryEngine {
  private readonly sessions = new Set<SessionImpl>();
  constructor(private readonly state: EngineState) {}

  openSession(options: SessionOptions): Session {
    if (this.state.closed) throw new SaigaError('IllegalState', 'query engine is closed');
    const s = new SessionImpl(this.state, options);
    this.sessions.add(s);
    return s;
  }

  async close(): Promise<void> {
    this.state.closed = true;
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    await this.state.coprocessor?.close();
  }
}

export { mkProject, col };
