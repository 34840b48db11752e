import { DEFAULT_LIMITS, validateLimits, type Limits } from '../common/limits.js';
import type { StorageApi } from '../common/storage-api.js';
import type { QueryEngine } from './api.js';
import { createCoprocessor } from './coprocessor.js';
import { withExternalTables } from './external-tables.js';
import { QueryEngineImpl, newEngineState } from './session.js';

export type { QueryEngine, Session, StatementResult, ResultColumn, PreparedStatement, ExecuteOptions, SessionOptions, StatementProgress, Warning } from './api.js';
export { SERVER_VERSION, DEFAULT_HASH_BUCKETS } from './session.js';
export { splitStatements, tokenize } from './tokenizer.js';
export { prepass } from './prepass.js';
export { coprocessorWorkerFile } from './coprocessor.js';

export interface QueryEngineOptions {
  readonly storage: StorageApi;
  readonly limits?: Partial<Limits>;
  /**
   * Coprocessor pool for scan fragments (filter + partial aggregate) in worker threads
   * (limits.coprocessorThreads). false: everything on the calling thread. Default: on for
   * aggregations over scans of at least COPROCESSOR_MIN_ROWS estimated rows.
   */
  readonly coprocessor?: false | { readonly minRows?: number; readonly workerFile?: string; readonly onTask?: (rows: number) => void };
  /** Directory for the engine's own catalog files (external Parquet tables); in memory without one. */
  readonly dataDir?: string;
}

export const COPROCESSOR_MIN_ROWS = 100_000;

/** The SQL engine over a StorageApi: parse -> bind -> optimize -> execute. */
export function createQueryEngine(options: QueryEngineOptions): QueryEngine {
  const limits = validateLimits({ ...DEFAULT_LIMITS, ...(options.limits ?? {}) });
  const c = options.coprocessor;
  const pool = c === false ? null : createCoprocessor({
    threads: limits.coprocessorThreads,
    minRows: c?.minRows ?? COPROCESSOR_MIN_ROWS,
    ...(c?.workerFile !== undefined ? { workerFile: c.workerFile } : {}),
    ...(c?.onTask !== undefined ? { onTask: c.onTask } : {}),
  });
  return new QueryEngineImpl(newEngineState(withExternalTables(options.storage, options.dataDir), limits, pool));
}
