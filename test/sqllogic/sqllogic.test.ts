import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSaiga, saigaFactories } from '../../bench/tpch/saiga.js';
import { saigaAdapter } from './engines.js';
import { sqlTestFiles } from './files.js';
import { formatFailures, parseSqllogic, runRecords } from './runner.js';

/**
 * Every test/sql/*.test file against Saiga, each in a fresh data directory, through a
 * QueryEngine session on database `test`. One vitest test per file; a failure lists every
 * failing record as file:line with the expected and actual rows.
 */
describe('sqllogictest files on Saiga', () => {
  for (const { name, text } of sqlTestFiles()) {
    it(name, async () => {
      const records = parseSqllogic(text, name);
      const factories = saigaFactories(
        (await import('../../src/client/index.js')) as Record<string, unknown>,
        (await import('../../src/query/index.js')) as Record<string, unknown>,
      );
      const dataDir = mkdtempSync(join(tmpdir(), 'saiga-sqllogic-'));
      const saiga = await openSaiga(dataDir, factories);
      try {
        await saiga.storage.createDatabase('test', true);
        const session = saiga.engine.openSession({ user: 'root', database: 'test', connectionId: 1 });
        try {
          const result = await runRecords(records, saigaAdapter(session));
          expect(result.failures.length, formatFailures(`test/sql/${name}`, result.failures)).toBe(0);
          expect(result.executed).toBeGreaterThan(0);
        } finally {
          session.close();
        }
      } finally {
        await saiga.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
