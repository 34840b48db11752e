/**
 * Compact copies of wide integer-valued columns (DECIMAL as Decimal128, INT64, TIMESTAMP), kept
 * beside an immutable Arrow column by the storage that owns it and read by scan kernels.
 *
 * | form | when | element |
 * |---|---|---|
 * | Int32Array | every non-null value of the column lies in int32 | the unscaled value |
 * | Float64Array | every non-null value lies within +-(2^53-1) | the unscaled value (exact) |
 *
 * Slots of NULL rows hold an unspecified value (read the validity bitmap). The arrays are
 * SharedArrayBuffer views, so they reach worker threads without a copy. The registry is keyed
 * by the column's Arrow Data object: a slice or a rebuilt column (deltas applied) is a new Data
 * without a compact copy, and a reader falls back to the wide values.
 */
export type CompactValues = Int32Array | Float64Array;

const registry = new WeakMap<object, CompactValues>();

/** Registers `compact` as the compact copy of `column` (an immutable Arrow Data of `length` rows). */
export function setCompactValues(column: object, compact: CompactValues): void {
  registry.set(column, compact);
}

/** The compact copy of an Arrow column, if its owner made one. */
export function compactValuesOf(column: object): CompactValues | undefined {
  return registry.get(column);
}
