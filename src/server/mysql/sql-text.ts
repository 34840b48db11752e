import { SaigaError } from '../../common/errors.js';
import { skipComment, skipQuoted, statementSpans, type SqlScanRules } from '../../query/tokenizer.js';

/**
 * Just enough lexing of SQL text for the protocol edge: splitting a multi-statement query at
 * top-level `;`, and tokens for the statements the server answers itself (SET, SHOW VARIABLES,
 * SELECT @@var, user management, transactions). Everything else goes to the engine untouched.
 */

export type Token =
  | { readonly kind: 'ident'; readonly text: string; readonly quoted: boolean; readonly start: number; readonly end: number }
  | { readonly kind: 'string'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly kind: 'number'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly kind: 'sysvar'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly kind: 'uservar'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly kind: 'punct'; readonly text: string; readonly start: number; readonly end: number };

function isIdentChar(c: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** The server reads `-- ` with a space, runs `/*! *\/` as code, and lets unterminated text run to the end. */
const MYSQL_SCAN: SqlScanRules = { dashCommentNeedsSpace: true, executableComments: true, strict: false };

/** Splits at top-level semicolons; drops empty statements; keeps each statement's text as written. */
export function splitStatements(sql: string): string[] {
  return statementSpans(sql, MYSQL_SCAN).map((s) => sql.slice(s.start, s.end));
}

/**
 * The statement's first keyword, upper-case, when the text starts with one (after whitespace);
 * null when it starts with a comment or anything else. Used to route statements cheaply.
 */
export function leadingKeyword(sql: string): string | null {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else break;
  }
  let j = i;
  while (j < n) {
    const c = sql.charCodeAt(j) | 0x20;
    if (c >= 97 && c <= 122) j++;
    else break;
  }
  if (j === i) return null;
  return sql.slice(i, j).toUpperCase();
}

/** Removes comments (keeping the contents of executable comments) for classification. */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      const j = skipQuoted(sql, i, false);
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    const after = skipComment(sql, i, MYSQL_SCAN);
    if (after !== i) {
      out += ' ';
      i = after;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*' && sql[i + 2] === '!') {
      const end = sql.indexOf('*/', i + 3);
      const body = sql.slice(i + 3, end < 0 ? sql.length : end).replace(/^\d{5,6}/, '');
      out += ' ' + body + ' ';
      i = end < 0 ? sql.length : end + 2;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function unescapeString(body: string, q: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\\' && q !== '`' && i + 1 < body.length) {
      const n = body[++i] as string;
      const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a' };
      out += map[n] ?? n;
    } else if (c === q && body[i + 1] === q) {
      out += q;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** Tokens of a comment-free statement. Throws ParseError on an unterminated string. */
export function tokenize(sql: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"' || c === '`') {
      const end = skipQuoted(sql, i, false);
      if (sql[end - 1] !== c || end - i < 2) throw new SaigaError('ParseError', `unterminated ${c} quoted text at offset ${i}`);
      const text = unescapeString(sql.slice(i + 1, end - 1), c);
      toks.push(c === '`' ? { kind: 'ident', text, quoted: true, start, end } : { kind: 'string', text, start, end });
      i = end;
      continue;
    }
    if (c === '@' && sql[i + 1] === '@') {
      let j = i + 2;
      while (j < sql.length && (isIdentChar(sql[j] as string) || sql[j] === '.')) j++;
      toks.push({ kind: 'sysvar', text: sql.slice(i + 2, j).toLowerCase(), start, end: j });
      i = j;
      continue;
    }
    if (c === '@') {
      let j = i + 1;
      if (sql[j] === "'" || sql[j] === '"' || sql[j] === '`') j = skipQuoted(sql, j, false);
      else while (j < sql.length && (isIdentChar(sql[j] as string) || sql[j] === '.')) j++;
      toks.push({ kind: 'uservar', text: sql.slice(i + 1, j), start, end: j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i;
      while (j < sql.length && /[0-9.eE]/.test(sql[j] as string)) {
        if ((sql[j] === 'e' || sql[j] === 'E') && (sql[j + 1] === '-' || sql[j + 1] === '+')) j++;
        j++;
      }
      if (j < sql.length && isIdentChar(sql[j] as string)) {
        // an identifier that starts with digits
        while (j < sql.length && isIdentChar(sql[j] as string)) j++;
        toks.push({ kind: 'ident', text: sql.slice(i, j), quoted: false, start, end: j });
      } else {
        toks.push({ kind: 'number', text: sql.slice(i, j), start, end: j });
      }
      i = j;
      continue;
    }
    if (isIdentChar(c)) {
      let j = i;
      while (j < sql.length && isIdentChar(sql[j] as string)) j++;
      toks.push({ kind: 'ident', text: sql.slice(i, j), quoted: false, start, end: j });
      i = j;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (two === ':=' || two === '<>' || two === '!=' || two === '<=' || two === '>=') {
      toks.push({ kind: 'punct', text: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    toks.push({ kind: 'punct', text: c, start, end: i + 1 });
    i++;
  }
  return toks;
}

/** A cursor over tokens with keyword helpers. */
export class TokenCursor {
  pos = 0;
  constructor(readonly toks: readonly Token[]) {}

  peek(k = 0): Token | undefined {
    return this.toks[this.pos + k];
  }

  done(): boolean {
    return this.pos >= this.toks.length;
  }

  /** True (and consumes) if the next token is this unquoted keyword. */
  keyword(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) {
      const t = this.toks[this.pos + k];
      if (t === undefined || t.kind !== 'ident' || t.quoted || t.text.toUpperCase() !== (words[k] as string).toUpperCase()) return false;
    }
    this.pos += words.length;
    return true;
  }

  punct(p: string): boolean {
    const t = this.toks[this.pos];
    if (t !== undefined && t.kind === 'punct' && t.text === p) {
      this.pos++;
      return true;
    }
    return false;
  }

  next(): Token | undefined {
    return this.toks[this.pos++];
  }
}

/** MySQL LIKE pattern (% and _, backslash escapes) -> RegExp, case-insensitive as with the default collation. */
export function likeToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 'is');
}
