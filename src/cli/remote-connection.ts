import { createConnection, type Connection, type FieldPacket, type ResultSetHeader, type TypeCastField } from 'mysql2/promise';
import { SaigaError, type ErrorCode } from '../common/errors.js';
import type { RunProgress, RunResult, SqlConnection } from './connection.js';

export interface RemoteOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

/** MySQL errors back to SaigaError codes, so the CLI's exit codes do not depend on the transport. */
const CODE_BY_ERRNO: Record<number, ErrorCode> = {
  1045: 'Unauthenticated',
  1064: 'ParseError',
  1146: 'UnknownTable',
  1054: 'UnknownColumn',
  1049: 'UnknownDatabase',
  1046: 'NoDatabaseSelected',
  1062: 'AlreadyPresent',
  1235: 'NotSupported',
  1317: 'Cancelled',
  3024: 'TimedOut',
};

function toSaigaError(e: unknown): SaigaError {
  const err = e as { errno?: number; code?: string; message?: string; sqlMessage?: string };
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'PROTOCOL_CONNECTION_LOST' || err.code === 'ETIMEDOUT') {
    return new SaigaError('ServiceUnavailable', `cannot reach the Saiga server: ${err.message ?? err.code}`);
  }
  const code = (err.errno !== undefined ? CODE_BY_ERRNO[err.errno] : undefined) ?? 'IllegalState';
  return new SaigaError(code, err.sqlMessage ?? err.message ?? String(e));
}

function castToText(field: TypeCastField, _next: () => unknown): string | null {
  if (field.type === 'BLOB' || field.type === 'TINY_BLOB' || field.type === 'MEDIUM_BLOB' || field.type === 'LONG_BLOB') {
    return field.string('utf8');
  }
  return field.string();
}

export async function connectRemote(options: RemoteOptions): Promise<SqlConnection> {
  let conn: Connection;
  try {
    conn = await createConnection({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      ...(options.database !== undefined ? { database: options.database } : {}),
      rowsAsArray: true,
      typeCast: castToText,
      connectTimeout: 10_000,
    });
  } catch (e) {
    throw toSaigaError(e);
  }
  let database: string | null = options.database ?? null;
  let running = false;
  // The side connection: progress polls (SHOW FULL PROCESSLIST) and KILL QUERY, as the mysql
  // client's Ctrl-C does; opened on first use, dropped when it fails.
  let side: Promise<Connection> | undefined;
  const sideConnection = (): Promise<Connection> => {
    if (side === undefined) {
      const opening = createConnection({ host: options.host, port: options.port, user: options.user, password: options.password, connectTimeout: 10_000 });
      side = opening;
      opening.then((c) => c.on('error', () => { if (side === opening) side = undefined; }), () => { if (side === opening) side = undefined; });
    }
    return side;
  };
  return {
    target: `${options.host}:${options.port}`,
    currentDatabase: () => database,
    async progress(): Promise<RunProgress | undefined> {
      if (!running) return undefined;
      try {
        const c = await sideConnection();
        const [rows] = await c.query({ sql: 'SHOW FULL PROCESSLIST', rowsAsArray: false });
        const me = (rows as Record<string, unknown>[]).find((r) => Number(r['Id']) === conn.threadId);
        const examined = me?.['Examined_rows'];
        if (!running || me === undefined || examined === undefined || examined === null) return undefined;
        return { rowsScanned: Number(examined) };
      } catch {
        side = undefined;
        return undefined;
      }
    },
    async run(sql: string, signal?: AbortSignal): Promise<RunResult[]> {
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        const threadId = conn.threadId;
        onAbort = () => {
          void sideConnection()
            .then((killer) => killer.query(`KILL QUERY ${threadId}`))
            .catch(() => undefined);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      running = true;
      try {
        const [rows, fields] = await conn.query({ sql, rowsAsArray: true });
        if (/^\s*use\s/i.test(sql)) {
          const [r] = await conn.query({ sql: 'SELECT DATABASE()', rowsAsArray: true });
          database = ((r as unknown[][])[0]?.[0] as string | null) ?? null;
        }
        return [toRunResult(rows, fields)];
      } catch (e) {
        throw toSaigaError(e);
      } finally {
        running = false;
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      const s = side;
      side = undefined;
      if (s !== undefined) await s.then((c) => c.end()).catch(() => undefined);
      await conn.end().catch(() => undefined);
    },
  };
}

function toRunResult(rows: unknown, fields: FieldPacket[] | undefined): RunResult {
  if (Array.isArray(rows) && fields !== undefined) {
    return {
      kind: 'rows',
      result: { columns: fields.map((f) => f.name), rows: rows as (string | null)[][] },
    };
  }
  const header = rows as ResultSetHeader;
  return { kind: 'ok', affectedRows: header.affectedRows ?? 0, ...(header.info ? { info: header.info } : {}) };
}
