import type * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { HybridTime } from '../common/hybrid-time.js';
import { compareBytes } from '../common/key-encoding.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { MrsColumns } from './mrs-columns.js';
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

/**
 * One key's mutation chain in the MemRowSet. The insert is kept inline (`ts`, `row`) and later
 * versions only exist once the row is mutated, so a plain insert costs this object and its row.
 */
export class MrsEntry {
  /** Versions after the insert, in timestamp order; undefined until the first mutation. */
  later: RowVersion[] | undefined = undefined;
  constructor(readonly key: Uint8Array, readonly ts: HybridTime, private readonly store: MrsColumns, readonly rowIndex: number) {}

  /** The inserted values (materialized from the columnar store on each call). */
  get row(): readonly Value[] {
    return this.store.row(this.rowIndex);
  }

  /** True when the latest state is a live row (not deleted). */
  isLive(): boolean {
    const l = this.later;
    return l === undefined || (l[l.length - 1] as RowVersion).row !== null;
  }

  /** The whole chain, oldest first (allocates; for flush and compaction). */
  get versions(): RowVersion[] {
    const first: RowVersion = { ts: this.ts, row: this.row };
    return this.later === undefined ? [first] : [first, ...this.later];
  }

  /** The latest state: values, or null when deleted. */
  latest(): readonly Value[] | null {
    const l = this.later;
    return l === undefined ? this.row : (l[l.length - 1] as RowVersion).row;
  }

  /** The state visible at snapshot `t`: values, null (deleted), or undefined (not yet inserted). */
  rowAt(t: HybridTime): readonly Value[] | null | undefined {
    const l = this.later;
    if (l !== undefined) {
      for (let i = l.length - 1; i >= 0; i--) {
        const v = l[i] as RowVersion;
        if (v.ts <= t) return v.row;
      }
    }
    return this.ts <= t ? this.row : undefined;
  }
}

/** The row state visible at snapshot `t`: values, null (deleted), or undefined (not yet inserted). */
export function versionAt(versions: readonly RowVersion[], t: HybridTime): readonly Value[] | null | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i] as RowVersion;
    if (v.ts <= t) return v.row;
  }
  return undefined;
}

/** Encoded keys are copied into shared chunks: one small view per key instead of a buffer each. */
const KEY_CHUNK_BYTES = 256 * 1024;

const LEAF_MAX = 128;

/**
 * The MemRowSet: rows ordered by encoded primary key in a two-level B-tree (sorted leaves of
 * at most LEAF_MAX entries under a sorted array of leaf first keys). Comparisons use
 * compareBytes on the stored key bytes and allocate nothing.
 */
export class MemRowSet {
  private readonly store: MrsColumns;
  private leaves: MrsEntry[][] = [[]];
  private keyChunk = new Uint8Array(KEY_CHUNK_BYTES);
  private keyChunkUsed = 0;
  private entryCount = 0;
  private bytes = 0;
  /** Highest op index whose effects this MemRowSet holds (0 = none). */
  maxOpIndex = 0;

  /** `columns`: the tablet schema's columns; rows given to insert are aligned with them. */
  constructor(columns: readonly ColumnSchema[]) {
    this.store = new MrsColumns(columns);
  }

  get size(): number {
    return this.entryCount;
  }

  /** Entries, keys and version chains (estimated) plus the columnar row store. */
  get sizeBytes(): number {
    return this.bytes + this.store.sizeBytes();
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

  /** A stable copy of `key` (which may be a reused encoding buffer). */
  private copyKey(key: Uint8Array): Uint8Array {
    const n = key.length;
    if (n > KEY_CHUNK_BYTES >> 4) return key.slice();
    if (this.keyChunkUsed + n > KEY_CHUNK_BYTES) {
      this.keyChunk = new Uint8Array(KEY_CHUNK_BYTES);
      this.keyChunkUsed = 0;
    }
    const at = this.keyChunkUsed;
    this.keyChunk.set(key, at);
    this.keyChunkUsed = at + n;
    return this.keyChunk.subarray(at, at + n);
  }

  /** Adds a new entry for a key not present in this MemRowSet; `key` is copied. */
  insert(key: Uint8Array, ts: HybridTime, row: readonly Value[]): MrsEntry {
    if (this.isAboveMax(key)) {
      // Append (bulk loads arrive in key order): fill the last leaf, then open a new one.
      const entry = new MrsEntry(this.copyKey(key), ts, this.store, this.store.append(row));
      let last = this.leaves[this.leaves.length - 1] as MrsEntry[];
      if (last.length >= LEAF_MAX) this.leaves.push((last = []));
      last.push(entry);
      this.entryCount++;
      this.bytes += 64 + key.length;
      return entry;
    }
    const li = this.leafFor(key);
    const leaf = this.leaves[li] as MrsEntry[];
    const i = MemRowSet.lowerBound(leaf, key);
    const existing = leaf[i];
    assert(existing === undefined || compareBytes(existing.key, key) !== 0, 'MemRowSet.insert of a key already present');
    const entry = new MrsEntry(this.copyKey(key), ts, this.store, this.store.append(row));
    leaf.splice(i, 0, entry);
    if (leaf.length > LEAF_MAX) {
      const right = leaf.splice(leaf.length >> 1);
      this.leaves.splice(li + 1, 0, right);
    }
    this.entryCount++;
    this.bytes += 64 + key.length;
    return entry;
  }

  /**
   * Appends rows [from, from+count) of a prepared batch whose keys (`keyBytes` at
   * `keyOffsets[i]..keyOffsets[i+1]`) are strictly increasing and above every key here. The
   * key bytes are copied once into one buffer; columns are canonical (column-batch.ts).
   */
  appendBatch(keyBytes: Uint8Array, keyOffsets: Int32Array, cols: readonly arrow.Data[], from: number, count: number, ts: HybridTime): void {
    if (count === 0) return;
    const k0 = keyOffsets[from] as number;
    const k1 = keyOffsets[from + count] as number;
    const first = keyBytes.subarray(k0, keyOffsets[from + 1] as number);
    assert(this.isAboveMax(first), 'MemRowSet.appendBatch keys start above the last key');
    const own = keyBytes.slice(k0, k1);
    const base = this.store.appendColumns(cols, from, count);
    let last = this.leaves[this.leaves.length - 1] as MrsEntry[];
    let prev: Uint8Array | undefined;
    for (let i = 0; i < count; i++) {
      const key = own.subarray((keyOffsets[from + i] as number) - k0, (keyOffsets[from + i + 1] as number) - k0);
      assert(prev === undefined || compareBytes(prev, key) < 0, 'MemRowSet.appendBatch keys are strictly increasing');
      prev = key;
      if (last.length >= LEAF_MAX) this.leaves.push((last = []));
      last.push(new MrsEntry(key, ts, this.store, base + i));
    }
    this.entryCount += count;
    this.bytes += 64 * count + (k1 - k0);
  }

  /** The columnar store (flush reads its arrays). */
  get columns(): MrsColumns {
    return this.store;
  }

  addVersion(entry: MrsEntry, ts: HybridTime, row: readonly Value[] | null): void {
    const l = entry.later;
    const lastTs = l === undefined ? entry.ts : (l[l.length - 1] as RowVersion).ts;
    assert(lastTs <= ts, 'MemRowSet mutations arrive in timestamp order');
    if (l === undefined) entry.later = [{ ts, row }];
    else l.push({ ts, row });
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
