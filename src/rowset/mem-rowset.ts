import { assert } from '../common/assert.js';
import type { HybridTime } from '../common/hybrid-time.js';
import { compareBytes } from '../common/key-encoding.js';
import type { Value } from '../common/types.js';
import { rowSizeBytes } from './column-data.js';

/**
 * One state of a row: its full values (in the tablet schema's column order) from `ts` on, or
 * null when the row is deleted from `ts` on. A row's versions form its mutation chain; the
 * first is the insert, later ones are updates, deletes and reinserts, in timestamp order.
 */
export interface RowVersion {
  readonly ts: HybridTime;
  readonly row: readonly Value[] | null;
}

export interface MrsEntry {
  readonly key: Uint8Array;
  readonly versions: RowVersion[];
}

/** The row state visible at snapshot `t`: values, null (deleted), or undefined (not yet inserted). */
export function versionAt(versions: readonly RowVersion[], t: HybridTime): readonly Value[] | null | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i] as RowVersion;
    if (v.ts <= t) return v.row;
  }
  return undefined;
}

const LEAF_MAX = 128;

/**
 * The MemRowSet: rows ordered by encoded primary key in a two-level B-tree (sorted leaves of
 * at most LEAF_MAX entries under a sorted array of leaf first keys). Comparisons use
 * compareBytes on the stored key bytes and allocate nothing.
 */
export class MemRowSet {
  private leaves: MrsEntry[][] = [[]];
  private entryCount = 0;
  private bytes = 0;
  /** Highest op index whose effects this MemRowSet holds (0 = none). */
  maxOpIndex = 0;

  get size(): number {
    return this.entryCount;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  private leafFor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const first = (this.leaves[mid] as MrsEntry[])[0] as MrsEntry;
      if (compareBytes(first.key, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the first entry in leaf whose key >= key. */
  private static lowerBound(leaf: readonly MrsEntry[], key: Uint8Array): number {
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes((leaf[mid] as MrsEntry).key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  find(key: Uint8Array): MrsEntry | undefined {
    const leaf = this.leaves[this.leafFor(key)] as MrsEntry[];
    const i = MemRowSet.lowerBound(leaf, key);
    const e = leaf[i];
    return e !== undefined && compareBytes(e.key, key) === 0 ? e : undefined;
  }

  /** True when `key` is greater than every key in this MemRowSet (O(1): compares with the last key). */
  isAboveMax(key: Uint8Array): boolean {
    const last = this.leaves[this.leaves.length - 1] as MrsEntry[];
    const e = last[last.length - 1];
    return e === undefined || compareBytes(key, e.key) > 0;
  }

  /** Adds a new entry for a key not present in this MemRowSet. */
  insert(key: Uint8Array, ts: HybridTime, row: readonly Value[]): MrsEntry {
    if (this.isAboveMax(key)) {
      // Append (bulk loads arrive in key order): fill the last leaf, then open a new one.
      const entry: MrsEntry = { key, versions: [{ ts, row }] };
      let last = this.leaves[this.leaves.length - 1] as MrsEntry[];
      if (last.length >= LEAF_MAX) this.leaves.push((last = []));
      last.push(entry);
      this.entryCount++;
      this.bytes += 64 + key.length + rowSizeBytes(row);
      return entry;
    }
    const li = this.leafFor(key);
    const leaf = this.leaves[li] as MrsEntry[];
    const i = MemRowSet.lowerBound(leaf, key);
    const existing = leaf[i];
    assert(existing === undefined || compareBytes(existing.key, key) !== 0, 'MemRowSet.insert of a key already present');
    const entry: MrsEntry = { key, versions: [{ ts, row }] };
    leaf.splice(i, 0, entry);
    if (leaf.length > LEAF_MAX) {
      const right = leaf.splice(leaf.length >> 1);
      this.leaves.splice(li + 1, 0, right);
    }
    this.entryCount++;
    this.bytes += 64 + key.length + rowSizeBytes(row);
    return entry;
  }

  addVersion(entry: MrsEntry, ts: HybridTime, row: readonly Value[] | null): void {
    const last = entry.versions[entry.versions.length - 1];
    assert(last !== undefined && last.ts <= ts, 'MemRowSet mutations arrive in timestamp order');
    entry.versions.push({ ts, row });
    this.bytes += 24 + (row === null ? 0 : rowSizeBytes(row));
  }

  /** Entries in key order, starting at the first key >= lower when given. */
  *entries(lower?: Uint8Array): Generator<MrsEntry> {
    let li = 0;
    let start = 0;
    if (lower !== undefined) {
      li = this.leafFor(lower);
      start = MemRowSet.lowerBound(this.leaves[li] as MrsEntry[], lower);
    }
    for (; li < this.leaves.length; li++) {
      const leaf = this.leaves[li] as MrsEntry[];
      for (let i = start; i < leaf.length; i++) yield leaf[i] as MrsEntry;
      start = 0;
    }
  }

  minKey(): Uint8Array | undefined {
    return this.leaves[0]?.[0]?.key;
  }
}
