/** Public surface of the columnar kernels (see README.md for every export and its signature). */
export * from './column.js';
export * from './decimal.js';
export * from './selection.js';
export * from './filter.js';
export { exactOf, doubleOf, bytesOf, floorAtScale } from './scalar-convert.js';
export type { Exact } from './scalar-convert.js';
