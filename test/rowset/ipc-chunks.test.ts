import * as arrow from 'apache-arrow';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Chunks, ipcStreamChunks, writeChunksSync } from '../../src/rowset/ipc-chunks.js';

function batch(n: number): arrow.RecordBatch {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = i * 1.5;
  const s = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `s${i}`));
  return new arrow.RecordBatch({
    v: arrow.makeData({ type: new arrow.Float64(), length: n, data: v }),
    s: arrow.vectorFromArray(s, new arrow.Utf8()).data[0] as arrow.Data,
  });
}

describe('IPC chunks', () => {
  it('are the joined IPC stream, and writev lays them out contiguously at a position', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-ipc-chunks-'));
    try {
      for (const n of [0, 1, 1000]) {
        const b = batch(n);
        const joined = arrow.RecordBatchStreamWriter.writeAll([b]).toUint8Array(true);
        const c = ipcStreamChunks([b]);
        expect(c.byteLength).toBe(joined.byteLength);
        expect(crc32Chunks(c.chunks)).toBe(crc32(joined));
        // More buffers than one writev takes (IOV_MAX), after a 3-byte prefix.
        const many = [...c.chunks, ...Array.from({ length: 2100 }, (_, i) => new Uint8Array([i & 0xff, (i >> 8) & 0xff]))];
        const path = join(dir, `f${n}`);
        const fd = openSync(path, 'w');
        const wrote = writeChunksSync(fd, many, 3);
        closeSync(fd);
        expect(wrote).toBe(c.byteLength + 4200);
        const file = readFileSync(path);
        expect(file.byteLength).toBe(3 + c.byteLength + 4200);
        expect(Buffer.from(file.subarray(3, 3 + c.byteLength)).equals(Buffer.from(joined))).toBe(true);
        expect(file[3 + c.byteLength + 2 * 2099]).toBe(2099 & 0xff);
        expect(file[3 + c.byteLength + 2 * 2099 + 1]).toBe(2099 >> 8);
        expect(arrow.tableFromIPC(file.subarray(3, 3 + c.byteLength)).numRows).toBe(n);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
