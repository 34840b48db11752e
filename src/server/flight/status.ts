import { status, Metadata, type ServiceError } from '@grpc/grpc-js';
import { AssertionError } from '../../common/assert.js';
import { isSaigaError, type ErrorCode } from '../../common/errors.js';

/** SaigaError code -> gRPC status: the one table for the Flight edge. */
export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  ParseError: status.INVALID_ARGUMENT,
  BindError: status.INVALID_ARGUMENT,
  NotSupported: status.UNIMPLEMENTED,
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyPresent: status.ALREADY_EXISTS,
  NotLeader: status.UNAVAILABLE,
  TimedOut: status.DEADLINE_EXCEEDED,
  Aborted: status.ABORTED,
  Cancelled: status.CANCELLED,
  Corruption: status.DATA_LOSS,
  IOError: status.INTERNAL,
  ServiceUnavailable: status.UNAVAILABLE,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  Unauthenticated: status.UNAUTHENTICATED,
  PermissionDenied: status.PERMISSION_DENIED,
  IllegalState: status.FAILED_PRECONDITION,
  NoDatabaseSelected: status.INVALID_ARGUMENT,
  UnknownDatabase: status.NOT_FOUND,
  UnknownTable: status.NOT_FOUND,
  UnknownColumn: status.INVALID_ARGUMENT,
  TableExists: status.ALREADY_EXISTS,
  DatabaseExists: status.ALREADY_EXISTS,
};

/** Any thrown value -> a grpc-js ServiceError; the Saiga code travels in `x-saiga-error-code`. */
export function toServiceError(e: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isSaigaError(e)) {
    metadata.set('x-saiga-error-code', e.code);
    return { code: GRPC_STATUS[e.code], details: `${e.code}: ${e.message}`, metadata };
  }
  if (e instanceof AssertionError) {
    return { code: status.INTERNAL, details: `internal error (a bug; please report it): ${e.message}`, metadata };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { code: status.INTERNAL, details: `internal error: ${msg}`, metadata };
}
