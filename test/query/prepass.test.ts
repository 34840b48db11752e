import { describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { prepass } from '../../src/query/prepass.js';
import { rewriteForParser, splitStatements, tokenize } from '../../src/query/tokenizer.js';

describe('tokenizer and statement splitting', () => {
  it('splits on ; outside quotes and comments', () => {
    const sql = `SELECT ';' AS a; -- c1; not a statement\nSELECT "x;y" /* ; */ ; SELECT \`a;b\` FROM t;;  `;
    expect(splitStatements(sql)).toEqual([`SELECT ';' AS a`, `-- c1; not a statement\nSELECT "x;y" /* ; */`, 'SELECT `a;b` FROM t']);
  });

  it('handles escaped and doubled quotes', () => {
    const toks = tokenize(`'it''s' 'a\\'b' "q""q"`);
    expect(toks.map((t) => t.text)).toEqual([`it's`, `a'b`, 'q"q']);
  });

  it('rejects an unterminated string with ParseError', () => {
    try {
      splitStatements(`SELECT 'abc`);
      expect.unreachable();
    } catch (e) {
      expect(isSaigaError(e, 'ParseError')).toBe(true);
    }
  });

  it('rewrites SUBSTRING(x FROM a FOR b) for node-sql-parser but not strings', () => {
    expect(rewriteForParser(`SELECT SUBSTRING(c FROM 1 FOR 2), 'from x for y' FROM t`)).toBe(`SELECT SUBSTRING(c , 1 , 2), 'from x for y' FROM t`);
  });
});

describe('pre-pass statements', () => {
  it('parses Impala-Kudu CREATE TABLE with hash and range partitioning', () => {
    const st = prepass(`CREATE TABLE IF NOT EXISTS db1.metrics (host STRING NOT NULL, ts BIGINT, v DOUBLE DEFAULT 1.5 COMMENT 'value',
      PRIMARY KEY (host, ts)) PARTITION BY HASH (host) PARTITIONS 4, RANGE (ts) (PARTITION 0 <= VALUES < 100, PARTITION 100 <= VALUES < 200, PARTITION 500 <= VALUES, PARTITION VALUES < -5)
      STORED AS KUDU`);
    expect(st.kind).toBe('createTable');
    if (st.kind !== 'createTable') return;
    expect(st.db).toBe('db1');
    expect(st.ifNotExists).toBe(true);
    expect(st.primaryKey).toEqual(['host', 'ts']);
    expect(st.columns.map((c) => [c.name, c.typeName, c.notNull])).toEqual([['host', 'STRING', true], ['ts', 'BIGINT', false], ['v', 'DOUBLE', false]]);
    expect(st.columns[2]!.defaultValue).toEqual({ k: 'num', text: '1.5' });
    expect(st.partition?.hash).toEqual([{ columns: ['host'], buckets: 4 }]);
    expect(st.partition?.rangeColumns).toEqual(['ts']);
    expect(st.partition?.ranges).toEqual([
      { lower: [{ k: 'num', text: '0' }], upper: [{ k: 'num', text: '100' }] },
      { lower: [{ k: 'num', text: '100' }], upper: [{ k: 'num', text: '200' }] },
      { lower: [{ k: 'num', text: '500' }] },
      { upper: [{ k: 'num', text: '-5' }] },
    ]);
  });

  it('parses ALTER TABLE ADD/DROP RANGE PARTITION and column changes', () => {
    const st = prepass(`ALTER TABLE m ADD RANGE PARTITION 200 <= VALUES < 300, DROP RANGE PARTITION 0 <= VALUES < 100, ADD COLUMN x INT NULL, RENAME COLUMN a TO b, DROP COLUMN c`);
    expect(st.kind).toBe('alterTable');
    if (st.kind !== 'alterTable') return;
    expect(st.steps.map((s) => s.kind)).toEqual(['addRange', 'dropRange', 'addColumns', 'renameColumn', 'dropColumn']);
  });

  it('parses fast-path INSERT VALUES with literals, negatives, NULL, DEFAULT, date literals and expressions', () => {
    const st = prepass(`INSERT INTO t (a, b, c, d, e, f) VALUES (1, -2.50, 'x''y', NULL, DEFAULT, DATE '2020-01-02'), (2, 3e2, "z", TRUE, 1 + 2, CONCAT('a', 'b'))`);
    expect(st.kind).toBe('insertValues');
    if (st.kind !== 'insertValues') return;
    expect(st.op).toBe('insert');
    expect(st.columns).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(st.rows[0]).toEqual([{ k: 'num', text: '1' }, { k: 'num', text: '-2.50' }, { k: 'str', v: "x'y" }, { k: 'null' }, { k: 'default' }, { k: 'date', v: '2020-01-02' }]);
    expect(st.rows[1]![4]).toEqual({ k: 'expr', text: '1 + 2' });
    expect(st.rows[1]![5]).toEqual({ k: 'expr', text: "CONCAT('a', 'b')" });
  });

  it('classifies UPSERT / REPLACE / INSERT IGNORE / INSERT SELECT', () => {
    expect(prepass(`UPSERT INTO t VALUES (1)`)).toMatchObject({ kind: 'insertValues', op: 'upsert' });
    expect(prepass(`REPLACE INTO t VALUES (1)`)).toMatchObject({ kind: 'insertValues', op: 'upsert' });
    expect(prepass(`INSERT IGNORE INTO t VALUES (1)`)).toMatchObject({ kind: 'insertValues', op: 'insert_ignore' });
    expect(prepass(`INSERT INTO t (a) SELECT x FROM u`)).toMatchObject({ kind: 'insertSelect', columns: ['a'], select: 'SELECT x FROM u' });
  });

  it('parses SHOW / DESCRIBE / SET / COMPUTE STATS', () => {
    expect(prepass(`SHOW FULL TABLES FROM d LIKE 'a%'`)).toMatchObject({ kind: 'show', what: 'tables', db: 'd', like: 'a%', full: true });
    expect(prepass(`SHOW CREATE TABLE d.t`)).toMatchObject({ kind: 'show', what: 'createTable', db: 'd', table: 't' });
    expect(prepass(`SHOW RANGE PARTITIONS t`)).toMatchObject({ kind: 'show', what: 'partitions', table: 't' });
    expect(prepass(`SHOW VARIABLES WHERE Variable_name = 'lower_case_table_names'`)).toMatchObject({ kind: 'show', what: 'variables', like: 'lower_case_table_names' });
    expect(prepass(`DESCRIBE FORMATTED t`)).toMatchObject({ kind: 'describe', table: 't', formatted: true });
    expect(prepass(`SET NAMES utf8mb4`)).toMatchObject({ kind: 'set' });
    expect(prepass(`SET @@session.autocommit = 0, sql_mode = ''`)).toEqual({ kind: 'set', assignments: [{ name: 'autocommit', value: { k: 'num', text: '0' } }, { name: 'sql_mode', value: { k: 'str', v: '' } }] });
    expect(prepass(`COMPUTE STATS t`)).toMatchObject({ kind: 'computeStats', table: 't' });
  });

  it('reports syntax errors as ParseError naming what was expected and found', () => {
    try {
      prepass(`CREATE TABLE t (a INT PRIMARY KEY) PARTITION BY HASH (a) PARTITIONS x`);
      expect.unreachable();
    } catch (e) {
      expect(isSaigaError(e, 'ParseError')).toBe(true);
      expect((e as Error).message).toMatch(/expected partition count but found 'x'/);
    }
  });

  it('large INSERT VALUES goes through the fast path quickly', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `(${i}, 'name ${i}', ${i}.25, '2020-01-01')`).join(', ');
    const st = prepass(`INSERT INTO t VALUES ${rows}`);
    expect(st.kind).toBe('insertValues');
    if (st.kind === 'insertValues') expect(st.rows.length).toBe(1000);
  });
});
