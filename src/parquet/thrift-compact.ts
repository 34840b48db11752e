import { SaigaError } from '../common/errors.js';

/**
 * A small reader and writer for the Thrift compact protocol, enough to rewrite a Parquet footer
 * (FileMetaData) and its page-index structures. Values decode into a generic tree that keeps every
 * field, known or not, so a struct re-encodes with the fields this code never names intact.
 * Integers of type i64 decode to bigint (exact); i8/i16/i32 to number; doubles to number.
 *
 * | type code | name | value in the tree |
 * |---|---|---|
 * | 1 / 2 | bool true / false | boolean (in a field header; one byte 1 / 2 in a list) |
 * | 3, 4, 5 | i8, i16, i32 | number |
 * | 6 | i64 | bigint |
 * | 7 | double | number |
 * | 8 | binary (and string) | Uint8Array |
 * | 9, 10 | list, set | ThriftList |
 * | 11 | map | ThriftMap |
 * | 12 | struct | ThriftStruct |
 */

export const T_BOOL_TRUE = 1;
export const T_BOOL_FALSE = 2;
export const T_I8 = 3;
export const T_I16 = 4;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_DOUBLE = 7;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_SET = 10;
export const T_MAP = 11;
export const T_STRUCT = 12;

export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftList | ThriftMap | ThriftStruct;

export interface ThriftField {
  readonly id: number;
  /** The compact type code (bool fields keep 1 or 2 as read; the writer derives it from the value). */
  type: number;
  value: ThriftValue;
}

export interface ThriftStruct {
  readonly kind: 'struct';
  fields: ThriftField[];
}

export interface ThriftList {
  readonly kind: 'list';
  /** T_LIST or T_SET. */
  readonly collection: number;
  readonly elemType: number;
  items: ThriftValue[];
}

export interface ThriftMap {
  readonly kind: 'map';
  readonly keyType: number;
  readonly valueType: number;
  entries: [ThriftValue, ThriftValue][];
}

/** Nesting deeper than this is not a Parquet footer: refuse instead of overflowing the stack. */
const THRIFT_DEPTH_MAX = 64;

function corrupt(what: string, at: number): never {
  throw new SaigaError('Corruption', `Thrift compact: ${what} at byte ${at}`);
}

class Reader {
  pos: number;
  constructor(private readonly buf: Uint8Array, start: number, private readonly end: number) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) corrupt('expected a byte, found the end of the buffer', this.pos);
    return this.buf[this.pos++]!;
  }

  /** Unsigned varint as bigint (up to 64 bits). */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    return corrupt('varint longer than 10 bytes', this.pos);
  }

  /** Unsigned varint up to 32 bits as a number. */
  varint32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    return corrupt('32-bit varint longer than 5 bytes', this.pos);
  }

  zigzag32(): number {
    const n = this.varint32();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  zigzag64(): bigint {
    const n = this.varintBig();
    return (n >> 1n) ^ -(n & 1n);
  }

  value(type: number, depth: number): ThriftValue {
    switch (type) {
      case T_BOOL_TRUE: return true;
      case T_BOOL_FALSE: return false;
      case T_I8: { const b = this.byte(); return b >= 128 ? b - 256 : b; }
      case T_I16:
      case T_I32: return this.zigzag32();
      case T_I64: return this.zigzag64();
      case T_DOUBLE: {
        if (this.pos + 8 > this.end) corrupt('expected 8 bytes of a double', this.pos);
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case T_BINARY: {
        const n = this.varint32();
        if (this.pos + n > this.end) corrupt(`binary of ${n} bytes runs past the end`, this.pos);
        const v = this.buf.slice(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T_LIST:
      case T_SET: return this.list(type, depth + 1);
      case T_MAP: return this.map(depth + 1);
      case T_STRUCT: return this.struct(depth + 1);
      default: return corrupt(`unknown type code ${type}`, this.pos);
    }
  }

  list(collection: number, depth: number): ThriftList {
    if (depth > THRIFT_DEPTH_MAX) corrupt(`nesting deeper than ${THRIFT_DEPTH_MAX}`, this.pos);
    const header = this.byte();
    let size = header >> 4;
    const elemType = header & 0x0f;
    if (size === 15) size = this.varint32();
    if (size > this.end - this.pos) corrupt(`list of ${size} elements in ${this.end - this.pos} bytes`, this.pos);
    const items: ThriftValue[] = [];
    for (let i = 0; i < size; i++) {
      // Booleans inside a collection are one byte each: 1 true, 2 (or 0) false.
      items.push(elemType === T_BOOL_TRUE || elemType === T_BOOL_FALSE ? this.byte() === 1 : this.value(elemType, depth));
    }
    return { kind: 'list', collection, elemType, items };
  }

  map(depth: number): ThriftMap {
    if (depth > THRIFT_DEPTH_MAX) corrupt(`nesting deeper than ${THRIFT_DEPTH_MAX}`, this.pos);
    const size = this.varint32();
    if (size === 0) return { kind: 'map', keyType: 0, valueType: 0, entries: [] };
    if (size > this.end - this.pos) corrupt(`map of ${size} entries in ${this.end - this.pos} bytes`, this.pos);
    const types = this.byte();
    const keyType = types >> 4;
    const valueType = types & 0x0f;
    const entries: [ThriftValue, ThriftValue][] = [];
    const one = (t: number): ThriftValue => (t === T_BOOL_TRUE || t === T_BOOL_FALSE ? this.byte() === 1 : this.value(t, depth));
    for (let i = 0; i < size; i++) entries.push([one(keyType), one(valueType)]);
    return { kind: 'map', keyType, valueType, entries };
  }

  struct(depth: number): ThriftStruct {
    if (depth > THRIFT_DEPTH_MAX) corrupt(`nesting deeper than ${THRIFT_DEPTH_MAX}`, this.pos);
    const fields: ThriftField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return { kind: 'struct', fields };
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag32() : lastId + delta;
      lastId = id;
      fields.push({ id, type, value: this.value(type, depth) });
    }
  }
}

/** Decodes one struct starting at `start`; returns it and the offset just past it. */
export function readThriftStruct(buf: Uint8Array, start = 0, end = buf.length): { struct: ThriftStruct; end: number } {
  const r = new Reader(buf, start, end);
  const struct = r.struct(0);
  return { struct, end: r.pos };
}

class Writer {
  private buf = new Uint8Array(1024);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b & 0xff;
  }

  varint32(n: number): void {
    if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff)) corrupt(`cannot encode ${n} as an unsigned 32-bit varint`, this.len);
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }

  varintBig(n: bigint): void {
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  zigzag32(n: number): void {
    this.varint32(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  zigzag64(n: bigint): void {
    this.varintBig(n >= 0n ? n << 1n : (-n << 1n) - 1n);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  value(type: number, v: ThriftValue): void {
    switch (type) {
      case T_BOOL_TRUE:
      case T_BOOL_FALSE: return; // carried in the field header
      case T_I8: this.byte(num(v)); return;
      case T_I16:
      case T_I32: this.zigzag32(num(v)); return;
      case T_I64: this.zigzag64(typeof v === 'bigint' ? v : BigInt(num(v))); return;
      case T_DOUBLE: {
        const d = new Uint8Array(8);
        new DataView(d.buffer).setFloat64(0, num(v), true);
        this.bytes(d);
        return;
      }
      case T_BINARY: {
        if (!(v instanceof Uint8Array)) corrupt('expected bytes for a binary value', this.len);
        this.varint32(v.length);
        this.bytes(v);
        return;
      }
      case T_LIST:
      case T_SET: this.list(asKind(v, 'list')); return;
      case T_MAP: this.map(asKind(v, 'map')); return;
      case T_STRUCT: this.struct(asKind(v, 'struct')); return;
      default: corrupt(`unknown type code ${type}`, this.len);
    }
  }

  private element(type: number, v: ThriftValue): void {
    if (type === T_BOOL_TRUE || type === T_BOOL_FALSE) this.byte(v === true ? 1 : 2);
    else this.value(type, v);
  }

  list(l: ThriftList): void {
    const n = l.items.length;
    if (n < 15) this.byte((n << 4) | l.elemType);
    else {
      this.byte(0xf0 | l.elemType);
      this.varint32(n);
    }
    for (const item of l.items) this.element(l.elemType, item);
  }

  map(m: ThriftMap): void {
    this.varint32(m.entries.length);
    if (m.entries.length === 0) return;
    this.byte((m.keyType << 4) | m.valueType);
    for (const [k, v] of m.entries) {
      this.element(m.keyType, k);
      this.element(m.valueType, v);
    }
  }

  struct(s: ThriftStruct): void {
    let lastId = 0;
    for (const f of s.fields) {
      const type = f.type === T_BOOL_TRUE || f.type === T_BOOL_FALSE ? (f.value === true ? T_BOOL_TRUE : T_BOOL_FALSE) : f.type;
      const delta = f.id - lastId;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag32(f.id);
      }
      lastId = f.id;
      this.value(type, f.value);
    }
    this.byte(0);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function num(v: ThriftValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return corrupt(`expected a number, found ${typeof v}`, 0);
}

function asKind<K extends 'list' | 'map' | 'struct'>(v: ThriftValue, kind: K): Extract<ThriftValue, { kind: K }> {
  if (typeof v !== 'object' || v instanceof Uint8Array || v.kind !== kind) corrupt(`expected a ${kind}`, 0);
  return v as Extract<ThriftValue, { kind: K }>;
}

/** Encodes one struct. */
export function writeThriftStruct(s: ThriftStruct): Uint8Array {
  const w = new Writer();
  w.struct(s);
  return w.result();
}

/** The field with this id, or undefined. */
export function thriftField(s: ThriftStruct, id: number): ThriftField | undefined {
  return s.fields.find((f) => f.id === id);
}

/** Sets (or adds, keeping ids ascending) a field. */
export function setThriftField(s: ThriftStruct, id: number, type: number, value: ThriftValue): void {
  const f = s.fields.find((x) => x.id === id);
  if (f !== undefined) {
    f.type = type;
    f.value = value;
    return;
  }
  const at = s.fields.findIndex((x) => x.id > id);
  const field: ThriftField = { id, type, value };
  if (at < 0) s.fields.push(field);
  else s.fields.splice(at, 0, field);
}

export function removeThriftField(s: ThriftStruct, id: number): void {
  s.fields = s.fields.filter((f) => f.id !== id);
}

/** A struct-valued field, or undefined. */
export function structField(s: ThriftStruct, id: number): ThriftStruct | undefined {
  const f = thriftField(s, id);
  if (f === undefined) return undefined;
  return asKind(f.value, 'struct');
}

/** A list-valued field, or undefined. */
export function listField(s: ThriftStruct, id: number): ThriftList | undefined {
  const f = thriftField(s, id);
  if (f === undefined) return undefined;
  return asKind(f.value, 'list');
}

/** An integer field as a number (i64 must fit in 2^53), or undefined. */
export function intField(s: ThriftStruct, id: number): number | undefined {
  const f = thriftField(s, id);
  if (f === undefined) return undefined;
  if (typeof f.value === 'bigint') {
    if (f.value > BigInt(Number.MAX_SAFE_INTEGER) || f.value < BigInt(Number.MIN_SAFE_INTEGER)) corrupt(`field ${id} = ${f.value} exceeds 2^53`, 0);
    return Number(f.value);
  }
  if (typeof f.value !== 'number') corrupt(`field ${id} is not an integer`, 0);
  return f.value;
}
