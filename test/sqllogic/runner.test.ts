import { describe, expect, it } from 'vitest';
import type { Cell, ResultTable } from '../../bench/tpch/compare.js';
import { formatValue, parseSqllogic, runRecords } from './runner.js';
import type { SqlEngineAdapter } from './runner.js';

const FILE = `# comment
statement ok
CREATE TABLE t (a INT)

statement error unknown table
SELECT * FROM missing

query IT rowsort
SELECT a, b
FROM t
----
2	y
1	x

skipif fake
query I
SELECT broken
----
1

onlyif other
query I
SELECT broken
----
1

query I valuesort
SELECT a FROM t
----
1
2

halt

query I
SELECT never
----
`;

/** A scripted engine: each SQL text maps to a table or an error. */
function fakeEngine(tables: Record<string, ResultTable | Error>, executed: string[]): SqlEngineAdapter {
  const lookup = (sql: string): ResultTable => {
    const t = tables[sql];
    if (t === undefined) throw new Error(`unknown table in ${sql}`);
    if (t instanceof Error) throw t;
    return t;
  };
  return {
    name: 'fake',
    async execute(sql) {
      executed.push(sql);
      if (sql.includes('missing')) lookup(sql);
    },
    async query(sql) {
      executed.push(sql);
      return lookup(sql);
    },
  };
}

const n = (v: number): Cell => ({ t: 'n', v: BigInt(v), s: 0 });
const s = (v: string): Cell => ({ t: 's', v });

describe('sqllogictest parser', () => {
  it('reads records with line numbers, sort modes, conditions and multi-line SQL', () => {
    const recs = parseSqllogic(FILE, 'x.test');
    expect(recs.map((r) => r.record.kind)).toEqual(['statement', 'statement', 'query', 'query', 'query', 'query', 'halt', 'query']);
    expect(recs[0]?.record.line).toBe(2);
    expect(recs[1]?.record).toMatchObject({ kind: 'statement', expectError: true, errorPattern: 'unknown table', line: 5 });
    expect(recs[2]?.record).toMatchObject({ kind: 'query', types: 'IT', sort: 'rowsort', sql: 'SELECT a, b\nFROM t', expected: ['2\ty', '1\tx'], line: 8 });
    expect(recs[3]?.skipIf).toEqual(['fake']);
    expect(recs[4]?.onlyIf).toEqual(['other']);
    expect(recs[7]?.record).toMatchObject({ kind: 'query', expected: [] });
  });

  it('rejects malformed records with file and line', () => {
    expect(() => parseSqllogic('query X\nSELECT 1\n', 'bad.test')).toThrow(/bad\.test:1/);
    expect(() => parseSqllogic('\n\nstatement maybe\nSELECT 1\n', 'bad.test')).toThrow(/bad\.test:3/);
    expect(() => parseSqllogic('frobnicate\n', 'bad.test')).toThrow(/unknown record/);
  });
});

describe('sqllogictest runner', () => {
  const good: Record<string, ResultTable | Error> = {
    'SELECT a, b\nFROM t': { columnNames: ['a', 'b'], rows: [[n(1), s('x')], [n(2), s('y')]] },
    'SELECT a FROM t': { columnNames: ['a'], rows: [[n(2)], [n(1)]] },
  };

  it('passes a matching file, honours skipif/onlyif and halt', async () => {
    const executed: string[] = [];
    const res = await runRecords(parseSqllogic(FILE, 'x.test'), fakeEngine(good, executed));
    expect(res.failures).toEqual([]);
    expect(res.skipped).toBe(2);
    expect(executed).not.toContain('SELECT broken');
    expect(executed).not.toContain('SELECT never');
  });

  it('reports wrong rows, wrong column counts, unexpected errors and missing errors by line', async () => {
    const bad: Record<string, ResultTable | Error> = {
      'SELECT a, b\nFROM t': { columnNames: ['a', 'b'], rows: [[n(1), s('x')], [n(3), s('y')]] },
      'SELECT a FROM t': { columnNames: ['a', 'b'], rows: [[n(2), n(0)]] },
    };
    const text = `${FILE.replace('SELECT * FROM missing', 'SELECT * FROM present')}`;
    const res = await runRecords(parseSqllogic(text, 'x.test'), fakeEngine(bad, []));
    expect(res.failures.map((f) => f.line)).toEqual([5, 8, 27]);
    expect(res.failures[0]?.message).toMatch(/expected an error/);
    expect(res.failures[1]?.message).toMatch(/result differs/);
    expect(res.failures[2]?.message).toMatch(/expected 1 columns/);
  });

  it('checks the error message pattern', async () => {
    const recs = parseSqllogic('statement error ^syntax\nSELECT * FROM missing\n', 'e.test');
    const res = await runRecords(recs, fakeEngine({}, []));
    expect(res.failures[0]?.message).toMatch(/matching \/\^syntax\//);
  });

  it('formats values per type letter', () => {
    expect(formatValue(null, 'I')).toBe('NULL');
    expect(formatValue({ t: 's', v: '' }, 'T')).toBe('(empty)');
    expect(formatValue({ t: 'f', v: 2 / 3 }, 'R')).toBe('0.667');
    expect(formatValue({ t: 'n', v: 12345n, s: 2 }, 'R')).toBe('123.450');
    expect(formatValue({ t: 'n', v: 12345n, s: 2 }, 'T')).toBe('123.45');
    expect(formatValue({ t: 'n', v: 300n, s: 2 }, 'I')).toBe('3');
    expect(formatValue({ t: 'b', v: true }, 'I')).toBe('1');
    expect(formatValue({ t: 'f', v: -0.0001 }, 'R')).toBe('0.000');
  });
});
