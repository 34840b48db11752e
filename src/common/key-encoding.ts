import { assert } from './assert.js';
import type { DataType, Schema, Value } from './types.js';

/**
 * Memcomparable primary-key encoding, as in Kudu: comparing two encoded keys byte by byte
 * (compareBytes) gives the order of their key tuples.
 *
 * | type                     | encoding                                                        |
 * |--------------------------|-----------------------------------------------------------------|
 * | bool                     | 1 byte, 0 or 1                                                  |
 * | int8/16/32/64, date, ts  | big-endian two's complement with the sign bit flipped           |
 * | float, double            | IEEE bits big-endian; negative: all bits flipped, else sign bit |
 * | decimal                  | 128-bit two's complement big-endian, sign bit flipped           |
 * | string, binary (last)    | the raw bytes (UTF-8 for strings)                               |
 * | string, binary (not last)| 0x00 escaped as 0x00 0x01, then terminated by 0x00 0x00         |
 *
 * String order is UTF-8 byte order (= code point order), as in Kudu.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function startsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  if (a.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

class ByteWriter {
  buf = new Uint8Array(32);
  len = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }
  float32(v: number): void {
    this.scratch.setFloat32(0, v);
    let bits = this.scratch.getUint32(0);
    bits = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    this.u32(bits);
  }
  float64(v: number): void {
    this.scratch.setFloat64(0, v);
    let hi = this.scratch.getUint32(0);
    let lo = this.scratch.getUint32(4);
    if (hi & 0x80000000) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    this.u32(hi);
    this.u32(lo);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
  reset(): ByteWriter {
    this.len = 0;
    return this;
  }
}

/** One writer reused by every encode call (encoding is synchronous and never re-entered). */
const sharedWriter = new ByteWriter();

const TWO32 = 4294967296;

function int64Parts(v: number | bigint): [number, number] {
  if (typeof v === 'bigint') {
    if (v < -9007199254740991n || v > 9007199254740991n) return [Number(BigInt.asIntN(32, v >> 32n)), Number(v & 0xffffffffn)];
    v = Number(v);
  }
  const hi = Math.floor(v / TWO32);
  return [hi | 0, v - hi * TWO32];
}

function encodeColumn(w: ByteWriter, type: DataType, v: Value, last: boolean): void {
  assert(v !== null && v !== undefined, 'key columns are never null');
  switch (type) {
    case 'bool':
      w.byte(v ? 1 : 0);
      return;
    case 'int8':
      w.byte(((v as number) & 0xff) ^ 0x80);
      return;
    case 'int16': {
      const x = (v as number) & 0xffff;
      w.byte((x >>> 8) ^ 0x80);
      w.byte(x & 0xff);
      return;
    }
    case 'int32':
    case 'date':
      w.u32(((v as number) ^ 0x80000000) >>> 0);
      return;
    case 'int64':
    case 'timestamp': {
      let x = v as number | bigint;
      if (typeof x === 'bigint' && x >= -9007199254740991n && x <= 9007199254740991n) x = Number(x);
      if (typeof x === 'number') {
        const hi = Math.floor(x / TWO32);
        w.u32(((hi | 0) ^ 0x80000000) >>> 0);
        w.u32((x - hi * TWO32) >>> 0);
        return;
      }
      const [hi, lo] = int64Parts(x);
      w.u32((hi ^ 0x80000000) >>> 0);
      w.u32(lo >>> 0);
      return;
    }
    case 'float':
      w.float32(v as number);
      return;
    case 'double':
      w.float64(v as number);
      return;
    case 'decimal': {
      let u = BigInt.asUintN(128, BigInt(v as bigint)) ^ (1n << 127n);
      const out = new Uint8Array(16);
      for (let i = 15; i >= 0; i--) {
        out[i] = Number(u & 0xffn);
        u >>= 8n;
      }
      w.bytes(out);
      return;
    }
    case 'string':
    case 'binary': {
      if (last && typeof v === 'string') {
        // UTF-8 needs at most 3 bytes per UTF-16 unit: encode straight into the writer.
        w.ensure(v.length * 3);
        w.len += textEncoder.encodeInto(v, w.buf.subarray(w.len)).written;
        return;
      }
      const b = typeof v === 'string' ? textEncoder.encode(v) : (v as Uint8Array);
      if (last) {
        w.bytes(b);
        return;
      }
      for (let i = 0; i < b.length; i++) {
        const c = b[i] as number;
        w.byte(c);
        if (c === 0) w.byte(1);
      }
      w.byte(0);
      w.byte(0);
      return;
    }
  }
}

/** Encodes the key tuple `key` (one value per key column, in order). */
export function encodeKey(schema: Schema, key: ReadonlyArray<Value | undefined>): Uint8Array {
  const n = schema.keyColumnCount;
  assert(key.length >= n, () => `expected ${n} key values, got ${key.length}`);
  const w = sharedWriter.reset();
  for (let i = 0; i < n; i++) {
    const col = schema.columns[i];
    assert(col !== undefined, 'key column in schema');
    encodeColumn(w, col.type, key[i] as Value, i === n - 1);
  }
  return w.result();
}

/**
 * encodeKey without the copy: the result is a view of a buffer that the next encode call
 * overwrites, for callers that compare it or copy it right away (the write path).
 */
export function encodeKeyView(schema: Schema, key: ReadonlyArray<Value | undefined>): Uint8Array {
  const n = schema.keyColumnCount;
  assert(key.length >= n, () => `expected ${n} key values, got ${key.length}`);
  const w = sharedWriter.reset();
  for (let i = 0; i < n; i++) {
    const col = schema.columns[i];
    assert(col !== undefined, 'key column in schema');
    encodeColumn(w, col.type, key[i] as Value, i === n - 1);
  }
  return w.buf.subarray(0, w.len);
}

/**
 * Encodes the first key column alone, as it appears at the start of every full key: all keys
 * whose first column equals `v` start with these bytes (used to narrow range scans).
 */
export function encodeFirstKeyColumn(schema: Schema, v: Value): Uint8Array {
  const col = schema.columns[0];
  assert(col !== undefined && schema.keyColumnCount > 0, 'schema has a key');
  const w = sharedWriter.reset();
  encodeColumn(w, col.type, v, schema.keyColumnCount === 1);
  return w.result();
}

function readU32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
}

/** Inverse of encodeKey. */
export function decodeKey(schema: Schema, bytes: Uint8Array): Value[] {
  const out: Value[] = [];
  const n = schema.keyColumnCount;
  const dv = new DataView(new ArrayBuffer(8));
  let p = 0;
  for (let i = 0; i < n; i++) {
    const col = schema.columns[i];
    assert(col !== undefined, 'key column in schema');
    const last = i === n - 1;
    switch (col.type) {
      case 'bool':
        out.push(bytes[p++] === 1);
        break;
      case 'int8':
        out.push((((bytes[p++] as number) ^ 0x80) << 24) >> 24);
        break;
      case 'int16':
        out.push((((((bytes[p] as number) ^ 0x80) << 8) | (bytes[p + 1] as number)) << 16) >> 16);
        p += 2;
        break;
      case 'int32':
      case 'date':
        out.push((readU32(bytes, p) ^ 0x80000000) | 0);
        p += 4;
        break;
      case 'int64':
      case 'timestamp': {
        const hi = (readU32(bytes, p) ^ 0x80000000) | 0;
        const lo = readU32(bytes, p + 4);
        p += 8;
        if (col.type === 'int64') out.push((BigInt(hi) << 32n) | BigInt(lo));
        else out.push(hi * TWO32 + lo);
        break;
      }
      case 'float': {
        let bits = readU32(bytes, p);
        p += 4;
        bits = bits & 0x80000000 ? (bits & 0x7fffffff) >>> 0 : ~bits >>> 0;
        dv.setUint32(0, bits);
        out.push(dv.getFloat32(0));
        break;
      }
      case 'double': {
        let hi = readU32(bytes, p);
        let lo = readU32(bytes, p + 4);
        p += 8;
        if (hi & 0x80000000) hi = (hi & 0x7fffffff) >>> 0;
        else {
          hi = ~hi >>> 0;
          lo = ~lo >>> 0;
        }
        dv.setUint32(0, hi);
        dv.setUint32(4, lo);
        out.push(dv.getFloat64(0));
        break;
      }
      case 'decimal': {
        let u = 0n;
        for (let k = 0; k < 16; k++) u = (u << 8n) | BigInt(bytes[p + k] as number);
        p += 16;
        out.push(BigInt.asIntN(128, u ^ (1n << 127n)));
        break;
      }
      case 'string':
      case 'binary': {
        let raw: Uint8Array;
        if (last) {
          raw = bytes.slice(p);
          p = bytes.length;
        } else {
          const acc: number[] = [];
          for (;;) {
            assert(p < bytes.length, 'unterminated string in encoded key');
            const c = bytes[p++] as number;
            if (c === 0) {
              const nx = bytes[p++];
              if (nx === 0) break;
              assert(nx === 1, () => `bad escape 0x00 0x${String(nx)} in encoded key`);
              acc.push(0);
            } else acc.push(c);
          }
          raw = Uint8Array.from(acc);
        }
        out.push(col.type === 'string' ? textDecoder.decode(raw) : raw);
        break;
      }
    }
  }
  assert(p === bytes.length, () => `encoded key has ${bytes.length - p} trailing bytes`);
  return out;
}
