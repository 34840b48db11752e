import * as arrow from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import type { ColumnPredicate } from '../common/scan-spec.js';
import { typeToSql, type ColumnSchema, type DataType } from '../common/types.js';
import {
  VarBinaryBuilder, batchFromColumns, cast, columnFromArrow, dataTypeFromArrow, filterCompare,
  filterIn, filterIsNull, makeColumn, scalar, type Column,
} from '../columnar/index.js';

/**
 * Arrow batches from files (Parquet, CSV) made to fit a table's columns: types mapped by name,
 * safe widenings cast, anything else refused with the column, the file type and the table type.
 */

export interface TypeInfo { readonly type: DataType; readonly precision: number; readonly scale: number }

const INT_RANK: Partial<Record<DataType, number>> = { int8: 1, int16: 2, int32: 3, int64: 4 };
const INT_DIGITS: Partial<Record<DataType, number>> = { int8: 3, int16: 5, int32: 10, int64: 19 };

/** Saiga type of an Arrow field type, including the large / view string and binary layouts. */
export function fileTypeOf(t: arrow.DataType): TypeInfo {
  switch (t.typeId) {
    case arrow.Type.LargeUtf8: case arrow.Type.Utf8View: return { type: 'string', precision: 0, scale: 0 };
    case arrow.Type.LargeBinary: case arrow.Type.BinaryView: return { type: 'binary', precision: 0, scale: 0 };
    default: return dataTypeFromArrow(t);
  }
}

export function typeName(t: TypeInfo): string {
  return typeToSql(t);
}

/** Whether a value of `from` always converts to `to` without loss. */
export function isSafeWidening(from: TypeInfo, to: TypeInfo): boolean {
  if (from.type === to.type) {
    if (from.type !== 'decimal') return true;
    return from.scale <= to.scale && from.precision - from.scale <= to.precision - to.scale;
  }
  const fr = INT_RANK[from.type];
  const tr = INT_RANK[to.type];
  if (fr !== undefined && tr !== undefined) return fr <= tr;
  if (fr !== undefined && to.type === 'decimal') return (INT_DIGITS[from.type] ?? 99) <= to.precision - to.scale;
  if (fr !== undefined && to.type === 'double') return fr <= 3;
  if (from.type === 'float' && to.type === 'double') return true;
  if (from.type === 'date' && to.type === 'timestamp') return true;
  return false;
}

/** The kernels' Column of one Arrow Data, with large offsets and view layouts converted. */
export function columnOfData(d: arrow.Data): Column {
  const t = d.type as arrow.DataType;
  if (t.typeId === arrow.Type.LargeUtf8 || t.typeId === arrow.Type.LargeBinary) {
    const n = d.length;
    const o = d.valueOffsets as unknown as BigInt64Array;
    const base = Number(o[d.offset]);
    const end = Number(o[d.offset + n]);
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) offsets[i] = Number(o[d.offset + i]) - base;
    const data = (d.values as Uint8Array).subarray(base, end);
    const type = t.typeId === arrow.Type.LargeUtf8 ? 'string' : 'binary';
    return makeColumn(type, n, null, validityOf(d), 0, 0, offsets, data);
  }
  if (t.typeId === arrow.Type.Utf8View || t.typeId === arrow.Type.BinaryView) {
    // Few readers produce views; convert through the value accessor (not a hot path here).
    const vec = arrow.makeVector(d);
    const b = new VarBinaryBuilder(d.length);
    for (let i = 0; i < d.length; i++) {
      const v: unknown = vec.get(i);
      if (v === null || v === undefined) b.appendNull();
      else if (typeof v === 'string') b.appendString(v);
      else b.appendBytes(v as Uint8Array, 0, (v as Uint8Array).length);
    }
    return b.finish(t.typeId === arrow.Type.Utf8View ? 'string' : 'binary');
  }
  return columnFromArrow(d);
}

function validityOf(d: arrow.Data): Uint8Array | null {
  if (d.nullCount === 0 || d.nullBitmap === undefined || d.nullBitmap.length === 0) return null;
  const n = d.length;
  const out = new Uint8Array((n + 7) >> 3);
  const bits = d.nullBitmap;
  for (let i = 0; i < n; i++) {
    const j = d.offset + i;
    if ((bits[j >> 3]! & (1 << (j & 7))) !== 0) out[i >> 3] = out[i >> 3]! | (1 << (i & 7));
  }
  return out;
}

/** All chunks of a column of a batch as one Column. */
export function batchColumn(batch: arrow.RecordBatch, i: number): Column {
  const child = batch.getChildAt(i);
  if (child === null) throw new SaigaError('IllegalState', `batch has no column ${i}`);
  if (child.data.length === 1) return columnOfData(child.data[0]!);
  return columnFromArrow(child);
}

function columnTypeInfo(c: ColumnSchema): TypeInfo {
  return { type: c.type, precision: c.precision ?? 0, scale: c.scale ?? 0 };
}

export interface ColumnMapping {
  /** Index of the file's field, per output column. */
  readonly fileIndex: readonly number[];
  readonly target: readonly ColumnSchema[];
  readonly fileTypes: readonly TypeInfo[];
}

/**
 * Maps the fields of a file schema onto table columns by name (case-insensitive). Every file
 * field must name a table column (`requireAllFileFields`), every listed table column must be
 * in the file, and each pair must be the same type or a safe widening.
 */
export function mapColumns(
  fileSchema: arrow.Schema, columns: readonly ColumnSchema[], where: { file: string; table: string },
  options: { requireAllFileFields: boolean; requireAllColumns: boolean },
): ColumnMapping {
  const fileIndex: number[] = [];
  const target: ColumnSchema[] = [];
  const fileTypes: TypeInfo[] = [];
  const byName = new Map(fileSchema.fields.map((f, i) => [f.name.toLowerCase(), i]));
  if (options.requireAllFileFields) {
    const extra = fileSchema.fields.filter((f) => !columns.some((c) => c.name.toLowerCase() === f.name.toLowerCase()));
    if (extra.length > 0) {
      throw new SaigaError('UnknownColumn', `${where.file} has column(s) ${extra.map((f) => `'${f.name}'`).join(', ')} that table ${where.table} does not have`);
    }
  }
  for (const c of columns) {
    const i = byName.get(c.name.toLowerCase());
    if (i === undefined) {
      if (options.requireAllColumns) throw new SaigaError('UnknownColumn', `table ${where.table} column '${c.name}' is not in ${where.file}`);
      continue;
    }
    const field = fileSchema.fields[i]!;
    let ft: TypeInfo;
    try {
      ft = fileTypeOf(field.type);
    } catch {
      throw new SaigaError('InvalidArgument', `column '${c.name}': ${where.file} has type ${String(field.type)}, which table ${where.table} cannot store (column type ${typeName(columnTypeInfo(c))})`);
    }
    const tt = columnTypeInfo(c);
    if (!isSafeWidening(ft, tt)) {
      throw new SaigaError('InvalidArgument', `column '${c.name}': ${where.file} has type ${typeName(ft)} but table ${where.table} has ${typeName(tt)}; expected the same type or a safe widening`);
    }
    fileIndex.push(i);
    target.push(c);
    fileTypes.push(ft);
  }
  return { fileIndex, target, fileTypes };
}

/**
 * The mapped columns of a batch read from the file, cast to the table's types. The batch holds
 * the projected fields (in file order, whatever order they were asked for): found by name.
 */
export function conformColumns(batch: arrow.RecordBatch, mapping: ColumnMapping, fileSchema: arrow.Schema): Column[] {
  const at = new Map(batch.schema.fields.map((f, i) => [f.name, i]));
  return mapping.target.map((c, k) => {
    const name = fileSchema.fields[mapping.fileIndex[k]!]!.name;
    const idx = at.get(name);
    if (idx === undefined) throw new SaigaError('IllegalState', `Parquet reader returned no column '${name}'`);
    const col = batchColumn(batch, idx);
    const tt = columnTypeInfo(c);
    if (col.type === tt.type && (tt.type !== 'decimal' || (col.scale === tt.scale && col.precision === tt.precision))) return col;
    return cast(col, tt, null);
  });
}

export function conformBatch(batch: arrow.RecordBatch, mapping: ColumnMapping, fileSchema: arrow.Schema): arrow.RecordBatch {
  const cols = conformColumns(batch, mapping, fileSchema);
  return batchFromColumns(mapping.target.map((c) => c.name), cols, mapping.target.map((c) => c.nullable));
}

/** Rows of `cols` (named `names`) that satisfy every predicate; null = all rows. */
export function selectPredicates(names: readonly string[], cols: readonly Column[], predicates: readonly ColumnPredicate[]): Int32Array | null {
  let sel: Int32Array | null = null;
  for (const p of predicates) {
    const i = names.findIndex((n) => n.toLowerCase() === p.column.toLowerCase());
    if (i < 0) throw new SaigaError('UnknownColumn', `predicate on unknown column '${p.column}'`);
    const col = cols[i]!;
    switch (p.kind) {
      case 'isNull': sel = filterIsNull(col, sel); break;
      case 'isNotNull': sel = filterIsNull(col, sel, true); break;
      case 'compare':
        if (p.value === null) return new Int32Array(0);
        sel = filterCompare(col, p.op, scalar(col.type, p.value, col.precision, col.scale), sel);
        break;
      case 'in':
        sel = filterIn(col, p.values.filter((v) => v !== null).map((v) => scalar(col.type, v, col.precision, col.scale)), sel);
        break;
    }
    if (sel.length === 0) return sel;
  }
  return sel;
}

/** A batch with no columns and `rowCount` rows (COUNT(*) scans). */
export function emptyColumnsBatch(rowCount: number): arrow.RecordBatch {
  const schema = new arrow.Schema([]);
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct([]), length: rowCount, nullCount: 0, children: [] }));
}


