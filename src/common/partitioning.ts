import { assert } from './assert.js';
import { SaigaError } from './errors.js';
import { compareBytes, encodeKey, encodeKeyView } from './key-encoding.js';
import type { HashLevel, PartitionSchema, RangeBounds } from './partition.js';
import type { ColumnPredicate } from './scan-spec.js';
import type { TabletInfo } from './storage-api.js';
import { columnIndex, type ColumnSchema, type Row, type Schema, type Value } from './types.js';

/**
 * Partitioning of rows into tablets (Kudu's scheme): one bucket per hash level, then one range
 * partition; the combination names a tablet.
 *
 * Hash: bucket = murmur3_x86_32(memcomparable key encoding of the level's columns, in the level's
 * column order (common/key-encoding.ts), seed = level.seed) mod buckets. The encoding does not
 * depend on the JS representation (an int64 given as number or bigint hashes the same), so the
 * bucket of a row is stable across processes and versions.
 *
 * Range: bounds are rows of the range columns, compared through their memcomparable encoding
 * (UTF-8 byte order for strings); lower inclusive, upper exclusive, undefined = unbounded.
 */

/** MurmurHash3 x86 32-bit. */
export function murmur3_32(bytes: Uint8Array, seed: number): number {
  return murmur3_32At(bytes, 0, bytes.length, seed);
}

/** MurmurHash3 x86 32-bit of bytes[start, start + n) (no subarray view per call). */
export function murmur3_32At(bytes: Uint8Array, start: number, n: number, seed: number): number {
  let h = seed >>> 0;
  const blocks = n & ~3;
  for (let j = 0; j < blocks; j += 4) {
    const i = start + j;
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[start + blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[start + blocks + 1] as number) << 8;
    k ^= bytes[start + blocks] as number;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bytes of a key column's memcomparable encoding, for the types whose encoding has a fixed width. */
const FIXED_KEY_WIDTH: Partial<Record<ColumnSchema['type'], number>> = {
  bool: 1, int8: 1, int16: 2, int32: 4, date: 4, int64: 8, timestamp: 8, decimal: 16,
};

const INT_RANGES: Partial<Record<ColumnSchema['type'], readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  date: [-2147483648, 2147483647],
};

/**
 * The value in the representation key encoding expects for `col`, or undefined when it is not
 * a valid non-null value of that type (a row error on write; no pruning for a predicate).
 */
export function normalizeKeyValue(col: ColumnSchema, v: Value | undefined): Value | undefined {
  if (v === null || v === undefined) return undefined;
  switch (col.type) {
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
    case 'int8': case 'int16': case 'int32': case 'date': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      const r = INT_RANGES[col.type] as readonly [number, number];
      return typeof n === 'number' && Number.isInteger(n) && n >= r[0] && n <= r[1] ? n : undefined;
    }
    case 'int64': case 'timestamp': {
      if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
    }
    case 'float': case 'double':
      return typeof v === 'number' && !Number.isNaN(v) ? v : undefined;
    case 'decimal':
      if (typeof v === 'bigint') return v;
      return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'binary':
      return v instanceof Uint8Array ? v : undefined;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function subSchema(schema: Schema, names: readonly string[]): { schema: Schema; positions: number[] } {
  const positions = names.map((n) => {
    const i = columnIndex(schema, n);
    if (i < 0) throw new SaigaError('UnknownColumn', `partition column ${n} is not a column of the table`);
    if (i >= schema.keyColumnCount) throw new SaigaError('InvalidArgument', `partition column ${n} must be a primary-key column`);
    return i;
  });
  return { schema: { columns: positions.map((i) => schema.columns[i] as ColumnSchema), keyColumnCount: positions.length }, positions };
}

/** Validates a partition schema against a table schema (columns exist, are key columns, bucket counts sane). */
export function validatePartitionSchema(schema: Schema, ps: PartitionSchema): void {
  const seen = new Set<string>();
  for (const level of ps.hash) {
    if (level.columns.length === 0) throw new SaigaError('InvalidArgument', 'a hash level needs at least one column');
    if (!Number.isInteger(level.buckets) || level.buckets < 2 || level.buckets > 1024) {
      throw new SaigaError('InvalidArgument', `hash bucket count must be an integer in [2, 1024], got ${level.buckets}`);
    }
    subSchema(schema, level.columns);
    for (const c of level.columns) {
      const lc = c.toLowerCase();
      if (seen.has(lc)) throw new SaigaError('InvalidArgument', `column ${c} appears in more than one hash level`);
      seen.add(lc);
    }
  }
  subSchema(schema, ps.rangeColumns);
}

export type RouteResult = { readonly ok: true; readonly tabletId: string } | { readonly ok: false; readonly code: 'NotFound' | 'InvalidArgument'; readonly message: string };

interface Range {
  readonly bounds: RangeBounds;
  readonly lower: Uint8Array | undefined;
  readonly upper: Uint8Array | undefined;
}

/** Row -> tablet routing and predicate -> tablets pruning for one version of a table. */
export class PartitionRouter {
  private readonly levels: { level: HashLevel; schema: Schema; positions: number[] }[];
  private readonly rangeSchema: Schema;
  private readonly rangePositions: number[];
  /** Distinct ranges sorted by lower bound. */
  private readonly ranges: Range[];
  private readonly tabletRangeKeys: string[] = [];
  /**
   * route()'s lookup: per distinct range (the objects in `ranges`), the tablet of each bucket
   * combination by its mixed-radix index (level 0 most significant), so routing a row builds no
   * string (a hex range key and a bucket list per row were ~0.5 KB of garbage per insert).
   */
  private readonly byRangeCombo = new Map<Range, (TabletInfo | undefined)[]>();
  /** Per hash level, a reused array for the level's normalized values (hashed at once). */
  private readonly levelScratch: Value[][];
  private readonly rangeScratch: Value[];

  constructor(
    private readonly schema: Schema,
    private readonly ps: PartitionSchema,
    private readonly tablets: readonly TabletInfo[],
  ) {
    this.levels = ps.hash.map((level) => ({ level, ...subSchema(schema, level.columns) }));
    const r = subSchema(schema, ps.rangeColumns);
    this.rangeSchema = r.schema;
    this.rangePositions = r.positions;
    const seen = new Map<string, Range>();
    for (const t of tablets) {
      const range = this.encodeRange(t.range);
      const rk = rangeKey(range);
      if (!seen.has(rk)) seen.set(rk, range);
      this.tabletRangeKeys.push(rk);
    }
    this.ranges = [...seen.values()].sort((a, b) => compareLower(a.lower, b.lower));
    this.levelScratch = this.levels.map((l) => new Array<Value>(l.positions.length));
    this.rangeScratch = new Array<Value>(this.rangePositions.length);
    for (let ti = 0; ti < tablets.length; ti++) {
      const t = tablets[ti] as TabletInfo;
      const idx = this.comboIndex(t.hashBuckets);
      if (idx === undefined) continue; // bucket list that does not fit the levels: route() finds no tablet for it, as before
      const range = seen.get(this.tabletRangeKeys[ti] as string) as Range;
      let combos = this.byRangeCombo.get(range);
      if (combos === undefined) this.byRangeCombo.set(range, (combos = []));
      combos[idx] = t; // a combination named twice: the last tablet wins (as the string-keyed map did)
    }
  }

  /** Mixed-radix index of a bucket combination; undefined when it does not fit the levels. */
  private comboIndex(buckets: readonly number[]): number | undefined {
    if (buckets.length !== this.levels.length) return undefined;
    let idx = 0;
    for (let i = 0; i < buckets.length; i++) {
      const n = (this.levels[i] as { level: HashLevel }).level.buckets;
      const b = buckets[i] as number;
      if (!Number.isInteger(b) || b < 0 || b >= n) return undefined;
      idx = idx * n + b;
    }
    return idx;
  }

  encodeRange(bounds: RangeBounds): Range {
    return { bounds, lower: this.encodeBound(bounds.lower), upper: this.encodeBound(bounds.upper) };
  }

  private encodeBound(row: Row | undefined): Uint8Array | undefined {
    if (row === undefined) return undefined;
    if (row.length !== this.rangePositions.length) {
      throw new SaigaError('InvalidArgument', `a range bound needs ${this.rangePositions.length} values (${this.ps.rangeColumns.join(', ')}), got ${row.length}`);
    }
    const vals = row.map((v, i) => {
      const col = this.rangeSchema.columns[i] as ColumnSchema;
      const n = normalizeKeyValue(col, v);
      if (n === undefined) throw new SaigaError('InvalidArgument', `range bound value ${String(v)} is not a valid ${col.type} for column ${col.name}`);
      return n;
    });
    return encodeKey(this.rangeSchema, vals);
  }

  /** The distinct range partitions, in order. */
  rangeBounds(): RangeBounds[] {
    return this.ranges.map((r) => r.bounds);
  }

  /** Hash bucket of `row` (aligned with the table schema) at one level; undefined if a value is invalid. */
  hashBucket(levelIndex: number, row: Row): number | undefined {
    const l = this.levels[levelIndex];
    assert(l !== undefined, `hash level ${levelIndex} exists`);
    const vals = this.levelScratch[levelIndex] as Value[];
    for (let i = 0; i < l.positions.length; i++) {
      const v = normalizeKeyValue(l.schema.columns[i] as ColumnSchema, row[l.positions[i] as number]);
      if (v === undefined) return undefined;
      vals[i] = v;
    }
    // The view is hashed before anything else encodes a key.
    return murmur3_32(encodeKeyView(l.schema, vals), l.level.seed) % l.level.buckets;
  }

  /** Routes a row aligned with the table schema. */
  route(row: Row): RouteResult {
    let combo = 0;
    for (let i = 0; i < this.levels.length; i++) {
      const b = this.hashBucket(i, row);
      if (b === undefined) return { ok: false, code: 'InvalidArgument', message: `a hash partition column of the row is missing or not of its type` };
      combo = combo * (this.levels[i] as { level: HashLevel }).level.buckets + b;
    }
    let range: Range | undefined;
    if (this.rangePositions.length === 0) {
      range = this.ranges[0];
    } else {
      const vals = this.rangeScratch;
      for (let i = 0; i < this.rangePositions.length; i++) {
        const col = this.rangeSchema.columns[i] as ColumnSchema;
        const v = normalizeKeyValue(col, row[this.rangePositions[i] as number]);
        if (v === undefined) return { ok: false, code: 'InvalidArgument', message: `range partition column ${col.name} is missing or not a ${col.type}` };
        vals[i] = v;
      }
      // findRange only compares the view.
      range = this.findRange(encodeKeyView(this.rangeSchema, vals));
    }
    if (range === undefined) return { ok: false, code: 'NotFound', message: 'no range partition covers the row' };
    const t = this.byRangeCombo.get(range)?.[combo];
    if (t === undefined) {
      const buckets: number[] = [];
      for (let i = 0; i < this.levels.length; i++) buckets.push(this.hashBucket(i, row) as number);
      return { ok: false, code: 'NotFound', message: `no tablet for hash buckets [${buckets.join(', ')}] in the row's range partition` };
    }
    return { ok: true, tabletId: t.tabletId };
  }

  /**
   * Batch fast path for tables hashed on int32/date columns only, with one range partition:
   * `columnValues(pos)` gives the values of table column `pos` (numbers, e.g. a Float64Array of
   * canonical values). Fills out[i] with an index into the returned tablet ids, or -1 when no
   * tablet holds that bucket combination. Returns undefined (caller routes row by row) when the
   * partitioning does not qualify or a value is not an int32; same buckets as route().
   */
  routeInt32Batch(columnValues: (pos: number) => ArrayLike<number> | undefined, n: number, out: Int32Array): string[] | undefined {
    if (this.rangePositions.length !== 0 || this.ranges.length !== 1 || this.levels.length === 0) return undefined;
    const rk = rangeKey(this.ranges[0] as Range);
    const cols: ArrayLike<number>[][] = [];
    let combos = 1;
    for (const l of this.levels) {
      const lc: ArrayLike<number>[] = [];
      for (let i = 0; i < l.positions.length; i++) {
        const t = (l.schema.columns[i] as ColumnSchema).type;
        if (t !== 'int32' && t !== 'date') return undefined;
        const v = columnValues(l.positions[i] as number);
        if (v === undefined || v.length < n) return undefined;
        lc.push(v);
      }
      cols.push(lc);
      combos *= l.level.buckets;
    }
    if (combos > 1 << 20) return undefined;
    const ids: string[] = [];
    const slotOf = new Int32Array(combos).fill(-1);
    for (let ti = 0; ti < this.tablets.length; ti++) {
      if (this.tabletRangeKeys[ti] !== rk) continue;
      const t = this.tablets[ti] as TabletInfo;
      let idx = 0;
      for (let li = 0; li < this.levels.length; li++) idx = idx * (this.levels[li] as { level: HashLevel }).level.buckets + (t.hashBuckets[li] as number);
      if ((slotOf[idx] as number) < 0) { slotOf[idx] = ids.length; ids.push(t.tabletId); }
    }
    const views = this.levels.map((l) => new Uint8Array(4 * l.positions.length));
    for (let i = 0; i < n; i++) {
      let idx = 0;
      for (let li = 0; li < cols.length; li++) {
        const lc = cols[li] as ArrayLike<number>[];
        const buf = views[li] as Uint8Array;
        for (let c = 0; c < lc.length; c++) {
          const v = (lc[c] as ArrayLike<number>)[i] as number;
          if ((v | 0) !== v) return undefined;
          const u = (v ^ 0x80000000) >>> 0;
          buf[4 * c] = u >>> 24;
          buf[4 * c + 1] = (u >>> 16) & 0xff;
          buf[4 * c + 2] = (u >>> 8) & 0xff;
          buf[4 * c + 3] = u & 0xff;
        }
        const level = (this.levels[li] as { level: HashLevel }).level;
        idx = idx * level.buckets + (murmur3_32(buf, level.seed) % level.buckets);
      }
      out[i] = slotOf[idx] as number;
    }
    return ids;
  }

  /**
   * Batch fast path from encoded primary keys (key r = keyBytes[keyOffsets[r], keyOffsets[r+1]),
   * common/key-encoding.ts): qualifies with one range partition when every hash column is a
   * fixed-width key column and so is every key column before it. A fixed-width column's encoding
   * does not depend on its position, so a level's hash input is the concatenation of its columns'
   * byte ranges in each key: no values are decoded. Fills out[r] with an index into the returned
   * tablet ids (-1: no tablet holds that bucket combination); undefined when not applicable.
   * Same buckets as route().
   */
  routeKeyBytesBatch(keyBytes: Uint8Array, keyOffsets: Int32Array, n: number, out: Int32Array): string[] | undefined {
    if (this.rangePositions.length !== 0 || this.ranges.length !== 1 || this.levels.length === 0) return undefined;
    // Byte offset of each key column within a key, while the columns before it are fixed-width.
    const at: number[] = [];
    let width = 0;
    for (let c = 0; c < this.schema.keyColumnCount; c++) {
      const w = FIXED_KEY_WIDTH[(this.schema.columns[c] as ColumnSchema).type];
      at.push(w === undefined ? -1 : width);
      if (w === undefined) break;
      width += w;
    }
    const spans = this.levels.map((l) => l.positions.map((p) => {
      const w = FIXED_KEY_WIDTH[(this.schema.columns[p] as ColumnSchema).type];
      const o = at[p];
      return w === undefined || o === undefined || o < 0 ? undefined : { at: o, width: w };
    }));
    if (spans.some((s) => s.some((x) => x === undefined))) return undefined;
    let combos = 1;
    for (const l of this.levels) combos *= l.level.buckets;
    if (combos > 1 << 20) return undefined;
    const { ids, slotOf } = this.slotTable(combos);
    const need = Math.max(...spans.map((s) => Math.max(...s.map((x) => (x as { at: number; width: number }).at + (x as { at: number; width: number }).width))));
    // A level that is one column, or a contiguous run of columns, hashes straight from the key bytes.
    const plan = spans.map((s, li) => {
      const list = s as { at: number; width: number }[];
      let contiguous = true;
      for (let k = 1; k < list.length; k++) if ((list[k] as { at: number }).at !== (list[k - 1] as { at: number; width: number }).at + (list[k - 1] as { width: number }).width) contiguous = false;
      const total = list.reduce((a, x) => a + x.width, 0);
      return { list, contiguous, total, level: (this.levels[li] as { level: HashLevel }).level, buf: new Uint8Array(total) };
    });
    let shortest = Infinity;
    for (let r = 0; r < n; r++) shortest = Math.min(shortest, (keyOffsets[r + 1] as number) - (keyOffsets[r] as number));
    assert(n === 0 || shortest >= need, () => `every key holds the ${need} bytes of its fixed-width prefix, the shortest has ${shortest}`);
    // One level over one contiguous byte range (the common case): a tight loop.
    const one = plan.length === 1 && (plan[0] as { contiguous: boolean }).contiguous ? plan[0] : undefined;
    if (one !== undefined) {
      const at0 = (one.list[0] as { at: number }).at;
      const { total } = one;
      const { seed, buckets } = one.level;
      for (let r = 0; r < n; r++) out[r] = slotOf[murmur3_32At(keyBytes, (keyOffsets[r] as number) + at0, total, seed) % buckets] as number;
      return ids;
    }
    for (let r = 0; r < n; r++) {
      const k0 = keyOffsets[r] as number;
      let idx = 0;
      for (let li = 0; li < plan.length; li++) {
        const pl = plan[li] as (typeof plan)[number];
        let h: number;
        if (pl.contiguous) h = murmur3_32At(keyBytes, k0 + (pl.list[0] as { at: number }).at, pl.total, pl.level.seed);
        else {
          let o = 0;
          for (let xi = 0; xi < pl.list.length; xi++) {
            const x = pl.list[xi] as { at: number; width: number };
            for (let b = 0; b < x.width; b++) pl.buf[o + b] = keyBytes[k0 + x.at + b] as number;
            o += x.width;
          }
          h = murmur3_32At(pl.buf, 0, pl.total, pl.level.seed);
        }
        idx = idx * pl.level.buckets + (h % pl.level.buckets);
      }
      out[r] = slotOf[idx] as number;
    }
    return ids;
  }

  /** Tablet ids of the single range partition and, per bucket combination (mixed radix), the index of its tablet id (-1: none). */
  private slotTable(combos: number): { ids: string[]; slotOf: Int32Array } {
    const rk = rangeKey(this.ranges[0] as Range);
    const ids: string[] = [];
    const slotOf = new Int32Array(combos).fill(-1);
    for (let ti = 0; ti < this.tablets.length; ti++) {
      if (this.tabletRangeKeys[ti] !== rk) continue;
      const t = this.tablets[ti] as TabletInfo;
      let idx = 0;
      for (let li = 0; li < this.levels.length; li++) idx = idx * (this.levels[li] as { level: HashLevel }).level.buckets + (t.hashBuckets[li] as number);
      if ((slotOf[idx] as number) < 0) { slotOf[idx] = ids.length; ids.push(t.tabletId); }
    }
    return { ids, slotOf };
  }

  /** Routes a full primary key (values of the key columns in order). */
  routeKey(key: readonly Value[]): RouteResult {
    const row: (Value | undefined)[] = new Array<Value | undefined>(this.schema.columns.length).fill(undefined);
    for (let i = 0; i < this.schema.keyColumnCount; i++) row[i] = key[i];
    return this.route(row);
  }

  private findRange(k: Uint8Array): Range | undefined {
    // Last range whose lower bound <= k.
    let lo = 0;
    let hi = this.ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid] as Range;
      if (r.lower === undefined || compareBytes(r.lower, k) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const r = this.ranges[found];
    if (r === undefined) return undefined;
    return r.upper === undefined || compareBytes(k, r.upper) < 0 ? r : undefined;
  }

  /** Tablets that may hold a row matching every predicate; never drops one that does. */
  prune(predicates: readonly ColumnPredicate[]): TabletInfo[] {
    const bucketSets = this.levels.map((l) => this.bucketsFor(l, predicates));
    const rangeOk = new Set<string>();
    for (const r of this.ranges) if (this.rangeMayMatch(r, predicates)) rangeOk.add(rangeKey(r));
    return this.tablets.filter((t, ti) => {
      for (let i = 0; i < bucketSets.length; i++) {
        const s = bucketSets[i];
        if (s !== undefined && !s.has(t.hashBuckets[i] as number)) return false;
      }
      return rangeOk.has(this.tabletRangeKeys[ti] as string);
    });
  }

  /** Equality values per column, or undefined when the column is not restricted to a finite set. */
  private equalities(col: ColumnSchema, predicates: readonly ColumnPredicate[]): Value[] | undefined {
    let set: Value[] | undefined;
    for (const p of predicates) {
      if (p.column.toLowerCase() !== col.name.toLowerCase()) continue;
      let vals: readonly Value[] | undefined;
      if (p.kind === 'compare' && p.op === '=') vals = [p.value];
      else if (p.kind === 'in') vals = p.values;
      if (vals === undefined) continue;
      const norm: Value[] = [];
      let usable = true;
      for (const v of vals) {
        if (v === null) continue; // = NULL matches nothing
        const n = normalizeKeyValue(col, v);
        if (n === undefined) {
          usable = false;
          break;
        }
        norm.push(n);
      }
      if (!usable) continue;
      if (set === undefined) set = norm;
      else {
        const enc = new Set(norm.map((v) => keyString(col, v)));
        set = set.filter((v) => enc.has(keyString(col, v)));
      }
    }
    return set;
  }

  private bucketsFor(l: { level: HashLevel; schema: Schema; positions: number[] }, predicates: readonly ColumnPredicate[]): Set<number> | undefined {
    const perColumn: Value[][] = [];
    let combos = 1;
    for (const col of l.schema.columns) {
      const vals = this.equalities(col, predicates);
      if (vals === undefined) return undefined;
      perColumn.push(vals);
      combos *= vals.length;
      if (combos > PRUNE_COMBINATIONS_MAX) return undefined;
    }
    const out = new Set<number>();
    const cur: Value[] = [];
    const walk = (i: number): void => {
      if (i === perColumn.length) {
        out.add(murmur3_32(encodeKey(l.schema, cur), l.level.seed) % l.level.buckets);
        return;
      }
      for (const v of perColumn[i] as Value[]) {
        cur[i] = v;
        walk(i + 1);
      }
    };
    walk(0);
    return out;
  }

  private rangeMayMatch(r: Range, predicates: readonly ColumnPredicate[]): boolean {
    const cols = this.rangeSchema.columns;
    if (cols.length === 0) return true;
    // All range columns pinned to finite sets: test each point.
    const perColumn: Value[][] = [];
    let combos = 1;
    for (const col of cols) {
      const vals = this.equalities(col, predicates);
      if (vals === undefined) break;
      perColumn.push(vals);
      combos *= vals.length;
    }
    if (perColumn.length === cols.length && combos <= PRUNE_COMBINATIONS_MAX) {
      let any = false;
      const cur: Value[] = [];
      const walk = (i: number): void => {
        if (any) return;
        if (i === perColumn.length) {
          const k = encodeKey(this.rangeSchema, cur);
          if ((r.lower === undefined || compareBytes(r.lower, k) <= 0) && (r.upper === undefined || compareBytes(k, r.upper) < 0)) any = true;
          return;
        }
        for (const v of perColumn[i] as Value[]) {
          cur[i] = v;
          walk(i + 1);
        }
      };
      walk(0);
      return any;
    }
    // Otherwise: an interval on the first range column against the range's first-column span.
    const first = cols[0] as ColumnSchema;
    const one: Schema = { columns: [first], keyColumnCount: 1 };
    const enc = (v: Value): Uint8Array => encodeKey(one, [v]);
    let lo: { k: Uint8Array; inclusive: boolean } | undefined;
    let hi: { k: Uint8Array; inclusive: boolean } | undefined;
    const tightenLo = (k: Uint8Array, inclusive: boolean): void => {
      const c = lo === undefined ? 1 : compareBytes(k, lo.k);
      if (c > 0 || (c === 0 && lo !== undefined && lo.inclusive && !inclusive)) lo = { k, inclusive };
    };
    const tightenHi = (k: Uint8Array, inclusive: boolean): void => {
      const c = hi === undefined ? -1 : compareBytes(k, hi.k);
      if (c < 0 || (c === 0 && hi !== undefined && hi.inclusive && !inclusive)) hi = { k, inclusive };
    };
    const eq = this.equalities(first, predicates);
    if (eq !== undefined) {
      if (eq.length === 0) return false;
      const ks = eq.map(enc).sort(compareBytes);
      tightenLo(ks[0] as Uint8Array, true);
      tightenHi(ks[ks.length - 1] as Uint8Array, true);
    }
    for (const p of predicates) {
      if (p.kind !== 'compare' || p.op === '=' || p.column.toLowerCase() !== first.name.toLowerCase()) continue;
      const b = compareBound(first, p.op, p.value);
      if (b === undefined) continue;
      if (b.side === 'lo') tightenLo(enc(b.value), b.inclusive);
      else tightenHi(enc(b.value), b.inclusive);
    }
    // The range's span of first-column values: [L0, U0), or [L0, U0] with more range columns.
    const L0 = r.bounds.lower === undefined ? undefined : enc(normalizeKeyValue(first, r.bounds.lower[0]) as Value);
    const U0 = r.bounds.upper === undefined ? undefined : enc(normalizeKeyValue(first, r.bounds.upper[0]) as Value);
    const upperInclusive = cols.length > 1;
    if (hi !== undefined && L0 !== undefined) {
      const c = compareBytes(hi.k, L0);
      if (c < 0 || (c === 0 && !hi.inclusive)) return false;
    }
    if (lo !== undefined && U0 !== undefined) {
      const c = compareBytes(lo.k, U0);
      if (c > 0 || (c === 0 && !(lo.inclusive && upperInclusive))) return false;
    }
    if (lo !== undefined && hi !== undefined) {
      const c = compareBytes(lo.k, hi.k);
      if (c > 0 || (c === 0 && !(lo.inclusive && hi.inclusive))) return false;
    }
    return true;
  }
}

export const PRUNE_COMBINATIONS_MAX = 4096;

/**
 * Turns `col op value` into a bound on the column that no matching row violates, adjusting for
 * values between integers (`x < 3.5` -> `x <= 3`); undefined when it gives no usable bound.
 */
function compareBound(col: ColumnSchema, op: '<' | '<=' | '>' | '>=', value: Value): { side: 'lo' | 'hi'; value: Value; inclusive: boolean } | undefined {
  if (value === null) return undefined;
  const side = op === '<' || op === '<=' ? 'hi' : 'lo';
  let inclusive = op === '<=' || op === '>=';
  const isInt = col.type in INT_RANGES || col.type === 'int64' || col.type === 'timestamp';
  let v: Value | undefined = value;
  if (isInt && typeof value === 'number' && !Number.isInteger(value)) {
    if (!Number.isFinite(value)) return undefined;
    v = side === 'hi' ? Math.floor(value) : Math.ceil(value);
    inclusive = true;
  }
  const n = normalizeKeyValue(col, v);
  if (n === undefined) return undefined;
  return { side, value: n, inclusive };
}

function keyString(col: ColumnSchema, v: Value): string {
  return Buffer.from(encodeKey({ columns: [col], keyColumnCount: 1 }, [v])).toString('latin1');
}

function rangeKey(r: Range): string {
  const a = r.lower === undefined ? '-' : Buffer.from(r.lower).toString('hex');
  const b = r.upper === undefined ? '+' : Buffer.from(r.upper).toString('hex');
  return `${a}:${b}`;
}

function compareLower(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return compareBytes(a, b);
}

/** Whether two ranges (encoded through the same router) share at least one key. */
export function rangesOverlap(a: RangeBounds, b: RangeBounds, router: PartitionRouter): boolean {
  const x = router.encodeRange(a);
  const y = router.encodeRange(b);
  const xLoBelowYHi = x.lower === undefined || y.upper === undefined || compareBytes(x.lower, y.upper) < 0;
  const yLoBelowXHi = y.lower === undefined || x.upper === undefined || compareBytes(y.lower, x.upper) < 0;
  return xLoBelowYHi && yLoBelowXHi;
}

export function rangesEqual(a: RangeBounds, b: RangeBounds, router: PartitionRouter): boolean {
  return rangeKey(router.encodeRange(a)) === rangeKey(router.encodeRange(b));
}

/** Checks a range is non-empty (lower < upper). */
export function validateRange(r: RangeBounds, router: PartitionRouter): void {
  const e = router.encodeRange(r);
  if (e.lower !== undefined && e.upper !== undefined && compareBytes(e.lower, e.upper) >= 0) {
    throw new SaigaError('InvalidArgument', 'a range partition needs lower bound < upper bound');
  }
}

/** All bucket combinations of a partition schema, in order. */
export function bucketCombinations(ps: PartitionSchema): number[][] {
  let out: number[][] = [[]];
  for (const level of ps.hash) {
    const next: number[][] = [];
    for (const prefix of out) for (let b = 0; b < level.buckets; b++) next.push([...prefix, b]);
    out = next;
  }
  return out;
}
