import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/replication/random.js';
import { fastJson, rowsFromJson, rowsToJson } from '../../src/tserver/grpc-codec.js';
import { jsonReplacer } from '../../src/wal/index.js';

// Rows travel as JSON with tagged bigint / bytes / undefined; the decoder walks the parsed tree
// instead of using a JSON.parse reviver.

function randomValue(r: SeededRandom, depth: number): unknown {
  switch (r.intBelow(depth > 2 ? 7 : 9)) {
    case 0: return null;
    case 1: return r.intBelow(2) === 0;
    case 2: return r.intBelow(1e6) - 5e5 + r.next();
    case 3: return `s${r.intBelow(1000)}"\\\n`;
    case 4: return BigInt(r.intBelow(1e9)) * 10_000_000_000n - 3n;
    case 5: return Uint8Array.from({ length: r.intBelow(5) }, () => r.intBelow(256));
    case 6: return undefined;
    case 7: return Array.from({ length: r.intBelow(5) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.intBelow(4); i > 0; i--) o[`k${r.intBelow(10)}`] = randomValue(r, depth + 1);
      if (r.intBelow(4) === 0) Object.assign(o, { $bigint: 'not a tag: more than one key', z: 1 });
      return o;
    }
  }
}

/** What the decoder must give: undefined array elements as undefined, object properties holding undefined left out. */
function expected(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expected);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = expected(x);
  return out;
}

describe('rows JSON codec', () => {
  it('round-trips bigint, bytes, undefined and nested values (seeded)', () => {
    const seed = 42;
    const r = new SeededRandom(seed);
    for (let i = 0; i < 2000; i++) {
      const v = [randomValue(r, 0), { kind: 'insert', row: [randomValue(r, 1), randomValue(r, 1), undefined] }];
      const back = rowsFromJson<unknown>(rowsToJson(v));
      expect(back, `seed ${seed} case ${i}: ${rowsToJson(v)}`).toStrictEqual(expected(v));
    }
  });

  it('writes the same text as JSON.stringify with the tagging replacer (seeded), Buffers and toJSON objects included', () => {
    const seed = 5;
    const r = new SeededRandom(seed);
    const slow = (v: unknown): string => JSON.stringify(v, (k, x) => (x === undefined ? { $undefined: 1 } : jsonReplacer(k, x)));
    for (let i = 0; i < 2000; i++) {
      const v = [randomValue(r, 0), { kind: 'upsert', row: [randomValue(r, 1), -0, NaN, Infinity, 1e21, 'é"\u2028'] }];
      expect(rowsToJson(v), `seed ${seed} case ${i}`).toBe(slow(v));
    }
    const odd = [{ kind: 'insert', row: [Buffer.from([1, 2]), new Date(0), { toJSON: () => 'x' }] }];
    expect(rowsToJson(odd)).toBe(slow(odd));
    // The common shape takes the fast path; what it cannot write exactly falls back.
    const op = [{ kind: 'upsert', row: [12n, 1.5, 'x', null, undefined, new Uint8Array([7])] }];
    expect(fastJson(op)).toBe(slow(op));
    expect(fastJson(odd)).toBeUndefined();
  });

  it('decodes the tags exactly', () => {
    const ops = rowsFromJson<{ kind: string; row: unknown[] }[]>(rowsToJson([{ kind: 'upsert', row: [2n ** 63n - 1n, new Uint8Array([1, 2]), undefined, 'x', 1.5, null] }]));
    expect(ops[0]?.row).toStrictEqual([2n ** 63n - 1n, new Uint8Array([1, 2]), undefined, 'x', 1.5, null]);
    expect(rowsFromJson('{"$bigint":"12","x":1}')).toStrictEqual({ $bigint: '12', x: 1 });
    expect(rowsFromJson('{"a":{"$undefined":1},"b":2}')).toStrictEqual({ b: 2 });
  });
});
