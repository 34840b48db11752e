import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { likeBytesSupported, likeMatchUtf8, type Utf8Data } from '../../src/columnar/index.js';
import { likeMatcher } from '../../src/query/eval.js';
import { rng } from './gen.js';

const SEED = Number(process.env['SEED'] ?? 20261123);
const ALPHABET = ['a', 'b', 's', 'p', 'e', 'c', 'i', 'l', 'r', 'q', 'u', 't', 'é', '€', '😀', ' ', '%'];
const PATTERNS = [
  '%special%requests%', '%sp%', 'sp%', '%ts', 'a%b', 'abc', '', '%', '%%', 'é%€', '%😀%a%', '%a%a%a%', 's%p%e%', '%requests', 'special%', '%é%',
];

function randomString(r: () => number): string {
  const words = ['special', 'requests', 'spec', 'req'];
  let s = '';
  const len = Math.floor(r() * 12);
  for (let i = 0; i < len; i++) s += r() < 0.15 ? words[Math.floor(r() * words.length)]! : ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

describe(`LIKE on UTF-8 bytes (seed ${SEED})`, () => {
  it('matches the string matcher for %-only patterns, with NULLs and sliced chunks', () => {
    const r = rng(SEED);
    for (let round = 0; round < 40; round++) {
      const n = 1 + Math.floor(r() * 300);
      const vals: (string | null)[] = Array.from({ length: n }, () => (r() < 0.1 ? null : randomString(r)));
      const vec = arrow.vectorFromArray(vals, new arrow.Utf8());
      const start = Math.floor(r() * n), end = start + Math.floor(r() * (n - start + 1));
      const data = [...vec.data, ...vec.slice(start, end).data];
      const expected = [...vals, ...vals.slice(start, end)];
      for (const pattern of PATTERNS) {
        expect(likeBytesSupported(pattern)).toBe(true);
        const m = likeMatcher(pattern);
        for (const negated of [false, true]) {
          const out = new Uint8Array(expected.length);
          let at = 0;
          for (const d of data) { likeMatchUtf8(d as unknown as Utf8Data, pattern, negated, out, at); at += d.length; }
          const want = expected.map((v) => (v === null ? 0 : m(v) !== negated ? 1 : 0));
          expect(Array.from(out), `seed ${SEED} round ${round} pattern ${pattern} negated ${negated}`).toEqual(want);
        }
      }
    }
  });

  it('leaves patterns with _ or escapes to the string matcher', () => {
    expect(likeBytesSupported('a_b')).toBe(false);
    expect(likeBytesSupported('a\\%b')).toBe(false);
  });
});
