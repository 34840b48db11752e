import { crc32 } from 'node:zlib';
import { assert } from '../common/assert.js';

/**
 * Pure encoding of log records and segment headers (no I/O). A log segment is a header followed
 * by records; every record is framed so a reader can tell a torn tail (a crash mid-append) from
 * corruption in the middle:
 *
 * | bytes | field                                                        |
 * |-------|--------------------------------------------------------------|
 * | 4     | body length (u32 LE)                                         |
 * | 4     | CRC32 of the body                                            |
 * | 4     | CRC32 of the 8 bytes above (a corrupted length is detected)  |
 * | n     | body: entry type u8, 3 zero bytes, term u64, index u64, payload |
 */

export type EntryType = 'write' | 'alterSchema' | 'noop' | 'configChange' | 'writeBatch' | 'bulkCommit';

const ENTRY_TYPE_CODES: Record<EntryType, number> = { write: 1, alterSchema: 2, noop: 3, configChange: 4, writeBatch: 5, bulkCommit: 6 };
const ENTRY_TYPES_BY_CODE: readonly (EntryType | undefined)[] = [undefined, 'write', 'alterSchema', 'noop', 'configChange', 'writeBatch', 'bulkCommit'];

export interface LogEntry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly payload: Uint8Array;
  /**
   * Optional: the entry's type code (entryTypeCode) followed by its payload, contiguous, with
   * `payload` a view of its bytes from 1 on. Log.read sets it on entries it decodes from a segment
   * (in its private read buffer); src/replication's toLogEntry sets it to the Raft entry's data.
   * Lets a reader hand out "[type byte][payload]" without copying the payload.
   */
  readonly framed?: Uint8Array;
}

/** The on-disk code of an entry type (the first byte of a record body). */
export function entryTypeCode(t: EntryType): number {
  return ENTRY_TYPE_CODES[t];
}

export const RECORD_HEADER_BYTES = 12;
export const ENTRY_BODY_HEADER_BYTES = 20;
/** A record larger than this is corruption, not data (a write batch is bounded well below it). */
export const RECORD_BODY_BYTES_MAX = 1024 * 1024 * 1024;

export const SEGMENT_MAGIC = 'SAIGAWAL';
export const SEGMENT_VERSION = 1;
/** magic (8), version u32, first index u64, CRC32 of the first 20 bytes. */
export const SEGMENT_HEADER_BYTES = 24;

function writeU64(view: DataView, at: number, v: number): void {
  assert(Number.isSafeInteger(v) && v >= 0, `u64 field must be a non-negative safe integer, got ${v}`);
  view.setUint32(at, v % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(v / 0x1_0000_0000), true);
}

function readU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

export function encodedEntryBytes(e: LogEntry): number {
  return RECORD_HEADER_BYTES + ENTRY_BODY_HEADER_BYTES + e.payload.byteLength;
}

/**
 * Writes the record header and body header of entry `e` (everything before its payload,
 * RECORD_HEADER_BYTES + ENTRY_BODY_HEADER_BYTES bytes) into `out` at `at`. The body CRC runs over
 * the body header and then the payload (crc32 continued), so the payload itself is never copied:
 * the log writes these bytes and the payload as two buffers.
 */
export function encodeRecordHeaderInto(e: LogEntry, out: Uint8Array, at: number): void {
  encodeRecordHeaderWithView(e, out, new DataView(out.buffer, out.byteOffset, out.byteLength), at);
}

/**
 * encodeRecordHeaderInto for the log's write path: `view` is a DataView over exactly the bytes of
 * `out` (same buffer, offset and length), held by the caller, so no per-record DataView is made.
 */
export function encodeRecordHeaderWithView(e: LogEntry, out: Uint8Array, view: DataView, at: number): void {
  const headBytes = RECORD_HEADER_BYTES + ENTRY_BODY_HEADER_BYTES;
  assert(view.buffer === out.buffer && view.byteOffset === out.byteOffset && view.byteLength === out.byteLength, 'the view covers the output bytes');
  assert(at + headBytes <= out.byteLength, 'record header fits in the output');
  const bodyBytes = ENTRY_BODY_HEADER_BYTES + e.payload.byteLength;
  if (bodyBytes > RECORD_BODY_BYTES_MAX) assert(false, `record body of ${bodyBytes} bytes exceeds ${RECORD_BODY_BYTES_MAX}`);
  const bodyAt = at + RECORD_HEADER_BYTES;
  view.setUint32(bodyAt, ENTRY_TYPE_CODES[e.type], true); // type byte, then 3 zero bytes
  writeU64(view, bodyAt + 4, e.term);
  writeU64(view, bodyAt + 12, e.index);
  view.setUint32(at, bodyBytes, true);
  // The 20-byte body header and the 8 bytes before it go through a table loop (no view and no
  // native call each); the payload through zlib's crc32, continued.
  view.setUint32(at + 4, crc32(e.payload, crc32Small(out, bodyAt, bodyAt + ENTRY_BODY_HEADER_BYTES, 0)), true);
  view.setUint32(at + 8, crc32Small(out, at, at + 8, 0), true);
}

/** CRC-32 (zlib's: reflected 0xEDB88320) lookup table. */
const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * zlib's crc32 of bytes[from, to) continued from `crc` (0 to start), for a few bytes: equal to
 * `crc32(bytes.subarray(from, to), crc)` (test/wal/crc-small.test.ts; decodeRecord checks every record with zlib, test/wal/log.test.ts).
 */
export function crc32Small(bytes: Uint8Array, from: number, to: number, crc: number): number {
  let c = ~crc;
  for (let i = from; i < to; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** Encodes one entry as a framed record into `out` at `at`; returns the bytes written. */
export function encodeEntryInto(e: LogEntry, out: Uint8Array, at: number): number {
  const total = encodedEntryBytes(e);
  assert(at + total <= out.byteLength, `record of ${total} bytes does not fit at ${at} in ${out.byteLength}`);
  encodeRecordHeaderInto(e, out, at);
  out.set(e.payload, at + RECORD_HEADER_BYTES + ENTRY_BODY_HEADER_BYTES);
  return total;
}

export function encodeEntries(entries: readonly LogEntry[]): Uint8Array {
  let total = 0;
  for (const e of entries) total += encodedEntryBytes(e);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) at += encodeEntryInto(e, out, at);
  return out;
}

/** What the decoder found at an offset. `torn`: the bytes end before the record does. */
export type DecodeResult =
  | { readonly kind: 'entry'; readonly entry: LogEntry; readonly recordBytes: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'torn'; readonly why: string }
  | { readonly kind: 'corrupt'; readonly why: string };

/**
 * Decodes the record at `at`. The payload is a copy only when `copyPayload` is set; otherwise it
 * is a view on `bytes`.
 */
export function decodeRecord(bytes: Uint8Array, at: number, copyPayload = false): DecodeResult {
  const remaining = bytes.byteLength - at;
  if (remaining === 0) return { kind: 'end' };
  if (remaining < RECORD_HEADER_BYTES) return { kind: 'torn', why: `${remaining} bytes left, a record header needs ${RECORD_HEADER_BYTES}` };
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  const bodyBytes = view.getUint32(0, true);
  const bodyCrc = view.getUint32(4, true);
  const headerCrc = view.getUint32(8, true);
  if (bodyBytes === 0 && bodyCrc === 0 && headerCrc === 0) {
    // Zero-filled tail: the file was extended but the data never reached the disk.
    return allZero(bytes, at) ? { kind: 'torn', why: 'zero-filled tail' } : { kind: 'corrupt', why: 'zero record header followed by data' };
  }
  const expectHeaderCrc = crc32(bytes.subarray(at, at + 8));
  if (expectHeaderCrc !== headerCrc) {
    return { kind: 'corrupt', why: `record header checksum mismatch (expected ${expectHeaderCrc.toString(16)}, found ${headerCrc.toString(16)})` };
  }
  if (bodyBytes < ENTRY_BODY_HEADER_BYTES || bodyBytes > RECORD_BODY_BYTES_MAX) {
    return { kind: 'corrupt', why: `record body length ${bodyBytes} outside [${ENTRY_BODY_HEADER_BYTES}, ${RECORD_BODY_BYTES_MAX}]` };
  }
  if (remaining < RECORD_HEADER_BYTES + bodyBytes) {
    return { kind: 'torn', why: `record of ${RECORD_HEADER_BYTES + bodyBytes} bytes but only ${remaining} left` };
  }
  const bodyAt = at + RECORD_HEADER_BYTES;
  const body = bytes.subarray(bodyAt, bodyAt + bodyBytes);
  const actualCrc = crc32(body);
  if (actualCrc !== bodyCrc) {
    return { kind: 'corrupt', why: `record body checksum mismatch (expected ${bodyCrc.toString(16)}, found ${actualCrc.toString(16)})` };
  }
  const bv = new DataView(body.buffer, body.byteOffset, ENTRY_BODY_HEADER_BYTES);
  const type = ENTRY_TYPES_BY_CODE[bv.getUint8(0)];
  if (type === undefined) return { kind: 'corrupt', why: `unknown entry type ${bv.getUint8(0)}` };
  const payloadView = body.subarray(ENTRY_BODY_HEADER_BYTES);
  const entry: LogEntry = {
    term: readU64(bv, 4),
    index: readU64(bv, 12),
    type,
    payload: copyPayload ? payloadView.slice() : payloadView,
  };
  return { kind: 'entry', entry, recordBytes: RECORD_HEADER_BYTES + bodyBytes };
}

/**
 * True when the record at `at` (which failed its checks) is the torn last write of a log: its
 * header is intact and names a body that fits, and nothing but zeros follows that body. A write
 * into zero-filled space (log.ts zero-fill ahead) that a crash cut short leaves exactly this: a
 * SIGKILL between pages of one write, or a power loss before the later sectors landed. Anything
 * else that fails - a bad header, or records or data after the bad one - stays Corruption.
 */
export function isTornFinalRecord(bytes: Uint8Array, at: number): boolean {
  if (bytes.byteLength - at < RECORD_HEADER_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  const bodyBytes = view.getUint32(0, true);
  if (crc32(bytes.subarray(at, at + 8)) !== view.getUint32(8, true)) return false;
  if (bodyBytes < ENTRY_BODY_HEADER_BYTES || bodyBytes > RECORD_BODY_BYTES_MAX) return false;
  const end = at + RECORD_HEADER_BYTES + bodyBytes;
  return end <= bytes.byteLength && allZero(bytes, end);
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.byteLength; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function encodeSegmentHeader(firstIndex: number): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = SEGMENT_MAGIC.charCodeAt(i);
  view.setUint32(8, SEGMENT_VERSION, true);
  writeU64(view, 12, firstIndex);
  view.setUint32(20, crc32(out.subarray(0, 20)), true);
  return out;
}

export type SegmentHeaderResult =
  | { readonly kind: 'ok'; readonly firstIndex: number }
  | { readonly kind: 'torn' }
  | { readonly kind: 'corrupt'; readonly why: string };

export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeaderResult {
  if (bytes.byteLength < SEGMENT_HEADER_BYTES) return { kind: 'torn' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SEGMENT_MAGIC.charCodeAt(i)) return { kind: 'corrupt', why: 'bad segment magic' };
  }
  const crc = crc32(bytes.subarray(0, 20));
  if (crc !== view.getUint32(20, true)) return { kind: 'corrupt', why: 'segment header checksum mismatch' };
  const version = view.getUint32(8, true);
  if (version !== SEGMENT_VERSION) return { kind: 'corrupt', why: `segment version ${version}, expected ${SEGMENT_VERSION}` };
  return { kind: 'ok', firstIndex: readU64(view, 12) };
}
