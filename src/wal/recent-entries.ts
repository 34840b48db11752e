import { assert } from '../common/assert.js';
import type { LogEntry } from './entry-codec.js';

/**
 * Durable entries kept in memory after their fsync, so that reading them right back (Raft's
 * apply of committed entries, a leader sending them to followers) costs no disk read, no record
 * decode and no CRC pass. Bounded by bytes across every log of the process (a shared
 * RecentEntryBudget): the oldest cached entry of any log goes first, so idle tablets do not pin
 * memory while busy ones write.
 */

/** Default byte bound of the process-wide cache of recently written log entries. */
export const LOG_RECENT_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;

interface Slot {
  /** undefined once released (the queue may still hold the slot; it must not pin the payload). */
  entry: LogEntry | undefined;
  readonly bytes: number;
  readonly owner: RecentEntries;
}

/** The byte budget shared by several logs' caches; evicts in global insertion order. */
export class RecentEntryBudget {
  private fifo: Slot[] = [];
  private head = 0;
  bytes = 0;

  constructor(readonly bytesMax: number) {
    assert(Number.isFinite(bytesMax) && bytesMax >= 0, `cache budget must be a non-negative byte count, got ${bytesMax}`);
  }

  /** @internal */
  add(slot: Slot): void {
    this.fifo.push(slot);
    this.bytes += slot.bytes;
    while (this.bytes > this.bytesMax && this.head < this.fifo.length) {
      const s = this.fifo[this.head++] as Slot;
      if (s.entry !== undefined) s.owner.evictOldest(s);
    }
    // Compact the queue once its consumed prefix dominates.
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
  }

  /** @internal Called when a slot leaves its owner (evicted, truncated, cleared). */
  release(slot: Slot): void {
    assert(slot.entry !== undefined, 'a cache slot is released once');
    slot.entry = undefined;
    this.bytes -= slot.bytes;
  }
}

const processBudget = new RecentEntryBudget(LOG_RECENT_CACHE_BYTES_DEFAULT);

/** The process-wide budget logs use unless given another. */
export function defaultRecentEntryBudget(): RecentEntryBudget {
  return processBudget;
}

/** One log's cached entries: a contiguous run of indexes ending at the newest durable entry. */
export class RecentEntries {
  private slots: Slot[] = [];
  private head = 0;

  constructor(private readonly budget: RecentEntryBudget) {}

  /** Index of the oldest cached entry (Infinity when empty). */
  firstIndex(): number {
    const s = this.slots[this.head];
    return s?.entry === undefined ? Infinity : s.entry.index;
  }

  /** Adds the next durable entry (its index follows the newest cached one, if any). */
  push(entry: LogEntry): void {
    const last = this.slots[this.slots.length - 1];
    if (this.head < this.slots.length && last?.entry !== undefined) {
      const prev = last.entry.index;
      assert(entry.index === prev + 1, () => `cached log entries are contiguous: ${entry.index} after ${prev}`);
    }
    const slot: Slot = { entry, bytes: entry.payload.byteLength, owner: this };
    this.slots.push(slot);
    this.budget.add(slot);
  }

  /** The cached entry with this index, if still cached. */
  get(index: number): LogEntry | undefined {
    const first = this.firstIndex();
    if (index < first) return undefined;
    return this.slots[this.head + (index - first)]?.entry;
  }

  /** @internal Budget eviction: `slot` is this cache's oldest. */
  evictOldest(slot: Slot): void {
    assert(this.slots[this.head] === slot, 'the budget evicts a log\'s oldest cached entry first');
    this.budget.release(slot);
    this.slots[this.head] = undefined as unknown as Slot;
    this.head++;
    if (this.head === this.slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops cached entries with index >= fromIndex (log suffix truncation). */
  truncateFrom(fromIndex: number): void {
    while (this.slots.length > this.head) {
      const s = this.slots[this.slots.length - 1] as Slot;
      if ((s.entry as LogEntry).index < fromIndex) break;
      this.budget.release(s);
      this.slots.pop();
    }
    if (this.slots.length === this.head) {
      this.slots = [];
      this.head = 0;
    }
  }

  clear(): void {
    this.truncateFrom(-Infinity);
  }
}
