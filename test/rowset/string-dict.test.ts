import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ColumnPredicate } from '../../src/common/scan-spec.js';
import type { ColumnSchema } from '../../src/common/types.js';
import { bindPredicate, buildStringDict, compileFilters, filterColumnFilter, STRING_DICT_SIZE_MAX } from '../../src/rowset/predicate-eval.js';
import { mulberry32 } from '../query/tpch-mini.js';

/**
 * String dictionaries of cached columns (predicate-eval.ts): codes name equal byte strings, a
 * column with too many distinct values gets none, and a filter read through the dictionary
 * selects exactly the rows the byte-comparing kernels select.
 */
function strData(vals: readonly (string | null)[]): arrow.Data {
  const parts = vals.map((v) => Buffer.from(v ?? '', 'utf8'));
  const offs = new Int32Array(vals.length + 1);
  parts.forEach((b, i) => { offs[i + 1] = offs[i]! + b.length; });
  const bitmap = new Uint8Array((vals.length + 7) >> 3);
  let nulls = 0;
  vals.forEach((v, i) => { if (v === null) nulls++; else bitmap[i >> 3]! |= 1 << (i & 7); });
  return arrow.makeData({ type: new arrow.Utf8(), length: vals.length, nullCount: nulls, nullBitmap: nulls > 0 ? bitmap : null, valueOffsets: offs, data: new Uint8Array(Buffer.concat(parts)) } as unknown as Parameters<typeof arrow.makeData>[0]);
}

describe('string dictionaries', () => {
  it('codes name equal byte strings; more than the limit of distinct values gives none', () => {
    const vals = ['AIR', 'MAIL', 'AIR', '', 'AIR REG', 'MAIL', 'é', 'AIR', 'AIR REG', ''];
    const d = buildStringDict(strData(vals))!;
    expect(d.size).toBe(5);
    const bytes = Buffer.from(vals.join(''), 'utf8');
    const text = (e: number): string => bytes.subarray(d.starts[e]!, d.starts[e]! + d.lens[e]!).toString('utf8');
    vals.forEach((v, i) => expect(text(d.codes[i]!)).toBe(v));
    const many = Array.from({ length: STRING_DICT_SIZE_MAX + 1 }, (_, i) => `v${i}`);
    expect(buildStringDict(strData(many))).toBeNull();
    expect(buildStringDict(strData(many.slice(1)))!.size).toBe(STRING_DICT_SIZE_MAX);
  });

  it('filters through the dictionary exactly as the byte-comparing kernels do (NULLs, prefixes, multi-byte)', () => {
    const seed = 2718;
    const rnd = mulberry32(seed);
    const pool = ['', 'A', 'AIR', 'AIR REG', 'AIRX', 'B', 'MAIL', 'SHIP', 'é', 'ü€', 'TRUCK', 'DELIVER IN PERSON'];
    const n = 3000;
    const vals: (string | null)[] = [];
    for (let i = 0; i < n; i++) vals.push(rnd() < 0.1 ? null : pool[Math.floor(rnd() * pool.length)]!);
    const data = strData(vals);
    const dict = buildStringDict(data)!;
    const column: ColumnSchema = { name: 's', type: 'string', nullable: true };
    const lits = [...pool, 'AI', 'Z', 'AIR REGX'];
    let nonEmpty = 0;
    for (let q = 0; q < 200; q++) {
      const preds: ColumnPredicate[] = [];
      const k = 1 + Math.floor(rnd() * 2);
      for (let j = 0; j < k; j++) {
        const lit = (): string => lits[Math.floor(rnd() * lits.length)]!;
        preds.push(rnd() < 0.35 ? { kind: 'in', column: 's', values: [lit(), lit(), lit()] } : { kind: 'compare', column: 's', op: (['=', '<', '<=', '>', '>='] as const)[Math.floor(rnd() * 5)]!, value: lit() });
      }
      const f = compileFilters(preds.map((p) => bindPredicate(p, column, 0)))[0]!;
      const dense = rnd() < 0.5;
      const run = (withDict: boolean): number[] => {
        const out = new Int32Array(n);
        let sel: Int32Array | undefined;
        let count = n;
        if (!dense) { sel = new Int32Array(n); count = 0; for (let i = 0; i < n; i += 2) sel[count++] = i; }
        const m = filterColumnFilter(f, data, false, sel, count, out, withDict ? dict : undefined);
        return Array.from((sel ?? out).subarray(0, m));
      };
      const want = run(false);
      expect(run(true), `seed ${seed} query ${q} ${JSON.stringify(preds)}`).toEqual(want);
      if (want.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(50);
  });
});
