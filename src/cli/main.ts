import { resolve } from 'node:path';
import { isSaigaError } from '../common/errors.js';
import { flagBool, flagList, flagString, parseArgs, usage, type FlagSpec, type ParsedArgs } from './args.js';
import type { SqlConnection } from './connection.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { openLocal } from './local-connection.js';
import { connectRemote } from './remote-connection.js';
import { startCommand } from './start-command.js';
import { interactiveShell, interrupt, readScript, runScript, type InterruptState, type SqlCommandOptions } from './sql-command.js';

const SQL_FLAGS: readonly FlagSpec[] = [
  { name: 'query', alias: 'q', kind: 'string', help: 'run one statement (or several, `;`-separated) and exit' },
  { name: 'query_file', alias: 'f', kind: 'string', help: 'run a script file (`-` for stdin) and exit' },
  { name: 'host', alias: 'i', kind: 'string', help: 'server to connect to, HOST[:PORT] (default 127.0.0.1:4000)' },
  { name: 'data_dir', kind: 'string', help: 'open this data directory in-process (embedded storage + engine) instead of connecting' },
  { name: 'user', alias: 'u', kind: 'string', help: 'user name (default root)' },
  { name: 'password', alias: 'p', kind: 'string', help: 'password (default: $SAIGA_PASSWORD or empty)' },
  { name: 'database', alias: 'd', kind: 'string', help: 'database to use (default: default, as in Impala)' },
  { name: 'delimited', alias: 'B', kind: 'boolean', help: 'delimited output (tab by default), no pretty table or timing' },
  { name: 'output_delimiter', kind: 'string', help: 'field delimiter for -B (default tab)' },
  { name: 'print_header', kind: 'boolean', help: 'print column names with -B' },
  { name: 'output_file', alias: 'o', kind: 'string', help: 'append all result sets to this file' },
  { name: 'var', kind: 'repeat', help: 'define a variable NAME=VALUE for ${var:NAME} (repeatable)' },
  { name: 'continue', alias: 'c', kind: 'boolean', help: 'continue after a failed statement' },
  { name: 'help', alias: 'h', kind: 'boolean', help: 'show this help' },
];

function unescapeDelimiter(d: string): string {
  return d === '\\t' ? '\t' : d === '\\n' ? '\n' : d;
}

function sqlOptions(args: ParsedArgs): SqlCommandOptions {
  const vars = new Map<string, string>();
  for (const v of flagList(args, 'var')) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw Object.assign(new Error(`--var expects NAME=VALUE, got ${v}`), { usage: true });
    vars.set(v.slice(0, eq).trim().toLowerCase(), v.slice(eq + 1));
  }
  const outputFile = flagString(args, 'output_file');
  return {
    delimited: flagBool(args, 'delimited'),
    delimiter: unescapeDelimiter(flagString(args, 'output_delimiter') ?? '\t'),
    printHeader: flagBool(args, 'print_header'),
    ...(outputFile !== undefined ? { outputFile } : {}),
    continueOnError: flagBool(args, 'continue'),
    vars,
    interactiveTerminal: process.stderr.isTTY === true && !flagBool(args, 'delimited'),
  };
}

async function connect(args: ParsedArgs): Promise<SqlConnection> {
  const dataDir = flagString(args, 'data_dir');
  if (dataDir !== undefined) {
    if (flagString(args, 'host') !== undefined) throw Object.assign(new Error('--data_dir and -i/--host are exclusive'), { usage: true });
    const db = flagString(args, 'database');
    return openLocal({ dataDir: resolve(dataDir), ...(db !== undefined ? { database: db } : {}) });
  }
  const target = flagString(args, 'host') ?? '127.0.0.1:4000';
  const [host, portText] = target.includes(':') ? target.split(':') : [target, '4000'];
  const database = flagString(args, 'database') ?? 'default';
  return connectRemote({
    host: host ?? '127.0.0.1',
    port: Number(portText ?? 4000),
    user: flagString(args, 'user') ?? 'root',
    password: flagString(args, 'password') ?? process.env['SAIGA_PASSWORD'] ?? '',
    database,
  });
}

async function sqlCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SQL_FLAGS);
  if (flagBool(args, 'help')) {
    process.stdout.write(usage('sql', 'Run SQL against a Saiga server, impala-shell style.', SQL_FLAGS) + '\n');
    return EXIT_OK;
  }
  const options = sqlOptions(args);
  const query = flagString(args, 'query');
  const file = flagString(args, 'query_file');
  const script = query ?? (file !== undefined ? readScript(file) : undefined);
  const conn = await connect(args);
  try {
    if (script !== undefined) {
      // Ctrl-C cancels the running statement (the script then ends with 130 after closing
      // cleanly); a second Ctrl-C while the cancellation is under way leaves at once.
      const state: InterruptState = { running: undefined, buffer: '' };
      const onSigint = (): void => {
        if (interrupt(state) === 'exit') process.exit(EXIT_INTERRUPTED);
      };
      process.on('SIGINT', onSigint);
      try {
        return await runScript(conn, script, options, undefined, state);
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    return await interactiveShell(conn, options);
  } finally {
    await conn.close();
  }
}

const COMMANDS: Record<string, { summary: string; run: (argv: readonly string[]) => Promise<number> }> = {
  start: { summary: 'start the embedded default (storage, SQL, MySQL on :4000, Flight on :8815)', run: startCommand },
  sql: { summary: 'run SQL interactively or from -q / -f (impala-shell style)', run: sqlCommand },
};

function topUsage(): string {
  const lines = ['usage: saiga COMMAND [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `saiga COMMAND --help` for its options.');
  return lines.join('\n');
}

/** Entry point of the `saiga` binary; returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(topUsage() + '\n');
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`saiga: unknown command ${name}\n${topUsage()}\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    process.stderr.write(`saiga ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    if ((e as { usage?: boolean }).usage === true) return EXIT_USAGE;
    return isSaigaError(e) ? exitCodeFor(e.code) : EXIT_USAGE;
  }
}
