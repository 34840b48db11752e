import { SaigaError } from '../../common/errors.js';
import { MAX_PACKET_CHUNK } from './constants.js';
import { MalformedPacketError } from './wire-buffer.js';

/**
 * Splits a byte stream into logical MySQL packets. A packet is a 3-byte little-endian payload
 * length, a 1-byte sequence id and the payload; a payload of exactly 0xFFFFFF bytes continues
 * in the next packet (consecutive sequence ids) and the parts are joined. Pure: push bytes in,
 * take packets out.
 */

export interface LogicalPacket {
  /** Sequence id of the first chunk. */
  readonly seq: number;
  /** Sequence id the peer's next packet must carry. */
  readonly nextSeq: number;
  readonly payload: Buffer;
}

/** A logical packet above the limit (MySQL ER_NET_PACKET_TOO_LARGE). */
export class PacketTooLargeError extends SaigaError {
  /** seq: sequence id of the oversized packet (the error answers with seq + 1). */
  constructor(readonly sizeBytes: number, readonly limitBytes: number, readonly seq = -1) {
    super('ResourceExhausted', `Got a packet bigger than 'max_allowed_packet' bytes (${sizeBytes} > ${limitBytes})`);
    this.name = 'PacketTooLargeError';
  }
}

export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Parts of a logical packet split into 0xFFFFFF chunks. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private firstSeq = -1;
  private lastSeq = -1;

  constructor(private readonly packetBytesMax: number) {}

  /** Bytes received but not yet returned as packets. */
  get bufferedBytes(): number {
    return this.buffered + this.partsBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete logical packet, or null when more bytes are needed. Throws
   * PacketTooLargeError as soon as a header announces more than the limit (before buffering it),
   * and MalformedPacketError when the chunks of one packet do not carry consecutive sequence ids.
   */
  next(): LogicalPacket | null {
    for (;;) {
      if (this.buffered < 4) return null;
      const header = this.peek(4);
      const len = (header[0] as number) | ((header[1] as number) << 8) | ((header[2] as number) << 16);
      const seq = header[3] as number;
      const total = this.partsBytes + len;
      if (total > this.packetBytesMax) throw new PacketTooLargeError(total, this.packetBytesMax, seq);
      if (this.buffered < 4 + len) return null;
      this.skip(4);
      const payload = this.take(len);
      if (this.firstSeq >= 0 && seq !== ((this.lastSeq + 1) & 0xff)) {
        throw new MalformedPacketError(
          `packets out of order: expected sequence id ${(this.lastSeq + 1) & 0xff} for the next chunk, found ${seq}`,
        );
      }
      if (this.firstSeq < 0) this.firstSeq = seq;
      this.lastSeq = seq;
      if (len === MAX_PACKET_CHUNK) {
        this.parts.push(payload);
        this.partsBytes += len;
        continue;
      }
      let whole = payload;
      if (this.parts.length > 0) {
        this.parts.push(payload);
        whole = Buffer.concat(this.parts, this.partsBytes + len);
      }
      const out: LogicalPacket = { seq: this.firstSeq, nextSeq: (seq + 1) & 0xff, payload: whole };
      this.parts = [];
      this.partsBytes = 0;
      this.firstSeq = -1;
      this.lastSeq = -1;
      return out;
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private skip(n: number): void {
    this.take(n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
