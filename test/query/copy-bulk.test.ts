import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import type { BulkLoad, RowError, StorageApi, WriteResult } from '../../src/common/storage-api.js';
import { openEmbeddedStorage } from '../../src/client/embedded-storage.js';
import { createQueryEngine } from '../../src/query/index.js';
import type { QueryEngine, Session } from '../../src/query/api.js';
import { rowsOf } from './helpers.js';

/**
 * COPY FROM writes through StorageApi.bulkLoad when the storage has one and through writeArrow
 * otherwise, with the same results and errors. The storage is wrapped three ways:
 * - 'fallback': bulkLoad hidden (writeArrow path);
 * - 'recorded': a bulkLoad over the base storage's writeArrow that reports nothing applied per
 *   write, every applied row at finish(), and moves duplicate-key errors to finish() (rowIndex -1,
 *   as a load that finds them at commit does), recording its calls;
 * - 'native': the embedded storage as it is (its own bulkLoad when it has one).
 */

let dir: string;
let duck: DuckDBConnection;
let base: StorageApi;

interface LoadLog { writes: number; finishes: number; aborts: number }

type Mode = 'fallback' | 'recorded' | 'native';

const MODES: readonly Mode[] = ['fallback', 'recorded', 'native'];

function wrapStorage(inner: StorageApi, mode: Mode, log: LoadLog): StorageApi {
  if (mode === 'native') return inner;
  const recordedLoad = (database: string, table: string): BulkLoad => {
    let applied = 0;
    const commitErrors: RowError[] = [];
    let closed = false;
    return {
      async write(batch: RecordBatch): Promise<WriteResult> {
        expect(closed, 'write() after finish() or abort()').toBe(false);
        log.writes++;
        const r = await inner.writeArrow(database, table, 'insert', batch);
        applied += r.appliedCount;
        for (const e of r.rowErrors) if (e.code === 'AlreadyPresent') commitErrors.push({ ...e, rowIndex: -1 });
        return { appliedCount: 0, rowErrors: r.rowErrors.filter((e) => e.code !== 'AlreadyPresent'), timestamp: r.timestamp };
      },
      async finish(): Promise<WriteResult> {
        expect(closed, 'finish() twice or after abort()').toBe(false);
        closed = true;
        log.finishes++;
        return { appliedCount: applied, rowErrors: commitErrors, timestamp: inner.now() };
      },
      async abort(): Promise<void> {
        closed = true;
        log.aborts++;
      },
    };
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'bulkLoad') return mode === 'fallback' ? undefined : recordedLoad;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface Harness { engine: QueryEngine; session: Session; log: LoadLog }

const harnesses: Harness[] = [];

/** An engine over the storage wrapped for `mode`, with a session in a new database `db`. */
async function harness(mode: Mode, db: string): Promise<Harness> {
  const log: LoadLog = { writes: 0, finishes: 0, aborts: 0 };
  const storage = wrapStorage(base, mode, log);
  const engine = createQueryEngine({ storage, coprocessor: false });
  const session = engine.openSession({ user: 'root', connectionId: harnesses.length + 1 });
  const h = { engine, session, log };
  harnesses.push(h);
  await session.execute(`CREATE DATABASE ${db}; USE ${db}`);
  return h;
}

/**
 * Runs `body` on every path, each in a database of its own; the outcomes it pushes (results or
 * error texts) must be the same on every path.
 */
async function onEveryPath(prefix: string, body: (h: Harness, mode: Mode, outcomes: string[]) => Promise<void>): Promise<void> {
  const seen = new Map<Mode, string[]>();
  for (const mode of MODES) {
    const outcomes: string[] = [];
    await body(await harness(mode, `${prefix}_${mode}`), mode, outcomes);
    seen.set(mode, outcomes);
  }
  expect(seen.get('recorded')).toEqual(seen.get('fallback'));
  expect(seen.get('native')).toEqual(seen.get('fallback'));
}

async function outcome(s: Session, sql: string): Promise<string> {
  try {
    const [r] = await s.execute(sql);
    return r?.kind === 'ok' ? `ok ${r.affectedRows} ${r.info ?? ''}` : `?${r?.kind}`;
  } catch (e) {
    if (!isSaigaError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
}

async function q(s: Session, sql: string): Promise<string[][]> {
  const rs = await s.execute(sql);
  return (await rowsOf(rs[rs.length - 1]!)).map((r) => r.map(String));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-copy-bulk-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  base = await openEmbeddedStorage({ dataDir: join(dir, 'store') });
  // 200000 rows = 4 read batches; keys 0..149999, then 150000..199999 repeat keys 0..49999.
  await duck.run(`COPY (SELECT (CASE WHEN i < 150000 THEN i ELSE i - 150000 END)::INTEGER AS k, (i * 3)::BIGINT AS v FROM range(200000) t(i)) TO '${join(dir, 'dups.parquet')}' (FORMAT PARQUET, ROW_GROUP_SIZE 60000)`);
  await duck.run(`COPY (SELECT i::INTEGER AS k, (i * 3)::BIGINT AS v FROM range(200000) t(i)) TO '${join(dir, 'clean.parquet')}' (FORMAT PARQUET, ROW_GROUP_SIZE 60000)`);
  await duck.run(`COPY (SELECT i::INTEGER AS k, CASE WHEN i = 140000 THEN NULL ELSE i::BIGINT END AS v FROM range(200000) t(i)) TO '${join(dir, 'null.parquet')}' (FORMAT PARQUET)`);
  await duck.run(`COPY (SELECT i::INTEGER AS k, (i * 3)::BIGINT AS v FROM range(40000) t(i)) TO '${join(dir, 'clean.csv')}' (FORMAT CSV, HEADER true)`);
  // A CSV whose bad field comes after the first batch (16384 rows) was read.
  writeFileSync(join(dir, 'bad.csv'), `k,v\n${Array.from({ length: 20000 }, (_, i) => `${i},${i}`).join('\n')}\n20000,x\n`);
}, 60_000);

afterAll(async () => {
  for (const h of harnesses) await h.engine.close();
  await base.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('COPY FROM through bulkLoad or writeArrow', () => {
  it('a clean Parquet file and a CSV file land whole on every path; a bulk load is written per batch and finished once', async () => {
    await onEveryPath('c', async (h, mode, outcomes) => {
      await h.session.execute('CREATE TABLE t (k INT PRIMARY KEY, v BIGINT) PARTITION BY HASH (k) PARTITIONS 3');
      outcomes.push(await outcome(h.session, `COPY t FROM '${join(dir, 'clean.parquet')}'`));
      expect(await q(h.session, 'SELECT COUNT(*), SUM(v), MIN(k), MAX(k) FROM t'), mode).toEqual([['200000', String(3 * (199999 * 200000) / 2), '0', '199999']]);
      await h.session.execute('CREATE TABLE c (k INT PRIMARY KEY, v BIGINT)');
      outcomes.push(await outcome(h.session, `COPY c FROM '${join(dir, 'clean.csv')}' WITH (FORMAT CSV, HEADER true)`));
      expect(await q(h.session, 'SELECT COUNT(*), SUM(v) FROM c'), mode).toEqual([['40000', String(3 * (39999 * 40000) / 2)]]);
      expect(outcomes, mode).toEqual(['ok 200000 Records: 200000', 'ok 40000 Records: 40000']);
      if (mode === 'recorded') expect(h.log).toEqual({ writes: 4 + 3, finishes: 2, aborts: 0 });
      if (mode === 'fallback') expect(h.log).toEqual({ writes: 0, finishes: 0, aborts: 0 });
    });
  });

  it('duplicate keys (found per write or at finish) give the same AlreadyPresent error and rows on every path', async () => {
    await onEveryPath('d', async (h, mode, outcomes) => {
      await h.session.execute('CREATE TABLE t (k INT PRIMARY KEY, v BIGINT)');
      const got = await outcome(h.session, `COPY t FROM '${join(dir, 'dups.parquet')}'`);
      expect(got, mode).toContain('AlreadyPresent: COPY FROM into');
      expect(got, mode).toContain('50000 row(s) had a duplicate primary key');
      expect(got, mode).toContain('the other 150000 row(s) were written');
      outcomes.push(got.replace(`d_${mode}`, 'DB'));
      expect(await q(h.session, 'SELECT COUNT(*), SUM(v), MIN(k), MAX(k) FROM t'), mode).toEqual([['150000', String(3 * (149999 * 150000) / 2), '0', '149999']]);
      if (mode === 'recorded') expect(h.log).toEqual({ writes: 4, finishes: 1, aborts: 0 });
    });
  });

  it('a row error stops the load, keeps the rows taken before it (finish, not abort) and names the row', async () => {
    await onEveryPath('n', async (h, mode, outcomes) => {
      await h.session.execute('CREATE TABLE t (k INT PRIMARY KEY, v BIGINT NOT NULL)');
      const got = await outcome(h.session, `COPY t FROM '${join(dir, 'null.parquet')}'`);
      expect(got, mode).toMatch(/^InvalidArgument: COPY FROM: row 140001: /);
      outcomes.push(got);
      const [[n]] = (await q(h.session, 'SELECT COUNT(*) FROM t')) as [[string]];
      // The batches before the bad one were written.
      expect(Number(n), mode).toBeGreaterThanOrEqual(131072);
      expect(Number(n), mode).toBeLessThan(200000);
      if (mode === 'recorded') expect({ finishes: h.log.finishes, aborts: h.log.aborts }).toEqual({ finishes: 1, aborts: 0 });
    });
  });

  it('a failure while reading aborts a bulk load; the error is the same on every path', async () => {
    await onEveryPath('a', async (h, mode, outcomes) => {
      await h.session.execute('CREATE TABLE t (k INT PRIMARY KEY, v BIGINT)');
      const got = await outcome(h.session, `COPY t FROM '${join(dir, 'bad.csv')}' WITH (FORMAT CSV, HEADER true)`);
      expect(got, mode).toContain('line 20002');
      outcomes.push(got);
      if (mode === 'recorded') {
        expect(h.log).toEqual({ writes: 1, finishes: 0, aborts: 1 });
        // The recorded load wrote through writeArrow: its first batch is there; a real load's abort discards it.
        expect(await q(h.session, 'SELECT COUNT(*) FROM t')).toEqual([['16384']]);
      }
    });
  });

  it('CREATE TABLE ... AS SELECT FROM parquet(): the same rows, counts and duplicate error on every path', async () => {
    await onEveryPath('s', async (h, mode, outcomes) => {
      const [r] = await h.session.execute(`CREATE TABLE t PRIMARY KEY (k) PARTITION BY HASH (k) PARTITIONS 3 STORED AS KUDU AS SELECT k, v * 2 AS w FROM parquet('${join(dir, 'clean.parquet')}') WHERE k % 2 = 0`);
      expect(r, mode).toMatchObject({ kind: 'ok', affectedRows: 100000 });
      expect(await q(h.session, 'SELECT COUNT(*), SUM(w), MAX(k) FROM t'), mode).toEqual([['100000', String(6 * 2 * (99999 * 100000) / 2), '199998']]);
      if (mode === 'recorded') {
        expect(h.log.writes, mode).toBeGreaterThan(0);
        expect({ finishes: h.log.finishes, aborts: h.log.aborts }).toEqual({ finishes: 1, aborts: 0 });
      }
      const got = await outcome(h.session, `CREATE TABLE d PRIMARY KEY (k) STORED AS KUDU AS SELECT k, v FROM parquet('${join(dir, 'dups.parquet')}')`);
      expect(got, mode).toMatch(/^AlreadyPresent: duplicate primary key: .* \(150000 other row\(s\) were written\)$/);
      outcomes.push(got);
      expect(await q(h.session, 'SELECT COUNT(*) FROM d'), mode).toEqual([['150000']]);
    });
  });

  it('COPY FROM a glob of files with different column orders and types: one set of decode workers, each batch conformed by its own file\'s mapping', async () => {
    // 3 x 100000 rows (past the decode-worker threshold together, not alone); numbered parts in number order.
    const parts = join(dir, 'parts');
    await duck.run(`COPY (SELECT i::INTEGER AS k, (i * 3)::INTEGER AS v, 'a' || i AS s FROM range(0, 100000) t(i)) TO '${parts}-data_2.parquet' (FORMAT PARQUET)`);
    await duck.run(`COPY (SELECT 'b' || i AS s, (i * 3)::BIGINT AS v, i::BIGINT AS k FROM range(100000, 200000) t(i)) TO '${parts}-data_10.parquet' (FORMAT PARQUET)`);
    await duck.run(`COPY (SELECT (i % 30000)::SMALLINT AS v, i::INTEGER AS k FROM range(200000, 300000) t(i)) TO '${parts}-data_9.parquet' (FORMAT PARQUET)`);
    let vSum = 3 * (199999 * 200000) / 2;
    for (let i = 200000; i < 300000; i++) vSum += i % 30000;
    await onEveryPath('g', async (h, mode, outcomes) => {
      await h.session.execute('CREATE TABLE t (k BIGINT PRIMARY KEY, v BIGINT, s STRING) PARTITION BY HASH (k) PARTITIONS 2');
      outcomes.push(await outcome(h.session, `COPY t FROM '${parts}-data_*.parquet'`));
      expect(await q(h.session, "SELECT COUNT(*), SUM(k), SUM(v), COUNT(s), SUM(CASE WHEN s = CONCAT('a', k) OR s = CONCAT('b', k) THEN 1 ELSE 0 END) FROM t"), mode)
        .toEqual([['300000', String((299999 * 300000) / 2), String(vSum), '200000', '200000']]);
    });
  });
});
