import { Field, Schema as ArrowSchema, type DataType as ArrowType } from 'apache-arrow';
import { SaigaError } from '../../common/errors.js';
import { arrowTypeOf } from '../../common/arrow-type.js';
import type { TableInfo } from '../../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, typeToSql, type ColumnSchema, type Schema } from '../../common/types.js';

/** Saiga column type -> Arrow type, as in the table of src/common/types.ts. */
export { arrowTypeOf };

/** Columns a client sees: everything but the hidden auto-increment key. */
export function visibleColumns(schema: Schema): ColumnSchema[] {
  return schema.columns.filter((c) => c.name !== AUTO_INCREMENT_COLUMN);
}

/** The Arrow schema of a table's visible columns, with Flight SQL column metadata. */
export function tableArrowSchema(table: TableInfo): ArrowSchema {
  const fields = visibleColumns(table.schema).map((c) => {
    const meta = new Map<string, string>([
      ['ARROW:FLIGHT:SQL:CATALOG_NAME', table.database],
      ['ARROW:FLIGHT:SQL:TABLE_NAME', table.name],
      ['ARROW:FLIGHT:SQL:TYPE_NAME', typeToSql(c)],
      ['ARROW:FLIGHT:SQL:IS_AUTO_INCREMENT', c.autoIncrement === true ? '1' : '0'],
      ['ARROW:FLIGHT:SQL:IS_READ_ONLY', '0'],
      ['ARROW:FLIGHT:SQL:IS_SEARCHABLE', '1'],
    ]);
    if (c.type === 'decimal') {
      meta.set('ARROW:FLIGHT:SQL:PRECISION', String(c.precision ?? 38));
      meta.set('ARROW:FLIGHT:SQL:SCALE', String(c.scale ?? 0));
    }
    return new Field(c.name, arrowTypeOf(c), c.nullable, meta);
  });
  return new ArrowSchema(fields);
}

/**
 * Checks an uploaded stream's schema against the table before any row is written: every
 * field names a column (case-insensitive) with the column's Arrow type, and every key or
 * NOT NULL column without a default is present.
 */
export function checkPutSchema(table: TableInfo, schema: ArrowSchema): void {
  const byName = new Map(table.schema.columns.map((c) => [c.name.toLowerCase(), c]));
  const seen = new Set<string>();
  for (const f of schema.fields) {
    const col = byName.get(f.name.toLowerCase());
    if (col === undefined || col.name === AUTO_INCREMENT_COLUMN) {
      throw new SaigaError('InvalidArgument', `column '${f.name}' of the uploaded schema is not in table ${table.database}.${table.name} (columns: ${visibleColumns(table.schema).map((c) => c.name).join(', ')})`);
    }
    if (seen.has(col.name)) throw new SaigaError('InvalidArgument', `column '${f.name}' appears twice in the uploaded schema`);
    seen.add(col.name);
    const want = arrowTypeOf(col);
    if (!sameArrowType(want, f.type)) {
      throw new SaigaError('InvalidArgument', `column '${col.name}' of ${table.database}.${table.name} is ${typeToSql(col)} and needs Arrow type ${String(want)}, the upload has ${String(f.type)}`);
    }
  }
  table.schema.columns.forEach((c, i) => {
    if (seen.has(c.name) || c.autoIncrement === true || c.name === AUTO_INCREMENT_COLUMN) return;
    const isKey = i < table.schema.keyColumnCount;
    if (isKey || (!c.nullable && c.defaultValue === undefined)) {
      throw new SaigaError('InvalidArgument', `the upload lacks column '${c.name}' of ${table.database}.${table.name}, which is ${isKey ? 'part of the primary key' : 'NOT NULL without a default'}`);
    }
  });
}

/** Arrow type equality regardless of which class instance (Int64 vs a decoded Int_) carries it. */
export function sameArrowType(a: ArrowType, b: ArrowType): boolean {
  // compareTypes also compares timezones (null vs undefined after an IPC round trip) and
  // class identity; the layout is what matters here, and toString() spells it out.
  return a.typeId === b.typeId && String(a) === String(b);
}
