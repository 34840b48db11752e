import { describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { createQueryEngine } from '../../src/query/index.js';
import { harness, rowsOf } from './helpers.js';
import { MemoryStorage } from './memory-storage.js';

describe('pushdown into the scan spec', () => {
  it('pushes comparisons, IN and IS NULL as ColumnPredicates and projects only used columns', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a BIGINT, p DECIMAL(8,2), s STRING, d DATE, unused STRING)`);
    await h.exec(`INSERT INTO t VALUES (1, 10, 1.50, 'x', '2020-01-01', 'u'), (2, 20, 2.50, NULL, '2021-01-01', 'u'), (3, 30, 3.50, 'z', '2022-01-01', 'u')`);
    h.storage.scans.length = 0;
    const rows = await h.q(`SELECT id, s FROM t WHERE a >= 20 AND p < 3.00 AND d = DATE '2021-01-01' AND s IS NULL AND id IN (1, 2)`);
    expect(rows).toEqual([[2, null]]);
    expect(h.storage.scans).toHaveLength(1);
    const spec = h.storage.scans[0]!.spec;
    expect([...(spec.projection ?? [])].sort()).toEqual(['id', 's']);
    expect(spec.predicates).toEqual([
      { kind: 'compare', column: 'a', op: '>=', value: 20n },
      { kind: 'compare', column: 'p', op: '<', value: 300n },
      { kind: 'compare', column: 'd', op: '=', value: 18628 },
      { kind: 'isNull', column: 's' },
      { kind: 'in', column: 'id', values: [1, 2] },
    ]);
  });

  it('optimizes scalar and IN subquery plans too (projection and predicates reach their scans)', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, wide STRING)`);
    await h.exec(`INSERT INTO t VALUES (1, 1, 2, 'w'), (2, 5, 1, 'w'), (3, 7, 7, 'w'), (4, 9, 3, 'w')`);
    h.storage.scans.length = 0;
    const rows = await h.q(`SELECT id FROM t WHERE a > (SELECT MAX(b) FROM t WHERE a < 7) AND id IN (SELECT id FROM t WHERE b >= 3) ORDER BY id`);
    expect(rows).toEqual([[3], [4]]);
    const sub = h.storage.scans.filter((x) => (x.spec.predicates ?? []).some((p) => p.kind === 'compare' && p.column === 'a' && p.op === '<'));
    expect(sub).toHaveLength(1);
    expect([...(sub[0]!.spec.projection ?? [])].sort()).toEqual(['b']);
    for (const x of h.storage.scans) expect(x.spec.projection ?? [], JSON.stringify(x.spec)).not.toContain('wide');
  });

  it('keeps non-pushable conjuncts as a residual filter and flips literal-first comparisons', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)`);
    await h.exec(`INSERT INTO t VALUES (1, 1, 2), (2, 5, 1), (3, 7, 7)`);
    h.storage.scans.length = 0;
    expect(await h.q(`SELECT id FROM t WHERE 3 < a AND a + 0 > b ORDER BY id`)).toEqual([[2]]);
    expect(h.storage.scans[0]!.spec.predicates).toEqual([{ kind: 'compare', column: 'a', op: '>', value: 3 }]);
  });

  it('COUNT(*) scans no columns; LIMIT without a filter reaches the scan', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, a INT)`);
    await h.exec(`INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4)`);
    h.storage.scans.length = 0;
    expect(await h.q(`SELECT COUNT(*) FROM t`)).toEqual([['4']]);
    expect(h.storage.scans[0]!.spec.projection).toEqual([]);
    expect((await h.q(`SELECT a FROM t LIMIT 2`)).length).toBe(2);
    expect(h.storage.scans[1]!.spec.limit).toBe(2);
  });

  it('pushes single-table conjuncts below joins, and EXPLAIN shows hash joins', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE a (id INT PRIMARY KEY, x INT); CREATE TABLE b (id INT PRIMARY KEY, y STRING)`);
    await h.exec(`INSERT INTO a VALUES (1, 10), (2, 20); INSERT INTO b VALUES (1, 'p'), (2, 'q')`);
    h.storage.scans.length = 0;
    expect(await h.q(`SELECT x, y FROM a, b WHERE a.id = b.id AND b.y = 'q'`)).toEqual([[20, 'q']]);
    const bScan = h.storage.scans.find((s) => s.table === 'b')!;
    expect(bScan.spec.predicates).toEqual([{ kind: 'compare', column: 'y', op: '=', value: 'q' }]);
    const plan = (await h.q(`EXPLAIN SELECT x, y FROM a, b WHERE a.id = b.id AND b.y = 'q'`)).map((r) => r[0]).join('\n');
    expect(plan).toMatch(/HashJoin inner keys=1/);
    expect(plan).toMatch(/Scan test\.b .*predicates=\[y = q\]/);
  });
});

describe('SQL semantics', () => {
  it('three-valued logic and NOT IN with NULLs', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE TABLE u (id INT PRIMARY KEY, w INT)`);
    await h.exec(`INSERT INTO t VALUES (1, 1), (2, NULL), (3, 3); INSERT INTO u VALUES (1, 1), (2, NULL)`);
    expect(await h.q(`SELECT id FROM t WHERE v NOT IN (SELECT w FROM u)`)).toEqual([]);
    expect(await h.q(`SELECT id FROM t WHERE v NOT IN (SELECT w FROM u WHERE w IS NOT NULL) ORDER BY id`)).toEqual([[3]]);
    expect(await h.q(`SELECT id FROM t WHERE v IN (1, NULL)`)).toEqual([[1]]);
    expect(await h.q(`SELECT id FROM t WHERE NOT (v = 1) ORDER BY id`)).toEqual([[3]]);
    expect(await h.q(`SELECT id FROM t WHERE v = 1 OR v IS NULL ORDER BY id`)).toEqual([[1], [2]]);
    expect(await h.q(`SELECT NULL AND FALSE, NULL OR TRUE, NULL AND TRUE, 1 = NULL, NOT NULL`)).toEqual([[false, true, null, null, null]]);
    expect(await h.q(`SELECT NULL <=> NULL, 1 <=> NULL, (1 + 1) <=> 2, t.v <=> NULL FROM t ORDER BY id`)).toEqual([[true, false, true, false], [true, false, true, true], [true, false, true, false]]);
    expect(await h.q(`SELECT id FROM t WHERE v <=> NULL`)).toEqual([[2]]);
    expect(await h.q(`SELECT COUNT(v), SUM(v), AVG(v), MIN(v) FROM t WHERE v IS NULL`)).toEqual([['0', null, null, null]]);
    expect(await h.q(`SELECT id FROM t ORDER BY v, id`)).toEqual([[2], [1], [3]]);
    expect(await h.q(`SELECT id FROM t ORDER BY v DESC`)).toEqual([[3], [1], [2]]);
  });

  it('exact decimal arithmetic with MySQL result scales', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE m (id INT PRIMARY KEY, a DECIMAL(15,2), b DECIMAL(15,2))`);
    await h.exec(`INSERT INTO m VALUES (1, 0.10, 0.20), (2, 1234567.23, 0.07), (3, -1.005, 3)`);
    expect(await h.q(`SELECT a + b, a * b, a / b, a - b FROM m ORDER BY id`)).toEqual([
      ['0.30', '0.0200', '0.500000', '-0.10'],
      ['1234567.30', '86419.7061', '17636674.714286', '1234567.16'],
      ['1.99', '-3.0300', '-0.336667', '-4.01'],
    ]);
    expect(await h.q(`SELECT SUM(a), 1 / 3, 10 DIV 3, 7 % 3, -7.5 + 2 FROM m`)).toEqual([['1234566.32', '0.3333', '3', '1', '-5.5']]);
  });

  it('large exact sums keep every digit', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE big (id INT PRIMARY KEY, v DECIMAL(38,2))`);
    const rows = Array.from({ length: 50 }, (_, i) => `(${i}, 9999999999999.99)`).join(', ');
    await h.exec(`INSERT INTO big VALUES ${rows}`);
    expect(await h.q(`SELECT SUM(v) FROM big`)).toEqual([['499999999999999.50']]);
  });

  it('dates, intervals, string functions, CASE, CAST', async () => {
    const h = await harness();
    expect(await h.q(`SELECT DATE '2024-01-31' + INTERVAL 1 MONTH, DATE '2024-03-01' - INTERVAL '1' DAY, YEAR(DATE '1999-12-31'), EXTRACT(MONTH FROM DATE '1999-12-31'), DATEDIFF('2024-03-01', '2024-02-01')`))
      .toEqual([['2024-02-29', '2024-02-29', '1999', '12', '29']]);
    expect(await h.q(`SELECT SUBSTRING('hello' FROM 2 FOR 3), SUBSTR('hello', -3), UPPER('a'), CONCAT('a', 1, 'b'), LENGTH('héllo'), CHAR_LENGTH('héllo'), TRIM('  x '), REPLACE('aXbX', 'X', '-')`))
      .toEqual([['ell', 'llo', 'A', 'a1b', '6', '5', 'x', 'a-b-']]);
    expect(await h.q(`SELECT CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END, CASE 3 WHEN 3 THEN 'three' END, IF(1 = 1, 10, 20), COALESCE(NULL, NULL, 5), NULLIF(5, 5), CAST('12.345' AS DECIMAL(5,2)), CAST(3.7 AS SIGNED)`))
      .toEqual([['b', 'three', '10', '5', null, '12.35', '4']]);
  });

  it('window functions: lag/lead and count over partitions', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE w (id INT PRIMARY KEY, g STRING, v INT)`);
    await h.exec(`INSERT INTO w VALUES (1, 'a', 10), (2, 'a', 20), (3, 'b', 5), (4, 'a', 30)`);
    expect(await h.q(`SELECT id, LAG(v) OVER (PARTITION BY g ORDER BY id), LEAD(v, 1) OVER (PARTITION BY g ORDER BY id), COUNT(*) OVER (PARTITION BY g) FROM w ORDER BY id`))
      .toEqual([[1, null, 20, '3'], [2, 10, 30, '3'], [3, null, null, '1'], [4, 20, null, '3']]);
    expect(await h.q(`SELECT id, SUM(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), MAX(v) OVER (PARTITION BY g ORDER BY id ROWS 1 PRECEDING), COUNT(*) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM w ORDER BY id`))
      .toEqual([[1, '30', 10, '4'], [2, '35', 20, '3'], [3, '55', 5, '2'], [4, '35', 30, '1']]);
    expect(await h.q(`SELECT id, FIRST_VALUE(g) OVER (ORDER BY v DESC), LAST_VALUE(v) OVER (PARTITION BY g ORDER BY id) FROM w ORDER BY id`))
      .toEqual([[1, 'a', 10], [2, 'a', 20], [3, 'a', 5], [4, 'a', 30]]);
  });

  it('unsupported constructs name themselves', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, v INT)`);
    for (const [sql, what] of [
      [`SELECT id FROM t WHERE v REGEXP 'a'`, /REGEXP/],
      [`SELECT SUM(v) OVER (ORDER BY id RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t`, /syntax|frame/],
      [`SELECT id FROM t INTERSECT SELECT id FROM t`, /INTERSECT|set operation|syntax/i],
      [`SELECT (SELECT v FROM t t2 WHERE t2.id > t.id) FROM t`, /non-equality correlation/],
    ] as const) {
      try {
        await h.exec(sql);
        throw new Error(`expected failure for ${sql}`);
      } catch (e) {
        expect(isSaigaError(e)).toBe(true);
        expect((e as Error).message).toMatch(what);
      }
    }
  });
});

describe('limits', () => {
  async function bigEngine(limits: Record<string, number>) {
    const storage = new MemoryStorage();
    storage.batchRowCount = 100;
    const engine = createQueryEngine({ storage, limits });
    const s = engine.openSession({ user: 'u', connectionId: 1 });
    await s.execute(`CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, s STRING)`);
    const rows = Array.from({ length: 2000 }, (_, i) => `(${i}, 'value number ${i}')`).join(', ');
    await s.execute(`INSERT INTO t VALUES ${rows}`);
    return s;
  }

  it('per-query memory limit gives ResourceExhausted', async () => {
    const s = await bigEngine({ queryMemoryBytesMax: 20_000 });
    await expect(s.execute(`SELECT s FROM t ORDER BY s`)).rejects.toMatchObject({ code: 'ResourceExhausted' });
    // streaming queries are not limited by materialization
    const [r] = await s.execute(`SELECT COUNT(*) FROM t WHERE s LIKE '%9'`);
    expect(await rowsOf(r!)).toEqual([['200']]);
  });

  it('timeout gives TimedOut and an aborted signal gives Cancelled', async () => {
    const s = await bigEngine({ queryTimeoutMs: 1 });
    await expect(s.execute(`SELECT a.id FROM t a, t b WHERE a.id + b.id = 5`)).rejects.toMatchObject({ code: 'TimedOut' });
    const s2 = await bigEngine({});
    const ac = new AbortController();
    ac.abort();
    await expect(s2.execute(`SELECT COUNT(*) FROM t`, { signal: ac.signal })).rejects.toMatchObject({ code: 'Cancelled' });
  });
});

describe('more joins and functions', () => {
  it('JOIN ... USING merges the named columns', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE a (id INT PRIMARY KEY, x STRING); CREATE TABLE b (id INT PRIMARY KEY, y STRING)`);
    await h.exec(`INSERT INTO a VALUES (1, 'a1'), (2, 'a2'); INSERT INTO b VALUES (2, 'b2'), (3, 'b3')`);
    expect(await h.q(`SELECT * FROM a JOIN b USING (id)`)).toEqual([[2, 'a2', 'b2']]);
    expect(await h.q(`SELECT id, x, y FROM a LEFT JOIN b USING (id) ORDER BY id`)).toEqual([[1, 'a1', null], [2, 'a2', 'b2']]);
    expect(await h.q(`SELECT LPAD(x, 5, '*'), RPAD(x, 3, 'xy'), REPEAT(x, 2) FROM a WHERE id = 1`)).toEqual([['***a1', 'a1x', 'a1a1']]);
  });

  it('plain INSERT into a range gap fails the statement', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE r (id INT PRIMARY KEY, v STRING) PARTITION BY RANGE (id) (PARTITION 0 <= VALUES < 10)`);
    await expect(h.exec(`INSERT INTO r VALUES (5, 'a'), (25, 'b')`)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('ONLY_FULL_GROUP_BY: a bare column in an aggregate query is an error', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, g INT)`);
    await expect(h.exec(`SELECT id, COUNT(*) FROM t`)).rejects.toMatchObject({ code: 'BindError' });
    await expect(h.exec(`SELECT id FROM t WHERE COUNT(*) > 1`)).rejects.toMatchObject({ code: 'BindError' });
    expect(await h.q(`SELECT g, COUNT(*) FROM t GROUP BY g`)).toEqual([]);
  });
});

describe('correlated subqueries in the select list', () => {
  it('become left joins; more than one row is an error', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t1 (id INT PRIMARY KEY, v INT); CREATE TABLE t2 (id INT PRIMARY KEY, k INT, v INT)`);
    await h.exec(`INSERT INTO t1 VALUES (1, 5), (2, 6), (3, 7); INSERT INTO t2 VALUES (10, 1, 100), (11, 2, 200), (12, 2, 201)`);
    expect(await h.q(`SELECT id, (SELECT v FROM t2 WHERE t2.id = t1.id + 9) AS x, (SELECT SUM(v) FROM t2 WHERE t2.k = t1.id) AS s FROM t1 ORDER BY id`))
      .toEqual([[1, 100, '100'], [2, 200, '401'], [3, 201, null]]);
    await expect(h.exec(`SELECT id, (SELECT v FROM t2 WHERE t2.k = t1.id) FROM t1`)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('non-equality correlation', () => {
  it('scalar aggregate subqueries with theta correlations are decorrelated through distinct outer values', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t1 (id INT PRIMARY KEY, v INT); CREATE TABLE t2 (id INT PRIMARY KEY, v INT)`);
    await h.exec(`INSERT INTO t1 VALUES (1, 10), (2, 20), (3, 5), (4, 40), (5, NULL); INSERT INTO t2 VALUES (1, 10), (2, 30), (4, 20)`);
    expect(await h.q(`SELECT id FROM t1 WHERE v >= (SELECT MAX(v) FROM t2 WHERE t2.id <= t1.id) ORDER BY id`)).toEqual([[1], [4]]);
    expect(await h.q(`SELECT id, (SELECT COUNT(*) FROM t2 WHERE t2.v < t1.v) FROM t1 ORDER BY id`)).toEqual([[1, '0'], [2, '1'], [3, '0'], [4, '3'], [5, '0']]);
    expect(await h.q(`SELECT id, (SELECT SUM(t2.v) FROM t2 WHERE t2.id = t1.id AND t2.v > t1.v) FROM t1 ORDER BY id`)).toEqual([[1, null], [2, '30'], [3, null], [4, null], [5, null]]);
  });
});

describe('subqueries as values', () => {
  it('IN / EXISTS under OR and NOT keep SQL semantics; ALL / ANY', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t1 (id INT PRIMARY KEY, v INT); CREATE TABLE t2 (id INT PRIMARY KEY, v INT)`);
    await h.exec(`INSERT INTO t1 VALUES (1, 10), (2, 20), (3, NULL), (4, 40); INSERT INTO t2 VALUES (1, 10), (3, 30), (5, NULL)`);
    expect(await h.q(`SELECT id FROM t1 WHERE id IN (SELECT id FROM t2 WHERE v IS NULL) OR v = 40 ORDER BY id`)).toEqual([[4]]);
    expect(await h.q(`SELECT id FROM t1 WHERE id IN (SELECT id FROM t2) OR v = 40 ORDER BY id`)).toEqual([[1], [3], [4]]);
    expect(await h.q(`SELECT id FROM t1 WHERE NOT (v IN (SELECT v FROM t2 WHERE v IS NOT NULL)) ORDER BY id`)).toEqual([[2], [4]]);
    expect(await h.q(`SELECT id, id IN (SELECT id FROM t2), EXISTS (SELECT 1 FROM t2 WHERE v > 25) FROM t1 ORDER BY id`)).toEqual([[1, true, true], [2, false, true], [3, true, true], [4, false, true]]);
    expect(await h.q(`SELECT id FROM t1 WHERE v > ALL (SELECT v FROM t2 WHERE v IS NOT NULL) ORDER BY id`)).toEqual([[4]]);
    expect(await h.q(`SELECT id FROM t1 WHERE v > ALL (SELECT v FROM t2) ORDER BY id`)).toEqual([]);
    expect(await h.q(`SELECT id FROM t1 WHERE v = ANY (SELECT v FROM t2) ORDER BY id`)).toEqual([[1]]);
    expect(await h.q(`SELECT id FROM t1 WHERE v < ANY (SELECT v FROM t2) ORDER BY id`)).toEqual([[1], [2]]);
    expect(await h.q(`SELECT id FROM t1 WHERE v > ALL (SELECT v FROM t2 WHERE id > 100) ORDER BY id`)).toEqual([[1], [2], [3], [4]]);
  });
});

describe('primary-key point lookups', () => {
  it('a full-key equality goes to StorageApi.lookup, not a scan', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE k (a INT, b STRING, v DECIMAL(6,2), d DATE, PRIMARY KEY (a, b))`);
    await h.exec(`INSERT INTO k VALUES (1, 'x', 1.25, '2020-02-02'), (1, 'y', 2.50, NULL), (2, 'x', NULL, NULL)`);
    h.storage.scans.length = 0;
    expect(await h.q(`SELECT v, d FROM k WHERE a = 1 AND b = 'x'`)).toEqual([['1.25', '2020-02-02']]);
    expect(await h.q(`SELECT v FROM k WHERE b = 'y' AND a = 1 AND v > 3`)).toEqual([]);
    expect(await h.q(`SELECT COUNT(*) FROM k WHERE a = 3 AND b = 'x'`)).toEqual([['0']]);
    expect(h.storage.scans).toHaveLength(0);
    expect(h.storage.lookups).toHaveLength(3);
    expect(await h.q(`SELECT v FROM k WHERE a = 1 ORDER BY b`)).toEqual([['1.25'], ['2.50']]);
    expect(h.storage.scans).toHaveLength(1);
  });
});

describe('literals', () => {
  it('string escapes follow MySQL', async () => {
    const h = await harness();
    expect(await h.q(`SELECT 'it''s', 'a\\'b', 'a\\\\b', 'x\\ny', "d""q", DATE_FORMAT('2020-03-04 05:06:07', '%Y/%m/%d %H:%i')`))
      .toEqual([["it's", "a'b", 'a\\b', 'x\ny', 'd"q', '2020/03/04 05:06']]);
  });
});
