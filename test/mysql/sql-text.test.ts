import { describe, expect, it } from 'vitest';
import { statementSpans, type SqlScanRules } from '../../src/query/tokenizer.js';
import { splitStatements, stripComments } from '../../src/server/mysql/sql-text.js';

/** The endpoint's reading of SQL text: the shared scanner under MySQL's comment rules. */
describe('splitStatements (MySQL rules)', () => {
  it('keeps statements as written and drops empty or comment-only ones', () => {
    expect(splitStatements(' select 1 ;; -- c\n; /* c */ ;select 2')).toEqual([' select 1 ', 'select 2']);
    expect(splitStatements("select ';', \"a;b\", `c;d`, 'it\\'s;'")).toEqual(["select ';', \"a;b\", `c;d`, 'it\\'s;'"]);
  });

  it('takes `--` as a comment only before whitespace or the end', () => {
    expect(splitStatements('select 1--2; select 3')).toEqual(['select 1--2', ' select 3']);
    expect(splitStatements('select 1 -- 2; select 3\nselect 4')).toEqual(['select 1 -- 2; select 3\nselect 4']);
    expect(splitStatements('select 1;--')).toEqual(['select 1']);
  });

  it('runs executable comments as code and never splits inside them', () => {
    expect(splitStatements('/*!40101 SET a = 1; SET b = 2 */; select 1')).toEqual(['/*!40101 SET a = 1; SET b = 2 */', ' select 1']);
    expect(splitStatements('/*!40101 */; select 1')).toEqual([' select 1']);
    expect(stripComments('/*!40101 SET a = 1 */ # x\nselect /* y */ 2')).toBe('  SET a = 1    select   2');
  });

  it('lets unterminated quotes and comments run to the end instead of failing', () => {
    expect(splitStatements("select 'a; select 2")).toEqual(["select 'a; select 2"]);
    expect(splitStatements('select 1; /* open; select 2')).toEqual(['select 1']);
  });

  it('drops statements of whitespace only, whatever the whitespace', () => {
    expect(splitStatements('select 1;\f\u00a0;\v')).toEqual(['select 1']);
  });
});

describe('statementSpans (the shared scanner)', () => {
  const strict: SqlScanRules = { dashCommentNeedsSpace: true, executableComments: false, strict: true };
  const lenient: SqlScanRules = { dashCommentNeedsSpace: false, executableComments: false, strict: false };

  it('gives each statement its start, first code character and end', () => {
    const sql = '  /* a */ select 1 ; -- b\n\n  select 2';
    expect(statementSpans(sql, strict)).toEqual([
      { start: 0, codeStart: sql.indexOf('select 1'), end: sql.indexOf(';') },
      { start: sql.indexOf(';') + 1, codeStart: sql.indexOf('select 2'), end: sql.length },
    ]);
  });

  it('throws ParseError on unterminated text only when strict', () => {
    for (const sql of ["select 'a", 'select `a', 'select 1 /* open']) {
      expect(() => statementSpans(sql, strict)).toThrow(/unterminated/);
      expect(statementSpans(sql, lenient)).toEqual([{ start: 0, codeStart: 0, end: sql.length }]);
    }
  });
});
