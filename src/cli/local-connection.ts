import { mkdirSync } from 'node:fs';
import type { RecordBatch } from 'apache-arrow';
import { openEmbeddedStorage } from '../client/index.js';
import { SaigaError } from '../common/errors.js';
import type { StorageApi } from '../common/storage-api.js';
import { cast, columnFromArrow, type Column } from '../columnar/index.js';
import { createQueryEngine, type QueryEngine, type Session, type StatementResult } from '../query/index.js';
import type { RunProgress, RunResult, SqlConnection } from './connection.js';
import type { TextResult } from './output.js';

/**
 * `saiga sql --data_dir DIR`: the embedded storage and SQL engine in this process, no server.
 * Values are rendered by the columnar cast to STRING, which prints them as MySQL does (the
 * same text the MySQL edge sends: DECIMAL at its scale, DATE as YYYY-MM-DD, BOOLEAN as 1/0).
 */

export interface LocalOptions {
  readonly dataDir: string;
  /** Database to USE when it exists (`default` when not given). */
  readonly database?: string;
}

const decoder = new TextDecoder();

function textColumn(col: Column): (string | null)[] {
  const s = col.type === 'string' || col.type === 'binary' ? col : cast(col, { type: 'string', precision: 0, scale: 0 }, null);
  const o = s.offsets!;
  const d = s.data!;
  const out = new Array<string | null>(s.length);
  for (let i = 0; i < s.length; i++) {
    const valid = s.validity === null || (s.validity[i >> 3]! & (1 << (i & 7))) !== 0;
    out[i] = valid ? decoder.decode(d.subarray(o[i]!, o[i + 1]!)) : null;
  }
  return out;
}

/** Renders a result's batches as text rows. */
export async function resultToText(r: Extract<StatementResult, { kind: 'rows' }>): Promise<TextResult> {
  const rows: (string | null)[][] = [];
  const batches: RecordBatch[] = [];
  for await (const b of r.batches) batches.push(b);
  for (const b of batches) {
    const cols = r.columns.map((_, k) => textColumn(columnFromArrow(b.getChildAt(k)!)));
    for (let i = 0; i < b.numRows; i++) rows.push(cols.map((c) => c[i] ?? null));
  }
  return { columns: r.columns.map((c) => c.name), rows };
}

export async function openLocal(options: LocalOptions): Promise<SqlConnection> {
  mkdirSync(options.dataDir, { recursive: true });
  const storage: StorageApi = await openEmbeddedStorage({ dataDir: options.dataDir });
  let engine: QueryEngine;
  let session: Session;
  try {
    engine = createQueryEngine({ storage, dataDir: options.dataDir });
    const want = options.database ?? 'default';
    const db = storage.listDatabases().find((d) => d.toLowerCase() === want.toLowerCase());
    if (db === undefined && options.database !== undefined) {
      await engine.close();
      await storage.close();
      throw new SaigaError('UnknownDatabase', `unknown database '${options.database}' in ${options.dataDir}`);
    }
    session = engine.openSession({ user: 'root', connectionId: 1, ...(db !== undefined ? { database: db } : {}) });
  } catch (e) {
    await storage.close().catch(() => undefined);
    throw e;
  }
  let running = false;
  return {
    target: options.dataDir,
    currentDatabase: () => session.database,
    // The engine's counter of the statement running in this process; cancelling aborts its signal.
    progress: (): Promise<RunProgress | undefined> => {
      const p = running ? session.progress?.() : undefined;
      return Promise.resolve(p === undefined ? undefined : { rowsScanned: p.rowsScanned });
    },
    async run(sql: string, signal?: AbortSignal): Promise<RunResult[]> {
      running = true;
      try {
        const results = await session.execute(sql, signal !== undefined ? { signal } : {});
        const out: RunResult[] = [];
        for (const r of results) {
          if (r.kind === 'rows') out.push({ kind: 'rows', result: await resultToText(r) });
          else out.push({ kind: 'ok', affectedRows: r.affectedRows, ...(r.info !== undefined ? { info: r.info } : {}) });
        }
        return out;
      } finally {
        running = false;
      }
    },
    async close() {
      await engine.close();
      await storage.flush();
      await storage.close();
    },
  };
}
