import { describe, expect, it } from 'vitest';
import { compareBytes, decodeKey, encodeKey } from '../../src/common/key-encoding.js';
import type { DataType, Schema, Value } from '../../src/common/types.js';
import { compareValues } from '../../src/rowset/column-data.js';
import { mulberry32 as rng } from '../../bench/random.js';

function gen(type: DataType, r: () => number): Value {
  const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  switch (type) {
    case 'bool': return r() < 0.5;
    case 'int8': return pick([-128, -1, 0, 1, 127, Math.floor(r() * 256) - 128]);
    case 'int16': return pick([-32768, -1, 0, 32767, Math.floor(r() * 65536) - 32768]);
    case 'int32': case 'date': return pick([-2147483648, -1, 0, 2147483647, Math.floor(r() * 2 ** 32) - 2 ** 31]);
    case 'int64': return pick([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n, BigInt(Math.floor(r() * 2 ** 53)) * (r() < 0.5 ? -1n : 1n) * BigInt(1 + Math.floor(r() * 1000))]);
    case 'timestamp': return pick([-(2 ** 53) + 1, -1, 0, 2 ** 53 - 1, Math.floor((r() - 0.5) * 2 ** 52)]);
    case 'float': return Math.fround(pick([-Infinity, -1.5, -0.25, 0, 0.25, 3e30, Infinity, (r() - 0.5) * 1e6]));
    case 'double': return pick([-Infinity, -1e300, -1, 0, 1e-300, 1, Infinity, (r() - 0.5) * 1e12]);
    case 'decimal': return pick([-(10n ** 38n) + 1n, -1n, 0n, 10n ** 38n - 1n, BigInt(Math.floor((r() - 0.5) * 2 ** 53)) * 12345678901n]);
    case 'string': {
      const alphabet = ['a', 'b', '\u0000', '\u0001', 'é', '\uffff', '😀', 'z'];
      let s = '';
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) s += pick(alphabet);
      return s;
    }
    case 'binary': {
      const n = Math.floor(r() * 4);
      return Uint8Array.from({ length: n }, () => pick([0, 1, 2, 255]));
    }
  }
}

const TYPES: DataType[] = ['bool', 'int8', 'int16', 'int32', 'int64', 'float', 'double', 'decimal', 'string', 'binary', 'date', 'timestamp'];

describe('key encoding', () => {
  it('byte order equals tuple order and decoding inverts encoding (random composite keys)', () => {
    const seed = 42;
    const r = rng(seed);
    for (let round = 0; round < 60; round++) {
      const n = 1 + Math.floor(r() * 3);
      const types = Array.from({ length: n }, () => TYPES[Math.floor(r() * TYPES.length)] as DataType);
      const schema: Schema = { keyColumnCount: n, columns: types.map((type, i) => ({ name: `c${i}`, type, nullable: false })) };
      const tuples = Array.from({ length: 40 }, () => types.map((t) => gen(t, r)));
      const cmpTuple = (a: Value[], b: Value[]): number => {
        for (let i = 0; i < n; i++) {
          const t = types[i] as DataType;
          const c = compareValues(t, a[i] as Value, b[i] as Value);
          if (c !== 0) return c;
        }
        return 0;
      };
      for (const a of tuples) {
        const ea = encodeKey(schema, a);
        const back = decodeKey(schema, ea);
        expect(compareBytes(encodeKey(schema, back), ea), `seed ${seed} round-trip ${types.join(',')}`).toBe(0);
        expect(cmpTuple(back, a), `seed ${seed} decode ${types.join(',')}`).toBe(0);
        for (const b of tuples) {
          const want = Math.sign(cmpTuple(a, b));
          const got = Math.sign(compareBytes(ea, encodeKey(schema, b)));
          expect(got, `seed ${seed} types ${types.join(',')}`).toBe(want);
        }
      }
    }
  });

  it('escapes zero bytes in non-final string columns', () => {
    const schema: Schema = { keyColumnCount: 2, columns: [{ name: 'a', type: 'string', nullable: false }, { name: 'b', type: 'int8', nullable: false }] };
    expect([...encodeKey(schema, ['a\u0000', 1])]).toEqual([0x61, 0, 1, 0, 0, 0x81]);
  });
});
