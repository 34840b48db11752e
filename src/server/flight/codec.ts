import {
  Message,
  MessageHeader,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema as ArrowSchema,
} from 'apache-arrow';
import { assert } from '../../common/assert.js';
import { SaigaError } from '../../common/errors.js';

/**
 * The Flight message codec: pure functions over bytes, no sockets.
 *
 * - FlightData protobuf framing (fields 1, 2, 3, 1000) by hand, so that DoGet writes each
 *   Arrow body buffer straight into the outgoing gRPC message (one copy) and DoPut reads
 *   data_header / data_body as views on the received buffer (no copy).
 * - FlightDescriptor framing (it rides inside FlightData on the first DoPut message).
 * - Arrow IPC: a RecordBatch to (data_header, data_body) pairs and back; the encapsulated
 *   IPC Schema message used by FlightInfo.schema, SchemaResult.schema and Flight SQL's
 *   table_schema / dataset_schema.
 */

// ---------------------------------------------------------------------------------------
// protobuf wire helpers

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw this.bad('a varint running past the end');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw this.bad('a varint longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) {
      throw this.bad(`a length-delimited field of ${len} bytes with only ${this.buf.length - this.pos} left`);
    }
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_I64: this.advance(8); return;
      case WIRE_LEN: this.bytes(); return;
      case WIRE_I32: this.advance(4); return;
      default: throw this.bad(`wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw this.bad('a fixed-width field running past the end');
    this.pos += n;
  }

  bad(found: string): SaigaError {
    return new SaigaError('InvalidArgument', `malformed ${this.what}: expected protobuf, found ${found} at byte ${this.pos}`);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------
// FlightDescriptor

export type FlightDescriptor =
  | { readonly type: 'path'; readonly path: readonly string[] }
  | { readonly type: 'cmd'; readonly cmd: Uint8Array };

export function encodeFlightDescriptor(d: FlightDescriptor): Uint8Array {
  const parts: Uint8Array[] = [];
  const typeCode = d.type === 'path' ? 1 : 2;
  parts.push(Uint8Array.of(0x08, typeCode));
  if (d.type === 'cmd') parts.push(lenField(2, d.cmd));
  else for (const p of d.path) parts.push(lenField(3, utf8Encoder.encode(p)));
  return concatBytes(parts);
}

export function decodeFlightDescriptor(buf: Uint8Array): FlightDescriptor {
  const r = new ProtoReader(buf, 'FlightDescriptor');
  let type = 0;
  let cmd: Uint8Array = new Uint8Array(0);
  const path: string[] = [];
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) type = r.varint();
    else if (field === 2 && wire === WIRE_LEN) cmd = r.bytes();
    else if (field === 3 && wire === WIRE_LEN) path.push(utf8Decoder.decode(r.bytes()));
    else r.skip(wire);
  }
  if (type === 1) return { type: 'path', path };
  if (type === 2) return { type: 'cmd', cmd };
  throw new SaigaError('InvalidArgument', `FlightDescriptor.type must be PATH (1) or CMD (2), found ${type}`);
}

function lenField(field: number, value: Uint8Array): Uint8Array {
  const tag = field * 8 + WIRE_LEN;
  const out = new Uint8Array(varintSize(tag) + varintSize(value.length) + value.length);
  let p = writeVarint(out, 0, tag);
  p = writeVarint(out, p, value.length);
  out.set(value, p);
  return out;
}

// ---------------------------------------------------------------------------------------
// FlightData

/** A FlightData message with its Arrow body kept as the list of buffers it is made of. */
export interface FlightDataOut {
  readonly descriptor?: FlightDescriptor;
  /** Arrow IPC Message flatbuffer (no continuation marker or length prefix). */
  readonly dataHeader: Uint8Array;
  readonly appMetadata?: Uint8Array;
  /** Body buffers, concatenated on the wire; already 8-byte aligned by the IPC writer. */
  readonly body: readonly Uint8Array[];
}

export interface FlightDataIn {
  readonly descriptor?: FlightDescriptor;
  readonly dataHeader: Uint8Array;
  readonly appMetadata: Uint8Array;
  readonly dataBody: Uint8Array;
}

const TAG_DESCRIPTOR = 1 * 8 + WIRE_LEN;
const TAG_HEADER = 2 * 8 + WIRE_LEN;
const TAG_APP_METADATA = 3 * 8 + WIRE_LEN;
const TAG_BODY = 1000 * 8 + WIRE_LEN;

/**
 * Bytes in front of every message on a gRPC stream (compressed flag + uint32 length). The
 * encoder places data_body at an offset that is 8-aligned counting this prefix, so that a
 * receiver whose message buffer starts 8-aligned (grpc-js allocates each received message
 * afresh) gets an aligned body and Arrow readers take its buffers in place instead of copying.
 */
export const GRPC_FRAME_PREFIX_BYTES = 5;

/** Zero bytes appended to data_header (at most 15) so that the body starts aligned. */
const BODY_ALIGN = 8;

/**
 * A FlightData message laid out but not yet written: its exact size is known, and
 * `writeInto` writes it into a caller's buffer. Used for outgoing messages so that the Arrow
 * body is copied exactly once, straight into the gRPC frame (see `FlightDataFrame`).
 */
export class FlightDataLayout {
  readonly size: number;
  private readonly descriptor: Uint8Array | undefined;
  private readonly headerPad: number;
  private readonly bodyLength: number;

  constructor(readonly msg: FlightDataOut, frameOffset = GRPC_FRAME_PREFIX_BYTES) {
    this.descriptor = msg.descriptor === undefined ? undefined : encodeFlightDescriptor(msg.descriptor);
    let bodyLength = 0;
    for (const b of msg.body) bodyLength += b.byteLength;
    this.bodyLength = bodyLength;
    let before = 0;
    if (this.descriptor !== undefined) before += 1 + varintSize(this.descriptor.length) + this.descriptor.length;
    const meta = msg.appMetadata;
    if (meta !== undefined && meta.length > 0) before += 1 + varintSize(meta.length) + meta.length;
    const hl = msg.dataHeader.length;
    let pad = 0;
    if (hl > 0 && bodyLength > 0) {
      // data_header is the last field before data_body; pad it until the body lands aligned.
      const bodyTagBytes = varintSize(TAG_BODY) + varintSize(bodyLength);
      while ((frameOffset + before + 1 + varintSize(hl + pad) + hl + pad + bodyTagBytes) % BODY_ALIGN !== 0) pad++;
    }
    this.headerPad = pad;
    let size = before;
    if (hl > 0) size += 1 + varintSize(hl + pad) + hl + pad;
    if (bodyLength > 0) size += varintSize(TAG_BODY) + varintSize(bodyLength) + bodyLength;
    this.size = size;
  }

  /** Bytes in front of the body buffers: every field, then data_body's tag and length. */
  get headSize(): number {
    return this.size - this.bodyLength;
  }

  /**
   * The message as a gRPC length-prefixed frame with the body left out: the 5-byte frame prefix
   * (uncompressed flag, big-endian length) and the bytes before the body. Sending this and then
   * `msg.body` in order puts exactly the frame that `writeInto` would produce on the wire,
   * without copying the body.
   */
  framedHead(): Buffer {
    const out = Buffer.allocUnsafe(GRPC_FRAME_PREFIX_BYTES + this.headSize);
    out[0] = 0;
    out.writeUInt32BE(this.size, 1);
    const p = this.writeHead(out, GRPC_FRAME_PREFIX_BYTES);
    assert(p === out.length, () => `FlightData head wrote ${p - GRPC_FRAME_PREFIX_BYTES} bytes, sized ${this.headSize}`);
    return out;
  }

  /** Writes the message at out[offset, offset + size); returns offset + size. */
  writeInto(out: Uint8Array, offset: number): number {
    let p = this.writeHead(out, offset);
    for (const b of this.msg.body) {
      out.set(b, p);
      p += b.byteLength;
    }
    assert(p - offset === this.size, () => `FlightData encoder wrote ${p - offset} bytes, sized ${this.size}`);
    return p;
  }

  private writeHead(out: Uint8Array, offset: number): number {
    const msg = this.msg;
    let p = offset;
    if (this.descriptor !== undefined) {
      out[p++] = TAG_DESCRIPTOR;
      p = writeVarint(out, p, this.descriptor.length);
      out.set(this.descriptor, p);
      p += this.descriptor.length;
    }
    const meta = msg.appMetadata;
    if (meta !== undefined && meta.length > 0) {
      out[p++] = TAG_APP_METADATA;
      p = writeVarint(out, p, meta.length);
      out.set(meta, p);
      p += meta.length;
    }
    const hl = msg.dataHeader.length;
    if (hl > 0) {
      out[p++] = TAG_HEADER;
      p = writeVarint(out, p, hl + this.headerPad);
      out.set(msg.dataHeader, p);
      p += hl;
      out.fill(0, p, p + this.headerPad);
      p += this.headerPad;
    }
    if (this.bodyLength > 0) {
      p = writeVarint(out, p, TAG_BODY);
      p = writeVarint(out, p, this.bodyLength);
    }
    return p;
  }
}

/**
 * Serializes a FlightData message; the body buffers are copied once, into the result.
 * data_header may carry up to 15 trailing zero bytes (as IPC metadata is padded in a
 * stream) so that data_body is 8-aligned within a gRPC frame.
 */
export function encodeFlightData(msg: FlightDataOut): Buffer {
  const layout = new FlightDataLayout(msg);
  const out = Buffer.allocUnsafe(layout.size);
  layout.writeInto(out, 0);
  return out;
}

/**
 * What the FlightData serializer hands grpc-js instead of a Buffer: grpc-js frames every
 * message by allocating `length + 5` bytes and calling `message.copy(frame, 5)` (server:
 * ServerInterceptingCall.serializeMessage; client: IdentityHandler.writeMessage), and reads
 * nothing else of it but `length` / `byteLength`. Writing the FlightData fields directly in
 * `copy` makes that frame the only copy of the Arrow body (instead of one copy into a
 * FlightData buffer and a second into the frame). test/flight covers both directions.
 */
export class FlightDataFrame {
  readonly length: number;
  readonly byteLength: number;

  constructor(readonly layout: FlightDataLayout) {
    this.length = layout.size;
    this.byteLength = layout.size;
  }

  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    if (sourceStart !== 0 || sourceEnd !== this.length) {
      // Not how grpc-js calls it; stay correct anyway.
      const whole = encodeFlightData(this.layout.msg);
      return whole.copy(target, targetStart, sourceStart, sourceEnd);
    }
    assert(target.byteLength - targetStart >= this.length, () => `FlightData frame of ${this.length} bytes copied into ${target.byteLength - targetStart}`);
    this.layout.writeInto(target, targetStart);
    return this.length;
  }

  /** The message as one Buffer (what `copy` writes). */
  toBuffer(): Buffer {
    return encodeFlightData(this.layout.msg);
  }
}

/** Parses a FlightData message; header, metadata and body are views on `buf`. */
export function decodeFlightData(buf: Uint8Array): FlightDataIn {
  const r = new ProtoReader(buf, 'FlightData');
  let descriptor: FlightDescriptor | undefined;
  const empty = new Uint8Array(0);
  let dataHeader: Uint8Array = empty;
  let appMetadata: Uint8Array = empty;
  let dataBody: Uint8Array = empty;
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === WIRE_LEN && field === 1) descriptor = decodeFlightDescriptor(r.bytes());
    else if (wire === WIRE_LEN && field === 2) dataHeader = r.bytes();
    else if (wire === WIRE_LEN && field === 3) appMetadata = r.bytes();
    else if (wire === WIRE_LEN && field === 1000) dataBody = r.bytes();
    else r.skip(wire);
  }
  return descriptor === undefined
    ? { dataHeader, appMetadata, dataBody }
    : { descriptor, dataHeader, appMetadata, dataBody };
}

// ---------------------------------------------------------------------------------------
// Arrow IPC messages

const CONTINUATION = 0xffffffff;

/** Frames a Message flatbuffer as the IPC stream does: continuation, padded length, bytes, padding. */
export function encapsulate(flatbuffer: Uint8Array): Uint8Array {
  const padded = (flatbuffer.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, padded, true);
  out.set(flatbuffer, 8);
  return out;
}

/** Strips the continuation marker and length of an encapsulated message (legacy 4-byte prefix accepted). */
export function unencapsulate(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < 4) throw new SaigaError('InvalidArgument', `${what}: expected an IPC message, found ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  if (view.getUint32(0, true) === CONTINUATION) pos = 4;
  if (bytes.length < pos + 4) throw new SaigaError('InvalidArgument', `${what}: IPC message cut short after its marker`);
  const len = view.getInt32(pos, true);
  pos += 4;
  if (len < 0 || pos + len > bytes.length) {
    throw new SaigaError('InvalidArgument', `${what}: IPC message length ${len} does not fit in ${bytes.length - pos} bytes`);
  }
  return bytes.subarray(pos, pos + len);
}

/** The encapsulated IPC Schema message (FlightInfo.schema, SchemaResult.schema, table_schema). */
export function encodeSchemaMessage(schema: ArrowSchema): Uint8Array {
  return encapsulate(Message.encode(Message.from(schema)));
}

export function decodeSchemaMessage(bytes: Uint8Array): ArrowSchema {
  const msg = decodeMessage(unencapsulate(bytes, 'schema'));
  if (!msg.isSchema()) {
    throw new SaigaError('InvalidArgument', `expected an IPC Schema message, found ${MessageHeader[msg.headerType]}`);
  }
  return msg.header();
}

function decodeMessage(header: Uint8Array): Message {
  try {
    return Message.decode(header);
  } catch (e) {
    throw new SaigaError('InvalidArgument', `malformed FlightData.data_header: expected an Arrow IPC Message flatbuffer (${(e as Error).message})`);
  }
}

/** One IPC message as FlightData carries it. */
export interface IpcFrame {
  readonly header: Uint8Array;
  readonly body: readonly Uint8Array[];
}

/**
 * Turns record batches into IPC frames: the schema message first (once), then one record
 * batch message per batch. Uses apache-arrow's stream writer and splits its output at
 * message boundaries without copying the body buffers.
 */
export class IpcStreamEncoder {
  private readonly writer = new CapturingWriter();
  private schemaSent = false;

  constructor(private readonly schema: ArrowSchema) {}

  /** The schema frame; call once, before the first batch. */
  schemaFrame(): IpcFrame {
    assert(!this.schemaSent, 'schemaFrame called twice');
    this.schemaSent = true;
    this.writer.reset(undefined, this.schema);
    const frames = splitFrames(this.writer.take());
    assert(frames.length === 1, () => `schema produced ${frames.length} IPC messages`);
    return frames[0] as IpcFrame;
  }

  /** Frames of one batch (dictionary batches, if any, then the record batch). */
  batchFrames(batch: RecordBatch): IpcFrame[] {
    if (!this.schemaSent) this.schemaFrame();
    // The batch's own schema may differ in names or metadata; the stream's layout is what counts.
    this.writer.write(batch.schema === this.schema ? batch : new RecordBatch(this.schema, batch.data));
    return splitFrames(this.writer.take());
  }
}

class CapturingWriter extends RecordBatchStreamWriter {
  private chunks: Uint8Array[] = [];

  // Intercepts the writer's byte output so frames can be cut from it without a byte queue.
  protected override _write(chunk: unknown): this {
    if (this._started && ArrayBuffer.isView(chunk) && chunk.byteLength > 0) {
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }

  take(): Uint8Array[] {
    const c = this.chunks;
    this.chunks = [];
    return c;
  }
}

/** Cuts the writer's chunk list into messages: [marker, length][flatbuffer + pad][body]. */
function splitFrames(chunks: readonly Uint8Array[]): IpcFrame[] {
  const frames: IpcFrame[] = [];
  let ci = 0;
  let off = 0;
  const take = (n: number): Uint8Array[] => {
    const parts: Uint8Array[] = [];
    while (n > 0) {
      const c = chunks[ci];
      assert(c !== undefined, 'IPC writer output ended inside a message');
      const avail = c.byteLength - off;
      const k = Math.min(avail, n);
      parts.push(c.subarray(off, off + k));
      n -= k;
      off += k;
      if (off === c.byteLength) {
        ci++;
        off = 0;
      }
    }
    return parts;
  };
  while (ci < chunks.length) {
    const prefix = concatBytes(take(8));
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    assert(view.getUint32(0, true) === CONTINUATION, 'IPC writer output lacks the continuation marker');
    const len = view.getInt32(4, true);
    if (len === 0) break; // end-of-stream marker
    const header = concatBytes(take(len));
    const msg = Message.decode(header);
    const body = take(msg.bodyLength);
    frames.push({ header, body });
  }
  return frames;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

const EOS = new Uint8Array(8);

export type DecodedMessage =
  | { readonly kind: 'schema'; readonly schema: ArrowSchema }
  | { readonly kind: 'batch'; readonly batch: RecordBatch };

/**
 * Turns (data_header, data_body) pairs back into a schema and record batches. Validates what a
 * peer could get wrong: the header is a Message flatbuffer, the schema comes first, the body is
 * as long as the header says and every buffer region lies inside it.
 */
export class IpcStreamDecoder {
  private schemaBytes: Uint8Array | undefined;
  private schema_: ArrowSchema | undefined;

  get schema(): ArrowSchema | undefined {
    return this.schema_;
  }

  push(header: Uint8Array, body: Uint8Array): DecodedMessage {
    if (header.length === 0) {
      throw new SaigaError('InvalidArgument', 'FlightData without data_header: expected an Arrow IPC message');
    }
    const msg = decodeMessage(header);
    if (msg.bodyLength > body.byteLength) {
      throw new SaigaError('InvalidArgument', `FlightData.data_body holds ${body.byteLength} bytes, its header says ${msg.bodyLength}`);
    }
    if (msg.isSchema()) {
      if (this.schema_ !== undefined) throw new SaigaError('InvalidArgument', 'a second Schema message in one stream');
      this.schema_ = msg.header();
      this.schemaBytes = encapsulate(header);
      return { kind: 'schema', schema: this.schema_ };
    }
    if (msg.isDictionaryBatch()) {
      throw new SaigaError('NotSupported', 'dictionary-encoded columns are not supported: send plain (non-dictionary) Arrow arrays');
    }
    if (!msg.isRecordBatch()) {
      throw new SaigaError('InvalidArgument', `expected a Schema or RecordBatch IPC message, found header type ${msg.headerType}`);
    }
    if (this.schemaBytes === undefined) {
      throw new SaigaError('InvalidArgument', 'a RecordBatch message before the Schema message');
    }
    const rb = msg.header();
    for (const region of rb.buffers) {
      if (region.offset < 0 || region.length < 0 || region.offset + region.length > msg.bodyLength) {
        throw new SaigaError('InvalidArgument', `record batch buffer [${region.offset}, +${region.length}) lies outside its ${msg.bodyLength}-byte body`);
      }
    }
    const bodyBytes = body.subarray(0, msg.bodyLength);
    // The reader takes the message as a chunk list: the body chunk is read in place, not copied.
    const stream = [this.schemaBytes, encapsulate(header), bodyBytes, EOS];
    let batch: RecordBatch | undefined;
    try {
      const reader = RecordBatchReader.from(stream);
      for (const b of reader) {
        batch = b;
        break;
      }
    } catch (e) {
      throw new SaigaError('InvalidArgument', `malformed record batch: ${(e as Error).message}`);
    }
    if (batch === undefined) throw new SaigaError('InvalidArgument', 'the RecordBatch message decoded to no batch');
    return { kind: 'batch', batch };
  }
}
