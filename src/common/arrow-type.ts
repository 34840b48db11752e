import * as arrow from 'apache-arrow';
import type { ColumnSchema } from './types.js';

/**
 * The Arrow type of a Saiga column type (the mapping table in types.ts): the one definition
 * that storage, the executor, Flight and the kernels all use. DECIMAL is always Decimal128.
 */
export function arrowTypeOf(c: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>): arrow.DataType {
  switch (c.type) {
    case 'bool': return new arrow.Bool();
    case 'int8': return new arrow.Int8();
    case 'int16': return new arrow.Int16();
    case 'int32': return new arrow.Int32();
    case 'int64': return new arrow.Int64();
    case 'float': return new arrow.Float32();
    case 'double': return new arrow.Float64();
    case 'decimal': return new arrow.Decimal(c.scale ?? 0, c.precision ?? 38, 128);
    case 'string': return new arrow.Utf8();
    case 'binary': return new arrow.Binary();
    case 'date': return new arrow.DateDay();
    case 'timestamp': return new arrow.TimestampMicrosecond();
  }
}
