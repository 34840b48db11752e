import type { TextResult } from './output.js';

/** What `saiga sql` runs statements against: a server over the MySQL protocol, or an in-process engine. */
export type RunResult =
  | { readonly kind: 'rows'; readonly result: TextResult }
  | { readonly kind: 'ok'; readonly affectedRows: number; readonly info?: string };

export interface SqlConnection {
  /** A label for the prompt, e.g. `127.0.0.1:4000`. */
  readonly target: string;
  currentDatabase(): string | null;
  run(sql: string, signal?: AbortSignal): Promise<RunResult[]>;
  close(): Promise<void>;
}
