import { Worker } from 'node:worker_threads';
import { compiledWorkerFile } from './worker-file.js';

/**
 * Pre-touched SharedArrayBuffers for the bulk write path's log entries (takePreparedForLog).
 *
 * Every written row is copied once into a fresh SharedArrayBuffer that its log entry and the
 * MemRowSet then share; the first write to each fresh page is a page fault plus the kernel
 * zeroing the page (~100-150 ns per 200-byte row, measured alone), on the writing thread. The
 * warmer thread (page-warmer-worker.ts) allocates buffers of the sizes the writing thread asked
 * for recently and writes one zero per 4 KiB page before posting them back, so those faults are
 * taken off the writing thread. A warmed buffer is fresh (all zeros, never handed out before)
 * and is handed out once: nothing is ever reused, so no release rule is needed; the warmer only
 * moves where the first touch happens.
 *
 * | rule | value |
 * |---|---|
 * | buffers asked for | `bytes` >= WARM_BYTES_MIN |
 * | a pooled buffer serves `bytes` when | bytes <= its length <= bytes * WARM_SLACK_MAX |
 * | the warmer is asked for | bytes * WARM_ASK_FACTOR, rounded up to 64 KiB, after every take of that size |
 * | pooled buffers | at most WARM_POOL_MAX, WARM_POOL_BYTES_MAX bytes; the oldest dropped first |
 * | idle | the pool is emptied after WARM_IDLE_MS without a take |
 *
 * Without SAIGA_PAGE_WARMER=1, without a compiled worker (running from source without
 * `npm run build`) or once the worker failed, `takeWarmBuffer` returns undefined and callers
 * allocate as before.
 */

export const WARM_BYTES_MIN = 256 * 1024;
export const WARM_SLACK_MAX = 1.15;
const WARM_ASK_FACTOR = 1.04;
const WARM_ROUND_BYTES = 64 * 1024;
export const WARM_POOL_MAX = 8;
const WARM_POOL_BYTES_MAX = 128 * 1024 * 1024;
const WARM_IDLE_MS = 5000;

export interface WarmRequest {
  readonly bytes: number;
}

let fileOverride: string | null | undefined;
/**
 * Off unless the environment sets SAIGA_PAGE_WARMER=1 (or a test sets the worker file). Measured
 * on the shared 2-core machine (README): the writing thread's CPU per row drops ~9% at SF1, but
 * the process takes ~1.8x the page faults (warmed buffers are always fresh pages, where the
 * writing thread's own allocations reuse memory freed by earlier flushes), and a lineitem SF1
 * DoPut is bound by the process's total CPU, not by the writing thread.
 */
const ENV_ENABLED = process.env['SAIGA_PAGE_WARMER'] === '1';
let enabled = ENV_ENABLED;

/** The compiled warmer worker, or null. */
export function pageWarmerFile(): string | null {
  if (fileOverride !== undefined) return fileOverride;
  return compiledWorkerFile(import.meta.url, 'page-warmer', 'page-warmer-worker');
}

/** Tests: force a worker file and enable the warmer (null: no warmer); undefined restores detection and the environment's choice. Drops the current warmer. */
export function setPageWarmerFile(file: string | null | undefined): void {
  fileOverride = file;
  enabled = file === undefined ? ENV_ENABLED : file !== null;
  warmer?.stop();
  warmer = undefined;
  failed = false;
}

class PageWarmer {
  private readonly worker: Worker;
  private readonly pool: SharedArrayBuffer[] = [];
  private poolBytes = 0;
  private asked = 0;
  private lastTake = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Counters (tests, figures). */
  served = 0;
  missed = 0;
  received = 0;

  constructor(file: string) {
    this.worker = new Worker(file);
    this.worker.on('message', (buf: SharedArrayBuffer) => {
      this.asked = Math.max(0, this.asked - 1);
      this.received++;
      this.add(buf);
    });
    const fail = (why: string): void => {
      if (warmer === this) {
        console.error(`saiga page warmer stopped: ${why}; log entry buffers are allocated on the writing thread`);
        warmer = undefined;
        failed = true;
      }
      this.clear();
    };
    this.worker.on('error', (e) => fail(String(e)));
    this.worker.on('exit', (code) => fail(`exited with code ${code}`));
    // After the listeners (a 'message' listener refs the worker again): the warmer never keeps
    // the process alive.
    this.worker.unref();
  }

  private add(buf: SharedArrayBuffer): void {
    while (this.pool.length > 0 && (this.pool.length >= WARM_POOL_MAX || this.poolBytes + buf.byteLength > WARM_POOL_BYTES_MAX)) {
      this.poolBytes -= (this.pool.shift() as SharedArrayBuffer).byteLength;
    }
    if (buf.byteLength > WARM_POOL_BYTES_MAX) return;
    this.pool.push(buf);
    this.poolBytes += buf.byteLength;
    if (this.idleTimer === undefined) {
      this.idleTimer = setInterval(() => {
        if (performance.now() - this.lastTake < WARM_IDLE_MS) return;
        this.clear();
      }, WARM_IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private clear(): void {
    this.pool.length = 0;
    this.poolBytes = 0;
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** A pooled buffer of bytes .. bytes * WARM_SLACK_MAX bytes, if any; asks for the next one. */
  take(bytes: number): SharedArrayBuffer | undefined {
    this.lastTake = performance.now();
    let got: SharedArrayBuffer | undefined;
    for (let k = 0; k < this.pool.length; k++) {
      const b = this.pool[k] as SharedArrayBuffer;
      if (b.byteLength >= bytes && b.byteLength <= bytes * WARM_SLACK_MAX) {
        this.pool.splice(k, 1);
        this.poolBytes -= b.byteLength;
        got = b;
        break;
      }
    }
    if (got === undefined) this.missed++;
    else this.served++;
    if (this.asked < WARM_POOL_MAX) {
      this.asked++;
      const ask = Math.ceil((bytes * WARM_ASK_FACTOR) / WARM_ROUND_BYTES) * WARM_ROUND_BYTES;
      this.worker.postMessage({ bytes: ask } satisfies WarmRequest);
    }
    return got;
  }

  stop(): void {
    this.clear();
    void this.worker.terminate();
  }

  get pooled(): number {
    return this.pool.length;
  }
}

let warmer: PageWarmer | undefined;
let failed = false;

/**
 * A fresh, pre-touched, all-zero SharedArrayBuffer of at least `bytes` bytes (at most
 * bytes * WARM_SLACK_MAX), or undefined: the caller allocates its own. Never the same buffer twice.
 */
export function takeWarmBuffer(bytes: number): SharedArrayBuffer | undefined {
  if (!enabled || bytes < WARM_BYTES_MIN || failed) return undefined;
  if (warmer === undefined) {
    const file = pageWarmerFile();
    if (file === null) return undefined;
    warmer = new PageWarmer(file);
  }
  return warmer.take(bytes);
}

/** Counters of the process's warmer (tests, figures). */
export function pageWarmerStats(): { served: number; missed: number; received: number; pooled: number } {
  return warmer === undefined ? { served: 0, missed: 0, received: 0, pooled: 0 } : { served: warmer.served, missed: warmer.missed, received: warmer.received, pooled: warmer.pooled };
}
