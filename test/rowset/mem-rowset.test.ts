import { describe, expect, it } from 'vitest';
import { compareBytes, encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { makeCanonical } from '../../src/rowset/column-batch.js';
import { MemRowSet } from '../../src/rowset/mem-rowset.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * MemRowSet against a sorted-map model: bulk-appended runs (packed leaves), row inserts between
 * their keys (unpacking), finds and mutations of packed rows, ordered iteration from a lower
 * bound, isAboveMax / minKey / size.
 */

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int32', nullable: false }, { name: 'v', type: 'double', nullable: true }] };
const key = (k: number): Uint8Array => encodeKey(schema, [k]);

function runSeed(seed: number): void {
  const rand = rng(seed);
  const ri = (n: number): number => Math.floor(rand() * n);
  const mrs = new MemRowSet(schema.columns);
  const model = new Map<number, Array<Value[] | null>>();
  const insertTs = new Map<number, bigint>();
  let next = 0;
  let ts = 1n;
  for (let step = 0; step < 100; step++) {
    const r = rand();
    if (r < 0.15) {
      // Bulk append of even keys above everything (1..3000 rows: several packed leaves).
      const n = 1 + ri(1300);
      const start = next + 2 * (1 + ri(3));
      const keys = Array.from({ length: n }, (_, i) => key(start + 2 * i));
      const offs = new Int32Array(n + 1);
      keys.forEach((k, i) => { offs[i + 1] = (offs[i] as number) + k.length; });
      const kb = new Uint8Array(offs[n] as number);
      keys.forEach((k, i) => kb.set(k, offs[i] as number));
      const kv = new Float64Array(n);
      const vv = new Float64Array(n);
      for (let i = 0; i < n; i++) { kv[i] = start + 2 * i; vv[i] = start + 2 * i + 0.5; }
      const cols = [makeCanonical(schema.columns[0]!, n, { values: kv, nullCount: 0 }), makeCanonical(schema.columns[1]!, n, { values: vv, nullCount: 0 })];
      expect(mrs.isAboveMax(keys[0]!)).toBe(true);
      for (let i = 0; i < n; i++) insertTs.set(start + 2 * i, ts);
      mrs.appendBatch(kb, offs, cols, 0, n, ts++);
      for (let i = 0; i < n; i++) model.set(start + 2 * i, [[start + 2 * i, start + 2 * i + 0.5]]);
      next = start + 2 * (n - 1);
    } else if (r < 0.3) {
      // In-order row inserts above everything (the open packed leaf), one timestamp each.
      const n = 1 + ri(1500);
      for (let i = 0; i < n; i++) {
        const k = next + 1 + ri(3);
        expect(mrs.isAboveMax(key(k))).toBe(true);
        insertTs.set(k, ts);
        mrs.insert(key(k), ts++, [k, k * 2]);
        model.set(k, [[k, k * 2]]);
        next = k;
      }
    } else if (r < 0.6) {
      // Row insert of a random key (often between packed keys).
      const k = ri(next + 10);
      if (model.has(k)) {
        expect(mrs.find(key(k)), `seed ${seed} step ${step} find ${k}`).toBeDefined();
        continue;
      }
      insertTs.set(k, ts);
      mrs.insert(key(k), ts++, [k, -k]);
      model.set(k, [[k, -k]]);
      if (k > next) next = k;
    } else if (r < 0.85) {
      // Mutate an existing row through find().
      const keys = [...model.keys()];
      if (keys.length === 0) continue;
      const k = keys[ri(keys.length)]!;
      const e = mrs.find(key(k));
      expect(e?.key, `seed ${seed} step ${step} find ${k}`).toEqual(key(k));
      const row = rand() < 0.3 ? null : [k, rand()];
      mrs.addVersion(e!, ts++, row);
      model.get(k)!.push(row);
    } else {
      // Ordered iteration from a lower bound.
      const lower = ri(next + 5);
      const want = [...model.keys()].filter((k) => k >= lower).sort((a, b) => a - b);
      const got: number[] = [];
      const gotRows: Array<[readonly Value[], readonly Value[] | null]> = [];
      let tsOk = true;
      let prev: Uint8Array | undefined;
      let ordered = true;
      for (const e of mrs.entries(key(lower))) {
        if (prev !== undefined && compareBytes(prev, e.key) >= 0) ordered = false;
        prev = e.key;
        got.push(e.row[0] as number);
        gotRows.push([e.row, e.latest()]);
        if (e.ts !== insertTs.get(e.row[0] as number)) tsOk = false;
      }
      expect(ordered, `seed ${seed} step ${step} keys increase`).toBe(true);
      expect(tsOk, `seed ${seed} step ${step} insert timestamps`).toBe(true);
      expect(got.join(','), `seed ${seed} step ${step} entries from ${lower}`).toBe(want.join(','));
      const wantRows = want.map((k) => { const vs = model.get(k)!; return [vs[0], vs[vs.length - 1]]; });
      expect(JSON.stringify(gotRows), `seed ${seed} step ${step} rows (inserted, latest)`).toBe(JSON.stringify(wantRows));
    }
  }
  expect(mrs.size).toBe(model.size);
  const min = Math.min(...model.keys());
  if (model.size > 0) expect(mrs.minKey()).toEqual(key(min));
  expect(mrs.isAboveMax(key(next + 1))).toBe(true);
  if (model.size > 0) expect(mrs.isAboveMax(key(Math.max(...model.keys())))).toBe(false);
}

describe('MemRowSet', () => {
  const base = Number(process.env['SAIGA_SEED'] ?? 1);
  for (let s = 0; s < 8; s++) {
    const seed = base + s;
    it(`matches a sorted-map model with packed bulk runs (seed ${seed})`, () => {
      try {
        runSeed(seed);
      } catch (e) {
        console.error(`MemRowSet test failed with seed ${seed} (rerun: SAIGA_SEED=${seed})`);
        throw e;
      }
    });
  }
});
