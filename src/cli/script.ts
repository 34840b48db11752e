import { SaigaError } from '../common/errors.js';
import { statementSpans, type SqlScanRules } from '../query/tokenizer.js';

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

/** impala-shell takes any `--` as a comment and every `/* *\/` as a comment; unterminated text runs to the end. */
const IMPALA_SHELL_SCAN: SqlScanRules = { dashCommentNeedsSpace: false, executableComments: false, strict: false };

/**
 * Splits on `;` outside quotes and comments; drops empty statements and comment-only ones.
 * Each statement starts at its first character that is not whitespace or a comment.
 */
export function splitStatements(script: string): ScriptStatement[] {
  const out: ScriptStatement[] = [];
  let line = 1;
  let counted = 0;
  for (const s of statementSpans(script, IMPALA_SHELL_SCAN)) {
    for (let k = script.indexOf('\n', counted); k >= 0 && k < s.codeStart; k = script.indexOf('\n', k + 1)) line++;
    counted = s.codeStart;
    out.push({ sql: script.slice(s.codeStart, s.end).trim(), line });
  }
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
