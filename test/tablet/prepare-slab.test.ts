import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { MAX_CELL_SIZE_BYTES, type Schema } from '../../src/common/types.js';
import { prepareArrowBatch, preparedToArrow, takePrepared, type SlabAllocator } from '../../src/tablet/prepare-batch.js';

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'int64', nullable: false },
    { name: 'v', type: 'float64', nullable: false },
    { name: 's', type: 'string', nullable: false },
  ],
};

/** n rows; string cells of `width` bytes (a take of these rows needs about n * (width + 28) bytes). */
function batch(n: number, width: number): arrow.RecordBatch {
  const k = new BigInt64Array(n);
  const v = new Float64Array(n);
  const bytes = new Uint8Array(n * width);
  const ends = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    k[i] = BigInt(i);
    v[i] = i * 0.5;
    bytes.fill(97 + (i % 26), i * width, (i + 1) * width);
    ends[i + 1] = (i + 1) * width;
  }
  return new arrow.RecordBatch({
    k: arrow.makeData({ type: new arrow.Int64(), length: n, data: k }),
    v: arrow.makeData({ type: new arrow.Float64(), length: n, data: v }),
    s: arrow.makeData({ type: new arrow.Utf8(), length: n, valueOffsets: ends, data: bytes }),
  });
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** As bulk-stage.ts's allocator: a recycled slab of [bytes, 1.5 bytes], else none. */
function recycler(pool: SharedArrayBuffer[]): { alloc: SlabAllocator; asked: number[]; reused: number } {
  const r = { asked: [] as number[], reused: 0, alloc: (bytes: number): SharedArrayBuffer | undefined => {
    r.asked.push(bytes);
    const i = pool.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 1.5 * bytes);
    if (i < 0) return undefined;
    r.reused++;
    return pool.splice(i, 1)[0];
  } };
  return r;
}

describe('take slabs under a SlabAllocator', () => {
  it('a fresh slab of a large take has headroom, so the next slightly larger take reuses it', () => {
    const pool: SharedArrayBuffer[] = [];
    const r = recycler(pool);
    const a = prepareArrowBatch(schema, 'insert', batch(20_000, 40));
    const ta = takePrepared(schema, a, identity(a.rowCount), r.alloc);
    const slab = ta.keyBytes.buffer as SharedArrayBuffer;
    const asked = r.asked[0]!;
    expect(asked).toBeGreaterThan(1024 * 1024);
    expect(slab.byteLength).toBeGreaterThanOrEqual(asked * 1.125);
    expect(slab.byteLength % (1024 * 1024)).toBe(0);
    // The written file frees it; a take 8% larger (longer strings) fits it.
    pool.push(slab);
    const b = prepareArrowBatch(schema, 'insert', batch(20_000, 44));
    const tb = takePrepared(schema, b, identity(b.rowCount), r.alloc);
    expect(r.asked[1]!).toBeGreaterThan(asked);
    expect(r.reused).toBe(1);
    expect(tb.keyBytes.buffer).toBe(slab);
    // And the rows are right (the recycled slab held the previous take's bytes).
    const got = preparedToArrow(schema, tb);
    const s = got.getChild('s')!;
    for (const i of [0, 1, 25, 19_999]) expect(s.get(i)).toBe(String.fromCharCode(97 + (i % 26)).repeat(44));
    expect(got.getChild('v')!.get(19_999)).toBe(19_999 * 0.5);
  });

  it('a part of a batch gets a slab sized from its own take (headroom only), not the table\'s full takes', () => {
    const pool: SharedArrayBuffer[] = [];
    const r = recycler(pool);
    const full = prepareArrowBatch(schema, 'insert', batch(20_000, 40));
    const first = takePrepared(schema, full, identity(full.rowCount), r.alloc).keyBytes.buffer as SharedArrayBuffer;
    // A part of 8,000 rows (40% of a full take) for the next tablet: sizing it like the full takes
    // cost DoPut (many part-sized takes) a third of its server CPU in page faults (session 5).
    const part = takePrepared(schema, full, identity(8_000), r.alloc).keyBytes.buffer as SharedArrayBuffer;
    expect(r.asked[1]!).toBeLessThan(0.5 * r.asked[0]!);
    expect(part.byteLength).toBeLessThan(first.byteLength);
    expect(part.byteLength).toBeGreaterThanOrEqual(r.asked[1]!);
  });

  it('small takes and takes without an allocator get a slab of exactly their size', () => {
    const r = recycler([]);
    const p = prepareArrowBatch(schema, 'insert', batch(1000, 10));
    const t = takePrepared(schema, p, identity(p.rowCount), r.alloc);
    expect((t.keyBytes.buffer as SharedArrayBuffer).byteLength).toBe(r.asked[0]);
    const big = prepareArrowBatch(schema, 'insert', batch(20_000, 40));
    const r2 = recycler([]);
    takePrepared(schema, big, identity(big.rowCount), r2.alloc);
    const plain = takePrepared(schema, big, identity(big.rowCount));
    expect((plain.keyBytes.buffer as SharedArrayBuffer).byteLength).toBe(r2.asked[0]);
  });
});

describe('cell size check', () => {
  const s2: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int32', nullable: false }, { name: 's', type: 'string', nullable: false }] };
  /** n rows of `width`-byte cells, except the rows in `big` (MAX_CELL_SIZE_BYTES + 1 bytes; one at exactly the bound). */
  function cells(n: number, width: number, big: readonly number[], exact: number): arrow.Data<arrow.Utf8> {
    const ends = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) ends[i + 1] = (ends[i] as number) + (big.includes(i) ? MAX_CELL_SIZE_BYTES + 1 : i === exact ? MAX_CELL_SIZE_BYTES : width);
    return arrow.makeData({ type: new arrow.Utf8(), length: n, valueOffsets: ends, data: new Uint8Array(ends[n] as number).fill(120) });
  }
  const keys = (n: number, from = 0): arrow.Data<arrow.Int32> => arrow.makeData({ type: new arrow.Int32(), length: n, data: Int32Array.from({ length: n }, (_, i) => from + i) });

  it('finds every oversized cell, in full and partial blocks, in one chunk and in several', () => {
    const n = 1000;
    // Rows 0, 255, 256 (block edges), 700 and 999 (last, partial block) too large; 500 exactly at the bound.
    const big = [0, 255, 256, 700, 999];
    const one = prepareArrowBatch(s2, 'insert', new arrow.RecordBatch({ k: keys(n), s: cells(n, 30, big, 500) }));
    expect(one.rowErrors.map((e) => e.rowIndex)).toEqual(big);
    expect(one.rowErrors[0]!.message).toContain(`larger than ${MAX_CELL_SIZE_BYTES} bytes`);
    expect(one.rowCount).toBe(n - big.length);
    // A sliced column (offsets not from 0: the copying path); row numbers are the slice's.
    const sliced = cells(n + 50, 30, [20, 60, 350, 1049], 310).slice(50, n);
    expect((sliced.valueOffsets as Int32Array)[0]).not.toBe(0);
    const copied = prepareArrowBatch(s2, 'insert', new arrow.RecordBatch({ k: keys(n), s: sliced }));
    expect(copied.rowErrors.map((e) => e.rowIndex)).toEqual([10, 300, 999]);
    expect(preparedToArrow(s2, copied).getChild('s')!.get(0)).toBe('x'.repeat(30));
  });
});
