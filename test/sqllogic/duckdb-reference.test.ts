import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { duckDbAdapter } from './engines.js';
import { sqlTestFiles } from './files.js';
import { formatFailures, parseSqllogic, runRecords } from './runner.js';

/**
 * The same files against DuckDB: the expected results were worked out by hand, and this checks
 * them against an independent engine (records whose MySQL semantics differ from DuckDB's are
 * marked `skipif duckdb`, with `onlyif duckdb` twins where useful).
 */
describe('sqllogictest files on DuckDB (reference check of the expected results)', () => {
  for (const { name, text } of sqlTestFiles()) {
    it(name, async () => {
      const records = parseSqllogic(text, name);
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      const conn = await instance.connect();
      try {
        const result = await runRecords(records, duckDbAdapter(conn));
        expect(result.failures.length, formatFailures(`test/sql/${name}`, result.failures)).toBe(0);
        expect(result.executed).toBeGreaterThan(0);
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
    });
  }
});
