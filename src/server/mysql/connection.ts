import { privateDecrypt, constants as cryptoConstants, randomBytes, type KeyObject } from 'node:crypto';
import { getEventListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { RecordBatch } from 'apache-arrow';
import { SaigaError } from '../../common/errors.js';
import type { Limits } from '../../common/limits.js';
import type { PreparedStatement, QueryEngine, ResultColumn, Session, StatementResult, Warning } from '../../query/api.js';
import { xorBytes } from '../auth/password-hash.js';
import type { UserRecord, UserStore } from '../auth/user-store.js';
import {
  CACHING_SHA2_PLUGIN, CHARSET, CLIENT, COM, MYSQL_TYPE, NATIVE_PASSWORD_PLUGIN, SERVER_CAPABILITIES, SERVER_STATUS, SERVER_VERSION,
} from './constants.js';
import { MysqlServerError, SERVER_ERRORS, toErrPacket } from './error-map.js';
import { okResult } from './local-results.js';
import { PacketFramer, PacketTooLargeError, type LogicalPacket } from './framing.js';
import { answerLocally, statusFlagsOf, transactionOpen, type ServerStatus, type TransactionState } from './local-statements.js';
import { parseShowProcesslist, rewriteProcesslistTable, showProcesslist, type ProcessInfo } from './processlist.js';
import {
  decodeChangeUser, decodeHandshakeResponse41, writeAuthMoreData, writeAuthSwitchRequest, writeColumnCount,
  writeColumnDefinition41, writeEof, writeErr, writeFieldListColumn, writeHandshakeV10, writeOk, writeStmtPrepareOk,
  type ColumnDefinition, type ErrPacket,
} from './packets.js';
import { ColumnPlanCache, planColumns, planResultColumns, writeBinaryRows, writeBinaryValueRows, writeTextRows, type ColumnPlan } from './result-encoding.js';
import { splitStatements, stripComments } from './sql-text.js';
import { decodeSendLongData, decodeStmtExecute, peekStatementId } from './statement-params.js';
import { decodeUtf8, MalformedPacketError, PacketWriter, PayloadReader } from './wire-buffer.js';

/** Prepared statements one connection may hold (MySQL's max_prepared_stmt_count is server-wide). */
export const PREPARED_STATEMENTS_PER_CONNECTION_MAX = 1024;
/** Bytes of COM_STMT_SEND_LONG_DATA one statement may accumulate (bounded by the packet limit too). */
const FLUSH_BYTES = 64 * 1024;
/** RSA modulus size of the key generated at start (2048 bits). */
export const RSA_KEY_BYTES = 256;
/** statementSignal looks for listeners left on the reused controller once per this many statements. */
const LISTENER_CHECK_STATEMENTS = 64;
/** Time a client has to finish the handshake. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectionContext {
  readonly engine: QueryEngine;
  readonly users: UserStore;
  readonly limits: Limits;
  readonly publicKeyPem: string;
  readonly privateKey: KeyObject;
  readonly status: () => ServerStatus;
  readonly countQuestion: () => void;
  /** Another open connection of this server, for KILL. */
  readonly findConnection: (id: number) => MysqlConnection | undefined;
  /** Every open connection of this server, for SHOW PROCESSLIST. */
  readonly listConnections: () => Iterable<MysqlConnection>;
}

const KILL_RE = /^\s*kill\s+(?:(query|connection)\s+)?(\d+)\s*;?\s*$/i;

interface PreparedEntry {
  readonly ps: PreparedStatement;
  /** The statement's text, shown by SHOW PROCESSLIST while it executes. */
  readonly sql: string;
  /** `sql` trimmed once at PREPARE (what tracked() shows). */
  readonly trimmedSql: string;
  readonly paramCount: number;
  types: readonly number[] | null;
  readonly plans: ColumnPlanCache;
  readonly longData: Map<number, Buffer[]>;
  longDataBytes: number;
  /**
   * The encoded column-count + column-definition (+ EOF) packets of the last result, reused while
   * the column plans, the starting sequence id and the EOF status are the same (point selects
   * send identical metadata on every execution).
   */
  header: ResultHeader | null;
}

interface ResultHeader {
  readonly plans: readonly ColumnPlan[];
  readonly seq: number;
  /** Status flags in the EOF packet, -1 under CLIENT_DEPRECATE_EOF (no EOF sent). */
  readonly eofStatus: number;
  readonly bytes: Buffer;
  readonly packets: number;
}

class ConnectionClosed extends Error {}

const NO_LONG_DATA: ReadonlyMap<number, Buffer> = new Map();

/** One client connection: handshake, authentication, then a loop of commands. */
export class MysqlConnection {
  private readonly framer: PacketFramer;
  private readonly queue: LogicalPacket[] = [];
  private waiter: ((p: LogicalPacket | null) => void) | null = null;
  private failure: unknown = null;
  private closed = false;
  private busy = false;
  private readonly w = new PacketWriter();
  private capabilities = 0;
  private nonce: Buffer = randomBytes(20);
  private session: Session | null = null;
  private user = '';
  private readonly statements = new Map<number, PreparedEntry>();
  private nextStatementId = 1;
  private multiStatements = false;
  private readonly tx: TransactionState = { inTransaction: false, writes: 0 };
  private lastInsertId: number | bigint = 0;
  private lastWarnings: readonly Warning[] = [];
  private readonly abort = new AbortController();
  /** The running statement's cancellation (KILL QUERY aborts it; so does closing the connection). */
  private statementAbort: AbortController | null = null;
  /** Statements that took a signal (statementSignal's listener check runs on every LISTENER_CHECK_STATEMENTS-th). */
  private signalUses = 0;
  /** The statement running now (SHOW PROCESSLIST), null between statements. */
  private running: { readonly sql: string; readonly startedMs: number; readonly command: 'Query' | 'Execute' } | null = null;
  /** When the connection last became idle (or was accepted). */
  private idleSinceMs = Date.now();
  private authenticated = false;
  /** Counts flush() calls, so a failed command knows whether its partial response already left. */
  private flushes = 0;
  /** When bytes last arrived or a command last finished (the idle sweep's clock, checkIdle). */
  private lastActivityMs = Date.now();

  constructor(
    private readonly socket: Socket,
    readonly connectionId: number,
    private readonly ctx: ConnectionContext,
    private readonly onClose: () => void,
  ) {
    this.framer = new PacketFramer(ctx.limits.packetBytesMax);
    socket.setNoDelay(true);
    socket.setTimeout(Math.min(CONNECT_TIMEOUT_MS, ctx.limits.idleTimeoutMs));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('error', () => this.shutdown());
    socket.on('close', () => this.shutdown());
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  /** Runs the connection to its end; never throws. */
  async run(): Promise<void> {
    try {
      await this.handshake();
      for (;;) {
        // A packet already queued is taken without a promise; otherwise wait for the next one.
        let p = this.queue.shift() ?? null;
        if (p === null) {
          if (this.failure === null && !this.closed) p = await new Promise<LogicalPacket | null>((resolve) => { this.waiter = resolve; });
          if (p === null) throw this.failure ?? new ConnectionClosed();
        }
        this.busy = true;
        try {
          // COM_STMT_EXECUTE (the OLTP command) is handled here, one async frame less than dispatch.
          if (p.payload[0] === COM.STMT_EXECUTE) await this.comStmtExecute(p);
          else if (!(await this.dispatch(p))) break;
        } finally {
          this.busy = false;
          this.lastActivityMs = Date.now();
        }
      }
    } catch (e) {
      await this.fail(e);
    } finally {
      this.shutdown();
    }
  }

  /** Closes the connection; used by server.close() and KILL CONNECTION. */
  destroy(): void {
    this.shutdown();
  }

  get userName(): string {
    return this.user;
  }

  /** This connection as SHOW PROCESSLIST shows it. */
  processInfo(nowMs: number = Date.now()): ProcessInfo {
    const host = `${this.socket.remoteAddress ?? ''}:${this.socket.remotePort ?? 0}`;
    const db = this.session?.database ?? null;
    const r = this.running;
    if (!this.authenticated && r === null) {
      return { id: this.connectionId, user: 'unauthenticated user', host, db: null, command: 'Connect', timeMs: nowMs - this.idleSinceMs, state: 'login', info: null, examinedRows: 0, memoryBytes: 0 };
    }
    if (r === null) {
      return { id: this.connectionId, user: this.user, host, db, command: 'Sleep', timeMs: nowMs - this.idleSinceMs, state: '', info: null, examinedRows: 0, memoryBytes: 0 };
    }
    // The engine's counters belong to this statement only when the engine started it after us
    // (statements the server answers itself never reach the engine).
    const p = this.session?.progress?.();
    const mine = p !== undefined && p.startedMs >= r.startedMs;
    return {
      id: this.connectionId, user: this.user, host, db, command: r.command, timeMs: nowMs - r.startedMs, state: 'executing', info: r.sql,
      examinedRows: mine ? p.rowsScanned : 0, memoryBytes: mine ? p.memoryBytes : 0,
    };
  }

  /** The process list this connection's user may see: root sees all, others their own threads (no PROCESS privilege). */
  private visibleProcesses(): ProcessInfo[] {
    const now = Date.now();
    const out: ProcessInfo[] = [];
    for (const c of this.ctx.listConnections()) {
      if (this.user === 'root' || c === this || c.userName === this.user) out.push(c.processInfo(now));
    }
    return out;
  }

  /** Marks a statement as running for SHOW PROCESSLIST while body runs (including its result streaming). */
  private async tracked(sql: string, command: 'Query' | 'Execute', body: () => Promise<void>): Promise<void> {
    this.running = { sql: sql.trim(), startedMs: Date.now(), command };
    try {
      await body();
    } finally {
      this.running = null;
      this.idleSinceMs = Date.now();
    }
  }

  /** KILL QUERY: cancels the statement this connection is running, if any; the connection stays. */
  killQuery(): void {
    this.statementAbort?.abort();
  }

  /** A signal for one statement, aborted by KILL QUERY or by the connection closing. */
  private statementSignal(): AbortSignal {
    // No AbortSignal.any / new controller per statement (costly at point-select rates): the
    // controller is reused until it is aborted (KILL QUERY) or someone left a listener on it;
    // shutdown() aborts it as well as the connection's. Leftover listeners are looked for every
    // LISTENER_CHECK_STATEMENTS statements only (getEventListeners was ~0.7% of the server's CPU
    // at single-row INSERT rates), so at most that many finished statements' forgotten listeners
    // share a controller (a later KILL QUERY fires them: they belong to finished statements).
    let ac = this.statementAbort;
    if (ac === null || ac.signal.aborted || (++this.signalUses % LISTENER_CHECK_STATEMENTS === 0 && getEventListeners(ac.signal, 'abort').length > 0)) {
      ac = new AbortController();
      this.statementAbort = ac;
      if (this.closed) ac.abort(new SaigaError('Cancelled', 'the client connection closed'));
    }
    return ac.signal;
  }

  /** KILL [QUERY | CONNECTION] id, as MySQL: root may kill anything, others only their own threads. */
  private kill(mode: string | undefined, id: number): StatementResult {
    const target = this.ctx.findConnection(id);
    if (target === undefined) throw new MysqlServerError(1094, 'HY000', `Unknown thread id: ${id}`);
    if (this.user !== 'root' && target.userName !== this.user) {
      throw new MysqlServerError(1095, 'HY000', `You are not owner of thread ${id}`);
    }
    if (mode !== undefined && mode.toLowerCase() === 'query') target.killQuery();
    else if (target === this) setImmediate(() => this.destroy());
    else target.destroy();
    return okResult();
  }

  // ---- socket plumbing ----

  private onData(chunk: Buffer): void {
    if (this.closed || this.failure !== null) return;
    this.lastActivityMs = Date.now();
    this.framer.push(chunk);
    try {
      for (let p = this.framer.next(); p !== null; p = this.framer.next()) this.queue.push(p);
    } catch (e) {
      this.failure = e;
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.queue.length > 0) {
      this.waiter = null;
      w(this.queue.shift() as LogicalPacket);
    } else if (this.failure !== null || this.closed) {
      this.waiter = null;
      w(null);
    }
  }

  private nextPacket(): Promise<LogicalPacket> {
    const take = (p: LogicalPacket | null): LogicalPacket => {
      if (p !== null) return p;
      if (this.failure !== null) throw this.failure;
      throw new ConnectionClosed();
    };
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift() as LogicalPacket);
    if (this.failure !== null || this.closed) return Promise.resolve(null).then(take);
    return new Promise<LogicalPacket | null>((resolve) => {
      this.waiter = resolve;
    }).then(take);
  }

  private onIdle(): void {
    if (this.busy || this.closed) return;
    if (this.authenticated) {
      this.w.seq = 0;
      writeErr(this.w, { ...SERVER_ERRORS.idleTimeout });
      this.socket.end(this.w.take());
    }
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new SaigaError('Cancelled', 'the client connection closed'));
    this.statementAbort?.abort(new SaigaError('Cancelled', 'the client connection closed'));
    for (const e of this.statements.values()) e.ps.close();
    this.statements.clear();
    this.session?.close();
    this.session = null;
    if (!this.socket.destroyed) this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.wake();
    this.onClose();
  }

  private async flush(): Promise<void> {
    if (!this.flushNow()) await this.drained();
  }

  /**
   * Hands the buffered packets to the socket; false when the socket's buffer is full and the
   * caller must wait for drained() before writing more.
   */
  private flushNow(): boolean {
    this.flushes++;
    if (this.w.len === 0 || this.closed) {
      this.w.len = 0;
      return true;
    }
    return this.socket.write(this.w.take()) || this.closed;
  }

  private async drained(): Promise<void> {
    if (!this.closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }

  /** Protocol failures end the connection, after an ERR packet when the client can still read one. */
  private async fail(e: unknown): Promise<void> {
    if (e instanceof ConnectionClosed || this.closed) return;
    let err: ErrPacket;
    if (e instanceof PacketTooLargeError) {
      err = { ...SERVER_ERRORS.packetTooLarge, message: e.message };
      if (e.seq >= 0) this.w.seq = (e.seq + 1) & 0xff;
    }
    else if (e instanceof MalformedPacketError) {
      err = e.message.startsWith('packets out of order')
        ? { ...SERVER_ERRORS.packetsOutOfOrder, message: `Got packets out of order: ${e.message}` }
        : { ...SERVER_ERRORS.malformedPacket, message: `Malformed communication packet: ${e.message}` };
    } else err = toErrPacket(e);
    this.w.len = 0;
    writeErr(this.w, err);
    await this.flush();
  }

  // ---- connection phase ----

  private async handshake(): Promise<void> {
    this.w.seq = 0;
    writeHandshakeV10(this.w, {
      serverVersion: SERVER_VERSION,
      connectionId: this.connectionId,
      nonce: this.nonce,
      capabilities: SERVER_CAPABILITIES,
      charset: CHARSET.UTF8MB4_GENERAL_CI,
      statusFlags: SERVER_STATUS.AUTOCOMMIT,
      authPlugin: CACHING_SHA2_PLUGIN,
    });
    await this.flush();
    const p = await this.nextPacket();
    this.expectSeq(p, 1);
    const resp = decodeHandshakeResponse41(p.payload);
    this.capabilities = resp.capabilities & SERVER_CAPABILITIES;
    this.multiStatements = (this.capabilities & CLIENT.MULTI_STATEMENTS) !== 0;
    this.w.seq = p.nextSeq;
    const ok = await this.authenticate(resp.user, resp.authPlugin ?? NATIVE_PASSWORD_PLUGIN, resp.authResponse, this.nonce);
    if (!ok) throw new ConnectionClosed();
    await this.startSession(resp.user, resp.database);
    this.authenticated = true;
    // From here the server's idle sweep (checkIdle) judges idleness: a socket timeout would be
    // re-armed on every read and write (two timer-list moves per statement at OLTP rates).
    this.socket.setTimeout(0);
    this.lastActivityMs = Date.now();
  }

  /**
   * Called by the server's idle sweep: ends an authenticated connection that has had no
   * command running and no bytes arriving for idleTimeoutMs (MySQL's wait_timeout).
   */
  checkIdle(nowMs: number): void {
    if (this.authenticated && !this.busy && !this.closed && nowMs - this.lastActivityMs >= this.ctx.limits.idleTimeoutMs) this.onIdle();
  }

  private expectSeq(p: LogicalPacket, seq: number): void {
    if (p.seq !== seq) throw new MalformedPacketError(`packets out of order: expected sequence id ${seq}, found ${p.seq}`);
  }

  private async readAuthPacket(): Promise<Buffer> {
    await this.flush();
    const p = await this.nextPacket();
    this.expectSeq(p, this.w.seq);
    this.w.seq = p.nextSeq;
    return p.payload;
  }

  private accessDenied(user: string, usedPassword: boolean, why?: string): ErrPacket {
    const base = `Access denied for user '${user}'@'${this.remoteAddress}' (using password: ${usedPassword ? 'YES' : 'NO'})`;
    return { ...SERVER_ERRORS.accessDenied, message: why === undefined ? base : `${base}: ${why}` };
  }

  /**
   * Runs the plugin exchange at the current sequence id. Sends ERR 1045 and returns false on
   * failure; on success writes nothing (the caller sends OK once the session is open).
   */
  private async authenticate(user: string, clientPlugin: string, firstResponse: Uint8Array, firstNonce: Uint8Array): Promise<boolean> {
    const rec: UserRecord | undefined = this.ctx.users.get(user);
    let response: Uint8Array = firstResponse;
    let nonce: Uint8Array = firstNonce;
    const deny = async (why?: string): Promise<boolean> => {
      writeErr(this.w, this.accessDenied(user, response.length > 0, why));
      await this.flush();
      return false;
    };
    if (rec === undefined || !this.ctx.users.hostAllowed(rec, this.remoteAddress)) return deny();
    if (clientPlugin !== rec.plugin) {
      nonce = randomBytes(20);
      writeAuthSwitchRequest(this.w, rec.plugin, nonce);
      response = await this.readAuthPacket();
    }
    if (rec.plugin === NATIVE_PASSWORD_PLUGIN) {
      return this.ctx.users.verifyNativeScramble(user, nonce, response) ? true : deny();
    }
    const fast = this.ctx.users.verifySha2Scramble(user, nonce, response);
    if (fast === 'ok') {
      if (!rec.emptyPassword) writeAuthMoreData(this.w, Uint8Array.of(0x03));
      return true;
    }
    if (fast === 'mismatch') return deny();
    // Full authentication: the client must send the password RSA-encrypted (no TLS here).
    writeAuthMoreData(this.w, Uint8Array.of(0x04));
    let packet = await this.readAuthPacket();
    if (packet.length === 1 && packet[0] === 0x02) {
      writeAuthMoreData(this.w, Buffer.from(this.ctx.publicKeyPem, 'ascii'));
      packet = await this.readAuthPacket();
    }
    const password = this.fullAuthPassword(packet, nonce);
    if (password === null) {
      return deny(
        'caching_sha2_password full authentication needs the password RSA-encrypted: this server has no TLS, so a client ' +
          'connecting from another host must request the server public key (mysql2 and PyMySQL do; mysql CLI: --get-server-public-key)',
      );
    }
    return this.ctx.users.verifyPassword(user, password) ? true : deny();
  }

  /**
   * The password of a caching_sha2_password full authentication: RSA-OAEP ciphertext (XORed
   * with the nonce), or - only from a loopback peer, whose traffic never leaves the host - the
   * NUL-terminated cleartext that clients send on connections they deem secure (MariaDB
   * Connector/C treats loopback TCP as secure). Null when neither applies.
   */
  private fullAuthPassword(packet: Buffer, nonce: Uint8Array): string | null {
    if (packet.length === RSA_KEY_BYTES) {
      try {
        const plain = privateDecrypt({ key: this.ctx.privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, packet);
        const xored = xorBytes(plain, nonce);
        const end = xored.indexOf(0);
        return xored.subarray(0, end < 0 ? xored.length : end).toString('utf8');
      } catch {
        // not a ciphertext; maybe a 256-byte cleartext password below
      }
    }
    if (isLoopback(this.remoteAddress) && packet.length > 0 && packet[packet.length - 1] === 0) {
      return packet.subarray(0, packet.length - 1).toString('utf8');
    }
    return null;
  }

  private async startSession(user: string, database: string | null): Promise<void> {
    const session = this.ctx.engine.openSession({ user, connectionId: this.connectionId });
    if (database !== null) {
      try {
        await session.execute(`USE \`${database.replace(/`/g, '``')}\``);
      } catch (e) {
        session.close();
        writeErr(this.w, toErrPacket(e));
        await this.flush();
        throw new ConnectionClosed();
      }
    }
    this.session = session;
    this.user = user;
    this.tx.inTransaction = false;
    this.tx.writes = 0;
    writeOk(this.w, { affectedRows: 0, lastInsertId: 0, statusFlags: this.statusFlags(), warnings: 0 });
    await this.flush();
  }

  private statusFlags(more = false): number {
    const s = this.session;
    const base = s === null ? SERVER_STATUS.AUTOCOMMIT : statusFlagsOf(s, this.tx);
    return more ? base | SERVER_STATUS.MORE_RESULTS_EXISTS : base;
  }

  private get deprecateEof(): boolean {
    return (this.capabilities & CLIENT.DEPRECATE_EOF) !== 0;
  }

  // ---- command phase ----

  /** Handles one command; false ends the connection. */
  private async dispatch(p: LogicalPacket): Promise<boolean> {
    this.expectSeq(p, 0);
    this.w.seq = p.nextSeq;
    const payload = p.payload;
    if (payload.length === 0) throw new MalformedPacketError('empty command packet');
    const command = payload[0] as number;
    const session = this.session as Session;
    switch (command) {
      case COM.QUIT:
        return false;
      case COM.PING:
        this.sendOk(0);
        break;
      case COM.QUERY:
        this.ctx.countQuestion();
        await this.comQuery(decodeUtf8(payload.subarray(1)));
        break;
      case COM.INIT_DB:
        await this.guard(async () => {
          await session.execute(`USE \`${decodeUtf8(payload.subarray(1)).replace(/`/g, '``')}\``, { signal: this.abort.signal });
          this.sendOk(0);
        });
        break;
      case COM.FIELD_LIST:
        await this.guard(() => this.comFieldList(payload));
        break;
      case COM.STATISTICS: {
        const s = this.ctx.status();
        this.w.begin();
        this.w.str(`Uptime: ${s.uptimeSeconds}  Threads: ${s.threadsConnected}  Questions: ${s.questions}  Connections: ${s.connections}`);
        this.w.end();
        break;
      }
      case COM.STMT_PREPARE:
        this.ctx.countQuestion();
        await this.guard(() => this.comStmtPrepare(decodeUtf8(payload.subarray(1))));
        break;
      case COM.STMT_EXECUTE:
        await this.comStmtExecute(p);
        return true; // comStmtExecute flushed
      case COM.STMT_SEND_LONG_DATA:
        this.comSendLongData(payload);
        return true; // no response
      case COM.STMT_CLOSE: {
        const id = peekStatementId(payload);
        this.statements.get(id)?.ps.close();
        this.statements.delete(id);
        return true; // no response
      }
      case COM.STMT_RESET: {
        const e = this.statements.get(peekStatementId(payload));
        if (e === undefined) this.sendErr({ ...SERVER_ERRORS.unknownStatement, message: 'Unknown prepared statement handler given to mysqld_stmt_reset' });
        else {
          e.longData.clear();
          e.longDataBytes = 0;
          this.sendOk(0);
        }
        break;
      }
      case COM.SET_OPTION: {
        const r = new PayloadReader(payload, 'COM_SET_OPTION');
        r.u8();
        const opt = r.u16();
        if (opt === 0 || opt === 1) {
          this.multiStatements = opt === 0;
          if (this.deprecateEof) this.sendOk(0);
          else writeEof(this.w, this.statusFlags());
        } else {
          this.sendErr({ ...SERVER_ERRORS.unknownCommand, message: `Unknown COM_SET_OPTION value ${opt}` });
        }
        break;
      }
      case COM.RESET_CONNECTION:
        await this.resetSession(this.user, this.session?.database ?? null);
        this.sendOk(0);
        break;
      case COM.CHANGE_USER: {
        const cu = decodeChangeUser(payload, this.capabilities);
        this.authenticated = false;
        const ok = await this.authenticate(cu.user, cu.authPlugin ?? NATIVE_PASSWORD_PLUGIN, cu.authResponse, this.nonce);
        if (!ok) return false;
        this.closeSessionState();
        await this.startSession(cu.user, cu.database);
        this.authenticated = true;
        return true;
      }
      default:
        this.sendErr({ ...SERVER_ERRORS.unknownCommand, message: `Unknown command 0x${command.toString(16)}` });
    }
    await this.flush();
    return true;
  }

  private sendOk(affectedRows: number, more = false, result?: StatementResult & { kind: 'ok' }): void {
    writeOk(this.w, {
      affectedRows,
      lastInsertId: result?.lastInsertId ?? 0,
      statusFlags: this.statusFlags(more),
      warnings: result?.warnings.length ?? 0,
      ...(result?.info !== undefined ? { info: result.info } : {}),
    });
  }

  private sendErr(e: ErrPacket): void {
    writeErr(this.w, e);
  }

  /**
   * Runs a command body; an expected failure becomes an ERR packet and the connection stays
   * usable. Returns false when the body failed.
   */
  private async guard(body: () => Promise<void>): Promise<boolean> {
    const mark = this.w.len;
    const seq = this.w.seq;
    const flushes = this.flushes;
    try {
      await body();
      return true;
    } catch (e) {
      this.commandFailed(e, mark, seq, flushes);
      return false;
    }
  }

  /**
   * A command body failed: protocol failures propagate (they end the connection); an expected
   * failure replaces the response begun at (mark, seq) with an ERR packet, unless part of it was
   * flushed already (flushes changed), then the ERR follows it.
   */
  private commandFailed(e: unknown, mark: number, seq: number, flushes: number): void {
    if (e instanceof MalformedPacketError || e instanceof ConnectionClosed) throw e;
    this.recordError(e);
    if (this.flushes === flushes) {
      // Nothing of this response reached the socket yet: replace it with the error.
      this.w.len = mark;
      this.w.seq = seq;
    }
    this.sendErr(toErrPacket(e));
  }

  private recordError(e: unknown): void {
    const err = toErrPacket(e);
    this.lastWarnings = [{ level: 'Error', code: err.errno, message: err.message }];
  }

  private closeSessionState(): void {
    for (const e of this.statements.values()) e.ps.close();
    this.statements.clear();
    this.session?.close();
    this.session = null;
    this.lastWarnings = [];
    this.lastInsertId = 0;
  }

  private async resetSession(user: string, database: string | null): Promise<void> {
    this.closeSessionState();
    const session = this.ctx.engine.openSession({ user, connectionId: this.connectionId });
    this.session = session;
    this.tx.inTransaction = false;
    this.tx.writes = 0;
    if (database !== null) await session.execute(`USE \`${database.replace(/`/g, '``')}\``);
  }

  // ---- COM_QUERY ----

  private localContext(session: Session): Parameters<typeof answerLocally>[1] {
    return {
      session,
      users: this.ctx.users,
      limits: this.ctx.limits,
      remoteAddress: this.remoteAddress,
      tx: this.tx,
      lastInsertId: this.lastInsertId,
      lastWarnings: this.lastWarnings,
      status: this.ctx.status,
    };
  }

  /** Runs one statement: the server's own answer, else the engine's. */
  private async runStatement(sql: string): Promise<StatementResult> {
    const session = this.session as Session;
    const kill = KILL_RE.exec(sql);
    if (kill !== null) return this.kill(kill[1], Number(kill[2]));
    const show = parseShowProcesslist(sql);
    if (show !== null) return showProcesslist(this.visibleProcesses(), show.full);
    const local = answerLocally(sql, this.localContext(session));
    if (local !== null) return local;
    const withProcesses = /processlist/i.test(sql) ? rewriteProcesslistTable(sql, this.visibleProcesses()) : null;
    const results = await session.execute(withProcesses ?? sql, { signal: this.statementSignal() });
    if (results.length !== 1) {
      for (const r of results) if (r.kind === 'rows') await drain(r.batches);
      throw new SaigaError('IllegalState', `the engine returned ${results.length} results for one statement`);
    }
    return results[0] as StatementResult;
  }

  private noteResult(result: StatementResult, isShowWarnings: boolean): void {
    const session = this.session as Session;
    if (result.kind === 'ok') {
      if (result.lastInsertId !== undefined) this.lastInsertId = result.lastInsertId;
      if (result.affectedRows > 0 && transactionOpen(session, this.tx)) this.tx.writes++;
      this.lastWarnings = result.warnings;
    } else if (!isShowWarnings) {
      this.lastWarnings = session.lastWarnings();
    }
  }

  private async comQuery(sql: string): Promise<void> {
    const statements = splitStatements(sql);
    if (statements.length === 0) {
      this.sendErr({ errno: 1065, sqlState: '42000', message: 'Query was empty' });
      return;
    }
    if (statements.length > 1 && !this.multiStatements) {
      this.sendErr({
        errno: 1064,
        sqlState: '42000',
        message: 'You have an error in your SQL syntax: several statements in one query need CLIENT_MULTI_STATEMENTS',
      });
      return;
    }
    for (let i = 0; i < statements.length; i++) {
      const stmt = statements[i] as string;
      const more = i < statements.length - 1;
      const isShowWarnings = /^\s*SHOW\s+(COUNT\s*\(\s*\*\s*\)\s+)?(WARNINGS|ERRORS)\b/i.test(stmt);
      const ok = await this.guard(() => this.tracked(stmt, 'Query', async () => {
        const result = await this.runStatement(stmt);
        this.noteResult(result, isShowWarnings);
        if (result.kind === 'ok') {
          this.sendOk(result.affectedRows, more, result);
        } else {
          await this.sendRows(result, 'text', more);
          if (!isShowWarnings) this.lastWarnings = (this.session as Session).lastWarnings();
        }
      }));
      if (!ok) return; // the rest of a multi-statement query is not run, as in MySQL
      if (this.w.len > FLUSH_BYTES) await this.flush();
    }
  }

  /** Writes a result set; batches are flushed as they come so memory stays bounded. */
  private async sendRows(result: StatementResult & { kind: 'rows' }, protocol: 'text' | 'binary', more: boolean, entry?: PreparedEntry): Promise<void> {
    const database = this.session?.database ?? '';
    const plans = entry !== undefined ? entry.plans.get(result.columns, result.arrowSchema, database) : planColumns(result.columns, result.arrowSchema, database);
    const eofStatus = this.deprecateEof ? -1 : this.statusFlags();
    const h = entry?.header ?? null;
    if (h !== null && h.plans === plans && h.seq === this.w.seq && h.eofStatus === eofStatus) {
      this.w.bytes(h.bytes);
      this.w.seq = (this.w.seq + h.packets) & 0xff;
    } else {
      const start = this.w.len;
      const seq = this.w.seq;
      writeColumnCount(this.w, plans.length);
      for (const p of plans) writeColumnDefinition41(this.w, p.definition);
      if (eofStatus >= 0) writeEof(this.w, eofStatus);
      if (entry !== undefined) {
        entry.header = { plans, seq, eofStatus, bytes: Buffer.from(this.w.buf.subarray(start, this.w.len)), packets: (this.w.seq - seq) & 0xff };
      }
    }
    if (protocol === 'binary' && result.rowValues !== undefined) {
      // The engine holds the rows as values already (point selects): no Arrow batch is built.
      writeBinaryValueRows(this.w, plans, result.rowValues);
    } else for await (const batch of result.batches) {
      if (protocol === 'text') writeTextRows(this.w, plans, batch as RecordBatch);
      else writeBinaryRows(this.w, plans, batch as RecordBatch);
      if (this.w.len > FLUSH_BYTES) await this.flush();
      if (this.closed) throw new ConnectionClosed();
    }
    const flags = this.statusFlags(more);
    if (this.deprecateEof) writeOk(this.w, { affectedRows: 0, lastInsertId: 0, statusFlags: flags, warnings: 0 }, true);
    else writeEof(this.w, flags);
  }

  // ---- COM_FIELD_LIST ----

  private async comFieldList(payload: Buffer): Promise<void> {
    const r = new PayloadReader(payload, 'COM_FIELD_LIST');
    r.u8();
    const table = r.nulOrEofString();
    const results = await (this.session as Session).execute(`SELECT * FROM \`${table.replace(/`/g, '``')}\` LIMIT 0`, { signal: this.abort.signal });
    const result = results[0];
    if (result === undefined || result.kind !== 'rows') throw new SaigaError('IllegalState', `expected columns of table ${table}`);
    await drain(result.batches);
    for (const p of planColumns(result.columns, result.arrowSchema, this.session?.database ?? '')) {
      writeFieldListColumn(this.w, { ...p.definition, table: p.definition.table || table, orgTable: p.definition.orgTable || table });
    }
    writeEof(this.w, this.statusFlags());
  }

  // ---- prepared statements ----

  private async comStmtPrepare(sql: string): Promise<void> {
    if (this.statements.size >= PREPARED_STATEMENTS_PER_CONNECTION_MAX) {
      throw new MysqlServerError(1461, '42000', `Can't create more than ${PREPARED_STATEMENTS_PER_CONNECTION_MAX} prepared statements on one connection`);
    }
    const statements = splitStatements(sql);
    if (statements.length !== 1) throw new SaigaError('ParseError', 'a prepared statement must hold exactly one statement');
    const session = this.session as Session;
    let ps: PreparedStatement;
    // Side-effect-free statements the server answers itself (SELECT @@var, SHOW VARIABLES, ...) are
    // answered again at each execution; SET / user management / transactions go to the engine's prepare.
    const readOnlyLocal = /^\s*(SELECT|SHOW)\b/i.test(stripComments(sql));
    if (!sql.includes('?') && readOnlyLocal && (parseShowProcesslist(sql) !== null || answerLocally(sql, this.localContext(session)) !== null)) {
      ps = { id: 0, paramCount: 0, columns: [], execute: () => this.runStatement(sql), close: () => undefined };
    } else {
      ps = await session.prepare(sql);
    }
    const id = this.nextStatementId++;
    this.statements.set(id, { ps, sql, trimmedSql: sql.trim(), paramCount: ps.paramCount, types: null, plans: new ColumnPlanCache(), longData: new Map(), longDataBytes: 0, header: null });
    const columns = planResultColumns(ps.columns, session.database ?? '');
    writeStmtPrepareOk(this.w, id, columns.length, ps.paramCount, 0);
    if (ps.paramCount > 0) {
      for (let i = 0; i < ps.paramCount; i++) writeColumnDefinition41(this.w, paramDefinition());
      if (!this.deprecateEof) writeEof(this.w, this.statusFlags());
    }
    if (columns.length > 0) {
      for (const c of columns) writeColumnDefinition41(this.w, c.definition);
      if (!this.deprecateEof) writeEof(this.w, this.statusFlags());
    }
  }

  private comSendLongData(payload: Buffer): void {
    const { statementId, paramIndex, data } = decodeSendLongData(payload);
    const e = this.statements.get(statementId);
    if (e === undefined || paramIndex >= e.paramCount) return; // MySQL reports this at execute time; we drop it
    e.longDataBytes += data.length;
    if (e.longDataBytes > this.ctx.limits.packetBytesMax) {
      throw new PacketTooLargeError(e.longDataBytes, this.ctx.limits.packetBytesMax);
    }
    const parts = e.longData.get(paramIndex) ?? [];
    parts.push(Buffer.from(data));
    e.longData.set(paramIndex, parts);
  }

  /**
   * COM_STMT_EXECUTE, start to flush, in one async frame (the OLTP path: a prepared point select
   * or single-row INSERT per round trip). What guard() and tracked() do for other commands is
   * inlined: an expected failure replaces the unsent response with an ERR packet, and the statement
   * shows in SHOW PROCESSLIST while it runs.
   */
  private async comStmtExecute(p: LogicalPacket): Promise<void> {
    this.expectSeq(p, 0);
    this.w.seq = p.nextSeq;
    const payload = p.payload;
    this.ctx.countQuestion();
    const id = peekStatementId(payload);
    const e = this.statements.get(id);
    if (e === undefined) {
      this.sendErr({ ...SERVER_ERRORS.unknownStatement, message: `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute` });
    } else {
      let longData: ReadonlyMap<number, Buffer> = NO_LONG_DATA;
      if (e.longData.size > 0) {
        const m = new Map<number, Buffer>();
        for (const [k, parts] of e.longData) m.set(k, Buffer.concat(parts));
        longData = m;
      }
      const req = decodeStmtExecute(payload, e.paramCount, e.types, longData);
      e.types = req.types; // a fresh array per decode (copied from e.types when the client did not re-bind)
      e.longData.clear();
      e.longDataBytes = 0;
      const mark = this.w.len;
      const seq = this.w.seq;
      const flushes = this.flushes;
      this.running = { sql: e.trimmedSql, startedMs: Date.now(), command: 'Execute' };
      try {
        const result = await e.ps.execute(req.values, { signal: this.statementSignal() });
        this.noteResult(result, false);
        if (result.kind === 'ok') this.sendOk(result.affectedRows, false, result);
        else await this.sendRows(result, 'binary', false, e);
      } catch (err) {
        this.commandFailed(err, mark, seq, flushes);
      } finally {
        this.running = null;
        this.idleSinceMs = Date.now();
      }
    }
    if (!this.flushNow()) await this.drained();
  }
}

function isLoopback(addr: string): boolean {
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || a.startsWith('127.');
}

function paramDefinition(): ColumnDefinition {
  return {
    schema: '', table: '', orgTable: '', name: '?', orgName: '', charset: CHARSET.BINARY,
    columnLength: 0, type: MYSQL_TYPE.VAR_STRING, flags: 0, decimals: 0,
  };
}

async function drain(batches: AsyncIterable<RecordBatch>): Promise<void> {
  for await (const _ of batches) {
    // discard
  }
}

export type { ResultColumn, ColumnPlan };
