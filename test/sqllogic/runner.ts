import type { Cell, ResultTable } from '../../bench/tpch/compare.js';
import { formatCell } from '../../bench/tpch/compare.js';

/**
 * A sqllogictest runner (the format of SQLite's sqllogictest, as DuckDB uses it):
 *
 *   statement ok | statement error [regex]     then the SQL, up to a blank line
 *   query <types> [nosort|rowsort|valuesort]    then the SQL, '----', the expected rows, a blank line
 *   skipif <engine> | onlyif <engine>           on the line before a record
 *   halt | hash-threshold N                     (halt stops the file; hash-threshold is ignored)
 *   # comment
 *
 * Expected rows are tab-separated, one row per line (one value per line is accepted too).
 * Values are printed per column type letter: I integer, R number with 3 decimals, T text
 * (decimals with their scale, dates YYYY-MM-DD, booleans 1/0). NULL prints as NULL and the
 * empty string as (empty).
 *
 * Engines are adapters (Saiga, DuckDB) so the same files can be checked against DuckDB.
 */

export type SortMode = 'nosort' | 'rowsort' | 'valuesort';

export type SqlRecord =
  | { readonly kind: 'statement'; readonly line: number; readonly sql: string; readonly expectError: boolean; readonly errorPattern?: string }
  | { readonly kind: 'query'; readonly line: number; readonly sql: string; readonly types: string; readonly sort: SortMode; readonly expected: readonly string[] }
  | { readonly kind: 'halt'; readonly line: number };

export interface ParsedRecord {
  readonly record: SqlRecord;
  readonly skipIf: readonly string[];
  readonly onlyIf: readonly string[];
}

export class SqllogicParseError extends Error {}

/** Parses a .test file. Line numbers are 1-based and point at the record's first line. */
export function parseSqllogic(text: string, fileName: string): ParsedRecord[] {
  const lines = text.split(/\r?\n/);
  const out: ParsedRecord[] = [];
  let i = 0;
  let skipIf: string[] = [];
  let onlyIf: string[] = [];
  const fail = (msg: string): never => {
    throw new SqllogicParseError(`${fileName}:${i + 1}: ${msg}`);
  };
  const readBlock = (stopAtDashes: boolean): { sql: string[]; dashes: boolean } => {
    const sql: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '') {
      const l = lines[i] as string;
      if (stopAtDashes && l.trim() === '----') {
        i++;
        return { sql, dashes: true };
      }
      sql.push(l);
      i++;
    }
    return { sql, dashes: false };
  };
  while (i < lines.length) {
    const raw = lines[i] as string;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    const start = i + 1;
    const words = line.split(/\s+/);
    const head = words[0];
    if (head === 'skipif' || head === 'onlyif') {
      const engine = words[1];
      if (engine === undefined) fail(`${head} needs an engine name`);
      (head === 'skipif' ? skipIf : onlyIf).push(engine as string);
      i++;
      continue;
    }
    if (head === 'hash-threshold') {
      i++;
      continue;
    }
    if (head === 'halt') {
      out.push({ record: { kind: 'halt', line: start }, skipIf, onlyIf });
      skipIf = [];
      onlyIf = [];
      i++;
      continue;
    }
    if (head === 'statement') {
      const mode = words[1];
      if (mode !== 'ok' && mode !== 'error') fail(`expected 'statement ok' or 'statement error', found '${line}'`);
      i++;
      const { sql } = readBlock(false);
      if (sql.length === 0) fail('statement without SQL');
      const pattern = line.replace(/^statement\s+error\s*/, '');
      const record: SqlRecord = mode === 'error' && pattern !== '' && pattern !== line
        ? { kind: 'statement', line: start, sql: sql.join('\n'), expectError: true, errorPattern: pattern }
        : { kind: 'statement', line: start, sql: sql.join('\n'), expectError: mode === 'error' };
      out.push({ record, skipIf, onlyIf });
    } else if (head === 'query') {
      const types = words[1];
      if (types === undefined || !/^[IRT]+$/.test(types)) fail(`expected 'query <types>' with types from I, R, T; found '${line}'`);
      const sortWord = words[2] ?? 'nosort';
      if (sortWord !== 'nosort' && sortWord !== 'rowsort' && sortWord !== 'valuesort') fail(`unknown sort mode '${sortWord}'`);
      i++;
      const { sql, dashes } = readBlock(true);
      if (sql.length === 0) fail('query without SQL');
      const expected: string[] = [];
      if (dashes) {
        while (i < lines.length && (lines[i] as string).trim() !== '') expected.push((lines[i++] as string).replace(/\s+$/, ''));
      }
      out.push({ record: { kind: 'query', line: start, sql: sql.join('\n'), types: types as string, sort: sortWord as SortMode, expected }, skipIf, onlyIf });
    } else {
      fail(`unknown record '${line}'`);
    }
    skipIf = [];
    onlyIf = [];
  }
  return out;
}

/** What the runner needs of an engine. */
export interface SqlEngineAdapter {
  readonly name: string;
  /** Runs a statement; throws on error. */
  execute(sql: string): Promise<void>;
  /** Runs a query and returns its rows. */
  query(sql: string): Promise<ResultTable>;
}

export function formatValue(c: Cell, type: string): string {
  if (c === null) return 'NULL';
  if (type === 'R' && (c.t === 'n' || c.t === 'f')) {
    const x = c.t === 'f' ? c.v : Number(c.v) / 10 ** c.s;
    const s = x.toFixed(3);
    return s === '-0.000' ? '0.000' : s;
  }
  if (c.t === 'b') return c.v ? '1' : '0';
  if (type === 'I' && c.t === 'f' && Number.isInteger(c.v)) return c.v.toFixed(0);
  if (type === 'I' && c.t === 'n' && c.s > 0 && c.v % 10n ** BigInt(c.s) === 0n) return (c.v / 10n ** BigInt(c.s)).toString();
  const s = formatCell(c);
  return s === '' ? '(empty)' : s;
}

function compareStrings(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** The rows as the expected block would print them, sorted per the record's mode. */
export function renderRows(table: ResultTable, types: string, sort: SortMode): string[][] {
  let rows = table.rows.map((r) => r.map((c, k) => formatValue(c, types[k] ?? 'T')));
  if (sort === 'rowsort') rows = [...rows].sort(compareStrings);
  if (sort === 'valuesort') rows = rows.flat().sort().map((v) => [v]);
  return rows;
}

export interface RecordFailure {
  readonly line: number;
  readonly sql: string;
  readonly message: string;
}

export interface FileResult {
  readonly executed: number;
  readonly skipped: number;
  readonly failures: readonly RecordFailure[];
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** Expected rows in the record's sort mode (sorted too, so files need not pre-sort them). */
function normalizeExpected(expected: readonly string[], width: number, rowCount: number, sort: SortMode): string[][] {
  let rows = expected.map((l) => l.split('\t'));
  // One value per line (classic sqllogictest) when that is the only way the counts fit.
  if (width > 1 && sort !== 'valuesort' && rows.every((r) => r.length === 1) && expected.length === width * rowCount) {
    rows = [];
    for (let r = 0; r < rowCount; r++) rows.push(expected.slice(r * width, (r + 1) * width));
  }
  if (sort === 'rowsort') rows.sort(compareStrings);
  if (sort === 'valuesort') rows = rows.flat().sort().map((v) => [v]);
  return rows;
}

/** Runs the records in order on one engine; keeps going after a failure and reports all. */
export async function runRecords(records: readonly ParsedRecord[], engine: SqlEngineAdapter): Promise<FileResult> {
  const failures: RecordFailure[] = [];
  let executed = 0;
  let skipped = 0;
  for (const { record, skipIf, onlyIf } of records) {
    if (skipIf.includes(engine.name) || (onlyIf.length > 0 && !onlyIf.includes(engine.name))) {
      skipped++;
      continue;
    }
    if (record.kind === 'halt') break;
    executed++;
    if (record.kind === 'statement') {
      let error: unknown;
      try {
        await engine.execute(record.sql);
      } catch (e) {
        error = e ?? new Error('unknown error');
      }
      if (!record.expectError && error !== undefined) {
        failures.push({ line: record.line, sql: record.sql, message: `expected success, got error: ${errorText(error)}` });
      } else if (record.expectError && error === undefined) {
        failures.push({ line: record.line, sql: record.sql, message: 'expected an error, the statement succeeded' });
      } else if (record.expectError && record.errorPattern !== undefined && !new RegExp(record.errorPattern, 'i').test(errorText(error))) {
        failures.push({ line: record.line, sql: record.sql, message: `expected an error matching /${record.errorPattern}/i, got: ${errorText(error)}` });
      }
      continue;
    }
    let table: ResultTable;
    try {
      table = await engine.query(record.sql);
    } catch (e) {
      failures.push({ line: record.line, sql: record.sql, message: `query failed: ${errorText(e)}` });
      continue;
    }
    const width = table.columnNames.length;
    if (width !== record.types.length) {
      failures.push({ line: record.line, sql: record.sql, message: `expected ${record.types.length} columns (${record.types}), got ${width}: ${table.columnNames.join(', ')}` });
      continue;
    }
    const got = renderRows(table, record.types, record.sort);
    const want = normalizeExpected(record.expected, width, table.rows.length, record.sort);
    const gotText = got.map((r) => r.join('\t'));
    const wantText = want.map((r) => r.join('\t'));
    if (gotText.length !== wantText.length || gotText.some((l, k) => l !== wantText[k])) {
      const firstDiff = gotText.findIndex((l, k) => l !== wantText[k]);
      failures.push({
        line: record.line, sql: record.sql,
        message: `result differs (first at row ${firstDiff < 0 ? gotText.length : firstDiff})\n  expected:\n${wantText.map((l) => `    ${l}`).join('\n')}\n  got:\n${gotText.map((l) => `    ${l}`).join('\n')}`,
      });
    }
  }
  return { executed, skipped, failures };
}

export function formatFailures(file: string, failures: readonly RecordFailure[]): string {
  return failures.map((f) => `${file}:${f.line}: ${f.message}\n  sql: ${f.sql.replace(/\n/g, '\n       ')}`).join('\n\n');
}
