import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { compiledWorkerFile } from './worker-file.js';
import type { StoredColumn } from '../rowset/scan-plan.js';
import type { MemRowSetImage } from '../rowset/mem-rowset.js';

/**
 * MemRowSet flushes off the writing thread: a pool of FLUSH_WORKERS_MAX worker threads per
 * process (at most one per core) writes frozen MemRowSets to DiskRowSet files (flush-worker.ts),
 * each worker one job at a time; a job goes to the worker with the fewest jobs outstanding, so
 * the tablets of a table flush in parallel. A tablet has at most one job in flight. The tablet keeps the
 * frozen MemRowSet readable until it swaps the finished file in (tablet.ts), and may wait for a
 * job synchronously (Atomics.wait on the job's shared state word), so every synchronous tablet
 * call (flush, alterSchema, compact, close) still sees a finished flush.
 *
 * | job state word (Int32 0) | meaning                         |
 * |--------------------------|---------------------------------|
 * | 0                        | queued or running               |
 * | 1                        | written and fsynced (file and its directory entry) |
 * | 2                        | failed (the worker posts why)   |
 * Float64 1 and 2 of the same buffer: rowCount and fileBytes of the written file.
 */

export interface FlushJobRequest {
  readonly id: number;
  readonly path: string;
  readonly columns: readonly StoredColumn[];
  readonly keyColumnCount: number;
  readonly rowsPerBatch: number;
  readonly image: MemRowSetImage;
  readonly state: SharedArrayBuffer;
}

export interface FlushJobReply {
  readonly id: number;
  readonly error?: string;
  /** The worker thread that ran the job (tests, metrics). */
  readonly threadId?: number;
}

export type FlushOutcome =
  | { readonly ok: true; readonly rowCount: number; readonly fileBytes: number }
  | { readonly ok: false; readonly message: string };

/** How long a synchronous wait for the worker lasts before the tablet gives up and flushes itself. */
const FLUSH_WAIT_MS_MAX = 120_000;
const STATE_BYTES = 24;

export class FlushJob {
  private readonly word: Int32Array;
  private readonly nums: Float64Array;
  private message = 'flush worker failed';
  /** The worker thread that reported the job (undefined until then). */
  threadId: number | undefined;
  /** Called once, from the event loop, when the worker reports (not when a wait() finished it first). */
  onSettled: (() => void) | undefined;

  constructor(readonly id: number, readonly path: string, readonly state: SharedArrayBuffer) {
    this.word = new Int32Array(state, 0, 1);
    this.nums = new Float64Array(state, 8, 2);
  }

  /** The outcome when the worker has finished, else undefined (no blocking). */
  poll(): FlushOutcome | undefined {
    const s = Atomics.load(this.word, 0);
    if (s === 0) return undefined;
    if (s === 1) return { ok: true, rowCount: this.nums[0] as number, fileBytes: this.nums[1] as number };
    return { ok: false, message: this.message };
  }

  /** Blocks this thread until the worker finished the job (or FLUSH_WAIT_MS_MAX passed: a failure). */
  wait(): FlushOutcome {
    const end = Date.now() + FLUSH_WAIT_MS_MAX;
    for (;;) {
      const got = this.poll();
      if (got !== undefined) return got;
      const left = end - Date.now();
      if (left <= 0) return { ok: false, message: `flush worker did not finish ${this.path} within ${FLUSH_WAIT_MS_MAX} ms` };
      Atomics.wait(this.word, 0, 0, Math.min(left, 1000));
    }
  }

  /** Marks the job failed from this thread (the worker died). */
  fail(message: string): void {
    this.message = message;
    Atomics.compareExchange(this.word, 0, 0, 2);
  }

  settled(reply: FlushJobReply): void {
    if (reply.error !== undefined) this.message = reply.error;
    this.threadId = reply.threadId;
    const f = this.onSettled;
    this.onSettled = undefined;
    f?.();
  }
}

let workerFileOverride: string | null | undefined;

/** The compiled flush worker, or null (running from source without a build: flushes stay synchronous). */
export function flushWorkerFile(): string | null {
  if (workerFileOverride !== undefined) return workerFileOverride;
  return compiledWorkerFile(import.meta.url, 'background-flush', 'flush-worker');
}

/** Tests: force a worker file (or null: no background flush); undefined restores detection. */
export function setFlushWorkerFile(file: string | null | undefined): void {
  workerFileOverride = file;
}

class FlushWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, FlushJob>();
  private nextId = 1;

  constructor(private readonly file: string) {}

  /** Jobs submitted and not yet reported. */
  get outstanding(): number {
    return this.jobs.size;
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = new Worker(this.file);
    w.unref();
    w.on('message', (reply: FlushJobReply) => {
      const job = this.jobs.get(reply.id);
      if (job === undefined) return;
      this.jobs.delete(reply.id);
      if (this.jobs.size === 0) w.unref();
      job.settled(reply);
    });
    const failAll = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      const jobs = [...this.jobs.values()];
      this.jobs.clear();
      for (const j of jobs) {
        j.fail(why);
        j.settled({ id: j.id, error: why });
      }
    };
    w.on('error', (e) => failAll(`flush worker failed: ${String(e)}`));
    w.on('exit', (code) => failAll(`flush worker exited with code ${code}`));
    this.worker = w;
    return w;
  }

  submit(req: Omit<FlushJobRequest, 'id' | 'state'>): FlushJob {
    const w = this.start();
    const id = this.nextId++;
    const state = new SharedArrayBuffer(STATE_BYTES);
    const job = new FlushJob(id, req.path, state);
    this.jobs.set(id, job);
    // Referenced while a job runs, so a process does not exit with a flush half written.
    w.ref();
    w.postMessage({ ...req, id, state } satisfies FlushJobRequest);
    return job;
  }
}

/** Flush worker threads per process, at most (fewer on a machine with fewer cores). */
export const FLUSH_WORKERS_MAX = 2;

class FlushPool {
  private readonly workers: FlushWorker[] = [];
  private readonly size: number;

  constructor(private readonly file: string) {
    this.size = Math.max(1, Math.min(FLUSH_WORKERS_MAX, availableParallelism()));
  }

  submit(req: Omit<FlushJobRequest, 'id' | 'state'>): FlushJob {
    let best: FlushWorker | undefined;
    for (const w of this.workers) if (best === undefined || w.outstanding < best.outstanding) best = w;
    // A new thread only when every existing one is busy (starting one costs tens of ms).
    if ((best === undefined || best.outstanding > 0) && this.workers.length < this.size) {
      best = new FlushWorker(this.file);
      this.workers.push(best);
    }
    return (best as FlushWorker).submit(req);
  }
}

let shared: FlushPool | undefined;
let submitted = 0;

/** Flush jobs handed to the worker so far in this process (tests, metrics). */
export function flushJobsSubmitted(): number {
  return submitted;
}

/** Submits a flush to the process's flush worker; undefined when no compiled worker exists. */
export function submitFlush(req: Omit<FlushJobRequest, 'id' | 'state'>): FlushJob | undefined {
  const file = flushWorkerFile();
  if (file === null) return undefined;
  shared ??= new FlushPool(file);
  submitted++;
  return shared.submit(req);
}
