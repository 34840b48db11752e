import { describe, expect, it } from 'vitest';
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
