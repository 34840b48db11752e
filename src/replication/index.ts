/** Public surface of the Raft core; the driver and the tablet-replica glue import from here. */
export { RaftNode, newRaftNode } from './raft.js';
export type { RaftStatus } from './raft.js';
export { raftConfig, validateRaftConfig, RAFT_DEFAULTS } from './config.js';
export type { RaftConfig, RaftOptions } from './config.js';
export { MemoryStorage } from './storage.js';
export type { Storage } from './storage.js';
export { SeededRandom } from './random.js';
export type { Random } from './random.js';
export { encodeConfChange, decodeConfChange, applyConfChangeTo } from './conf-change.js';
export {
  NO_REPLICA, EMPTY_HARD_STATE, MESSAGE_TYPES, makeMessage, entrySizeBytes, isEmptyHardState, hardStateEqual,
} from './types.js';
export type {
  ReplicaId, Entry, EntryType, HardState, ConfState, SnapshotMetadata, Snapshot, ConfChange, ConfChangeType,
  MessageType, Message, MessageInit, RaftRole, SoftState, ReadState, Ready,
} from './types.js';
