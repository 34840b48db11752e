import { describe, expect, it } from 'vitest';
import { isCompleteStatement, parseSetVar, splitStatements, substituteVariables } from '../../src/cli/script.js';
import { formatDelimited, formatPretty, quoteField } from '../../src/cli/output.js';
import { isSaigaError } from '../../src/common/errors.js';

describe('splitStatements', () => {
  it('splits on semicolons outside quotes and comments, keeping start lines', () => {
    const script = [
      '-- a comment; not a statement',
      'select 1;',
      "select 'a;b', \"c;d\", `e;f`; /* block; comment",
      'still comment */ select 2',
      '  ; # hash comment;',
      'insert into t values (\'it\\\'s; ok\');',
      '',
      '',
    ].join('\n');
    const parts = splitStatements(script);
    expect(parts.map((p) => p.sql)).toEqual([
      'select 1',
      "select 'a;b', \"c;d\", `e;f`",
      'select 2',
      "insert into t values ('it\\'s; ok')",
    ]);
    expect(parts.map((p) => p.line)).toEqual([2, 3, 4, 6]);
  });

  it('keeps a final statement without a semicolon and drops empty ones', () => {
    expect(splitStatements(';;\n select 3 \n').map((p) => [p.sql, p.line])).toEqual([['select 3', 2]]);
    expect(splitStatements('-- only a comment\n')).toEqual([]);
  });

  it('reads comments as impala-shell does, not as the MySQL server does', () => {
    // any `--` starts a comment (MySQL needs a space after it); `/*! */` is a plain comment
    expect(splitStatements('select 1--; not split\n;select 2').map((p) => p.sql)).toEqual(['select 1--; not split', 'select 2']);
    expect(splitStatements('/*!40101 set x = 1 */; select 3').map((p) => p.sql)).toEqual(['select 3']);
  });

  it('counts lines inside strings, escaped newlines included', () => {
    const parts = splitStatements("select 'a\\\nb\nc';\n/* x\ny */ select 2; \"\n\";\nselect 4");
    expect(parts.map((p) => p.line)).toEqual([1, 5, 5, 7]);
  });

  it('knows when interactive input completes a statement', () => {
    expect(isCompleteStatement('select 1')).toBe(false);
    expect(isCompleteStatement('select 1;')).toBe(true);
    expect(isCompleteStatement("select ';")).toBe(false);
    expect(isCompleteStatement("select ';';")).toBe(true);
    expect(isCompleteStatement('select 1; -- trailing')).toBe(true);
  });
});

describe('variables', () => {
  const vars = new Map([['tbl', 'lineitem'], ['n', '10']]);
  it('substitutes ${var:NAME} case-insensitively and honours escapes', () => {
    expect(substituteVariables('select * from ${VAR:Tbl} limit ${var:n}', vars)).toBe('select * from lineitem limit 10');
    expect(substituteVariables('select \'\\${var:n}\'', vars)).toBe("select '${var:n}'");
  });
  it('rejects unknown variables with a typed error naming them', () => {
    let err: unknown;
    try {
      substituteVariables('select ${var:missing}', vars);
    } catch (e) {
      err = e;
    }
    expect(isSaigaError(err, 'InvalidArgument')).toBe(true);
    expect(String((err as Error).message)).toContain('missing');
  });
  it('parses SET VAR:NAME=VALUE', () => {
    expect(parseSetVar("SET VAR:Year='1995'")).toEqual(['year', '1995']);
    expect(parseSetVar('set var:x = 3')).toEqual(['x', '3']);
    expect(parseSetVar('set names utf8')).toBeUndefined();
  });
});

describe('output', () => {
  const result = { columns: ['id', 'name'], rows: [['1', 'a,b'], ['22', null], ['3', 'say "hi"']] };
  it('prints a pretty table with NULL', () => {
    expect(formatPretty(result)).toBe(
      [
        '+----+----------+',
        '| id | name     |',
        '+----+----------+',
        '| 1  | a,b      |',
        '| 22 | NULL     |',
        '| 3  | say "hi" |',
        '+----+----------+',
      ].join('\n'),
    );
  });
  it('prints delimited rows, quoting values that hold the delimiter', () => {
    expect(formatDelimited(result, ',', true)).toBe('id,name\n1,"a,b"\n22,NULL\n3,"say ""hi"""');
    expect(formatDelimited(result, '\t', false)).toBe('1\ta,b\n22\tNULL\n3\t"say ""hi"""');
    expect(quoteField('plain', '|')).toBe('plain');
  });
});
