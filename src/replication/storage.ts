import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { encodeConfChange } from './conf-change.js';
import type { ConfState, Entry, HardState, ReplicaId, Snapshot } from './types.js';
import { EMPTY_HARD_STATE, entrySizeBytes } from './types.js';

/**
 * Raft's view of durable state: hard state, the log after the last snapshot, and that
 * snapshot's metadata. The core only reads it; the driver writes it (persisting each Ready)
 * before it sends that Ready's messages. Implementations: MemoryStorage here, a WAL-backed one
 * over src/wal/ later.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if lo < hi, then up to maxBytes. Requires firstIndex() <= lo and hi <= lastIndex() + 1. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i. Requires firstIndex() - 1 <= i <= lastIndex() (i = firstIndex() - 1 is the snapshot's). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot (index 0 with the bootstrap configuration if none was taken). */
  snapshot(): Snapshot;
}

const EMPTY_CONF: ConfState = { voters: [], learners: [] };

export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    size += entrySizeBytes(ents[n]!);
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * In-memory Storage. Also what the simulation treats as "the disk": a crash keeps exactly what
 * was written here. Layout as in etcd: ents[0] is a dummy holding the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF }, data: new Uint8Array(0) };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'Normal', data: new Uint8Array(0) }];

  /**
   * Storage of a founding member of a new group: entries 1..n are AddVoter changes for the
   * initial voters, committed in term 1, so every replica (including ones added later) derives
   * its configuration from the log alone.
   */
  static bootstrap(voters: readonly ReplicaId[]): MemoryStorage {
    if (voters.length === 0) throw new SaigaError('InvalidArgument', 'expected at least one initial voter, found none');
    const s = new MemoryStorage();
    const ents: Entry[] = voters.map((replica, i) => ({
      term: 1, index: i + 1, type: 'ConfChange', data: encodeConfChange({ type: 'AddVoter', replica }),
    }));
    s.append(ents);
    s.setHardState({ term: 1, vote: '', commit: ents.length });
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hard, confState: this.snap.metadata.confState };
  }

  hardState(): HardState {
    return this.hard;
  }

  setHardState(h: HardState): void {
    this.hard = h;
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const off = this.offset();
    assert(i >= off && i <= this.lastIndex(), () => `expected term index in [${off}, ${this.lastIndex()}], found ${i}`);
    return this.ents[i - off]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.offset();
    assert(lo > off && hi <= this.lastIndex() + 1 && lo <= hi,
      () => `expected entries range within [${off + 1}, ${this.lastIndex() + 1}), found [${lo}, ${hi})`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo - off; i < hi - off; i++) {
      const e = this.ents[i]!;
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole state with a snapshot received from the leader. */
  applySnapshot(s: Snapshot): void {
    assert(s.metadata.index >= this.snap.metadata.index,
      () => `expected a snapshot newer than ${this.snap.metadata.index}, found ${s.metadata.index}`);
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: 'Normal', data: new Uint8Array(0) }];
  }

  /** Records an application snapshot at index i (<= the applied index); does not compact. */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    assert(i > this.snap.metadata.index && i <= this.lastIndex(),
      () => `expected snapshot index in (${this.snap.metadata.index}, ${this.lastIndex()}], found ${i}`);
    this.snap = { metadata: { index: i, term: this.term(i), confState }, data };
    return this.snap;
  }

  /** Discards entries up to and including i (i <= the snapshot's index keeps the log readable by term(i)). */
  compact(i: number): void {
    const off = this.offset();
    if (i <= off) return;
    assert(i <= this.lastIndex() && i <= this.snap.metadata.index,
      () => `expected compact index <= min(lastIndex ${this.lastIndex()}, snapshot ${this.snap.metadata.index}), found ${i}`);
    const dummy = this.ents[i - off]!;
    this.ents = [{ term: dummy.term, index: dummy.index, type: 'Normal', data: new Uint8Array(0) }, ...this.ents.slice(i - off + 1)];
  }

  /** Appends entries, truncating any conflicting suffix; entries at or below the first index are ignored. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const at = ents[0]!.index - this.offset();
    assert(at <= this.ents.length, () => `expected appended entries to start at <= ${this.lastIndex() + 1}, found ${ents[0]!.index}`);
    if (at < this.ents.length) this.ents.length = at; // drop the conflicting suffix
    for (const e of ents) this.ents.push(e);
  }
}
