import type { RecordBatch } from 'apache-arrow';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { QueryEngine, Session, StatementResult } from '../../src/query/api.js';
import { arrowToCells } from './compare.js';
import type { ResultTable } from './compare.js';

/**
 * Opening Saiga in-process (embedded storage + SQL engine) and reading query results as
 * normalised rows. The factories are passed in (or loaded by URL from the compiled tree) so
 * that this file compiles whether or not src/client and src/query/index.ts exist yet.
 */

export interface SaigaHandle {
  readonly storage: StorageApi;
  readonly engine: QueryEngine;
  close(): Promise<void>;
}

export type OpenStorage = (options: { dataDir: string }) => Promise<StorageApi> | StorageApi;
export type CreateEngine = (options: { storage: StorageApi }) => QueryEngine | Promise<QueryEngine>;

export interface SaigaFactories {
  readonly openEmbeddedStorage: OpenStorage;
  readonly createQueryEngine: CreateEngine;
}

function pickFactory<T>(mod: Record<string, unknown>, where: string, exportName: string): T {
  const f = mod[exportName];
  if (typeof f !== 'function') throw new Error(`${where} does not export a function ${exportName}`);
  return f as T;
}

/** Wraps the two modules (however the caller imported them) as factories. */
export function saigaFactories(clientModule: Record<string, unknown>, queryModule: Record<string, unknown>): SaigaFactories {
  return {
    openEmbeddedStorage: pickFactory<OpenStorage>(clientModule, 'src/client', 'openEmbeddedStorage'),
    createQueryEngine: pickFactory<CreateEngine>(queryModule, 'src/query', 'createQueryEngine'),
  };
}

/** Loads the factories from the compiled tree (dist/src/...), for the benchmarks. */
export async function loadSaigaFactories(): Promise<SaigaFactories> {
  const load = async (rel: string): Promise<Record<string, unknown>> => {
    const url = new URL(rel, import.meta.url).href;
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`cannot load ${url}: ${(e as Error).message}`);
    }
  };
  return saigaFactories(await load('../../src/client/index.js'), await load('../../src/query/index.js'));
}

export async function openSaiga(dataDir: string, factories: SaigaFactories): Promise<SaigaHandle> {
  const storage = await factories.openEmbeddedStorage({ dataDir });
  const engine = await factories.createQueryEngine({ storage });
  return {
    storage,
    engine,
    async close() {
      await engine.close();
      await storage.close();
    },
  };
}

/** Drains a rows result (or throws when the statement returned no rows). */
export async function resultToTable(result: StatementResult | undefined): Promise<ResultTable> {
  if (result === undefined) throw new Error('statement returned no result');
  if (result.kind !== 'rows') throw new Error(`expected a rows result, got ${result.kind} (affectedRows ${result.affectedRows})`);
  const batches: RecordBatch[] = [];
  for await (const b of result.batches) batches.push(b);
  const columns = result.columns.map((c) => (c.scale === undefined ? { name: c.name, type: c.type } : { name: c.name, type: c.type, scale: c.scale }));
  return { columnNames: columns.map((c) => c.name), rows: arrowToCells(columns, batches) };
}

/** Runs one statement in the session and returns its rows. */
export async function saigaQuery(session: Session, sql: string): Promise<ResultTable> {
  const results = await session.execute(sql);
  if (results.length !== 1) throw new Error(`expected one result for one statement, got ${results.length}`);
  return resultToTable(results[0]);
}
