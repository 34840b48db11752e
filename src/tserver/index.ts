export { TabletManager } from './tablet-manager.js';
export { TabletReplica } from './tablet-replica.js';
export type { ReplicaWriteResult, TabletReplicaOptions } from './tablet-replica.js';
