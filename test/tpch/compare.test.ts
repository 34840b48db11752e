import { Field, Float64, Int32, RecordBatch, Schema, Struct, makeData, Decimal, Utf8, DateDay } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowToCells, cellsEqual, compareResults, formatCell } from '../../bench/tpch/compare.js';
import type { Cell, CellRow } from '../../bench/tpch/compare.js';

const n = (v: number | bigint, s = 0): Cell => ({ t: 'n', v: BigInt(v), s });
const f = (v: number): Cell => ({ t: 'f', v });
const s = (v: string): Cell => ({ t: 's', v });

describe('cellsEqual', () => {
  it('decimals are exact after rounding to the coarser scale', () => {
    expect(cellsEqual(n(12345, 2), n(123450, 3))).toBe(true);
    expect(cellsEqual(n(12345, 2), n(123449, 3))).toBe(true); // 123.449 rounds to 123.45
    expect(cellsEqual(n(12345, 2), n(123444, 3))).toBe(false);
    // 1.2345 rounds half away from zero to 1.235 (and -1.2345 to -1.235).
    expect(cellsEqual(n(12345, 4), n(1235, 3))).toBe(true);
    expect(cellsEqual(n(-12345, 4), n(-1235, 3))).toBe(true);
    expect(cellsEqual(n(-12345, 4), n(-1234, 3))).toBe(false);
    expect(cellsEqual(n(100, 2), n(1))).toBe(true);
  });
  it('doubles use a relative tolerance', () => {
    expect(cellsEqual(f(1.0000001), f(1))).toBe(true);
    expect(cellsEqual(f(1.00001), f(1))).toBe(false);
    expect(cellsEqual(f(25.231678), n(252317, 4))).toBe(true);
    expect(cellsEqual(f(25.2319), n(252317, 4))).toBe(false);
    expect(cellsEqual(f(0), f(0))).toBe(true);
  });
  it('NULL equals only NULL; strings exact; types do not mix', () => {
    expect(cellsEqual(null, null)).toBe(true);
    expect(cellsEqual(null, n(0))).toBe(false);
    expect(cellsEqual(s('a'), s('a'))).toBe(true);
    expect(cellsEqual(s('a'), s('a '))).toBe(false);
    expect(cellsEqual(s('1'), n(1))).toBe(false);
    expect(formatCell(n(-5, 2))).toBe('-0.05');
    expect(formatCell(n(123456, 2))).toBe('1234.56');
  });
});

describe('compareResults', () => {
  const rows = (...r: Array<Array<number | string | null>>): CellRow[] =>
    r.map((x) => x.map((v) => (v === null ? null : typeof v === 'number' ? n(v) : s(v))));

  it('order-insensitive without ORDER BY', () => {
    expect(compareResults(rows([1, 'a'], [2, 'b']), rows([2, 'b'], [1, 'a']), { orderBy: [] })).toBeUndefined();
    expect(compareResults(rows([1, 'a'], [2, 'b']), rows([2, 'b'], [1, 'c']), { orderBy: [] })).toMatch(/unexpected row/);
    expect(compareResults(rows([1, 'a'], [1, 'a']), rows([1, 'a']), { orderBy: [] })).toMatch(/expected 1 rows, got 2/);
    expect(compareResults(rows([1, 'a'], [1, 'a']), rows([1, 'a'], [2, 'a']), { orderBy: [] })).toBeDefined();
  });
  it('ORDER BY: order matters, ties may permute', () => {
    const want = rows([1, 'x'], [2, 'a'], [2, 'b'], [3, 'c']);
    expect(compareResults(rows([1, 'x'], [2, 'b'], [2, 'a'], [3, 'c']), want, { orderBy: [0] })).toBeUndefined();
    expect(compareResults(rows([2, 'a'], [1, 'x'], [2, 'b'], [3, 'c']), want, { orderBy: [0] })).toMatch(/ORDER BY keys differ/);
    expect(compareResults(rows([1, 'x'], [2, 'a'], [2, 'z'], [3, 'c']), want, { orderBy: [0] })).toMatch(/key group/);
  });
  it('LIMIT may cut the last tie group differently', () => {
    const want = rows([1, 'x'], [2, 'a'], [2, 'b']);
    expect(compareResults(rows([1, 'x'], [2, 'a'], [2, 'q']), want, { orderBy: [0], limit: 3 })).toBeUndefined();
    expect(compareResults(rows([1, 'x'], [2, 'a'], [2, 'q']), want, { orderBy: [0] })).toBeDefined();
    expect(compareResults(rows([1, 'y'], [2, 'a'], [2, 'q']), want, { orderBy: [0], limit: 3 })).toBeDefined();
  });
});

describe('arrowToCells', () => {
  it('reads ints, doubles, decimals, strings, dates and nulls from buffers', () => {
    const schema = new Schema([
      new Field('i', new Int32(), true), new Field('d', new Float64()), new Field('m', new Decimal(2, 15, 128)),
      new Field('s', new Utf8()), new Field('dt', new DateDay()),
    ]);
    const dec = new Uint32Array(8);
    dec.set([12345, 0, 0, 0], 0);
    dec.set([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], 4); // -1 -> -0.01
    const children = [
      makeData({ type: new Int32(), length: 2, nullCount: 1, nullBitmap: Uint8Array.of(1), data: Int32Array.of(7, 0) }),
      makeData({ type: new Float64(), length: 2, data: Float64Array.of(0.5, -2) }),
      makeData({ type: new Decimal(2, 15, 128), length: 2, data: dec }),
      makeData({ type: new Utf8(), length: 2, valueOffsets: Int32Array.of(0, 2, 5), data: new TextEncoder().encode('hiabc') }),
      makeData({ type: new DateDay(), length: 2, data: Int32Array.of(0, 9298) }),
    ];
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 2, children }));
    const cells = arrowToCells([
      { name: 'i', type: 'int32' }, { name: 'd', type: 'double' }, { name: 'm', type: 'decimal', scale: 2 },
      { name: 's', type: 'string' }, { name: 'dt', type: 'date' },
    ], [batch]);
    expect(cells.map((r) => r.map(formatCell))).toEqual([
      ['7', '0.5', '123.45', 'hi', '1970-01-01'],
      ['NULL', '-2', '-0.01', 'abc', '1995-06-17'],
    ]);
  });
});
