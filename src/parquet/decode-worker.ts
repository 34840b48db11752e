import { openAsBlob } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as pw from 'parquet-wasm';

/**
 * Worker thread that decodes one Parquet file (parquet-wasm) and posts each record batch to the
 * parent as Arrow IPC stream bytes (the ArrayBuffer is transferred, not copied). The parent
 * acknowledges every batch it consumed; at most `aheadMax` batches are unacknowledged, so a slow
 * consumer bounds the memory the worker fills.
 *
 * | message (worker -> parent) | meaning |
 * |---|---|
 * | `{ kind: 'batch', ipc: Uint8Array }` | one record batch (schema + batch, IPC stream) |
 * | `{ kind: 'group-end', group }` | row group `group` is complete (only when the job names row groups) |
 * | `{ kind: 'end' }` | the file (or the job's row groups) is exhausted |
 * | `{ kind: 'error', message }` | decoding failed; nothing follows |
 * The parent sends `'ack'` once per batch it took.
 */

export interface DecodeJob {
  readonly path: string;
  readonly columns?: readonly string[];
  /** Decode only these row groups, in this order, each followed by a 'group-end' message. */
  readonly rowGroups?: readonly number[];
  readonly batchRowCount: number;
  readonly aheadMax: number;
}

export type DecodeMessage =
  | { readonly kind: 'batch'; readonly ipc: Uint8Array }
  | { readonly kind: 'group-end'; readonly group: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly message: string };

const port = parentPort;
if (port !== null) {
  const job = workerData as DecodeJob;
  let credits = job.aheadMax;
  let wake: (() => void) | undefined;
  port.on('message', (m: unknown) => {
    if (m !== 'ack') return;
    credits++;
    const w = wake;
    wake = undefined;
    w?.();
  });
  const post = (m: DecodeMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const run = async (): Promise<void> => {
    const file = await pw.ParquetFile.fromFile(await openAsBlob(job.path));
    const decode = async (rowGroups: number[] | undefined): Promise<void> => {
      const options: pw.ReaderOptions = { batchSize: job.batchRowCount };
      if (job.columns !== undefined) options.columns = [...job.columns];
      if (rowGroups !== undefined) options.rowGroups = rowGroups;
      const reader = (await file.stream(options)).getReader();
      for (;;) {
        const next = (await reader.read()) as { done: boolean; value?: pw.RecordBatch };
        if (next.done || next.value === undefined) break;
        // intoIPCStream copies out of wasm memory into a buffer of its own: transfer it whole.
        let ipc = next.value.intoIPCStream();
        if (ipc.byteOffset !== 0 || ipc.byteLength !== ipc.buffer.byteLength) ipc = ipc.slice();
        while (credits === 0) await new Promise<void>((resolve) => { wake = resolve; });
        credits--;
        post({ kind: 'batch', ipc }, [ipc.buffer as ArrayBuffer]);
      }
    };
    if (job.rowGroups === undefined) await decode(undefined);
    else {
      for (const group of job.rowGroups) {
        await decode([group]);
        post({ kind: 'group-end', group });
      }
    }
    post({ kind: 'end' });
  };
  run().catch((e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e) }));
}
