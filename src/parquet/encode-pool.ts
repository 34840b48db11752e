import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import type { EncodeReply, EncodeRequest } from './encode-worker.js';
import type { ParquetEncodeSettings } from './writer-properties.js';

/**
 * The process's Parquet encode workers (encode-worker.ts): up to ENCODE_WORKERS_MAX, started by the
 * first export (start()) or as work needs them, and kept for the life of the process so parquet-wasm is
 * compiled and tiered up once per process rather than once per export. An idle worker is unref'd
 * (it never keeps the process alive); a busy one is ref'd (a pending export does).
 */

/** Encode workers per process. */
export const ENCODE_WORKERS_MAX = 2;

/** The compiled worker `name`.js next to this module (or under dist/ when running from source), or null. */
export function compiledParquetWorkerFile(name: string): string | null {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js')
    ? here.replace(/encode-pool\.js$/, `${name}.js`)
    : here.replace(/[/\\]src[/\\]parquet[/\\]encode-pool\.ts$/, `/dist/src/parquet/${name}.js`);
  return existsSync(file) ? file : null;
}

export interface ParquetEncodePool {
  /**
   * Encodes one part (Arrow IPC stream bytes) into a whole Parquet file. Bytes in a
   * SharedArrayBuffer are shared (keep them unchanged until the promise settles); any other
   * buffer is transferred (unusable afterwards).
   */
  encode(ipc: Uint8Array, settings: ParquetEncodeSettings): Promise<Uint8Array>;
  readonly workersMax: number;
  /** Starts the workers not yet running (they load parquet-wasm while the caller's first part is still being cut). */
  start(): void;
}

interface Pending {
  resolve(bytes: Uint8Array): void;
  reject(e: unknown): void;
}

interface EncodeWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  dead: boolean;
}

class EncodePool implements ParquetEncodePool {
  private readonly workers: EncodeWorker[] = [];
  private nextId = 1;

  constructor(private readonly file: string, readonly workersMax: number) {}

  encode(ipc: Uint8Array, settings: ParquetEncodeSettings): Promise<Uint8Array> {
    const w = this.pick();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      if (w.pending.size === 1) w.worker.ref();
      if (ipc.buffer instanceof SharedArrayBuffer) {
        // Shared memory crosses without a copy; the caller keeps it untouched until this settles.
        w.worker.postMessage({ id, ipc, settings } satisfies EncodeRequest);
        return;
      }
      const whole = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
      const body = whole ? ipc : ipc.slice();
      w.worker.postMessage({ id, ipc: body, settings } satisfies EncodeRequest, [body.buffer as ArrayBuffer]);
    });
  }

  start(): void {
    this.dropDead();
    while (this.workers.length < this.workersMax) this.startWorker();
  }

  private dropDead(): void {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1);
  }

  /** An idle worker, else a new one while under the limit, else the least loaded. */
  private pick(): EncodeWorker {
    this.dropDead();
    const idle = this.workers.find((w) => w.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.workers.length < this.workersMax) return this.startWorker();
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.pending.size < best.pending.size) best = w;
    return best;
  }

  private startWorker(): EncodeWorker {
    const worker = new Worker(this.file);
    worker.unref();
    const w: EncodeWorker = { worker, pending: new Map(), dead: false };
    const failAll = (e: unknown): void => {
      w.dead = true;
      for (const p of w.pending.values()) p.reject(e);
      w.pending.clear();
    };
    worker.on('message', (m: EncodeReply) => {
      const p = w.pending.get(m.id);
      assert(p !== undefined, `an encode worker answered request ${m.id}, which it was not given`);
      w.pending.delete(m.id);
      if (w.pending.size === 0) worker.unref();
      if (m.kind === 'done') p.resolve(m.parquet);
      else p.reject(new SaigaError('InvalidArgument', `Parquet encoding failed: ${m.message}`));
    });
    worker.on('error', (e) => failAll(new SaigaError('IllegalState', `Parquet encode worker failed: ${e.message}`)));
    worker.on('exit', (code) => failAll(new SaigaError('IllegalState', `Parquet encode worker exited with code ${code}`)));
    this.workers.push(w);
    return w;
  }
}

const pools = new Map<string, EncodePool>();

/**
 * The process's encode pool for the compiled encode worker, or for the worker file given (tests);
 * null when no compiled worker exists (running from source with no build).
 */
export function parquetEncodePool(workerFile?: string): ParquetEncodePool | null {
  const file = workerFile ?? compiledParquetWorkerFile('encode-worker');
  if (file === null) return null;
  let pool = pools.get(file);
  if (pool === undefined) {
    pool = new EncodePool(file, ENCODE_WORKERS_MAX);
    pools.set(file, pool);
  }
  return pool;
}
