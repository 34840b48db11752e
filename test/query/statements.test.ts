import { describe, expect, it } from 'vitest';
import { isSaigaError, type ErrorCode } from '../../src/common/errors.js';
import { createQueryEngine } from '../../src/query/index.js';
import { harness, rowsOf } from './helpers.js';
import { MemoryStorage } from './memory-storage.js';

async function expectCode(p: Promise<unknown>, code: ErrorCode, msg?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isSaigaError(e)) throw e;
    expect(e.code).toBe(code);
    if (msg) expect(e.message).toMatch(msg);
    return;
  }
  throw new Error(`expected SaigaError ${code}`);
}

describe('DDL', () => {
  it('MySQL-form CREATE TABLE: key first, default HASH(pk) PARTITIONS 2, types, defaults', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (name VARCHAR(10) DEFAULT 'x', id BIGINT NOT NULL, amount DECIMAL(9,3), ok BOOLEAN, f FLOAT, d DATETIME, b BLOB, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    const info = h.storage.getTable('test', 't');
    expect(info.schema.keyColumnCount).toBe(1);
    expect(info.schema.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['id', 'int64', false], ['name', 'string', true], ['amount', 'decimal', true], ['ok', 'bool', true], ['f', 'float', true], ['d', 'timestamp', true], ['b', 'binary', true],
    ]);
    expect(info.schema.columns[1]!.defaultValue).toBe('x');
    expect(info.partitionSchema.hash).toEqual([{ columns: ['id'], buckets: 2, seed: 0 }]);
    expect(info.tablets.length).toBe(2);
  });

  it('Kudu-form CREATE TABLE with range partitions, ALTER ADD/DROP RANGE, SHOW PARTITIONS', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE m (host STRING, ts BIGINT, v DOUBLE, PRIMARY KEY (host, ts)) PARTITION BY HASH (host) PARTITIONS 2, RANGE (ts) (PARTITION 0 <= VALUES < 100) STORED AS KUDU`);
    expect(h.storage.getTable('test', 'm').tablets.length).toBe(2);
    await h.exec(`ALTER TABLE m ADD RANGE PARTITION 100 <= VALUES < 200`);
    expect(h.storage.getTable('test', 'm').tablets.length).toBe(4);
    await h.exec(`INSERT INTO m VALUES ('a', 5, 1.0), ('b', 150, 2.0)`);
    expect(await h.q(`SELECT host, ts FROM m ORDER BY ts`)).toEqual([['a', '5'], ['b', '150']]);
    const parts = await h.q(`SHOW RANGE PARTITIONS m`);
    expect(parts.length).toBe(4);
    expect(parts.map((r) => r[2])).toContain('100 <= VALUES < 200');
    await h.exec(`ALTER TABLE m DROP RANGE PARTITION 0 <= VALUES < 100`);
    expect(await h.q(`SELECT host FROM m`)).toEqual([['b']]);
  });

  it('table without a primary key gets the hidden auto-increment key, hidden from * and DESCRIBE', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE logs (msg TEXT, n INT)`);
    const r = await h.exec(`INSERT INTO logs VALUES ('a', 1), ('b', 2)`);
    expect(r[0]).toMatchObject({ kind: 'ok', affectedRows: 2, lastInsertId: 2n });
    expect(await h.q(`SELECT * FROM logs ORDER BY n`)).toEqual([['a', 1], ['b', 2]]);
    expect(await h.q(`SELECT LAST_INSERT_ID()`)).toEqual([['2']]);
    expect((await h.q(`DESCRIBE logs`)).map((x) => x[0])).toEqual(['msg', 'n']);
    await h.exec(`DELETE FROM logs WHERE n = 1`);
    expect(await h.q(`SELECT msg FROM logs`)).toEqual([['b']]);
  });

  it('ALTER TABLE add/drop/rename column, TRUNCATE, DROP, CTAS', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT)`);
    await h.exec(`INSERT INTO t VALUES (1, 10), (2, 20)`);
    await h.exec(`ALTER TABLE t ADD COLUMN b VARCHAR(5) DEFAULT 'z'`);
    expect(await h.q(`SELECT id, a, b FROM t ORDER BY id`)).toEqual([[1, 10, 'z'], [2, 20, 'z']]);
    await h.exec(`ALTER TABLE t RENAME COLUMN a TO aa`);
    expect(await h.q(`SELECT aa FROM t ORDER BY aa`)).toEqual([[10], [20]]);
    await h.exec(`ALTER TABLE t DROP COLUMN b`);
    expect((await h.q(`SHOW COLUMNS FROM t`)).map((r) => r[0])).toEqual(['id', 'aa']);
    await h.exec(`CREATE TABLE t2 PRIMARY KEY (id) PARTITION BY HASH (id) PARTITIONS 3 STORED AS KUDU AS SELECT id, aa * 2 AS dbl FROM t`);
    expect(await h.q(`SELECT id, dbl FROM t2 ORDER BY id`)).toEqual([[1, '20'], [2, '40']]);
    expect(h.storage.getTable('test', 't2').schema.keyColumnCount).toBe(1);
    await h.exec(`TRUNCATE TABLE t`);
    expect(await h.q(`SELECT COUNT(*) FROM t`)).toEqual([['0']]);
    await h.exec(`DROP TABLE t, t2`);
    expect(await h.q(`SHOW TABLES`)).toEqual([]);
    await h.exec(`DROP TABLE IF EXISTS nope`);
    expect(h.session.lastWarnings().length).toBe(1);
  });

  it('SHOW CREATE TABLE round-trips through the pre-pass', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT, d DATE DEFAULT '2020-01-01', p DECIMAL(5,2) DEFAULT 1.5, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 3`);
    const [[, ddl]] = await h.q(`SHOW CREATE TABLE t`) as [[string, string]];
    expect(ddl).toContain('PARTITION BY HASH (id) PARTITIONS 3');
    await h.exec(`DROP TABLE t`);
    await h.exec(ddl);
    const info = h.storage.getTable('test', 't');
    expect(info.schema.columns.map((c) => [c.name, c.type, c.defaultValue])).toEqual([['id', 'int32', undefined], ['d', 'date', 18262], ['p', 'decimal', 150n]]);
  });
});

describe('DML', () => {
  it('INSERT duplicate -> AlreadyPresent; INSERT IGNORE warns; UPSERT/REPLACE overwrite', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))`);
    await h.exec(`INSERT INTO t VALUES (1, 'a')`);
    await expectCode(h.exec(`INSERT INTO t VALUES (1, 'b')`), 'AlreadyPresent');
    const r = await h.exec(`INSERT IGNORE INTO t VALUES (1, 'b'), (2, 'c')`);
    expect(r[0]).toMatchObject({ kind: 'ok', affectedRows: 1 });
    expect(h.session.lastWarnings().length).toBe(1);
    expect(await h.q(`SHOW WARNINGS`)).toHaveLength(1);
    await h.exec(`UPSERT INTO t VALUES (1, 'u'), (3, 'n')`);
    await h.exec(`REPLACE INTO t (id, v) VALUES (2, 'r')`);
    expect(await h.q(`SELECT id, v FROM t ORDER BY id`)).toEqual([[1, 'u'], [2, 'r'], [3, 'n']]);
  });

  it('UPDATE and DELETE scan for matching keys and write by key', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (a INT, b INT, c DECIMAL(6,2), PRIMARY KEY (a, b))`);
    await h.exec(`INSERT INTO t VALUES (1, 1, 1.00), (1, 2, 2.00), (2, 1, 3.00), (2, 2, NULL)`);
    const u = await h.exec(`UPDATE t SET c = c * 2 + 0.5 WHERE b = 1`);
    expect(u[0]).toMatchObject({ kind: 'ok', affectedRows: 2 });
    expect(await h.q(`SELECT a, b, c FROM t ORDER BY a, b`)).toEqual([[1, 1, '2.50'], [1, 2, '2.00'], [2, 1, '6.50'], [2, 2, null]]);
    await h.exec(`UPDATE t SET c = 9 WHERE c IS NULL`);
    const d = await h.exec(`DELETE FROM t WHERE c > 5`);
    expect(d[0]).toMatchObject({ affectedRows: 2 });
    expect(await h.q(`SELECT a, b, c FROM t ORDER BY a, b`)).toEqual([[1, 1, '2.50'], [1, 2, '2.00']]);
    await expectCode(h.exec(`UPDATE t SET a = 5`), 'NotSupported', /primary key/);
  });

  it('INSERT ... SELECT converts types; INSERT with expressions and column lists', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE s (id INT PRIMARY KEY, x DOUBLE, d DATE)`);
    await h.exec(`INSERT INTO s (d, id, x) VALUES ('2021-03-04', 1, 1.25), (DATE '2021-03-05' + INTERVAL 1 DAY, 1 + 1, 2 * 3.5)`);
    await h.exec(`CREATE TABLE t (id BIGINT PRIMARY KEY, y DECIMAL(8,1), label STRING)`);
    await h.exec(`INSERT INTO t SELECT id * 10, x, CONCAT('d=', d) FROM s`);
    expect(await h.q(`SELECT id, y, label FROM t ORDER BY id`)).toEqual([['10', '1.3', 'd=2021-03-04'], ['20', '7.0', 'd=2021-03-06']]);
  });

  it('rejects NULL in a NOT NULL column and unknown columns', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)`);
    await expectCode(h.exec(`INSERT INTO t VALUES (1, NULL)`), 'InvalidArgument', /cannot be null/);
    await expectCode(h.exec(`INSERT INTO t (id) VALUES (1)`), 'InvalidArgument', /no default/);
    await expectCode(h.exec(`INSERT INTO t (id, nope) VALUES (1, 2)`), 'UnknownColumn');
  });
});

describe('errors', () => {
  it('maps failures to codes', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, v INT)`);
    await expectCode(h.exec(`SELEC 1`), 'NotSupported');
    await expectCode(h.exec(`SELECT FROM WHERE`), 'ParseError');
    await expectCode(h.exec(`SELECT * FROM nope`), 'UnknownTable', /nope/);
    await expectCode(h.exec(`SELECT nope FROM t`), 'UnknownColumn', /nope/);
    await expectCode(h.exec(`SELECT * FROM nodb.t`), 'UnknownDatabase');
    await expectCode(h.exec(`USE nodb`), 'UnknownDatabase');
    await expectCode(h.exec(`CREATE TABLE t (id INT PRIMARY KEY)`), 'TableExists');
    await expectCode(h.exec(`CREATE DATABASE test`), 'DatabaseExists');
    await expectCode(h.exec(`SELECT REGEXP_LIKE(v, 'a') FROM t`), 'NotSupported', /REGEXP_LIKE/);
    const engine = createQueryEngine({ storage: new MemoryStorage() });
    const s = engine.openSession({ user: 'u', connectionId: 1 });
    await s.execute(`CREATE DATABASE d`);
    await expectCode(s.execute(`SELECT * FROM t`), 'NoDatabaseSelected');
    await expectCode(s.execute(`CREATE TABLE t (a INT)`), 'NoDatabaseSelected');
  });

  it('ambiguous columns are a BindError', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE a (id INT PRIMARY KEY); CREATE TABLE b (id INT PRIMARY KEY)`);
    await expectCode(h.exec(`SELECT id FROM a, b`), 'BindError', /ambiguous/);
  });
});

describe('session', () => {
  it('variables, SET NAMES, @@vars, functions', async () => {
    const h = await harness();
    await h.exec(`SET NAMES utf8mb4; SET @x = 5; SET autocommit = 0`);
    expect(await h.q(`SELECT @@version_comment, @@autocommit, @x, DATABASE(), CONNECTION_ID(), USER()`)).toEqual([['Saiga', '0', '5', 'test', '7', 'root@localhost']]);
    expect(await h.q(`SELECT VERSION() LIKE '8.0%'`)).toEqual([[true]]);
    expect((await h.q(`SHOW VARIABLES LIKE 'character_set_client'`))).toEqual([['character_set_client', 'utf8mb4']]);
    expect(await h.q(`SHOW DATABASES`)).toEqual([['test']]);
  });

  it('multi-statement execute returns one result per statement', async () => {
    const h = await harness();
    const rs = await h.exec(`CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2); SELECT COUNT(*) FROM t; INSERT INTO t VALUES (3)`);
    expect(rs.map((r) => r.kind)).toEqual(['ok', 'ok', 'rows', 'ok']);
    expect(await rowsOf(rs[2]!)).toEqual([['2']]);
  });

  it('prepared statements bind ? parameters', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, name STRING)`);
    const ins = await h.session.prepare(`INSERT INTO t VALUES (?, ?)`);
    expect(ins.paramCount).toBe(2);
    await ins.execute([1, "o'neil"]);
    await ins.execute([2, null]);
    const sel = await h.session.prepare(`SELECT name FROM t WHERE id = ?`);
    expect(sel.columns.map((c) => c.name)).toEqual(['name']);
    expect(await rowsOf(await sel.execute([1]))).toEqual([["o'neil"]]);
    expect(await rowsOf(await sel.execute([2]))).toEqual([[null]]);
    const multi = await h.session.prepare(`SELECT id FROM t WHERE (name = ? OR name IS NULL) AND id >= ? ORDER BY id LIMIT ?`);
    expect(await rowsOf(await multi.execute(["o'neil", 1, 10]))).toEqual([[1], [2]]);
    expect(await rowsOf(await multi.execute(['zzz', 2n, 1]))).toEqual([[2]]);
    const named = await h.session.prepare(`SELECT ?, id + ? FROM t WHERE id = 1`);
    const [nr] = [await named.execute(['x', 1])];
    expect(nr!.kind === 'rows' ? nr!.columns.map((c) => c.name) : []).toEqual(['?', 'id + ?']);
    expect(await rowsOf(nr!)).toEqual([['x', '2']]);
    const upd = await h.session.prepare(`UPDATE t SET name = ? WHERE id = ?`);
    await upd.execute(['renamed', 2]);
    expect(await rowsOf(await sel.execute([2]))).toEqual([['renamed']]);
  });

  it('result columns carry table metadata', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, p DECIMAL(7,2))`);
    const [r] = await h.exec(`SELECT id AS k, p, p * 2 FROM t`);
    if (r!.kind !== 'rows') throw new Error('rows expected');
    expect(r!.columns).toEqual([
      { name: 'k', type: 'int32', nullable: false, table: 't', database: 'test', originalName: 'id' },
      { name: 'p', type: 'decimal', nullable: true, precision: 7, scale: 2, table: 't', database: 'test', originalName: 'p' },
      { name: 'p * 2', type: 'decimal', nullable: true, precision: 26, scale: 2 },
    ]);
  });
});

describe('information_schema', () => {
  it('SCHEMATA, TABLES, COLUMNS, STATISTICS come from the catalog', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, p DECIMAL(7,2) NOT NULL, s STRING)`);
    expect(await h.q(`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA`)).toEqual([['test']]);
    expect(await h.q(`SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.tables WHERE table_schema = 'test'`)).toEqual([['t', 'BASE TABLE', '0']]);
    expect(await h.q(`SELECT COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY, NUMERIC_SCALE FROM information_schema.COLUMNS WHERE TABLE_NAME = 't' ORDER BY ORDINAL_POSITION`))
      .toEqual([['id', '1', 'NO', 'int', 'int', 'PRI', null], ['p', '2', 'NO', 'decimal', 'decimal(7,2)', '', '2'], ['s', '3', 'YES', 'string', 'string', '', null]]);
    expect(await h.q(`SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_NAME = 't'`)).toEqual([['PRIMARY', 'id']]);
    await expect(h.exec(`SELECT * FROM information_schema.ROUTINES`)).rejects.toMatchObject({ code: 'UnknownTable' });
  });
});
