import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as arrow from 'apache-arrow';
import { SaigaError } from '../common/errors.js';
import type { ColumnSchema, Value } from '../common/types.js';
import {
  batchFromColumns, cast, columnFromValues, parseDate, parseDecimal, parseTimestamp, maxUnscaled, type Column,
} from '../columnar/index.js';
import { batchColumn } from './arrow-conform.js';

/**
 * CSV in and out (RFC 4180): fields separated by a one-byte delimiter, records by LF or CRLF;
 * a field holding the delimiter, a quote, CR or LF is quoted with `"` and its quotes doubled.
 * NULL is an empty unquoted field; the empty string is written `""`, so the two round-trip.
 */

export interface CsvOptions {
  readonly header: boolean;
  readonly delimiter: string;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const WRITE_CHUNK_BYTES = 1 << 20;
export const CSV_BATCH_ROWS = 16_384;
const READ_CHUNK_BYTES = 1 << 20;
/** Longest record accepted; a longer one means a runaway quote. */
const RECORD_BYTES_MAX = 64 << 20;

function delimiterByte(d: string): number {
  const b = Buffer.from(d, 'utf8');
  if (b.length !== 1 || b[0] === QUOTE || b[0] === LF || b[0] === CR) {
    throw new SaigaError('InvalidArgument', `DELIMITER must be one single-byte character other than a quote or newline, found '${d}'`);
  }
  return b[0]!;
}

function needsQuote(s: string, delim: string): boolean {
  return s.length === 0 || s.includes(delim) || s.includes('"') || s.includes('\n') || s.includes('\r');
}

function csvField(s: string, delim: string): string {
  return needsQuote(s, delim) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes a query result as CSV, atomically (temporary file renamed into place). */
export async function writeCsvFile(
  path: string, schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>, options: CsvOptions,
): Promise<{ rowCount: number; sizeBytes: number }> {
  delimiterByte(options.delimiter);
  const delim = options.delimiter;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  let rowCount = 0;
  let sizeBytes = 0;
  let pending: string[] = [];
  let pendingLen = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const buf = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    pendingLen = 0;
    await fh.write(buf);
    sizeBytes += buf.length;
  };
  try {
    if (options.header) {
      pending.push(schema.fields.map((f) => csvField(f.name, delim)).join(delim) + '\n');
    }
    for await (const batch of batches) {
      const n = batch.numRows;
      const texts: Column[] = [];
      for (let k = 0; k < batch.numCols; k++) {
        const c = batchColumn(batch, k);
        texts.push(c.type === 'string' ? c : cast(c, { type: 'string', precision: 0, scale: 0 }, null));
      }
      const decoders = texts.map((c) => stringsOf(c));
      for (let i = 0; i < n; i++) {
        let line = '';
        for (let k = 0; k < texts.length; k++) {
          if (k > 0) line += delim;
          const v = decoders[k]![i];
          if (v !== null && v !== undefined) line += csvField(v, delim);
        }
        line += '\n';
        pending.push(line);
        pendingLen += line.length;
        if (pendingLen >= WRITE_CHUNK_BYTES) await flush();
      }
      rowCount += n;
    }
    await flush();
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  return { rowCount, sizeBytes };
}

const utf8 = new TextDecoder();

function stringsOf(c: Column): (string | null)[] {
  const o = c.offsets!;
  const d = c.data!;
  const out = new Array<string | null>(c.length);
  for (let i = 0; i < c.length; i++) {
    const valid = c.validity === null || (c.validity[i >> 3]! & (1 << (i & 7))) !== 0;
    out[i] = valid ? utf8.decode(d.subarray(o[i]!, o[i + 1]!)) : null;
  }
  return out;
}

/** One parsed field: null for an empty unquoted field (SQL NULL). */
type Field = string | null;

/**
 * Streams the records of a CSV file in chunks; a record is never split across yields.
 */
export async function* csvRecords(path: string, delimiter: string): AsyncIterable<Field[]> {
  const delim = delimiterByte(delimiter);
  let fh;
  try { fh = await open(path, 'r'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SaigaError('NotFound', `no such CSV file: ${path}`);
    throw e;
  }
  try {
    let carry: Buffer = Buffer.alloc(0);
    let line = 1;
    for (;;) {
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      const { bytesRead } = await fh.read(chunk, 0, READ_CHUNK_BYTES, null);
      const eof = bytesRead === 0;
      const buf = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let pos = 0;
      for (;;) {
        const r = parseRecord(buf, pos, delim, eof, path, line);
        if (r === null) break;
        line += r.lines;
        pos = r.end;
        yield r.fields;
        if (pos >= buf.length) break;
      }
      carry = buf.subarray(pos);
      if (carry.length > RECORD_BYTES_MAX) throw new SaigaError('InvalidArgument', `${path} line ${line}: record longer than ${RECORD_BYTES_MAX} bytes (unbalanced quote?)`);
      if (eof) return;
    }
  } finally {
    await fh.close();
  }
}

/** Parses one record at `start`; null when the buffer ends inside it (and more input may follow). */
function parseRecord(buf: Buffer, start: number, delim: number, eof: boolean, path: string, line: number): { fields: Field[]; end: number; lines: number } | null {
  const n = buf.length;
  if (start >= n) return null;
  const fields: Field[] = [];
  let i = start;
  let lines = 0;
  for (;;) {
    if (i < n && buf[i] === QUOTE) {
      // Quoted field: runs to the closing quote; "" inside is one quote.
      let j = i + 1;
      let text = '';
      let segStart = j;
      for (;;) {
        if (j >= n) {
          if (eof) throw new SaigaError('InvalidArgument', `${path} line ${line + lines}: unterminated quoted field`);
          return null;
        }
        const b = buf[j]!;
        if (b === LF) lines++;
        if (b === QUOTE) {
          if (j + 1 >= n && !eof) return null;
          if (buf[j + 1] === QUOTE) { text += buf.toString('utf8', segStart, j + 1); j += 2; segStart = j; continue; }
          text += buf.toString('utf8', segStart, j);
          j++;
          break;
        }
        j++;
      }
      fields.push(text);
      i = j;
      if (i < n && buf[i] === delim) { i++; continue; }
      if (i < n && buf[i] === CR && buf[i + 1] === LF) return { fields, end: i + 2, lines: lines + 1 };
      if (i < n && buf[i] === CR && i + 1 >= n && !eof) return null;
      if (i < n && buf[i] === LF) return { fields, end: i + 1, lines: lines + 1 };
      if (i >= n) {
        if (eof) return { fields, end: i, lines };
        return null;
      }
      throw new SaigaError('InvalidArgument', `${path} line ${line + lines}: expected a delimiter or end of line after a quoted field, found '${String.fromCharCode(buf[i]!)}'`);
    }
    let j = i;
    while (j < n && buf[j] !== delim && buf[j] !== LF) j++;
    if (j >= n && !eof) return null;
    let end = j;
    if (j < n && buf[j] === LF && end > i && buf[end - 1] === CR) end--;
    if (j >= n && end > i && buf[end - 1] === CR) end--;
    fields.push(end === i ? null : buf.toString('utf8', i, end));
    if (j < n && buf[j] === delim) { i = j + 1; continue; }
    return { fields, end: j < n ? j + 1 : j, lines: lines + 1 };
  }
}

/** Strict text -> value for one column (CSV import); throws naming the line and column. */
function parseField(text: string, c: ColumnSchema): Value {
  const t = text.trim();
  switch (c.type) {
    case 'string': return text;
    case 'binary': return Buffer.from(text, 'utf8');
    case 'bool': {
      const l = t.toLowerCase();
      if (l === 'true' || l === '1' || l === 't') return true;
      if (l === 'false' || l === '0' || l === 'f') return false;
      return undefined as unknown as Value;
    }
    case 'int8': case 'int16': case 'int32': {
      if (!/^[+-]?\d+$/.test(t)) return undefined as unknown as Value;
      const v = Number(t);
      const lim = c.type === 'int8' ? 127 : c.type === 'int16' ? 32767 : 2147483647;
      return v >= -lim - 1 && v <= lim ? v : (undefined as unknown as Value);
    }
    case 'int64': {
      if (!/^[+-]?\d+$/.test(t)) return undefined as unknown as Value;
      const v = BigInt(t);
      return v >= -(1n << 63n) && v < 1n << 63n ? v : (undefined as unknown as Value);
    }
    case 'float': case 'double': {
      if (t.length === 0) return undefined as unknown as Value;
      const v = Number(t);
      return Number.isNaN(v) && !/^[+-]?nan$/i.test(t) ? (undefined as unknown as Value) : v;
    }
    case 'decimal': {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return undefined as unknown as Value;
      const v = parseDecimal(t, c.scale ?? 0);
      if (v === null) return undefined as unknown as Value;
      const max = maxUnscaled(c.precision ?? 38);
      return v > max || v < -max ? (undefined as unknown as Value) : v;
    }
    case 'date': return parseDate(t) ?? (undefined as unknown as Value);
    case 'timestamp': return parseTimestamp(t) ?? (undefined as unknown as Value);
  }
}

/**
 * Reads a CSV file as record batches in the table's column types. With a header the columns
 * are matched by name; without one the fields are the listed columns in order.
 */
export async function* readCsvBatches(
  path: string, columns: readonly ColumnSchema[], options: CsvOptions, tableName: string,
): AsyncIterable<arrow.RecordBatch> {
  let target: ColumnSchema[] | null = options.header ? null : [...columns];
  let values: Value[][] = [];
  let line = 0;
  const emit = (): arrow.RecordBatch => {
    const t = target!;
    const cols = t.map((c, k) => columnFromValues(c.type, values[k]!, c.precision ?? 0, c.scale ?? 0));
    values = t.map(() => []);
    return batchFromColumns(t.map((c) => c.name), cols, t.map((c) => c.nullable));
  };
  if (target !== null) values = target.map(() => []);
  for await (const rec of csvRecords(path, options.delimiter)) {
    line++;
    if (target === null) {
      target = rec.map((name) => {
        const c = columns.find((x) => x.name.toLowerCase() === (name ?? '').toLowerCase());
        if (c === undefined) throw new SaigaError('UnknownColumn', `${path}: header column '${name ?? ''}' is not a column of table ${tableName}`);
        return c;
      });
      values = target.map(() => []);
      continue;
    }
    if (rec.length === 1 && rec[0] === null && target.length !== 1) continue; // blank line
    if (rec.length !== target.length) {
      throw new SaigaError('InvalidArgument', `${path} line ${line}: expected ${target.length} fields but found ${rec.length}`);
    }
    for (let k = 0; k < rec.length; k++) {
      const text = rec[k]!;
      const c = target[k]!;
      if (text === null) { values[k]!.push(null); continue; }
      const v = parseField(text, c);
      if (v === undefined) {
        throw new SaigaError('InvalidArgument', `${path} line ${line}: column '${c.name}' expected a ${c.type.toUpperCase()} value but found '${text.length > 40 ? text.slice(0, 40) + '...' : text}'`);
      }
      values[k]!.push(v);
    }
    if (values[0]!.length >= CSV_BATCH_ROWS) yield emit();
  }
  if (target !== null && values.length > 0 && values[0]!.length > 0) yield emit();
}
