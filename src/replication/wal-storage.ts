import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import { entryTypeCode, type Log, type LogEntry } from '../wal/index.js';
import type { Storage } from './storage.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * Raft Storage over a tablet's write-ahead log (src/wal): the Raft log IS the WAL. A Normal
 * entry's data is `[kind byte][payload]` (WAL_KIND codes below); an empty Normal entry is a
 * leader's no-op; a ConfChange entry's data is the encoded change. The WAL keeps the type in
 * its record header and the payload without the kind byte, so what the former single-replica driver wrote and
 * what a TabletReplica writes read the same on bootstrap.
 *
 * Reads are synchronous (the Log keeps offsets and unsynced entries in memory); writes are the
 * driver's: `persist(ready)` appends (truncating a conflicting suffix) and, when term or vote
 * changed, writes the hard state, both durably. A commit-only change is not written: after a
 * crash the commit index is re-learned from the leader (or raised to the applied index).
 */
export const WAL_KIND = { write: 1, alterSchema: 2, writeBatch: 5, bulkCommit: 6 } as const;
export type WalKind = keyof typeof WAL_KIND;

const KIND_BY_CODE: readonly (WalKind | undefined)[] = [undefined, 'write', 'alterSchema', undefined, undefined, 'writeBatch', 'bulkCommit'];
for (const k of Object.keys(WAL_KIND) as WalKind[]) assert(WAL_KIND[k] === entryTypeCode(k), () => `WAL kind ${k} has the log's entry type code`);

/** Raft data of a Normal entry carrying a WAL payload. */
export function encodeEntryData(kind: WalKind, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 1);
  out[0] = WAL_KIND[kind];
  out.set(payload, 1);
  return out;
}

/** The WAL record of a Raft entry. */
export function toLogEntry(e: Entry): LogEntry {
  if (e.type === 'ConfChange') return { term: e.term, index: e.index, type: 'configChange', payload: e.data };
  if (e.data.byteLength === 0) return { term: e.term, index: e.index, type: 'noop', payload: e.data };
  const kind = KIND_BY_CODE[e.data[0] as number];
  assert(kind !== undefined, () => `entry ${e.index} data starts with a WAL kind byte, found ${e.data[0]}`);
  // `framed`: the data the payload views, so fromLogEntry can hand it back without a copy.
  return { term: e.term, index: e.index, type: kind, payload: e.data.subarray(1), framed: e.data };
}

/**
 * The Raft data `[kind byte][payload]` of a Normal entry without copying the payload when the
 * entry carries it contiguous (`framed`: set by toLogEntry, so the Log's unsynced list and
 * recent cache hand back the proposal's own data, and by Log.read for entries it decoded from a
 * segment); checked to still frame this payload with this kind, else a new buffer.
 */
function normalData(e: LogEntry, kind: WalKind): Uint8Array {
  const d = e.framed;
  const p = e.payload;
  if (d !== undefined && d.buffer === p.buffer && d.byteOffset + 1 === p.byteOffset && d.byteLength === p.byteLength + 1 && d[0] === WAL_KIND[kind]) return d;
  return encodeEntryData(kind, p);
}

/** The Raft entry of a WAL record. */
export function fromLogEntry(e: LogEntry): Entry {
  switch (e.type) {
    case 'configChange': return { term: e.term, index: e.index, type: 'ConfChange', data: e.payload };
    case 'noop': return { term: e.term, index: e.index, type: 'Normal', data: new Uint8Array(0) };
    case 'write':
    case 'alterSchema':
    case 'writeBatch':
    case 'bulkCommit': return { term: e.term, index: e.index, type: 'Normal', data: normalData(e, e.type) };
  }
}

/** Where the configuration as of the log's snapshot point is kept (outside the Log, which stores no ConfState). */
export interface ConfStore {
  get(): ConfState;
}

export class WalStorage implements Storage {
  constructor(
    readonly log: Log,
    private readonly conf: ConfStore,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    const h = this.log.hardState();
    // A commit beyond the log end can only come from a log that lost its tail to a snapshot reset.
    // A commit below the snapshot point is a commit-only change never written: the snapshot is committed.
    const commit = Math.max(Math.min(h.commit, this.log.lastIndex()), this.log.snapshotMarker().index);
    return { hardState: { term: h.term, vote: h.vote, commit }, confState: this.conf.get() };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const got = this.log.read(lo, hi, maxBytes);
    const out: Entry[] = new Array(got.length);
    for (let i = 0; i < got.length; i++) out[i] = fromLogEntry(got[i] as LogEntry);
    return out;
  }

  term(i: number): number {
    const t = this.log.term(i);
    if (t === undefined) {
      throw new SaigaError('NotFound', `term of log entry ${i} is unknown: the log holds [${this.log.firstIndex()}, ${this.log.lastIndex()}]`);
    }
    return t;
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  snapshot(): Snapshot {
    const m = this.log.snapshotMarker();
    return { metadata: { index: m.index, term: m.term, confState: this.conf.get() }, data: new Uint8Array(0) };
  }

  /**
   * Persists one Ready's entries and hard state. Resolves once durable. The entries are
   * appended before the hard state, so a vote is never durable without the log it judged.
   */
  async persist(entries: readonly Entry[], hardState: HardState | undefined, mustSync: boolean): Promise<void> {
    if (entries.length > 0) {
      const logEntries: LogEntry[] = new Array(entries.length);
      for (let i = 0; i < entries.length; i++) logEntries[i] = toLogEntry(entries[i] as Entry);
      await this.log.appendReplacing(logEntries);
    }
    if (hardState !== undefined) {
      const prev = this.log.hardState();
      if (prev.term !== hardState.term || prev.vote !== hardState.vote) await this.log.setHardState(hardState);
      else if (mustSync) await this.log.sync();
    }
  }
}
