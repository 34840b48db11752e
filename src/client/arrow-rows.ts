import { DataType as ArrowType, TimeUnit, type Data, type RecordBatch, type Vector } from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import type { ColumnSchema, Row, Schema, Value } from '../common/types.js';

/**
 * Converts an Arrow record batch to rows aligned with `schema`, matching columns by name
 * (case-insensitive). Columns the batch lacks are left undefined (default on insert, unchanged
 * on update). Reads the typed arrays of each Data chunk, not Vector.get.
 */
export function arrowToRows(batch: RecordBatch, schema: Schema): Row[] {
  const n = batch.numRows;
  const rows: (Value | undefined)[][] = new Array<(Value | undefined)[]>(n);
  for (let i = 0; i < n; i++) rows[i] = new Array<Value | undefined>(schema.columns.length).fill(undefined);
  const fields = batch.schema.fields.map((f) => f.name.toLowerCase());
  const known = new Set(schema.columns.map((c) => c.name.toLowerCase()));
  for (const f of batch.schema.fields) {
    if (!known.has(f.name.toLowerCase())) throw new SaigaError('UnknownColumn', `batch column '${f.name}' is not a column of the table`);
  }
  schema.columns.forEach((col, ci) => {
    const fi = fields.indexOf(col.name.toLowerCase());
    if (fi < 0) return;
    const vector = batch.getChildAt(fi);
    if (vector === null) return;
    const values = columnValues(vector, col);
    for (let r = 0; r < n; r++) (rows[r] as (Value | undefined)[])[ci] = values[r] as Value;
  });
  return rows;
}

function isValid(d: Data, i: number): boolean {
  const bm = d.nullBitmap;
  if (d.nullCount === 0 || bm === undefined || bm.length === 0) return true;
  const k = d.offset + i;
  return ((bm[k >> 3] as number) & (1 << (k & 7))) !== 0;
}

const textDecoder = new TextDecoder();

function columnValues(vector: Vector, col: ColumnSchema): Value[] {
  const out: Value[] = new Array<Value>(vector.length);
  let at = 0;
  for (const d of vector.data as Data[]) {
    const t = d.type as ArrowType;
    const len = d.length;
    const vals = d.values as unknown;
    for (let i = 0; i < len; i++) {
      if (!isValid(d, i)) {
        out[at++] = null;
        continue;
      }
      const k = d.offset + i;
      let v: Value;
      if (ArrowType.isBool(t)) {
        v = (((vals as Uint8Array)[k >> 3] as number) & (1 << (k & 7))) !== 0;
      } else if (ArrowType.isUtf8(t) || ArrowType.isBinary(t)) {
        const offs = d.valueOffsets as Int32Array;
        const bytes = (vals as Uint8Array).subarray(offs[k] as number, offs[k + 1] as number);
        v = ArrowType.isUtf8(t) ? textDecoder.decode(bytes) : bytes.slice();
      } else if (ArrowType.isDecimal(t)) {
        const w = vals as Uint32Array;
        const stride = t.bitWidth / 32;
        let x = 0n;
        for (let j = stride - 1; j >= 0; j--) x = (x << 32n) | BigInt(w[k * stride + j] as number);
        v = BigInt.asIntN(t.bitWidth, x);
      } else if (ArrowType.isTimestamp(t)) {
        const raw = Number((vals as BigInt64Array)[k] as bigint);
        v = t.unit === TimeUnit.SECOND ? raw * 1e6 : t.unit === TimeUnit.MILLISECOND ? raw * 1e3 : t.unit === TimeUnit.MICROSECOND ? raw : Math.floor(raw / 1e3);
      } else if (ArrowType.isDate(t)) {
        // DateDay: days; DateMillisecond: ms (stored as int64 pairs in older Arrow, BigInt64Array in 21).
        const raw = (vals as ArrayLike<number | bigint>)[k] as number | bigint;
        v = t.unit === 0 ? Number(raw) : Math.floor(Number(raw) / 86_400_000);
      } else if (ArrowType.isInt(t) || ArrowType.isFloat(t)) {
        const raw = (vals as ArrayLike<number | bigint>)[k] as number | bigint;
        v = raw;
      } else {
        throw new SaigaError('InvalidArgument', `column '${col.name}': Arrow type ${String(t)} is not supported for ${col.type}`);
      }
      out[at++] = coerce(v, col);
    }
  }
  return out;
}

/** Maps an Arrow-read value to the API representation of the target column type. */
function coerce(v: Value, col: ColumnSchema): Value {
  switch (col.type) {
    case 'int64':
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
    case 'decimal':
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
    case 'int8': case 'int16': case 'int32': case 'date': case 'timestamp': case 'float': case 'double':
      return typeof v === 'bigint' ? Number(v) : v;
    default:
      return v;
  }
}
