import type { ErrorCode } from '../common/errors.js';

/** The command line's exit codes, one table for every SaigaError code. */
export const EXIT_OK = 0;
export const EXIT_STATEMENT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 3;
export const EXIT_AUTH = 4;
export const EXIT_CORRUPTION = 5;
export const EXIT_INTERRUPTED = 130;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  InvalidArgument: EXIT_USAGE,
  ServiceUnavailable: EXIT_UNAVAILABLE,
  TimedOut: EXIT_UNAVAILABLE,
  Unauthenticated: EXIT_AUTH,
  PermissionDenied: EXIT_AUTH,
  Corruption: EXIT_CORRUPTION,
  Cancelled: EXIT_INTERRUPTED,
};

export function exitCodeFor(code: ErrorCode | undefined): number {
  return (code !== undefined ? BY_CODE[code] : undefined) ?? EXIT_STATEMENT_FAILED;
}
