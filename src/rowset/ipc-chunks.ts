import * as arrow from 'apache-arrow';
import { writeSync, writevSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { assert } from '../common/assert.js';

/**
 * Arrow IPC streams as the writer's chunks (the flatbuffer headers and views on the column
 * buffers), never joined: a caller copies them once into its own buffer or writes them with one
 * writev, instead of the writer first concatenating them into a new buffer.
 */

/** An IPC sink that keeps the writer's chunks instead of joining them. */
class ChunkSink extends arrow.AsyncByteQueue {
  readonly chunks: Uint8Array[] = [];
  byteLength = 0;
  override write(value: Parameters<arrow.AsyncByteQueue['write']>[0]): void {
    const b = value as Uint8Array;
    assert(b instanceof Uint8Array, 'the IPC writer hands its sink Uint8Arrays');
    if (b.byteLength === 0) return;
    this.chunks.push(b);
    this.byteLength += b.byteLength;
  }
}

export interface IpcChunks {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
}

/** The IPC stream (schema + the batches + end-of-stream) of `batches`, as chunks. */
export function ipcStreamChunks(batches: readonly arrow.RecordBatch[]): IpcChunks {
  const sink = new ChunkSink();
  const writer = new arrow.RecordBatchStreamWriter();
  writer.reset(sink);
  for (const b of batches) writer.write(b);
  writer.finish();
  return { chunks: sink.chunks, byteLength: sink.byteLength };
}

/** CRC32 of the concatenation of `chunks`. */
export function crc32Chunks(chunks: readonly Uint8Array[]): number {
  let c = 0;
  for (const b of chunks) c = crc32(b, c);
  return c;
}

/** Buffers per writev call (below IOV_MAX = 1024 on Linux). */
const WRITEV_BUFFERS_MAX = 1000;

/** Writes all of `chunks` at `position` (writev; a short write continues where it stopped). Returns the bytes written. */
export function writeChunksSync(fd: number, chunks: readonly Uint8Array[], position: number): number {
  let pos = position;
  for (let k = 0; k < chunks.length; k += WRITEV_BUFFERS_MAX) {
    const group = chunks.slice(k, k + WRITEV_BUFFERS_MAX);
    let want = 0;
    for (const b of group) want += b.byteLength;
    const done = writevSync(fd, group, pos);
    if (done < want) {
      // Short write: finish the rest buffer by buffer.
      let bufStart = pos;
      for (const b of group) {
        const bufEnd = bufStart + b.byteLength;
        if (pos + done < bufEnd) {
          let at = Math.max(0, pos + done - bufStart);
          while (at < b.byteLength) at += writeSync(fd, b, at, b.byteLength - at, bufStart + at);
        }
        bufStart = bufEnd;
      }
    }
    pos += want;
  }
  return pos - position;
}
