import { assert } from '../../common/assert.js';

/**
 * DoPut's receive path with reused message buffers.
 *
 * grpc-js reassembles every received message with Buffer.concat into a fresh buffer: for a
 * 64k-row lineitem batch a new ~12 MB allocation per message, whose first touch (page faults)
 * and release (the garbage collections that the external memory triggers) cost more than the
 * copy itself (Buffer.concat was 9-15% of the server's DoPut CPU). This decoder replaces the
 * call's StreamDecoder and copies each large message into a buffer from a per-call pool; the
 * DoPut handler gives a buffer back once nothing reads it any more: the write that received the
 * batch has settled (StorageApi.writeArrow keeps no view on the batch after that: the embedded
 * storage copies the rows into its log entries, or converts them to rows that copy their
 * bytes) and the IPC decoder keeps nothing of the message (IpcStreamDecoder copies the schema
 * and refuses dictionary batches).
 *
 * It relies on grpc-js 1.14 internals, as h2-send.ts does: a server call's `call` is the
 * BaseServerInterceptingCall holding `decoder` (a StreamDecoder: `write(chunk): Buffer[]` of
 * framed messages, [compressed flag][u32 BE length][message], and `readState`, 0 between
 * messages). `installPooledDecoder` returns undefined when they are not there, and the call
 * keeps grpc-js's decoder.
 */

/** Messages at least this long are read into pooled buffers (smaller ones: a plain allocation). */
export const POOLED_MESSAGE_BYTES_MIN = 64 * 1024;
/** Free buffers a pool keeps (DoPut holds putWritesInFlightMax batches plus the one being read). */
export const POOL_FREE_BUFFERS_MAX = 4;
/**
 * Buffers in use a pool tracks: past it the oldest is forgotten (never reused, collected when its
 * readers drop it), so buffers that are never given back (a gzip-compressed message is read from
 * its decompressed copy; a failed call) cannot pile up.
 */
export const POOL_IN_USE_TRACKED_MAX = 16;
/** Pooled buffer capacities are rounded up to this, so batches of similar size share buffers. */
const CAPACITY_STEP_BYTES = 1024 * 1024;

const PREFIX_BYTES = 5;

/** Where a PooledMessageDecoder gets the buffer of a large message. */
export interface MessageBufferSource {
  /** A buffer of exactly `bytes` bytes, starting 8-aligned in its memory. */
  take(bytes: number): Buffer;
}

/** A fresh buffer per message (the reader keeps it as long as it likes). */
export const FRESH_MESSAGE_BUFFERS: MessageBufferSource = { take: (bytes) => Buffer.allocUnsafeSlow(bytes) };

/** Message buffers handed out by `take` and given back by `release` once unused. */
export class MessageBufferPool implements MessageBufferSource {
  private readonly free: Buffer[] = [];
  /** Buffers handed out, by their memory. */
  private readonly inUse = new Map<ArrayBufferLike, Buffer>();
  /** Buffers allocated (for tests and figures). */
  allocated = 0;
  /** Takes served from the free list. */
  reused = 0;

  /** `freeBuffersMax`: free buffers kept for reuse (more readers at once want more). */
  constructor(private readonly freeBuffersMax = POOL_FREE_BUFFERS_MAX) {}

  /** A buffer of exactly `bytes` bytes (a view on a pooled buffer of at least that capacity). */
  take(bytes: number): Buffer {
    let k = this.free.findIndex((b) => b.byteLength >= bytes);
    let buf: Buffer;
    if (k >= 0) {
      buf = this.free[k] as Buffer;
      this.free.splice(k, 1);
      this.reused++;
    } else {
      // Too small ones are dropped, not kept beside a bigger one.
      k = this.free.length;
      buf = Buffer.allocUnsafeSlow(Math.ceil(bytes / CAPACITY_STEP_BYTES) * CAPACITY_STEP_BYTES);
      this.allocated++;
    }
    assert(!this.inUse.has(buf.buffer), 'a pooled buffer is handed out once at a time');
    if (this.inUse.size >= POOL_IN_USE_TRACKED_MAX) {
      const oldest = this.inUse.keys().next();
      if (oldest.done !== true) this.inUse.delete(oldest.value);
    }
    this.inUse.set(buf.buffer, buf);
    return buf.subarray(0, bytes);
  }

  /**
   * Gives back the pooled buffer that `view` lies on, if it is one of this pool's buffers in
   * use (any other view is ignored). The caller guarantees nothing reads it any more.
   */
  release(view: Uint8Array): void {
    const buf = this.inUse.get(view.buffer);
    if (buf === undefined) return;
    this.inUse.delete(view.buffer);
    if (this.free.length < this.freeBuffersMax) this.free.push(buf);
  }

  /** Buffers handed out and not given back. */
  get inUseCount(): number {
    return this.inUse.size;
  }
}

/**
 * A gRPC message reassembler (StreamDecoder's contract): `write(chunk)` returns the messages the
 * chunk completes, framed ([flag][u32 BE length][message]), each in one buffer: from `pool` when
 * at least POOLED_MESSAGE_BYTES_MIN long. Each chunk is copied as it arrives, so no chunk (a
 * view on a socket read buffer) outlives the write() that received it.
 */
export class PooledMessageDecoder {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixHave = 0;
  private msg: Buffer | undefined;
  private msgHave = 0;

  constructor(private readonly pool: MessageBufferSource, private readonly maxMessageBytes: number) {}

  /** 0 between messages (as StreamDecoder's NO_DATA). */
  get readState(): number {
    return this.msg === undefined && this.prefixHave === 0 ? 0 : 1;
  }

  write(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.writeEach(data, (m) => out.push(m));
    return out;
  }

  /**
   * As write, handing each message to `onMessage` as soon as it is complete: a reader that gives
   * it back to the pool there has its buffer reused for a next message begun in the same chunk.
   */
  writeEach(data: Buffer, onMessage: (framed: Buffer) => void): void {
    let at = 0;
    while (at < data.length) {
      if (this.msg === undefined) {
        const n = Math.min(PREFIX_BYTES - this.prefixHave, data.length - at);
        data.copy(this.prefix, this.prefixHave, at, at + n);
        this.prefixHave += n;
        at += n;
        if (this.prefixHave < PREFIX_BYTES) break;
        const size = this.prefix.readUInt32BE(1);
        if (this.maxMessageBytes !== -1 && size > this.maxMessageBytes) {
          // The same message grpc-js's decoder throws (the call answers RESOURCE_EXHAUSTED).
          throw new Error(`Received message larger than max (${size} vs ${this.maxMessageBytes})`);
        }
        this.msg = size >= POOLED_MESSAGE_BYTES_MIN ? this.pool.take(size + PREFIX_BYTES) : Buffer.allocUnsafe(size + PREFIX_BYTES);
        this.prefix.copy(this.msg, 0);
        this.msgHave = PREFIX_BYTES;
        this.prefixHave = 0;
      }
      const msg = this.msg;
      const n = Math.min(msg.length - this.msgHave, data.length - at);
      data.copy(msg, this.msgHave, at, at + n);
      this.msgHave += n;
      at += n;
      if (this.msgHave === msg.length) {
        this.msg = undefined;
        onMessage(msg);
      }
    }
  }
}

interface DecoderShape {
  readState: number;
  maxReadMessageLength: number;
  write(data: Buffer): Buffer[];
}

/**
 * Makes the server call `call` (a grpc-js ServerDuplexStream) reassemble its messages with a
 * PooledMessageDecoder from the next message boundary on (a message grpc-js's decoder has begun
 * is finished by it). Returns the pool, or undefined when the call lacks the internals.
 */
export function installPooledDecoder(call: unknown): MessageBufferPool | undefined {
  const base = (call as { call?: { decoder?: Partial<DecoderShape> } }).call;
  const old = base?.decoder;
  if (base === undefined || old === undefined || typeof old.write !== 'function' || typeof old.readState !== 'number' || typeof old.maxReadMessageLength !== 'number') {
    return undefined;
  }
  const pool = new MessageBufferPool();
  const pooled = new PooledMessageDecoder(pool, old.maxReadMessageLength);
  const oldWrite = old.write.bind(old) as (data: Buffer) => Buffer[];
  let switched = false;
  base.decoder = {
    get readState(): number {
      return switched ? pooled.readState : (old.readState as number);
    },
    maxReadMessageLength: old.maxReadMessageLength,
    write(data: Buffer): Buffer[] {
      if (!switched && old.readState !== 0) return oldWrite(data);
      switched = true;
      return pooled.write(data);
    },
  };
  return pool;
}
