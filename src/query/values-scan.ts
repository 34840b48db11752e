import type { WriteOpKind } from '../common/storage-api.js';
import type { Literal, Statement } from './prepass.js';

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
