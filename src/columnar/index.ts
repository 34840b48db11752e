/** Public surface of the columnar kernels (see README.md for every export and its signature). */
export * from './column.js';
export * from './decimal.js';
export * from './selection.js';
export * from './filter.js';
export { exactOf, doubleOf, bytesOf, floorAtScale } from './scalar-convert.js';
export type { Exact } from './scalar-convert.js';
export { isColumn, readNumeric } from './numeric-input.js';
export type { Operand, NumericInput } from './numeric-input.js';
export * from './take.js';
export * from './arith.js';
export * from './cast.js';
export * from './conditional.js';
export * from './string-fns.js';
export * from './date-fns.js';
export * from './math-fns.js';
export * from './datetime.js';
