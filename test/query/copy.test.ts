import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { createQueryEngine } from '../../src/query/index.js';
import { openEmbeddedStorage } from '../../src/client/embedded-storage.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { QueryEngine } from '../../src/query/api.js';
import { rowsOf, type Harness } from './helpers.js';

let dir: string;
let duck: DuckDBConnection;
let h: Omit<Harness, 'storage'>;
let storage: StorageApi;
let engine: QueryEngine;

const SEED = 20240611;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

async function duckRows(sql: string): Promise<unknown[][]> {
  const r = await duck.runAndReadAll(sql);
  return r.getRows().map((row) => row.map((v) => (typeof v === 'bigint' ? v.toString() : v === null ? null : typeof v === 'object' ? String(v) : v)));
}

async function expectError(p: Promise<unknown>, code: string, ...parts: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isSaigaError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    for (const s of parts) expect((e as Error).message).toContain(s);
    return;
  }
  throw new Error(`expected ${code} error`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-copy-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  storage = await openEmbeddedStorage({ dataDir: join(dir, 'store') });
  engine = createQueryEngine({ storage, dataDir: join(dir, 'store'), coprocessor: false });
  const session = engine.openSession({ user: 'root', connectionId: 1 });
  await session.execute('CREATE DATABASE cp; USE cp');
  h = {
    session,
    exec: (sql) => session.execute(sql),
    async q(sql) { const rs = await session.execute(sql); return rowsOf(rs[rs.length - 1]!); },
  };
  await h.exec(`CREATE TABLE items (id INT PRIMARY KEY, big BIGINT, name VARCHAR(40), price DECIMAL(12,2), day DATE, ts TIMESTAMP, flag BOOLEAN, ratio DOUBLE)`);
  const r = rng(SEED);
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const nul = (x: string): string => (r() < 0.1 ? 'NULL' : x);
    const price = (Math.floor(r() * 2000000) - 1000000) / 100;
    const day = `'${1990 + Math.floor(r() * 30)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}'`;
    rows.push(`(${i}, ${nul(String(BigInt(Math.floor(r() * 1e9)) * 100000n))}, ${nul(`'name ${i}${r() < 0.2 ? ', "quoted"' : ''}'`)}, ${nul(price.toFixed(2))}, ${nul(day)}, ${nul(`'2021-03-0${1 + (i % 9)} 12:34:56.123456'`)}, ${nul(r() < 0.5 ? 'true' : 'false')}, ${nul(String(r() * 1000))})`);
  }
  await h.exec(`INSERT INTO items VALUES ${rows.join(',')}`);
}, 30_000);

afterAll(async () => {
  await engine.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe(`COPY TO / FROM Parquet (seed ${SEED})`, () => {
  it('DuckDB reads what COPY TO writes, with the same rows (snappy and zstd)', async () => {
    for (const codec of ['snappy', 'zstd']) {
      const path = join(dir, `items-${codec}.parquet`);
      const [res] = await h.exec(`COPY items TO '${path}' WITH (FORMAT PARQUET, COMPRESSION '${codec}')`);
      expect(res).toMatchObject({ kind: 'ok', affectedRows: 3000 });
      const ours = await h.q(`SELECT COUNT(*), COUNT(big), SUM(big), COUNT(name), SUM(price), MIN(day), MAX(day), SUM(CASE WHEN flag THEN 1 ELSE 0 END), COUNT(ts) FROM items`);
      const theirs = await duckRows(`SELECT COUNT(*), COUNT(big), SUM(big), COUNT(name), SUM(price), MIN(day), MAX(day), SUM(CASE WHEN flag THEN 1 ELSE 0 END), COUNT(ts) FROM read_parquet('${path}')`);
      expect(theirs[0]!.map(String)).toEqual(ours[0]!.map(String));
      // Row by row for a slice, including strings with quotes and commas.
      const a = await h.q(`SELECT id, name, price, ratio FROM items WHERE id < 50 ORDER BY id`);
      const b = await duckRows(`SELECT id, name, CAST(price AS VARCHAR), ratio FROM read_parquet('${path}') WHERE id < 50 ORDER BY id`);
      expect(b.map((r) => r.map((v) => (v === null ? null : String(v))))).toEqual(a.map((r) => r.map((v) => (v === null ? null : String(v)))));
    }
  });

  it('COPY TO with ROW_GROUP_SIZE: row groups encoded in parallel, joined in order under one footer', async () => {
    const path = join(dir, 'items-groups.parquet');
    const [res] = await h.exec(`COPY items TO '${path}' WITH (FORMAT PARQUET, ROW_GROUP_SIZE 700)`);
    expect(res).toMatchObject({ kind: 'ok', affectedRows: 3000 });
    const groups = await duckRows(`SELECT row_group_id, MIN(row_group_num_rows) FROM parquet_metadata('${path}') GROUP BY 1 ORDER BY 1`);
    expect(groups).toEqual([['0', '700'], ['1', '700'], ['2', '700'], ['3', '700'], ['4', '200']]);
    const a = await h.q(`SELECT id, name, price, ratio FROM items ORDER BY id`);
    const b = await duckRows(`SELECT id, name, CAST(price AS VARCHAR), ratio FROM read_parquet('${path}') ORDER BY id`);
    expect(b.length).toBe(3000);
    const text = (rows: unknown[][]): (string | null)[][] => rows.map((r) => r.map((v) => (v === null ? null : String(v))));
    expect(text(b)).toEqual(text(a));
  });

  it('COPY TO with PARQUET_VERSION V2: DuckDB reads the same rows; a bad version is refused', async () => {
    const v1 = join(dir, 'items-v1.parquet');
    const v2 = join(dir, 'items-v2.parquet');
    await h.exec(`COPY items TO '${v1}' WITH (FORMAT PARQUET, PARQUET_VERSION V1)`);
    await h.exec(`COPY items TO '${v2}' WITH (FORMAT PARQUET, PARQUET_VERSION 'v2')`);
    const q = (p: string): string => `SELECT COUNT(*), SUM(id), SUM(big), COUNT(name), MAX(name), SUM(price), MIN(day), COUNT(ts) FROM read_parquet('${p}')`;
    expect(await duckRows(q(v2))).toEqual(await duckRows(q(v1)));
    // Distinct names outgrow the 16 KiB dictionary page: v1 falls back to PLAIN, v2 to a delta encoding.
    const enc = async (p: string): Promise<string> => String((await duckRows(`SELECT string_agg(encodings, ',') FROM parquet_metadata('${p}') WHERE path_in_schema = 'name'`))[0]![0]);
    expect(await enc(v2)).toContain('DELTA_BYTE_ARRAY');
    expect(await enc(v1)).not.toContain('DELTA');
    await expectError(h.exec(`COPY items TO '${v2}' WITH (FORMAT PARQUET, PARQUET_VERSION V3)`), 'InvalidArgument', 'PARQUET_VERSION', 'V3');
  });

  it('COPY (query) TO writes the query result', async () => {
    const path = join(dir, 'q.parquet');
    await h.exec(`COPY (SELECT id, id * 2 AS twice, UPPER(name) AS n FROM items WHERE id % 10 = 3) TO '${path}'`);
    const b = await duckRows(`SELECT COUNT(*), SUM(twice), MAX(n) FROM read_parquet('${path}')`);
    const a = await h.q(`SELECT COUNT(*), SUM(id * 2), MAX(UPPER(name)) FROM items WHERE id % 10 = 3`);
    expect(b[0]!.map(String)).toEqual(a[0]!.map(String));
  });

  it('COPY FROM round-trips into an empty table; an empty result writes a readable file', async () => {
    const path = join(dir, 'items-snappy.parquet');
    await h.exec(`CREATE TABLE items2 (id INT PRIMARY KEY, big BIGINT, name VARCHAR(40), price DECIMAL(12,2), day DATE, ts TIMESTAMP, flag BOOLEAN, ratio DOUBLE)`);
    const [res] = await h.exec(`COPY items2 FROM '${path}'`);
    expect(res).toMatchObject({ kind: 'ok', affectedRows: 3000 });
    const q = `SELECT COUNT(*), SUM(big), SUM(price), MIN(ts), MAX(name), SUM(ratio) FROM `;
    expect(await h.q(q + 'items2')).toEqual(await h.q(q + 'items'));
    const empty = join(dir, 'empty.parquet');
    await h.exec(`COPY (SELECT * FROM items WHERE id < 0) TO '${empty}'`);
    expect(await duckRows(`SELECT COUNT(*) FROM read_parquet('${empty}')`)).toEqual([['0']]);
  });

  it('reads DuckDB files with safe widenings (int32->bigint, timestamp ns/ms->us, decimal scale-up, globs)', async () => {
    for (let f = 0; f < 2; f++) {
      await duck.run(`COPY (SELECT (i + ${f * 1000})::INTEGER AS k, (i * 7)::INTEGER AS v, 'r' || i AS s,
        (TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS tns,
        (TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (i) MINUTE)::TIMESTAMP_MS AS tms,
        (i / 4)::DECIMAL(8,2) AS d, (i % 3)::SMALLINT AS small
        FROM range(500) t(i)) TO '${join(dir, `duck-${f}.parquet`)}' (FORMAT PARQUET)`);
    }
    await h.exec(`CREATE TABLE wide (k BIGINT PRIMARY KEY, v BIGINT, s STRING, tns TIMESTAMP, tms TIMESTAMP, d DECIMAL(18,4), small INT)`);
    const [res] = await h.exec(`COPY wide FROM '${join(dir, 'duck-*.parquet')}' WITH (FORMAT PARQUET)`);
    expect(res).toMatchObject({ affectedRows: 1000 });
    expect(await h.q(`SELECT COUNT(*), SUM(v), MAX(s), MAX(tns), MAX(tms), SUM(d), SUM(small) FROM wide`)).toEqual(
      [['1000', '1746500', 'r99', '2020-01-01 00:08:19.000', '2020-01-01 08:19:00.000', '62375.0000', '998']],
    );
  });

  it('refuses a type mismatch naming the column, the file type and the table type', async () => {
    const path = join(dir, 'strings.parquet');
    await duck.run(`COPY (SELECT i::INTEGER AS k, 'x' || i AS v FROM range(5) t(i)) TO '${path}' (FORMAT PARQUET)`);
    await h.exec(`CREATE TABLE narrow (k INT PRIMARY KEY, v INT)`);
    await expectError(h.exec(`COPY narrow FROM '${path}'`), 'InvalidArgument', "'v'", 'STRING', 'INT');
    await duck.run(`COPY (SELECT i::BIGINT AS k FROM range(5) t(i)) TO '${join(dir, 'big.parquet')}' (FORMAT PARQUET)`);
    await expectError(h.exec(`COPY narrow FROM '${join(dir, 'big.parquet')}'`), 'InvalidArgument', "'k'", 'BIGINT', 'INT');
    await expectError(h.exec(`COPY narrow FROM '${join(dir, 'nope-*.parquet')}'`), 'NotFound');
    expect(await h.q('SELECT COUNT(*) FROM narrow')).toEqual([['0']]);
  });

  it('duplicate keys: the other rows are written and the statement fails with AlreadyPresent', async () => {
    const path = join(dir, 'dups.parquet');
    await duck.run(`COPY (SELECT (i % 5)::INTEGER AS k, 1::INTEGER AS v FROM range(8) t(i)) TO '${path}' (FORMAT PARQUET)`);
    await h.exec(`CREATE TABLE d1 (k INT PRIMARY KEY, v INT)`);
    await expectError(h.exec(`COPY d1 FROM '${path}'`), 'AlreadyPresent', '3 row(s)');
    expect(await h.q('SELECT COUNT(*) FROM d1')).toEqual([['5']]);
  });

  it('multi-batch COPY FROM (one write in flight): every batch lands, duplicates across batches and a later bad row are reported', async () => {
    // 200000 rows = 4 read batches of 65536; keys 0..149999 then 150000..199999 repeat keys 0..49999.
    const path = join(dir, 'many.parquet');
    await duck.run(`COPY (SELECT (CASE WHEN i < 150000 THEN i ELSE i - 150000 END)::INTEGER AS k, (i * 3)::BIGINT AS v FROM range(200000) t(i)) TO '${path}' (FORMAT PARQUET, ROW_GROUP_SIZE 60000)`);
    await h.exec(`CREATE TABLE many (k INT PRIMARY KEY, v BIGINT)`);
    await expectError(h.exec(`COPY many FROM '${path}'`), 'AlreadyPresent', '50000 row(s)', 'the other 150000 row(s)');
    // The first occurrence of each key (i < 150000) is what was written.
    expect(await h.q('SELECT COUNT(*), SUM(v), MIN(k), MAX(k) FROM many')).toEqual([['150000', String(3 * (149999 * 150000) / 2), 0, 149999]]);
    await h.exec(`CREATE TABLE many2 (k INT PRIMARY KEY, v BIGINT NOT NULL)`);
    const bad = join(dir, 'many-null.parquet');
    await duck.run(`COPY (SELECT i::INTEGER AS k, CASE WHEN i = 140000 THEN NULL ELSE i::BIGINT END AS v FROM range(200000) t(i)) TO '${bad}' (FORMAT PARQUET)`);
    await expectError(h.exec(`COPY many2 FROM '${bad}'`), 'InvalidArgument');
    const [[n]] = (await h.q('SELECT COUNT(*) FROM many2')) as [[string]];
    // Batches before the bad one were written; nothing after it.
    expect(Number(n)).toBeGreaterThanOrEqual(131072);
    expect(Number(n)).toBeLessThan(200000);
  });
});

describe('COPY FROM on decode workers', () => {
  it('a file of many row groups lands whole: leased batch buffers are reused only after their writes', async () => {
    // 270000 rows (decoded on worker threads) in row groups of 15000: more batches than the
    // workers' shared slots, so slots are reused while later writes are in flight.
    const path = join(dir, 'workers.parquet');
    await duck.run(`COPY (SELECT i::INTEGER AS k, (i * 7 + 3)::BIGINT AS v, 's' || (i % 997)::VARCHAR || repeat('x', (i % 13)::INTEGER) AS s FROM range(270000) t(i)) TO '${path}' (FORMAT PARQUET, ROW_GROUP_SIZE 15000)`);
    const want = await duckRows(`SELECT COUNT(*), SUM(k), SUM(v), SUM(LENGTH(s)), MIN(s), MAX(s) FROM read_parquet('${path}')`);
    for (const [name, part] of [['w1', ''], ['w3', ' PARTITION BY HASH (k) PARTITIONS 3']] as const) {
      await h.exec(`CREATE TABLE ${name} (k INT PRIMARY KEY, v BIGINT, s VARCHAR(40))${part}`);
      await h.exec(`COPY ${name} FROM '${path}'`);
      const got = await h.q(`SELECT COUNT(*), SUM(k), SUM(v), SUM(LENGTH(s)), MIN(s), MAX(s) FROM ${name}`);
      expect(got.map((r) => r.map((x) => String(x))), name).toEqual(want.map((r) => r.map((x) => String(x))));
      // Row by row at a few places of every row group.
      const probe = await h.q(`SELECT k, v, s FROM ${name} WHERE k % 15000 IN (0, 7, 14999) ORDER BY k`);
      expect(probe.length, name).toBe(54);
      for (const [k, v, str] of probe as [number, string | number, string][]) {
        expect([String(v), str], `${name} k ${k}`).toEqual([String(k * 7 + 3), `s${k % 997}${'x'.repeat(k % 13)}`]);
      }
    }
  });
});

describe('parquet() table function and external tables', () => {
  it('SELECT from parquet(glob), joins, and CTAS STORED AS KUDU', async () => {
    const glob = join(dir, 'duck-*.parquet');
    expect(await h.q(`SELECT COUNT(*), SUM(v) FROM parquet('${glob}') WHERE k >= 250`)).toEqual([['750', '1528625']]);
    expect(await h.q(`SELECT p.s FROM parquet('${glob}') p JOIN items i ON i.id = p.k WHERE p.k < 3 ORDER BY p.s`)).toEqual([['r0'], ['r1'], ['r2']]);
    const [res] = await h.exec(`CREATE TABLE fromp PRIMARY KEY (k) PARTITION BY HASH (k) PARTITIONS 3 STORED AS KUDU AS SELECT * FROM parquet('${glob}')`);
    expect(res).toMatchObject({ affectedRows: 1000 });
    expect(await h.q('SELECT COUNT(*), SUM(k), MAX(tns) FROM fromp')).toEqual([['1000', '749500', '2020-01-01 00:08:19.000']]);
    const show = await h.q('SHOW CREATE TABLE fromp');
    expect(String(show[0]![1])).toContain('PARTITIONS 3');
  });

  it('CREATE EXTERNAL TABLE: queryable like a native table, persisted in the data dir, dropped', async () => {
    const dataDir = join(dir, 'data');
    const e1 = createQueryEngine({ storage, dataDir });
    const s1 = e1.openSession({ user: 'root', connectionId: 1 });
    await s1.execute('CREATE DATABASE x; USE x');
    const [res] = await s1.execute(`CREATE EXTERNAL TABLE ext STORED AS PARQUET LOCATION '${join(dir, 'duck-*.parquet')}'`);
    expect(res).toMatchObject({ kind: 'ok' });
    await s1.execute(`CREATE EXTERNAL TABLE ext2 (k BIGINT, s STRING) STORED AS PARQUET LOCATION '${join(dir, 'duck-0.parquet')}'`);
    expect(existsSync(join(dataDir, 'external-tables.json'))).toBe(true);
    const tables = await rowsOf((await s1.execute('SHOW TABLES'))[0]!);
    expect(tables.map((r) => r[0]).sort()).toEqual(['ext', 'ext2']);
    await e1.close(); // the storage stays open: a second engine over it reloads the catalog

    const e2 = createQueryEngine({ storage, dataDir });
    const s2 = e2.openSession({ user: 'root', connectionId: 2, database: 'x' });
    const q = async (sql: string): Promise<unknown[][]> => rowsOf((await s2.execute(sql))[0]!);
    expect(await q('SELECT COUNT(*) FROM ext')).toEqual([['1000']]);
    expect(await q('SELECT k, s FROM ext WHERE k IN (3, 1003) ORDER BY k')).toEqual([[3, 'r3'], [1003, 'r3']]);
    expect(await q(`SELECT small, COUNT(*) FROM ext WHERE d > 100 AND s LIKE 'r4%' GROUP BY small ORDER BY small`)).toEqual([[0, '66'], [1, '66'], [2, '66']]);
    expect(await q('SELECT k, s FROM ext2 ORDER BY k DESC LIMIT 2')).toEqual([['499', 'r499'], ['498', 'r498']]);
    await expectError(s2.execute(`INSERT INTO ext (k) VALUES (1)`), 'NotSupported', 'read-only');
    await expectError(s2.execute(`CREATE EXTERNAL TABLE bad (s INT) STORED AS PARQUET LOCATION '${join(dir, 'duck-0.parquet')}'`), 'InvalidArgument', "'s'");
    await s2.execute('DROP TABLE ext');
    await expectError(s2.execute('SELECT COUNT(*) FROM ext'), 'UnknownTable');
    const cat = JSON.parse(readFileSync(join(dataDir, 'external-tables.json'), 'utf8')) as { tables: { name: string }[] };
    expect(cat.tables.map((t) => t.name)).toEqual(['ext2']);
    await e2.close();
  });
});

describe('COPY CSV', () => {
  it('round-trips RFC 4180 quoting, NULL as an empty unquoted field, the empty string as ""', async () => {
    await h.exec(`CREATE TABLE csvt (id INT PRIMARY KEY, s STRING, d DECIMAL(10,3), day DATE, ts TIMESTAMP, b BOOLEAN, f DOUBLE)`);
    await h.exec(`INSERT INTO csvt VALUES (1, 'plain', 1.5, '2020-02-29', '2020-02-29 01:02:03.5', true, 0.25),
      (2, 'comma, "quote"', -2.125, NULL, NULL, false, -1e10), (3, '', NULL, '1970-01-01', '1999-12-31 23:59:59', NULL, NULL),
      (4, NULL, 0, '2038-01-19', NULL, true, 3), (5, 'multi\nline\r\nfield', 999999.999, NULL, NULL, NULL, NULL)`);
    const path = join(dir, 'csvt.csv');
    const [res] = await h.exec(`COPY csvt TO '${path}' WITH (FORMAT CSV, HEADER true, DELIMITER ',')`);
    expect(res).toMatchObject({ affectedRows: 5 });
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe('id,s,d,day,ts,b,f');
    expect(text).toContain('2,"comma, ""quote""",-2.125,,,0,');
    expect(text).toContain('3,"",,1970-01-01');
    expect(text).toContain('4,,0.000,');
    // DuckDB parses our CSV the same way.
    const d = await duckRows(`SELECT id, s FROM read_csv('${path}', header = true, quote = '"', escape = '"', all_varchar = true) WHERE id <> '3' ORDER BY id::INT`);
    expect(d).toEqual([['1', 'plain'], ['2', 'comma, "quote"'], ['4', null], ['5', 'multi\nline\r\nfield']]);
    await h.exec(`CREATE TABLE csvt2 (id INT PRIMARY KEY, s STRING, d DECIMAL(10,3), day DATE, ts TIMESTAMP, b BOOLEAN, f DOUBLE)`);
    const [r2] = await h.exec(`COPY csvt2 FROM '${path}' WITH (FORMAT CSV, HEADER true)`);
    expect(r2).toMatchObject({ affectedRows: 5 });
    expect(await h.q('SELECT * FROM csvt2 ORDER BY id')).toEqual(await h.q('SELECT * FROM csvt ORDER BY id'));
    expect(await h.q(`SELECT id FROM csvt2 WHERE s = '' `)).toEqual([[3]]);
    expect(await h.q(`SELECT id FROM csvt2 WHERE s IS NULL`)).toEqual([[4]]);
  });

  it('reads DuckDB CSV, another delimiter without a header, and reports bad fields with their line', async () => {
    const path = join(dir, 'duck.csv');
    await duck.run(`COPY (SELECT i AS id, 'v;' || i AS s FROM range(100) t(i)) TO '${path}' (FORMAT CSV, HEADER true)`);
    await h.exec('CREATE TABLE dc (id INT PRIMARY KEY, s STRING)');
    await h.exec(`COPY dc FROM '${path}' WITH (FORMAT CSV, HEADER true)`);
    expect(await h.q('SELECT COUNT(*), MAX(s) FROM dc')).toEqual([['100', 'v;99']]);
    const semi = join(dir, 'semi.csv');
    writeFileSync(semi, '1;"a;b"\r\n2;c\r\n');
    await h.exec('CREATE TABLE sc (id INT PRIMARY KEY, s STRING)');
    await h.exec(`COPY sc FROM '${semi}' WITH (FORMAT CSV, DELIMITER ';')`);
    expect(await h.q('SELECT * FROM sc ORDER BY id')).toEqual([[1, 'a;b'], [2, 'c']]);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'id,s\n1,x\n2x,y\n');
    await expectError(h.exec(`COPY sc FROM '${bad}' WITH (FORMAT CSV, HEADER true)`), 'InvalidArgument', 'line 3', "'id'", '2x');
    writeFileSync(bad, 'id,s\n7,"unterminated\n');
    await expectError(h.exec(`COPY sc FROM '${bad}' WITH (FORMAT CSV, HEADER true)`), 'InvalidArgument', 'unterminated');
  });
});
