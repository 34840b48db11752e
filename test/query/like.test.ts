import { describe, expect, it } from 'vitest';
import { likeMatcher } from '../../src/query/eval.js';

/** Reference LIKE: the pattern as an anchored regex ('%' any run, '_' one character). */
function likeRegex(pattern: string): RegExp {
  let re = '^';
  for (const ch of pattern) re += ch === '%' ? '[\\s\\S]*' : ch === '_' ? '[\\s\\S]' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`);
}

describe('LIKE matchers', () => {
  it('agree with the regex reference on random patterns and strings (several % parts)', () => {
    let seed = 4242;
    const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
    const alphabet = ['a', 'b', 'ab', 'ba', '%', '%', '_', 'c'];
    const word = (n: number, chars: readonly string[]): string => Array.from({ length: n }, () => chars[Math.floor(rnd() * chars.length)]!).join('');
    let checked = 0;
    for (let p = 0; p < 400; p++) {
      const pattern = word(1 + Math.floor(rnd() * 6), alphabet);
      const m = likeMatcher(pattern), ref = likeRegex(pattern);
      for (let k = 0; k < 40; k++) {
        const s = word(Math.floor(rnd() * 9), ['a', 'b', 'c']);
        expect(m(s), `seed 4242: '${s}' LIKE '${pattern}'`).toBe(ref.test(s));
        checked++;
      }
    }
    expect(checked).toBe(16000);
    expect(likeMatcher('%special%requests%')('xx special yy requests zz')).toBe(true);
    expect(likeMatcher('%special%requests%')('xx requests yy special zz')).toBe(false);
    expect(likeMatcher('ab%ba')('aba')).toBe(false);
    expect(likeMatcher('ab%ba')('abba')).toBe(true);
  });
});
