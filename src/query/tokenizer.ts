import { SaigaError } from '../common/errors.js';

/**
 * A small SQL tokenizer for the pre-pass: statement splitting, the Impala/Kudu DDL and SHOW
 * family that node-sql-parser cannot parse, and the fast path for large INSERT ... VALUES.
 */
export type TokenKind = 'id' | 'qid' | 'str' | 'num' | 'op' | 'param' | 'var';

export interface Token {
  readonly kind: TokenKind;
  /** Identifiers as written (qid: unquoted), strings unescaped, numbers as text, ops as text. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const OPS3 = new Set(['<=>']);
const OPS2 = new Set(['<=', '>=', '<>', '!=', '||', '&&', ':=', '<<', '>>']);

function isIdStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127;
}
function isIdPart(c: number): boolean {
  return isIdStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * How comments and quotes read when SQL text is scanned for statement boundaries. The pre-pass,
 * the MySQL endpoint and the CLI's scripts share one scanner and differ only in these rules.
 */
export interface SqlScanRules {
  /** `--` starts a comment only when whitespace or the end follows (MySQL); impala-shell takes any `--`. */
  readonly dashCommentNeedsSpace: boolean;
  /** `/*! ... *\/` holds code (MySQL's executable comment): not a comment, but never split inside. */
  readonly executableComments: boolean;
  /** Unterminated quotes and comments throw ParseError instead of running to the end of the text. */
  readonly strict: boolean;
}

/** The pre-pass reads MySQL comments, takes `/*! *\/` as a plain comment, and rejects unterminated text. */
const PREPASS_SCAN: SqlScanRules = { dashCommentNeedsSpace: true, executableComments: false, strict: true };

/** Whether char code c is whitespace as /\s/ and String.prototype.trim see it. */
function isSpaceCode(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(String.fromCharCode(c));
}

/**
 * End of the quoted string or identifier whose quote character is at i: a backslash escapes the
 * next character outside backticks, a doubled quote stands for itself. Unterminated text ends at
 * the end of sql, or throws ParseError when strict.
 */
export function skipQuoted(sql: string, i: number, strict: boolean): number {
  const q = sql.charCodeAt(i);
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === 92 /* \ */ && q !== 96 /* ` */) {
      j += 2;
      continue;
    }
    if (c === q) {
      if (sql.charCodeAt(j + 1) === q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  if (strict) throw new SaigaError('ParseError', `unterminated ${q === 96 ? 'quoted identifier' : 'string'} starting at offset ${i}`);
  return n;
}

/**
 * End of the comment starting at i (after the newline of a line comment), or i when none starts
 * there. `to` is where the text ends for this scan (a statement's end when classifying one).
 */
export function skipComment(sql: string, i: number, rules: SqlScanRules, to = sql.length): number {
  const c = sql.charCodeAt(i);
  const d = sql.charCodeAt(i + 1);
  if (c === 35 /* # */ || (c === 45 /* - */ && d === 45 && i + 1 < to && (!rules.dashCommentNeedsSpace || i + 2 >= to || isSpaceCode(sql.charCodeAt(i + 2))))) {
    const nl = sql.indexOf('\n', i);
    return nl < 0 || nl >= to ? to : nl + 1;
  }
  if (c === 47 /* / */ && d === 42 /* * */ && i + 1 < to && !(rules.executableComments && sql.charCodeAt(i + 2) === 33 /* ! */)) {
    const end = sql.indexOf('*/', i + 2);
    if (end >= 0 && end + 2 <= to) return end + 2;
    if (rules.strict) throw new SaigaError('ParseError', `unterminated comment starting at offset ${i}`);
    return to;
  }
  return i;
}

/** Where the body of the executable comment `/*! ... *\/` at i ends: its `*\/`, or `to` when unterminated. */
function executableBodyEnd(sql: string, i: number, rules: SqlScanRules, to: number): number {
  const close = sql.indexOf('*/', i + 3);
  if (close >= 0 && close + 2 <= to) return close;
  if (rules.strict) throw new SaigaError('ParseError', `unterminated comment starting at offset ${i}`);
  return to;
}

function isExecutableComment(sql: string, i: number, rules: SqlScanRules): boolean {
  return rules.executableComments && sql.charCodeAt(i) === 47 && sql.charCodeAt(i + 1) === 42 && sql.charCodeAt(i + 2) === 33;
}

/**
 * Offset of the first character in [from, to) that is neither whitespace nor a comment, or -1.
 * An executable comment counts as code when its body (past a version number) is not blank.
 */
function firstCodeOffset(sql: string, from: number, to: number, rules: SqlScanRules): number {
  let i = from;
  while (i < to) {
    const c = sql.charCodeAt(i);
    if (isSpaceCode(c)) {
      i++;
      continue;
    }
    if (c !== 35 && c !== 45 && c !== 47) return i;
    const after = skipComment(sql, i, rules, to);
    if (after !== i) {
      i = after;
      continue;
    }
    if (!isExecutableComment(sql, i, rules)) return i;
    const bodyEnd = executableBodyEnd(sql, i, rules, to);
    if (/\S/.test(sql.slice(i + 3, bodyEnd).replace(/^\d{5,6}/, ''))) return i;
    i = bodyEnd === to ? to : bodyEnd + 2;
  }
  return -1;
}

/** Skips whitespace and comments from i; returns the next significant offset. */
function skipSpace(sql: string, i: number): number {
  const n = sql.length;
  for (;;) {
    while (i < n && isSpaceCode(sql.charCodeAt(i))) i++;
    const after = skipComment(sql, i, PREPASS_SCAN);
    if (after === i) return i;
    i = after;
  }
}

function readQuoted(sql: string, i: number, q: string): { text: string; end: number } {
  let out = '';
  let j = i + 1;
  const n = sql.length;
  while (j < n) {
    const c = sql[j]!;
    if (c === '\\' && q !== '`') {
      const d = sql[j + 1];
      if (d === undefined) break;
      out += d === 'n' ? '\n' : d === 't' ? '\t' : d === 'r' ? '\r' : d === '0' ? '\0' : d === 'Z' ? '\x1a' : d;
      j += 2;
      continue;
    }
    if (c === q) {
      if (sql[j + 1] === q) { out += q; j += 2; continue; }
      return { text: out, end: j + 1 };
    }
    out += c;
    j++;
  }
  throw new SaigaError('ParseError', `unterminated ${q === '`' ? 'quoted identifier' : 'string'} starting at offset ${i}`);
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  for (;;) {
    i = skipSpace(sql, i);
    if (i >= n) return out;
    const c = sql.charCodeAt(i);
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const r = readQuoted(sql, i, ch);
      out.push({ kind: 'str', text: r.text, start: i, end: r.end });
      i = r.end;
    } else if (ch === '`') {
      const r = readQuoted(sql, i, '`');
      out.push({ kind: 'qid', text: r.text, start: i, end: r.end });
      i = r.end;
    } else if (isDigit(c) || (ch === '.' && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      if (sql[j] === '.') { j++; while (j < n && isDigit(sql.charCodeAt(j))) j++; }
      if ((sql[j] === 'e' || sql[j] === 'E') && (isDigit(sql.charCodeAt(j + 1)) || ((sql[j + 1] === '-' || sql[j + 1] === '+') && isDigit(sql.charCodeAt(j + 2))))) {
        j += 2;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
      }
      if (j < n && isIdStart(sql.charCodeAt(j))) {
        // identifiers may start with digits in MySQL (e.g. 1abc)
        while (j < n && isIdPart(sql.charCodeAt(j))) j++;
        out.push({ kind: 'id', text: sql.slice(i, j), start: i, end: j });
      } else {
        out.push({ kind: 'num', text: sql.slice(i, j), start: i, end: j });
      }
      i = j;
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(sql.charCodeAt(j))) j++;
      out.push({ kind: 'id', text: sql.slice(i, j), start: i, end: j });
      i = j;
    } else if (ch === '?') {
      out.push({ kind: 'param', text: '?', start: i, end: i + 1 });
      i++;
    } else if (ch === '@') {
      let j = i + 1;
      if (sql[j] === '@') j++;
      while (j < n && (isIdPart(sql.charCodeAt(j)) || sql[j] === '.')) j++;
      out.push({ kind: 'var', text: sql.slice(i, j), start: i, end: j });
      i = j;
    } else {
      const three = sql.slice(i, i + 3);
      const two = sql.slice(i, i + 2);
      const t = OPS3.has(three) ? three : OPS2.has(two) ? two : ch;
      out.push({ kind: 'op', text: t, start: i, end: i + t.length });
      i += t.length;
    }
  }
}

/** One `;`-separated statement of a text: offsets into it. */
export interface StatementSpan {
  /** Just after the previous top-level `;` (or 0). */
  readonly start: number;
  /** The first character that is neither whitespace nor a comment. */
  readonly codeStart: number;
  /** The terminating `;`, or the end of the text. */
  readonly end: number;
}

/**
 * Splits at top-level `;` (outside quotes and comments) and drops pieces that hold only
 * whitespace and comments. A charCode scan: multi-row INSERTs of megabytes pass through here.
 */
export function statementSpans(sql: string, rules: SqlScanRules): StatementSpan[] {
  const out: StatementSpan[] = [];
  const n = sql.length;
  const push = (start: number, end: number): void => {
    const codeStart = firstCodeOffset(sql, start, end, rules);
    if (codeStart >= 0) out.push({ start, codeStart, end });
  };
  let start = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 39 || c === 34 || c === 96) { // ' " `
      i = skipQuoted(sql, i, rules.strict);
      continue;
    }
    if (c === 35 || c === 45 || c === 47) { // # - /
      const after = skipComment(sql, i, rules);
      if (after !== i) {
        i = after;
        continue;
      }
      if (isExecutableComment(sql, i, rules)) {
        // its contents are code, but a ';' inside it does not split
        const bodyEnd = executableBodyEnd(sql, i, rules, n);
        i = bodyEnd === n ? n : bodyEnd + 2;
        continue;
      }
    }
    if (c === 59) { // ;
      push(start, i);
      start = i + 1;
    }
    i++;
  }
  push(start, n);
  return out;
}

/** Splits on `;` outside quotes and comments; drops empty statements; trims each. */
export function splitStatements(sql: string): string[] {
  return statementSpans(sql, PREPASS_SCAN).map((s) => sql.slice(s.start, s.end).trim());
}

/** A cursor over tokens with the small helpers a recursive-descent parser needs. */
export class TokenCursor {
  pos = 0;
  constructor(readonly tokens: readonly Token[], readonly sql: string) {}

  peek(k = 0): Token | undefined {
    return this.tokens[this.pos + k];
  }
  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }
  isKw(word: string, k = 0): boolean {
    const t = this.tokens[this.pos + k];
    return t !== undefined && t.kind === 'id' && t.text.toUpperCase() === word;
  }
  isOp(op: string, k = 0): boolean {
    const t = this.tokens[this.pos + k];
    return t !== undefined && t.kind === 'op' && t.text === op;
  }
  acceptKw(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isKw(words[k]!, k)) return false;
    this.pos += words.length;
    return true;
  }
  acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.pos++;
    return true;
  }
  expectKw(word: string): void {
    if (!this.acceptKw(word)) this.fail(word);
  }
  expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`'${op}'`);
  }
  ident(what = 'identifier'): string {
    const t = this.tokens[this.pos];
    if (t === undefined || (t.kind !== 'id' && t.kind !== 'qid')) this.fail(what);
    this.pos++;
    return t.text;
  }
  /** name or db.name */
  qualifiedName(): { db: string | null; name: string } {
    const a = this.ident('table name');
    if (this.acceptOp('.')) return { db: a, name: this.ident('table name') };
    return { db: null, name: a };
  }
  rest(): string {
    const t = this.tokens[this.pos];
    return t === undefined ? '' : this.sql.slice(t.start);
  }
  fail(expected: string): never {
    const t = this.tokens[this.pos];
    const found = t === undefined ? 'end of statement' : `'${t.text}' at offset ${t.start}`;
    throw new SaigaError('ParseError', `expected ${expected} but found ${found}`);
  }
}

/**
 * Rewrites what node-sql-parser's mysql grammar rejects but MySQL accepts, token-exactly:
 * SUBSTRING(x FROM a FOR b) -> SUBSTRING(x, a, b).
 */
export function rewriteForParser(sql: string): string {
  if (/-\d{16}/.test(sql)) sql = spaceNegativeBigLiterals(sql);
  if (/\b(sum|avg|min|max)\s*\(\s*(distinct|all)\b/i.test(sql)) sql = rewriteAggregateQuantifiers(sql);
  const hasSubstr = /substr/i.test(sql);
  if (!hasSubstr && !sql.includes('<=>')) return sql;
  const toks = tokenize(sql);
  if (toks.some((t) => t.kind === 'op' && t.text === '<=>')) return rewriteForParser(rewriteNullSafeEq(sql));
  if (!hasSubstr) return sql;
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === 'id' && /^substr(ing)?$/i.test(t.text) && toks[i + 1]?.text === '(') {
      let depth = 0;
      for (let j = i + 1; j < toks.length; j++) {
        const u = toks[j]!;
        if (u.kind === 'op' && u.text === '(') depth++;
        else if (u.kind === 'op' && u.text === ')') { depth--; if (depth === 0) break; }
        else if (depth === 1 && u.kind === 'id' && (u.text.toUpperCase() === 'FROM' || u.text.toUpperCase() === 'FOR')) {
          edits.push({ start: u.start, end: u.end, text: ',' });
        }
      }
    }
  }
  return applyEdits(sql, edits);
}

/** sql with each [start, end) range replaced by its text (ranges do not overlap). */
function applyEdits(sql: string, edits: { start: number; end: number; text: string }[]): string {
  if (edits.length === 0) return sql;
  let out = '';
  let p = 0;
  for (const e of edits.sort((a, b) => a.start - b.start)) {
    out += sql.slice(p, e.start) + e.text;
    p = e.end;
  }
  return out + sql.slice(p);
}

/**
 * node-sql-parser takes DISTINCT / ALL inside COUNT() only: `SUM(DISTINCT x)` -> `SUM(DISTINCT(x))`
 * (a call the binder unwraps into a DISTINCT aggregate), `AVG(ALL x)` -> `AVG( x)`; for SUM, AVG,
 * MIN and MAX, outside quotes and comments.
 */
function rewriteAggregateQuantifiers(sql: string): string {
  const toks = tokenize(sql);
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i + 2 < toks.length; i++) {
    const t = toks[i]!, open = toks[i + 1]!, q = toks[i + 2]!;
    if (t.kind !== 'id' || !/^(sum|avg|min|max)$/i.test(t.text) || open.text !== '(' || q.kind !== 'id') continue;
    const word = q.text.toUpperCase();
    if (word === 'ALL') { edits.push({ start: q.start, end: q.end, text: '' }); continue; }
    if (word !== 'DISTINCT' || toks[i + 3]?.text === '(' && closingParen(toks, i + 3) === closingParen(toks, i + 1) - 1) continue;
    const close = closingParen(toks, i + 1);
    if (close < 0) continue;
    edits.push({ start: q.start, end: q.end, text: 'DISTINCT(' }, { start: toks[close]!.start, end: toks[close]!.start, text: ')' });
  }
  return applyEdits(sql, edits);
}

/** Index of the token closing the parenthesis opened at toks[at], or -1. */
function closingParen(toks: readonly { kind: string; text: string }[], at: number): number {
  let depth = 0;
  for (let j = at; j < toks.length; j++) {
    const u = toks[j]!;
    if (u.kind === 'op' && u.text === '(') depth++;
    else if (u.kind === 'op' && u.text === ')') { depth--; if (depth === 0) return j; }
  }
  return -1;
}

/**
 * `-9223372036854775807` -> `- 9223372036854775807`: node-sql-parser turns a signed integer
 * literal into a JS number (losing digits past 2^53) but keeps an unsigned one's text.
 */
function spaceNegativeBigLiterals(sql: string): string {
  const toks = tokenize(sql);
  let out = '';
  let p = 0;
  for (let i = 0; i + 1 < toks.length; i++) {
    const t = toks[i]!, u = toks[i + 1]!;
    if (t.kind === 'op' && t.text === '-' && u.kind === 'num' && t.end === u.start && /^\d{16,}$/.test(u.text)) {
      out += `${sql.slice(p, t.end)} `;
      p = t.end;
    }
  }
  return out + sql.slice(p);
}

const NOT_FUNCTIONS = new Set(['AND', 'OR', 'NOT', 'XOR', 'WHERE', 'SELECT', 'ON', 'WHEN', 'THEN', 'ELSE', 'IN', 'BY', 'HAVING', 'SET', 'IS', 'CASE', 'LIKE', 'BETWEEN', 'RETURN', 'AS', 'EXISTS', 'VALUES']);

function operandStart(toks: readonly Token[], i: number): number {
  const t = toks[i];
  if (t === undefined) throw new SaigaError('ParseError', "'<=>' needs an operand on its left");
  if (t.kind === 'op' && t.text === ')') {
    let depth = 0;
    let j = i;
    for (; j >= 0; j--) {
      const u = toks[j]!;
      if (u.kind === 'op' && u.text === ')') depth++;
      else if (u.kind === 'op' && u.text === '(') { depth--; if (depth === 0) break; }
    }
    const f = toks[j - 1];
    if (f !== undefined && f.kind === 'id' && !NOT_FUNCTIONS.has(f.text.toUpperCase())) return j - 1;
    return j;
  }
  if ((t.kind === 'id' || t.kind === 'qid') && toks[i - 1]?.text === '.' && toks[i - 1]?.kind === 'op') return i - 2;
  return i;
}

function operandEnd(toks: readonly Token[], i: number): number {
  let t = toks[i];
  if (t === undefined) throw new SaigaError('ParseError', "'<=>' needs an operand on its right");
  if (t.kind === 'op' && (t.text === '-' || t.text === '+')) { i++; t = toks[i]; if (t === undefined) throw new SaigaError('ParseError', "'<=>' needs an operand on its right"); }
  const matchParen = (k: number): number => {
    let depth = 0;
    for (let j = k; j < toks.length; j++) {
      const u = toks[j]!;
      if (u.kind === 'op' && u.text === '(') depth++;
      else if (u.kind === 'op' && u.text === ')') { depth--; if (depth === 0) return j; }
    }
    throw new SaigaError('ParseError', 'unbalanced parentheses');
  };
  if (t.kind === 'op' && t.text === '(') return matchParen(i);
  if ((t.kind === 'id' || t.kind === 'qid') && toks[i + 1]?.kind === 'op' && toks[i + 1]?.text === '(') return matchParen(i + 1);
  if ((t.kind === 'id' || t.kind === 'qid') && toks[i + 1]?.kind === 'op' && toks[i + 1]?.text === '.') return i + 2;
  return i;
}

/** a <=> b -> __nullsafe_eq(a, b) (node-sql-parser has no <=>), one occurrence at a time. */
function rewriteNullSafeEq(sql: string): string {
  for (let guard = 0; guard < 1000; guard++) {
    const toks = tokenize(sql);
    const i = toks.findIndex((t) => t.kind === 'op' && t.text === '<=>');
    if (i < 0) return sql;
    const ls = operandStart(toks, i - 1);
    const re = operandEnd(toks, i + 1);
    const a = sql.slice(toks[ls]!.start, toks[i - 1]!.end);
    const b = sql.slice(toks[i + 1]!.start, toks[re]!.end);
    sql = `${sql.slice(0, toks[ls]!.start)}__nullsafe_eq(${a}, ${b})${sql.slice(toks[re]!.end)}`;
  }
  return sql;
}
