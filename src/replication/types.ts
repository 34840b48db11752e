/**
 * The Raft core's data: log entries, persistent state, snapshots and the messages replicas
 * exchange. Terms and indexes are plain numbers (safe up to 2^53, far beyond any log).
 */

/** A replica's id within its Raft group (a tablet server's replica UUID in Saiga). */
export type ReplicaId = string;
/** "No replica": no vote cast, no leader known. */
export const NO_REPLICA: ReplicaId = '';

export type EntryType = 'Normal' | 'ConfChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft for Normal entries; an encoded ConfChange for ConfChange entries. An empty Normal entry is a leader's no-op. */
  readonly data: Uint8Array;
}

/** What must be durable before any message of the same Ready is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: ReplicaId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_REPLICA, commit: 0 };

export interface ConfState {
  readonly voters: readonly ReplicaId[];
  readonly learners: readonly ReplicaId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  /** The configuration as of `index`. */
  readonly confState: ConfState;
}

/**
 * A snapshot as Raft sees it: metadata plus opaque application data (for a tablet, a reference
 * that the tablet-copy service resolves to rowset files and a log tail).
 */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type ConfChangeType = 'AddVoter' | 'RemoveVoter' | 'AddLearner' | 'PromoteLearner';

/** One-server membership change, carried by a ConfChange entry and applied when committed. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly replica: ReplicaId;
}

export type MessageType =
  | 'Append'
  | 'AppendResponse'
  | 'RequestVote'
  | 'RequestVoteResponse'
  | 'RequestPreVote'
  | 'RequestPreVoteResponse'
  | 'Heartbeat'
  | 'HeartbeatResponse'
  | 'InstallSnapshot'
  | 'TimeoutNow'
  | 'ReadIndex'
  | 'ReadIndexResponse';

export const MESSAGE_TYPES: readonly MessageType[] = [
  'Append', 'AppendResponse', 'RequestVote', 'RequestVoteResponse', 'RequestPreVote',
  'RequestPreVoteResponse', 'Heartbeat', 'HeartbeatResponse', 'InstallSnapshot', 'TimeoutNow',
  'ReadIndex', 'ReadIndexResponse',
];

/**
 * One message between replicas. Flat, like etcd's raftpb.Message: each type uses a subset of
 * the fields (see README.md for the table); unused fields are zero / empty.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: ReplicaId;
  readonly to: ReplicaId;
  readonly term: number;
  /** Append: term of the entry before `entries`; votes: candidate's last term; reject hints: the hint's term. */
  readonly logTerm: number;
  /** Append: index before `entries`; votes: candidate's last index; responses: the index acknowledged or rejected. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  /** Heartbeat round number, echoed in the response; drives ReadIndex and leader leases. */
  readonly seq: number;
  /** RequestVote sent because of a leadership transfer: voters grant it even inside a leader lease. */
  readonly force: boolean;
  /** ReadIndex / ReadIndexResponse: the request's context, echoed. */
  readonly context: string;
  /** InstallSnapshot only. */
  readonly snapshot?: Snapshot;
}

export type MessageInit = Pick<Message, 'type' | 'from' | 'to' | 'term'> & Partial<Omit<Message, 'type' | 'from' | 'to' | 'term'>>;

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/** A complete Message from `from` with every field not given set to its zero value. */
export function makeMessage(from: ReplicaId, m: Omit<MessageInit, 'from'>): Message {
  const msg: Message = {
    type: m.type, from, to: m.to, term: m.term,
    logTerm: m.logTerm ?? 0, index: m.index ?? 0, entries: m.entries ?? NO_ENTRIES, commit: m.commit ?? 0,
    reject: m.reject ?? false, rejectHint: m.rejectHint ?? 0, seq: m.seq ?? 0, force: m.force ?? false,
    context: m.context ?? '',
  };
  return m.snapshot !== undefined ? { ...msg, snapshot: m.snapshot } : msg;
}

export type RaftRole = 'Follower' | 'PreCandidate' | 'Candidate' | 'Leader';

export interface SoftState {
  readonly lead: ReplicaId;
  readonly role: RaftRole;
}

/** A confirmed read: once the replica has applied `index`, it may answer the read named by `requestCtx`. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: string;
}

/**
 * What the driver must do, in order: persist `snapshot`, `entries` and `hardState` (durably),
 * then send `messages`, apply `committedEntries` (and `snapshot`), serve `readStates`, then
 * call advance(ready).
 */
export interface Ready {
  readonly softState: SoftState;
  /** Present when it changed since the last Ready. */
  readonly hardState: HardState | undefined;
  /**
   * True when entries, term or vote must be durable before the messages go out (fsync);
   * false when only the commit index moved, which may be written lazily (it is re-learned).
   */
  readonly mustSync: boolean;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

/** Bytes an entry counts for in message and in-flight limits. */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 24;
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === NO_REPLICA && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
