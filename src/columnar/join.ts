import { assert } from '../common/assert.js';
import type { TypeInfo } from './arith.js';
import type { Column } from './column.js';
import { bitmapBytes, makeColumn } from './column.js';
import { KeyTable } from './hash-table.js';
import type { Selection } from './selection.js';
import { nullRowsOf, selectionDifference, selectionOrAll } from './selection.js';

/**
 * Hash join on equality of one or more key columns (cast both sides to the same key types
 * first). The build side is hashed into a KeyTable with per-key row chains (build order kept);
 * probing produces (probeRow, buildRow) pairs, -1 standing for the NULL-extended side.
 * NULL keys never match.
 */
export type JoinKind = 'inner' | 'left' | 'right' | 'full' | 'semi' | 'anti' | 'mark';

export interface JoinResult {
  /** Probe-side row index per output row (-1: NULL-extended probe side, right/full joins). */
  readonly probeRows: Int32Array;
  /** Build-side row index per output row (-1: no match / not applicable). */
  readonly buildRows: Int32Array;
  /** mark joins: one bool per probe row (dense over the probe selection): TRUE match, FALSE none, NULL unknown (IN semantics). */
  readonly mark?: Column;
}

export interface ProbeOptions {
  /**
   * anti and mark joins: SQL NOT IN / IN semantics — a NULL on either side makes a non-match
   * unknown (anti drops the row; mark yields NULL). Without it: NOT EXISTS / EXISTS semantics.
   */
  readonly nullAware?: boolean;
}

export class HashJoinTable {
  private readonly table: KeyTable;
  private first = new Int32Array(1024).fill(-1);
  private last = new Int32Array(1024).fill(-1);
  private next = new Int32Array(1024).fill(-1);
  private buildRowCount = 0;
  private matched = new Uint8Array(1024);
  private buildNullKey = false;

  constructor(readonly keyTypes: readonly TypeInfo[]) {
    this.table = new KeyTable(keyTypes);
  }

  /** Rows added so far; build row indexes continue across build() calls (batch offsets added). */
  get buildRows(): number { return this.buildRowCount; }
  get buildHasNullKey(): boolean { return this.buildNullKey; }

  /** Adds the selected rows of a build batch. Row r of this batch gets index (rows before) + r. */
  build(keys: readonly Column[], sel: Selection | null): void {
    const len = keys[0]?.length ?? 0;
    const base = this.buildRowCount;
    this.buildRowCount += len;
    if (this.next.length < this.buildRowCount) {
      const n = new Int32Array(Math.max(this.buildRowCount, this.next.length * 2)).fill(-1); n.set(this.next); this.next = n;
      const m = new Uint8Array(n.length); m.set(this.matched); this.matched = m;
    }
    const all = selectionOrAll(sel, len);
    const nulls = nullRowsOf(keys, all, len);
    if (nulls.length > 0) this.buildNullKey = true;
    const rows = selectionDifference(all, nulls);
    const ids = this.table.findOrInsert(keys, rows);
    const gc = this.table.groupCount;
    if (this.first.length < gc) {
      const f = new Int32Array(Math.max(gc, this.first.length * 2)).fill(-1); f.set(this.first); this.first = f;
      const l = new Int32Array(f.length).fill(-1); l.set(this.last); this.last = l;
    }
    for (let i = 0; i < rows.length; i++) {
      const g = ids[i] as number;
      const b = base + (rows[i] as number);
      if (this.first[g] === -1) this.first[g] = b; else this.next[this.last[g] as number] = b;
      this.last[g] = b;
    }
  }

  /** Probes the selected rows of a probe batch. */
  probe(keys: readonly Column[], sel: Selection | null, kind: JoinKind, opts: ProbeOptions = {}): JoinResult {
    const len = keys[0]?.length ?? 0;
    const all = selectionOrAll(sel, len);
    const ids = this.table.find(keys, all, false);
    const n = all.length;
    let cap = Math.max(16, n);
    let pr = new Int32Array(cap), br = new Int32Array(cap);
    let k = 0;
    const push = (p: number, b: number): void => {
      if (k === cap) {
        cap *= 2;
        const a = new Int32Array(cap); a.set(pr); pr = a;
        const c = new Int32Array(cap); c.set(br); br = c;
      }
      pr[k] = p; br[k] = b; k++;
    };
    const first = this.first, next = this.next;
    const nullAware = opts.nullAware === true;
    const buildEmpty = this.buildRowCount === 0;
    if (kind === 'mark') {
      const values = new Uint8Array(bitmapBytes(n));
      const validity = new Uint8Array(bitmapBytes(n)).fill(255);
      const probeNulls = nullAware ? nullRowsOf(keys, all, len) : new Int32Array(0);
      let pn = 0;
      for (let i = 0; i < n; i++) {
        const r = all[i] as number;
        const isNullKey = pn < probeNulls.length && probeNulls[pn] === r;
        if (isNullKey) pn++;
        const g = ids[i] as number;
        if (g >= 0) { values[i >> 3] = (values[i >> 3] as number) | (1 << (i & 7)); continue; }
        if (nullAware && !buildEmpty && (isNullKey || this.buildNullKey)) validity[i >> 3] = (validity[i >> 3] as number) & ~(1 << (i & 7));
      }
      return { probeRows: all, buildRows: new Int32Array(n).fill(-1), mark: makeColumn('bool', n, values, validity) };
    }
    if (kind === 'anti') {
      if (nullAware && this.buildNullKey) return { probeRows: new Int32Array(0), buildRows: new Int32Array(0) };
      const probeNulls = nullAware && !buildEmpty ? nullRowsOf(keys, all, len) : new Int32Array(0);
      let pn = 0;
      for (let i = 0; i < n; i++) {
        const r = all[i] as number;
        if (pn < probeNulls.length && probeNulls[pn] === r) { pn++; continue; }
        if ((ids[i] as number) < 0) push(r, -1);
      }
      return { probeRows: pr.slice(0, k), buildRows: br.slice(0, k) };
    }
    const trackBuild = kind === 'right' || kind === 'full';
    for (let i = 0; i < n; i++) {
      const r = all[i] as number;
      const g = ids[i] as number;
      if (g < 0) {
        if (kind === 'left' || kind === 'full') push(r, -1);
        continue;
      }
      if (kind === 'semi') { push(r, first[g] as number); continue; }
      for (let b = first[g] as number; b !== -1; b = next[b] as number) {
        push(r, b);
        if (trackBuild) this.matched[b] = 1;
      }
    }
    return { probeRows: pr.slice(0, k), buildRows: br.slice(0, k) };
  }

  /** After all probes of a right/full join: build rows that never matched, paired with probe -1. */
  unmatchedBuild(): JoinResult {
    const out: number[] = [];
    for (let b = 0; b < this.buildRowCount; b++) if (this.matched[b] === 0) out.push(b);
    const buildRows = Int32Array.from(out);
    return { probeRows: new Int32Array(buildRows.length).fill(-1), buildRows };
  }
}

/** One-shot join of two batches. right/full results include the unmatched build rows at the end. */
export function hashJoin(
  buildKeys: readonly Column[], probeKeys: readonly Column[], kind: JoinKind, opts: ProbeOptions = {},
  buildSel: Selection | null = null, probeSel: Selection | null = null,
): JoinResult {
  assert(buildKeys.length === probeKeys.length && buildKeys.length > 0, 'hashJoin needs the same number (> 0) of keys on both sides');
  const types = buildKeys.map((c) => ({ type: c.type, precision: c.precision, scale: c.scale }));
  const t = new HashJoinTable(types);
  t.build(buildKeys, buildSel);
  const res = t.probe(probeKeys, probeSel, kind, opts);
  if (kind !== 'right' && kind !== 'full') return res;
  const u = t.unmatchedBuild();
  const probeRows = new Int32Array(res.probeRows.length + u.probeRows.length);
  probeRows.set(res.probeRows); probeRows.set(u.probeRows, res.probeRows.length);
  const buildRows = new Int32Array(probeRows.length);
  buildRows.set(res.buildRows); buildRows.set(u.buildRows, res.buildRows.length);
  return { probeRows, buildRows };
}
