import type * as arrow from 'apache-arrow';
import { assert } from '../common/assert.js';
import type { HybridTime } from '../common/hybrid-time.js';
import { compareBytes } from '../common/key-encoding.js';
import type { ColumnSchema, Value } from '../common/types.js';
import { MrsColumns, type Segment } from './mrs-columns.js';
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
  constructor(readonly key: Uint8Array, readonly ts: HybridTime, readonly store: MrsColumns, readonly rowIndex: number) {}

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
/** Rows per packed leaf (a bulk-appended run). */
const PACKED_MAX = 1024;

/**
 * A leaf of rows appended in key order that were never looked up for a mutation: keys in one
 * buffer, rows at consecutive store indexes, no per-row objects. Bulk runs (appendBatch) share
 * the batch's key buffer and one timestamp; the last leaf may be an open leaf that in-order row
 * inserts extend (own key buffer, a timestamp per row). find() turns a packed leaf into a leaf
 * of MrsEntry (unpack) before returning one of its rows.
 */
export class PackedLeaf {
  firstKey: Uint8Array;
  constructor(
    /** Key i = keys[offsets[lo + i] .. offsets[lo + i + 1]). */
    public keys: Uint8Array,
    readonly offsets: Int32Array,
    readonly lo: number,
    public length: number,
    /** Store row index of row 0. */
    readonly rowBase: number,
    /** Insert timestamp of every row, or per row. */
    readonly ts: HybridTime | BigUint64Array,
  ) {
    this.firstKey = this.key(0);
  }

  /** An open leaf holding one row, extended by `push` (in-order row inserts). */
  static open(key: Uint8Array, rowIndex: number, ts: HybridTime): PackedLeaf {
    const keys = new Uint8Array(Math.max(key.length * 16, 4096));
    keys.set(key, 0);
    const offsets = new Int32Array(PACKED_MAX + 1);
    offsets[1] = key.length;
    const tss = new BigUint64Array(PACKED_MAX);
    tss[0] = ts;
    return new PackedLeaf(keys, offsets, 0, 1, rowIndex, tss);
  }

  /** Whether `push` may append store row `rowIndex`. */
  canPush(rowIndex: number): boolean {
    return typeof this.ts !== 'bigint' && this.lo === 0 && this.length < PACKED_MAX && this.rowBase + this.length === rowIndex;
  }

  push(key: Uint8Array, ts: HybridTime): void {
    const at = this.offsets[this.length] as number;
    if (at + key.length > this.keys.length) {
      const b = new Uint8Array(Math.max(at + key.length, this.keys.length * 2));
      b.set(this.keys.subarray(0, at));
      this.keys = b;
      this.firstKey = this.key(0);
    }
    this.keys.set(key, at);
    this.offsets[this.length + 1] = at + key.length;
    (this.ts as BigUint64Array)[this.length] = ts;
    this.length++;
  }

  key(i: number): Uint8Array {
    return this.keys.subarray(this.offsets[this.lo + i] as number, this.offsets[this.lo + i + 1] as number);
  }

  tsAt(i: number): HybridTime {
    return typeof this.ts === 'bigint' ? this.ts : (this.ts[i] as bigint);
  }

  /** compareBytes(key i, key) without a view. */
  compareAt(i: number, key: Uint8Array): number {
    const k = this.keys;
    const s = this.offsets[this.lo + i] as number;
    const la = (this.offsets[this.lo + i + 1] as number) - s;
    const n = la < key.length ? la : key.length;
    for (let j = 0; j < n; j++) {
      const d = (k[s + j] as number) - (key[j] as number);
      if (d !== 0) return d;
    }
    return la - key.length;
  }

  /** Index of the first row whose key >= key. */
  lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.compareAt(mid, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

type Leaf = MrsEntry[] | PackedLeaf;

function firstKeyOf(leaf: Leaf): Uint8Array | undefined {
  return leaf instanceof PackedLeaf ? leaf.firstKey : leaf[0]?.key;
}


/**
 * A MemRowSet without row versions as plain data (typed arrays, numbers, bigints) that can be
 * posted to a worker thread (structured clone) and turned back into a read-only MemRowSet there:
 * the store's segments and the leaves in key order.
 */
export interface MemRowSetImage {
  readonly rowCount: number;
  readonly segments: readonly Segment[];
  readonly leaves: readonly LeafImage[];
}

export type LeafImage =
  | { readonly kind: 'packed'; readonly keys: Uint8Array; readonly offsets: Int32Array; readonly lo: number; readonly length: number; readonly rowBase: number; readonly ts: HybridTime | BigUint64Array }
  /** Entries never mutated: key i = keys[offsets[i] .. offsets[i+1]), store row rows[i], inserted at ts[i]. */
  | { readonly kind: 'entries'; readonly keys: Uint8Array; readonly offsets: Int32Array; readonly rows: Int32Array; readonly ts: BigUint64Array };


/**
 * The MemRowSet: rows ordered by encoded primary key in a two-level B-tree (sorted leaves of
 * at most LEAF_MAX entries under a sorted array of leaf first keys; bulk-appended runs as
 * packed leaves of up to PACKED_MAX rows without per-row objects). Comparisons use
 * compareBytes on the stored key bytes and allocate nothing.
 */
export class MemRowSet {
  private readonly store: MrsColumns;
  private leaves: Leaf[] = [[]];
  private keyChunk = new Uint8Array(KEY_CHUNK_BYTES);
  private keyChunkUsed = 0;
  private entryCount = 0;
  private bytes = 0;
  /** Row versions added after inserts (addVersion calls). */
  private versionTotal = 0;
  /** Highest op index whose effects this MemRowSet holds (0 = none). */
  maxOpIndex = 0;

  /** `columns`: the tablet schema's columns; rows given to insert are aligned with them. */
  constructor(columns: readonly ColumnSchema[], store?: MrsColumns) {
    this.store = store ?? new MrsColumns(columns);
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
      if (compareBytes(firstKeyOf(this.leaves[mid] as Leaf) as Uint8Array, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the first entry in leaf whose key >= key. */
  private static lowerBound(leaf: Leaf, key: Uint8Array): number {
    if (leaf instanceof PackedLeaf) return leaf.lowerBound(key);
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes((leaf[mid] as MrsEntry).key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Replaces packed leaf li by a leaf of MrsEntry (rows about to be mutated or inserted between). */
  private unpack(li: number): MrsEntry[] {
    const leaf = this.leaves[li] as Leaf;
    if (!(leaf instanceof PackedLeaf)) return leaf;
    const out = new Array<MrsEntry>(leaf.length);
    for (let i = 0; i < leaf.length; i++) out[i] = new MrsEntry(leaf.key(i), leaf.tsAt(i), this.store, leaf.rowBase + i);
    this.leaves[li] = out;
    return out;
  }

  /** The entry of `key` (a stored entry: callers may add versions to it). */
  find(key: Uint8Array): MrsEntry | undefined {
    const li = this.leafFor(key);
    const leaf = this.leaves[li] as Leaf;
    const i = MemRowSet.lowerBound(leaf, key);
    if (leaf instanceof PackedLeaf) {
      if (i >= leaf.length || leaf.compareAt(i, key) !== 0) return undefined;
      return this.unpack(li)[i];
    }
    const e = leaf[i];
    return e !== undefined && compareBytes(e.key, key) === 0 ? e : undefined;
  }

  /** True when `key` is greater than every key in this MemRowSet (O(1): compares with the last key). */
  isAboveMax(key: Uint8Array): boolean {
    const leaf = this.leaves[this.leaves.length - 1] as Leaf;
    if (leaf instanceof PackedLeaf) return leaf.compareAt(leaf.length - 1, key) < 0;
    const last = leaf[leaf.length - 1];
    return last === undefined || compareBytes(key, last.key) > 0;
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

  /** Adds a row for a key not present in this MemRowSet; `key` is copied. */
  insert(key: Uint8Array, ts: HybridTime, row: readonly Value[]): void {
    if (this.isAboveMax(key)) {
      // Append (loads arrive in key order): extend the open packed leaf (no per-row objects),
      // else open a new one.
      const rowIndex = this.store.append(row);
      const last = this.leaves[this.leaves.length - 1] as Leaf;
      if (last instanceof PackedLeaf && last.canPush(rowIndex)) last.push(key, ts);
      else {
        if (this.leaves.length === 1 && !(last instanceof PackedLeaf) && last.length === 0) this.leaves.pop();
        this.leaves.push(PackedLeaf.open(key, rowIndex, ts));
      }
      this.entryCount++;
      this.bytes += 64 + key.length;
      return;
    }
    const li = this.leafFor(key);
    const leaf = this.unpack(li);
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
  }

  /**
   * Appends rows [from, from+count) of a prepared batch whose keys (`keyBytes` at
   * `keyOffsets[i]..keyOffsets[i+1]`) are strictly increasing and above every key here. The
   * rows go to packed leaves: no per-row objects. Columns are canonical (column-batch.ts).
   * `owned`: the batch's buffers (columns and keys) were allocated for it and nobody else
   * writes them, so the MemRowSet keeps them instead of copying.
   */
  appendBatch(keyBytes: Uint8Array, keyOffsets: Int32Array, cols: readonly arrow.Data[], from: number, count: number, ts: HybridTime, owned = false): void {
    if (count === 0) return;
    const k0 = keyOffsets[from] as number;
    const k1 = keyOffsets[from + count] as number;
    assert(this.isAboveMax(keyBytes.subarray(k0, keyOffsets[from + 1] as number)), 'MemRowSet.appendBatch keys start above the last key');
    let own: Uint8Array;
    let offs: Int32Array;
    let lo0: number;
    if (owned) {
      own = keyBytes;
      offs = keyOffsets;
      lo0 = from;
    } else {
      // On a shared buffer, as the store's arrays: posted to the flush worker without a copy.
      own = new Uint8Array(new SharedArrayBuffer(k1 - k0));
      own.set(keyBytes.subarray(k0, k1));
      offs = new Int32Array(count + 1);
      for (let i = 1; i <= count; i++) offs[i] = (keyOffsets[from + i] as number) - k0;
      lo0 = 0;
    }
    for (let i = lo0 + 1; i < lo0 + count; i++) {
      assert(compareRuns(own, offs[i - 1] as number, offs[i] as number, offs[i] as number, offs[i + 1] as number) < 0, 'MemRowSet.appendBatch keys are strictly increasing');
    }
    const base = this.store.appendColumns(cols, from, count, owned);
    // An empty first leaf (a fresh MemRowSet) would sort before the packed ones: drop it.
    const last = this.leaves[this.leaves.length - 1] as Leaf;
    if (this.leaves.length === 1 && !(last instanceof PackedLeaf) && last.length === 0) this.leaves.pop();
    for (let lo = 0; lo < count; lo += PACKED_MAX) {
      const n = Math.min(PACKED_MAX, count - lo);
      this.leaves.push(new PackedLeaf(own, offs, lo0 + lo, n, base + lo, ts));
    }
    this.entryCount += count;
    this.bytes += 64 * count + (k1 - k0);
  }

  /** The columnar store (flush reads its arrays). */
  get columns(): MrsColumns {
    return this.store;
  }

  addVersion(entry: MrsEntry, ts: HybridTime, row: readonly Value[] | null): void {
    assert(entry.store === this.store, 'MemRowSet.addVersion of an entry of this MemRowSet');
    this.versionTotal++;
    const l = entry.later;
    const lastTs = l === undefined ? entry.ts : (l[l.length - 1] as RowVersion).ts;
    assert(lastTs <= ts, 'MemRowSet mutations arrive in timestamp order');
    if (l === undefined) entry.later = [{ ts, row }];
    else l.push({ ts, row });
    this.bytes += 24 + (row === null ? 0 : rowSizeBytes(row));
  }

  /**
   * Entries in key order, starting at the first key >= lower when given. Rows of packed leaves
   * come as transient entries (read them; mutate only entries returned by find()).
   */
  *entries(lower?: Uint8Array): Generator<MrsEntry> {
    let li = 0;
    let start = 0;
    if (lower !== undefined) {
      li = this.leafFor(lower);
      start = MemRowSet.lowerBound(this.leaves[li] as Leaf, lower);
    }
    for (; li < this.leaves.length; li++) {
      const leaf = this.leaves[li] as Leaf;
      if (leaf instanceof PackedLeaf) {
        for (let i = start; i < leaf.length; i++) yield new MrsEntry(leaf.key(i), leaf.tsAt(i), this.store, leaf.rowBase + i);
      } else {
        for (let i = start; i < leaf.length; i++) yield leaf[i] as MrsEntry;
      }
      start = 0;
    }
  }

  /** Visits every row in key order: packed leaves whole (no per-row objects), other rows as entries. */
  forEachLeaf(onEntry: (e: MrsEntry) => void, onPacked: (leaf: PackedLeaf) => void): void {
    for (const leaf of this.leaves) {
      if (leaf instanceof PackedLeaf) onPacked(leaf);
      else for (const e of leaf) onEntry(e);
    }
  }

  /** Row versions added after inserts: 0 means every row is a plain insert. */
  get versionCount(): number {
    return this.versionTotal;
  }

  /** Whether `e` is an entry of this MemRowSet. */
  owns(e: MrsEntry): boolean {
    return e.store === this.store;
  }

  /** This MemRowSet as posted data (only without row versions: see MemRowSetImage). */
  toImage(): MemRowSetImage {
    assert(this.versionTotal === 0, () => `MemRowSet image of ${this.versionTotal} row versions`);
    const leaves: LeafImage[] = [];
    for (const leaf of this.leaves) {
      if (leaf instanceof PackedLeaf) {
        leaves.push({ kind: 'packed', keys: leaf.keys, offsets: leaf.offsets, lo: leaf.lo, length: leaf.length, rowBase: leaf.rowBase, ts: leaf.ts });
        continue;
      }
      if (leaf.length === 0) continue;
      const offsets = new Int32Array(leaf.length + 1);
      for (let i = 0; i < leaf.length; i++) offsets[i + 1] = (offsets[i] as number) + (leaf[i] as MrsEntry).key.length;
      const keys = new Uint8Array(offsets[leaf.length] as number);
      const rows = new Int32Array(leaf.length);
      const ts = new BigUint64Array(leaf.length);
      for (let i = 0; i < leaf.length; i++) {
        const e = leaf[i] as MrsEntry;
        keys.set(e.key, offsets[i] as number);
        rows[i] = e.rowIndex;
        ts[i] = e.ts;
      }
      leaves.push({ kind: 'entries', keys, offsets, rows, ts });
    }
    return { rowCount: this.store.rowCount, segments: this.store.segments(), leaves };
  }

  /** A read-only MemRowSet over an image (for flushing it on another thread). */
  static fromImage(columns: readonly ColumnSchema[], image: MemRowSetImage): MemRowSet {
    const m = new MemRowSet(columns, MrsColumns.fromSegments(columns, image.segments, image.rowCount));
    const leaves: Leaf[] = [];
    let count = 0;
    for (const l of image.leaves) {
      if (l.kind === 'packed') {
        leaves.push(new PackedLeaf(l.keys, l.offsets, l.lo, l.length, l.rowBase, l.ts));
        count += l.length;
      } else {
        const out: MrsEntry[] = [];
        for (let i = 0; i < l.rows.length; i++) out.push(new MrsEntry(l.keys.subarray(l.offsets[i] as number, l.offsets[i + 1] as number), l.ts[i] as bigint, m.store, l.rows[i] as number));
        leaves.push(out);
        count += out.length;
      }
    }
    m.leaves = leaves.length === 0 ? [[]] : leaves;
    m.entryCount = count;
    return m;
  }

  minKey(): Uint8Array | undefined {
    return firstKeyOf(this.leaves[0] as Leaf);
  }
}

/** compareBytes of a[as, ae) and a[bs, be) without views. */
export function compareRuns(a: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let k = 0; k < n; k++) {
    const d = (a[as + k] as number) - (a[bs + k] as number);
    if (d !== 0) return d;
  }
  return la - lb;
}
