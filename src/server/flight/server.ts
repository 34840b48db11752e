import { randomBytes } from 'node:crypto';
import type * as http2 from 'node:http2';
import type * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  Field, Int64, RecordBatch, Schema as ArrowSchema, Struct, makeData, type Vector,
} from 'apache-arrow';
import { assert } from '../../common/assert.js';
import { SaigaError, isSaigaError } from '../../common/errors.js';
import type { StorageApi, WriteOpKind, WriteResult } from '../../common/storage-api.js';
import type { Value } from '../../common/types.js';
import type { PreparedStatement, QueryEngine, ResultColumn, Session, StatementResult } from '../../query/api.js';
import { FlightAuth, parseBasic, type FlightUsers } from './auth.js';
import { directSender } from './h2-send.js';
import { arrowTypeOf, checkPutSchema, sameArrowType, tableArrowSchema, visibleColumns } from './arrow-schema.js';
import {
  FlightDataFrame, FlightDataLayout, IpcStreamDecoder, IpcStreamEncoder, encodeSchemaMessage,
  type FlightDataIn, type IpcFrame,
} from './codec.js';
import {
  decodeFlightMessage, decodeSqlMessage, decodeSqlMessageRaw, encodeSqlMessage, flightService,
  packAny, sqlMessageName, unpackAny,
} from './proto.js';
import { Signer } from './signer.js';
import { installPooledDecoder, type MessageBufferPool } from './put-receive.js';
import {
  CATALOGS_SCHEMA, DB_SCHEMAS_SCHEMA, PRIMARY_KEYS_SCHEMA, SQL_INFO_SCHEMA, TABLES_SCHEMA,
  TABLES_WITH_SCHEMA_SCHEMA, TABLE_TYPES_SCHEMA, getCatalogs, getDbSchemas, getPrimaryKeys,
  getSqlInfo, getTableTypes, getTables, sqlInfoTable,
} from './sql-metadata.js';
import { toServiceError } from './status.js';

/** Every bound of the Flight edge, in one place (STYLE.md section 6). */
export interface FlightLimits {
  /** How long a DoGet ticket stays redeemable. */
  readonly ticketTtlMs: number;
  /** How long a Handshake bearer token stays valid. */
  readonly tokenTtlMs: number;
  /** Largest gRPC message sent or received. */
  readonly messageBytesMax: number;
  /** HTTP/2 flow-control window ('grpc-node.flow_control_window'). */
  readonly flowControlWindowBytes: number;
  /** Rows per record batch sent by DoGet. */
  readonly batchRowsMax: number;
  /** DoGet bytes queued on one HTTP/2 stream before the scan waits for the socket. */
  readonly sendQueueBytesMax: number;
  /** Executed statements held between GetFlightInfo and DoGet. */
  readonly pendingResultsMax: number;
  /** Open prepared statements (all users). */
  readonly preparedStatementsMax: number;
  /** DoPut batches being written (storage.writeArrow outstanding) while later ones are read. */
  readonly putWritesInFlightMax: number;
  /** Row errors listed per PutResult (the count is always exact). */
  readonly rowErrorsReportedMax: number;
  /** How long close() lets calls finish before it ends every connection. */
  readonly shutdownGraceMs: number;
}

export const DEFAULT_FLIGHT_LIMITS: FlightLimits = {
  ticketTtlMs: 10 * 60 * 1000,
  tokenTtlMs: 8 * 60 * 60 * 1000,
  messageBytesMax: 256 * 1024 * 1024,
  flowControlWindowBytes: 16 * 1024 * 1024,
  batchRowsMax: 64 * 1024,
  sendQueueBytesMax: 32 * 1024 * 1024,
  pendingResultsMax: 256,
  preparedStatementsMax: 4096,
  putWritesInFlightMax: 2,
  rowErrorsReportedMax: 1000,
  shutdownGraceMs: 2000,
};

export interface FlightServerOptions {
  readonly storage: StorageApi;
  readonly engine: QueryEngine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8815; 0 picks a free port. */
  readonly port?: number;
  /** Who may connect; undefined turns authentication off (see auth.ts). */
  readonly users?: FlightUsers;
  /** Database for one-element path descriptors and for SQL sessions. */
  readonly database?: string;
  /** HMAC key for tickets and tokens; random per start when absent. */
  readonly secret?: Uint8Array;
  readonly limits?: Partial<FlightLimits>;
  readonly serverVersion?: string;
}

export interface FlightServer {
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_FLIGHT_PORT = 8815;

export function grpcChannelOptions(limits: FlightLimits): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.messageBytesMax,
    'grpc.max_send_message_length': limits.messageBytesMax,
    'grpc-node.flow_control_window': limits.flowControlWindowBytes,
  };
}

export async function startFlightServer(options: FlightServerOptions): Promise<FlightServer> {
  const limits: FlightLimits = { ...DEFAULT_FLIGHT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`flight limit ${k} must be a positive number, got ${String(v)}`);
  }
  const service = new FlightServiceImpl(options, limits);
  const server = new grpc.Server({ ...grpcChannelOptions(limits), 'grpc-node.max_session_memory': 1024 });
  server.addService(flightService().service, service.handlers());
  // Connections are tracked so that close() can end them after the grace period: a client that
  // stopped reading (its call neither read nor cancelled) leaves unsent data on a socket that
  // forceShutdown's session.destroy() does not close, and tryShutdown waited for it forever.
  const sockets = new Set<net.Socket>();
  raiseServerReceiveWindow(server, limits.flowControlWindowBytes, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? DEFAULT_FLIGHT_PORT}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(new SaigaError('IOError', `Flight server cannot listen on ${host}:${options.port ?? DEFAULT_FLIGHT_PORT}: ${err.message}`));
      else resolve(p);
    });
  });
  return {
    port,
    close: async () => {
      service.closeAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          for (const socket of sockets) socket.destroy();
        }, limits.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/**
 * grpc-js applies 'grpc-node.flow_control_window' to client sessions only: its server keeps
 * HTTP/2's 64 KiB receive windows, which caps a DoPut stream near 200 MB/s on loopback. The
 * http2 server is made in Server.createHttp2Server (not public API), so wrap that to
 * advertise a larger per-stream window (SETTINGS_INITIAL_WINDOW_SIZE) and to raise each
 * session's connection window. Returns false (and changes nothing) if grpc-js lacks the hook.
 */
export function raiseServerReceiveWindow(server: grpc.Server, bytes: number, onConnection?: (socket: net.Socket) => void): boolean {
  const s = server as unknown as { createHttp2Server?: (this: unknown, creds: unknown) => http2.Http2Server };
  const original = s.createHttp2Server;
  if (typeof original !== 'function') return false;
  const window = Math.min(bytes, 2 ** 31 - 1);
  s.createHttp2Server = function (this: unknown, creds: unknown): http2.Http2Server {
    const h = original.call(this, creds);
    h.updateSettings({ initialWindowSize: window });
    h.on('session', (session: http2.ServerHttp2Session) => {
      if (!session.destroyed) session.setLocalWindowSize(window);
    });
    if (onConnection !== undefined) h.on('connection', onConnection);
    return h;
  };
  return true;
}

// ---------------------------------------------------------------------------------------

interface PlainDescriptor {
  readonly type: string | number;
  readonly cmd: Buffer;
  readonly path: string[];
}

interface PlainFlightInfo {
  schema: Uint8Array;
  flight_descriptor: PlainDescriptor | Record<string, unknown>;
  endpoint: { ticket: { ticket: Uint8Array }; location: never[]; app_metadata: Uint8Array }[];
  total_records: number;
  total_bytes: number;
  ordered: boolean;
  app_metadata: Uint8Array;
}

type Target =
  | { readonly kind: 'table'; readonly db: string; readonly table: string }
  | { readonly kind: 'sql'; readonly sql: string }
  | { readonly kind: 'prepared'; readonly handle: string }
  | { readonly kind: 'update'; readonly sql: string }
  | { readonly kind: 'preparedUpdate'; readonly handle: string }
  | { readonly kind: 'meta'; readonly name: string; readonly value: Uint8Array };

type TicketPayload =
  | { readonly k: 't'; readonly u: string; readonly d: string; readonly t: string; readonly tab: string; readonly ts: string }
  | { readonly k: 'q'; readonly u: string; readonly id: string; readonly sql: string }
  | { readonly k: 'p'; readonly u: string; readonly id: string; readonly h: string }
  | { readonly k: 'm'; readonly u: string; readonly n: string; readonly c: string };

interface PendingResult {
  readonly schema: ArrowSchema;
  readonly batches: AsyncIterable<RecordBatch>;
  readonly session: Session | undefined;
  readonly expiresAtMs: number;
}

interface Prepared {
  readonly user: string;
  readonly session: Session;
  readonly stmt: PreparedStatement;
  params: readonly Value[];
}

const META_SCHEMAS: Readonly<Record<string, ArrowSchema>> = {
  CommandGetCatalogs: CATALOGS_SCHEMA,
  CommandGetDbSchemas: DB_SCHEMAS_SCHEMA,
  CommandGetTableTypes: TABLE_TYPES_SCHEMA,
  CommandGetPrimaryKeys: PRIMARY_KEYS_SCHEMA,
  CommandGetSqlInfo: SQL_INFO_SCHEMA,
};

const ACTIONS: readonly { type: string; description: string }[] = [
  { type: 'CreatePreparedStatement', description: 'Flight SQL: prepare a statement (ActionCreatePreparedStatementRequest)' },
  { type: 'ClosePreparedStatement', description: 'Flight SQL: close a prepared statement (ActionClosePreparedStatementRequest)' },
  { type: 'DropTable', description: 'Drop a table; body JSON {"database": ..., "table": ..., "ifExists": bool}' },
  { type: 'Flush', description: 'Flush MemRowSets to disk; body JSON {"database"?: ..., "table"?: ...} or empty for all tables' },
];

const WRITE_OPS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];

class FlightServiceImpl {
  private readonly storage: StorageApi;
  private readonly engine: QueryEngine;
  private readonly signer: Signer;
  private readonly auth: FlightAuth;
  private readonly pending = new Map<string, PendingResult>();
  private readonly prepared = new Map<string, Prepared>();
  private nextConnectionId = 1_000_000;
  private readonly sqlInfo: ReturnType<typeof sqlInfoTable>;

  constructor(private readonly options: FlightServerOptions, private readonly limits: FlightLimits) {
    this.storage = options.storage;
    this.engine = options.engine;
    this.signer = new Signer(options.secret);
    this.auth = new FlightAuth(options.users, this.signer, limits.tokenTtlMs);
    this.sqlInfo = sqlInfoTable(options.serverVersion ?? '0.1.0', '21.2.0');
  }

  handlers(): grpc.UntypedServiceImplementation {
    return {
      Handshake: (call: grpc.ServerDuplexStream<{ payload: Buffer }, unknown>) => void this.handshake(call),
      ListFlights: (call: grpc.ServerWritableStream<unknown, unknown>) => void this.streaming(call, (user) => this.listFlights(call, user)),
      GetFlightInfo: (call: grpc.ServerUnaryCall<PlainDescriptor, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        void this.unary(call, cb, (user) => this.getFlightInfo(call.request, user)),
      PollFlightInfo: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(toServiceError(new SaigaError('NotSupported', 'PollFlightInfo is not supported: use GetFlightInfo (queries complete before it returns)')) as grpc.ServiceError),
      GetSchema: (call: grpc.ServerUnaryCall<PlainDescriptor, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        void this.unary(call, cb, async (user) => ({ schema: encodeSchemaMessage(await this.schemaOf(call.request, user)) })),
      DoGet: (call: grpc.ServerWritableStream<{ ticket: Buffer }, FlightDataFrame>) => void this.streaming(call, (user) => this.doGet(call, user)),
      DoPut: (call: grpc.ServerDuplexStream<FlightDataIn, unknown>) => void this.streaming(call, (user) => this.doPut(call, user)),
      DoExchange: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        call.emit('error', toServiceError(new SaigaError('NotSupported', 'DoExchange is not supported: use DoGet and DoPut'))),
      DoAction: (call: grpc.ServerWritableStream<{ type: string; body: Buffer }, unknown>) =>
        void this.streaming(call, (user) => this.doAction(call, user)),
      ListActions: (call: grpc.ServerWritableStream<unknown, unknown>) => void this.streaming(call, async () => {
        for (const a of ACTIONS) call.write(a);
        call.end();
      }),
    };
  }

  closeAll(): void {
    for (const id of [...this.pending.keys()]) this.releasePending(id);
    for (const [h, p] of this.prepared) {
      p.stmt.close();
      p.session.close();
      this.prepared.delete(h);
    }
  }

  // --- call plumbing -------------------------------------------------------------------

  private async unary<T>(call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, f: (user: string) => Promise<T>): Promise<void> {
    try {
      const user = await this.auth.authenticate(call.metadata);
      cb(null, await f(user));
    } catch (e) {
      cb(toServiceError(e) as grpc.ServiceError);
    }
  }

  private async streaming(
    call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
    f: (user: string) => Promise<void>,
  ): Promise<void> {
    try {
      const user = await this.auth.authenticate(call.metadata);
      await f(user);
    } catch (e) {
      if (!call.cancelled) call.emit('error', toServiceError(e));
    }
  }

  private async handshake(call: grpc.ServerDuplexStream<{ payload: Buffer }, unknown>): Promise<void> {
    try {
      const header = call.metadata.get('authorization')[0];
      let user: string | undefined;
      let password = '';
      if (typeof header === 'string' && header.startsWith('Basic ')) ({ user, password } = parseBasic(header));
      let token: string | undefined;
      if (user !== undefined) token = await this.auth.login(user, password);
      // Only the first request matters; reading on with for-await would destroy the stream on break.
      const req = await firstMessage(call);
      if (token === undefined && req !== undefined && req.payload.length > 0) {
        const basic = decodeFlightMessage<{ username: string; password: string }>('BasicAuth', req.payload);
        token = await this.auth.login(basic.username, basic.password);
      }
      if (token === undefined) {
        if (this.auth.enabled) throw new SaigaError('Unauthenticated', 'Handshake needs credentials: an "authorization: Basic" header or a BasicAuth payload');
        token = await this.auth.login('flight', '');
      }
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      call.sendMetadata(md);
      call.write({ protocol_version: 0, payload: Buffer.from(token, 'latin1') });
      call.end();
    } catch (e) {
      if (!call.cancelled) call.emit('error', toServiceError(e));
    }
  }

  // --- descriptors ---------------------------------------------------------------------

  private resolveDescriptor(d: PlainDescriptor): Target {
    const type = d.type === 'PATH' || d.type === 1 ? 'path' : d.type === 'CMD' || d.type === 2 ? 'cmd' : undefined;
    if (type === 'path') {
      if (d.path.length === 2) return { kind: 'table', db: d.path[0] as string, table: d.path[1] as string };
      if (d.path.length === 1) {
        if (this.options.database === undefined) {
          throw new SaigaError('InvalidArgument', `path descriptor ["${d.path[0] ?? ''}"] names no database and the server has no default: use ["database", "table"]`);
        }
        return { kind: 'table', db: this.options.database, table: d.path[0] as string };
      }
      throw new SaigaError('InvalidArgument', `path descriptor must be ["database", "table"] or ["table"], found ${JSON.stringify(d.path)}`);
    }
    if (type !== 'cmd') throw new SaigaError('InvalidArgument', `FlightDescriptor.type must be PATH or CMD, found ${String(d.type)}`);
    const any = unpackAny(d.cmd);
    if (any === undefined) {
      // Plain Flight: the command is SQL text.
      const sql = d.cmd.toString('utf8');
      if (sql.trim().length === 0) throw new SaigaError('InvalidArgument', 'empty command descriptor: expected SQL text or a Flight SQL command');
      return { kind: 'sql', sql };
    }
    const name = sqlMessageName(any);
    switch (name) {
      case 'CommandStatementQuery':
        return { kind: 'sql', sql: decodeSqlMessage<{ query: string }>(name, any.value).query };
      case 'CommandStatementUpdate':
        return { kind: 'update', sql: decodeSqlMessage<{ query: string }>(name, any.value).query };
      case 'CommandPreparedStatementQuery':
        return { kind: 'prepared', handle: handleOf(decodeSqlMessage<{ prepared_statement_handle: Buffer }>(name, any.value).prepared_statement_handle) };
      case 'CommandPreparedStatementUpdate':
        return { kind: 'preparedUpdate', handle: handleOf(decodeSqlMessage<{ prepared_statement_handle: Buffer }>(name, any.value).prepared_statement_handle) };
      case 'CommandGetCatalogs':
      case 'CommandGetDbSchemas':
      case 'CommandGetTables':
      case 'CommandGetTableTypes':
      case 'CommandGetPrimaryKeys':
      case 'CommandGetSqlInfo':
        return { kind: 'meta', name, value: any.value };
      default:
        throw new SaigaError('NotSupported', `command ${any.typeUrl} is not supported by Saiga's Flight SQL service`);
    }
  }

  private metaSchema(name: string, value: Uint8Array): ArrowSchema {
    if (name === 'CommandGetTables') {
      return decodeSqlMessage<{ include_schema: boolean }>(name, value).include_schema ? TABLES_WITH_SCHEMA_SCHEMA : TABLES_SCHEMA;
    }
    const s = META_SCHEMAS[name];
    assert(s !== undefined, `no schema for ${name}`);
    return s;
  }

  private metaBatch(name: string, value: Uint8Array): RecordBatch {
    const raw = decodeSqlMessageRaw(name, value);
    const opt = (field: string): string | undefined => {
      const v = raw[field];
      return typeof v === 'string' && Object.prototype.hasOwnProperty.call(raw, field) ? v : undefined;
    };
    switch (name) {
      case 'CommandGetCatalogs': return getCatalogs();
      case 'CommandGetDbSchemas': return getDbSchemas(this.storage, opt('catalog'), opt('db_schema_filter_pattern'));
      case 'CommandGetTables': {
        const m = decodeSqlMessage<{ table_types: string[]; include_schema: boolean }>(name, value);
        const args: { catalog?: string; dbSchemaPattern?: string; tablePattern?: string } = {};
        const c = opt('catalog');
        const ds = opt('db_schema_filter_pattern');
        const tp = opt('table_name_filter_pattern');
        if (c !== undefined) args.catalog = c;
        if (ds !== undefined) args.dbSchemaPattern = ds;
        if (tp !== undefined) args.tablePattern = tp;
        return getTables(this.storage, { ...args, tableTypes: m.table_types, includeSchema: m.include_schema });
      }
      case 'CommandGetTableTypes': return getTableTypes();
      case 'CommandGetPrimaryKeys': {
        const m = decodeSqlMessage<{ table: string }>(name, value);
        const db = opt('db_schema') ?? this.options.database;
        if (db === undefined) throw new SaigaError('InvalidArgument', 'CommandGetPrimaryKeys needs db_schema (the database)');
        return getPrimaryKeys(this.storage, opt('catalog'), db, m.table);
      }
      case 'CommandGetSqlInfo':
        return getSqlInfo(this.sqlInfo, decodeSqlMessage<{ info: number[] }>(name, value).info);
      default:
        throw new SaigaError('NotSupported', `command ${name} is not supported`);
    }
  }

  private openSession(user: string): Session {
    const opts: { user: string; connectionId: number; database?: string } = { user, connectionId: this.nextConnectionId++ };
    if (this.options.database !== undefined) opts.database = this.options.database;
    return this.engine.openSession(opts);
  }

  private async schemaOf(d: PlainDescriptor, user: string): Promise<ArrowSchema> {
    const target = this.resolveDescriptor(d);
    switch (target.kind) {
      case 'table': return tableArrowSchema(this.storage.getTable(target.db, target.table));
      case 'meta': return this.metaSchema(target.name, target.value);
      case 'prepared': return columnsSchema(this.preparedFor(target.handle, user).stmt.columns);
      case 'sql': {
        const session = this.openSession(user);
        try {
          const stmt = await session.prepare(target.sql);
          const s = columnsSchema(stmt.columns);
          stmt.close();
          return s;
        } finally {
          session.close();
        }
      }
      case 'update':
      case 'preparedUpdate':
        throw new SaigaError('InvalidArgument', 'CommandStatementUpdate / CommandPreparedStatementUpdate return no rows: send them with DoPut');
    }
  }

  // --- GetFlightInfo / ListFlights -----------------------------------------------------

  private ticket(payload: TicketPayload): Uint8Array {
    const signed = this.signer.sign(payload, this.limits.ticketTtlMs);
    return packAny('TicketStatementQuery', encodeSqlMessage('TicketStatementQuery', { statement_handle: signed }));
  }

  private info(descriptor: PlainDescriptor | Record<string, unknown>, schema: ArrowSchema, tickets: Uint8Array[], totalRecords = -1): PlainFlightInfo {
    return {
      schema: encodeSchemaMessage(schema),
      flight_descriptor: descriptor,
      endpoint: tickets.map((t) => ({ ticket: { ticket: t }, location: [], app_metadata: new Uint8Array(0) })),
      total_records: totalRecords,
      total_bytes: -1,
      ordered: false,
      app_metadata: new Uint8Array(0),
    };
  }

  private tableInfo(descriptor: PlainDescriptor | Record<string, unknown>, db: string, table: string, user: string): PlainFlightInfo {
    const info = this.storage.getTable(db, table);
    // One snapshot for all endpoints: every tablet is read as of the same hybrid time.
    const ts = this.storage.now().toString();
    const tickets = this.storage.tabletsFor(db, table, []).map((tab) =>
      this.ticket({ k: 't', u: user, d: info.database, t: info.name, tab: tab.tabletId, ts }));
    return this.info(descriptor, tableArrowSchema(info), tickets);
  }

  private async getFlightInfo(d: PlainDescriptor, user: string): Promise<PlainFlightInfo> {
    const target = this.resolveDescriptor(d);
    switch (target.kind) {
      case 'table': return this.tableInfo(d, target.db, target.table, user);
      case 'meta': {
        const schema = this.metaSchema(target.name, target.value);
        return this.info(d, schema, [this.ticket({ k: 'm', u: user, n: target.name, c: Buffer.from(target.value).toString('base64') })]);
      }
      case 'sql': {
        const session = this.openSession(user);
        const result = await this.runSingle(session, target.sql);
        const id = this.holdPending(result, session);
        return this.info(d, result.schema, [this.ticket({ k: 'q', u: user, id, sql: target.sql })]);
      }
      case 'prepared': {
        const p = this.preparedFor(target.handle, user);
        const result = rowsOf(await p.stmt.execute(p.params));
        const id = this.holdPending(result, undefined);
        return this.info(d, result.schema, [this.ticket({ k: 'p', u: user, id, h: target.handle })]);
      }
      case 'update':
      case 'preparedUpdate':
        throw new SaigaError('InvalidArgument', 'CommandStatementUpdate / CommandPreparedStatementUpdate are executed with DoPut, not GetFlightInfo');
    }
  }

  private async runSingle(session: Session, sql: string): Promise<{ schema: ArrowSchema; batches: AsyncIterable<RecordBatch> }> {
    let results: StatementResult[];
    try {
      results = await session.execute(sql);
    } catch (e) {
      session.close();
      throw e;
    }
    if (results.length !== 1) {
      for (const r of results) if (r.kind === 'rows') void drain(r.batches);
      session.close();
      throw new SaigaError('InvalidArgument', `a Flight SQL query must be one statement, found ${results.length}`);
    }
    return rowsOf(results[0] as StatementResult);
  }

  private holdPending(result: { schema: ArrowSchema; batches: AsyncIterable<RecordBatch> }, session: Session | undefined): string {
    const now = Date.now();
    for (const [id, p] of this.pending) if (p.expiresAtMs < now) this.releasePending(id);
    while (this.pending.size >= this.limits.pendingResultsMax) {
      const oldest = this.pending.keys().next().value as string;
      this.releasePending(oldest);
    }
    const id = randomBytes(12).toString('base64url');
    this.pending.set(id, { ...result, session, expiresAtMs: now + this.limits.ticketTtlMs });
    return id;
  }

  private releasePending(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    void drain(p.batches, true).finally(() => p.session?.close());
  }

  private async listFlights(call: grpc.ServerWritableStream<unknown, unknown>, user: string): Promise<void> {
    for (const db of this.storage.listDatabases()) {
      for (const t of this.storage.listTables(db)) {
        const info = this.tableInfo({ type: 'PATH', path: [db, t], cmd: Buffer.alloc(0) }, db, t, user);
        if (!call.write(info)) await waitDrain(call);
      }
    }
    call.end();
  }

  // --- DoGet ---------------------------------------------------------------------------

  private async doGet(call: grpc.ServerWritableStream<{ ticket: Buffer }, FlightDataFrame>, user: string): Promise<void> {
    const t = this.openTicket(call.request.ticket, user);
    switch (t.k) {
      case 't': {
        const info = this.storage.getTable(t.d, t.t);
        const schema = tableArrowSchema(info);
        const projection = visibleColumns(info.schema).map((c) => c.name);
        const batches = this.storage.scanTablet(t.d, t.t, t.tab, {
          projection,
          readMode: { kind: 'snapshot', timestamp: BigInt(t.ts) },
          batchRowCount: this.limits.batchRowsMax,
        });
        await this.stream(call, schema, batches);
        return;
      }
      case 'm': {
        const batch = this.metaBatch(t.n, Buffer.from(t.c, 'base64'));
        await this.stream(call, batch.schema, (async function* () { yield batch; })());
        return;
      }
      case 'q':
      case 'p': {
        let p = this.pending.get(t.id);
        this.pending.delete(t.id);
        if (p === undefined) {
          // Not held (expired, evicted, or fetched before): run the statement again.
          if (t.k === 'q') {
            const session = this.openSession(user);
            p = { ...(await this.runSingle(session, t.sql)), session, expiresAtMs: 0 };
          } else {
            const prep = this.preparedFor(t.h, user);
            p = { ...rowsOf(await prep.stmt.execute(prep.params)), session: undefined, expiresAtMs: 0 };
          }
        }
        try {
          await this.stream(call, p.schema, p.batches);
        } finally {
          p.session?.close();
        }
        return;
      }
    }
  }

  private openTicket(bytes: Buffer, user: string): TicketPayload {
    const any = unpackAny(bytes);
    let signed: Uint8Array = bytes;
    if (any !== undefined && sqlMessageName(any) === 'TicketStatementQuery') {
      signed = decodeSqlMessage<{ statement_handle: Buffer }>('TicketStatementQuery', any.value).statement_handle;
    }
    const t = this.signer.verify<TicketPayload>(signed, 'ticket', 'InvalidArgument');
    if (this.auth.enabled && t.u !== user) {
      throw new SaigaError('PermissionDenied', `this ticket was issued to user '${t.u}', not '${user}'`);
    }
    return t;
  }

  /** Schema once, then batches of at most batchRowsMax rows; waits while more than sendQueueBytesMax are queued on the stream. */
  private async stream(call: grpc.ServerWritableStream<unknown, FlightDataFrame>, schema: ArrowSchema, batches: AsyncIterable<RecordBatch>): Promise<void> {
    const enc = new IpcStreamEncoder(schema);
    const direct = directSender(call, this.limits.sendQueueBytesMax, this.limits.messageBytesMax);
    const send = direct !== undefined
      // The body buffers go to the HTTP/2 stream as they are (no copy), see h2-send.ts.
      ? (f: IpcFrame): Promise<void> => direct.send({ dataHeader: f.header, body: f.body })
      : async (f: IpcFrame): Promise<void> => {
        // Laid out now, written by grpc-js straight into its frame (the body's only copy).
        if (!call.write(new FlightDataFrame(new FlightDataLayout({ dataHeader: f.header, body: f.body })))) await waitDrain(call);
      };
    await send(enc.schemaFrame());
    let checked = false;
    for await (const b of batches) {
      if (call.cancelled) break;
      if (!checked) {
        checked = true;
        assert(b.numCols === schema.fields.length && schema.fields.every((f, i) => sameArrowType(f.type, b.schema.fields[i]!.type)),
          () => `scan batch schema ${b.schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(', ')} does not match the announced ${schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(', ')}`);
      }
      if (b.numRows === 0) continue;
      const max = this.limits.batchRowsMax;
      for (let off = 0; off < b.numRows; off += max) {
        const part = off === 0 && b.numRows <= max ? b : b.slice(off, Math.min(b.numRows, off + max));
        for (const f of enc.batchFrames(part)) await send(f);
        if (call.cancelled) break;
      }
    }
    if (!call.cancelled) call.end();
  }

  // --- DoPut ---------------------------------------------------------------------------

  private async doPut(call: grpc.ServerDuplexStream<FlightDataIn, unknown>, user: string): Promise<void> {
    // Large messages into reused buffers (put-receive.ts), given back as their writes settle.
    const pool = installPooledDecoder(call);
    const it = new CallReader<FlightDataIn>(call);
    const first = await it.next();
    if (first.done === true) throw new SaigaError('InvalidArgument', 'DoPut received no FlightData: the first message must carry the FlightDescriptor');
    const msg = first.value;
    if (msg.descriptor === undefined) throw new SaigaError('InvalidArgument', 'the first FlightData of a DoPut must carry the FlightDescriptor');
    const d = msg.descriptor;
    const target = this.resolveDescriptor(d.type === 'path'
      ? { type: 'PATH', path: [...d.path], cmd: Buffer.alloc(0) }
      : { type: 'CMD', path: [], cmd: Buffer.from(d.cmd.buffer, d.cmd.byteOffset, d.cmd.byteLength) });
    switch (target.kind) {
      case 'table':
        await this.ingest(call, it, msg, target.db, target.table, pool);
        return;
      case 'update': {
        await drainIterator(it);
        const session = this.openSession(user);
        try {
          const results = await session.execute(target.sql);
          let count = 0;
          for (const r of results) {
            if (r.kind === 'ok') count += r.affectedRows;
            else await drain(r.batches, true);
          }
          call.write({ app_metadata: encodeSqlMessage('DoPutUpdateResult', { record_count: count }) });
          call.end();
        } finally {
          session.close();
        }
        return;
      }
      case 'preparedUpdate':
      case 'prepared': {
        const p = this.preparedFor(target.handle, user);
        const params = await readParams(msg, it);
        if (params !== undefined) p.params = params;
        if (target.kind === 'prepared') {
          call.write({ app_metadata: new Uint8Array(0) });
          call.end();
          return;
        }
        const r = await p.stmt.execute(p.params);
        let count = -1;
        if (r.kind === 'ok') count = r.affectedRows;
        else await drain(r.batches, true);
        call.write({ app_metadata: encodeSqlMessage('DoPutUpdateResult', { record_count: count }) });
        call.end();
        return;
      }
      case 'sql':
      case 'meta':
        throw new SaigaError('InvalidArgument', 'DoPut takes a path descriptor ["database", "table"] (bulk ingest) or CommandStatementUpdate / prepared statement commands');
    }
  }

  /**
   * Bulk ingest. The schema is checked against the table before any row is written. Each
   * received batch is one write, durable when its PutResult is sent. Up to putWritesInFlightMax
   * writes are outstanding while the next messages are read and decoded (writes hand their rows
   * to the tablets in call order, so later batches still apply after earlier ones); PutResults go
   * out in upload order. PutResult app_metadata is JSON:
   * {firstRow, rowCount, appliedCount, rowErrorCount, rowErrors[]} (rowIndex -1: a row of the
   * upload found a duplicate only when its bulk load committed; the message names the key).
   *
   * Inserts go through storage.bulkLoad when the storage has it: rows staged by the load become
   * durable only at its finish(), so from the first batch with staged rows on, PutResults are
   * held and sent after finish (appliedCount then counts the batch's staged rows; rows the
   * commit found duplicated are taken off the last PutResults and listed as rowIndex -1 errors).
   */
  private async ingest(
    call: grpc.ServerDuplexStream<FlightDataIn, unknown>, it: AsyncIterator<FlightDataIn>, first: FlightDataIn, db: string, table: string,
    pool?: MessageBufferPool,
  ): Promise<void> {
    const info = this.storage.getTable(db, table);
    const op = putOp(first.appMetadata);
    const dec = new IpcStreamDecoder();
    /** `source`: the received message's body, given back to `pool` once the write has settled. */
    interface PendingWrite { readonly firstRow: number; readonly rowCount: number; readonly result: Promise<WriteResult>; readonly source: Uint8Array }
    const queue: PendingWrite[] = [];
    /** [firstRow, rowCount] of every write durable as a whole, in upload order. */
    const durable: [number, number][] = [];
    let rowsReceived = 0;
    const bulk = op === 'insert' && this.storage.bulkLoad !== undefined ? this.storage.bulkLoad(info.database, info.name) : undefined;
    /** Bulk load: settled writes whose PutResult waits for finish() (staged rows, or after one). */
    const held: { w: PendingWrite; r: WriteResult }[] = [];
    /** Rows staged by earlier batches and made durable by a tablet leaving bulk mode. */
    let committedEarly = 0;
    let finishFailure = '';
    const send = async (w: PendingWrite, r: WriteResult, appliedCount: number, extraErrors: WriteResult['rowErrors'] = []): Promise<void> => {
      if (call.cancelled) return;
      const all = [...r.rowErrors, ...extraErrors];
      const errs = all.slice(0, this.limits.rowErrorsReportedMax).map((e) => ({ ...e, rowIndex: e.rowIndex < 0 ? -1 : e.rowIndex + w.firstRow }));
      const meta = { firstRow: w.firstRow, rowCount: w.rowCount, appliedCount, rowErrorCount: all.length, rowErrors: errs };
      if (!call.write({ app_metadata: Buffer.from(JSON.stringify(meta)) })) await waitDrain(call);
    };
    const report = async (w: PendingWrite, r: WriteResult): Promise<void> => {
      committedEarly += r.committedCount ?? 0;
      if ((r.stagedCount ?? 0) > 0 || held.length > 0) {
        held.push({ w, r });
        return;
      }
      durable.push([w.firstRow, w.rowCount]);
      await send(w, r, r.appliedCount);
    };
    const retireOldest = async (): Promise<void> => {
      const w = queue.shift();
      assert(w !== undefined, 'retireOldest with no write in flight');
      let r: WriteResult;
      try {
        r = await w.result;
      } finally {
        // Settled: the storage keeps no view on the batch (put-receive.ts).
        pool?.release(w.source);
      }
      await report(w, r);
    };
    /** After finish(): the held PutResults, with the rows the commits did not apply taken off the last ones. */
    const sendHeld = async (fin: WriteResult): Promise<void> => {
      let staged = 0;
      for (const { r } of held) staged += r.stagedCount ?? 0;
      let notApplied = staged - committedEarly - fin.appliedCount;
      const counts = held.map(({ r }) => r.appliedCount + (r.stagedCount ?? 0));
      for (let i = counts.length - 1; i >= 0 && notApplied > 0; i--) {
        const take = Math.min(notApplied, (held[i] as (typeof held)[number]).r.stagedCount ?? 0, counts[i] as number);
        counts[i] = (counts[i] as number) - take;
        notApplied -= take;
      }
      const rows = held.splice(0);
      for (const { w } of rows) durable.push([w.firstRow, w.rowCount]);
      for (let i = 0; i < rows.length; i++) {
        const { w, r } = rows[i] as (typeof rows)[number];
        await send(w, r, counts[i] as number, i === rows.length - 1 ? fin.rowErrors : []);
      }
    };
    let msg: FlightDataIn | undefined = first;
    try {
      while (msg !== undefined) {
        if (msg.dataHeader.length > 0) {
          const m = dec.push(msg.dataHeader, msg.dataBody);
          if (m.kind === 'schema') {
            pool?.release(msg.dataBody);
            checkPutSchema(info, m.schema);
          } else if (m.batch.numRows === 0) {
            pool?.release(msg.dataBody);
          } else {
            while (queue.length >= this.limits.putWritesInFlightMax) await retireOldest();
            const batch = m.batch;
            // async wrapper: a synchronous throw becomes this write's failure, not the loop's
            const result = (async () => (bulk !== undefined ? bulk.write(batch) : this.storage.writeArrow(info.database, info.name, op, batch)))();
            result.catch(() => undefined);
            queue.push({ firstRow: rowsReceived, rowCount: batch.numRows, result, source: msg.dataBody });
            rowsReceived += batch.numRows;
          }
        }
        const next = await it.next();
        msg = next.done === true ? undefined : next.value;
      }
      while (queue.length > 0) await retireOldest();
      if (dec.schema === undefined) throw new SaigaError('InvalidArgument', 'DoPut carried no Arrow schema message: nothing was written');
      if (bulk !== undefined) await sendHeld(await bulk.finish());
    } catch (e) {
      // Writes still in flight may have succeeded even though an earlier one failed: settle
      // them all, report the durable ones, and say exactly which rows were written.
      for (const w of queue.splice(0)) {
        let r: WriteResult | undefined;
        try {
          r = await w.result;
        } catch {
          continue;
        }
        try {
          await report(w, r);
        } catch {
          /* the call is failing anyway; the status below still lists these rows */
        }
      }
      // As without a bulk load, the batches written before the failure stay written: the load
      // commits what it staged (if that fails too, the staged rows are discarded).
      if (bulk !== undefined) {
        let fin: WriteResult | undefined;
        try {
          fin = await bulk.finish();
        } catch (fe) {
          finishFailure = `; committing the staged rows failed: ${fe instanceof Error ? fe.message : String(fe)}`;
          await bulk.abort().catch(() => undefined);
        }
        if (fin !== undefined) await sendHeld(fin).catch(() => undefined);
        // Held batches that staged nothing went through the ordinary path: durable.
        for (const { w, r } of held) if ((r.stagedCount ?? 0) === 0) durable.push([w.firstRow, w.rowCount]);
      }
      const code = isSaigaError(e) ? e.code : 'InvalidArgument';
      const text = isSaigaError(e) ? e.message : e instanceof Error ? e.message : String(e);
      const n = durable.reduce((k, [, c]) => k + c, 0);
      const ranges = rowRanges(durable);
      const which = n === 0 || (ranges.length === 1 && durable[0]?.[0] === 0) ? '' : ` (upload rows ${ranges.join(', ')})`;
      const staged = held.reduce((k, { r }) => k + (r.stagedCount ?? 0), 0);
      // Early commits of batches still held (not counted in n); after a finish every batch is in n.
      if (held.length === 0) committedEarly = 0;
      const early = committedEarly > 0 ? `; ${committedEarly} rows staged by earlier batches were committed when a tablet left bulk mode and are durable too` : '';
      const dropped = staged - committedEarly > 0 ? `; ${staged - committedEarly} rows staged for the bulk load were discarded${finishFailure}` : '';
      throw new SaigaError(code, `${text} (${n} rows of this upload were written and are durable${which}${early}; the other ${rowsReceived - n - committedEarly} rows received and everything sent later were not${dropped})`);
    }
    call.end();
  }

  // --- DoAction ------------------------------------------------------------------------

  private async doAction(call: grpc.ServerWritableStream<{ type: string; body: Buffer }, unknown>, user: string): Promise<void> {
    const { type, body } = call.request;
    switch (type) {
      case 'CreatePreparedStatement': {
        const any = unpackAny(body);
        if (any === undefined || sqlMessageName(any) !== 'ActionCreatePreparedStatementRequest') {
          throw new SaigaError('InvalidArgument', 'CreatePreparedStatement body must be an Any-packed ActionCreatePreparedStatementRequest');
        }
        const req = decodeSqlMessage<{ query: string }>('ActionCreatePreparedStatementRequest', any.value);
        if (this.prepared.size >= this.limits.preparedStatementsMax) {
          throw new SaigaError('ResourceExhausted', `${this.prepared.size} prepared statements are open (limit ${this.limits.preparedStatementsMax}): close some with ClosePreparedStatement`);
        }
        const session = this.openSession(user);
        let stmt: PreparedStatement;
        try {
          stmt = await session.prepare(req.query);
        } catch (e) {
          session.close();
          throw e;
        }
        const handle = randomBytes(16).toString('hex');
        this.prepared.set(handle, { user, session, stmt, params: [] });
        const result = encodeSqlMessage('ActionCreatePreparedStatementResult', {
          prepared_statement_handle: Buffer.from(handle),
          dataset_schema: stmt.columns.length > 0 ? encodeSchemaMessage(columnsSchema(stmt.columns)) : new Uint8Array(0),
          parameter_schema: new Uint8Array(0),
        });
        call.write({ body: packAny('ActionCreatePreparedStatementResult', result) });
        break;
      }
      case 'ClosePreparedStatement': {
        const any = unpackAny(body);
        if (any === undefined || sqlMessageName(any) !== 'ActionClosePreparedStatementRequest') {
          throw new SaigaError('InvalidArgument', 'ClosePreparedStatement body must be an Any-packed ActionClosePreparedStatementRequest');
        }
        const h = handleOf(decodeSqlMessage<{ prepared_statement_handle: Buffer }>('ActionClosePreparedStatementRequest', any.value).prepared_statement_handle);
        const p = this.preparedFor(h, user);
        p.stmt.close();
        p.session.close();
        this.prepared.delete(h);
        break;
      }
      case 'DropTable': {
        const a = jsonBody<{ database?: string; table?: string; ifExists?: boolean }>(body, 'DropTable');
        const db = a.database ?? this.options.database;
        if (db === undefined || typeof a.table !== 'string') throw new SaigaError('InvalidArgument', 'DropTable body must be JSON {"database": ..., "table": ...}');
        await this.storage.dropTable(db, a.table, a.ifExists === true);
        call.write({ body: Buffer.from(JSON.stringify({ dropped: `${db}.${a.table}` })) });
        break;
      }
      case 'Flush': {
        const a = body.length === 0 ? {} : jsonBody<{ database?: string; table?: string }>(body, 'Flush');
        await this.storage.flush(a.database, a.table);
        call.write({ body: Buffer.from(JSON.stringify({ flushed: a.table === undefined ? (a.database ?? '*') : `${a.database ?? ''}.${a.table}` })) });
        break;
      }
      default:
        throw new SaigaError('NotSupported', `unknown action '${type}': ListActions names the supported ones (${ACTIONS.map((a) => a.type).join(', ')})`);
    }
    call.end();
  }

  private preparedFor(handle: string, user: string): Prepared {
    const p = this.prepared.get(handle);
    if (p === undefined) throw new SaigaError('NotFound', 'no open prepared statement with this handle (closed, or the server restarted): prepare it again');
    if (this.auth.enabled && p.user !== user) throw new SaigaError('PermissionDenied', `this prepared statement belongs to user '${p.user}'`);
    return p;
  }
}

// ---------------------------------------------------------------------------------------

/** Durable [firstRow, rowCount] spans (upload order) as merged half-open ranges "[a, b)". */
function rowRanges(spans: readonly (readonly [number, number])[]): string[] {
  const sorted = [...spans].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [f, c] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === f) last[1] = f + c;
    else out.push([f, f + c]);
  }
  return out.map(([a, b]) => `[${a}, ${b})`);
}

function handleOf(b: Uint8Array): string {
  return Buffer.from(b).toString('utf8');
}

function jsonBody<T>(body: Buffer, action: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new SaigaError('InvalidArgument', `${action} body must be JSON, found ${JSON.stringify(body.subarray(0, 40).toString('utf8'))}`);
  }
}

/** The write op of a DoPut: first message's app_metadata JSON {"op": "upsert"}; insert when absent. */
function putOp(meta: Uint8Array): WriteOpKind {
  if (meta.length === 0) return 'insert';
  const a = jsonBody<{ op?: string }>(Buffer.from(meta), 'DoPut app_metadata');
  if (a.op === undefined) return 'insert';
  if (!(WRITE_OPS as readonly string[]).includes(a.op)) {
    throw new SaigaError('InvalidArgument', `DoPut op must be one of ${WRITE_OPS.join(', ')}, found '${a.op}'`);
  }
  return a.op as WriteOpKind;
}

const AFFECTED_SCHEMA = new ArrowSchema([new Field('affected_rows', new Int64(), false)]);

/** A statement result as an Arrow stream; statements without rows yield one affected_rows row. */
function rowsOf(r: StatementResult): { schema: ArrowSchema; batches: AsyncIterable<RecordBatch> } {
  if (r.kind === 'rows') return { schema: r.arrowSchema, batches: r.batches };
  const data = makeData({
    type: new Struct(AFFECTED_SCHEMA.fields), length: 1, nullCount: 0,
    children: [makeData({ type: new Int64(), length: 1, nullCount: 0, data: BigInt64Array.of(BigInt(r.affectedRows)) })],
  });
  const batch = new RecordBatch(AFFECTED_SCHEMA, data);
  return { schema: AFFECTED_SCHEMA, batches: (async function* () { yield batch; })() };
}

export function columnsSchema(columns: readonly ResultColumn[]): ArrowSchema {
  return new ArrowSchema(columns.map((c) => new Field(c.name, arrowTypeOf(c), c.nullable)));
}

async function drain(batches: AsyncIterable<RecordBatch>, stopEarly = false): Promise<void> {
  const it = batches[Symbol.asyncIterator]();
  try {
    if (stopEarly) await it.return?.();
    else while (!(await it.next()).done) { /* discard */ }
  } catch {
    /* the result is being thrown away */
  }
}

async function drainIterator(it: AsyncIterator<unknown>): Promise<void> {
  while (!(await it.next()).done) { /* the command carries no data */ }
}

/** Parameter values of a prepared statement from the last row of the uploaded batches (undefined: none sent). */
async function readParams(first: FlightDataIn, it: AsyncIterator<FlightDataIn>): Promise<Value[] | undefined> {
  const dec = new IpcStreamDecoder();
  let last: RecordBatch | undefined;
  let msg: FlightDataIn | undefined = first;
  while (msg !== undefined) {
    if (msg.dataHeader.length > 0) {
      const m = dec.push(msg.dataHeader, msg.dataBody);
      if (m.kind === 'batch' && m.batch.numRows > 0) last = m.batch;
    }
    const n = await it.next();
    msg = n.done === true ? undefined : n.value;
  }
  if (last === undefined) return undefined;
  const row = last.numRows - 1;
  const out: Value[] = [];
  for (let c = 0; c < last.numCols; c++) {
    const v = (last.getChildAt(c) as Vector).get(row) as unknown;
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v instanceof Uint8Array) {
      out.push(v);
    } else {
      throw new SaigaError('NotSupported', `parameter ${c + 1} has Arrow type ${String(last.schema.fields[c]?.type)}, which prepared statements do not take yet`);
    }
  }
  return out;
}

/**
 * Reads a server call's request stream one message at a time (pausing in between, so a slow
 * writer applies backpressure to the client). Unlike the stream's async iterator it does not
 * destroy the call when the client half-closes, so the final PutResult and status still go out.
 */
class CallReader<T> implements AsyncIterator<T, undefined> {
  private readonly queue: T[] = [];
  private ended = false;
  private error: unknown;
  private waiter: (() => void) | undefined;

  constructor(private readonly call: grpc.ServerDuplexStream<T, unknown>) {
    call.on('data', (m: T) => {
      this.queue.push(m);
      call.pause();
      this.wake();
    });
    call.once('end', () => { this.ended = true; this.wake(); });
    call.once('error', (e: unknown) => { this.error = e; this.wake(); });
    call.once('cancelled', () => { this.error = new SaigaError('Cancelled', 'the client cancelled the call'); this.wake(); });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      const m = this.queue.shift();
      if (m !== undefined) return { done: false, value: m };
      if (this.error !== undefined) throw this.error;
      if (this.ended) return { done: true, value: undefined };
      this.call.resume();
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
  }
}

function firstMessage<T>(call: grpc.ServerDuplexStream<T, unknown>): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('error', onError);
    };
    const onData = (m: T): void => { cleanup(); call.pause(); resolve(m); };
    const onEnd = (): void => { cleanup(); resolve(undefined); };
    const onError = (e: unknown): void => { cleanup(); reject(e); };
    call.on('data', onData);
    call.once('end', onEnd);
    call.once('error', onError);
  });
}

function waitDrain(call: { once(ev: string, f: () => void): unknown; off(ev: string, f: () => void): unknown; cancelled: boolean }): Promise<void> {
  if (call.cancelled) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}
