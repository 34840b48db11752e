import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { prepareArrowBatch, preparedToArrow, preparedToIpcChunks, takePrepared } from '../../src/tablet/prepare-batch.js';
import { decodeWriteBatchArrow, encodeWriteBatchArrow, encodeWriteBatchArrowChunks } from '../../src/wal/batch-codec.js';

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'int64', nullable: false },
    { name: 's', type: 'string', nullable: true },
    { name: 'd', type: 'decimal', precision: 12, scale: 2, nullable: true },
    { name: 'i', type: 'int32', nullable: true },
    { name: 'b', type: 'bool', nullable: true },
  ],
};

function batch(n: number, seed: number): arrow.RecordBatch {
  const k = new BigInt64Array(n);
  const s: (string | null)[] = [];
  const d = new Uint32Array(4 * n);
  const i32 = new Int32Array(n);
  const b: (boolean | null)[] = [];
  let x = seed;
  for (let r = 0; r < n; r++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    k[r] = BigInt(r * 3 + 1);
    s.push(x % 7 === 0 ? null : 'v'.repeat(x % 13) + String(x));
    d[4 * r] = x % 100000;
    i32[r] = (x % 2001) - 1000;
    b.push(x % 5 === 0 ? null : (x & 1) === 1);
  }
  return new arrow.RecordBatch({
    k: arrow.makeData({ type: new arrow.Int64(), length: n, data: k }),
    s: arrow.vectorFromArray(s, new arrow.Utf8()).data[0] as arrow.Data,
    d: arrow.makeData({ type: new arrow.Decimal(2, 12, 128), length: n, data: d }),
    i: arrow.makeData({ type: new arrow.Int32(), length: n, data: i32 }),
    b: arrow.vectorFromArray(b, new arrow.Bool()).data[0] as arrow.Data,
  });
}

describe('writeBatch payload built from IPC chunks', () => {
  it('equals the joined IPC stream payload byte for byte, after the prefix, and decodes to the same rows', () => {
    for (const [n, seed] of [[1, 1], [257, 42], [5000, 7]] as const) {
      const p = prepareArrowBatch(schema, 'upsert', batch(n, seed));
      expect(p.rowErrors).toEqual([]);
      const joined = arrow.RecordBatchStreamWriter.writeAll([preparedToArrow(schema, p)]).toUint8Array(true);
      const header = { timestamp: 123456789n << 12n, kind: p.kind, rowCount: p.rowCount };
      const old = encodeWriteBatchArrow({ ...header, ipc: joined });
      const ipc = preparedToIpcChunks(schema, p);
      expect(ipc.byteLength).toBe(joined.byteLength);
      const withPrefix = encodeWriteBatchArrowChunks(header, ipc.chunks, ipc.byteLength, 1);
      expect(withPrefix.byteLength).toBe(old.byteLength + 1);
      expect(Buffer.from(withPrefix.subarray(1)).equals(Buffer.from(old)), `n ${n} seed ${seed}`).toBe(true);
      const back = decodeWriteBatchArrow(withPrefix.subarray(1));
      expect(back.kind).toBe('upsert');
      expect(back.rowCount).toBe(n);
      expect(back.timestamp).toBe(header.timestamp);
      const t = arrow.tableFromIPC(back.ipc);
      expect(t.numRows).toBe(n);
      expect(t.getChild('s')?.toArray()).toEqual(preparedToArrow(schema, p).getChild('s')?.toArray());
    }
  });

  it('prepares sliced batches (views with offsets) to the same rows as whole ones', () => {
    const whole = batch(300, 99);
    const full = preparedToArrow(schema, prepareArrowBatch(schema, 'insert', whole));
    for (const [from, to] of [[0, 300], [7, 45], [128, 300], [299, 300]] as const) {
      const p = prepareArrowBatch(schema, 'insert', whole.slice(from, to));
      expect(p.rowErrors).toEqual([]);
      const got = preparedToArrow(schema, p);
      for (const name of ['k', 's', 'd', 'i', 'b']) {
        const a = got.getChild(name)!;
        const e = full.getChild(name)!.slice(from, to);
        const rows = (v: arrow.Vector): unknown[] => Array.from({ length: v.length }, (_, i) => { const x = v.get(i) as unknown; return x instanceof Uint32Array ? [...x] : x; });
        expect(rows(a), `${name} [${from}, ${to})`).toEqual(rows(e));
      }
      // Keys are encoded from the sliced values.
      expect(p.keyOffsets.length).toBe(to - from + 1);
    }
  });

  it('takePrepared keeps exactly the listed rows of every column and key', () => {
    const p = prepareArrowBatch(schema, 'insert', batch(2000, 5));
    const all = preparedToArrow(schema, p);
    const rows = new Int32Array(Array.from({ length: 2000 }, (_, i) => i).filter((i) => (i * 7919) % 3 !== 0).reverse());
    const t = takePrepared(schema, p, rows);
    expect(t.rowCount).toBe(rows.length);
    expect([...t.inputIndex!]).toEqual([...rows]);
    const got = preparedToArrow(schema, t);
    const cell = (v: arrow.Vector, i: number): unknown => { const x = v.get(i) as unknown; return x instanceof Uint32Array ? [...x] : x; };
    for (const name of ['k', 's', 'd', 'i', 'b']) {
      const a = got.getChild(name)!;
      const e = all.getChild(name)!;
      for (let j = 0; j < rows.length; j++) expect(cell(a, j), `${name} row ${j}`).toEqual(cell(e, rows[j]!));
    }
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j]!;
      expect([...t.keyBytes.subarray(t.keyOffsets[j]!, t.keyOffsets[j + 1]!)]).toEqual([...p.keyBytes.subarray(p.keyOffsets[r]!, p.keyOffsets[r + 1]!)]);
    }
  });

  it('takePrepared keeps one-byte, short and long strings (the three copy paths)', () => {
    const s2: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int32', nullable: false }, { name: 'f', type: 'string', nullable: true }, { name: 'c', type: 'string', nullable: false }] };
    const n = 500;
    const f = Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : 'ABNR'[i % 4]!));
    const c = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(i % 3 === 0 ? 40 + (i % 17) : 1 + (i % 31)));
    const p = prepareArrowBatch(s2, 'insert', new arrow.RecordBatch({
      k: arrow.makeData({ type: new arrow.Int32(), length: n, data: Int32Array.from({ length: n }, (_, i) => i) }),
      f: arrow.vectorFromArray(f, new arrow.Utf8()).data[0] as arrow.Data,
      c: arrow.vectorFromArray(c, new arrow.Utf8()).data[0] as arrow.Data,
    }));
    // Rows whose f is not NULL: every kept f cell is one byte wide.
    const rows = new Int32Array(Array.from({ length: n }, (_, i) => i).filter((i) => i % 9 !== 0 && i % 2 === 1));
    const got = preparedToArrow(s2, takePrepared(s2, p, rows));
    expect(got.getChild('f')!.toArray()).toEqual([...rows].map((r) => f[r]));
    expect(got.getChild('c')!.toArray()).toEqual([...rows].map((r) => c[r]));
    const withNulls = new Int32Array([0, 1, 9, 10, 18, 499]);
    const got2 = preparedToArrow(s2, takePrepared(s2, p, withNulls));
    expect(got2.getChild('f')!.toArray()).toEqual([...withNulls].map((r) => f[r]));
  });
});
