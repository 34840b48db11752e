import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { assert } from '../common/assert.js';
import { corruption } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import type { Value } from '../common/types.js';

/**
 * Delta records of a DiskRowSet, keyed by row ordinal. REDO records (update, delete) move a
 * row forward from its base data; UNDO records (update, delete, reinsert) move it back.
 * `cells` are (column id, value) pairs: the new values for a REDO update, the old values for
 * an UNDO update, the full row for an UNDO reinsert.
 */
export type DeltaKind = 'update' | 'delete' | 'reinsert';

export interface DeltaRecord {
  readonly ts: HybridTime;
  readonly kind: DeltaKind;
  readonly cells: ReadonlyArray<readonly [number, Value]>;
}

/** In-memory index: ordinal -> records in timestamp order (stable for equal timestamps). */
export class DeltaIndex {
  readonly byOrdinal = new Map<number, DeltaRecord[]>();
  private count = 0;
  private bytes = 0;

  get recordCount(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  add(ordinal: number, rec: DeltaRecord): void {
    let list = this.byOrdinal.get(ordinal);
    if (list === undefined) {
      list = [];
      this.byOrdinal.set(ordinal, list);
    }
    let i = list.length;
    while (i > 0 && (list[i - 1] as DeltaRecord).ts > rec.ts) i--;
    list.splice(i, 0, rec);
    this.count++;
    this.bytes += 48 + rec.cells.length * 24;
  }

  addAll(other: DeltaIndex): void {
    for (const [o, recs] of other.byOrdinal) for (const r of recs) this.add(o, r);
  }

  get(ordinal: number): readonly DeltaRecord[] | undefined {
    return this.byOrdinal.get(ordinal);
  }
}

// --- value <-> JSON (tagged for the types JSON lacks) ---

export type JsonValue = null | boolean | number | string | { b: string } | { x: string } | { f: string };

export function valueToJson(v: Value): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { f: String(v) };
  if (typeof v === 'bigint') return { b: v.toString() };
  return { x: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
}

export function valueFromJson(j: JsonValue): Value {
  if (j === null || typeof j !== 'object') return j;
  if ('b' in j) return BigInt(j.b);
  if ('x' in j) return new Uint8Array(Buffer.from(j.x, 'base64'));
  return Number(j.f);
}

// --- delta file: magic(8) | payloadLength u32 | crc32(payload) u32 | payload (JSON) ---

const MAGIC = Buffer.from('SAIGADLT', 'latin1');
const HEADER_BYTES = 16;

type RecordJson = [number, string, 0 | 1 | 2, Array<[number, JsonValue]>];
const KIND_CODE: Record<DeltaKind, 0 | 1 | 2> = { update: 0, delete: 1, reinsert: 2 };
const KINDS: readonly DeltaKind[] = ['update', 'delete', 'reinsert'];

/** Writes and fsyncs a delta file (the caller fsyncs the directory when it publishes it). */
export function writeDeltaFile(path: string, deltas: DeltaIndex): number {
  const recs: RecordJson[] = [];
  const ords = [...deltas.byOrdinal.keys()].sort((a, b) => a - b);
  for (const o of ords) {
    for (const r of deltas.byOrdinal.get(o) as DeltaRecord[]) {
      recs.push([o, r.ts.toString(), KIND_CODE[r.kind], r.cells.map(([c, v]) => [c, valueToJson(v)])]);
    }
  }
  const payload = Buffer.from(JSON.stringify(recs), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(payload.length, 8);
  header.writeUInt32LE(crc32(payload), 12);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, payload);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return HEADER_BYTES + payload.length;
}

/** Reads a delta file into `into`; throws Corruption naming the file and offset on a bad check. */
export function readDeltaFile(path: string, into: DeltaIndex): number {
  const buf = readFileSync(path);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corruption(path, 0, 'bad delta file magic');
  const len = buf.readUInt32LE(8);
  if (HEADER_BYTES + len !== buf.length) throw corruption(path, 8, `delta payload length ${len} does not match file size ${buf.length}`);
  const payload = buf.subarray(HEADER_BYTES);
  const want = buf.readUInt32LE(12);
  const got = crc32(payload);
  if (want !== got) throw corruption(path, HEADER_BYTES, `delta payload checksum mismatch (expected ${want}, found ${got})`);
  const recs = JSON.parse(payload.toString('utf8')) as RecordJson[];
  for (const [o, ts, k, cells] of recs) {
    const kind = KINDS[k];
    assert(kind !== undefined, `delta kind code ${k}`);
    into.add(o, { ts: BigInt(ts), kind, cells: cells.map(([c, v]) => [c, valueFromJson(v)] as const) });
  }
  return buf.length;
}
