import { SaigaError } from '../common/errors.js';
import type { Random } from './random.js';
import type { Storage } from './storage.js';
import type { ReplicaId } from './types.js';

/**
 * How a Raft replica behaves and the bounds it keeps (STYLE.md section 6). Ticks are the
 * driver's logical clock: the core never reads time.
 */
export interface RaftConfig {
  readonly id: ReplicaId;
  readonly storage: Storage;
  readonly random: Random;
  /** A follower that hears nothing from a leader for a random [electionTicks, 2*electionTicks) campaigns. */
  readonly electionTicks: number;
  /** A leader sends heartbeats every heartbeatTicks; must be < electionTicks. */
  readonly heartbeatTicks: number;
  /**
   * Leader lease length, counted from the send tick of the heartbeat round a quorum acked.
   * Must be <= electionTicks - 2 (one tick for phase offset between replicas, one for rounding);
   * a real driver subtracts its clock-drift bound too.
   */
  readonly leaseTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** 'Safe': every ReadIndex confirms leadership with a heartbeat round. 'LeaseBased': answer from the lease while it holds. */
  readonly readOnly: 'Safe' | 'LeaseBased';
  /** Bytes of entries in one Append message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Append messages in flight to one follower in the replicate state. */
  readonly inflightMessagesMax: number;
  /** Bytes of entries in flight to one follower in the replicate state. */
  readonly inflightBytesMax: number;
  /** Bytes of proposed-but-uncommitted entries a leader accepts before answering ResourceExhausted. */
  readonly uncommittedBytesMax: number;
  /** Bytes of committed entries handed out in one Ready. */
  readonly committedEntriesBytesMax: number;
  /** ReadIndex requests waiting for a heartbeat round. */
  readonly readsPendingMax: number;
  /** Index the application has already applied (on restart); entries after it are handed out again. */
  readonly applied: number;
}

export type RaftOptions = Pick<RaftConfig, 'id' | 'storage' | 'random'> & Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export const RAFT_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  readOnly: 'Safe',
  appendBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  committedEntriesBytesMax: 16 * 1024 * 1024,
  readsPendingMax: 10_000,
  applied: 0,
} as const;

export function raftConfig(o: RaftOptions): RaftConfig {
  const electionTicks = o.electionTicks ?? RAFT_DEFAULTS.electionTicks;
  return validateRaftConfig({
    id: o.id,
    storage: o.storage,
    random: o.random,
    electionTicks,
    heartbeatTicks: o.heartbeatTicks ?? RAFT_DEFAULTS.heartbeatTicks,
    leaseTicks: o.leaseTicks ?? electionTicks - 2,
    preVote: o.preVote ?? RAFT_DEFAULTS.preVote,
    checkQuorum: o.checkQuorum ?? RAFT_DEFAULTS.checkQuorum,
    readOnly: o.readOnly ?? RAFT_DEFAULTS.readOnly,
    appendBytesMax: o.appendBytesMax ?? RAFT_DEFAULTS.appendBytesMax,
    inflightMessagesMax: o.inflightMessagesMax ?? RAFT_DEFAULTS.inflightMessagesMax,
    inflightBytesMax: o.inflightBytesMax ?? RAFT_DEFAULTS.inflightBytesMax,
    uncommittedBytesMax: o.uncommittedBytesMax ?? RAFT_DEFAULTS.uncommittedBytesMax,
    committedEntriesBytesMax: o.committedEntriesBytesMax ?? RAFT_DEFAULTS.committedEntriesBytesMax,
    readsPendingMax: o.readsPendingMax ?? RAFT_DEFAULTS.readsPendingMax,
    applied: o.applied ?? RAFT_DEFAULTS.applied,
  });
}

export function validateRaftConfig(c: RaftConfig): RaftConfig {
  const bad = (what: string): never => {
    throw new SaigaError('InvalidArgument', `raft config for replica '${c.id}': ${what}`);
  };
  if (c.id === '') bad('expected a non-empty replica id');
  const positive = ['electionTicks', 'heartbeatTicks', 'leaseTicks', 'appendBytesMax', 'inflightMessagesMax',
    'inflightBytesMax', 'uncommittedBytesMax', 'committedEntriesBytesMax', 'readsPendingMax'] as const;
  for (const k of positive) {
    const v = c[k];
    if (!Number.isInteger(v) || v <= 0) bad(`expected ${k} to be a positive integer, found ${v}`);
  }
  if (c.heartbeatTicks >= c.electionTicks) bad(`expected heartbeatTicks < electionTicks, found ${c.heartbeatTicks} >= ${c.electionTicks}`);
  if (c.leaseTicks > c.electionTicks - 2) bad(`expected leaseTicks <= electionTicks - 2, found ${c.leaseTicks} with electionTicks ${c.electionTicks}`);
  if (c.readOnly === 'LeaseBased' && !c.checkQuorum) bad('expected checkQuorum with readOnly LeaseBased (leases rely on it)');
  if (!Number.isInteger(c.applied) || c.applied < 0) bad(`expected applied >= 0, found ${c.applied}`);
  return c;
}
