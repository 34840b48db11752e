/**
 * Expected failures carry a stable code; each protocol edge (MySQL, gRPC, CLI) maps codes in
 * one table. Bugs are assertion failures (see assert.ts), never SaigaErrors.
 */
export type ErrorCode =
  | 'ParseError'
  | 'BindError'
  | 'NotSupported'
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyPresent'
  | 'NotLeader'
  | 'TimedOut'
  | 'Aborted'
  | 'Cancelled'
  | 'Corruption'
  | 'IOError'
  | 'ServiceUnavailable'
  | 'ResourceExhausted'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'IllegalState'
  | 'NoDatabaseSelected'
  | 'UnknownDatabase'
  | 'UnknownTable'
  | 'UnknownColumn'
  | 'TableExists'
  | 'DatabaseExists';

export interface SaigaErrorDetails {
  /** For Corruption: the file and byte offset where the check failed. */
  readonly file?: string;
  readonly offset?: number;
  /** For NotLeader: the replica that is (or was last seen as) leader. */
  readonly leaderHint?: string;
  /** For per-row errors: the row's index in its batch. */
  readonly rowIndex?: number;
}

export class SaigaError extends Error {
  readonly code: ErrorCode;
  readonly details: SaigaErrorDetails;

  constructor(code: ErrorCode, message: string, details: SaigaErrorDetails = {}) {
    super(message);
    this.name = 'SaigaError';
    this.code = code;
    this.details = details;
  }
}

export function isSaigaError(e: unknown, code?: ErrorCode): e is SaigaError {
  return e instanceof SaigaError && (code === undefined || e.code === code);
}

export function corruption(file: string, offset: number, what: string): SaigaError {
  return new SaigaError('Corruption', `${what} in ${file} at offset ${offset}`, { file, offset });
}
