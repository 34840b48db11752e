export { LocalReplica, LOCAL_TERM } from './local-replica.js';
export type { LocalReplicaOptions, LocalWriteResult } from './local-replica.js';
export { TabletManager } from './tablet-manager.js';
