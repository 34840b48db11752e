import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { SaigaError } from '../../common/errors.js';
import { FlightDataFrame, FlightDataLayout, decodeFlightData, type FlightDataIn, type FlightDataOut } from './codec.js';

/**
 * Loads flight.proto with @grpc/proto-loader (the service definition grpc-js serves) and
 * flight-sql.proto with protobufjs (Flight SQL commands are packed in google.protobuf.Any
 * inside descriptors, tickets and action bodies, so they are encoded by hand here).
 * FlightData, the only message on the hot path, uses the hand-written codec instead of
 * protobufjs so that Arrow buffers are copied once.
 */

function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'proto'), join(here.replace(/([\\/])dist([\\/])src([\\/])/, '$1src$3'), 'proto')];
  for (const c of candidates) if (existsSync(join(c, 'flight.proto'))) return c;
  throw new Error(`flight.proto not found in ${candidates.join(' or ')}`);
}

const PROTO_DIR = protoDir();

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface FlightServiceDefinition {
  readonly service: grpc.ServiceDefinition;
  readonly client: grpc.ServiceClientConstructor;
}

let cached: FlightServiceDefinition | undefined;

/** The FlightService definition, with FlightData (de)serialized by the hand-written codec. */
export function flightService(): FlightServiceDefinition {
  if (cached !== undefined) return cached;
  const pkgDef = protoLoader.loadSync(join(PROTO_DIR, 'flight.proto'), LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(pkgDef) as unknown as {
    arrow: { flight: { protocol: { FlightService: grpc.ServiceClientConstructor } } };
  };
  const ctor = loaded.arrow.flight.protocol.FlightService;
  const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(ctor.service)) {
    let m = def as grpc.MethodDefinition<unknown, unknown>;
    if (name === 'DoGet' || name === 'DoExchange') {
      m = { ...m, responseSerialize: serializeFlightData as (v: unknown) => Buffer, responseDeserialize: decodeFlightData };
    }
    if (name === 'DoPut' || name === 'DoExchange') {
      m = { ...m, requestSerialize: serializeFlightData as (v: unknown) => Buffer, requestDeserialize: decodeFlightData };
    }
    service[name] = m;
  }
  const client = grpc.makeGenericClientConstructor(service as grpc.ServiceDefinition, 'FlightService');
  cached = { service: service as grpc.ServiceDefinition, client };
  return cached;
}

function serializeFlightData(v: FlightDataOut | FlightDataFrame | Buffer): Buffer {
  if (Buffer.isBuffer(v)) return v;
  // grpc-js only reads length/byteLength and calls copy(frame, 5): see FlightDataFrame.
  const frame = v instanceof FlightDataFrame ? v : new FlightDataFrame(new FlightDataLayout(v));
  return frame as unknown as Buffer;
}

export type { FlightDataIn, FlightDataOut };

// ---------------------------------------------------------------------------------------
// Flight SQL messages and google.protobuf.Any

const sqlRoot = new protobuf.Root().loadSync(join(PROTO_DIR, 'flight-sql.proto'), { keepCase: true });
const flightRoot = new protobuf.Root().loadSync(join(PROTO_DIR, 'flight.proto'), { keepCase: true });

export const SQL_PACKAGE = 'arrow.flight.protocol.sql';
const TYPE_URL_PREFIX = 'type.googleapis.com/';

function sqlType(name: string): protobuf.Type {
  return sqlRoot.lookupType(`${SQL_PACKAGE}.${name}`);
}

/** Encodes a Flight SQL message (plain object with snake_case fields). */
export function encodeSqlMessage(name: string, value: Record<string, unknown>): Uint8Array {
  const t = sqlType(name);
  return t.encode(t.fromObject(value)).finish();
}

export function decodeSqlMessage<T>(name: string, bytes: Uint8Array): T {
  const t = sqlType(name);
  try {
    return t.toObject(t.decode(bytes), { longs: Number, defaults: true, bytes: Buffer }) as T;
  } catch (e) {
    throw new SaigaError('InvalidArgument', `malformed ${name}: ${(e as Error).message}`);
  }
}

/** Whether a Flight SQL field declared `optional` was present on the wire. */
export function decodeSqlMessageRaw(name: string, bytes: Uint8Array): protobuf.Message & Record<string, unknown> {
  try {
    return sqlType(name).decode(bytes) as protobuf.Message & Record<string, unknown>;
  } catch (e) {
    throw new SaigaError('InvalidArgument', `malformed ${name}: ${(e as Error).message}`);
  }
}

export interface AnyMessage {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** google.protobuf.Any { string type_url = 1; bytes value = 2; } framed by hand. */
export function packAny(name: string, value: Uint8Array): Uint8Array {
  const url = Buffer.from(`${TYPE_URL_PREFIX}${SQL_PACKAGE}.${name}`);
  const w = protobuf.Writer.create();
  w.uint32(10).bytes(url);
  w.uint32(18).bytes(value);
  return w.finish();
}

/** Undefined when the bytes are not an Any (e.g. a plain path ticket or a JSON command). */
export function unpackAny(bytes: Uint8Array): AnyMessage | undefined {
  try {
    const r = protobuf.Reader.create(bytes);
    let typeUrl: string | undefined;
    let value: Uint8Array = new Uint8Array(0);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 10) typeUrl = Buffer.from(r.bytes()).toString('utf8');
      else if (tag === 18) value = r.bytes();
      else return undefined;
    }
    if (typeUrl === undefined || !typeUrl.includes('/')) return undefined;
    return { typeUrl, value };
  } catch {
    return undefined;
  }
}

/** The message name of a Flight SQL Any ("CommandStatementQuery"), or undefined for other packages. */
export function sqlMessageName(any: AnyMessage): string | undefined {
  const full = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
  return full.startsWith(`${SQL_PACKAGE}.`) ? full.slice(SQL_PACKAGE.length + 1) : undefined;
}

/** Encodes a message of flight.proto (e.g. FlightInfo for ActionCancelQueryRequest). */
export function encodeFlightMessage(name: string, value: Record<string, unknown>): Uint8Array {
  const t = flightRoot.lookupType(`arrow.flight.protocol.${name}`);
  return t.encode(t.fromObject(value)).finish();
}

export function decodeFlightMessage<T>(name: string, bytes: Uint8Array): T {
  const t = flightRoot.lookupType(`arrow.flight.protocol.${name}`);
  try {
    return t.toObject(t.decode(bytes), { longs: Number, defaults: true, bytes: Buffer }) as T;
  } catch (e) {
    throw new SaigaError('InvalidArgument', `malformed ${name}: ${(e as Error).message}`);
  }
}
