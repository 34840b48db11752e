import { SaigaError } from '../common/errors.js';
import { MESSAGE_TYPES, type Entry, type Message, type MessageType, type Snapshot } from '../replication/index.js';
import type { GroupMessage } from '../replication/raft-driver.js';

/**
 * Hand-written protobuf codecs of the per-round messages, on exactly the wire format of
 * proto/consensus.proto (MessageBatch) and proto/tablet-server.proto (WriteStreamRequest /
 * WriteStreamResponse): any protobuf implementation reads what these write and the other way
 * round (test/tserver/wire-codec.test.ts checks both directions against protobufjs). They go
 * straight between bytes and the objects the server uses (GroupMessage, write items), without
 * protobufjs's intermediate objects, Long values and per-field default handling: every Raft
 * round passes one MessageBatch each way per follower and one WriteStream message each way.
 *
 * Encoding follows proto3: a field holding its default (0, false, '', empty bytes) is left out.
 * Decoding accepts fields in any order, repeated scalar fields, and skips unknown fields.
 * uint64 values are JavaScript numbers (terms and indexes stay far below 2^53; a larger one is
 * refused rather than rounded).
 */

// ---- protobuf primitives ---------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  for (let x = Math.floor(v / 0x10000000); x > 0; x = Math.floor(x / 0x80)) n++;
  return n;
}

/** Size of a varint field with its tag (field numbers here are below 16: a one-byte tag); 0 when v is 0. */
function uintFieldSize(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

/** Byte length of a string in UTF-8 (ASCII fast path). */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING_MAX) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Strings up to this length are measured and copied in JS; longer ones natively. */
const SHORT_STRING_MAX = 64;

function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v = v >= 0x80000000 ? Math.floor(v / 0x80) : v >>> 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire;
  }

  uint(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  /** A string field whose UTF-8 length the caller measured (utf8Length). */
  string(field: number, s: string, len: number): void {
    if (len === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(len);
    if (len === s.length && len <= SHORT_STRING_MAX) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < len; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      this.pos += this.buf.write(s, this.pos, len, 'utf8');
    }
  }

  /** An element of a repeated string field: written even when empty. */
  repeatedString(field: number, s: string, len: number): void {
    if (len > 0) {
      this.string(field, s, len);
      return;
    }
    this.tag(field, WIRE_LEN);
    this.buf[this.pos++] = 0;
  }

  bytes(field: number, v: Uint8Array): void {
    if (v.byteLength === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(v.byteLength);
    this.buf.set(v, this.pos);
    this.pos += v.byteLength;
  }

  /** Header of an embedded message of `len` bytes (always written, even when empty). */
  message(field: number, len: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(len);
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) throw new SaigaError('IllegalState', `protobuf encoder sized ${this.buf.length} bytes but wrote ${this.pos}`);
    return this.buf;
  }
}

function malformed(what: string, at: number): SaigaError {
  return new SaigaError('InvalidArgument', `expected a well-formed protobuf ${what}, found a bad field at byte ${at}`);
}

class Reader {
  pos: number;

  constructor(readonly buf: Buffer, start: number, readonly end: number, readonly what: string) {
    this.pos = start;
  }

  varint(): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= this.end) throw malformed(this.what, p);
    let x = b[p++] as number;
    if (x < 0x80) {
      this.pos = p;
      return x;
    }
    let v = x & 0x7f;
    let scale = 0x80;
    for (;;) {
      if (p >= this.end) throw malformed(this.what, p);
      x = b[p++] as number;
      v += (x & 0x7f) * scale;
      if (x < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 63) throw malformed(this.what, p);
    }
    if (v > Number.MAX_SAFE_INTEGER) throw new SaigaError('InvalidArgument', `expected an integer below 2^53 in a protobuf ${this.what}, found ${v}`);
    this.pos = p;
    return v;
  }

  /** Length of a length-delimited field; leaves pos at its first byte. */
  len(): number {
    const n = this.varint();
    if (this.pos + n > this.end) throw malformed(this.what, this.pos);
    return n;
  }

  string(): string {
    const n = this.len();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A view of a bytes field over the received buffer (no copy). */
  bytes(): Uint8Array {
    const n = this.len();
    const v = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_I64: this.pos += 8; break;
      case WIRE_LEN: this.pos += this.len(); return;
      case WIRE_I32: this.pos += 4; break;
      default: throw malformed(this.what, this.pos);
    }
    if (this.pos > this.end) throw malformed(this.what, this.pos);
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const EMPTY_BYTES = new Uint8Array(0);

// ---- consensus MessageBatch ------------------------------------------------------------------

/** A decoded MessageBatch: the sending server and its messages. */
export interface MessageBatchIn {
  readonly fromServer: string;
  readonly messages: GroupMessage[];
}

function entrySize(e: Entry): number {
  return uintFieldSize(e.term) + uintFieldSize(e.index) + (e.type === 'ConfChange' ? 2 : 0) + (e.data.byteLength === 0 ? 0 : lenFieldSize(e.data.byteLength));
}

function snapshotSize(s: Snapshot, strs: number[]): number {
  let n = uintFieldSize(s.metadata.index) + uintFieldSize(s.metadata.term) + (s.data.byteLength === 0 ? 0 : lenFieldSize(s.data.byteLength));
  for (const v of s.metadata.confState.voters) n += lenFieldSize(pushLen(strs, v));
  for (const l of s.metadata.confState.learners) n += lenFieldSize(pushLen(strs, l));
  return n;
}

function pushLen(strs: number[], s: string): number {
  const n = utf8Length(s);
  strs.push(n);
  return n;
}

function strFieldSize(strs: number[], s: string): number {
  const n = pushLen(strs, s);
  return n === 0 ? 0 : lenFieldSize(n);
}

/** Encodes MessageBatch {from_server, messages} (consensus.proto). */
export function encodeMessageBatch(fromServer: string, batch: readonly GroupMessage[]): Buffer {
  // Pass 1: sizes. String lengths are kept in visiting order for pass 2, as are message sizes.
  const strs: number[] = [];
  const msgSizes: number[] = new Array(batch.length);
  const entrySizes: number[] = [];
  const snapSizes: number[] = [];
  let total = strFieldSize(strs, fromServer);
  for (let i = 0; i < batch.length; i++) {
    const gm = batch[i] as GroupMessage;
    const m = gm.message;
    let n = strFieldSize(strs, gm.groupId) + strFieldSize(strs, m.type) + strFieldSize(strs, m.from) + strFieldSize(strs, m.to) +
      uintFieldSize(m.term) + uintFieldSize(m.logTerm) + uintFieldSize(m.index) + uintFieldSize(m.commit) + (m.reject ? 2 : 0) +
      uintFieldSize(m.rejectHint) + uintFieldSize(m.seq) + (m.force ? 2 : 0) + strFieldSize(strs, m.context);
    for (const e of m.entries) {
      const es = entrySize(e);
      entrySizes.push(es);
      n += lenFieldSize(es);
    }
    if (m.snapshot !== undefined) {
      const ss = snapshotSize(m.snapshot, strs);
      snapSizes.push(ss);
      n += lenFieldSize(ss);
    }
    msgSizes[i] = n;
    total += lenFieldSize(n);
  }
  // Pass 2: bytes, fields in field-number order.
  const w = new Writer(total);
  let si = 0;
  let ei = 0;
  let ssi = 0;
  w.string(1, fromServer, strs[si++] as number);
  for (let i = 0; i < batch.length; i++) {
    const gm = batch[i] as GroupMessage;
    const m = gm.message;
    w.message(2, msgSizes[i] as number);
    w.string(1, gm.groupId, strs[si++] as number);
    w.string(2, m.type, strs[si++] as number);
    w.string(3, m.from, strs[si++] as number);
    w.string(4, m.to, strs[si++] as number);
    const contextLen = strs[si++] as number;
    w.uint(5, m.term);
    w.uint(6, m.logTerm);
    w.uint(7, m.index);
    for (const e of m.entries) {
      w.message(8, entrySizes[ei++] as number);
      w.uint(1, e.term);
      w.uint(2, e.index);
      w.bool(3, e.type === 'ConfChange');
      w.bytes(4, e.data);
    }
    w.uint(9, m.commit);
    w.bool(10, m.reject);
    w.uint(11, m.rejectHint);
    w.uint(12, m.seq);
    w.bool(13, m.force);
    w.string(14, m.context, contextLen);
    const s = m.snapshot;
    if (s !== undefined) {
      w.message(15, snapSizes[ssi++] as number);
      w.uint(1, s.metadata.index);
      w.uint(2, s.metadata.term);
      for (const v of s.metadata.confState.voters) w.repeatedString(3, v, strs[si++] as number);
      for (const l of s.metadata.confState.learners) w.repeatedString(4, l, strs[si++] as number);
      w.bytes(5, s.data);
    }
  }
  return w.done();
}

const TYPE_BY_NAME = new Map<string, MessageType>(MESSAGE_TYPES.map((t) => [t, t]));
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

function decodeEntry(r: Reader, end: number): Entry {
  let term = 0;
  let index = 0;
  let conf = false;
  let data: Uint8Array = EMPTY_BYTES;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case (1 << 3) | WIRE_VARINT: term = r.varint(); break;
      case (2 << 3) | WIRE_VARINT: index = r.varint(); break;
      case (3 << 3) | WIRE_VARINT: conf = r.varint() !== 0; break;
      case (4 << 3) | WIRE_LEN: data = r.bytes(); break;
      default: r.skip(t & 7);
    }
  }
  if (r.pos !== end) throw malformed('Entry', r.pos);
  return { term, index, type: conf ? 'ConfChange' : 'Normal', data };
}

function decodeSnapshot(r: Reader, end: number): Snapshot {
  let index = 0;
  let term = 0;
  const voters: string[] = [];
  const learners: string[] = [];
  let data: Uint8Array = EMPTY_BYTES;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case (1 << 3) | WIRE_VARINT: index = r.varint(); break;
      case (2 << 3) | WIRE_VARINT: term = r.varint(); break;
      case (3 << 3) | WIRE_LEN: voters.push(r.string()); break;
      case (4 << 3) | WIRE_LEN: learners.push(r.string()); break;
      // A snapshot's data outlives the message (it is installed later): copy it out of the receive buffer.
      case (5 << 3) | WIRE_LEN: data = new Uint8Array(r.bytes()); break;
      default: r.skip(t & 7);
    }
  }
  if (r.pos !== end) throw malformed('Snapshot', r.pos);
  return { metadata: { index, term, confState: { voters, learners } }, data };
}

function decodeRaftMessage(r: Reader, end: number): GroupMessage {
  let groupId = '';
  let type = '';
  let from = '';
  let to = '';
  let term = 0;
  let logTerm = 0;
  let index = 0;
  let entries: Entry[] | undefined;
  let commit = 0;
  let reject = false;
  let rejectHint = 0;
  let seq = 0;
  let force = false;
  let context = '';
  let snapshot: Snapshot | undefined;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case (1 << 3) | WIRE_LEN: groupId = r.string(); break;
      case (2 << 3) | WIRE_LEN: type = r.string(); break;
      case (3 << 3) | WIRE_LEN: from = r.string(); break;
      case (4 << 3) | WIRE_LEN: to = r.string(); break;
      case (5 << 3) | WIRE_VARINT: term = r.varint(); break;
      case (6 << 3) | WIRE_VARINT: logTerm = r.varint(); break;
      case (7 << 3) | WIRE_VARINT: index = r.varint(); break;
      case (8 << 3) | WIRE_LEN: {
        const n = r.len();
        (entries ??= []).push(decodeEntry(r, r.pos + n));
        break;
      }
      case (9 << 3) | WIRE_VARINT: commit = r.varint(); break;
      case (10 << 3) | WIRE_VARINT: reject = r.varint() !== 0; break;
      case (11 << 3) | WIRE_VARINT: rejectHint = r.varint(); break;
      case (12 << 3) | WIRE_VARINT: seq = r.varint(); break;
      case (13 << 3) | WIRE_VARINT: force = r.varint() !== 0; break;
      case (14 << 3) | WIRE_LEN: context = r.string(); break;
      case (15 << 3) | WIRE_LEN: {
        const n = r.len();
        snapshot = decodeSnapshot(r, r.pos + n);
        break;
      }
      default: r.skip(t & 7);
    }
  }
  if (r.pos !== end) throw malformed('RaftMessage', r.pos);
  const mt = TYPE_BY_NAME.get(type);
  if (mt === undefined) throw new SaigaError('InvalidArgument', `expected a Raft message type, found '${type}'`);
  const ents = entries ?? NO_ENTRIES;
  for (let i = 1; i < ents.length; i++) {
    if ((ents[i] as Entry).index !== (ents[i - 1] as Entry).index + 1) {
      throw new SaigaError('InvalidArgument', `expected contiguous entries in a Raft message, found index ${(ents[i] as Entry).index} after ${(ents[i - 1] as Entry).index}`);
    }
  }
  const message: Message = snapshot === undefined
    ? { type: mt, from, to, term, logTerm, index, entries: ents, commit, reject, rejectHint, seq, force, context }
    : { type: mt, from, to, term, logTerm, index, entries: ents, commit, reject, rejectHint, seq, force, context, snapshot };
  return { groupId, message };
}

/** Decodes MessageBatch (consensus.proto) straight into GroupMessages; entry data are views of `bytes`. */
export function decodeMessageBatch(bytes: Uint8Array): MessageBatchIn {
  const buf = asBuffer(bytes);
  const r = new Reader(buf, 0, buf.length, 'MessageBatch');
  let fromServer = '';
  const messages: GroupMessage[] = [];
  while (r.pos < buf.length) {
    const t = r.varint();
    if (t === ((1 << 3) | WIRE_LEN)) fromServer = r.string();
    else if (t === ((2 << 3) | WIRE_LEN)) {
      const n = r.len();
      messages.push(decodeRaftMessage(r, r.pos + n));
    } else r.skip(t & 7);
  }
  return { fromServer, messages };
}

// ---- WriteStream ---------------------------------------------------------------------------

export interface WriteItemWire { id: number; tabletId: string; opsJson: string; kind: string; ipc: Uint8Array }
export interface WriteResultWire {
  id: number; appliedCount: number; rowErrorsJson: string; timestamp: string; errorCode: string; errorMessage: string; leaderHint: string;
}

/** Encodes WriteStreamRequest {items} (tablet-server.proto). */
export function encodeWriteStreamRequest(req: { readonly items: readonly WriteItemWire[] }): Buffer {
  const strs: number[] = [];
  const sizes: number[] = new Array(req.items.length);
  let total = 0;
  for (let i = 0; i < req.items.length; i++) {
    const it = req.items[i] as WriteItemWire;
    const n = uintFieldSize(it.id) + strFieldSize(strs, it.tabletId) + strFieldSize(strs, it.opsJson) + strFieldSize(strs, it.kind) +
      (it.ipc.byteLength === 0 ? 0 : lenFieldSize(it.ipc.byteLength));
    sizes[i] = n;
    total += lenFieldSize(n);
  }
  const w = new Writer(total);
  let si = 0;
  for (let i = 0; i < req.items.length; i++) {
    const it = req.items[i] as WriteItemWire;
    w.message(1, sizes[i] as number);
    w.uint(1, it.id);
    w.string(2, it.tabletId, strs[si++] as number);
    w.string(3, it.opsJson, strs[si++] as number);
    w.string(4, it.kind, strs[si++] as number);
    w.bytes(5, it.ipc);
  }
  return w.done();
}

/**
 * Reads a message whose only field is the repeated message field 1 (other fields skipped):
 * `readItem` parses one item's fields up to `end`, which must be exactly where it stops.
 */
function decodeRepeatedItems<T>(bytes: Uint8Array, what: string, itemWhat: string, readItem: (r: Reader, end: number) => T): T[] {
  const buf = asBuffer(bytes);
  const r = new Reader(buf, 0, buf.length, what);
  const items: T[] = [];
  while (r.pos < buf.length) {
    const t = r.varint();
    if (t !== ((1 << 3) | WIRE_LEN)) {
      r.skip(t & 7);
      continue;
    }
    const len = r.len();
    const end = r.pos + len;
    const x = readItem(r, end);
    if (r.pos !== end) throw malformed(itemWhat, r.pos);
    items.push(x);
  }
  return items;
}

/** Decodes WriteStreamRequest; an item's ipc is a view of `bytes`. */
export function decodeWriteStreamRequest(bytes: Uint8Array): { items: WriteItemWire[] } {
  const items = decodeRepeatedItems(bytes, 'WriteStreamRequest', 'WriteItem', (r, end) => {
    const it: WriteItemWire = { id: 0, tabletId: '', opsJson: '', kind: '', ipc: EMPTY_BYTES };
    while (r.pos < end) {
      const f = r.varint();
      switch (f) {
        case (1 << 3) | WIRE_VARINT: it.id = r.varint(); break;
        case (2 << 3) | WIRE_LEN: it.tabletId = r.string(); break;
        case (3 << 3) | WIRE_LEN: it.opsJson = r.string(); break;
        case (4 << 3) | WIRE_LEN: it.kind = r.string(); break;
        case (5 << 3) | WIRE_LEN: it.ipc = r.bytes(); break;
        default: r.skip(f & 7);
      }
    }
    return it;
  });
  return { items };
}

/** Encodes WriteStreamResponse {results} (tablet-server.proto). */
export function encodeWriteStreamResponse(res: { readonly results: readonly WriteResultWire[] }): Buffer {
  const strs: number[] = [];
  const sizes: number[] = new Array(res.results.length);
  let total = 0;
  for (let i = 0; i < res.results.length; i++) {
    const x = res.results[i] as WriteResultWire;
    const n = uintFieldSize(x.id) + uintFieldSize(x.appliedCount) + strFieldSize(strs, x.rowErrorsJson) + strFieldSize(strs, x.timestamp) +
      strFieldSize(strs, x.errorCode) + strFieldSize(strs, x.errorMessage) + strFieldSize(strs, x.leaderHint);
    sizes[i] = n;
    total += lenFieldSize(n);
  }
  const w = new Writer(total);
  let si = 0;
  for (let i = 0; i < res.results.length; i++) {
    const x = res.results[i] as WriteResultWire;
    w.message(1, sizes[i] as number);
    w.uint(1, x.id);
    w.uint(2, x.appliedCount);
    w.string(3, x.rowErrorsJson, strs[si++] as number);
    w.string(4, x.timestamp, strs[si++] as number);
    w.string(5, x.errorCode, strs[si++] as number);
    w.string(6, x.errorMessage, strs[si++] as number);
    w.string(7, x.leaderHint, strs[si++] as number);
  }
  return w.done();
}

export function decodeWriteStreamResponse(bytes: Uint8Array): { results: WriteResultWire[] } {
  const results = decodeRepeatedItems(bytes, 'WriteStreamResponse', 'WriteResult', (r, end) => {
    const x: WriteResultWire = { id: 0, appliedCount: 0, rowErrorsJson: '', timestamp: '', errorCode: '', errorMessage: '', leaderHint: '' };
    while (r.pos < end) {
      const f = r.varint();
      switch (f) {
        case (1 << 3) | WIRE_VARINT: x.id = r.varint(); break;
        case (2 << 3) | WIRE_VARINT: x.appliedCount = r.varint(); break;
        case (3 << 3) | WIRE_LEN: x.rowErrorsJson = r.string(); break;
        case (4 << 3) | WIRE_LEN: x.timestamp = r.string(); break;
        case (5 << 3) | WIRE_LEN: x.errorCode = r.string(); break;
        case (6 << 3) | WIRE_LEN: x.errorMessage = r.string(); break;
        case (7 << 3) | WIRE_LEN: x.leaderHint = r.string(); break;
        default: r.skip(f & 7);
      }
    }
    return x;
  });
  return { results };
}
