import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isSaigaError, SaigaError } from '../common/errors.js';
import type { RunResult, SqlConnection } from './connection.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_STATEMENT_FAILED, exitCodeFor } from './exit-codes.js';
import { formatDelimited, formatPretty } from './output.js';
import { isCompleteStatement, parseSetVar, splitStatements, substituteVariables, type ScriptStatement } from './script.js';

export interface SqlCommandOptions {
  readonly delimited: boolean;
  readonly delimiter: string;
  readonly printHeader: boolean;
  /** Appends every result set here instead of stdout. */
  readonly outputFile?: string;
  readonly continueOnError: boolean;
  readonly vars: Map<string, string>;
  /** Progress and timing lines go to stderr on a terminal. */
  readonly interactiveTerminal: boolean;
  /** How often the progress line is refreshed on a terminal (default PROGRESS_INTERVAL_MS). */
  readonly progressIntervalMs?: number;
}

/** The progress line's refresh period; each refresh polls the connection's progress once. */
export const PROGRESS_INTERVAL_MS = 500;

/**
 * What Ctrl-C acts on: the running statement's canceller, and (interactive shell) the partly
 * typed statement. Both SIGINT handlers (script and shell) go through interrupt().
 */
export interface InterruptState {
  running: AbortController | undefined;
  buffer: string;
}

/**
 * One Ctrl-C: cancels the running statement ('cancelled'; the connection stays open and the
 * shell keeps going), else drops a partly typed statement ('cleared'), else asks to leave ('exit').
 */
export function interrupt(state: InterruptState): 'cancelled' | 'cleared' | 'exit' {
  if (state.running !== undefined && !state.running.signal.aborted) {
    state.running.abort();
    return 'cancelled';
  }
  if (state.buffer.length > 0) {
    state.buffer = '';
    return 'cleared';
  }
  return 'exit';
}

/** `  rows scanned 12345, elapsed 3.5 s (Ctrl-C cancels)`; rows only when the connection reports them. */
export function progressLine(elapsedMs: number, rowsScanned: number | undefined): string {
  const rows = rowsScanned !== undefined ? `rows scanned ${rowsScanned}, ` : '';
  return `  ${rows}elapsed ${(elapsedMs / 1000).toFixed(1)} s (Ctrl-C cancels)`;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function renderResult(r: RunResult, options: SqlCommandOptions): string {
  if (r.kind === 'ok') return '';
  const text = options.delimited
    ? formatDelimited(r.result, options.delimiter, options.printHeader)
    : formatPretty(r.result);
  return text.length > 0 ? text + '\n' : '';
}

function summary(r: RunResult, elapsedMs: number): string {
  const secs = (elapsedMs / 1000).toFixed(2);
  if (r.kind === 'rows') return `Fetched ${r.result.rows.length} row(s) in ${secs}s`;
  return `${r.info !== undefined && r.info.length > 0 ? r.info + '; ' : ''}Modified ${r.affectedRows} row(s) in ${secs}s`;
}

/**
 * Runs one statement (after variable handling): its result to io.out, timing to io.err unless
 * delimited, a progress line on a terminal. Aborting signal cancels it (code EXIT_INTERRUPTED).
 */
export async function runStatement(
  conn: SqlConnection,
  stmt: ScriptStatement,
  options: SqlCommandOptions,
  io: Io,
  signal?: AbortSignal,
): Promise<{ ok: boolean; code: number }> {
  try {
    const setVar = parseSetVar(stmt.sql);
    if (setVar !== undefined) {
      options.vars.set(setVar[0], substituteVariables(setVar[1], options.vars));
      if (!options.delimited) io.err(`Variable ${setVar[0].toUpperCase()} set to ${options.vars.get(setVar[0])}\n`);
      return { ok: true, code: EXIT_OK };
    }
    const sql = substituteVariables(stmt.sql, options.vars);
    const started = performance.now();
    let ticker: NodeJS.Timeout | undefined;
    if (options.interactiveTerminal) {
      // One poll at a time; a poll answering after the statement ended is dropped.
      let polling = false;
      let rows: number | undefined;
      ticker = setInterval(() => {
        if (polling) return;
        polling = true;
        void (conn.progress?.() ?? Promise.resolve(undefined)).then((p) => {
          polling = false;
          if (ticker === undefined) return;
          if (p !== undefined) rows = p.rowsScanned;
          io.err('\r' + progressLine(performance.now() - started, rows) + '\x1b[K');
        });
      }, options.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
      ticker.unref();
    }
    let results: RunResult[];
    try {
      results = await conn.run(sql, signal);
    } finally {
      if (ticker !== undefined) {
        clearInterval(ticker);
        ticker = undefined;
        io.err('\r\x1b[K');
      }
    }
    const elapsed = performance.now() - started;
    for (const r of results) {
      const text = renderResult(r, options);
      if (options.outputFile !== undefined) appendFileSync(options.outputFile, text);
      else io.out(text);
      if (!options.delimited) io.err(summary(r, elapsed) + '\n');
    }
    return { ok: true, code: EXIT_OK };
  } catch (e) {
    const code = isSaigaError(e) ? e.code : undefined;
    const message = e instanceof Error ? e.message : String(e);
    io.err(`ERROR: ${message}\n`);
    io.err(`Could not execute statement at line ${stmt.line}: ${stmt.sql.split('\n')[0]}${stmt.sql.includes('\n') ? ' ...' : ''}\n`);
    if (isSaigaError(e, 'Cancelled')) return { ok: false, code: EXIT_INTERRUPTED };
    // A statement's own failure exits 1; only failures of the connection itself get their own code.
    const connectionLevel = code === 'ServiceUnavailable' || code === 'Unauthenticated' || code === 'Corruption';
    return { ok: false, code: connectionLevel ? exitCodeFor(code) : EXIT_STATEMENT_FAILED };
  }
}

/**
 * Runs a whole script (`-f` or `-q`); returns the process exit code. With `interrupts`, each
 * statement gets a canceller there (the caller's SIGINT handler calls interrupt()); a cancelled
 * statement ends the script with EXIT_INTERRUPTED, even under `-c`.
 */
export async function runScript(
  conn: SqlConnection,
  script: string,
  options: SqlCommandOptions,
  io: Io = processIo,
  interrupts?: InterruptState,
): Promise<number> {
  let exitCode = EXIT_OK;
  for (const stmt of splitStatements(script)) {
    let r: { ok: boolean; code: number };
    if (interrupts !== undefined) {
      const ac = new AbortController();
      interrupts.running = ac;
      try {
        r = await runStatement(conn, stmt, options, io, ac.signal);
      } finally {
        interrupts.running = undefined;
      }
      if (ac.signal.aborted) return EXIT_INTERRUPTED;
    } else {
      r = await runStatement(conn, stmt, options, io);
    }
    if (!r.ok) {
      exitCode = r.code;
      if (!options.continueOnError || r.code === EXIT_INTERRUPTED) return exitCode;
    }
  }
  return exitCode;
}

export function readScript(path: string): string {
  try {
    return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    throw new SaigaError('InvalidArgument', `cannot read script ${path}: ${(e as Error).message}`);
  }
}

/**
 * The interactive shell: a prompt naming the server and database, multi-line statements ended
 * by `;`, history in ~/.saiga_history, Ctrl-C cancels the running query (a second Ctrl-C at an
 * empty prompt, or `quit;`, exits).
 */
export async function interactiveShell(conn: SqlConnection, options: SqlCommandOptions): Promise<number> {
  const historyFile = join(homedir(), '.saiga_history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8').split('\n').filter((l) => l.length > 0).reverse().slice(0, 1000);
  } catch {
    history = [];
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true, history, historySize: 1000 });
  const prompt = (): string => `[${conn.target}] ${conn.currentDatabase() ?? '(none)'}> `;
  const state: InterruptState = { running: undefined, buffer: '' };
  rl.on('SIGINT', () => {
    switch (interrupt(state)) {
      case 'cancelled':
        return;
      case 'cleared':
        process.stdout.write('\n');
        rl.setPrompt(prompt());
        rl.prompt();
        return;
      case 'exit':
        rl.close();
    }
  });
  rl.setPrompt(prompt());
  rl.prompt();
  for await (const line of rl) {
    state.buffer += (state.buffer.length > 0 ? '\n' : '') + line;
    if (!isCompleteStatement(state.buffer)) {
      rl.setPrompt('   > ');
      rl.prompt();
      continue;
    }
    const text = state.buffer;
    state.buffer = '';
    if (text.trim().length > 0) appendFileSync(historyFile, text.replace(/\n/g, ' ') + '\n');
    for (const stmt of splitStatements(text)) {
      if (/^(quit|exit)$/i.test(stmt.sql)) {
        rl.close();
        return EXIT_OK;
      }
      const ac = new AbortController();
      state.running = ac;
      try {
        await runStatement(conn, stmt, { ...options, interactiveTerminal: true }, processIo, ac.signal);
      } finally {
        state.running = undefined;
      }
      if (ac.signal.aborted) break; // Ctrl-C also drops the rest of the line's statements
    }
    rl.setPrompt(prompt());
    rl.prompt();
  }
  return EXIT_OK;
}
