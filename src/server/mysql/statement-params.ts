import type { Value } from '../../common/types.js';
import { MYSQL_TYPE } from './constants.js';
import { MalformedPacketError, PayloadReader } from './wire-buffer.js';

/**
 * COM_STMT_EXECUTE decoding: statement id, flags, NULL bitmap, parameter types (when the
 * client re-binds them) and values in the binary protocol, converted to Saiga Values.
 *
 * Coercion (the engine then coerces to the column or operand type it expects):
 * | MySQL parameter type            | Value                                                      |
 * |---------------------------------|------------------------------------------------------------|
 * | TINY/SHORT/LONG/INT24/YEAR      | number (unsigned flag honoured)                            |
 * | LONGLONG                        | number when within ±2^53, else bigint                      |
 * | FLOAT/DOUBLE                    | number (mysql2 sends every JS number as DOUBLE: 42 -> 42)  |
 * | DECIMAL/NEWDECIMAL              | number when it has at most 15 significant digits, else string |
 * | VARCHAR/VAR_STRING/STRING/ENUM/SET/JSON | string (bytes that are not UTF-8 stay Uint8Array)  |
 * | BLOB types/BIT/GEOMETRY         | Uint8Array                                                 |
 * | DATE                            | string 'YYYY-MM-DD'                                        |
 * | DATETIME/TIMESTAMP              | string 'YYYY-MM-DD HH:MM:SS[.ffffff]'                      |
 * | TIME                            | string '[-]HH:MM:SS[.ffffff]'                              |
 * | NULL (or bit set in the bitmap) | null                                                       |
 */

export interface StmtExecuteRequest {
  readonly statementId: number;
  readonly flags: number;
  readonly values: Value[];
  /** Types used (2 bytes each: type, 0x80 when unsigned); kept for executions that do not re-bind. */
  readonly types: readonly number[];
}

/** COM_STMT_EXECUTE / SEND_LONG_DATA / CLOSE / RESET: statement id after the command byte. */
export function peekStatementId(payload: Uint8Array): number {
  const r = new PayloadReader(payload, 'statement command');
  r.u8();
  return r.u32();
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function textOrBytes(b: Uint8Array): Value {
  try {
    return fatalUtf8.decode(b);
  } catch {
    return Uint8Array.from(b);
  }
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function decodeDecimalText(s: string): Value {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) throw new MalformedPacketError(`expected a decimal parameter, found "${s}"`);
  const significant = s.replace(/^[+-]/, '').replace('.', '').replace(/^0+/, '');
  return significant.length <= 15 ? Number(s) : s;
}

function readDateTime(r: PayloadReader, withTime: boolean): string {
  const len = r.u8();
  if (len === 0) return withTime ? '0000-00-00 00:00:00' : '0000-00-00';
  if (len !== 4 && len !== 7 && len !== 11) throw new MalformedPacketError(`expected a date/datetime of 0, 4, 7 or 11 bytes, found ${len}`);
  const y = r.u16();
  const m = r.u8();
  const d = r.u8();
  let h = 0;
  let mi = 0;
  let s = 0;
  let us = 0;
  if (len >= 7) {
    h = r.u8();
    mi = r.u8();
    s = r.u8();
  }
  if (len === 11) us = r.u32();
  const date = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
  if (!withTime && len === 4) return date;
  const time = `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return us === 0 ? `${date} ${time}` : `${date} ${time}.${pad(us, 6)}`;
}

function readTime(r: PayloadReader): string {
  const len = r.u8();
  if (len === 0) return '00:00:00';
  if (len !== 8 && len !== 12) throw new MalformedPacketError(`expected a time of 0, 8 or 12 bytes, found ${len}`);
  const neg = r.u8() === 1;
  const days = r.u32();
  const h = r.u8() + days * 24;
  const mi = r.u8();
  const s = r.u8();
  const us = len === 12 ? r.u32() : 0;
  const base = `${neg ? '-' : ''}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return us === 0 ? base : `${base}.${pad(us, 6)}`;
}

function readValue(r: PayloadReader, typeAndFlag: number): Value {
  const type = typeAndFlag & 0xff;
  const unsigned = (typeAndFlag & 0x8000) !== 0;
  switch (type) {
    case MYSQL_TYPE.NULL: return null;
    case MYSQL_TYPE.TINY: return unsigned ? r.u8() : r.i8();
    case MYSQL_TYPE.SHORT: case MYSQL_TYPE.YEAR: return unsigned ? r.u16() : r.i16();
    case MYSQL_TYPE.LONG: case MYSQL_TYPE.INT24: return unsigned ? r.u32() : r.i32();
    case MYSQL_TYPE.LONGLONG: {
      const v = r.u64Big(!unsigned);
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    }
    case MYSQL_TYPE.FLOAT: return r.f32();
    case MYSQL_TYPE.DOUBLE: return r.f64();
    case MYSQL_TYPE.DECIMAL: case MYSQL_TYPE.NEWDECIMAL: return decodeDecimalText(r.lenencString() ?? '');
    case MYSQL_TYPE.VARCHAR: case MYSQL_TYPE.VAR_STRING: case MYSQL_TYPE.STRING:
    case MYSQL_TYPE.ENUM: case MYSQL_TYPE.SET: case MYSQL_TYPE.JSON:
      return textOrBytes(r.lenencBytes() ?? new Uint8Array(0));
    case MYSQL_TYPE.TINY_BLOB: case MYSQL_TYPE.MEDIUM_BLOB: case MYSQL_TYPE.LONG_BLOB:
    case MYSQL_TYPE.BLOB: case MYSQL_TYPE.BIT: case MYSQL_TYPE.GEOMETRY:
      return Uint8Array.from(r.lenencBytes() ?? new Uint8Array(0));
    case MYSQL_TYPE.DATE: case MYSQL_TYPE.NEWDATE: return readDateTime(r, false);
    case MYSQL_TYPE.DATETIME: case MYSQL_TYPE.TIMESTAMP: return readDateTime(r, true);
    case MYSQL_TYPE.TIME: return readTime(r);
    default:
      throw new MalformedPacketError(`unsupported parameter type 0x${type.toString(16)}`);
  }
}

/**
 * Decodes a COM_STMT_EXECUTE payload (command byte included) for a statement with paramCount
 * parameters. previousTypes: the types of the last execution (used when the client does not
 * re-bind). longData: bytes sent with COM_STMT_SEND_LONG_DATA per parameter index; those
 * parameters are not in the packet.
 */
export function decodeStmtExecute(
  payload: Uint8Array,
  paramCount: number,
  previousTypes: readonly number[] | null,
  longData: ReadonlyMap<number, Uint8Array>,
): StmtExecuteRequest {
  const r = new PayloadReader(payload, 'COM_STMT_EXECUTE');
  r.u8();
  const statementId = r.u32();
  const flags = r.u8();
  r.u32(); // iteration count, always 1
  const values: Value[] = [];
  if (paramCount === 0) return { statementId, flags, values, types: [] };
  const bitmap = r.bytes((paramCount + 7) >> 3);
  const newBound = r.u8();
  let types: number[];
  if (newBound === 1) {
    types = [];
    for (let i = 0; i < paramCount; i++) {
      const t = r.u8();
      const f = r.u8();
      types.push(t | (f << 8));
    }
  } else if (previousTypes !== null && previousTypes.length === paramCount) {
    types = [...previousTypes];
  } else {
    throw new MalformedPacketError('COM_STMT_EXECUTE without parameter types, and none were bound before');
  }
  for (let i = 0; i < paramCount; i++) {
    const isNull = (((bitmap[i >> 3] as number) >> (i & 7)) & 1) === 1;
    const long = longData.get(i);
    if (long !== undefined) {
      const t = (types[i] as number) & 0xff;
      const blob = t === MYSQL_TYPE.BLOB || t === MYSQL_TYPE.TINY_BLOB || t === MYSQL_TYPE.MEDIUM_BLOB || t === MYSQL_TYPE.LONG_BLOB;
      values.push(blob ? Uint8Array.from(long) : textOrBytes(long));
    } else if (isNull) {
      values.push(null);
    } else {
      values.push(readValue(r, types[i] as number));
    }
  }
  return { statementId, flags, values, types };
}

/** COM_STMT_SEND_LONG_DATA: statement id, parameter index, bytes. */
export function decodeSendLongData(payload: Uint8Array): { statementId: number; paramIndex: number; data: Uint8Array } {
  const r = new PayloadReader(payload, 'COM_STMT_SEND_LONG_DATA');
  r.u8();
  const statementId = r.u32();
  const paramIndex = r.u16();
  return { statementId, paramIndex, data: r.rest() };
}
