import type { DuckDBConnection } from '@duckdb/node-api';
import { duckToTable } from '../../bench/tpch/compare.js';
import type { ResultTable } from '../../bench/tpch/compare.js';
import { resultToTable, saigaQuery } from '../../bench/tpch/saiga.js';
import type { Session } from '../../src/query/api.js';
import type { SqlEngineAdapter } from './runner.js';

/** The runner's view of a Saiga session: statements are drained, queries read as rows. */
export function saigaAdapter(session: Session): SqlEngineAdapter {
  return {
    name: 'saiga',
    async execute(sql: string): Promise<void> {
      for (const r of await session.execute(sql)) {
        if (r.kind === 'rows') await resultToTable(r);
      }
    },
    query(sql: string): Promise<ResultTable> {
      return saigaQuery(session, sql);
    },
  };
}

/** DuckDB as a reference engine for the same files (records marked skipif duckdb are skipped). */
export function duckDbAdapter(conn: DuckDBConnection): SqlEngineAdapter {
  return {
    name: 'duckdb',
    async execute(sql: string): Promise<void> {
      await conn.run(sql);
    },
    async query(sql: string): Promise<ResultTable> {
      return duckToTable(await conn.runAndReadAll(sql));
    },
  };
}
