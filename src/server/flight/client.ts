import * as grpc from '@grpc/grpc-js';
import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import { SaigaError } from '../../common/errors.js';
import {
  IpcStreamDecoder, IpcStreamEncoder, decodeFlightData, decodeSchemaMessage, type FlightDataOut, type FlightDescriptor,
} from './codec.js';
import { GrpcStreamSession } from './h2-receive.js';
import { encodeFlightMessage, encodeSqlMessage, flightService, packAny } from './proto.js';
import { FRESH_MESSAGE_BUFFERS, MessageBufferPool, type MessageBufferSource } from './put-receive.js';
import { DEFAULT_FLIGHT_LIMITS, grpcChannelOptions } from './server.js';

/**
 * A small Arrow Flight client over grpc-js, used by tests and benchmarks: Handshake (basic ->
 * bearer), GetFlightInfo, DoGet, DoPut, DoAction, ListFlights, ListActions, GetSchema.
 */

export interface FlightInfoOut {
  readonly schema: ArrowSchema;
  readonly tickets: readonly Uint8Array[];
  readonly totalRecords: number;
}

export interface DoGetResult {
  readonly schema: ArrowSchema;
  readonly batches: RecordBatch[];
  readonly bodyBytes: number;
}

/**
 * A DoGet batch on a reused receive buffer: the batch's column buffers are views on it until
 * `release()`, after which the client reassembles a later message into it. Call release once
 * nothing reads the batch any more (or never, and the buffer is collected with the batch).
 */
export interface LeasedBatch {
  readonly batch: RecordBatch;
  release(): void;
}

export interface DoGetSummary {
  readonly schema: ArrowSchema;
  readonly rowCount: number;
  readonly bodyBytes: number;
}

/** Free DoGet receive buffers a client keeps for reuse (one per parallel DoGet, and some held). */
const DOGET_FREE_BUFFERS_MAX = 8;

const DOGET_PATH = '/arrow.flight.protocol.FlightService/DoGet';

type Rpc = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function descriptorMessage(d: FlightDescriptor): Record<string, unknown> {
  return d.type === 'path' ? { type: 'PATH', path: [...d.path] } : { type: 'CMD', cmd: Buffer.from(d.cmd) };
}

export class FlightClient {
  private readonly rpc: Rpc;
  /** DoGet's own HTTP/2 connection (h2-receive.ts): its messages are reassembled as they arrive. */
  private readonly streams: GrpcStreamSession;
  /** Receive buffers of leased DoGet batches, given back by LeasedBatch.release. */
  private readonly leasePool = new MessageBufferPool(DOGET_FREE_BUFFERS_MAX);
  private token: string | undefined;

  /**
   * `options` are added to (and override) the grpc-js channel options of DEFAULT_FLIGHT_LIMITS;
   * DoGet's connection takes 'grpc-node.flow_control_window' and 'grpc.max_receive_message_length' from them.
   */
  constructor(address: string, options: grpc.ChannelOptions = {}) {
    const Ctor = flightService().client;
    const channel: grpc.ChannelOptions = { ...grpcChannelOptions(DEFAULT_FLIGHT_LIMITS), ...options };
    this.rpc = new Ctor(address, grpc.credentials.createInsecure(), channel) as Rpc;
    const maxMessage = Number(channel['grpc.max_receive_message_length']);
    this.streams = new GrpcStreamSession(address, Number(channel['grpc-node.flow_control_window']), maxMessage < 0 ? -1 : maxMessage);
  }

  close(): void {
    this.rpc.close();
    this.streams.close();
  }

  /** Use this bearer token (or Basic credentials) on every call from now on. */
  setAuthorization(header: string | undefined): void {
    this.token = header;
  }

  private md(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('authorization', this.token);
    return md;
  }

  /** Basic auth in the header (as arrow-rs clients do); stores and returns the bearer token. */
  async handshake(user: string, password: string): Promise<string> {
    const md = new grpc.Metadata();
    md.set('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
    const call = (this.rpc['Handshake'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, { payload: Buffer }>)(md);
    let header: string | undefined;
    call.on('metadata', (m: grpc.Metadata) => {
      const v = m.get('authorization')[0];
      if (typeof v === 'string') header = v;
    });
    call.write({ protocol_version: 0, payload: Buffer.alloc(0) });
    call.end();
    const payloads: Buffer[] = [];
    for await (const r of call as AsyncIterable<{ payload: Buffer }>) payloads.push(r.payload);
    if (header === undefined || !header.startsWith('Bearer ')) throw new SaigaError('Unauthenticated', 'Handshake returned no bearer token');
    this.token = header;
    return header.slice(7);
  }

  private unary<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      (this.rpc[method] as (r: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: T) => void) => void)(
        req, this.md(), (e, v) => (e ? reject(e) : resolve(v)));
    });
  }

  async getFlightInfo(d: FlightDescriptor): Promise<FlightInfoOut> {
    const info = await this.unary<{ schema: Buffer; endpoint: { ticket: { ticket: Buffer } }[]; total_records: number }>('GetFlightInfo', descriptorMessage(d));
    return {
      schema: decodeSchemaMessage(info.schema),
      tickets: info.endpoint.map((e) => e.ticket.ticket),
      totalRecords: info.total_records,
    };
  }

  async getSchema(d: FlightDescriptor): Promise<ArrowSchema> {
    const r = await this.unary<{ schema: Buffer }>('GetSchema', descriptorMessage(d));
    return decodeSchemaMessage(r.schema);
  }

  async doGet(ticket: Uint8Array): Promise<DoGetResult> {
    const batches: RecordBatch[] = [];
    const r = await this.doGetEach(ticket, (b) => { batches.push(b); });
    return { schema: r.schema, batches, bodyBytes: r.bodyBytes };
  }

  /**
   * Streams a DoGet: `onBatch` sees each decoded batch as it arrives (and may drop it, so a
   * scan needs memory for a few batches, not the whole result). Each batch has buffers of its own.
   */
  doGetEach(ticket: Uint8Array, onBatch: (batch: RecordBatch) => void): Promise<DoGetSummary> {
    return this.readDoGet(ticket, FRESH_MESSAGE_BUFFERS, (batch) => onBatch(batch));
  }

  /**
   * Streams a DoGet whose batches lie on receive buffers the client reuses once released (see
   * LeasedBatch): a reader that releases each batch after reading it receives into the same few
   * buffers, with no fresh memory per message. A batch never released stays valid.
   */
  doGetLeased(ticket: Uint8Array, onBatch: (leased: LeasedBatch) => void): Promise<DoGetSummary> {
    const pool = this.leasePool;
    return this.readDoGet(ticket, pool, (batch, body) => {
      let released = false;
      onBatch({
        batch,
        release: () => {
          if (released) return;
          released = true;
          pool.release(body);
        },
      });
    });
  }

  private async readDoGet(ticket: Uint8Array, buffers: MessageBufferSource, onBatch: (batch: RecordBatch, body: Uint8Array) => void): Promise<DoGetSummary> {
    const dec = new IpcStreamDecoder();
    let bodyBytes = 0;
    let rowCount = 0;
    const headers: Record<string, string> = this.token === undefined ? {} : { authorization: this.token };
    await this.streams.serverStream(DOGET_PATH, encodeFlightMessage('Ticket', { ticket }), { headers, buffers }, (message) => {
      const fd = decodeFlightData(message);
      bodyBytes += fd.dataBody.byteLength;
      const m = dec.push(fd.dataHeader, fd.dataBody);
      if (m.kind === 'batch') {
        rowCount += m.batch.numRows;
        onBatch(m.batch, fd.dataBody);
      } else if (buffers instanceof MessageBufferPool) {
        // The decoder copied the schema: nothing reads this message any more.
        buffers.release(message);
      }
    });
    if (dec.schema === undefined) throw new SaigaError('InvalidArgument', 'DoGet stream had no schema');
    return { schema: dec.schema, rowCount, bodyBytes };
  }

  /** Fetches every endpoint of a descriptor in parallel. */
  async fetchAll(d: FlightDescriptor): Promise<DoGetResult[]> {
    const info = await this.getFlightInfo(d);
    return Promise.all(info.tickets.map((t) => this.doGet(t)));
  }

  /** Raw DoPut: sends the given FlightData messages, returns the PutResult app_metadata of each reply. */
  async doPutRaw(messages: readonly (FlightDataOut | Buffer)[]): Promise<Buffer[]> {
    const call = (this.rpc['DoPut'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<FlightDataOut | Buffer, { app_metadata: Buffer }>)(this.md());
    const results: Buffer[] = [];
    const done = (async () => {
      for await (const r of call as AsyncIterable<{ app_metadata: Buffer }>) results.push(r.app_metadata);
    })();
    done.catch(() => undefined);
    for (const m of messages) {
      if (!call.write(m)) await new Promise<void>((resolve) => call.once('drain', resolve));
    }
    call.end();
    await done;
    return results;
  }

  /** Bulk ingest into a table; returns the parsed PutResult JSON of each written batch. */
  async putBatches(d: FlightDescriptor, schema: ArrowSchema, batches: readonly RecordBatch[], op?: string): Promise<unknown[]> {
    const enc = new IpcStreamEncoder(schema);
    const sf = enc.schemaFrame();
    const msgs: FlightDataOut[] = [{
      descriptor: d, dataHeader: sf.header, body: sf.body,
      ...(op === undefined ? {} : { appMetadata: Buffer.from(JSON.stringify({ op })) }),
    }];
    for (const b of batches) for (const f of enc.batchFrames(b)) msgs.push({ dataHeader: f.header, body: f.body });
    const raw = await this.doPutRaw(msgs);
    return raw.map((r) => JSON.parse(r.toString('utf8')) as unknown);
  }

  async doAction(type: string, body: Uint8Array): Promise<Buffer[]> {
    const call = (this.rpc['DoAction'] as (r: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<{ body: Buffer }>)({ type, body: Buffer.from(body) }, this.md());
    const out: Buffer[] = [];
    for await (const r of call as AsyncIterable<{ body: Buffer }>) out.push(r.body);
    return out;
  }

  async listActions(): Promise<string[]> {
    const call = (this.rpc['ListActions'] as (r: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<{ type: string }>)({}, this.md());
    const out: string[] = [];
    for await (const r of call as AsyncIterable<{ type: string }>) out.push(r.type);
    return out;
  }

  async listFlights(): Promise<string[][]> {
    const call = (this.rpc['ListFlights'] as (r: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<{ flight_descriptor: { path: string[] } }>)({}, this.md());
    const out: string[][] = [];
    for await (const r of call as AsyncIterable<{ flight_descriptor: { path: string[] } }>) out.push(r.flight_descriptor.path);
    return out;
  }
}

/** A Flight SQL command descriptor: Any-packed `name` message. */
export function sqlCommand(name: string, value: Record<string, unknown>): FlightDescriptor {
  return { type: 'cmd', cmd: packAny(name, encodeSqlMessage(name, value)) };
}
