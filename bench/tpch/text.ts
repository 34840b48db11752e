import { Rng } from './rng.js';

/**
 * TPC-H text: like dbgen, a pool of pseudo-English built from the spec's grammar (simplified:
 * [adjective] noun verb [adverb] [preposition the noun] terminator), and every comment is a
 * random substring of the pool of a random length. The word lists are the spec's, so the
 * patterns queries filter on ('%special%requests%', 'Customer%Complaints', ...) occur.
 */

const NOUNS = [
  'foxes', 'ideas', 'theodolites', 'pinto beans', 'instructions', 'dependencies', 'excuses', 'platelets',
  'asymptotes', 'courts', 'dolphins', 'multipliers', 'sauternes', 'warthogs', 'frets', 'dinos', 'attainments',
  'somas', 'Tiresias', 'patterns', 'forges', 'braids', 'hockey players', 'frays', 'warhorses', 'dugouts',
  'notornis', 'epitaphs', 'pearls', 'tithes', 'waters', 'orbits', 'gifts', 'sheaves', 'depths', 'sentiments',
  'decoys', 'realms', 'pains', 'grouches', 'escapades', 'accounts', 'packages', 'requests', 'deposits',
  'theodolites', 'packages', 'requests', 'deposits', 'accounts', 'instructions', 'foxes', 'ideas',
];
const VERBS = [
  'sleep', 'wake', 'are', 'cajole', 'haggle', 'nag', 'use', 'boost', 'affix', 'detect', 'integrate', 'maintain',
  'nod', 'was', 'lose', 'sublate', 'solve', 'thrash', 'promise', 'engage', 'hinder', 'print', 'x-ray', 'breach',
  'eat', 'grow', 'impress', 'mold', 'poach', 'serve', 'run', 'dazzle', 'snooze', 'doze', 'unwind', 'kindle',
  'play', 'hang', 'believe', 'doubt',
];
const ADJECTIVES = [
  'furious', 'sly', 'careful', 'blithe', 'quick', 'fluffy', 'slow', 'quiet', 'ruthless', 'thin', 'close',
  'dogged', 'daring', 'brave', 'stealthy', 'permanent', 'enticing', 'idle', 'busy', 'regular', 'final',
  'ironic', 'even', 'bold', 'silent', 'special', 'pending', 'unusual', 'express',
];
const ADVERBS = [
  'sometimes', 'always', 'never', 'furiously', 'slyly', 'carefully', 'blithely', 'quickly', 'fluffily',
  'slowly', 'quietly', 'ruthlessly', 'thinly', 'closely', 'doggedly', 'daringly', 'bravely', 'stealthily',
  'permanently', 'enticingly', 'idly', 'busily', 'regularly', 'finally', 'ironically', 'evenly', 'boldly',
  'silently',
];
const PREPOSITIONS = [
  'about', 'above', 'according to', 'across', 'after', 'against', 'along', 'alongside of', 'among', 'around',
  'at', 'atop', 'before', 'behind', 'beneath', 'beside', 'besides', 'between', 'beyond', 'by', 'despite',
  'during', 'except', 'for', 'from', 'in place of', 'inside', 'instead of', 'into', 'near', 'of', 'on',
  'outside', 'over', 'past', 'since', 'through', 'throughout', 'to', 'toward', 'under', 'until', 'up', 'upon',
  'without', 'with', 'within',
];
const TERMINATORS = ['.', ';', ':', '?', '!', '--'];

function pick(rng: Rng, list: readonly string[]): string {
  return list[rng.int(0, list.length - 1)] as string;
}

/** Builds the pool: ASCII bytes, `sizeBytes` long. */
export function buildTextPool(seed: number, sizeBytes: number): Uint8Array {
  const rng = new Rng(seed ^ 0x5eed7e47);
  const pool = new Uint8Array(sizeBytes);
  let p = 0;
  const put = (s: string): void => {
    for (let i = 0; i < s.length && p < sizeBytes; i++) pool[p++] = s.charCodeAt(i);
  };
  while (p < sizeBytes) {
    const parts: string[] = [];
    if (rng.int(0, 2) > 0) parts.push(pick(rng, ADJECTIVES));
    parts.push(pick(rng, NOUNS));
    if (rng.int(0, 3) === 0) parts.push(pick(rng, ADVERBS));
    parts.push(pick(rng, VERBS));
    if (rng.int(0, 1) === 0) parts.push(pick(rng, ADVERBS));
    if (rng.int(0, 1) === 0) {
      parts.push(pick(rng, PREPOSITIONS), 'the');
      if (rng.int(0, 1) === 0) parts.push(pick(rng, ADJECTIVES));
      parts.push(pick(rng, NOUNS));
    }
    put(parts.join(' '));
    put(pick(rng, TERMINATORS));
    put(' ');
  }
  return pool;
}
