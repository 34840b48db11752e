import { assert } from '../common/assert.js';
import { corruption } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import type { WriteOpKind } from '../common/storage-api.js';
import type { Row, Schema, Value } from '../common/types.js';

/**
 * Payload codecs of log entries (pure functions over bytes).
 *
 * 'write' entry payload:
 * | bytes | field                                            |
 * |-------|--------------------------------------------------|
 * | 8     | hybrid timestamp (u64 LE)                        |
 * | 4     | op count (u32 LE)                                |
 * | per op| kind u8, cell count u16 LE, cells               |
 * | cell  | tag u8, then by tag: number f64 / int64 bigint: i64 LE / wider bigint: sign u8 + byte count u8 + LE magnitude / string, binary: u32 length + bytes |
 *
 * 'alterSchema' entry payload: the schema as JSON (values through toJsonValue).
 *
 * 'bulkCommit' entry payload: JSON `{"timestamp": "<decimal hybrid time>", "files": [names]}`:
 * the staged bulk-load files (in key order) a single-voter tablet adds as rowsets.
 */

export interface LoggedWriteOp {
  readonly kind: WriteOpKind;
  readonly row: Row;
}

export interface WriteBatchPayload {
  readonly timestamp: HybridTime;
  readonly ops: readonly LoggedWriteOp[];
}

const KINDS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];
const KIND_CODES = new Map<WriteOpKind, number>(KINDS.map((k, i) => [k, i]));

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_BIGINT = 5;
const T_STRING = 6;
const T_BINARY = 7;
const T_INT64 = 8;

class Writer {
  buf: Buffer;
  view: DataView;
  at = 0;

  /**
   * `initialBytes`: the caller's size estimate. A small one comes out of Node's shared buffer
   * pool; a fixed 64 KiB start gave every single-row write its own 64 KiB ArrayBuffer, whose
   * external-memory pressure drove back-to-back full GCs on a busy Raft leader.
   */
  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  ensure(n: number): void {
    if (this.at + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Upper bound of a cell's encoded size (strings: 3 bytes per UTF-16 unit). */
function maxCellBytes(v: Value | undefined): number {
  if (v === undefined || v === null || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 9;
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? 9 : 3 + 32;
  if (typeof v === 'string') return 5 + v.length * 3;
  return 5 + v.byteLength;
}

/** Payloads estimated at most this big are encoded in `scratch` and copied out (a slice of Node's buffer pool). */
const SCRATCH_ESTIMATE_BYTES_MAX = 4096;
/** A scratch that grew past this (a batch bigger than its estimate) is not kept. */
const SCRATCH_KEEP_BYTES_MAX = 64 * 1024;
let scratch: Writer | undefined;

/**
 * Encodes a 'write' payload. `leadingBytes`: bytes left before the payload for the caller (the
 * log entry's kind byte), so the entry needs no second buffer. A small payload (one or a few
 * rows) is encoded in a reused scratch buffer and copied out at its exact size: one small
 * allocation per write instead of a buffer, a DataView and a view.
 */
export function encodeWriteBatch(p: WriteBatchPayload, leadingBytes = 0): Uint8Array {
  // One estimate up front instead of repeated doubling for large batches.
  const first = p.ops[0];
  let estimate = leadingBytes + 12;
  if (first !== undefined) {
    let perRow = 3;
    for (let i = 0; i < first.row.length; i++) perRow += maxCellBytes(first.row[i]);
    estimate += perRow * p.ops.length;
  }
  const small = estimate <= SCRATCH_ESTIMATE_BYTES_MAX;
  const w = small ? (scratch ??= new Writer(SCRATCH_ESTIMATE_BYTES_MAX)) : new Writer(estimate);
  w.at = 0;
  w.ensure(leadingBytes + 12);
  w.view.setBigUint64(leadingBytes, p.timestamp, true);
  w.view.setUint32(leadingBytes + 8, p.ops.length, true);
  w.at = leadingBytes + 12;
  for (const op of p.ops) {
    const code = KIND_CODES.get(op.kind);
    assert(code !== undefined, `unknown write op kind ${op.kind}`);
    const row = op.row;
    assert(row.length < 0x10000, `row of ${row.length} cells fits a u16 count`);
    let need = 3;
    for (let i = 0; i < row.length; i++) need += maxCellBytes(row[i]);
    w.ensure(need);
    const buf = w.buf;
    const view = w.view;
    let at = w.at;
    buf[at] = code;
    view.setUint16(at + 1, row.length, true);
    at += 3;
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (typeof v === 'number') {
        buf[at] = T_NUMBER;
        view.setFloat64(at + 1, v, true);
        at += 9;
      } else if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) {
        buf[at] = T_INT64;
        view.setBigInt64(at + 1, v, true);
        at += 9;
      } else if (typeof v === 'string') {
        buf[at] = T_STRING;
        const n = buf.write(v, at + 5, 'utf8');
        view.setUint32(at + 1, n, true);
        at += 5 + n;
      } else {
        w.at = at;
        writeOther(w, v);
        at = w.at;
      }
    }
    w.at = at;
  }
  if (!small) return w.buf.subarray(0, w.at);
  const n = w.at;
  const out = Buffer.allocUnsafe(n);
  // A byte loop: Buffer.copy / set of a part would allocate a view of the scratch first.
  const buf = w.buf;
  for (let i = 0; i < n; i++) out[i] = buf[i] as number;
  if (w.buf.byteLength > SCRATCH_KEEP_BYTES_MAX) scratch = undefined;
  return out;
}

function writeOther(w: Writer, v: Value | undefined): void {
  if (v === undefined) {
    w.buf[w.at++] = T_UNDEFINED;
  } else if (v === null) {
    w.buf[w.at++] = T_NULL;
  } else if (typeof v === 'boolean') {
    w.buf[w.at++] = v ? T_TRUE : T_FALSE;
  } else if (typeof v === 'bigint') {
    // Beyond int64 (decimal): sign + little-endian magnitude.
    let mag = v < 0n ? -v : v;
    const bytes: number[] = [];
    while (mag > 0n) {
      bytes.push(Number(mag & 0xffn));
      mag >>= 8n;
    }
    assert(bytes.length <= 32, 'bigint magnitude fits 32 bytes');
    w.buf[w.at] = T_BIGINT;
    w.buf[w.at + 1] = v < 0n ? 1 : 0;
    w.buf[w.at + 2] = bytes.length;
    for (let i = 0; i < bytes.length; i++) w.buf[w.at + 3 + i] = bytes[i] as number;
    w.at += 3 + bytes.length;
  } else if (v instanceof Uint8Array) {
    w.buf[w.at] = T_BINARY;
    w.view.setUint32(w.at + 1, v.byteLength, true);
    w.buf.set(v, w.at + 5);
    w.at += 5 + v.byteLength;
  } else {
    assert(false, `cannot encode a ${typeof v} cell`);
  }
}

export function decodeWriteBatch(bytes: Uint8Array): WriteBatchPayload {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(buf.byteLength >= 12, `write batch payload of ${buf.byteLength} bytes has a 12-byte header`);
  const timestamp = buf.readBigUInt64LE(0);
  const count = buf.readUInt32LE(8);
  let at = 12;
  const ops: LoggedWriteOp[] = new Array<LoggedWriteOp>(count);
  for (let o = 0; o < count; o++) {
    const kind = KINDS[buf[at] as number];
    assert(kind !== undefined, `write op kind code ${buf[at]} at ${at}`);
    const cells = buf.readUInt16LE(at + 1);
    at += 3;
    const row = new Array<Value | undefined>(cells);
    for (let i = 0; i < cells; i++) {
      const tag = buf[at] as number;
      switch (tag) {
        case T_UNDEFINED: row[i] = undefined; at += 1; break;
        case T_NULL: row[i] = null; at += 1; break;
        case T_FALSE: row[i] = false; at += 1; break;
        case T_TRUE: row[i] = true; at += 1; break;
        case T_NUMBER: row[i] = buf.readDoubleLE(at + 1); at += 9; break;
        case T_INT64: row[i] = buf.readBigInt64LE(at + 1); at += 9; break;
        case T_BIGINT: {
          const neg = buf[at + 1] === 1;
          const n = buf[at + 2] as number;
          let mag = 0n;
          for (let k = n - 1; k >= 0; k--) mag = (mag << 8n) | BigInt(buf[at + 3 + k] as number);
          row[i] = neg ? -mag : mag;
          at += 3 + n;
          break;
        }
        case T_STRING: {
          const n = buf.readUInt32LE(at + 1);
          row[i] = buf.toString('utf8', at + 5, at + 5 + n);
          at += 5 + n;
          break;
        }
        case T_BINARY: {
          const n = buf.readUInt32LE(at + 1);
          row[i] = Uint8Array.prototype.slice.call(buf, at + 5, at + 5 + n);
          at += 5 + n;
          break;
        }
        default:
          assert(false, `value tag ${tag} at ${at} in a write batch payload`);
      }
    }
    ops[o] = { kind, row };
  }
  assert(at === buf.byteLength, `write batch payload ends at ${at}, length ${buf.byteLength}`);
  return { timestamp, ops };
}

// --- JSON for values (schemas, catalog, range bounds) ---

export type JsonValue = null | boolean | number | string | { $bigint: string } | { $binary: string } | { $undefined: true } | JsonValue[] | { [k: string]: JsonValue };

/** JSON.stringify replacer keeping bigint and Uint8Array. */
export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

/** JSON.parse reviver undoing jsonReplacer. */
export function jsonReviver(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o['$bigint'] === 'string') return BigInt(o['$bigint']);
    if (keys.length === 1 && typeof o['$binary'] === 'string') return new Uint8Array(Buffer.from(o['$binary'], 'base64'));
  }
  return v;
}

export function encodeSchema(schema: Schema): Uint8Array {
  return Buffer.from(JSON.stringify(schema, jsonReplacer), 'utf8');
}

export function decodeSchema(bytes: Uint8Array): Schema {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), jsonReviver) as Schema;
}

export interface BulkCommitPayload {
  readonly timestamp: HybridTime;
  readonly files: readonly string[];
}

export function encodeBulkCommit(p: BulkCommitPayload): Uint8Array {
  return Buffer.from(JSON.stringify({ timestamp: p.timestamp.toString(), files: p.files }), 'utf8');
}

export function decodeBulkCommit(bytes: Uint8Array): BulkCommitPayload {
  const raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as { timestamp?: unknown; files?: unknown };
  const files = raw.files;
  if (typeof raw.timestamp !== 'string' || !/^\d+$/.test(raw.timestamp) || !Array.isArray(files) || !files.every((f) => typeof f === 'string')) {
    throw corruption('wal', 0, 'bulkCommit payload is not {timestamp: decimal string, files: string[]}');
  }
  return { timestamp: BigInt(raw.timestamp), files: files as string[] };
}
