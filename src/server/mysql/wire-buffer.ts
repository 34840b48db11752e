import { assert } from '../../common/assert.js';
import { SaigaError } from '../../common/errors.js';
import { MAX_PACKET_CHUNK } from './constants.js';

/**
 * Byte-level readers and writers for MySQL payloads: fixed-width little-endian integers,
 * length-encoded integers and strings, NUL-terminated strings. Pure; no sockets.
 */

/** A packet that cannot be decoded: the connection that sent it is closed. */
export class MalformedPacketError extends SaigaError {
  constructor(message: string) {
    super('InvalidArgument', message);
    this.name = 'MalformedPacketError';
  }
}

const utf8 = new TextDecoder('utf-8');

export class PayloadReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what = 'packet') {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new MalformedPacketError(
        `malformed ${this.what}: expected ${n} more byte(s) at offset ${this.pos}, found ${this.buf.length - this.pos}`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const v = (b[this.pos] as number) | ((b[this.pos + 1] as number) << 8);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const b = this.buf;
    const v = (b[this.pos] as number) | ((b[this.pos + 1] as number) << 8) | ((b[this.pos + 2] as number) << 16);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const v =
      ((b[this.pos] as number) |
        ((b[this.pos + 1] as number) << 8) |
        ((b[this.pos + 2] as number) << 16) |
        ((b[this.pos + 3] as number) << 24)) >>>
      0;
    this.pos += 4;
    return v;
  }

  i8(): number {
    const v = this.u8();
    return v >= 0x80 ? v - 0x100 : v;
  }

  i16(): number {
    const v = this.u16();
    return v >= 0x8000 ? v - 0x10000 : v;
  }

  i32(): number {
    return this.u32() | 0;
  }

  /** 8-byte integer as a bigint (signed or unsigned). */
  u64Big(signed: boolean): bigint {
    this.need(8);
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true);
  }

  f32(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** Length-encoded integer; null for the 0xFB NULL marker. Values above 2^53 are rejected. */
  lenencInt(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      const lo = this.u32();
      const hi = this.u32();
      if (hi >= 0x200000) throw new MalformedPacketError(`malformed ${this.what}: length-encoded integer above 2^53`);
      return hi * 0x100000000 + lo;
    }
    throw new MalformedPacketError(`malformed ${this.what}: 0xff is not a length-encoded integer (offset ${this.pos - 1})`);
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  lenencBytes(): Uint8Array | null {
    const n = this.lenencInt();
    return n === null ? null : this.bytes(n);
  }

  lenencString(): string | null {
    const b = this.lenencBytes();
    return b === null ? null : utf8.decode(b);
  }

  /** NUL-terminated; when no NUL is present, a truncated packet. */
  nulBytes(): Uint8Array {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new MalformedPacketError(`malformed ${this.what}: expected a NUL-terminated string at offset ${this.pos}`);
    const v = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  nulString(): string {
    return utf8.decode(this.nulBytes());
  }

  /** NUL-terminated if a NUL follows, else the rest of the payload (some clients omit the final NUL). */
  nulOrEofString(): string {
    const end = this.buf.indexOf(0, this.pos);
    const stop = end < 0 ? this.buf.length : end;
    const v = utf8.decode(this.buf.subarray(this.pos, stop));
    this.pos = end < 0 ? stop : end + 1;
    return v;
  }

  rest(): Uint8Array {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  restString(): string {
    return utf8.decode(this.rest());
  }
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}

/**
 * Writes one or more packets into one growable buffer, so a whole result set goes to the socket
 * in few writes. begin() reserves a 4-byte header, end() fills it in (splitting payloads of
 * 0xFFFFFF bytes and more into chunks with consecutive sequence ids).
 */
export class PacketWriter {
  buf: Buffer;
  len = 0;
  /** Sequence id of the next packet. */
  seq = 0;
  private start = -1;

  constructor(initialBytes = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  begin(): void {
    assert(this.start < 0, 'PacketWriter.begin: previous packet not ended');
    this.ensure(4);
    this.start = this.len;
    this.len += 4;
  }

  /** Bytes of payload written since begin(). */
  get payloadLength(): number {
    return this.len - this.start - 4;
  }

  end(): void {
    assert(this.start >= 0, 'PacketWriter.end without begin');
    const payloadLen = this.len - this.start - 4;
    if (payloadLen < MAX_PACKET_CHUNK) {
      this.writeHeader(this.start, payloadLen, this.seq);
      this.seq = (this.seq + 1) & 0xff;
      this.start = -1;
      return;
    }
    // Split: chunks of exactly 0xFFFFFF bytes, then a final (possibly empty) shorter chunk.
    const payload = Buffer.from(this.buf.subarray(this.start + 4, this.len));
    this.len = this.start;
    this.start = -1;
    const chunks = Math.floor(payloadLen / MAX_PACKET_CHUNK) + 1;
    this.ensure(payloadLen + chunks * 4);
    for (let off = 0; ; off += MAX_PACKET_CHUNK) {
      const n = Math.min(MAX_PACKET_CHUNK, payloadLen - off);
      this.writeHeader(this.len, n, this.seq);
      this.seq = (this.seq + 1) & 0xff;
      payload.copy(this.buf, this.len + 4, off, off + n);
      this.len += 4 + n;
      if (n < MAX_PACKET_CHUNK) break;
    }
  }

  private writeHeader(at: number, payloadLen: number, seq: number): void {
    this.buf[at] = payloadLen & 0xff;
    this.buf[at + 1] = (payloadLen >>> 8) & 0xff;
    this.buf[at + 2] = (payloadLen >>> 16) & 0xff;
    this.buf[at + 3] = seq;
  }

  /** The packets written so far; resets the writer (the returned buffer is a copy). */
  take(): Buffer {
    assert(this.start < 0, 'PacketWriter.take inside a packet');
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
  }

  u24(v: number): void {
    this.ensure(3);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v | 0, this.len);
    this.len += 4;
  }

  /** 8 bytes from two 32-bit halves (how int64 columns are read without BigInt). */
  u64Halves(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.len);
    this.buf.writeUInt32LE(hi >>> 0, this.len + 4);
    this.len += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.len);
    this.len += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }

  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  lenencInt(v: number): void {
    assert(v >= 0 && Number.isSafeInteger(v), `lenencInt: expected a non-negative safe integer, got ${v}`);
    if (v < 0xfb) {
      this.u8(v);
    } else if (v < 0x10000) {
      this.u8(0xfc);
      this.u16(v);
    } else if (v < 0x1000000) {
      this.u8(0xfd);
      this.u24(v);
    } else {
      this.u8(0xfe);
      this.u32(v % 0x100000000);
      this.u32(Math.floor(v / 0x100000000));
    }
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** UTF-8 bytes of s, no length prefix. */
  str(s: string): void {
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  nulString(s: string): void {
    this.str(s);
    this.u8(0);
  }

  lenencBytes(b: Uint8Array): void {
    this.lenencInt(b.length);
    this.bytes(b);
  }

  lenencString(s: string): void {
    // ASCII fast path: length known without encoding first.
    const max = s.length * 3;
    if (max < 0xfb) {
      this.ensure(1 + max);
      const at = this.len++;
      const n = this.buf.write(s, this.len, 'utf8');
      this.buf[at] = n;
      this.len += n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.lenencInt(n);
    this.ensure(n);
    this.buf.write(s, this.len, 'utf8');
    this.len += n;
  }

  /** The 0xFB NULL marker of text rows. */
  nullMarker(): void {
    this.u8(0xfb);
  }
}

/** Frames one payload as packet(s) starting at sequence id seq (pure helper for tests and clients). */
export function framePayload(payload: Uint8Array, seq: number): Buffer {
  const w = new PacketWriter(payload.length + 8);
  w.seq = seq;
  w.begin();
  w.bytes(payload);
  w.end();
  return w.take();
}
