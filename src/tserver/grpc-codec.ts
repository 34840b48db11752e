import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../common/assert.js';
import { isSaigaError, SaigaError, type ErrorCode } from '../common/errors.js';
import type { GroupMessage } from '../replication/raft-driver.js';
import { jsonReplacer } from '../wal/index.js';
import {
  decodeMessageBatch, decodeWriteStreamRequest, decodeWriteStreamResponse, encodeMessageBatch, encodeWriteStreamRequest,
  encodeWriteStreamResponse, type WriteItemWire, type WriteResultWire,
} from './wire-codec.js';

/**
 * gRPC plumbing shared by the tablet server and its clients: the .proto files (checked in under
 * src/tserver/proto, also found from dist/), the Raft message codec, the JSON codec of rows, and
 * the one table mapping SaigaError codes to gRPC statuses and back.
 */

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': 64 * 1024 * 1024,
  'grpc.max_receive_message_length': 256 * 1024 * 1024,
  'grpc.max_send_message_length': 256 * 1024 * 1024,
  // No grpc-js retry layer: Raft resends what a broken stream lost and writers retry on
  // ServiceUnavailable themselves. The retrying wrapper buffers each message of a call in case
  // it is replayed; without it CPU per write was lower on every process in each of three
  // interleaved runs (leader 148-216 vs 178-243 µs, client 37-52 vs 46-61 µs, noisy machine).
  'grpc.enable_retries': 0,
};

function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [join(here, 'proto'), join(here, '..', '..', '..', 'src', 'tserver', 'proto')]) {
    if (existsSync(join(d, 'consensus.proto'))) return d;
  }
  throw new SaigaError('NotFound', `expected the tablet server .proto files next to ${here} or under src/tserver/proto, found none`);
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

interface Services {
  consensus: grpc.ServiceClientConstructor;
  tabletServer: grpc.ServiceClientConstructor;
  tabletCopy: grpc.ServiceClientConstructor;
}

let loaded: Services | undefined;

export function services(): Services {
  if (loaded !== undefined) return loaded;
  const dir = protoDir();
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync([join(dir, 'consensus.proto'), join(dir, 'tablet-server.proto'), join(dir, 'tablet-copy.proto')], LOADER_OPTIONS));
  const saiga = pkg['saiga'] as grpc.GrpcObject;
  const c = saiga['consensus'] as grpc.GrpcObject;
  const t = saiga['tserver'] as grpc.GrpcObject;
  const k = saiga['copy'] as grpc.GrpcObject;
  // The per-round messages (consensus batches, WriteStream) go through the hand-written codecs of
  // wire-codec.ts: same wire format, no protobufjs objects in between.
  const batchCodec = { serialize: (b: MessageBatch): Buffer => encodeMessageBatch(b.fromServer, b.messages), deserialize: decodeMessageBatch };
  const consensus = withCodecs((c['Consensus'] as grpc.ServiceClientConstructor).service, {
    Send: { requestSerialize: batchCodec.serialize, requestDeserialize: batchCodec.deserialize },
    Stream: { requestSerialize: batchCodec.serialize, requestDeserialize: batchCodec.deserialize },
  });
  const tabletServer = withCodecs((t['TabletServer'] as grpc.ServiceClientConstructor).service, {
    WriteStream: {
      requestSerialize: encodeWriteStreamRequest, requestDeserialize: decodeWriteStreamRequest,
      responseSerialize: encodeWriteStreamResponse, responseDeserialize: decodeWriteStreamResponse,
    },
  });
  loaded = {
    consensus: grpc.makeGenericClientConstructor(consensus, 'Consensus'),
    tabletServer: grpc.makeGenericClientConstructor(tabletServer, 'TabletServer'),
    tabletCopy: k['TabletCopy'] as grpc.ServiceClientConstructor,
  };
  return loaded;
}

/** A copy of a loaded service definition with some methods' serializers replaced. */
function withCodecs(def: grpc.ServiceDefinition, over: Record<string, Partial<grpc.MethodDefinition<any, any>>>): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def)) {
    const o = over[name];
    out[name] = (o === undefined ? m : { ...m, ...o }) as grpc.MethodDefinition<unknown, unknown>;
  }
  for (const name of Object.keys(over)) assert(def[name] !== undefined, `expected method ${name} in the loaded service definition, found ${Object.keys(def).join(', ')}`);
  return out as grpc.ServiceDefinition;
}

// ---- writes -------------------------------------------------------------------------------------

export interface PbWriteResponse { appliedCount: number; rowErrorsJson: string; timestamp: string }
export type PbWriteItem = WriteItemWire;
export interface PbWriteStreamRequest { items: PbWriteItem[] }
export type PbWriteResult = WriteResultWire;
export interface PbWriteStreamResponse { results: PbWriteResult[] }
/** A consensus MessageBatch as the server handles it (wire-codec.ts encodes and decodes it directly). */
export interface MessageBatch { readonly fromServer: string; readonly messages: readonly GroupMessage[] }

// ---- rows as JSON -------------------------------------------------------------------------------

const UNDEFINED_TAG = '$undefined';

export function rowsToJson(v: unknown): string {
  return fastJson(v, 0) ?? JSON.stringify(v, (k, x) => (x === undefined ? { [UNDEFINED_TAG]: 1 } : jsonReplacer(k, x)));
}

/**
 * rowsToJson without a replacer callback per value (the client's cost per write): the same text
 * for arrays, plain objects and row values; undefined for anything else (a Buffer or an object
 * with toJSON, whose toJSON JSON.stringify would call first, functions, symbols, deep nesting),
 * which then takes the replacer path.
 */
export function fastJson(v: unknown, depth = 0): string | undefined {
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': return `{"$bigint":"${v.toString()}"}`;
    case 'undefined': return `{"${UNDEFINED_TAG}":1}`;
    case 'object': {
      if (v === null) return 'null';
      if (depth > 16) return undefined;
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          const x = fastJson(v[i], depth + 1);
          if (x === undefined) return undefined;
          s += i === 0 ? x : `,${x}`;
        }
        return `${s}]`;
      }
      if (v instanceof Uint8Array) {
        if (Buffer.isBuffer(v)) return undefined;
        return `{"$binary":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype || 'toJSON' in v) return undefined;
      const o = v as Record<string, unknown>;
      let s = '{';
      let first = true;
      for (const k of Object.keys(o)) {
        const x = fastJson(o[k], depth + 1);
        if (x === undefined) return undefined;
        s += `${first ? '' : ','}${JSON.stringify(k)}:${x}`;
        first = false;
      }
      return `${s}}`;
    }
    default: return undefined;
  }
}

/**
 * Undoes rowsToJson. Parses without a reviver and then replaces the tagged values in place (a
 * JSON.parse reviver runs a generic callback per value, several times slower on big write
 * batches). An object property whose value is undefined is left out, as a reviver would.
 */
export function rowsFromJson<T>(s: string): T {
  return untag(JSON.parse(s)) as T;
}

function untag(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object') v[i] = untag(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  let n = 0;
  let only = '';
  for (const k in o) {
    only = k;
    if (++n > 1) break;
  }
  if (n === 1) {
    const x = o[only];
    if (only === '$bigint' && typeof x === 'string') return BigInt(x);
    if (only === '$binary' && typeof x === 'string') return new Uint8Array(Buffer.from(x, 'base64'));
    if (only === UNDEFINED_TAG && x === 1) return undefined;
  }
  for (const k in o) {
    const x = o[k];
    if (x === null || typeof x !== 'object' || k === '__proto__') continue;
    const y = untag(x);
    if (y === undefined) delete o[k];
    else if (y !== x) o[k] = y;
  }
  return o;
}

// ---- errors ---------------------------------------------------------------------------------------

const STATUS_BY_CODE: Partial<Record<ErrorCode, grpc.status>> = {
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  ParseError: grpc.status.INVALID_ARGUMENT,
  NotFound: grpc.status.NOT_FOUND,
  AlreadyPresent: grpc.status.ALREADY_EXISTS,
  NotLeader: grpc.status.FAILED_PRECONDITION,
  IllegalState: grpc.status.FAILED_PRECONDITION,
  TimedOut: grpc.status.DEADLINE_EXCEEDED,
  Aborted: grpc.status.ABORTED,
  Cancelled: grpc.status.CANCELLED,
  ServiceUnavailable: grpc.status.UNAVAILABLE,
  ResourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  NotSupported: grpc.status.UNIMPLEMENTED,
  Corruption: grpc.status.DATA_LOSS,
  IOError: grpc.status.INTERNAL,
  Unauthenticated: grpc.status.UNAUTHENTICATED,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
};

export function toServiceError(e: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  if (isSaigaError(e)) {
    metadata.set('saiga-code', e.code);
    if (e.details.leaderHint !== undefined) metadata.set('saiga-leader', e.details.leaderHint);
    return { code: STATUS_BY_CODE[e.code] ?? grpc.status.UNKNOWN, details: e.message, metadata };
  }
  metadata.set('saiga-code', 'IOError');
  return { code: grpc.status.INTERNAL, details: e instanceof Error ? `${e.message}` : String(e), metadata };
}

export function fromServiceError(e: grpc.ServiceError): SaigaError {
  const code = e.metadata?.get('saiga-code')[0];
  const leader = e.metadata?.get('saiga-leader')[0];
  const details = leader !== undefined ? { leaderHint: String(leader) } : {};
  if (typeof code === 'string') return new SaigaError(code as ErrorCode, e.details ?? e.message, details);
  if (e.code === grpc.status.UNAVAILABLE) return new SaigaError('ServiceUnavailable', e.details ?? e.message);
  if (e.code === grpc.status.DEADLINE_EXCEEDED) return new SaigaError('TimedOut', e.details ?? e.message);
  return new SaigaError('IOError', `gRPC status ${e.code}: ${e.details ?? e.message}`);
}
