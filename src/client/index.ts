export { openEmbeddedStorage } from './embedded-storage.js';
export type { EmbeddedStorageOptions } from './embedded-storage.js';
export { arrowToRows } from './arrow-rows.js';
