import { describe, expect, it } from 'vitest';
import { KeyEncoder, NumMap } from '../../src/query/execute.js';
import type { Vector } from '../../src/query/vector.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * KeyEncoder gives two rows the same code iff their multi-column keys are equal, across chunks
 * (one-character strings take a char-code table, small code pairs a direct cache, larger ones
 * the chained maps).
 */
const SEED = 4242;

describe('KeyEncoder', () => {
  it('codes multi-column keys consistently across chunks (flags, wide ints, NULLs)', () => {
    const rnd = mulberry32(SEED);
    const enc = new KeyEncoder(3, true);
    const byKey = new Map<string, number>();
    const byCode = new Map<number, string>();
    for (let chunk = 0; chunk < 6; chunk++) {
      const n = 3000;
      const flags: string[] = [];
      const wide = new Float64Array(n);
      const words: string[] = [];
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        flags.push(String.fromCharCode(65 + Math.floor(rnd() * 5)));
        wide[i] = Math.floor(rnd() * (chunk < 3 ? 50 : 3000));
        words.push(rnd() < 0.5 ? 'x' : `w${Math.floor(rnd() * 90)}`);
        valid[i] = rnd() < 0.03 ? 0 : 1;
      }
      const cols: Vector[] = [
        { kind: 'str', type: { type: 'string' }, values: flags, valid: null },
        { kind: 'num', type: { type: 'int32' }, values: wide, valid },
        { kind: 'str', type: { type: 'string' }, values: words, valid: null },
      ];
      const codes = enc.encode(cols, n, true);
      for (let i = 0; i < n; i++) {
        const key = `${flags[i]}|${valid[i] === 1 ? wide[i] : 'NULL'}|${words[i]}`;
        const c = codes[i]!;
        expect(Number.isNaN(c), `seed ${SEED}`).toBe(false);
        const seen = byKey.get(key);
        if (seen === undefined) byKey.set(key, c);
        else expect(c, `seed ${SEED}: key ${key}`).toBe(seen);
        const other = byCode.get(c);
        if (other === undefined) byCode.set(c, key);
        else expect(other, `seed ${SEED}: code ${c}`).toBe(key);
      }
    }
    expect(byKey.size).toBeGreaterThan(2000);
    // Probe mode: unseen keys give NaN, seen ones their code.
    const probe: Vector[] = [
      { kind: 'str', type: { type: 'string' }, values: ['Z', 'A'], valid: null },
      { kind: 'num', type: { type: 'int32' }, values: Float64Array.of(1, 1), valid: null },
      { kind: 'str', type: { type: 'string' }, values: ['x', 'x'], valid: null },
    ];
    const pc = enc.encode(probe, 2, false);
    expect(Number.isNaN(pc[0]!)).toBe(true);
    expect(pc[1]).toBe(byKey.get('A|1|x') ?? NaN);
  });
});

describe('NumMap', () => {
  it('agrees with a Map over ints, doubles, huge values and -0, through growth', () => {
    const rnd = mulberry32(SEED + 1);
    const m = new NumMap();
    const ref = new Map<number, number>();
    for (let i = 0; i < 20000; i++) {
      const r = rnd();
      const k = r < 0.4 ? Math.floor(rnd() * 5000) - 2500 : r < 0.6 ? rnd() * 1e6 : r < 0.8 ? Math.floor(rnd() * 2 ** 50) * 7 : r < 0.9 ? -0 : 0.5 + Math.floor(rnd() * 100);
      const v = Math.floor(rnd() * 1e6);
      m.set(k, v);
      ref.set(k, v);
      const q = rnd() < 0.5 ? k : rnd() * 1e7;
      expect(m.get(q), `seed ${SEED + 1}: key ${q}`).toBe(ref.get(q) ?? -1);
    }
    expect(m.size).toBe(ref.size);
    for (const [k, v] of ref) expect(m.get(k)).toBe(v);
    expect(m.get(0)).toBe(m.get(-0));
  });
});
