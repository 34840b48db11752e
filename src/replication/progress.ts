import { assert } from '../common/assert.js';

/**
 * Append messages in flight to one follower: last index and byte size of each, oldest first.
 * Bounded by count and bytes (RaftConfig.inflightMessagesMax / inflightBytesMax).
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(readonly countMax: number, readonly bytesMax: number) {}

  add(lastIndex: number, sizeBytes: number): void {
    assert(!this.full(), 'expected room in the in-flight window before adding');
    this.lastIndexes.push(lastIndex);
    this.sizes.push(sizeBytes);
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is <= to (acknowledged). */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= to) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.lastIndexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  freeFirstOne(): void {
    const first = this.lastIndexes[0];
    if (first !== undefined) this.freeLE(first);
  }

  full(): boolean {
    return this.lastIndexes.length >= this.countMax || this.bytes >= this.bytesMax;
  }

  count(): number {
    return this.lastIndexes.length;
  }

  /** Bytes of the entries in flight. */
  sizeBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.lastIndexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}

export type ProgressState = 'Probe' | 'Replicate' | 'Snapshot';

/**
 * The leader's view of one follower (etcd's tracker.Progress). Probe: one Append at a time
 * until the follower's log position is found. Replicate: stream optimistically, bounded by the
 * in-flight window. Snapshot: paused while the follower installs a snapshot.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'Probe';
  /** Probe: an Append was sent and not answered yet. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Ticks spent in the snapshot state; a lost InstallSnapshot is retried after a while. */
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  isLearner: boolean;
  /** Highest heartbeat round this follower acknowledged in the current term. */
  ackedSeq = 0;
  /** Highest commit index sent to this follower (in an Append or a heartbeat) in the current term. */
  commitSent = 0;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, inflightMessagesMax: number, inflightBytesMax: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'Snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('Probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('Probe');
      this.next = this.match + 1;
    }
  }

  /**
   * The follower reported a log ending at `lastIndex` below what it acknowledged (its data were
   * wiped and it came back empty): forget the lost match and probe from its real end.
   */
  resetAfterLogLoss(lastIndex: number): void {
    this.resetState('Probe');
    this.match = lastIndex;
    this.next = lastIndex + 1;
  }

  becomeReplicate(): void {
    this.resetState('Replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('Snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement of index n: true if it moved match forward. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** A rejection of the Append at `rejected`, with the follower's hint: true if next moved (resend). */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'Replicate') {
      if (rejected <= this.match) return false; // stale
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe we are waiting on
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'Probe': return this.probeSent;
      case 'Replicate': return this.inflights.full();
      case 'Snapshot': return true;
    }
  }
}
