import { DataType as ArrowType, makeVector, type Data, type RecordBatch, type Schema as ArrowSchema } from 'apache-arrow';
import { assert } from '../../common/assert.js';
import type { ResultColumn } from '../../query/api.js';
import type { Value } from '../../common/types.js';
import { CHARSET, COLUMN_FLAG, MYSQL_TYPE } from './constants.js';
import type { ColumnDefinition } from './packets.js';
import type { PacketWriter } from './wire-buffer.js';

/**
 * Arrow record batches -> MySQL result rows, in the text protocol (COM_QUERY) and the binary
 * protocol (COM_STMT_EXECUTE). The MySQL column type follows the Arrow type of the result
 * schema, so the bytes written always match the column definitions sent before them:
 *
 * | Arrow type              | MySQL type         | binary value                    | text value                  |
 * |-------------------------|--------------------|---------------------------------|-----------------------------|
 * | Bool                    | TINY (length 1)    | 1 byte                          | 0 / 1                       |
 * | Int8 / Int16 / Int32    | TINY / SHORT / LONG| 1 / 2 / 4 bytes LE              | decimal digits              |
 * | Uint8 / Uint16 / Uint32 | SHORT / LONG / LONGLONG | widened, signed            | decimal digits              |
 * | Int64 / Uint64          | LONGLONG (UNSIGNED)| 8 bytes LE                      | decimal digits              |
 * | Float32 / Float64       | FLOAT / DOUBLE     | 4 / 8 bytes IEEE LE             | shortest round-trip digits  |
 * | Decimal128(p, s)        | NEWDECIMAL         | lenenc string                   | -123.45                     |
 * | Utf8 / LargeUtf8        | VAR_STRING utf8mb4 | lenenc bytes                    | the bytes                   |
 * | Binary / FixedSizeBinary| BLOB binary        | lenenc bytes                    | the bytes                   |
 * | DateDay / DateMillisecond | DATE             | 4, y16 m8 d8                    | YYYY-MM-DD                  |
 * | Timestamp (any unit)    | DATETIME(6)        | 0/4/7/11 bytes                  | YYYY-MM-DD HH:MM:SS[.ffffff]|
 * | Null                    | NULL               | (null bitmap only)              | NULL                        |
 * | anything else           | VAR_STRING         | String(value) (slow path)       | String(value)               |
 */

type Kind =
  | 'bool' | 'i8' | 'i16' | 'i32' | 'u8' | 'u16' | 'u32' | 'i64' | 'u64'
  | 'f32' | 'f64' | 'decimal' | 'utf8' | 'largeUtf8' | 'binary' | 'largeBinary' | 'fixedBinary'
  | 'dateDay' | 'dateMs' | 'timestamp' | 'null' | 'generic';

export interface ColumnPlan {
  readonly kind: Kind;
  readonly definition: ColumnDefinition;
  /** Decimal scale. */
  readonly scale: number;
  /** Timestamp: multiplier to µs as numerator/denominator. */
  readonly toMicrosMul: number;
  readonly toMicrosDiv: number;
  readonly fixedWidth: number;
}

const STRING_COLUMN_LENGTH = 65535 * 4;

function kindOf(t: ArrowType): { kind: Kind; scale: number; precision: number; mul: number; div: number; width: number } {
  const base = { scale: 0, precision: 0, mul: 1, div: 1, width: 0 };
  if (ArrowType.isBool(t)) return { ...base, kind: 'bool' };
  if (ArrowType.isInt(t)) {
    const k: Record<number, [Kind, Kind]> = { 8: ['i8', 'u8'], 16: ['i16', 'u16'], 32: ['i32', 'u32'], 64: ['i64', 'u64'] };
    const pair = k[t.bitWidth];
    assert(pair !== undefined, `unexpected Arrow int width ${t.bitWidth}`);
    return { ...base, kind: t.isSigned ? pair[0] : pair[1] };
  }
  if (ArrowType.isFloat(t)) return { ...base, kind: t.precision === 1 ? 'f32' : t.precision === 2 ? 'f64' : 'generic' };
  if (ArrowType.isDecimal(t)) {
    return t.bitWidth === 128 ? { ...base, kind: 'decimal', scale: t.scale, precision: t.precision } : { ...base, kind: 'generic' };
  }
  if (ArrowType.isUtf8(t)) return { ...base, kind: 'utf8' };
  if (ArrowType.isLargeUtf8(t)) return { ...base, kind: 'largeUtf8' };
  if (ArrowType.isBinary(t)) return { ...base, kind: 'binary' };
  if (ArrowType.isLargeBinary(t)) return { ...base, kind: 'largeBinary' };
  if (ArrowType.isFixedSizeBinary(t)) return { ...base, kind: 'fixedBinary', width: t.byteWidth };
  if (ArrowType.isDate(t)) return { ...base, kind: t.unit === 0 ? 'dateDay' : 'dateMs' };
  if (ArrowType.isTimestamp(t)) {
    // TimeUnit: SECOND=0, MILLISECOND=1, MICROSECOND=2, NANOSECOND=3
    const conv: Record<number, [number, number]> = { 0: [1e6, 1], 1: [1e3, 1], 2: [1, 1], 3: [1, 1e3] };
    const c = conv[t.unit] ?? [1, 1];
    return { ...base, kind: 'timestamp', mul: c[0], div: c[1] };
  }
  if (ArrowType.isNull(t)) return { ...base, kind: 'null' };
  return { ...base, kind: 'generic' };
}

function mysqlShape(kind: Kind, precision: number, scale: number): { type: number; length: number; flags: number; decimals: number; text: boolean } {
  const B = COLUMN_FLAG.BINARY;
  const N = COLUMN_FLAG.NUM;
  switch (kind) {
    case 'bool': return { type: MYSQL_TYPE.TINY, length: 1, flags: N, decimals: 0, text: false };
    case 'i8': return { type: MYSQL_TYPE.TINY, length: 4, flags: N, decimals: 0, text: false };
    case 'u8': case 'i16': return { type: MYSQL_TYPE.SHORT, length: 6, flags: N, decimals: 0, text: false };
    case 'u16': case 'i32': return { type: MYSQL_TYPE.LONG, length: 11, flags: N, decimals: 0, text: false };
    case 'u32': case 'i64': return { type: MYSQL_TYPE.LONGLONG, length: 20, flags: N, decimals: 0, text: false };
    case 'u64': return { type: MYSQL_TYPE.LONGLONG, length: 20, flags: N | COLUMN_FLAG.UNSIGNED, decimals: 0, text: false };
    case 'f32': return { type: MYSQL_TYPE.FLOAT, length: 12, flags: N, decimals: 31, text: false };
    case 'f64': return { type: MYSQL_TYPE.DOUBLE, length: 22, flags: N, decimals: 31, text: false };
    case 'decimal': return { type: MYSQL_TYPE.NEWDECIMAL, length: precision + 2, flags: N, decimals: scale, text: false };
    case 'utf8': case 'largeUtf8': case 'generic':
      return { type: MYSQL_TYPE.VAR_STRING, length: STRING_COLUMN_LENGTH, flags: 0, decimals: 0, text: true };
    case 'binary': case 'largeBinary': case 'fixedBinary':
      return { type: MYSQL_TYPE.BLOB, length: 65535, flags: B | COLUMN_FLAG.BLOB, decimals: 0, text: false };
    case 'dateDay': case 'dateMs': return { type: MYSQL_TYPE.DATE, length: 10, flags: B, decimals: 0, text: false };
    case 'timestamp': return { type: MYSQL_TYPE.DATETIME, length: 26, flags: B, decimals: 6, text: false };
    case 'null': return { type: MYSQL_TYPE.NULL, length: 0, flags: B, decimals: 0, text: false };
  }
}

/** Plans the columns of a result: one MySQL column definition per Arrow field. */
export function planColumns(columns: readonly ResultColumn[], schema: ArrowSchema, defaultDatabase = ''): ColumnPlan[] {
  assert(
    columns.length === schema.fields.length,
    `result has ${columns.length} column(s) but its Arrow schema has ${schema.fields.length} field(s)`,
  );
  return schema.fields.map((f, i) => {
    const c = columns[i] as ResultColumn;
    const k = kindOf(f.type);
    const definition = columnDefinition(c, k.kind, k.precision, k.scale, defaultDatabase);
    return { kind: k.kind, definition, scale: k.scale, toMicrosMul: k.mul, toMicrosDiv: k.div, fixedWidth: k.width };
  });
}

/** The MySQL column definition of one result column whose values are of `kind`. */
function columnDefinition(c: ResultColumn, kind: Kind, precision: number, scale: number, defaultDatabase: string): ColumnDefinition {
  const shape = mysqlShape(kind, precision, scale);
  return {
    schema: c.table !== undefined ? (c.database ?? defaultDatabase) : '',
    table: c.table ?? '',
    orgTable: c.table ?? '',
    name: c.name,
    orgName: c.originalName ?? c.name,
    charset: shape.text ? CHARSET.UTF8MB4_GENERAL_CI : CHARSET.BINARY,
    columnLength: shape.length,
    type: shape.type,
    flags: c.nullable || kind === 'null' ? shape.flags : shape.flags | COLUMN_FLAG.NOT_NULL,
    decimals: shape.decimals,
  };
}

/**
 * The column plans of a prepared statement's last result, reused while the result shape stays
 * the same (same Arrow schema object, or fields and result columns that plan identically), so
 * an EXECUTE does not re-plan its columns.
 */
export class ColumnPlanCache {
  private schema: ArrowSchema | null = null;
  private columns: readonly ResultColumn[] = [];
  private database = '';
  private plans: ColumnPlan[] = [];

  get(columns: readonly ResultColumn[], schema: ArrowSchema, defaultDatabase = ''): ColumnPlan[] {
    if (this.schema !== null && this.database === defaultDatabase && this.sameShape(columns, schema)) {
      this.schema = schema;
      this.columns = columns;
      return this.plans;
    }
    const plans = planColumns(columns, schema, defaultDatabase);
    this.schema = schema;
    this.columns = columns;
    this.database = defaultDatabase;
    this.plans = plans;
    return plans;
  }

  private sameShape(columns: readonly ResultColumn[], schema: ArrowSchema): boolean {
    const prev = this.schema as ArrowSchema;
    if (schema !== prev) {
      const a = schema.fields;
      const b = prev.fields;
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) {
        const fa = a[i] as (typeof a)[number];
        const fb = b[i] as (typeof b)[number];
        if (fa.type !== fb.type && String(fa.type) !== String(fb.type)) return false;
      }
    }
    if (columns === this.columns) return true;
    if (columns.length !== this.columns.length) return false;
    for (let i = 0; i < columns.length; i++) {
      const x = columns[i] as ResultColumn;
      const y = this.columns[i] as ResultColumn;
      if (x !== y && (x.name !== y.name || x.nullable !== y.nullable || x.table !== y.table || x.database !== y.database || x.originalName !== y.originalName)) {
        return false;
      }
    }
    return true;
  }
}

/** Column buffers of one batch, read directly (never Vector.get in the loop). */
interface ColumnCursor {
  readonly plan: ColumnPlan;
  readonly data: Data;
  readonly validity: Uint8Array | null;
  readonly offset: number;
  /** Fixed-width values (Int32Array view for 64-bit ints and timestamps). */
  readonly values: ArrayLike<number>;
  readonly bytes: Uint8Array;
  readonly offsets: ArrayLike<number> | null;
  readonly generic: { get(i: number): unknown } | null;
}

function cursors(plans: readonly ColumnPlan[], batch: RecordBatch): ColumnCursor[] {
  const children = batch.data.children;
  assert(children.length === plans.length, `batch has ${children.length} column(s), expected ${plans.length}`);
  return plans.map((plan, i) => {
    const data = children[i] as Data;
    const raw = data.values as unknown as (ArrayLike<number> & ArrayBufferView) | undefined;
    let values: ArrayLike<number> = new Int32Array(0);
    let bytes: Uint8Array = new Uint8Array(0);
    let offsets: ArrayLike<number> | null = null;
    let generic: { get(i: number): unknown } | null = null;
    switch (plan.kind) {
      case 'i64': case 'u64': case 'timestamp': case 'dateMs':
        if (raw !== undefined) values = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2);
        break;
      case 'decimal':
        if (raw !== undefined) values = new Uint32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2);
        break;
      case 'utf8': case 'binary': case 'fixedBinary':
        if (raw !== undefined) bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        offsets = (data.valueOffsets as unknown as ArrayLike<number> | undefined) ?? null;
        break;
      case 'largeUtf8': case 'largeBinary': {
        if (raw !== undefined) bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        const o = data.valueOffsets as unknown as BigInt64Array;
        offsets = new Float64Array(o.length);
        for (let k = 0; k < o.length; k++) (offsets as Float64Array)[k] = Number(o[k]);
        break;
      }
      case 'bool':
        if (raw !== undefined) bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        break;
      case 'generic':
        generic = makeVector(data) as unknown as { get(i: number): unknown };
        break;
      case 'null':
        break;
      default:
        if (raw !== undefined) values = raw;
    }
    const validity = data.nullCount > 0 || plan.kind === 'null' ? (data.nullBitmap ?? null) : null;
    return { plan, data, validity, offset: data.offset, values, bytes, offsets, generic };
  });
}

function isNull(c: ColumnCursor, row: number): boolean {
  if (c.plan.kind === 'null') return true;
  const v = c.validity;
  if (v === null) return false;
  const bit = c.offset + row;
  return (((v[bit >> 3] as number) >> (bit & 7)) & 1) === 0;
}

// ---- value formatting -------------------------------------------------------------------

const TWO32 = 4294967296;

function int64ToString(lo: number, hi: number, unsigned: boolean): string {
  if (unsigned ? hi >>> 0 < 0x200000 : hi >= -0x200000 && hi < 0x200000) {
    return String((unsigned ? hi >>> 0 : hi) * TWO32 + (lo >>> 0));
  }
  const big = (BigInt(unsigned ? hi >>> 0 : hi) << 32n) | BigInt(lo >>> 0);
  return big.toString();
}

/** Shortest decimal digits that read back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v) return String(n);
  }
  return String(v);
}

/** An unscaled 128-bit two's-complement value (4 LE words) formatted with `scale` digits after the point. */
export function decimal128ToString(w0: number, w1: number, w2: number, w3: number, scale: number): string {
  let neg = false;
  let digits: string;
  if (w3 === 0 && w2 === 0 && w1 < 0x200000) {
    digits = String(w1 * TWO32 + w0);
  } else if (w3 === 0xffffffff && w2 === 0xffffffff && w1 >= 0xffe00000) {
    neg = true;
    digits = String((~w1 >>> 0) * TWO32 + (~w0 >>> 0) + 1);
  } else {
    let big = (BigInt(w3) << 96n) | (BigInt(w2) << 64n) | (BigInt(w1) << 32n) | BigInt(w0);
    big = BigInt.asIntN(128, big);
    if (big < 0n) {
      neg = true;
      big = -big;
    }
    digits = big.toString();
  }
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return neg ? '-' + digits : digits;
}

/** Days since 1970-01-01 -> [year, month, day] (proleptic Gregorian). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** [year, month, day] -> days since 1970-01-01. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

const US_PER_DAY = 86400e6;

interface TimeParts { days: number; h: number; mi: number; s: number; micros: number }

/** Reused by splitMicros, so that encoding a timestamp allocates nothing; callers destructure it at once. */
const timeParts: TimeParts = { days: 0, h: 0, mi: 0, s: 0, micros: 0 };

/** µs since epoch -> days since epoch and the time of day (hour, minute, second, µs). */
function splitMicros(us: number): Readonly<TimeParts> {
  const days = Math.floor(us / US_PER_DAY);
  let rem = us - days * US_PER_DAY;
  const h = Math.floor(rem / 3600e6);
  rem -= h * 3600e6;
  const mi = Math.floor(rem / 60e6);
  rem -= mi * 60e6;
  const s = Math.floor(rem / 1e6);
  timeParts.days = days;
  timeParts.h = h;
  timeParts.mi = mi;
  timeParts.s = s;
  timeParts.micros = rem - s * 1e6;
  return timeParts;
}

/** µs since epoch -> 'YYYY-MM-DD HH:MM:SS[.ffffff]'. */
export function formatTimestampMicros(us: number): string {
  const { days, h, mi, s, micros } = splitMicros(us);
  const base = `${formatDate(days)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return micros === 0 ? base : `${base}.${pad(micros, 6)}`;
}

function int64AsNumber(values: ArrayLike<number>, row: number): number {
  return (values[row * 2 + 1] as number) * TWO32 + ((values[row * 2] as number) >>> 0);
}

function timestampMicros(c: ColumnCursor, row: number): number {
  const raw = int64AsNumber(c.values, row);
  return c.plan.toMicrosDiv === 1 ? raw * c.plan.toMicrosMul : Math.floor(raw / c.plan.toMicrosDiv);
}

function genericString(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/** Text form of one non-null cell, for the cell kinds that are not written as raw bytes. */
function textCell(c: ColumnCursor, row: number): string {
  const v = c.values;
  switch (c.plan.kind) {
    case 'bool': {
      const bit = c.offset + row;
      return (((c.bytes[bit >> 3] as number) >> (bit & 7)) & 1) === 1 ? '1' : '0';
    }
    case 'i8': case 'i16': case 'i32': case 'u8': case 'u16': case 'u32':
      return String(v[row]);
    case 'i64': return int64ToString(v[row * 2] as number, v[row * 2 + 1] as number, false);
    case 'u64': return int64ToString(v[row * 2] as number, v[row * 2 + 1] as number, true);
    case 'f32': return formatFloat32(v[row] as number);
    case 'f64': return String(v[row]);
    case 'decimal': {
      const k = row * 4;
      return decimal128ToString(v[k] as number, v[k + 1] as number, v[k + 2] as number, v[k + 3] as number, c.plan.scale);
    }
    case 'dateDay': return formatDate(v[row] as number);
    case 'dateMs': return formatDate(Math.floor(int64AsNumber(v, row) / 86400000));
    case 'timestamp': return formatTimestampMicros(timestampMicros(c, row));
    case 'generic': return genericString((c.generic as { get(i: number): unknown }).get(row));
    case 'utf8': case 'largeUtf8': case 'binary': case 'largeBinary': case 'fixedBinary': case 'null':
      assert(false, `textCell called for raw-byte kind ${c.plan.kind}`);
  }
}

function writeRawBytes(w: PacketWriter, c: ColumnCursor, row: number): void {
  let a: number;
  let b: number;
  if (c.plan.kind === 'fixedBinary') {
    a = row * c.plan.fixedWidth;
    b = a + c.plan.fixedWidth;
  } else {
    const o = c.offsets as ArrayLike<number>;
    a = o[row] as number;
    b = o[row + 1] as number;
  }
  w.lenencInt(b - a);
  w.bytes(c.bytes.subarray(a, b));
}

function isRawBytes(kind: Kind): boolean {
  return kind === 'utf8' || kind === 'largeUtf8' || kind === 'binary' || kind === 'largeBinary' || kind === 'fixedBinary';
}

/** One text-protocol row packet per batch row. */
export function writeTextRows(w: PacketWriter, plans: readonly ColumnPlan[], batch: RecordBatch): void {
  const cols = cursors(plans, batch);
  const n = batch.numRows;
  for (let row = 0; row < n; row++) {
    w.begin();
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j] as ColumnCursor;
      if (isNull(c, row)) w.nullMarker();
      else if (isRawBytes(c.plan.kind)) writeRawBytes(w, c, row);
      else w.lenencString(textCell(c, row));
    }
    w.end();
  }
}

function writeBinaryDate(w: PacketWriter, days: number): void {
  const [y, m, d] = civilFromDays(days);
  w.u8(4);
  w.u16(y);
  w.u8(m);
  w.u8(d);
}

function writeBinaryDatetime(w: PacketWriter, us: number): void {
  const { days, h, mi, s, micros } = splitMicros(us);
  const [y, m, d] = civilFromDays(days);
  const len = micros !== 0 ? 11 : h !== 0 || mi !== 0 || s !== 0 ? 7 : 4;
  w.u8(len);
  w.u16(y);
  w.u8(m);
  w.u8(d);
  if (len >= 7) {
    w.u8(h);
    w.u8(mi);
    w.u8(s);
  }
  if (len === 11) w.u32(micros);
}

/** One binary-protocol row packet per batch row (0x00 header, NULL bitmap with offset 2, values). */
export function writeBinaryRows(w: PacketWriter, plans: readonly ColumnPlan[], batch: RecordBatch): void {
  const cols = cursors(plans, batch);
  const n = batch.numRows;
  const bitmapBytes = (cols.length + 7 + 2) >> 3;
  for (let row = 0; row < n; row++) {
    w.begin();
    w.u8(0x00);
    const bitmapAt = w.len;
    w.zeros(bitmapBytes);
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j] as ColumnCursor;
      if (isNull(c, row)) {
        const bit = j + 2;
        w.buf[bitmapAt + (bit >> 3)] = (w.buf[bitmapAt + (bit >> 3)] as number) | (1 << (bit & 7));
        continue;
      }
      const v = c.values;
      switch (c.plan.kind) {
        case 'bool': {
          const bit = c.offset + row;
          w.u8(((c.bytes[bit >> 3] as number) >> (bit & 7)) & 1);
          break;
        }
        case 'i8': w.u8(v[row] as number); break;
        case 'i16': case 'u8': w.u16(v[row] as number); break;
        case 'i32': case 'u16': w.i32(v[row] as number); break;
        case 'u32': w.u64Halves(v[row] as number, 0); break;
        case 'i64': case 'u64': w.u64Halves(v[row * 2] as number, v[row * 2 + 1] as number); break;
        case 'f32': w.f32(v[row] as number); break;
        case 'f64': w.f64(v[row] as number); break;
        case 'dateDay': writeBinaryDate(w, v[row] as number); break;
        case 'dateMs': writeBinaryDate(w, Math.floor(int64AsNumber(v, row) / 86400000)); break;
        case 'timestamp': writeBinaryDatetime(w, timestampMicros(c, row)); break;
        case 'utf8': case 'largeUtf8': case 'binary': case 'largeBinary': case 'fixedBinary':
          writeRawBytes(w, c, row);
          break;
        case 'decimal': case 'generic':
          w.lenencString(textCell(c, row));
          break;
        case 'null':
          break;
      }
    }
    w.end();
  }
}

const KIND_OF_DATA_TYPE: Record<ResultColumn['type'], Kind> = {
  bool: 'bool', int8: 'i8', int16: 'i16', int32: 'i32', int64: 'i64', float: 'f32', double: 'f64',
  decimal: 'decimal', string: 'utf8', binary: 'binary', date: 'dateDay', timestamp: 'timestamp',
};

/** Column definitions from Saiga types alone (COM_STMT_PREPARE, before any Arrow schema exists). */
export function planResultColumns(columns: readonly ResultColumn[], defaultDatabase = ''): ColumnPlan[] {
  return columns.map((c) => {
    const kind = KIND_OF_DATA_TYPE[c.type];
    const definition = columnDefinition(c, kind, c.precision ?? 38, c.scale ?? 0, defaultDatabase);
    return { kind, definition, scale: c.scale ?? 0, toMicrosMul: 1, toMicrosDiv: 1, fixedWidth: 0 };
  });
}

/** A decimal's unscaled bigint as text at `scale` (`-123.45`). */
function unscaledToString(v: bigint, scale: number): string {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return neg ? `-${digits}` : digits;
}

const I64_SPLIT = 0x100000000;

/**
 * Binary-protocol row packets from API values (StatementResult.rowValues: common/types.ts
 * representation, `plans` order) - the same bytes writeBinaryRows writes for the equivalent batch.
 */
export function writeBinaryValueRows(w: PacketWriter, plans: readonly ColumnPlan[], rows: readonly (readonly Value[])[]): void {
  const bitmapBytes = (plans.length + 7 + 2) >> 3;
  for (const row of rows) {
    assert(row.length === plans.length, `a value row has ${row.length} cells for ${plans.length} columns`);
    w.begin();
    w.u8(0x00);
    const bitmapAt = w.len;
    w.zeros(bitmapBytes);
    for (let j = 0; j < plans.length; j++) {
      const v = row[j];
      if (v === null || v === undefined) {
        const bit = j + 2;
        w.buf[bitmapAt + (bit >> 3)] = (w.buf[bitmapAt + (bit >> 3)] as number) | (1 << (bit & 7));
        continue;
      }
      const p = plans[j] as ColumnPlan;
      switch (p.kind) {
        case 'bool': w.u8(v === true || (v !== false && Number(v) !== 0) ? 1 : 0); break;
        case 'i8': w.u8(Number(v)); break;
        case 'i16': case 'u8': w.u16(Number(v)); break;
        case 'i32': case 'u16': w.i32(Number(v)); break;
        case 'u32': w.u64Halves(Number(v), 0); break;
        case 'i64': case 'u64': {
          if (typeof v === 'bigint') {
            const u = BigInt.asUintN(64, v);
            w.u64Halves(Number(u & 0xffffffffn), Number(u >> 32n));
          } else {
            const n = Number(v);
            const hi = Math.floor(n / I64_SPLIT);
            w.u64Halves(n - hi * I64_SPLIT, hi);
          }
          break;
        }
        case 'f32': w.f32(Number(v)); break;
        case 'f64': w.f64(Number(v)); break;
        case 'dateDay': writeBinaryDate(w, Number(v)); break;
        case 'timestamp': writeBinaryDatetime(w, Number(v)); break;
        case 'decimal': w.lenencString(typeof v === 'bigint' ? unscaledToString(v, p.scale) : String(v)); break;
        case 'utf8': case 'largeUtf8':
          if (typeof v === 'string') w.lenencString(v);
          else if (v instanceof Uint8Array) w.lenencBytes(v);
          else w.lenencString(String(v));
          break;
        case 'binary': case 'largeBinary': case 'fixedBinary':
          if (v instanceof Uint8Array) w.lenencBytes(v);
          else w.lenencString(String(v));
          break;
        case 'dateMs': writeBinaryDate(w, Math.floor(Number(v) / 86400000)); break;
        case 'null': break;
        case 'generic': w.lenencString(typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v)); break;
      }
    }
    w.end();
  }
}
