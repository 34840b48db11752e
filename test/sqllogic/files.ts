import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SQL_DIR = resolve(__dirname, '..', 'sql');

export function sqlTestFiles(): Array<{ name: string; text: string }> {
  return readdirSync(SQL_DIR)
    .filter((f) => f.endsWith('.test'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(SQL_DIR, name), 'utf8') }));
}
