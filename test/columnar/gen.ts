import type { DataType, Value } from '../../src/common/types.js';
import { mulberry32 as rng } from '../../bench/random.js';
export { rng };

const WORDS = ['', 'a', 'ab', 'abc', 'b', 'ba', 'Zebra', 'zebra', 'héllo', 'hello', 'world', 'a%b', 'x_y', 'ABC', '日本'];

/** Random API values for a type, with about `nullRate` NULLs and many duplicates. */
export function randomValues(type: DataType, n: number, r: () => number, nullRate = 0.15, scale = 2): Value[] {
  const out: Value[] = [];
  for (let i = 0; i < n; i++) {
    if (r() < nullRate) { out.push(null); continue; }
    const small = Math.floor(r() * 41) - 20;
    switch (type) {
      case 'bool': out.push(r() < 0.5); break;
      case 'int8': out.push(small); break;
      case 'int16': out.push(small * 300); break;
      case 'int32': out.push(r() < 0.1 ? (r() < 0.5 ? 2147483647 : -2147483648) : small * 100000); break;
      case 'int64': out.push(r() < 0.1 ? (r() < 0.5 ? 9007199254740993n : -(2n ** 62n)) : BigInt(small) * 1000n); break;
      case 'float': out.push(Math.fround(small / 4)); break;
      case 'double': out.push(small / 8); break;
      case 'decimal': {
        const big = r() < 0.1;
        out.push(big ? (r() < 0.5 ? 10n ** 20n + BigInt(small) : -(10n ** 19n) * 7n) : BigInt(small) * 37n + BigInt(Math.floor(r() * 10 ** scale)));
        break;
      }
      case 'string': out.push(WORDS[Math.floor(r() * WORDS.length)] as string); break;
      case 'binary': out.push(new Uint8Array([Math.floor(r() * 4), Math.floor(r() * 4)])); break;
      case 'date': out.push(small * 400 + 3000); break;
      case 'timestamp': out.push(small * 86400_000_000 + 1_700_000_000_000_000); break;
    }
  }
  return out;
}

/** Reference comparison of two non-null API values (decimals compared after scaling). */
export function refCompare(a: Value, b: Value, scaleA = 0, scaleB = 0): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const ea = Buffer.from(a, 'utf8'), eb = Buffer.from(b, 'utf8');
    return Buffer.compare(ea, eb);
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'bigint' || typeof b === 'bigint' || scaleA !== 0 || scaleB !== 0) {
    if (typeof a === 'number' && !Number.isInteger(a)) return a - Number(b) / 10 ** scaleB;
    if (typeof b === 'number' && !Number.isInteger(b)) return Number(a) / 10 ** scaleA - b;
    const s = Math.max(scaleA, scaleB);
    const x = BigInt(a as number | bigint) * 10n ** BigInt(s - scaleA);
    const y = BigInt(b as number | bigint) * 10n ** BigInt(s - scaleB);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return (a as number) - (b as number);
}

export function pass(c: number, op: string): boolean {
  switch (op) {
    case '=': return c === 0;
    case '<>': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
  throw new Error(op);
}
