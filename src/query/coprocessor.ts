import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { SaigaError } from '../common/errors.js';
import type { Coprocessor } from './execute.js';
import { taskRows, type FragmentTask } from './fragment.js';
import type { Chunk } from './vector.js';

/**
 * The coprocessor pool: a bounded piscina pool (limits.coprocessorThreads) running scan
 * fragments. Workers load compiled JS; when this module runs from TypeScript sources (tests),
 * the worker is taken from the compiled tree in dist/.
 */
export interface CoprocessorOptions {
  readonly threads: number;
  /** Aggregations over scans estimated below this many rows stay on the calling thread. */
  readonly minRows: number;
  /** Override the worker file (absolute path to compiled JS). */
  readonly workerFile?: string;
  /** Called after each fragment a worker ran (metrics, tests). */
  readonly onTask?: (rows: number) => void;
}

export function coprocessorWorkerFile(): string | null {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.js')
    ? [here.replace(/coprocessor\.js$/, 'coprocessor-worker.js')]
    : [here.replace(/[/\\]src[/\\]query[/\\]coprocessor\.ts$/, '/dist/src/query/coprocessor-worker.js')];
  return candidates.find((f) => existsSync(f)) ?? null;
}

/** Tasks posted to one worker at a time (one running, the rest queued in its port). */
const TASKS_PER_WORKER = 2;

export class CoprocessorPool implements Coprocessor {
  readonly minRows: number;
  readonly maxInflight: number;
  private pool: Piscina | null = null;
  private readonly file: string;

  constructor(private readonly options: CoprocessorOptions, file: string) {
    this.minRows = options.minRows;
    this.maxInflight = Math.max(2, options.threads * (TASKS_PER_WORKER + 1));
    this.file = file;
  }

  private get piscina(): Piscina {
    if (this.pool === null) {
      this.pool = new Piscina({
        filename: this.file,
        maxThreads: this.options.threads,
        minThreads: 0,
        idleTimeout: 2000,
        maxQueue: 1024,
        // A worker holds the next task in its port while it runs one: it goes straight from one
        // task to the next instead of waiting a round trip through this thread per task.
        concurrentTasksPerWorker: TASKS_PER_WORKER,
      });
    }
    return this.pool;
  }

  /**
   * Runs one task. The signal is checked before posting, not handed to piscina: piscina cancels
   * a running task by terminating its worker, which also holds another task (possibly another
   * query's, see TASKS_PER_WORKER). A task is bounded (TASK_ROWS_MAX rows), so a cancelled query
   * lets its posted tasks finish and drops their results (the executor checks between tasks).
   */
  async run(task: FragmentTask, signal: AbortSignal | undefined): Promise<Chunk> {
    if (signal?.aborted) throw new SaigaError('Cancelled', 'query cancelled');
    const r = (await this.piscina.run(task)) as Chunk;
    this.options.onTask?.(taskRows(task));
    return r;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p !== null) await p.destroy();
  }
}

/** A pool when a compiled worker exists, else null (everything runs on the calling thread). */
export function createCoprocessor(options: CoprocessorOptions): CoprocessorPool | null {
  const file = options.workerFile ?? coprocessorWorkerFile();
  if (file === null) return null;
  return new CoprocessorPool(options, file);
}
