import {
  Binary, Bool, DateDay, Decimal, Field, Float32, Float64, Int16, Int32, Int64, Int8, makeData, RecordBatch,
  Schema as ArrowSchema, Struct, TimestampMicrosecond, Utf8, type Data,
} from 'apache-arrow';
import type { DataType, Value } from '../../src/common/types.js';
import type { ResultColumn } from '../../src/query/api.js';
import { arrowTypeOf } from '../../src/server/flight/arrow-schema.js';

/** Test helper: Saiga Values -> Arrow columns built from raw buffers (the way the engine builds them). */

function validity(values: readonly (Value | undefined)[]): { bitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array(((values.length + 63) >> 6) << 3);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
  });
  return { bitmap, nullCount };
}

export function buildColumn(type: DataType, values: readonly (Value | undefined)[], precision = 38, scale = 0): Data {
  const n = values.length;
  const { bitmap, nullCount } = validity(values);
  const t = arrowTypeOf({ type, precision, scale });
  const base = { type: t, length: n, nullCount, nullBitmap: nullCount > 0 ? bitmap : null } as const;
  switch (type) {
    case 'bool': {
      const data = new Uint8Array(((n + 63) >> 6) << 3);
      values.forEach((v, i) => {
        if (v === true) data[i >> 3] = (data[i >> 3] as number) | (1 << (i & 7));
      });
      return makeData({ ...base, type: t as Bool, data });
    }
    case 'int8': return makeData({ ...base, type: t as Int8, data: Int8Array.from(values, (v) => Number(v ?? 0)) });
    case 'int16': return makeData({ ...base, type: t as Int16, data: Int16Array.from(values, (v) => Number(v ?? 0)) });
    case 'int32': return makeData({ ...base, type: t as Int32, data: Int32Array.from(values, (v) => Number(v ?? 0)) });
    case 'date': return makeData({ ...base, type: t as DateDay, data: Int32Array.from(values, (v) => Number(v ?? 0)) });
    case 'int64': return makeData({ ...base, type: t as Int64, data: BigInt64Array.from(values, (v) => BigInt((v as number | bigint | null) ?? 0)) });
    case 'timestamp':
      return makeData({ ...base, type: t as TimestampMicrosecond, data: BigInt64Array.from(values, (v) => BigInt((v as number | null) ?? 0)) });
    case 'float': return makeData({ ...base, type: t as Float32, data: Float32Array.from(values, (v) => Number(v ?? 0)) });
    case 'double': return makeData({ ...base, type: t as Float64, data: Float64Array.from(values, (v) => Number(v ?? 0)) });
    case 'decimal': {
      const words = new Uint32Array(n * 4);
      values.forEach((v, i) => {
        const x = BigInt.asUintN(128, BigInt((v as bigint | number | null) ?? 0));
        for (let k = 0; k < 4; k++) words[i * 4 + k] = Number((x >> BigInt(32 * k)) & 0xffffffffn);
      });
      return makeData({ ...base, type: t as Decimal, data: words });
    }
    case 'string': case 'binary': {
      const parts = values.map((v) => (v === null || v === undefined ? new Uint8Array(0) : typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array)));
      const offsets = new Int32Array(n + 1);
      parts.forEach((p, i) => (offsets[i + 1] = (offsets[i] as number) + p.length));
      const data = new Uint8Array(offsets[n] as number);
      parts.forEach((p, i) => data.set(p, offsets[i] as number));
      return type === 'string'
        ? makeData({ ...base, type: t as Utf8, valueOffsets: offsets, data })
        : makeData({ ...base, type: t as Binary, valueOffsets: offsets, data });
    }
  }
}

export function buildBatch(columns: readonly ResultColumn[], rows: readonly (readonly (Value | undefined)[])[]): { schema: ArrowSchema; batch: RecordBatch } {
  const fields = columns.map((c) => new Field(c.name, arrowTypeOf(c), c.nullable));
  const schema = new ArrowSchema(fields);
  const children = columns.map((c, j) => buildColumn(c.type, rows.map((r) => r[j]), c.precision, c.scale));
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return { schema, batch: new RecordBatch(schema, data) };
}
