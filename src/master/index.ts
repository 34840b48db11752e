export { Catalog, DEFAULT_DATABASE, AUTO_INCREMENT_RESERVE_BLOCK, validateSchema, withHiddenKey } from './catalog.js';
