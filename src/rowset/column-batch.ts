import * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { readDecimal } from './column-data.js';

/**
 * The canonical columnar form of a validated write batch: one Arrow Data per tablet column in
 * the MemRowSet store's layout, so the store appends it with typed-array copies and the WAL
 * logs it as Arrow IPC without conversion.
 *
 * | tablet type                          | canonical Arrow type | values                     |
 * |--------------------------------------|----------------------|----------------------------|
 * | int8/16/32, date, timestamp, float, double | Float64        | Float64Array (exact)       |
 * | int64                                | Int64                | BigInt64Array              |
 * | decimal(p,s)                         | Decimal(s,p,128)     | Uint32Array, 4 words a row |
 * | string / binary                      | Utf8 / Binary        | Int32 offsets + bytes      |
 * | bool                                 | Uint8                | 0 / 1 bytes                |
 * Nulls: the validity bitmap (offset 0). Every canonical Data starts at offset 0.
 */

export type CanonicalKind = 'num' | 'i64' | 'dec' | 'str' | 'bin' | 'bool';

export function canonicalKind(c: Pick<ColumnSchema, 'type'>): CanonicalKind {
  switch (c.type) {
    case 'int64': return 'i64';
    case 'decimal': return 'dec';
    case 'string': return 'str';
    case 'binary': return 'bin';
    case 'bool': return 'bool';
    default: return 'num';
  }
}

export function canonicalType(c: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>): arrow.DataType {
  switch (canonicalKind(c)) {
    case 'num': return new arrow.Float64();
    case 'i64': return new arrow.Int64();
    case 'dec': return new arrow.Decimal(c.scale ?? 0, c.precision ?? 38, 128);
    case 'str': return new arrow.Utf8();
    case 'bin': return new arrow.Binary();
    case 'bool': return new arrow.Uint8();
  }
}

const textDecoder = new TextDecoder();

/** Whether row i of a canonical column is NULL. */
export function canonicalIsNull(d: arrow.Data, i: number): boolean {
  const bm = d.nullBitmap;
  return d.nullCount !== 0 && bm !== undefined && bm.length > 0 && ((bm[i >> 3] as number) & (1 << (i & 7))) === 0;
}

/** The canonical Value of row i (for per-row paths: lookups, updates, mixed batches). */
export function canonicalValue(kind: CanonicalKind, d: arrow.Data, i: number): Value {
  return canonicalIsNull(d, i) ? null : valueAt(kind, d.values as ArrayBufferView, d.valueOffsets as Int32Array | undefined, i);
}

/** The Value of non-NULL row i of canonical buffers (`offsets` for str / bin only). */
export function valueAt(kind: CanonicalKind, values: ArrayBufferView, offsets: Int32Array | undefined, i: number): Value {
  switch (kind) {
    case 'num': return (values as Float64Array)[i] as number;
    case 'i64': return (values as BigInt64Array)[i] as bigint;
    case 'dec': return readDecimal(values as Uint32Array, i);
    case 'bool': return (values as Uint8Array)[i] === 1;
    case 'str': case 'bin': {
      const o = offsets as Int32Array;
      const b = (values as Uint8Array).subarray(o[i] as number, o[i + 1] as number);
      return kind === 'str' ? textDecoder.decode(b) : b.slice();
    }
  }
}

/** Builds a canonical Data from its parts (offset 0). */
export function makeCanonical(c: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>, length: number, parts: {
  readonly values: Float64Array | BigInt64Array | Uint32Array | Uint8Array;
  readonly valueOffsets?: Int32Array;
  readonly nullBitmap?: Uint8Array;
  readonly nullCount: number;
}): arrow.Data {
  const type = canonicalType(c);
  const nb = parts.nullCount > 0 ? parts.nullBitmap : undefined;
  assert(parts.nullCount === 0 || nb !== undefined, 'a column with nulls has a validity bitmap');
  // makeData's overloads are per type; the props shape is the same for all of ours.
  const props: Record<string, unknown> = { type, length, nullCount: parts.nullCount, data: parts.values };
  if (nb !== undefined) props.nullBitmap = nb;
  if (parts.valueOffsets !== undefined) props.valueOffsets = parts.valueOffsets;
  return arrow.makeData(props as unknown as Parameters<typeof arrow.makeData>[0]) as arrow.Data;
}
