import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { corruption } from '../common/errors.js';
import { valueFromJson, valueToJson, type JsonValue } from '../rowset/delta-file.js';
import type { StoredColumn } from '../rowset/scan-plan.js';

/**
 * The tablet's metadata file `tablet-meta.json`: `{"crc":<crc32 of body>,"body":"<json>"}`.
 * Replaced atomically: write `tablet-meta.json.tmp`, fsync, rename, fsync the directory.
 */
export interface RowSetMeta {
  readonly id: number;
  readonly file: string;
  readonly undoFiles: readonly string[];
  readonly redoFiles: readonly string[];
  /**
   * A bulk-loaded rowset (`bulk-*.drs`, committed by one log entry): the decimal hybrid time
   * every row was inserted at (the file's own insert-ts blocks are placeholders). Absent: the
   * file's per-row insert timestamps hold.
   */
  readonly insertTs?: string;
}

export interface TabletMeta {
  readonly version: 1;
  readonly tabletId: string;
  readonly columns: readonly StoredColumn[];
  readonly keyColumnCount: number;
  readonly nextColumnId: number;
  readonly nextFileId: number;
  readonly durableOpIndex: number;
  readonly rowsets: readonly RowSetMeta[];
}

export const META_FILE = 'tablet-meta.json';

type ColumnJson = Omit<StoredColumn, 'defaultValue'> & { defaultValue?: JsonValue };

export function writeMeta(dir: string, meta: TabletMeta): void {
  const body = JSON.stringify({
    ...meta,
    columns: meta.columns.map((c): ColumnJson => {
      const { defaultValue, ...rest } = c;
      return defaultValue === undefined ? rest : { ...rest, defaultValue: valueToJson(defaultValue) };
    }),
  });
  const text = JSON.stringify({ crc: crc32(Buffer.from(body, 'utf8')), body });
  const tmp = join(dir, `${META_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, META_FILE));
  fsyncDir(dir);
}

export function readMeta(dir: string): TabletMeta | undefined {
  const path = join(dir, META_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  let wrapper: { crc: number; body: string };
  try {
    wrapper = JSON.parse(text) as { crc: number; body: string };
  } catch {
    throw corruption(path, 0, 'tablet metadata is not valid JSON');
  }
  if (typeof wrapper.body !== 'string' || crc32(Buffer.from(wrapper.body, 'utf8')) !== wrapper.crc) {
    throw corruption(path, 0, 'tablet metadata checksum mismatch');
  }
  const raw = JSON.parse(wrapper.body) as Omit<TabletMeta, 'columns'> & { columns: ColumnJson[] };
  return {
    ...raw,
    columns: raw.columns.map((c): StoredColumn => {
      const { defaultValue, ...rest } = c;
      return defaultValue === undefined ? rest : { ...rest, defaultValue: valueFromJson(defaultValue) };
    }),
  };
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
