import {
  Binary, Bool, DenseUnion, Field, Int32, Int64, List, Map_, RecordBatch, Schema as ArrowSchema,
  Struct, Uint32, Utf8, makeData, vectorFromArray, type Data, type DataType as ArrowType,
} from 'apache-arrow';
import type { StorageApi } from '../../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN } from '../../common/types.js';
import { encodeSchemaMessage } from './codec.js';
import { tableArrowSchema } from './arrow-schema.js';

/**
 * Flight SQL catalog commands. Saiga has one catalog (CATALOG_NAME); its databases are the
 * Flight SQL "db schemas". Result schemas are exactly those of the FlightSql.proto comments.
 */
export const CATALOG_NAME = 'saiga';
export const TABLE_TYPE = 'TABLE';

const utf8 = (name: string, nullable: boolean): Field => new Field(name, new Utf8(), nullable);

export const CATALOGS_SCHEMA = new ArrowSchema([utf8('catalog_name', false)]);
export const DB_SCHEMAS_SCHEMA = new ArrowSchema([utf8('catalog_name', true), utf8('db_schema_name', false)]);
const TABLES_FIELDS = [utf8('catalog_name', true), utf8('db_schema_name', true), utf8('table_name', false), utf8('table_type', false)];
export const TABLES_SCHEMA = new ArrowSchema(TABLES_FIELDS);
export const TABLES_WITH_SCHEMA_SCHEMA = new ArrowSchema([...TABLES_FIELDS, new Field('table_schema', new Binary(), false)]);
export const TABLE_TYPES_SCHEMA = new ArrowSchema([utf8('table_type', false)]);
export const PRIMARY_KEYS_SCHEMA = new ArrowSchema([
  utf8('catalog_name', true), utf8('db_schema_name', true), utf8('table_name', false),
  utf8('column_name', false), utf8('key_name', true), new Field('key_sequence', new Int32(), false),
]);

function batchOf(schema: ArrowSchema, columns: readonly (readonly unknown[])[]): RecordBatch {
  const length = columns[0]?.length ?? 0;
  const children = schema.fields.map((f, i) => vectorFromArray(columns[i] as unknown[], f.type as ArrowType).data[0] as Data);
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

/** SQL LIKE with % and _ (and \ escaping), case-sensitive as the spec leaves it to the server. */
export function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function catalogMatches(catalog: string | undefined): boolean {
  return catalog === undefined || catalog === CATALOG_NAME;
}

export function getCatalogs(): RecordBatch {
  return batchOf(CATALOGS_SCHEMA, [[CATALOG_NAME]]);
}

export function getDbSchemas(storage: StorageApi, catalog: string | undefined, pattern: string | undefined): RecordBatch {
  const re = pattern === undefined ? undefined : likeToRegExp(pattern);
  const dbs = catalogMatches(catalog) ? [...storage.listDatabases()].filter((d) => re === undefined || re.test(d)).sort() : [];
  return batchOf(DB_SCHEMAS_SCHEMA, [dbs.map(() => CATALOG_NAME), dbs]);
}

export interface GetTablesArgs {
  readonly catalog?: string;
  readonly dbSchemaPattern?: string;
  readonly tablePattern?: string;
  readonly tableTypes: readonly string[];
  readonly includeSchema: boolean;
}

export function getTables(storage: StorageApi, a: GetTablesArgs): RecordBatch {
  const dbRe = a.dbSchemaPattern === undefined ? undefined : likeToRegExp(a.dbSchemaPattern);
  const tRe = a.tablePattern === undefined ? undefined : likeToRegExp(a.tablePattern);
  const typeOk = a.tableTypes.length === 0 || a.tableTypes.some((t) => t.toUpperCase() === TABLE_TYPE);
  const rows: [string, string][] = [];
  if (catalogMatches(a.catalog) && typeOk) {
    for (const db of [...storage.listDatabases()].sort()) {
      if (dbRe !== undefined && !dbRe.test(db)) continue;
      for (const t of [...storage.listTables(db)].sort()) if (tRe === undefined || tRe.test(t)) rows.push([db, t]);
    }
  }
  const cols: unknown[][] = [rows.map(() => CATALOG_NAME), rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map(() => TABLE_TYPE)];
  if (!a.includeSchema) return batchOf(TABLES_SCHEMA, cols);
  cols.push(rows.map(([db, t]) => encodeSchemaMessage(tableArrowSchema(storage.getTable(db, t)))));
  return batchOf(TABLES_WITH_SCHEMA_SCHEMA, cols);
}

export function getTableTypes(): RecordBatch {
  return batchOf(TABLE_TYPES_SCHEMA, [[TABLE_TYPE]]);
}

export function getPrimaryKeys(storage: StorageApi, catalog: string | undefined, db: string, table: string): RecordBatch {
  const rows: string[] = [];
  if (catalogMatches(catalog) && storage.listDatabases().includes(db) && storage.listTables(db).includes(table)) {
    const info = storage.getTable(db, table);
    for (const c of info.schema.columns.slice(0, info.schema.keyColumnCount)) {
      if (c.name !== AUTO_INCREMENT_COLUMN) rows.push(c.name);
    }
  }
  return batchOf(PRIMARY_KEYS_SCHEMA, [
    rows.map(() => CATALOG_NAME), rows.map(() => db), rows.map(() => table), rows,
    rows.map(() => 'PRIMARY'), rows.map((_, i) => i + 1),
  ]);
}

// ---------------------------------------------------------------------------------------
// CommandGetSqlInfo

type SqlInfoValue =
  | { readonly kind: 'string'; readonly v: string }
  | { readonly kind: 'bool'; readonly v: boolean }
  | { readonly kind: 'bigint'; readonly v: bigint }
  | { readonly kind: 'int32'; readonly v: number }
  | { readonly kind: 'strings'; readonly v: readonly string[] };

const S = (v: string): SqlInfoValue => ({ kind: 'string', v });
const B = (v: boolean): SqlInfoValue => ({ kind: 'bool', v });
const I = (v: number): SqlInfoValue => ({ kind: 'int32', v });
const L = (v: readonly string[]): SqlInfoValue => ({ kind: 'strings', v });

/** Info ids (SqlInfo enum of FlightSql.proto) this server answers, with their values. */
export function sqlInfoTable(serverVersion: string, arrowVersion: string): ReadonlyMap<number, SqlInfoValue> {
  return new Map<number, SqlInfoValue>([
    [0, S('Saiga')], // FLIGHT_SQL_SERVER_NAME
    [1, S(serverVersion)], // FLIGHT_SQL_SERVER_VERSION
    [2, S(arrowVersion)], // FLIGHT_SQL_SERVER_ARROW_VERSION
    [3, B(false)], // FLIGHT_SQL_SERVER_READ_ONLY
    [4, B(true)], // FLIGHT_SQL_SERVER_SQL
    [5, B(false)], // FLIGHT_SQL_SERVER_SUBSTRAIT
    [8, I(0)], // FLIGHT_SQL_SERVER_TRANSACTION: SQL_SUPPORTED_TRANSACTION_NONE
    [9, B(false)], // FLIGHT_SQL_SERVER_CANCEL
    [100, I(0)], // FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT (ms, 0 = none)
    [101, I(0)], // FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT
    [500, B(false)], // SQL_DDL_CATALOG
    [501, B(true)], // SQL_DDL_SCHEMA (CREATE/DROP DATABASE)
    [502, B(true)], // SQL_DDL_TABLE
    [503, I(1)], // SQL_IDENTIFIER_CASE: CASE_INSENSITIVE
    [504, S('`')], // SQL_IDENTIFIER_QUOTE_CHAR
    [505, I(1)], // SQL_QUOTED_IDENTIFIER_CASE: CASE_INSENSITIVE
    [506, B(true)], // SQL_ALL_TABLES_ARE_SELECTABLE
    [507, I(1)], // SQL_NULL_ORDERING: NULLS_SORTED_LOW (as MySQL)
    [508, L(['PARTITION', 'PARTITIONS', 'RANGE', 'HASH', 'UPSERT', 'KUDU', 'STORED', 'COMPUTE', 'STATS'])], // SQL_KEYWORDS
    [509, L(['ABS', 'CEIL', 'FLOOR', 'ROUND', 'MOD', 'SQRT', 'POWER'])], // SQL_NUMERIC_FUNCTIONS
    [510, L(['CONCAT', 'LENGTH', 'LOWER', 'UPPER', 'SUBSTRING', 'TRIM'])], // SQL_STRING_FUNCTIONS
    [511, L(['DATABASE', 'USER', 'VERSION'])], // SQL_SYSTEM_FUNCTIONS
    [512, L(['NOW', 'CURRENT_DATE', 'YEAR', 'MONTH', 'DAY'])], // SQL_DATETIME_FUNCTIONS
    [513, S('\\')], // SQL_SEARCH_STRING_ESCAPE
    [514, S('')], // SQL_EXTRA_NAME_CHARACTERS
    [515, B(true)], // SQL_SUPPORTS_COLUMN_ALIASING
    [516, B(true)], // SQL_NULL_PLUS_NULL_IS_NULL
    [518, B(true)], // SQL_SUPPORTS_TABLE_CORRELATION_NAMES
    [519, B(false)], // SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES
    [520, B(true)], // SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY
    [521, B(true)], // SQL_SUPPORTS_ORDER_BY_UNRELATED
    [522, I(0b11)], // SQL_SUPPORTED_GROUP_BY: UNRELATED | BEYOND_SELECT
    [523, B(true)], // SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE
    [524, B(true)], // SQL_SUPPORTS_NON_NULLABLE_COLUMNS
    [525, I(0b001)], // SQL_SUPPORTED_GRAMMAR: SQL_MINIMUM_GRAMMAR
    [526, I(0b001)], // SQL_ANSI92_SUPPORTED_LEVEL: ANSI92_ENTRY_SQL
    [527, B(false)], // SQL_SUPPORTS_INTEGRITY_ENHANCEMENT_FACILITY
    [528, I(1)], // SQL_OUTER_JOINS_SUPPORT_LEVEL: SQL_LIMITED_OUTER_JOINS
    [529, S('database')], // SQL_SCHEMA_TERM
    [530, S('procedure')], // SQL_PROCEDURE_TERM
    [531, S('catalog')], // SQL_CATALOG_TERM
    [532, B(true)], // SQL_CATALOG_AT_START
  ]);
}

const UNION_CHILDREN = [
  new Field('string_value', new Utf8(), true),
  new Field('bool_value', new Bool(), true),
  new Field('bigint_value', new Int64(), true),
  new Field('int32_bitmask', new Int32(), true),
  new Field('string_list', new List(new Field('item', new Utf8(), true)), true),
  new Field('int32_to_int32_list_map', new Map_(new Field('entries', new Struct([
    new Field('key', new Int32(), false),
    new Field('value', new List(new Field('item', new Int32(), true)), true),
  ] as Field[]), false) as unknown as Field<never>), true),
];
const UNION_TYPE = new DenseUnion([0, 1, 2, 3, 4, 5], UNION_CHILDREN);
export const SQL_INFO_SCHEMA = new ArrowSchema([
  new Field('info_name', new Uint32(), false),
  new Field('value', UNION_TYPE, false),
]);

/** One row per requested id this server knows (all of them when `ids` is empty), in request order. */
export function getSqlInfo(table: ReadonlyMap<number, SqlInfoValue>, ids: readonly number[]): RecordBatch {
  const chosen = (ids.length === 0 ? [...table.keys()].sort((a, b) => a - b) : ids.filter((id) => table.has(id)));
  const strings: string[] = [];
  const bools: boolean[] = [];
  const bigints: bigint[] = [];
  const ints: number[] = [];
  const lists: string[][] = [];
  const typeIds = new Int8Array(chosen.length);
  const offsets = new Int32Array(chosen.length);
  chosen.forEach((id, i) => {
    const v = table.get(id) as SqlInfoValue;
    switch (v.kind) {
      case 'string': typeIds[i] = 0; offsets[i] = strings.push(v.v) - 1; break;
      case 'bool': typeIds[i] = 1; offsets[i] = bools.push(v.v) - 1; break;
      case 'bigint': typeIds[i] = 2; offsets[i] = bigints.push(v.v) - 1; break;
      case 'int32': typeIds[i] = 3; offsets[i] = ints.push(v.v) - 1; break;
      case 'strings': typeIds[i] = 4; offsets[i] = lists.push([...v.v]) - 1; break;
    }
  });
  const mapType = UNION_CHILDREN[5]!.type as Map_;
  const emptyMap = makeData({
    type: mapType, length: 0, nullCount: 0, valueOffsets: new Int32Array(1),
    child: makeData({ type: mapType.children[0]!.type as Struct, length: 0, nullCount: 0, children: [
      makeData({ type: new Int32(), length: 0, nullCount: 0, data: new Int32Array(0) }),
      makeData({ type: new List(new Field('item', new Int32(), true)), length: 0, nullCount: 0, valueOffsets: new Int32Array(1),
        child: makeData({ type: new Int32(), length: 0, nullCount: 0, data: new Int32Array(0) }) }),
    ] }),
  });
  const children = [
    vectorFromArray(strings, new Utf8()).data[0] as Data,
    vectorFromArray(bools, new Bool()).data[0] as Data,
    vectorFromArray(bigints, new Int64()).data[0] as Data,
    vectorFromArray(ints, new Int32()).data[0] as Data,
    vectorFromArray(lists, UNION_CHILDREN[4]!.type as List<Utf8>).data[0] as Data,
    emptyMap as Data,
  ];
  const value = makeData({ type: UNION_TYPE, length: chosen.length, nullCount: 0, typeIds, valueOffsets: offsets, children });
  const infoName = makeData({ type: new Uint32(), length: chosen.length, nullCount: 0, data: Uint32Array.from(chosen) });
  const data = makeData({ type: new Struct(SQL_INFO_SCHEMA.fields), length: chosen.length, nullCount: 0, children: [infoName, value] });
  return new RecordBatch(SQL_INFO_SCHEMA, data);
}
