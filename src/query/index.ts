import { DEFAULT_LIMITS, validateLimits, type Limits } from '../common/limits.js';
import type { StorageApi } from '../common/storage-api.js';
import type { QueryEngine } from './api.js';
import { QueryEngineImpl, newEngineState } from './session.js';

export type { QueryEngine, Session, StatementResult, ResultColumn, PreparedStatement, ExecuteOptions, SessionOptions, Warning } from './api.js';
export { SERVER_VERSION, DEFAULT_HASH_BUCKETS } from './session.js';
export { splitStatements, tokenize } from './tokenizer.js';
export { prepass } from './prepass.js';

export interface QueryEngineOptions {
  readonly storage: StorageApi;
  readonly limits?: Partial<Limits>;
}

/** The SQL engine over a StorageApi: parse -> bind -> optimize -> execute. */
export function createQueryEngine(options: QueryEngineOptions): QueryEngine {
  const limits = validateLimits({ ...DEFAULT_LIMITS, ...(options.limits ?? {}) });
  return new QueryEngineImpl(newEngineState(options.storage, limits));
}
