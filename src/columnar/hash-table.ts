import { assert } from '../common/assert.js';
import type { DataType } from '../common/types.js';
import type { TypeInfo } from './arith.js';
import type { Column } from './column.js';
import { allocValues, bitmapBytes, makeColumn, normalizeValidity } from './column.js';
import type { Selection } from './selection.js';

/**
 * Hashing and a typed-array open-addressing hash table mapping multi-column keys to dense group
 * ids (0, 1, 2, ... in first-seen order). Keys are stored columnar (fixed-width keys as Int32
 * words, strings as offsets + bytes) and compared in place, without per-row allocation.
 * NULL keys: equal to each other for grouping; `find(..., nullsMatch=false)` (joins) never
 * matches a row with a NULL key. -0 and 0 are the same key; all NaNs are one key.
 */

/** Int32 words per row of a fixed-width key type (strings: 0). */
export function keyWords(type: DataType): number {
  switch (type) {
    case 'bool': case 'int8': case 'int16': case 'int32': case 'date': return 1;
    case 'int64': case 'timestamp': case 'float': case 'double': return 2;
    case 'decimal': return 4;
    case 'string': case 'binary': return 0;
  }
}

/** One key column normalized at a selection: dense words (fixed) or row indexes into bytes. */
interface EncodedKey {
  readonly per: number;
  readonly words: Int32Array;
  readonly nulls: Uint8Array | null;
  readonly col: Column;
  readonly sel: Selection | null;
}

const f64 = new Float64Array(1);
const f64w = new Int32Array(f64.buffer);

function encodeKey(col: Column, sel: Selection | null): EncodedKey {
  const n = sel === null ? col.length : sel.length;
  const per = keyWords(col.type);
  const words = new Int32Array(n * per);
  let nulls: Uint8Array | null = null;
  const v = col.validity;
  if (v !== null) {
    nulls = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const r = sel === null ? i : (sel[i] as number);
      if (((v[r >> 3] as number) & (1 << (r & 7))) === 0) nulls[i] = 1;
    }
  }
  switch (col.type) {
    case 'int8': case 'int16': case 'int32': case 'date': {
      const a = col.values as Int32Array;
      if (sel === null) for (let i = 0; i < n; i++) words[i] = a[i] as number;
      else for (let i = 0; i < n; i++) words[i] = a[sel[i] as number] as number;
      break;
    }
    case 'bool': {
      const a = col.values as Uint8Array;
      for (let i = 0; i < n; i++) { const r = sel === null ? i : (sel[i] as number); words[i] = ((a[r >> 3] as number) >> (r & 7)) & 1; }
      break;
    }
    case 'int64': case 'timestamp': case 'decimal': {
      const b = col.values as BigInt64Array | Uint32Array;
      const a = new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
      for (let i = 0; i < n; i++) {
        const r = sel === null ? i : (sel[i] as number);
        for (let j = 0; j < per; j++) words[i * per + j] = a[r * per + j] as number;
      }
      break;
    }
    case 'float': case 'double': {
      const a = col.values as Float64Array;
      for (let i = 0; i < n; i++) {
        const x = a[sel === null ? i : (sel[i] as number)] as number;
        f64[0] = x === 0 ? 0 : x !== x ? NaN : x;
        words[i << 1] = f64w[0] as number;
        words[(i << 1) + 1] = f64w[1] as number;
      }
      break;
    }
    case 'string': case 'binary': break;
  }
  if (nulls !== null) for (let i = 0; i < n; i++) if (nulls[i] === 1) for (let j = 0; j < per; j++) words[i * per + j] = 0;
  return { per, words, nulls, col, sel };
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's 32-bit finalizer (fmix32): every input bit reaches every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashEncoded(keys: readonly EncodedKey[], n: number): Uint32Array {
  const out = new Uint32Array(n);
  const h = new Int32Array(n).fill(0x9747b28c);
  for (const k of keys) {
    if (k.per > 0) {
      const w = k.words, per = k.per;
      for (let i = 0; i < n; i++) {
        let x = h[i] as number;
        for (let j = 0; j < per; j++) x = mix(x, w[i * per + j] as number);
        h[i] = k.nulls !== null && k.nulls[i] === 1 ? mix(x, 0x5bd1e995) : x;
      }
    } else {
      const o = k.col.offsets as Int32Array, d = k.col.data as Uint8Array;
      for (let i = 0; i < n; i++) {
        if (k.nulls !== null && k.nulls[i] === 1) { h[i] = mix(h[i] as number, 0x5bd1e995); continue; }
        const r = k.sel === null ? i : (k.sel[i] as number);
        let x = 0x811c9dc5;
        const e = o[r + 1] as number;
        for (let p = o[r] as number; p < e; p++) x = Math.imul(x ^ (d[p] as number), 0x01000193);
        h[i] = mix(h[i] as number, x ^ (e - (o[r] as number)));
      }
    }
  }
  for (let i = 0; i < n; i++) out[i] = fmix32(h[i] as number);
  return out;
}

/** Hash of the key columns at each selected row (dense: out[i] for row sel[i]). Equal keys hash equal. */
export function hashColumns(cols: readonly Column[], sel: Selection | null): Uint32Array {
  const n = sel === null ? (cols[0]?.length ?? 0) : sel.length;
  return hashEncoded(cols.map((c) => encodeKey(c, sel)), n);
}

/** Growable key storage for one key column. */
class KeyStore {
  words: Int32Array;
  nulls: Uint8Array;
  offsets: Int32Array;
  data: Uint8Array;
  size = 0;
  constructor(readonly type: TypeInfo, readonly per: number, capacity: number) {
    this.words = new Int32Array(Math.max(1, capacity * per));
    this.nulls = new Uint8Array(capacity);
    this.offsets = new Int32Array(per === 0 ? capacity + 1 : 1);
    this.data = new Uint8Array(per === 0 ? 1024 : 0);
  }
  grow(capacity: number): void {
    const w = new Int32Array(Math.max(1, capacity * this.per)); w.set(this.words); this.words = w;
    const nl = new Uint8Array(capacity); nl.set(this.nulls); this.nulls = nl;
    if (this.per === 0) { const o = new Int32Array(capacity + 1); o.set(this.offsets); this.offsets = o; }
  }
  appendBytes(d: Uint8Array, s: number, e: number, g: number): void {
    const start = this.offsets[g] as number;
    const need = start + (e - s);
    if (need > this.data.length) { const nd = new Uint8Array(Math.max(need, this.data.length * 2)); nd.set(this.data); this.data = nd; }
    this.data.set(d.subarray(s, e), start);
    this.offsets[g + 1] = need;
  }
}

export class KeyTable {
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private readonly stores: KeyStore[];
  private count = 0;
  private capacity: number;
  /** Fixed-width keys only: each key flattened to W words (per column: its words + a NULL flag). */
  private readonly flatWidth: number;
  private flat: Int32Array;

  constructor(readonly types: readonly TypeInfo[], initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.capacity = Math.max(16, initialCapacity);
    this.hashes = new Int32Array(this.capacity);
    this.stores = types.map((t) => new KeyStore(t, keyWords(t.type), this.capacity));
    const fixed = types.every((t) => keyWords(t.type) > 0);
    this.flatWidth = fixed ? types.reduce((a, t) => a + keyWords(t.type) + 1, 0) : 0;
    this.flat = new Int32Array(fixed ? this.capacity * this.flatWidth : 0);
  }

  /** Row keys flattened (fixed-width tables only): n * flatWidth words. */
  private flatten(keys: readonly EncodedKey[], n: number): Int32Array {
    const W = this.flatWidth;
    const out = new Int32Array(n * W);
    let at = 0;
    for (const k of keys) {
      const per = k.per, w = k.words, nulls = k.nulls;
      if (per === 1 && nulls === null) {
        for (let i = 0, o = at; i < n; i++, o += W) out[o] = w[i] as number;
      } else {
        for (let i = 0, o = at; i < n; i++, o += W) {
          for (let j = 0; j < per; j++) out[o + j] = w[i * per + j] as number;
          out[o + per] = nulls !== null ? (nulls[i] as number) : 0;
        }
      }
      at += per + 1;
    }
    return out;
  }

  /** Signed 32-bit hashes: Int32Array reads stay small integers (Uint32 reads above 2^31 box to doubles). */
  private static hashFlat(flat: Int32Array, n: number, W: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0, o = 0; i < n; i++, o += W) {
      let h = 0x9747b28c;
      for (let j = 0; j < W; j++) h = mix(h, flat[o + j] as number);
      out[i] = fmix32(h) | 0;
    }
    return out;
  }

  /** Fixed-width fast path of findOrInsert / find: inline word comparison, no per-key dispatch. */
  private lookupFlat(keys: readonly EncodedKey[], n: number, insert: boolean, nullsMatch: boolean): Int32Array {
    const W = this.flatWidth;
    const rows = this.flatten(keys, n);
    const hashes = KeyTable.hashFlat(rows, n, W);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const ro = i * W;
      if (!nullsMatch) {
        let anyNull = false;
        for (const k of keys) if (k.nulls !== null && k.nulls[i] === 1) { anyNull = true; break; }
        if (anyNull) { out[i] = -1; continue; }
      }
      const h = hashes[i] as number;
      let p = h & this.mask;
      let found = -1;
      while (true) {
        const g = this.slots[p] as number;
        if (g === -1) break;
        if (this.hashes[g] === h) {
          const flat = this.flat;
          const go = g * W;
          let eq = true;
          for (let j = 0; j < W; j++) if (flat[go + j] !== rows[ro + j]) { eq = false; break; }
          if (eq) { found = g; break; }
        }
        p = (p + 1) & this.mask;
      }
      if (found < 0 && insert) {
        found = this.insert(keys, i, h, p);
        if (this.flat.length < this.capacity * W) { const f = new Int32Array(this.capacity * W); f.set(this.flat); this.flat = f; }
        this.flat.set(rows.subarray(ro, ro + W), found * W);
      }
      out[i] = found;
    }
    return out;
  }

  get groupCount(): number { return this.count; }

  private checkTypes(cols: readonly Column[]): void {
    assert(cols.length === this.types.length, `KeyTable: ${cols.length} key columns, expected ${this.types.length}`);
    cols.forEach((c, i) => {
      const t = this.types[i] as TypeInfo;
      assert(c.type === t.type && (t.type !== 'decimal' || c.scale === t.scale),
        `KeyTable key ${i}: expected ${t.type}${t.type === 'decimal' ? `(scale ${t.scale})` : ''}, found ${c.type} (cast keys to a common type)`);
    });
  }

  private growGroups(): void {
    const cap = this.capacity * 2;
    const h = new Int32Array(cap); h.set(this.hashes); this.hashes = h;
    for (const s of this.stores) s.grow(cap);
    this.capacity = cap;
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    for (let g = 0; g < this.count; g++) {
      let p = (this.hashes[g] as number) & mask;
      while (slots[p] !== -1) p = (p + 1) & mask;
      slots[p] = g;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private equals(g: number, keys: readonly EncodedKey[], i: number): boolean {
    for (let c = 0; c < keys.length; c++) {
      const k = keys[c] as EncodedKey;
      const s = this.stores[c] as KeyStore;
      const rowNull = k.nulls !== null && k.nulls[i] === 1;
      if (rowNull !== (s.nulls[g] === 1)) return false;
      if (rowNull) continue;
      if (k.per > 0) {
        const per = k.per, base = g * per, rb = i * per;
        for (let j = 0; j < per; j++) if (s.words[base + j] !== k.words[rb + j]) return false;
      } else {
        const o = k.col.offsets as Int32Array, d = k.col.data as Uint8Array;
        const r = k.sel === null ? i : (k.sel[i] as number);
        const rs = o[r] as number, re = o[r + 1] as number;
        const gs = s.offsets[g] as number, ge = s.offsets[g + 1] as number;
        if (re - rs !== ge - gs) return false;
        for (let p = 0; p < re - rs; p++) if (d[rs + p] !== s.data[gs + p]) return false;
      }
    }
    return true;
  }

  private insert(keys: readonly EncodedKey[], i: number, hash: number, slot: number): number {
    if (this.count === this.capacity) this.growGroups();
    const g = this.count++;
    this.hashes[g] = hash;
    for (let c = 0; c < keys.length; c++) {
      const k = keys[c] as EncodedKey;
      const s = this.stores[c] as KeyStore;
      const isNull = k.nulls !== null && k.nulls[i] === 1;
      s.nulls[g] = isNull ? 1 : 0;
      if (k.per > 0) {
        for (let j = 0; j < k.per; j++) s.words[g * k.per + j] = k.words[i * k.per + j] as number;
      } else {
        const o = k.col.offsets as Int32Array;
        const r = k.sel === null ? i : (k.sel[i] as number);
        if (isNull) s.offsets[g + 1] = s.offsets[g] as number;
        else s.appendBytes(k.col.data as Uint8Array, o[r] as number, o[r + 1] as number, g);
      }
    }
    this.slots[slot] = g;
    if (this.count * 2 > this.slots.length) this.rehash();
    return g;
  }

  /** Group id of each selected row (dense), inserting unseen keys. */
  findOrInsert(cols: readonly Column[], sel: Selection | null): Int32Array {
    this.checkTypes(cols);
    const n = sel === null ? (cols[0]?.length ?? 0) : sel.length;
    const keys = cols.map((c) => encodeKey(c, sel));
    if (this.flatWidth > 0) return this.lookupFlat(keys, n, true, true);
    const hashes = new Int32Array(hashEncoded(keys, n).buffer);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const h = hashes[i] as number;
      let p = h & this.mask;
      while (true) {
        const g = this.slots[p] as number;
        if (g === -1) { out[i] = this.insert(keys, i, h, p); break; }
        if (this.hashes[g] === h && this.equals(g, keys, i)) { out[i] = g; break; }
        p = (p + 1) & this.mask;
      }
    }
    return out;
  }

  /** Group id of each selected row, -1 when absent (nullsMatch=false: any NULL key -> -1). */
  find(cols: readonly Column[], sel: Selection | null, nullsMatch = true): Int32Array {
    this.checkTypes(cols);
    const n = sel === null ? (cols[0]?.length ?? 0) : sel.length;
    const keys = cols.map((c) => encodeKey(c, sel));
    if (this.flatWidth > 0) return this.lookupFlat(keys, n, false, nullsMatch);
    const hashes = new Int32Array(hashEncoded(keys, n).buffer);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (!nullsMatch) {
        let anyNull = false;
        for (const k of keys) if (k.nulls !== null && k.nulls[i] === 1) { anyNull = true; break; }
        if (anyNull) { out[i] = -1; continue; }
      }
      const h = hashes[i] as number;
      let p = h & this.mask;
      out[i] = -1;
      while (true) {
        const g = this.slots[p] as number;
        if (g === -1) break;
        if (this.hashes[g] === h && this.equals(g, keys, i)) { out[i] = g; break; }
        p = (p + 1) & this.mask;
      }
    }
    return out;
  }

  /** Whether group g has a NULL in any key column. */
  groupHasNull(g: number): boolean {
    for (const s of this.stores) if (s.nulls[g] === 1) return true;
    return false;
  }

  /** The distinct keys as columns, row g = group g. */
  keyColumns(): Column[] {
    const n = this.count;
    return this.stores.map((s) => {
      const t = s.type;
      let validity: Uint8Array | null = new Uint8Array(bitmapBytes(n));
      for (let g = 0; g < n; g++) if (s.nulls[g] === 0) validity[g >> 3] = (validity[g >> 3] as number) | (1 << (g & 7));
      validity = normalizeValidity(validity, n);
      if (s.per === 0) {
        const offsets = s.offsets.slice(0, n + 1);
        return makeColumn(t.type, n, null, validity, 0, 0, offsets, s.data.slice(0, offsets[n] as number));
      }
      const vals = allocValues(t.type, n);
      switch (t.type) {
        case 'bool': for (let g = 0; g < n; g++) if (s.words[g] === 1) (vals as Uint8Array)[g >> 3] = ((vals as Uint8Array)[g >> 3] as number) | (1 << (g & 7)); break;
        case 'int8': case 'int16': case 'int32': case 'date': for (let g = 0; g < n; g++) (vals as Int32Array)[g] = s.words[g] as number; break;
        case 'float': {
          for (let g = 0; g < n; g++) { f64w[0] = s.words[g << 1] as number; f64w[1] = s.words[(g << 1) + 1] as number; (vals as Float32Array)[g] = f64[0] as number; }
          break;
        }
        default: new Int32Array(vals.buffer).set(s.words.subarray(0, n * s.per));
      }
      return makeColumn(t.type, n, vals, validity, t.precision, t.scale);
    });
  }
}
