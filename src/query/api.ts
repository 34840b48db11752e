import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import type { DataType, Value } from '../common/types.js';

/**
 * What the protocol edges (MySQL wire, Flight SQL, the batch CLI) see of the SQL engine.
 */

export interface ResultColumn {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
  readonly precision?: number;
  readonly scale?: number;
  /** Source table and column when the column is a plain column reference (MySQL column metadata). */
  readonly table?: string;
  readonly database?: string;
  readonly originalName?: string;
}

export interface Warning {
  readonly level: 'Note' | 'Warning' | 'Error';
  readonly code: number;
  readonly message: string;
}

export type StatementResult =
  | {
      readonly kind: 'rows';
      readonly columns: readonly ResultColumn[];
      readonly arrowSchema: ArrowSchema;
      /** Must be drained or returned; batches follow arrowSchema. */
      readonly batches: AsyncIterable<RecordBatch>;
      /**
       * Optional (added for the MySQL point-select fast path): the same rows as `batches`, as API
       * values (common/types.ts representation) in `columns` order, when the engine already holds
       * the result as a few values. A consumer may encode these instead of iterating `batches`,
       * which then need not be drained.
       */
      readonly rowValues?: readonly (readonly Value[])[];
    }
  | {
      readonly kind: 'ok';
      readonly affectedRows: number;
      readonly lastInsertId?: bigint;
      readonly info?: string;
      readonly warnings: readonly Warning[];
    };

export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  /** Values for `?` placeholders, in order. */
  readonly params?: readonly Value[];
}

export interface PreparedStatement {
  readonly id: number;
  readonly paramCount: number;
  /** Result columns when known at prepare time (SELECT), else empty. */
  readonly columns: readonly ResultColumn[];
  execute(params: readonly Value[], options?: ExecuteOptions): Promise<StatementResult>;
  close(): void;
}

export interface Session {
  readonly connectionId: number;
  readonly user: string;
  /** Current database (USE / COM_INIT_DB); null when none is selected. */
  database: string | null;
  /** Session variables (SET), lower-case names. */
  readonly variables: Map<string, Value>;
  /** Executes one or more `;`-separated statements; one result per statement. */
  execute(sql: string, options?: ExecuteOptions): Promise<StatementResult[]>;
  prepare(sql: string): Promise<PreparedStatement>;
  /** Warnings of the last statement (SHOW WARNINGS). */
  lastWarnings(): readonly Warning[];
  /**
   * Counters of the statement this session started last (they keep growing while its result
   * streams); undefined before the first statement. Read by SHOW PROCESSLIST and `saiga sql`.
   */
  progress?(): StatementProgress | undefined;
  close(): void;
}

/** What a running statement has done so far (MariaDB's Examined_rows, Time_ms, Memory_used). */
export interface StatementProgress {
  /** Rows read from storage plus candidate rows examined by joins (MariaDB's Examined_rows). */
  readonly rowsScanned: number;
  /** Bytes charged to the statement's memory limit (collected build sides, sorts, aggregates). */
  readonly memoryBytes: number;
  /** Date.now() when the statement started. */
  readonly startedMs: number;
  /** The statement's text. */
  readonly sql: string;
}

export interface SessionOptions {
  readonly user: string;
  readonly database?: string;
  readonly connectionId: number;
}

export interface QueryEngine {
  openSession(options: SessionOptions): Session;
  close(): Promise<void>;
}
