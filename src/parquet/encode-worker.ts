import { parentPort } from 'node:worker_threads';
import * as pw from 'parquet-wasm';
import { writerProperties, type ParquetEncodeSettings } from './writer-properties.js';

/**
 * Worker thread that encodes parts of a Parquet export: each request carries Arrow IPC stream
 * bytes (at most one row group's rows) and gets back a whole Parquet file for them, which the
 * parent joins with the other parts (parquet-merge.ts). The worker lives as long as the process
 * (encode-pool.ts), so parquet-wasm is compiled and optimized once, not per export.
 *
 * | message | direction | meaning |
 * |---|---|---|
 * | `{ id, ipc, settings }` | parent -> worker | encode these rows (IPC bytes transferred) |
 * | `{ id, kind: 'done', parquet }` | worker -> parent | the part's Parquet bytes (transferred) |
 * | `{ id, kind: 'error', message }` | worker -> parent | encoding failed |
 */

export interface EncodeRequest {
  readonly id: number;
  readonly ipc: Uint8Array;
  readonly settings: ParquetEncodeSettings;
}

export type EncodeReply =
  | { readonly id: number; readonly kind: 'done'; readonly parquet: Uint8Array }
  | { readonly id: number; readonly kind: 'error'; readonly message: string };

const port = parentPort;
if (port !== null) {
  port.on('message', (m: EncodeRequest) => {
    let reply: EncodeReply;
    const transfer: ArrayBuffer[] = [];
    try {
      // writeParquet consumes both the table and the properties: build them per part (cheap).
      let parquet = pw.writeParquet(pw.Table.fromIPCStream(m.ipc), writerProperties(m.settings));
      if (parquet.byteOffset !== 0 || parquet.byteLength !== parquet.buffer.byteLength) parquet = parquet.slice();
      transfer.push(parquet.buffer as ArrayBuffer);
      reply = { id: m.id, kind: 'done', parquet };
    } catch (e) {
      reply = { id: m.id, kind: 'error', message: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply, transfer);
  });
}
