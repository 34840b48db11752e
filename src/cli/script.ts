import { SaigaError } from '../common/errors.js';

/**
 * impala-shell's script handling: split a script into `;`-separated statements (quotes,
 * backticks and comments respected), remember the line each starts on, and substitute
 * `${var:NAME}` variables.
 */

export interface ScriptStatement {
  readonly sql: string;
  /** 1-based line of the statement's first character in the script. */
  readonly line: number;
}

/** Splits on `;` outside quotes and comments; drops empty statements and comment-only ones. */
export function splitStatements(script: string): ScriptStatement[] {
  const out: ScriptStatement[] = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  let meaningful = false;
  const push = (end: number): void => {
    const sql = script.slice(start, end).trim();
    if (meaningful && sql.length > 0) out.push({ sql, line: startLine });
    meaningful = false;
  };
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (!meaningful && /\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && script[i + 1] === '-') {
      while (i < n && script[i] !== '\n') i++;
      continue;
    }
    if (c === '#') {
      while (i < n && script[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      for (let k = i; k < stop; k++) if (script[k] === '\n') line++;
      i = stop;
      continue;
    }
    if (!meaningful) {
      meaningful = true;
      start = i;
      startLine = line;
    }
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < n && script[i] !== c) {
        if (script[i] === '\\' && c !== '`') i++;
        else if (script[i] === '\n') line++;
        i++;
      }
      i++;
      continue;
    }
    if (c === ';') {
      push(i);
      i++;
      continue;
    }
    i++;
  }
  push(n);
  return out;
}

/** Whether the text so far ends a statement (interactive mode keeps reading lines until it does). */
export function isCompleteStatement(text: string): boolean {
  const trimmed = stripTrailingComments(text).trimEnd();
  if (trimmed.length === 0) return true;
  // A terminating `;` counts only if splitting leaves nothing after the last statement.
  const parts = splitStatements(text + '\n;__saiga_probe__');
  const last = parts[parts.length - 1];
  return trimmed.endsWith(';') && last !== undefined && last.sql === '__saiga_probe__';
}

function stripTrailingComments(text: string): string {
  return text.replace(/--[^\n]*$/g, '');
}

const SET_VAR = /^set\s+var\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]*)$/i;

/** `SET VAR:NAME=VALUE` defines a variable; returns [name, value] or undefined for other statements. */
export function parseSetVar(sql: string): [string, string] | undefined {
  const m = SET_VAR.exec(sql.trim());
  if (m === null) return undefined;
  let value = m[2]!.trim();
  if (value.length >= 2 && (value[0] === "'" || value[0] === '"') && value[value.length - 1] === value[0]) value = value.slice(1, -1);
  return [m[1]!.toLowerCase(), value];
}

/**
 * Replaces `${var:NAME}` (case-insensitive) with the variable's value; `\${...}` stays literal
 * (without the backslash). An unknown variable is an error naming it.
 */
export function substituteVariables(sql: string, vars: ReadonlyMap<string, string>): string {
  return sql.replace(/(\\?)\$\{\s*var\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/gi, (whole, escape: string, name: string) => {
    if (escape === '\\') return whole.slice(1);
    const value = vars.get(name.toLowerCase());
    if (value === undefined) throw new SaigaError('InvalidArgument', `unknown variable ${name}: define it with --var ${name}=VALUE or SET VAR:${name}=VALUE`);
    return value;
  });
}
