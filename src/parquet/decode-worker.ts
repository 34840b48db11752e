import { openAsBlob } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as pw from 'parquet-wasm';

/**
 * Worker thread that decodes one Parquet file (parquet-wasm) and posts each record batch to the
 * parent as Arrow IPC stream bytes: copied into a free slot of the job's SharedArrayBuffers when
 * it has slots (the parent's thread then allocates nothing per batch, and V8 sees no new
 * external memory: no GC it would trigger), else as an ArrayBuffer transferred, not copied. The
 * parent acknowledges every batch it consumed; at most `aheadMax` batches are unacknowledged, so
 * a slow consumer bounds the memory the worker fills. A slot is the parent's until it releases it.
 *
 * | message (worker -> parent) | meaning |
 * |---|---|
 * | `{ kind: 'batch', ipc: Uint8Array }` | one record batch (schema + batch, IPC stream) |
 * | `{ kind: 'batch-slot', slot, byteLength }` | the same, in `slots[slot]` bytes [0, byteLength) |
 * | `{ kind: 'group-end', group }` | row group `group` is complete (only when the job names row groups) |
 * | `{ kind: 'end' }` | the file (or the job's row groups) is exhausted |
 * | `{ kind: 'error', message }` | decoding failed; nothing follows |
 * The parent sends `'ack'` once per batch it took, and `{ release: slot }` when it no longer
 * reads a slot's bytes (anything still viewing them would see the next batch).
 */

export interface DecodeJob {
  readonly path: string;
  readonly columns?: readonly string[];
  /** Decode only these row groups, in this order, each followed by a 'group-end' message. */
  readonly rowGroups?: readonly number[];
  readonly batchRowCount: number;
  readonly aheadMax: number;
  /** Buffers to pass batches in (each at most one batch, until the parent releases it). */
  readonly slots?: readonly SharedArrayBuffer[];
}

/** Parent -> worker: a credit for one more batch, or a slot given back. */
export type DecodeControl = 'ack' | { readonly release: number };

export type DecodeMessage =
  | { readonly kind: 'batch'; readonly ipc: Uint8Array }
  | { readonly kind: 'batch-slot'; readonly slot: number; readonly byteLength: number }
  | { readonly kind: 'group-end'; readonly group: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly message: string };

const port = parentPort;
if (port !== null) {
  const job = workerData as DecodeJob;
  let credits = job.aheadMax;
  let wake: (() => void) | undefined;
  const slots = job.slots ?? [];
  const freeSlots = slots.map((_, i) => slots.length - 1 - i);
  port.on('message', (m: DecodeControl) => {
    if (m !== 'ack') {
      freeSlots.push(m.release);
      return;
    }
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
        let ipc = next.value.intoIPCStream();
        while (credits === 0) await new Promise<void>((resolve) => { wake = resolve; });
        credits--;
        const slot = freeSlots.length > 0 && ipc.byteLength <= (slots[freeSlots[freeSlots.length - 1] as number] as SharedArrayBuffer).byteLength ? freeSlots.pop() : undefined;
        if (slot !== undefined) {
          new Uint8Array(slots[slot] as SharedArrayBuffer, 0, ipc.byteLength).set(ipc);
          post({ kind: 'batch-slot', slot, byteLength: ipc.byteLength });
          continue;
        }
        // intoIPCStream copies out of wasm memory into a buffer of its own: transfer it whole.
        if (ipc.byteOffset !== 0 || ipc.byteLength !== ipc.buffer.byteLength) ipc = ipc.slice();
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
