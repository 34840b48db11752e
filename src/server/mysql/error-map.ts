import { AssertionError } from '../../common/assert.js';
import { isSaigaError, type ErrorCode } from '../../common/errors.js';
import type { ErrPacket } from './packets.js';

/**
 * The one table from Saiga error codes to MySQL errno + SQLSTATE. Codes not listed map to
 * ER_UNKNOWN_ERROR (1105, HY000).
 */
export const MYSQL_ERRORS: Partial<Record<ErrorCode, { errno: number; sqlState: string }>> = {
  ParseError: { errno: 1064, sqlState: '42000' },
  UnknownTable: { errno: 1146, sqlState: '42S02' },
  UnknownColumn: { errno: 1054, sqlState: '42S22' },
  AlreadyPresent: { errno: 1062, sqlState: '23000' },
  UnknownDatabase: { errno: 1049, sqlState: '42000' },
  NoDatabaseSelected: { errno: 1046, sqlState: '3D000' },
  Unauthenticated: { errno: 1045, sqlState: '28000' },
  PermissionDenied: { errno: 1227, sqlState: '42000' },
  TableExists: { errno: 1050, sqlState: '42S01' },
  DatabaseExists: { errno: 1007, sqlState: 'HY000' },
  NotSupported: { errno: 1235, sqlState: '42000' },
  TimedOut: { errno: 3024, sqlState: 'HY000' },
  Cancelled: { errno: 1317, sqlState: '70100' },
};

export const UNKNOWN_ERROR = { errno: 1105, sqlState: 'HY000' } as const;

/** Errors the server raises itself, outside the SaigaError codes. */
export const SERVER_ERRORS = {
  tooManyConnections: { errno: 1040, sqlState: '08004', message: 'Too many connections' },
  packetTooLarge: { errno: 1153, sqlState: '08S01' },
  malformedPacket: { errno: 1835, sqlState: 'HY000' },
  packetsOutOfOrder: { errno: 1156, sqlState: '08S01' },
  unknownCommand: { errno: 1047, sqlState: '08S01' },
  unknownStatement: { errno: 1243, sqlState: 'HY000' },
  idleTimeout: { errno: 4031, sqlState: 'HY000', message: 'The client was disconnected by the server because of inactivity.' },
  accessDenied: { errno: 1045, sqlState: '28000' },
  userExists: { errno: 1396, sqlState: 'HY000' },
  wrongArguments: { errno: 1210, sqlState: 'HY000' },
} as const;

export function toErrPacket(e: unknown): ErrPacket {
  if (e instanceof MysqlServerError) return { errno: e.errno, sqlState: e.sqlState, message: e.message };
  if (isSaigaError(e)) {
    const m = MYSQL_ERRORS[e.code] ?? UNKNOWN_ERROR;
    return { errno: m.errno, sqlState: m.sqlState, message: e.message };
  }
  if (e instanceof AssertionError) {
    return { ...UNKNOWN_ERROR, message: `internal error: ${e.message}` };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { ...UNKNOWN_ERROR, message };
}

/** An error with a MySQL errno of its own (statements the server answers itself). */
export class MysqlServerError extends Error {
  constructor(readonly errno: number, readonly sqlState: string, message: string) {
    super(message);
    this.name = 'MysqlServerError';
  }
}
