import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ColumnSchema, DataType } from '../../src/common/types.js';
import { columnMinMax, writeDecimal } from '../../src/rowset/column-data.js';
import { batchMinMax } from '../../src/rowset/flush-columns.js';
import type { StoredColumn } from '../../src/rowset/scan-plan.js';
import { mulberry32 } from '../../bench/random.js';

/**
 * The flush's specialised min/max loops (batchMinMax) must give exactly the footer stats of the
 * general columnMinMax: same min, max and NULL count, for every column type, with and without
 * NULLs, values near the int64 / 2^53 / decimal word boundaries, NaN, -0, empty strings and
 * binary cells sharing 4-byte prefixes (the string loop's integer prefix compare).
 */

const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v));

function column(type: DataType): StoredColumn {
  return { id: 1, name: 'c', type, nullable: true, ...(type === 'decimal' ? { precision: 38, scale: 2 } : {}) } as StoredColumn;
}

function randomData(rand: () => number, col: ColumnSchema, n: number, nulls: boolean): arrow.Data {
  const ri = (k: number): number => Math.floor(rand() * k);
  const bitmap = new Uint8Array((n + 7) >> 3).fill(0xff);
  let nullCount = 0;
  if (nulls) for (let i = 0; i < n; i++) if (rand() < 0.2) { bitmap[i >> 3] = (bitmap[i >> 3] as number) & ~(1 << (i & 7)); nullCount++; }
  const base = { length: n, nullCount, ...(nullCount > 0 ? { nullBitmap: bitmap } : {}) };
  const big = (): bigint => {
    switch (ri(4)) {
      case 0: return BigInt(ri(2000) - 1000);
      case 1: return BigInt(ri(2 ** 30)) * 2n ** 23n - 2n ** 52n; // around ±2^53
      case 2: return (rand() < 0.5 ? -1n : 1n) * (2n ** 63n - 1n - BigInt(ri(5)));
      default: return BigInt(ri(2 ** 20)) * 2n ** 32n + BigInt(ri(2 ** 31)) * (rand() < 0.5 ? -1n : 1n);
    }
  };
  switch (col.type) {
    case 'int32': case 'date': return arrow.makeData({ type: new arrow.Int32(), data: Int32Array.from({ length: n }, () => ri(2 ** 32) - 2 ** 31), ...base });
    case 'double': {
      const specials = [NaN, -0, 0, Infinity, -Infinity];
      return arrow.makeData({ type: new arrow.Float64(), data: Float64Array.from({ length: n }, () => (rand() < 0.05 ? specials[ri(5)] as number : rand() * 1e6 - 5e5)), ...base });
    }
    case 'int64': case 'timestamp': return arrow.makeData({ type: new arrow.Int64(), data: BigInt64Array.from({ length: n }, () => (col.type === 'timestamp' ? BigInt(ri(2 ** 40) - 2 ** 39) : big())), ...base });
    case 'decimal': {
      const w = new Uint32Array(4 * n);
      for (let i = 0; i < n; i++) writeDecimal(w, i, rand() < 0.1 ? big() * big() : big());
      return arrow.makeData({ type: new arrow.Decimal(2, 38, 128), data: w, ...base });
    }
    case 'string': {
      const strs = Array.from({ length: n }, () => ['', 'a', 'ab', 'b', 'héllo', 'zz', `s${ri(100)}`, 'x'.repeat(ri(5))][ri(8)] as string);
      const bytes = new TextEncoder().encode(strs.join(''));
      const offsets = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) offsets[i + 1] = (offsets[i] as number) + new TextEncoder().encode(strs[i]).length;
      return arrow.makeData({ type: new arrow.Utf8(), data: bytes, valueOffsets: offsets, ...base });
    }
    case 'binary': {
      // Short cells over a tiny alphabet (0x00 included): many equal 4-byte prefixes, cells
      // shorter than 4 bytes next to their zero-padded longer twins.
      const alphabet = [0, 1, 0x61, 0xff];
      const cells = Array.from({ length: n }, () => Uint8Array.from({ length: ri(8) }, () => alphabet[ri(4)] as number));
      const offsets = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) offsets[i + 1] = (offsets[i] as number) + (cells[i] as Uint8Array).length;
      const bytes = new Uint8Array(offsets[n] as number);
      cells.forEach((c, i) => bytes.set(c, offsets[i] as number));
      return arrow.makeData({ type: new arrow.Binary(), data: bytes, valueOffsets: offsets, ...base });
    }
    default: throw new Error(`no generator for ${col.type}`);
  }
}

describe('batchMinMax', () => {
  const base = Number(process.env['SAIGA_SEED'] ?? 1);
  for (const type of ['int32', 'date', 'double', 'int64', 'timestamp', 'decimal', 'string', 'binary'] as const) {
    it(`equals columnMinMax for ${type} columns`, () => {
      const col = column(type);
      for (let s = 0; s < 40; s++) {
        const seed = base * 1000 + s;
        const rand = mulberry32(seed);
        const n = 1 + Math.floor(rand() * 300);
        const data = randomData(rand, col, n, s % 3 === 0);
        expect(show(batchMinMax(col, data)), `seed ${seed} (SAIGA_SEED=${base}) n ${n}`).toBe(show(columnMinMax(col, data)));
      }
    });
  }
});
