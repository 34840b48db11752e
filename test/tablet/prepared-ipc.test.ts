import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { prepareArrowBatch, preparedToArrow, preparedToIpcChunks, takePrepared, takePreparedForLog } from '../../src/tablet/prepare-batch.js';
import type { PreparedBatch } from '../../src/tablet/tablet-api.js';
import {
  decodeWriteBatchArrow, encodeWriteBatchArrow, encodeWriteBatchArrowChunks, WRITE_BATCH_ENTRY_RESERVE_BYTES, writeWriteBatchArrowHeader,
} from '../../src/wal/batch-codec.js';

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

  describe('takePreparedForLog', () => {
    const cell = (v: arrow.Vector, i: number): unknown => { const x = v.get(i) as unknown; return x instanceof Uint32Array ? [...x] : x; };
    /** The entry's IPC equals the joined stream of the taken batch, its columns are views on the entry, and the rows are the listed ones. */
    const check = (sch: Schema, p: PreparedBatch, rows: Int32Array | undefined, label: string): PreparedBatch => {
      const t = takePreparedForLog(sch, p, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES);
      const keep = rows ?? Int32Array.from({ length: p.rowCount }, (_, i) => i);
      expect(t.rowCount, label).toBe(keep.length);
      expect(t.buffersOwned).toBe(true);
      const entry = t.logEntry!;
      expect(entry.ipcOffset).toBe(WRITE_BATCH_ENTRY_RESERVE_BYTES);
      const joined = arrow.RecordBatchStreamWriter.writeAll([preparedToArrow(sch, t)]).toUint8Array(true);
      expect(Buffer.from(entry.bytes.subarray(entry.ipcOffset)).equals(Buffer.from(joined)), label).toBe(true);
      // No copy: every given column's values are on the entry's buffer.
      sch.columns.forEach((_c, ci) => {
        if (t.given[ci] === true) expect((t.columns[ci]!.values as Uint8Array).buffer === entry.bytes.buffer, `${label} column ${ci} on the entry`).toBe(true);
      });
      // The header written in place decodes, and the stream decodes to the listed rows.
      writeWriteBatchArrowHeader(entry.bytes, 1, { timestamp: 77n << 12n, kind: t.kind, rowCount: t.rowCount });
      const back = decodeWriteBatchArrow(entry.bytes.subarray(1));
      expect(back.timestamp).toBe(77n << 12n);
      expect(back.rowCount).toBe(keep.length);
      const got = arrow.tableFromIPC(back.ipc);
      const all = preparedToArrow(sch, p);
      sch.columns.forEach((c, ci) => {
        if (p.given[ci] !== true) return;
        const a = got.getChild(c.name)!;
        const e = all.getChild(c.name)!;
        for (let j = 0; j < keep.length; j++) expect(cell(a, j), `${label} ${c.name} row ${j}`).toEqual(cell(e, keep[j]!));
      });
      for (let j = 0; j < keep.length; j++) {
        const r = keep[j]!;
        expect([...t.keyBytes.subarray(t.keyOffsets[j]!, t.keyOffsets[j + 1]!)]).toEqual([...p.keyBytes.subarray(p.keyOffsets[r]!, p.keyOffsets[r + 1]!)]);
        expect(t.inputIndex === undefined ? r : t.inputIndex[j], `${label} input index ${j}`).toBe(p.inputIndex === undefined ? r : p.inputIndex[r]);
      }
      return t;
    };

    it('lays the IPC stream in the entry with the taken columns as views on it (all rows, some rows, nulls dropped by the take)', () => {
      for (const [n, seed] of [[1, 3], [300, 11], [4099, 8]] as const) {
        const p = prepareArrowBatch(schema, 'upsert', batch(n, seed));
        expect(p.rowErrors).toEqual([]);
        check(schema, p, undefined, `all of ${n}`);
        const rows = new Int32Array(Array.from({ length: n }, (_, i) => i).filter((i) => (i * 7919 + seed) % 3 !== 0));
        if (rows.length > 0) check(schema, p, rows, `some of ${n}`);
        // Rows whose nullable columns hold no NULL: the stream has no validity buffers for them.
        const s = preparedToArrow(schema, p).getChild('s')!;
        const b = preparedToArrow(schema, p).getChild('b')!;
        const noNulls = new Int32Array(Array.from({ length: n }, (_, i) => i).filter((i) => s.isValid(i) && b.isValid(i)));
        if (noNulls.length > 0) check(schema, p, noNulls, `no nulls of ${n}`);
      }
    });

    it('int32 / date columns read without a Float64 copy: the canonical values, the take and the log entry hold the input values', () => {
      const n = 3001;
      const input = batch(n, 17);
      const p = prepareArrowBatch(schema, 'insert', input);
      const want = Array.from(input.getChild('i')!.data[0]!.values as Int32Array);
      const rows = new Int32Array(Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1));
      const t = takePreparedForLog(schema, p, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES);
      expect(Array.from(t.columns[3]!.values as Float64Array)).toEqual([...rows].map((r) => want[r]));
      expect(t.columns[3]!.values).toBeInstanceOf(Float64Array);
      // Read after the take: the canonical column materializes the same values.
      expect(p.columns[3]!.values).toBeInstanceOf(Float64Array);
      expect(Array.from(p.columns[3]!.values as Float64Array)).toEqual(want);
      const back = arrow.tableFromIPC(decodeWriteBatchArrow(writeWriteBatchArrowHeader(t.logEntry!.bytes, 1, { timestamp: 1n, kind: 'insert', rowCount: t.rowCount }).subarray(1)).ipc);
      expect(Array.from(back.getChild('i')!.toArray() as Float64Array)).toEqual([...rows].map((r) => want[r]));
    });

    it('keeps not-given columns (defaults) and rows around prepare errors', () => {
      const s3: Schema = {
        keyColumnCount: 1,
        columns: [
          { name: 'k', type: 'int32', nullable: false },
          { name: 'v', type: 'string', nullable: true },
          { name: 'dflt', type: 'int64', nullable: false, defaultValue: 5n },
        ],
      };
      const n = 1000;
      const k = Int32Array.from({ length: n }, (_, i) => i);
      const v = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : 'x'.repeat(i % 70)));
      const kNull = arrow.vectorFromArray(Array.from(k, (x) => (x % 97 === 5 ? null : x)), new arrow.Int32()).data[0] as arrow.Data;
      const p = prepareArrowBatch(s3, 'insert', new arrow.RecordBatch({ k: kNull, v: arrow.vectorFromArray(v, new arrow.Utf8()).data[0] as arrow.Data }));
      expect(p.rowErrors.length).toBe(Math.floor((n - 5 - 1) / 97) + 1);
      expect(p.given).toEqual([true, true, false]);
      const rows = new Int32Array(Array.from({ length: p.rowCount }, (_, i) => i).filter((i) => i % 5 !== 1));
      for (const [r, label] of [[undefined, 'all'], [rows, 'some']] as const) {
        const t = check(s3, p, r, label);
        const d = t.columns[2]!;
        expect(d.length).toBe(t.rowCount);
        expect([...(d.values as BigInt64Array)].every((x) => x === 5n)).toBe(true);
      }
    });
  });
});
