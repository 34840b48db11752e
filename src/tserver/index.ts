export { LocalReplica, LOCAL_TERM } from './local-replica.js';
export type { LocalReplicaOptions, LocalWriteResult } from './local-replica.js';
export { TabletManager } from './tablet-manager.js';
export { TabletReplica } from './tablet-replica.js';
export type { ReplicaWriteResult, TabletReplicaOptions } from './tablet-replica.js';
