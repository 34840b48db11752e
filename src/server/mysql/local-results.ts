import { Field, Float64, Int64, makeData, RecordBatch, Schema as ArrowSchema, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import type { ResultColumn, StatementResult } from '../../query/api.js';

/** Small result sets the server builds itself (variables, SHOW ENGINES, ...). Not a hot path. */

export type LocalCell = string | number | bigint | null;
export interface LocalColumn {
  readonly name: string;
  readonly type: 'int64' | 'double' | 'string';
}

export function rowsResult(columns: readonly LocalColumn[], rows: readonly (readonly LocalCell[])[]): StatementResult {
  const fields = columns.map((c) => new Field(c.name, c.type === 'int64' ? new Int64() : c.type === 'double' ? new Float64() : new Utf8(), true));
  const arrowSchema = new ArrowSchema(fields);
  const children = columns.map((c, j) => {
    const vals = rows.map((r) => r[j] ?? null);
    if (c.type === 'int64') return vectorFromArray(vals.map((v) => (v === null ? null : BigInt(v))), new Int64()).data[0];
    if (c.type === 'double') return vectorFromArray(vals.map((v) => (v === null ? null : Number(v))), new Float64()).data[0];
    return vectorFromArray(vals.map((v) => (v === null ? null : String(v))), new Utf8()).data[0];
  });
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children: children as never });
  const batch = new RecordBatch(arrowSchema, data);
  const resultColumns: ResultColumn[] = columns.map((c) => ({
    name: c.name,
    type: c.type === 'int64' ? 'int64' : c.type === 'double' ? 'double' : 'string',
    nullable: true,
  }));
  async function* batches(): AsyncGenerator<RecordBatch> {
    if (rows.length > 0) yield batch;
  }
  return { kind: 'rows', columns: resultColumns, arrowSchema, batches: batches() };
}

export function okResult(affectedRows = 0, info?: string): StatementResult {
  return info === undefined ? { kind: 'ok', affectedRows, warnings: [] } : { kind: 'ok', affectedRows, info, warnings: [] };
}

/** Column type for a list of cells: int64 when all are integers, double when numbers, else string. */
export function inferColumnType(cells: readonly LocalCell[]): LocalColumn['type'] {
  let t: LocalColumn['type'] | null = null;
  for (const c of cells) {
    if (c === null) continue;
    const ct = typeof c === 'bigint' || (typeof c === 'number' && Number.isSafeInteger(c)) ? 'int64' : typeof c === 'number' ? 'double' : 'string';
    if (t === null) t = ct;
    else if (t !== ct) t = t !== 'string' && ct !== 'string' ? 'double' : 'string';
  }
  return t ?? 'string';
}
