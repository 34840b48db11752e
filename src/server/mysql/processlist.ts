import type { StatementResult } from '../../query/api.js';
import { rowsResult, type LocalCell, type LocalColumn } from './local-results.js';
import { leadingKeyword, stripComments, tokenize, TokenCursor, type Token } from './sql-text.js';

/**
 * SHOW [FULL] PROCESSLIST and information_schema.PROCESSLIST, with MariaDB's columns:
 * Id, User, Host, db, Command, Time, State, Info, Time_ms, Stage, Max_stage, Progress,
 * Memory_used, Examined_rows. SHOW is answered here; a SELECT over
 * information_schema.PROCESSLIST is rewritten so that the table becomes a derived table of
 * literal rows, and the engine evaluates the rest (WHERE, ORDER BY, aggregates, joins).
 */

/** One connection as the process list shows it. */
export interface ProcessInfo {
  readonly id: number;
  readonly user: string;
  /** `address:port` of the client. */
  readonly host: string;
  readonly db: string | null;
  /** 'Query', 'Execute' while a statement runs, 'Sleep' between commands, 'Connect' before authentication. */
  readonly command: string;
  /** Milliseconds in the current command (or idle). */
  readonly timeMs: number;
  /** 'executing' while a statement runs, else empty. */
  readonly state: string;
  /** The running statement's text, null when idle. */
  readonly info: string | null;
  /** Rows the running statement has read from storage plus join rows examined; 0 when idle. */
  readonly examinedRows: number;
  /** Bytes charged to the running statement's memory limit; 0 when idle. */
  readonly memoryBytes: number;
}

/** SHOW PROCESSLIST without FULL cuts Info to this many characters, as MySQL and MariaDB do. */
export const PROCESSLIST_INFO_CHARS = 100;

const COLUMNS: readonly LocalColumn[] = [
  { name: 'Id', type: 'int64' },
  { name: 'User', type: 'string' },
  { name: 'Host', type: 'string' },
  { name: 'db', type: 'string' },
  { name: 'Command', type: 'string' },
  { name: 'Time', type: 'int64' },
  { name: 'State', type: 'string' },
  { name: 'Info', type: 'string' },
  { name: 'Time_ms', type: 'double' },
  { name: 'Stage', type: 'int64' },
  { name: 'Max_stage', type: 'int64' },
  { name: 'Progress', type: 'double' },
  { name: 'Memory_used', type: 'int64' },
  { name: 'Examined_rows', type: 'int64' },
];

/**
 * Stage / Max_stage / Progress are MariaDB's progress reporting of multi-stage statements
 * (ALTER TABLE, LOAD DATA); Saiga's statements report none, which MariaDB shows as 0 / 0 / 0.000.
 */
function cells(p: ProcessInfo, infoChars: number): LocalCell[] {
  const info = p.info === null ? null : p.info.length > infoChars ? p.info.slice(0, infoChars) : p.info;
  return [p.id, p.user, p.host, p.db, p.command, Math.floor(p.timeMs / 1000), p.state, info, Math.round(p.timeMs * 1000) / 1000, 0, 0, 0, p.memoryBytes, p.examinedRows];
}

/** `SHOW [FULL] PROCESSLIST` -> { full }, anything else -> null. */
export function parseShowProcesslist(sql: string): { full: boolean } | null {
  const head = leadingKeyword(sql);
  if (head !== null && head !== 'SHOW') return null; // not worth tokenizing (large INSERTs pass here)
  let toks: Token[];
  try {
    toks = tokenize(stripComments(sql).trim());
  } catch {
    return null;
  }
  const c = new TokenCursor(toks);
  if (!c.keyword('SHOW')) return null;
  const full = c.keyword('FULL');
  if (!c.keyword('PROCESSLIST')) return null;
  c.punct(';');
  return c.done() ? { full } : null;
}

export function showProcesslist(processes: readonly ProcessInfo[], full: boolean): StatementResult {
  const sorted = [...processes].sort((a, b) => a.id - b.id);
  return rowsResult(COLUMNS, sorted.map((p) => cells(p, full ? Number.MAX_SAFE_INTEGER : PROCESSLIST_INFO_CHARS)));
}

/** Words that may follow a table reference where an alias would otherwise stand. */
const AFTER_TABLE = new Set([
  'WHERE', 'GROUP', 'ORDER', 'LIMIT', 'HAVING', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'CROSS', 'FULL', 'NATURAL',
  'STRAIGHT_JOIN', 'ON', 'USING', 'UNION', 'WINDOW', 'FOR', 'LOCK', 'INTO', 'EXCEPT', 'INTERSECT', 'OUTER',
]);

function sqlString(s: string | null): string {
  return s === null ? 'CAST(NULL AS CHAR)' : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const EMPTY: ProcessInfo = { id: 0, user: '', host: '', db: '', command: '', timeMs: 0, state: '', info: '', examinedRows: 0, memoryBytes: 0 };

/** One literal row of the derived table, with information_schema's (MariaDB's) upper-case names. */
function selectRow(p: ProcessInfo): string {
  const c = cells(p, Number.MAX_SAFE_INTEGER);
  const lit = (v: LocalCell, k: number): string => {
    const col = COLUMNS[k] as LocalColumn;
    if (col.type === 'string') return sqlString(v === null ? null : String(v));
    if (col.type === 'double') return `CAST(${Number(v).toFixed(3)} AS DOUBLE)`;
    return String(v);
  };
  return 'SELECT ' + c.map((v, k) => `${lit(v, k)} AS ${(COLUMNS[k] as LocalColumn).name.toUpperCase()}`).join(', ');
}

/**
 * Replaces every `information_schema.PROCESSLIST` table reference in a SELECT by a derived table
 * holding the given rows; returns null when the statement does not name that table.
 */
export function rewriteProcesslistTable(sql: string, processes: readonly ProcessInfo[]): string | null {
  const text = stripComments(sql);
  let toks: Token[];
  try {
    toks = tokenize(text);
  } catch {
    return null;
  }
  const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'ident' && t.text.toUpperCase() === w;
  let out = '';
  let from = 0;
  for (let i = 0; i + 2 < toks.length; i++) {
    const a = toks[i], dot = toks[i + 1], b = toks[i + 2];
    if (!isWord(a, 'INFORMATION_SCHEMA') || dot?.kind !== 'punct' || dot.text !== '.' || !isWord(b, 'PROCESSLIST')) continue;
    const after = toks[i + 3];
    const hasAlias = after !== undefined && after.kind === 'ident' && (after.quoted || !AFTER_TABLE.has(after.text.toUpperCase()));
    const sorted = [...processes].sort((x, y) => x.id - y.id);
    // No rows: one placeholder row cut by LIMIT 0 keeps the column names and types.
    const body = sorted.length > 0 ? sorted.map(selectRow).join(' UNION ALL ') : `${selectRow(EMPTY)} LIMIT 0`;
    const derived = `(${body})${hasAlias ? '' : ' AS PROCESSLIST'}`;
    out += text.slice(from, (a as Token).start) + derived;
    from = (b as Token).end;
    i += 2;
  }
  if (from === 0) return null;
  return out + text.slice(from);
}
