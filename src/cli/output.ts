/**
 * Result formatting for `saiga sql`: a pretty table (impala-shell's default), or delimited
 * rows (-B) with CSV-style quoting of values that contain the delimiter, a quote or a newline.
 */

export interface TextResult {
  readonly columns: readonly string[];
  /** Values already rendered as text; null is SQL NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
}

export const NULL_TEXT = 'NULL';

export function formatPretty(result: TextResult): string {
  const widths = result.columns.map((c) => displayWidth(c));
  for (const row of result.rows) {
    row.forEach((v, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(v ?? NULL_TEXT));
    });
  }
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const line = (cells: readonly (string | null)[]): string =>
    '|' + cells.map((v, i) => ' ' + pad(v ?? NULL_TEXT, widths[i] ?? 0) + ' ').join('|') + '|';
  const out = [rule, line(result.columns), rule];
  for (const row of result.rows) out.push(line(row));
  out.push(rule);
  return out.join('\n');
}

export function formatDelimited(result: TextResult, delimiter: string, printHeader: boolean): string {
  const lines: string[] = [];
  if (printHeader) lines.push(result.columns.map((c) => quoteField(c, delimiter)).join(delimiter));
  for (const row of result.rows) lines.push(row.map((v) => (v === null ? NULL_TEXT : quoteField(v, delimiter))).join(delimiter));
  return lines.join('\n');
}

/** Quotes a field when it holds the delimiter, a double quote or a line break (RFC 4180 style). */
export function quoteField(value: string, delimiter: string): string {
  if (value.includes(delimiter) || value.includes('"') || value.includes('\n') || value.includes('\r')) {
    return '"' + value.replace(/"/g, '""') + '"';
  }
  return value;
}

function displayWidth(s: string): number {
  let w = 0;
  for (const _ of s) w++;
  return w;
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}
