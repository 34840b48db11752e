import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { openEmbeddedStorage } from '../client/index.js';
import { createQueryEngine } from '../query/index.js';
import { openUserStore } from '../server/auth/index.js';
import { startFlightServer, DEFAULT_FLIGHT_PORT } from '../server/flight/index.js';
import { startMysqlServer } from '../server/mysql/index.js';
import { flagBool, flagString, parseArgs, usage, type FlagSpec } from './args.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

export const DEFAULT_MYSQL_PORT = 4000;
export const DEFAULT_DATA_DIR = '.saiga-data';

const START_FLAGS: readonly FlagSpec[] = [
  { name: 'data_dir', alias: 'D', kind: 'string', help: `data directory (default ./${DEFAULT_DATA_DIR}, or $SAIGA_DATA_DIR)` },
  { name: 'host', kind: 'string', help: 'address to listen on (default 127.0.0.1)' },
  { name: 'mysql_port', kind: 'string', help: `MySQL protocol port (default ${DEFAULT_MYSQL_PORT}; 0 picks a free one)` },
  { name: 'flight_port', kind: 'string', help: `Arrow Flight port (default ${DEFAULT_FLIGHT_PORT}; 0 picks a free one)` },
  { name: 'no_flight', kind: 'boolean', help: 'do not start the Arrow Flight endpoint' },
  { name: 'root_password', kind: 'string', help: 'password of root (default: $SAIGA_ROOT_PASSWORD, else none; root may log in from loopback only)' },
  { name: 'help', alias: 'h', kind: 'boolean', help: 'show this help' },
];

function port(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw Object.assign(new Error(`--${name} expects a port number, got ${text}`), { usage: true });
  return n;
}

/**
 * `saiga start`: the embedded default. Storage (every tablet a one-replica group behind the
 * same log and replica driver), the SQL engine, the MySQL endpoint and the Flight endpoint in
 * one process over one data directory. SIGINT / SIGTERM shut it down cleanly: servers stop
 * accepting, MemRowSets flush, logs close; a restart finds every acknowledged row.
 */
export async function startCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, START_FLAGS);
  if (flagBool(args, 'help')) {
    process.stdout.write(usage('start', 'Start the embedded default: storage, SQL, MySQL and Flight endpoints.', START_FLAGS) + '\n');
    return EXIT_OK;
  }
  const dataDir = resolve(flagString(args, 'data_dir') ?? process.env['SAIGA_DATA_DIR'] ?? DEFAULT_DATA_DIR);
  const host = flagString(args, 'host') ?? '127.0.0.1';
  const mysqlPort = port(flagString(args, 'mysql_port'), DEFAULT_MYSQL_PORT, 'mysql_port');
  const flightPort = port(flagString(args, 'flight_port'), DEFAULT_FLIGHT_PORT, 'flight_port');
  const rootPassword = flagString(args, 'root_password') ?? process.env['SAIGA_ROOT_PASSWORD'] ?? '';
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' && rootPassword === '') {
    process.stderr.write('saiga start: listening beyond loopback needs a root password (--root_password or $SAIGA_ROOT_PASSWORD)\n');
    return EXIT_USAGE;
  }
  mkdirSync(dataDir, { recursive: true });

  const storage = await openEmbeddedStorage({ dataDir });
  const engine = createQueryEngine({ storage, dataDir });
  const users = openUserStore({ dataDir, rootPassword });
  const mysql = await startMysqlServer({ engine, users, host, port: mysqlPort });
  const flight = flagBool(args, 'no_flight') ? undefined : await startFlightServer({ storage, engine, users, host, port: flightPort });

  process.stdout.write(`saiga: data directory ${dataDir}\n`);
  process.stdout.write(`saiga: MySQL protocol on ${host}:${mysql.port}  (mariadb -h ${host} -P ${mysql.port} -u root)\n`);
  if (flight !== undefined) process.stdout.write(`saiga: Arrow Flight on grpc://${host}:${flight.port}\n`);
  process.stdout.write('saiga: ready\n');

  return await new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`saiga: ${signal} received, shutting down\n`);
      void (async () => {
        let code = EXIT_OK;
        try {
          await mysql.close();
          if (flight !== undefined) await flight.close();
          await engine.close();
          await storage.flush();
          await storage.close();
          process.stdout.write('saiga: stopped cleanly\n');
        } catch (e) {
          process.stderr.write(`saiga: error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
          code = 1;
        }
        resolveExit(code);
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
