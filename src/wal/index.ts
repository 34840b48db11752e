export { Log, LogAnchorRegistry, openLog } from './log.js';
export type { HardState, LogOptions, SnapshotMarker } from './log.js';
export { decodeRecord, encodeEntries, encodeEntryInto, encodedEntryBytes } from './entry-codec.js';
export type { EntryType, LogEntry } from './entry-codec.js';
export { decodeSchema, decodeWriteBatch, encodeSchema, encodeWriteBatch, jsonReplacer, jsonReviver } from './op-codec.js';
export type { LoggedWriteOp, WriteBatchPayload } from './op-codec.js';
export { MetaFile, syncDir } from './meta-file.js';
export { decodeWriteBatchArrow, encodeWriteBatchArrow, WRITE_BATCH_PAYLOAD_VERSION } from './batch-codec.js';
export type { WriteBatchArrowPayload } from './batch-codec.js';
