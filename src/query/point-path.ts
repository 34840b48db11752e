import * as arrow from 'apache-arrow';
import type { TableInfo } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, type ColumnSchema, type DataType, type Row, type Value } from '../common/types.js';

/**
 * Compiled fast path for prepared primary-key point selects:
 *
 *   SELECT c1, c2 [AS x] | * FROM [db.]t [alias] WHERE k1 = ? [AND k2 = ? ...]
 *
 * where the conjuncts give every key column exactly one `= ?`. Such a statement is recognised once
 * at PREPARE time (on the template AST whose `?` are numbered markers); each EXECUTE turns the
 * parameters into the key, calls `StorageApi.lookup` and builds the one-row Arrow batch directly -
 * no binding, planning or executor. Anything the fast path is not sure to answer exactly as the
 * generic path (a parameter of another type than the key column, NULL, an altered or recreated
 * table, another current database) returns null from `pointKey` / `stillValid`, and the caller
 * runs the generic path instead.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
type Ast = any;

export interface PointSelect {
  /** Session database the statement was compiled under (unqualified names resolve against it). */
  readonly sessionDatabase: string | null;
  readonly db: string;
  readonly table: string;
  readonly tableId: string;
  readonly schemaVersion: number;
  /** Per key column (schema order): index of its parameter, and the column. */
  readonly keyParams: readonly number[];
  readonly keyColumns: readonly ColumnSchema[];
  /** Columns fetched from storage, distinct, in fetch order. */
  readonly fetch: readonly string[];
  /** Per result column: index into the fetched row, and the column's schema. */
  readonly outIndex: readonly number[];
  readonly outColumns: readonly ColumnSchema[];
}

function isMarker(n: Ast, markerBase: number, paramCount: number): number {
  if (n === null || typeof n !== 'object' || n.type !== 'number') return -1;
  const v = Number(n.value);
  return Number.isInteger(v) && v >= markerBase && v < markerBase + paramCount ? v - markerBase : -1;
}

function conjuncts(n: Ast, out: Ast[]): boolean {
  if (n === null || typeof n !== 'object' || n.type !== 'binary_expr' || n.parentheses === true) return false;
  if (String(n.operator).toUpperCase() === 'AND') return conjuncts(n.left, out) && conjuncts(n.right, out);
  out.push(n);
  return true;
}

function columnName(ref: Ast): string | null {
  if (ref === null || typeof ref !== 'object' || ref.type !== 'column_ref' || (ref.collate !== null && ref.collate !== undefined)) return null;
  const c = ref.column;
  if (typeof c === 'string') return c;
  if (c !== null && typeof c === 'object' && c.expr?.type === 'default' && typeof c.expr.value === 'string') return c.expr.value;
  return null;
}

/** Key types the fast path turns parameters into keys for (others take the generic path). */
const KEY_TYPES: ReadonlySet<DataType> = new Set(['int8', 'int16', 'int32', 'int64', 'string', 'binary']);

/**
 * Recognises the template AST of a point select on `info` (already resolved by the binder, so the
 * table exists and `db` is its database). `resultNames` are the bound result column names, used to
 * check that the compiled plan yields the same columns. Null when the statement has another shape.
 */
export function compilePointSelect(
  ast: Ast, info: TableInfo, db: string, sessionDatabase: string | null, markerBase: number, paramCount: number,
): PointSelect | null {
  if (ast?.type !== 'select') return null;
  if (ast.with != null || ast.options != null || ast.distinct != null || ast.groupby != null || ast.having != null
    || ast.orderby != null || ast.limit != null || ast.window != null || ast.locking_read != null || ast._next != null || ast.set_op != null) return null;
  if (ast.into != null && ast.into.position != null) return null;
  const from = ast.from;
  if (!Array.isArray(from) || from.length !== 1) return null;
  const f = from[0];
  if (f === null || typeof f !== 'object' || typeof f.table !== 'string' || f.join != null || f.expr != null) return null;
  const alias: string = (f.as ?? f.table) as string;
  const schema = info.schema;
  const keyCount = schema.keyColumnCount;
  if (keyCount === 0 || schema.columns.slice(0, keyCount).some((c) => c.autoIncrement === true || c.name === AUTO_INCREMENT_COLUMN)) return null;
  const findCol = (ref: Ast): number => {
    const name = columnName(ref);
    if (name === null || name === '*') return -1;
    if (ref.table !== null && ref.table !== undefined && String(ref.table).toLowerCase() !== alias.toLowerCase()) return -1;
    return schema.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  };

  // WHERE: every key column = one distinct marker, nothing else.
  const conj: Ast[] = [];
  if (!conjuncts(ast.where, conj) || conj.length !== keyCount) return null;
  const keyParams = new Array<number>(keyCount).fill(-1);
  const used = new Set<number>();
  for (const c of conj) {
    if (c.operator !== '=') return null;
    let ci = findCol(c.left);
    let pi = isMarker(c.right, markerBase, paramCount);
    if (ci < 0 || pi < 0) {
      ci = findCol(c.right);
      pi = isMarker(c.left, markerBase, paramCount);
    }
    if (ci < 0 || pi < 0 || ci >= keyCount || keyParams[ci] !== -1 || used.has(pi)) return null;
    if (!KEY_TYPES.has(schema.columns[ci]!.type)) return null;
    keyParams[ci] = pi;
    used.add(pi);
  }
  if (used.size !== paramCount) return null;

  // SELECT list: plain column references or a lone `*` / `alias.*`.
  const outCols: number[] = [];
  const cols = ast.columns;
  if (!Array.isArray(cols) || cols.length === 0) return null;
  for (const item of cols) {
    const e = item?.expr;
    const name = columnName(e);
    if (name === null) return null;
    if (name === '*') {
      if (cols.length !== 1 || item.as != null) return null;
      if (e.table !== null && e.table !== undefined && String(e.table).toLowerCase() !== alias.toLowerCase()) return null;
      schema.columns.forEach((c, i) => { if (c.name !== AUTO_INCREMENT_COLUMN) outCols.push(i); });
      continue;
    }
    const ci = findCol(e);
    if (ci < 0) return null;
    outCols.push(ci);
  }
  const fetch: string[] = [];
  const outIndex = outCols.map((ci) => {
    const n = schema.columns[ci]!.name;
    let k = fetch.indexOf(n);
    if (k < 0) { k = fetch.length; fetch.push(n); }
    return k;
  });
  return {
    sessionDatabase, db, table: info.name, tableId: info.tableId, schemaVersion: info.schemaVersion,
    keyParams, keyColumns: schema.columns.slice(0, keyCount), fetch, outIndex, outColumns: outCols.map((ci) => schema.columns[ci]!),
  };
}

/** True while `info` is still the table the plan was compiled for (not altered, dropped or recreated). */
export function stillValid(p: PointSelect, info: TableInfo): boolean {
  return info.tableId === p.tableId && info.schemaVersion === p.schemaVersion;
}

const INT_RANGE: Record<string, number> = { int8: 127, int16: 32767, int32: 2147483647 };
const INT64_MAX = 9223372036854775807n;

/**
 * The lookup key for these parameters, or null when a parameter is not exactly a value of its key
 * column's type (the generic path then compares with SQL semantics).
 */
export function pointKey(p: PointSelect, params: readonly Value[]): Value[] | null {
  const key: Value[] = new Array<Value>(p.keyParams.length);
  for (let i = 0; i < p.keyParams.length; i++) {
    const v = params[p.keyParams[i]!];
    const t = p.keyColumns[i]!.type;
    switch (t) {
      case 'int8': case 'int16': case 'int32': {
        const max = INT_RANGE[t]!;
        if (typeof v === 'number' && Number.isInteger(v) && v <= max && v >= -max - 1) key[i] = v;
        else return null;
        break;
      }
      case 'int64':
        if (typeof v === 'number' && Number.isSafeInteger(v)) key[i] = BigInt(v);
        else if (typeof v === 'bigint' && v <= INT64_MAX && v >= -INT64_MAX - 1n) key[i] = v;
        else return null;
        break;
      case 'string':
        if (typeof v === 'string') key[i] = v;
        else return null;
        break;
      case 'binary':
        if (v instanceof Uint8Array) key[i] = v;
        else return null;
        break;
      default:
        return null;
    }
  }
  return key;
}

function decimalWords(v: bigint): Uint32Array {
  const w = new Uint32Array(4);
  let x = BigInt.asUintN(128, v);
  for (let k = 0; k < 4; k++) {
    w[k] = Number(x & 0xffffffffn);
    x >>= 32n;
  }
  return w;
}

const utf8 = new TextEncoder();

/** One value as a one-row Arrow Data of the column's result type (vector.ts arrowTypeOf). */
function cellData(c: ColumnSchema, field: arrow.Field, v: Value | undefined): arrow.Data {
  const type = field.type;
  if (v === null || v === undefined) {
    const nullBitmap = new Uint8Array(8);
    switch (c.type) {
      case 'string': case 'binary':
        return arrow.makeData({ type: type as arrow.Utf8, length: 1, nullCount: 1, nullBitmap, valueOffsets: new Int32Array(2), data: new Uint8Array(0) });
      case 'decimal':
        return arrow.makeData({ type: type as arrow.Decimal, length: 1, nullCount: 1, nullBitmap, data: new Uint32Array(4) });
      case 'bool':
        return arrow.makeData({ type: type as arrow.Bool, length: 1, nullCount: 1, nullBitmap, data: new Uint8Array(8) });
      default:
        return arrow.makeData({ type: type as arrow.Int32, length: 1, nullCount: 1, nullBitmap, data: zeroOf(c.type) as Int32Array });
    }
  }
  switch (c.type) {
    case 'string': case 'binary': {
      const bytes = typeof v === 'string' ? utf8.encode(v) : v instanceof Uint8Array ? v : utf8.encode(String(v));
      return arrow.makeData({ type: type as arrow.Utf8, length: 1, nullCount: 0, valueOffsets: Int32Array.of(0, bytes.length), data: bytes });
    }
    case 'bool':
      return arrow.makeData({ type: type as arrow.Bool, length: 1, nullCount: 0, data: Uint8Array.of(v === true || (v !== false && Number(v) !== 0) ? 1 : 0) });
    case 'decimal':
      return arrow.makeData({ type: type as arrow.Decimal, length: 1, nullCount: 0, data: decimalWords(typeof v === 'bigint' ? v : BigInt(Math.round(Number(v)))) });
    case 'int64': case 'timestamp':
      return arrow.makeData({ type: type as arrow.Int64, length: 1, nullCount: 0, data: BigInt64Array.of(typeof v === 'bigint' ? v : BigInt(Math.round(Number(v)))) });
    case 'int8':
      return arrow.makeData({ type: type as arrow.Int8, length: 1, nullCount: 0, data: Int8Array.of(Number(v)) });
    case 'int16':
      return arrow.makeData({ type: type as arrow.Int16, length: 1, nullCount: 0, data: Int16Array.of(Number(v)) });
    case 'int32': case 'date':
      return arrow.makeData({ type: type as arrow.Int32, length: 1, nullCount: 0, data: Int32Array.of(Number(v)) });
    case 'float':
      return arrow.makeData({ type: type as arrow.Float32, length: 1, nullCount: 0, data: Float32Array.of(Number(v)) });
    case 'double':
      return arrow.makeData({ type: type as arrow.Float64, length: 1, nullCount: 0, data: Float64Array.of(Number(v)) });
  }
}

function zeroOf(t: DataType): ArrayBufferView {
  switch (t) {
    case 'int8': return new Int8Array(1);
    case 'int16': return new Int16Array(1);
    case 'int64': case 'timestamp': return new BigInt64Array(1);
    case 'float': return new Float32Array(1);
    case 'double': return new Float64Array(1);
    default: return new Int32Array(1);
  }
}

/**
 * The one-row batch of a found row (`row` in `p.fetch` order, or the full schema row from a storage
 * that ignores projections), following `schema` (the bound result schema).
 */
export function pointBatch(p: PointSelect, row: Row, schema: arrow.Schema, tableColumns: readonly ColumnSchema[]): arrow.RecordBatch {
  // tableColumns: the schema columns of the table the plan was compiled for (same objects as p.outColumns).
  const full = row.length !== p.fetch.length && row.length === tableColumns.length;
  const children = p.outColumns.map((c, i) => {
    const v = full ? row[tableColumns.indexOf(c)] : row[p.outIndex[i]!];
    return cellData(c, schema.fields[i]!, v);
  });
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: 1, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

/** The result row of a found row as API values (StatementResult.rowValues), in result column order. */
export function pointValues(p: PointSelect, row: Row, tableColumns: readonly ColumnSchema[]): Value[] {
  const full = row.length !== p.fetch.length && row.length === tableColumns.length;
  const out = new Array<Value>(p.outColumns.length);
  for (let i = 0; i < out.length; i++) out[i] = (full ? row[tableColumns.indexOf(p.outColumns[i]!)] : row[p.outIndex[i]!]) ?? null;
  return out;
}
