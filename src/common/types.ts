/**
 * Saiga's column types and schemas. Key columns come first in a schema, as in Kudu.
 *
 * Value representation at API level (a Row is an array aligned with the schema's columns):
 * | type      | JS value                          | Arrow type in batches         |
 * |-----------|-----------------------------------|-------------------------------|
 * | bool      | boolean                           | Bool                          |
 * | int8..32  | number                            | Int8 / Int16 / Int32          |
 * | int64     | bigint (number accepted on write) | Int64                         |
 * | float     | number                            | Float32                       |
 * | double    | number                            | Float64                       |
 * | decimal   | bigint, the unscaled value        | Decimal(precision, scale,128) |
 * | string    | string                            | Utf8                          |
 * | binary    | Uint8Array                        | Binary                        |
 * | date      | number, days since 1970-01-01     | DateDay                       |
 * | timestamp | number, µs since epoch (UTC)      | TimestampMicrosecond          |
 * `null` is SQL NULL; `undefined` means "not given" (the default on insert, unchanged on update).
 */
export type DataType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float'
  | 'double'
  | 'decimal'
  | 'string'
  | 'binary'
  | 'date'
  | 'timestamp';

export const DATA_TYPES: readonly DataType[] = [
  'bool', 'int8', 'int16', 'int32', 'int64', 'float', 'double', 'decimal', 'string', 'binary', 'date', 'timestamp',
];

export type Value = boolean | number | bigint | string | Uint8Array | null;
export type Row = ReadonlyArray<Value | undefined>;

export interface ColumnSchema {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
  /** Only for decimal. 1..38. */
  readonly precision?: number;
  readonly scale?: number;
  /** Used when an insert does not give the column. */
  readonly defaultValue?: Value;
  /** Set on the hidden key column of a table declared without a primary key. */
  readonly autoIncrement?: boolean;
  readonly comment?: string;
}

export interface Schema {
  readonly columns: readonly ColumnSchema[];
  /** The first keyColumnCount columns form the primary key, in order. */
  readonly keyColumnCount: number;
}

/** Name of the hidden auto-increment key column added to tables declared without a primary key. */
export const AUTO_INCREMENT_COLUMN = '__saiga_auto_id';

export const MAX_KEY_SIZE_BYTES = 16 * 1024;
export const MAX_CELL_SIZE_BYTES = 64 * 1024;

export function columnIndex(schema: Schema, name: string): number {
  const lower = name.toLowerCase();
  return schema.columns.findIndex((c) => c.name.toLowerCase() === lower);
}

export function isFixedWidth(type: DataType): boolean {
  return type !== 'string' && type !== 'binary';
}

/** Byte width of one value of a fixed-width type as stored in an Arrow buffer (bool: bit-packed, reported as 0). */
export function fixedByteWidth(type: DataType): number {
  switch (type) {
    case 'bool': return 0;
    case 'int8': return 1;
    case 'int16': return 2;
    case 'int32': case 'date': case 'float': return 4;
    case 'int64': case 'double': case 'timestamp': return 8;
    case 'decimal': return 16;
    case 'string': case 'binary': return -1;
  }
}

export function typeToSql(c: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>): string {
  switch (c.type) {
    case 'bool': return 'BOOLEAN';
    case 'int8': return 'TINYINT';
    case 'int16': return 'SMALLINT';
    case 'int32': return 'INT';
    case 'int64': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'decimal': return `DECIMAL(${c.precision ?? 38},${c.scale ?? 0})`;
    case 'string': return 'STRING';
    case 'binary': return 'BINARY';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
  }
}
