import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareResults, duckToTable } from '../../bench/tpch/compare.js';
import type { ResultTable } from '../../bench/tpch/compare.js';
import { generateTpch } from '../../bench/tpch/dbgen.js';
import { loadDuckDb, loadSaiga } from '../../bench/tpch/load.js';
import { tpchQueries } from '../../bench/tpch/queries.js';
import { openSaiga, saigaFactories, saigaQuery } from '../../bench/tpch/saiga.js';
import type { SaigaHandle } from '../../bench/tpch/saiga.js';
import type { Session } from '../../src/query/api.js';

/**
 * All 22 TPC-H queries at SF 0.01 in Saiga and in DuckDB over the same generated data; one test
 * per query, each asserting that Saiga's rows equal DuckDB's (see bench/tpch/compare.ts).
 */
const SF = 0.01;
const SEED = 20240601;
const QUERIES = tpchQueries(SF);

describe(`TPC-H SF ${SF} (seed ${SEED}): Saiga equals DuckDB`, () => {
  let instance: DuckDBInstance | undefined;
  let duck: DuckDBConnection | undefined;
  let saiga: SaigaHandle | undefined;
  let session: Session | undefined;
  let saigaSetupError: Error | undefined;
  let dataDir: string | undefined;
  const expected = new Map<string, ResultTable>();

  beforeAll(async () => {
    const data = generateTpch(SF, SEED);
    instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    duck = await instance.connect();
    await loadDuckDb(duck, data);
    for (const q of QUERIES) expected.set(q.name, duckToTable(await duck.runAndReadAll(q.sql)));
    try {
      dataDir = mkdtempSync(join(tmpdir(), 'saiga-tpch-test-'));
      const factories = saigaFactories(
        (await import('../../src/client/index.js')) as Record<string, unknown>,
        (await import('../../src/query/index.js')) as Record<string, unknown>,
      );
      saiga = await openSaiga(dataDir, factories);
      await loadSaiga(saiga.storage, data, { database: 'tpch', buckets: 2 });
      session = saiga.engine.openSession({ user: 'root', database: 'tpch', connectionId: 1 });
    } catch (e) {
      saigaSetupError = e as Error;
    }
  }, 60_000);

  afterAll(async () => {
    session?.close();
    await saiga?.close();
    duck?.closeSync();
    instance?.closeSync();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('DuckDB answers every query (the reference is meaningful)', () => {
    expect(expected.size).toBe(22);
    // At this scale most queries return rows; a few single-aggregate ones return exactly one.
    const empty = QUERIES.filter((q) => (expected.get(q.name)?.rows.length ?? 0) === 0).map((q) => q.name);
    expect(empty).toEqual([]);
  });

  for (const q of QUERIES) {
    it(q.name, async () => {
      if (saigaSetupError !== undefined) throw new Error(`Saiga could not be opened and loaded: ${saigaSetupError.message}`);
      const want = expected.get(q.name);
      if (want === undefined || session === undefined) throw new Error('setup did not finish');
      const got = await saigaQuery(session, q.sql);
      expect(got.columnNames.length, `column count of ${q.name}`).toBe(want.columnNames.length);
      const diff = compareResults(got.rows, want.rows, q);
      expect(diff, `${q.name}: ${q.sql}`).toBeUndefined();
    });
  }
});
