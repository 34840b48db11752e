import type { TextResult } from './output.js';

/** What `saiga sql` runs statements against: a server over the MySQL protocol, or an in-process engine. */
export type RunResult =
  | { readonly kind: 'rows'; readonly result: TextResult }
  | { readonly kind: 'ok'; readonly affectedRows: number; readonly info?: string };

/** How far the statement running on a connection has got. */
export interface RunProgress {
  /** Rows read from storage plus join rows examined (the server's Examined_rows). */
  readonly rowsScanned: number;
}

export interface SqlConnection {
  /** A label for the prompt, e.g. `127.0.0.1:4000`. */
  readonly target: string;
  currentDatabase(): string | null;
  /** Runs statements; aborting the signal cancels the one running (KILL QUERY / the engine's AbortSignal). */
  run(sql: string, signal?: AbortSignal): Promise<RunResult[]>;
  /**
   * Progress of the statement run() is running now; undefined when none runs or the server does
   * not report it. Never throws (a failed poll is undefined).
   */
  progress?(): Promise<RunProgress | undefined>;
  close(): Promise<void>;
}
