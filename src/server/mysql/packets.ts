import { CHARSET, CLIENT } from './constants.js';
import { decodeUtf8, MalformedPacketError, PayloadReader, type PacketWriter } from './wire-buffer.js';

/**
 * Encoders and decoders of the connection-phase and generic response packets. Each encoder
 * writes one packet into a PacketWriter (begin/end included); each decoder takes a payload.
 */

export interface HandshakeV10 {
  readonly serverVersion: string;
  readonly connectionId: number;
  /** 20 bytes, no NUL. */
  readonly nonce: Uint8Array;
  readonly capabilities: number;
  readonly charset: number;
  readonly statusFlags: number;
  readonly authPlugin: string;
}

export function writeHandshakeV10(w: PacketWriter, h: HandshakeV10): void {
  w.begin();
  w.u8(10);
  w.nulString(h.serverVersion);
  w.u32(h.connectionId);
  w.bytes(h.nonce.subarray(0, 8));
  w.u8(0);
  w.u16(h.capabilities & 0xffff);
  w.u8(h.charset);
  w.u16(h.statusFlags);
  w.u16((h.capabilities >>> 16) & 0xffff);
  w.u8(h.nonce.length + 1);
  w.zeros(10);
  w.bytes(h.nonce.subarray(8));
  w.u8(0);
  w.nulString(h.authPlugin);
  w.end();
}

export function decodeHandshakeV10(payload: Uint8Array): HandshakeV10 {
  const r = new PayloadReader(payload, 'handshake v10');
  const version = r.u8();
  if (version !== 10) throw new MalformedPacketError(`expected protocol version 10, found ${version}`);
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.u8();
  const capLo = r.u16();
  const charset = r.u8();
  const statusFlags = r.u16();
  const capHi = r.u16();
  const authDataLen = r.u8();
  r.bytes(10);
  const part2Len = Math.max(13, authDataLen - 8);
  const part2 = r.bytes(part2Len);
  const authPlugin = r.nulOrEofString();
  const nonce = new Uint8Array(8 + part2Len - 1);
  nonce.set(part1, 0);
  nonce.set(part2.subarray(0, part2Len - 1), 8);
  return { serverVersion, connectionId, nonce, capabilities: (capLo | (capHi << 16)) >>> 0, charset, statusFlags, authPlugin };
}

export interface HandshakeResponse41 {
  readonly capabilities: number;
  readonly maxPacketSize: number;
  readonly charset: number;
  readonly user: string;
  readonly authResponse: Uint8Array;
  readonly database: string | null;
  readonly authPlugin: string | null;
  readonly attributes: ReadonlyMap<string, string>;
}

export function decodeHandshakeResponse41(payload: Uint8Array): HandshakeResponse41 {
  const r = new PayloadReader(payload, 'HandshakeResponse41');
  const capabilities = r.u32();
  if ((capabilities & CLIENT.PROTOCOL_41) === 0) {
    throw new MalformedPacketError('expected a HandshakeResponse41 (CLIENT_PROTOCOL_41), the client sent the pre-4.1 HandshakeResponse320');
  }
  if ((capabilities & CLIENT.SSL) !== 0 && payload.length === 32) {
    throw new MalformedPacketError('the client asked for TLS (SSLRequest), which this server does not offer');
  }
  const maxPacketSize = r.u32();
  const charset = r.u8();
  r.bytes(23);
  const user = r.nulString();
  let authResponse: Uint8Array;
  if ((capabilities & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) !== 0) {
    authResponse = r.lenencBytes() ?? new Uint8Array(0);
  } else if ((capabilities & CLIENT.SECURE_CONNECTION) !== 0) {
    authResponse = r.bytes(r.u8());
  } else {
    authResponse = r.nulBytes();
  }
  let database: string | null = null;
  if ((capabilities & CLIENT.CONNECT_WITH_DB) !== 0 && r.remaining > 0) {
    database = r.nulOrEofString();
    if (database === '') database = null;
  }
  let authPlugin: string | null = null;
  if ((capabilities & CLIENT.PLUGIN_AUTH) !== 0 && r.remaining > 0) authPlugin = r.nulOrEofString();
  const attributes = new Map<string, string>();
  if ((capabilities & CLIENT.CONNECT_ATTRS) !== 0 && r.remaining > 0) {
    const n = r.lenencInt() ?? 0;
    const attrs = new PayloadReader(r.bytes(n), 'connection attributes');
    while (attrs.remaining > 0) {
      const k = attrs.lenencString() ?? '';
      const v = attrs.lenencString() ?? '';
      attributes.set(k, v);
    }
  }
  return { capabilities, maxPacketSize, charset, user, authResponse, database, authPlugin, attributes };
}

/** Encoder used by tests and by the fuzz client. */
export function writeHandshakeResponse41(w: PacketWriter, h: Omit<HandshakeResponse41, 'attributes'> & { attributes?: ReadonlyMap<string, string> }): void {
  w.begin();
  w.u32(h.capabilities);
  w.u32(h.maxPacketSize);
  w.u8(h.charset);
  w.zeros(23);
  w.nulString(h.user);
  if ((h.capabilities & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) !== 0) w.lenencBytes(h.authResponse);
  else {
    w.u8(h.authResponse.length);
    w.bytes(h.authResponse);
  }
  if ((h.capabilities & CLIENT.CONNECT_WITH_DB) !== 0) w.nulString(h.database ?? '');
  if ((h.capabilities & CLIENT.PLUGIN_AUTH) !== 0) w.nulString(h.authPlugin ?? '');
  if ((h.capabilities & CLIENT.CONNECT_ATTRS) !== 0) {
    const inner: number[] = [];
    const enc = new TextEncoder();
    for (const [k, v] of h.attributes ?? new Map<string, string>()) {
      for (const s of [k, v]) {
        const b = enc.encode(s);
        if (b.length >= 0xfb) throw new RangeError('test encoder: attribute too long');
        inner.push(b.length, ...b);
      }
    }
    w.lenencBytes(Uint8Array.from(inner));
  }
  w.end();
}

export interface ChangeUser {
  readonly user: string;
  readonly authResponse: Uint8Array;
  readonly database: string | null;
  readonly charset: number | null;
  readonly authPlugin: string | null;
}

/** COM_CHANGE_USER payload including the command byte. */
export function decodeChangeUser(payload: Uint8Array, capabilities: number): ChangeUser {
  const r = new PayloadReader(payload, 'COM_CHANGE_USER');
  r.u8();
  const user = r.nulString();
  const authResponse = (capabilities & CLIENT.SECURE_CONNECTION) !== 0 ? r.bytes(r.u8()) : r.nulBytes();
  let database: string | null = r.remaining > 0 ? r.nulOrEofString() : null;
  if (database === '') database = null;
  let charset: number | null = null;
  let authPlugin: string | null = null;
  if (r.remaining >= 2) {
    charset = r.u16();
    if ((capabilities & CLIENT.PLUGIN_AUTH) !== 0 && r.remaining > 0) authPlugin = r.nulOrEofString();
  }
  return { user, authResponse, database, charset, authPlugin };
}

export interface OkPacket {
  readonly affectedRows: number;
  readonly lastInsertId: number | bigint;
  readonly statusFlags: number;
  readonly warnings: number;
  readonly info?: string;
}

/** OK packet (header 0x00), or with eofHeader the 0xFE-headed OK that ends a result set under CLIENT_DEPRECATE_EOF. */
export function writeOk(w: PacketWriter, ok: OkPacket, eofHeader = false): void {
  w.begin();
  w.u8(eofHeader ? 0xfe : 0x00);
  w.lenencInt(ok.affectedRows);
  const id = ok.lastInsertId;
  if (typeof id === 'bigint') {
    if (id <= BigInt(Number.MAX_SAFE_INTEGER) && id >= 0n) w.lenencInt(Number(id));
    else {
      w.u8(0xfe);
      const u = BigInt.asUintN(64, id);
      w.u64Halves(Number(u & 0xffffffffn), Number(u >> 32n));
    }
  } else {
    w.lenencInt(id);
  }
  w.u16(ok.statusFlags);
  w.u16(Math.min(ok.warnings, 0xffff));
  if (ok.info !== undefined && ok.info !== '') w.str(ok.info);
  w.end();
}

export function decodeOk(payload: Uint8Array): OkPacket {
  const r = new PayloadReader(payload, 'OK packet');
  const header = r.u8();
  if (header !== 0x00 && header !== 0xfe) throw new MalformedPacketError(`expected OK header 0x00 or 0xfe, found 0x${header.toString(16)}`);
  const affectedRows = r.lenencInt() ?? 0;
  const lastInsertId = r.lenencInt() ?? 0;
  const statusFlags = r.u16();
  const warnings = r.u16();
  const info = r.remaining > 0 ? r.restString() : undefined;
  return info === undefined ? { affectedRows, lastInsertId, statusFlags, warnings } : { affectedRows, lastInsertId, statusFlags, warnings, info };
}

/** The 5-byte EOF packet of protocol 4.1 (only sent to clients without CLIENT_DEPRECATE_EOF). */
export function writeEof(w: PacketWriter, statusFlags: number, warnings = 0): void {
  w.begin();
  w.u8(0xfe);
  w.u16(Math.min(warnings, 0xffff));
  w.u16(statusFlags);
  w.end();
}

export function decodeEof(payload: Uint8Array): { warnings: number; statusFlags: number } {
  const r = new PayloadReader(payload, 'EOF packet');
  if (r.u8() !== 0xfe || payload.length !== 5) throw new MalformedPacketError('expected a 5-byte EOF packet');
  return { warnings: r.u16(), statusFlags: r.u16() };
}

export interface ErrPacket {
  readonly errno: number;
  readonly sqlState: string;
  readonly message: string;
}

export function writeErr(w: PacketWriter, e: ErrPacket): void {
  w.begin();
  w.u8(0xff);
  w.u16(e.errno);
  w.u8(0x23); // '#'
  w.str((e.sqlState + '00000').slice(0, 5));
  // Keep one error below any client's buffer; MySQL truncates at 512 characters too.
  w.str(e.message.length > 512 ? e.message.slice(0, 509) + '...' : e.message);
  w.end();
}

export function decodeErr(payload: Uint8Array): ErrPacket {
  const r = new PayloadReader(payload, 'ERR packet');
  if (r.u8() !== 0xff) throw new MalformedPacketError('expected ERR header 0xff');
  const errno = r.u16();
  let sqlState = 'HY000';
  if (r.remaining > 0 && payload[r.pos] === 0x23) {
    r.u8();
    sqlState = decodeUtf8(r.bytes(5));
  }
  return { errno, sqlState, message: r.restString() };
}

export interface ColumnDefinition {
  readonly schema: string;
  readonly table: string;
  readonly orgTable: string;
  readonly name: string;
  readonly orgName: string;
  readonly charset: number;
  readonly columnLength: number;
  readonly type: number;
  readonly flags: number;
  readonly decimals: number;
}

export function writeColumnDefinition41(w: PacketWriter, c: ColumnDefinition): void {
  w.begin();
  writeColumnDefinitionFields(w, c);
  w.end();
}

/** COM_FIELD_LIST responses append the column default as a lenenc string; null writes none. */
export function writeFieldListColumn(w: PacketWriter, c: ColumnDefinition): void {
  w.begin();
  writeColumnDefinitionFields(w, c);
  w.nullMarker();
  w.end();
}

/** The fields of a ColumnDefinition41 packet, shared by result sets and COM_FIELD_LIST. */
function writeColumnDefinitionFields(w: PacketWriter, c: ColumnDefinition): void {
  w.lenencString('def');
  w.lenencString(c.schema);
  w.lenencString(c.table);
  w.lenencString(c.orgTable);
  w.lenencString(c.name);
  w.lenencString(c.orgName);
  w.u8(0x0c);
  w.u16(c.charset);
  w.u32(c.columnLength);
  w.u8(c.type);
  w.u16(c.flags);
  w.u8(c.decimals);
  w.u16(0);
}

export function decodeColumnDefinition41(payload: Uint8Array): ColumnDefinition {
  const r = new PayloadReader(payload, 'column definition');
  const catalog = r.lenencString();
  if (catalog !== 'def') throw new MalformedPacketError(`expected catalog "def", found ${String(catalog)}`);
  const schema = r.lenencString() ?? '';
  const table = r.lenencString() ?? '';
  const orgTable = r.lenencString() ?? '';
  const name = r.lenencString() ?? '';
  const orgName = r.lenencString() ?? '';
  const fixedLen = r.lenencInt();
  if (fixedLen !== 0x0c) throw new MalformedPacketError(`expected fixed-length fields of 12 bytes, found ${String(fixedLen)}`);
  const charset = r.u16();
  const columnLength = r.u32();
  const type = r.u8();
  const flags = r.u16();
  const decimals = r.u8();
  r.u16();
  return { schema, table, orgTable, name, orgName, charset, columnLength, type, flags, decimals };
}

/** Column count packet that starts a result set. */
export function writeColumnCount(w: PacketWriter, n: number): void {
  w.begin();
  w.lenencInt(n);
  w.end();
}

export function writeAuthSwitchRequest(w: PacketWriter, plugin: string, nonce: Uint8Array): void {
  w.begin();
  w.u8(0xfe);
  w.nulString(plugin);
  w.bytes(nonce);
  w.u8(0);
  w.end();
}

/** AuthMoreData: 0x01 followed by plugin-specific bytes. */
export function writeAuthMoreData(w: PacketWriter, data: Uint8Array): void {
  w.begin();
  w.u8(0x01);
  w.bytes(data);
  w.end();
}

/** COM_STMT_PREPARE_OK header; parameter and column definitions follow (each block ended by EOF unless DEPRECATE_EOF). */
export function writeStmtPrepareOk(w: PacketWriter, statementId: number, columnCount: number, paramCount: number, warnings: number): void {
  w.begin();
  w.u8(0x00);
  w.u32(statementId);
  w.u16(columnCount);
  w.u16(paramCount);
  w.u8(0);
  w.u16(Math.min(warnings, 0xffff));
  w.end();
}

export function charsetFor(isText: boolean): number {
  return isText ? CHARSET.UTF8MB4_GENERAL_CI : CHARSET.BINARY;
}
