import { assert } from '../common/assert.js';
import { corruption } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import type { WriteOpKind } from '../common/storage-api.js';

/**
 * Payload of a `writeBatch` log entry: one op kind applied to a columnar batch, carried as the
 * Arrow IPC stream bytes of the validated batch (the tablet server builds and reads the IPC;
 * the log treats it as opaque bytes).
 *
 * | bytes | field                                         |
 * |-------|-----------------------------------------------|
 * | 1     | payload version (1)                           |
 * | 1     | op kind code (insert 0 ... delete_ignore 6)   |
 * | 2     | zero                                          |
 * | 8     | hybrid timestamp u64 LE                       |
 * | 4     | row count u32 LE (checked against the batch)  |
 * | n     | Arrow IPC stream: schema + one record batch   |
 */

export const WRITE_BATCH_PAYLOAD_VERSION = 1;
const HEADER_BYTES = 16;
/** Bytes of the payload header before the IPC stream. */
export const WRITE_BATCH_HEADER_BYTES = HEADER_BYTES;
/**
 * Bytes before the IPC stream in a Raft entry's data holding a writeBatch: the entry kind byte
 * (encodeEntryData's [kind][payload]) and the payload header. A write path that builds the IPC
 * stream in place (PreparedBatch.logEntry) reserves this much in front of it.
 */
export const WRITE_BATCH_ENTRY_RESERVE_BYTES = 1 + HEADER_BYTES;
const KINDS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];

export interface WriteBatchArrowPayload {
  readonly timestamp: HybridTime;
  readonly kind: WriteOpKind;
  readonly rowCount: number;
  readonly ipc: Uint8Array;
}

export function encodeWriteBatchArrow(p: WriteBatchArrowPayload): Uint8Array {
  const code = KINDS.indexOf(p.kind);
  assert(code >= 0, () => `op kind ${p.kind} has a code`);
  assert(Number.isInteger(p.rowCount) && p.rowCount >= 0 && p.rowCount <= 0xffffffff, () => `row count ${p.rowCount} fits u32`);
  const out = new Uint8Array(HEADER_BYTES + p.ipc.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, WRITE_BATCH_PAYLOAD_VERSION);
  v.setUint8(1, code);
  v.setBigUint64(4, p.timestamp, true);
  v.setUint32(12, p.rowCount, true);
  out.set(p.ipc, HEADER_BYTES);
  return out;
}

/**
 * The same payload as encodeWriteBatchArrow, built in one allocation from the IPC stream's
 * chunks, after `prefixBytes` bytes left for the caller (e.g. the Raft entry's kind byte):
 * the IPC bytes are copied once, straight into place.
 */
export function encodeWriteBatchArrowChunks(
  p: Omit<WriteBatchArrowPayload, 'ipc'>, ipcChunks: readonly Uint8Array[], ipcBytes: number, prefixBytes = 0,
): Uint8Array {
  const code = KINDS.indexOf(p.kind);
  assert(code >= 0, () => `op kind ${p.kind} has a code`);
  assert(Number.isInteger(p.rowCount) && p.rowCount >= 0 && p.rowCount <= 0xffffffff, () => `row count ${p.rowCount} fits u32`);
  const out = new Uint8Array(prefixBytes + HEADER_BYTES + ipcBytes);
  const v = new DataView(out.buffer, prefixBytes, HEADER_BYTES);
  v.setUint8(0, WRITE_BATCH_PAYLOAD_VERSION);
  v.setUint8(1, code);
  v.setBigUint64(4, p.timestamp, true);
  v.setUint32(12, p.rowCount, true);
  let at = prefixBytes + HEADER_BYTES;
  for (const c of ipcChunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  assert(at === out.byteLength, () => `IPC chunks hold ${at - prefixBytes - HEADER_BYTES} bytes, expected ${ipcBytes}`);
  return out;
}

/**
 * Writes the payload header into `out` at `at`, before an IPC stream already in place at
 * `at + WRITE_BATCH_HEADER_BYTES` (an entry built by the take: PreparedBatch.logEntry). Returns `out`.
 */
export function writeWriteBatchArrowHeader(out: Uint8Array, at: number, p: Omit<WriteBatchArrowPayload, 'ipc'>): Uint8Array {
  const code = KINDS.indexOf(p.kind);
  assert(code >= 0, () => `op kind ${p.kind} has a code`);
  assert(Number.isInteger(p.rowCount) && p.rowCount >= 0 && p.rowCount <= 0xffffffff, () => `row count ${p.rowCount} fits u32`);
  assert(out.byteLength >= at + HEADER_BYTES, () => `writeBatch header at ${at} of a ${out.byteLength}-byte entry`);
  const v = new DataView(out.buffer, out.byteOffset + at, HEADER_BYTES);
  v.setUint8(0, WRITE_BATCH_PAYLOAD_VERSION);
  v.setUint8(1, code);
  v.setUint16(2, 0, true);
  v.setBigUint64(4, p.timestamp, true);
  v.setUint32(12, p.rowCount, true);
  return out;
}

/** Decodes the header; `ipc` is a view on `bytes`. Throws Corruption on a bad header. */
export function decodeWriteBatchArrow(bytes: Uint8Array): WriteBatchArrowPayload {
  if (bytes.byteLength < HEADER_BYTES) throw corruption('wal', 0, `writeBatch payload of ${bytes.byteLength} bytes, expected at least ${HEADER_BYTES}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(0);
  if (version !== WRITE_BATCH_PAYLOAD_VERSION) throw corruption('wal', 0, `writeBatch payload version ${version}, expected ${WRITE_BATCH_PAYLOAD_VERSION}`);
  const kind = KINDS[v.getUint8(1)];
  if (kind === undefined) throw corruption('wal', 1, `writeBatch op kind code ${v.getUint8(1)} is unknown`);
  return { kind, timestamp: v.getBigUint64(4, true), rowCount: v.getUint32(12, true), ipc: bytes.subarray(HEADER_BYTES) };
}
