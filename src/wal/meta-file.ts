import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { corruption } from '../common/errors.js';

/**
 * A small record replaced atomically in place without a rename: two slots, each written in
 * turn with a sequence number and a CRC; the valid slot with the highest sequence wins. One
 * write + one fdatasync per update (a rename would cost a directory fsync as well).
 *
 * | offset          | bytes | field                       |
 * |-----------------|-------|-----------------------------|
 * | slot * 4096     | 4     | JSON length (u32 LE)        |
 * | +4              | 4     | CRC32 of bytes 8..8+len     |
 * | +8              | 8     | sequence (u64 LE)           |
 * | +16             | len   | JSON                        |
 */
export const META_SLOT_BYTES = 4096;
const SLOT_HEADER_BYTES = 16;

export class MetaFile<T> {
  private seq = 0;

  private constructor(
    private readonly path: string,
    private current: T,
  ) {}

  static open<T>(path: string, initial: T): MetaFile<T> {
    const f = new MetaFile<T>(path, initial);
    if (!existsSync(path)) return f;
    const bytes = readFileSync(path);
    let best: { seq: number; value: T } | undefined;
    let sawData = false;
    for (let slot = 0; slot < 2; slot++) {
      const at = slot * META_SLOT_BYTES;
      if (bytes.byteLength < at + SLOT_HEADER_BYTES) continue;
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, SLOT_HEADER_BYTES);
      const len = view.getUint32(0, true);
      if (len === 0) continue;
      sawData = true;
      if (len > META_SLOT_BYTES - SLOT_HEADER_BYTES || bytes.byteLength < at + SLOT_HEADER_BYTES + len) continue;
      const crc = crc32(bytes.subarray(at + 8, at + SLOT_HEADER_BYTES + len));
      if (crc !== view.getUint32(4, true)) continue;
      const seq = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
      const value = JSON.parse(bytes.subarray(at + SLOT_HEADER_BYTES, at + SLOT_HEADER_BYTES + len).toString('utf8')) as T;
      if (best === undefined || seq > best.seq) best = { seq, value };
    }
    if (best === undefined) {
      // One slot may be torn by a crash, never both: the other holds the previous value.
      if (sawData) throw corruption(path, 0, 'no valid slot in meta file');
      return f;
    }
    f.seq = best.seq;
    f.current = best.value;
    return f;
  }

  get value(): T {
    return this.current;
  }

  private encode(value: T): { slot: number; bytes: Buffer } {
    const json = Buffer.from(JSON.stringify(value), 'utf8');
    if (json.byteLength > META_SLOT_BYTES - SLOT_HEADER_BYTES) {
      throw new RangeError(`meta record of ${json.byteLength} bytes exceeds the slot size ${META_SLOT_BYTES - SLOT_HEADER_BYTES}`);
    }
    const seq = this.seq + 1;
    const bytes = Buffer.alloc(SLOT_HEADER_BYTES + json.byteLength);
    json.copy(bytes, SLOT_HEADER_BYTES);
    bytes.writeUInt32LE(seq % 0x1_0000_0000, 8);
    bytes.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 12);
    bytes.writeUInt32LE(json.byteLength, 0);
    bytes.writeUInt32LE(crc32(bytes.subarray(8)), 4);
    return { slot: seq % 2, bytes };
  }

  async write(value: T): Promise<void> {
    const { slot, bytes } = this.encode(value);
    const created = !existsSync(this.path);
    const fh = await open(this.path, created ? 'w+' : 'r+');
    try {
      await fh.write(bytes, 0, bytes.byteLength, slot * META_SLOT_BYTES);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    if (created) syncDir(dirname(this.path));
    this.seq += 1;
    this.current = value;
  }

  writeSync(value: T): void {
    const { slot, bytes } = this.encode(value);
    const created = !existsSync(this.path);
    const fd = openSync(this.path, created ? 'w+' : 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.byteLength, slot * META_SLOT_BYTES);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDir(dirname(this.path));
    this.seq += 1;
    this.current = value;
  }
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
