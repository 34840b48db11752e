import * as arrow from 'apache-arrow';
import type { WriteOpKind } from '../common/storage-api.js';
import { AUTO_INCREMENT_COLUMN, type ColumnSchema, type Schema, type Value } from '../common/types.js';
import type { Literal, Statement } from './prepass.js';
import { arrowTypeOf } from './vector.js';

/**
 * A one-pass charCode scanner for the common large-INSERT shape
 *
 *   INSERT [IGNORE] INTO [db.]t [(c1, c2, ...)] VALUES (lit, ...), (lit, ...), ...
 *   (also REPLACE / UPSERT INTO ...)
 *
 * where every value is a number, a quoted string, NULL, TRUE, FALSE or DEFAULT. It yields exactly
 * the `insertValues` statement prepass() would build from the same text, without materializing a
 * token per value. Any other shape (comments, expressions, DATE '...', ON DUPLICATE KEY, hex
 * literals, a syntax error) returns null and the statement takes the general pre-pass, which also
 * produces the error messages.
 */

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** The pre-pass tokenizer's identifier characters (ASCII only here; anything else bails). */
function isIdStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
}
function isIdPart(c: number): boolean {
  return isIdStart(c) || isDigit(c);
}

class Bail extends Error {}
const BAIL = new Bail();

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  space(): void {
    const s = this.s;
    let i = this.i;
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    // Comments are the general pre-pass's business.
    const c = s.charCodeAt(i);
    if (c === 35 || (c === 45 && s.charCodeAt(i + 1) === 45) || (c === 47 && s.charCodeAt(i + 1) === 42)) throw BAIL;
    this.i = i;
  }

  /** A bare word (ASCII letters, digits, _ and $), as written; '' when none starts here. */
  word(): string {
    const s = this.s;
    const st = this.i;
    if (!isIdStart(s.charCodeAt(st))) return '';
    let j = st + 1;
    while (j < s.length && isIdPart(s.charCodeAt(j))) j++;
    if (j < s.length && s.charCodeAt(j) > 127) throw BAIL;
    this.i = j;
    return s.slice(st, j);
  }

  keyword(kw: string): boolean {
    const save = this.i;
    const w = this.word();
    if (w.length > 0 && w.toUpperCase() === kw) {
      this.space();
      return true;
    }
    this.i = save;
    return false;
  }

  /** An identifier: a bare word or a backquoted name (`` doubled inside). */
  ident(): string {
    const s = this.s;
    if (s.charCodeAt(this.i) === 96) {
      let out = '';
      let j = this.i + 1;
      for (;;) {
        const e = s.indexOf('`', j);
        if (e < 0) throw BAIL;
        out += s.slice(j, e);
        if (s.charCodeAt(e + 1) === 96) { out += '`'; j = e + 2; continue; }
        this.i = e + 1;
        break;
      }
      this.space();
      return out;
    }
    const w = this.word();
    if (w.length === 0 || isDigit(w.charCodeAt(0))) throw BAIL;
    this.space();
    return w;
  }

  op(ch: number): boolean {
    if (this.s.charCodeAt(this.i) !== ch) return false;
    this.i++;
    this.space();
    return true;
  }

  /** A quoted string with the tokenizer's escapes (backslash sequences, doubled quote). */
  quoted(q: number): string {
    const s = this.s;
    const n = s.length;
    let j = this.i + 1;
    let out = '';
    let run = j;
    for (;;) {
      if (j >= n) throw BAIL; // unterminated: the pre-pass reports it
      const c = s.charCodeAt(j);
      if (c === 92) {
        if (j + 1 >= n) throw BAIL;
        out += s.slice(run, j);
        const d = s[j + 1]!;
        out += d === 'n' ? '\n' : d === 't' ? '\t' : d === 'r' ? '\r' : d === '0' ? '\0' : d === 'Z' ? '\x1a' : d;
        j += 2;
        run = j;
        continue;
      }
      if (c === q) {
        out += s.slice(run, j);
        if (s.charCodeAt(j + 1) === q) { out += s[j]!; j += 2; run = j; continue; }
        this.i = j + 1;
        return out;
      }
      j++;
    }
  }

  /** Digits as the tokenizer reads a number token: d+[.d*][e[+-]d+] or .d+[e...]. */
  number(): string {
    const s = this.s;
    const n = s.length;
    const st = this.i;
    let j = st;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) === 46) { j++; while (j < n && isDigit(s.charCodeAt(j))) j++; }
    const e = s.charCodeAt(j);
    if (e === 101 || e === 69) {
      const f = s.charCodeAt(j + 1);
      if (isDigit(f) || ((f === 45 || f === 43) && isDigit(s.charCodeAt(j + 2)))) {
        j += 2;
        while (j < n && isDigit(s.charCodeAt(j))) j++;
      }
    }
    // `1abc` is an identifier to the tokenizer; leave such text to the pre-pass.
    if (j < n && (isIdStart(s.charCodeAt(j)) || s.charCodeAt(j) > 127)) throw BAIL;
    this.i = j;
    return s.slice(st, j);
  }

  value(): Literal {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    let lit: Literal;
    if (c === 39 || c === 34) {
      lit = { k: 'str', v: this.quoted(c) };
    } else if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(this.i + 1)))) {
      lit = { k: 'num', text: this.number() };
    } else if (c === 45 || c === 43) {
      const d = s.charCodeAt(this.i + 1);
      if (!(isDigit(d) || (d === 46 && isDigit(s.charCodeAt(this.i + 2))))) throw BAIL;
      this.i++;
      const t = this.number();
      lit = { k: 'num', text: c === 45 ? `-${t}` : t };
    } else {
      const w = this.word().toUpperCase();
      if (w === 'NULL') lit = { k: 'null' };
      else if (w === 'TRUE' || w === 'FALSE') lit = { k: 'bool', v: w === 'TRUE' };
      else if (w === 'DEFAULT') lit = { k: 'default' };
      else throw BAIL;
    }
    this.space();
    // A literal must stand alone (`1 + 2` is an expression).
    const e = s.charCodeAt(this.i);
    if (e !== 44 && e !== 41) throw BAIL;
    return lit;
  }
}

/** Texts shorter than this take the general pre-pass (the scanner pays off on large VALUES lists). */
export const VALUES_SCAN_MIN_CHARS = 256;

export function scanInsertValues(sql: string): Extract<Statement, { kind: 'insertValues' }> | null {
  if (sql.length < VALUES_SCAN_MIN_CHARS) return null;
  const c = new Scanner(sql);
  try {
    c.space();
    const first = c.word().toUpperCase();
    if (first !== 'INSERT' && first !== 'REPLACE' && first !== 'UPSERT') return null;
    c.space();
    let op: WriteOpKind = first === 'INSERT' ? 'insert' : 'upsert';
    if (c.keyword('IGNORE')) op = op === 'insert' ? 'insert_ignore' : op;
    if (!c.keyword('INTO')) return null;
    let db: string | null = null;
    let table = c.ident();
    if (c.op(46)) { db = table; table = c.ident(); }
    let columns: string[] | null = null;
    if (c.op(40)) {
      columns = [];
      do columns.push(c.ident()); while (c.op(44));
      if (!c.op(41)) return null;
    }
    if (!c.keyword('VALUES') && !c.keyword('VALUE')) return null;
    const rows: Literal[][] = [];
    do {
      if (!c.op(40)) return null;
      const row: Literal[] = [];
      if (sql.charCodeAt(c.i) === 41) return null; // `()`: leave to the pre-pass
      do row.push(c.value()); while (c.op(44));
      if (!c.op(41)) return null;
      rows.push(row);
    } while (c.op(44));
    if (c.i !== sql.length) return null; // ON DUPLICATE KEY UPDATE, a trailing ';', anything else
    return { kind: 'insertValues', op, db, table, columns, rows };
  } catch (e) {
    if (e instanceof Bail) return null;
    throw e;
  }
}

// ---------- columnar INSERT: literals -> one Arrow batch (StorageApi.writeArrow) ----------

/** Statements with fewer rows keep the row path (per-statement overhead dominates there). */
export const COLUMNAR_INSERT_MIN_ROWS = 16;
/** A string / binary cell longer than this takes the row path (its size errors come from there). */
const COLUMNAR_CELL_MAX_BYTES = 1024;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO32 = 4294967296;

/** Not representable here without changing an error or a value: the caller takes the row path. */
class NotColumnar extends Error {}
const NOT_COLUMNAR = new NotColumnar();

type Convert = (l: Literal, col: ColumnSchema) => Value | undefined;

interface ColumnBuilder {
  set(i: number, v: Value): void;
  finish(): arrow.Data;
}

function columnBuilder(c: ColumnSchema, n: number): ColumnBuilder {
  const type = arrowTypeOf(c);
  const bitmap = new Uint8Array(((n + 63) >> 6) << 3);
  let nulls = 0;
  const setValid = (i: number): void => { bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7)); };
  const base = (): { type: arrow.DataType; length: number; nullCount: number; nullBitmap: Uint8Array | null } =>
    ({ type, length: n, nullCount: nulls, nullBitmap: nulls > 0 ? bitmap : null });
  const fixed = <T extends { [k: number]: number }>(data: T, put: (i: number, v: Value) => void): ColumnBuilder => ({
    set(i, v) { if (v === null) { nulls++; return; } setValid(i); put(i, v); },
    finish: () => arrow.makeData({ ...base(), data } as never),
  });
  switch (c.type) {
    case 'bool': {
      const data = new Uint8Array(bitmap.length);
      return fixed(data, (i, v) => { if (v === true) data[i >> 3] = (data[i >> 3] as number) | (1 << (i & 7)); });
    }
    case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double': {
      const data = c.type === 'int8' ? new Int8Array(n) : c.type === 'int16' ? new Int16Array(n) : c.type === 'float' ? new Float32Array(n)
        : c.type === 'double' ? new Float64Array(n) : new Int32Array(n);
      const isInt = c.type !== 'float' && c.type !== 'double';
      return fixed(data, (i, v) => {
        if (typeof v !== 'number') throw NOT_COLUMNAR;
        // toColumnValue range-checks int8..int32; a date outside Int32 would wrap: row path.
        if (isInt && (v | 0) !== v) throw NOT_COLUMNAR;
        data[i] = v;
      });
    }
    case 'int64': case 'timestamp': {
      const data = new BigInt64Array(n);
      const words = new Int32Array(data.buffer);
      return fixed(words, (i, v) => {
        if (typeof v === 'number') {
          // Two Int32 words, no BigInt: exact for safe integers.
          if (!Number.isSafeInteger(v)) throw NOT_COLUMNAR;
          const lo = v % TWO32;
          let hi = (v - lo) / TWO32;
          let l = lo;
          if (l < 0) { l += TWO32; hi -= 1; }
          words[2 * i] = l | 0;
          words[2 * i + 1] = hi | 0;
        } else if (typeof v === 'bigint') {
          if (v < INT64_MIN || v > INT64_MAX) throw NOT_COLUMNAR; // the row path reports it
          data[i] = v;
        } else {
          throw NOT_COLUMNAR;
        }
      });
    }
    case 'decimal': {
      const data = new Uint32Array(4 * n);
      return fixed(data, (i, v) => {
        if (typeof v !== 'bigint') throw NOT_COLUMNAR;
        let x = BigInt.asUintN(128, v);
        for (let k = 0; k < 4; k++) { data[4 * i + k] = Number(x & 0xffffffffn); x >>= 32n; }
      });
    }
    case 'string': case 'binary': {
      const cells: (string | Uint8Array)[] = new Array<string | Uint8Array>(n).fill('');
      let total = 0;
      const isStr = c.type === 'string';
      return {
        set(i, v) {
          if (v === null) { nulls++; return; }
          setValid(i);
          if (isStr ? typeof v !== 'string' : !(v instanceof Uint8Array)) throw NOT_COLUMNAR;
          const len = typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : (v as Uint8Array).length;
          if (len > COLUMNAR_CELL_MAX_BYTES) throw NOT_COLUMNAR;
          total += len;
          cells[i] = v as string | Uint8Array;
        },
        finish() {
          const buf = Buffer.allocUnsafe(total);
          const offsets = new Int32Array(n + 1);
          let p = 0;
          for (let i = 0; i < n; i++) {
            const v = cells[i] as string | Uint8Array;
            if (typeof v === 'string') { if (v.length > 0) p += buf.write(v, p, 'utf8'); } else { buf.set(v, p); p += v.length; }
            offsets[i + 1] = p;
          }
          const data = new Uint8Array(buf.buffer, buf.byteOffset, p);
          return arrow.makeData({ ...base(), valueOffsets: offsets, data } as never);
        },
      };
    }
  }
}

/**
 * The rows of an `insertValues` statement as one Arrow batch of the table's columns, converted
 * cell by cell with `convert` (the row path's literalToValue, so its errors are thrown at the same
 * cell, in the same row-major order). Returns null when the row path must run instead: a DEFAULT
 * or expression literal, a hidden / auto-increment key, a missing column that is NOT NULL without
 * a default, or a value whose storage-side check would differ (oversized cells, int64 overflow).
 */
export function columnarInsertBatch(
  schema: Schema, target: readonly number[], rows: readonly (readonly Literal[])[], convert: Convert,
): arrow.RecordBatch | null {
  const cols = schema.columns;
  if (cols.some((c) => c.autoIncrement === true || c.name === AUTO_INCREMENT_COLUMN)) return null;
  const n = rows.length;
  const w = target.length;
  for (const lits of rows) {
    if (lits.length !== w) return null;
    for (let k = 0; k < w; k++) { const l = lits[k]!; if (l.k === 'default' || l.k === 'expr') return null; }
  }
  const isTarget = new Array<boolean>(cols.length).fill(false);
  for (const t of target) { if (isTarget[t]) return null; isTarget[t] = true; }
  for (let ci = 0; ci < cols.length; ci++) {
    const c = cols[ci]!;
    if (!isTarget[ci] && c.defaultValue === undefined && !c.nullable) return null;
  }
  const builders = target.map((t) => columnBuilder(cols[t]!, n));
  const tcols = target.map((t) => cols[t]!);
  try {
    for (let i = 0; i < n; i++) {
      const lits = rows[i]!;
      for (let k = 0; k < w; k++) {
        const v = convert(lits[k]!, tcols[k]!);
        if (v === undefined) return null;
        builders[k]!.set(i, v);
      }
    }
    // Missing columns are left to storage (its default / NULL, as checkRequired fills them).
    const fields = tcols.map((c) => new arrow.Field(c.name, arrowTypeOf(c), true));
    const children = builders.map((b) => b.finish());
    const s = new arrow.Schema(fields);
    return new arrow.RecordBatch(s, arrow.makeData({ type: new arrow.Struct(s.fields), length: n, nullCount: 0, children }));
  } catch (e) {
    if (e instanceof NotColumnar) return null;
    throw e;
  }
}
