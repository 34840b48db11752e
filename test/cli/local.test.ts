import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocal } from '../../src/cli/local-connection.js';
import { runScript, type Io, type SqlCommandOptions } from '../../src/cli/sql-command.js';
import { isSaigaError } from '../../src/common/errors.js';

/** `saiga sql --data_dir DIR`: scripts against the embedded storage + engine in-process, reopened. */
let dir: string;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'saiga-cli-local-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(): SqlCommandOptions {
  return { delimited: true, delimiter: '\t', printHeader: true, continueOnError: false, vars: new Map(), interactiveTerminal: false };
}

async function script(sql: string, database?: string): Promise<{ code: number; out: string; err: string }> {
  const conn = await openLocal({ dataDir: join(dir, 'data'), ...(database !== undefined ? { database } : {}) });
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; } };
  try {
    const code = await runScript(conn, sql, options(), io);
    return { code, out, err };
  } finally {
    await conn.close();
  }
}

describe('saiga sql --data_dir (local connection)', () => {
  it('runs DDL, DML, COPY and queries, renders values as text, and keeps data across reopen', async () => {
    const pq = join(dir, 't.parquet');
    const r1 = await script(`CREATE DATABASE demo; USE demo;
      CREATE TABLE t (id INT PRIMARY KEY, price DECIMAL(8,2), day DATE, name STRING, ok BOOLEAN);
      INSERT INTO t VALUES (1, 2.50, '2024-02-29', 'a\tb', true), (2, NULL, NULL, NULL, false);
      COPY t TO '${pq}';
      SELECT * FROM t ORDER BY id;`);
    expect(r1.err).toBe('');
    expect(r1.code).toBe(0);
    expect(r1.out).toBe('id\tprice\tday\tname\tok\n1\t2.50\t2024-02-29\t"a\tb"\t1\n2\tNULL\tNULL\tNULL\t0\n');
    const r2 = await script(`CREATE TABLE t2 (id INT PRIMARY KEY, price DECIMAL(8,2), day DATE, name STRING, ok BOOLEAN);
      COPY t2 FROM '${pq}'; SELECT COUNT(*), SUM(price) FROM t2;`, 'demo');
    expect(r2.code).toBe(0);
    expect(r2.out).toBe('COUNT(*)\tSUM(price)\n2\t2.50\n');
  });

  it('fails with the statement error and a non-zero exit code; an unknown database is refused', async () => {
    const r = await script('SELECT * FROM nope', 'demo');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('nope');
    await expect(openLocal({ dataDir: join(dir, 'data'), database: 'missing' })).rejects.toSatisfy((e: unknown) => isSaigaError(e, 'UnknownDatabase'));
  });
});
