import { SaigaError } from '../common/errors.js';
import type { WriteOpKind } from '../common/storage-api.js';
import { TokenCursor, tokenize, type Token } from './tokenizer.js';

/**
 * The pre-pass: statements node-sql-parser cannot parse (Impala-Kudu DDL, SHOW family, UPSERT,
 * ALTER ... RANGE PARTITION, COMPUTE STATS, SET NAMES) and the fast INSERT ... VALUES path are
 * parsed here from tokens; SELECT / UPDATE / DELETE / INSERT ... SELECT bodies go to
 * node-sql-parser as text.
 */

/** A literal as written; converted to the target column's type at write time. */
export type Literal =
  | { readonly k: 'num'; readonly text: string }
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'date'; readonly v: string }
  | { readonly k: 'timestamp'; readonly v: string }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'null' }
  | { readonly k: 'default' }
  /** A non-literal expression: evaluated through the full SQL path. */
  | { readonly k: 'expr'; readonly text: string };

export interface ColumnDef {
  readonly name: string;
  readonly typeName: string;
  readonly typeArgs: readonly number[];
  readonly notNull: boolean;
  readonly nullExplicit: boolean;
  readonly primaryKey: boolean;
  readonly defaultValue?: Literal;
  readonly autoIncrement: boolean;
  readonly comment?: string;
}

export interface RangePartitionDef {
  /** Literal tuples; undefined = unbounded. */
  readonly lower?: readonly Literal[];
  readonly upper?: readonly Literal[];
}

export interface PartitionDef {
  readonly hash: readonly { readonly columns: readonly string[]; readonly buckets: number }[];
  readonly rangeColumns: readonly string[];
  readonly ranges: readonly RangePartitionDef[];
}

export type AlterStep =
  | { readonly kind: 'addColumns'; readonly columns: readonly ColumnDef[] }
  | { readonly kind: 'dropColumn'; readonly name: string }
  | { readonly kind: 'renameColumn'; readonly from: string; readonly to: string; readonly def?: ColumnDef }
  | { readonly kind: 'renameTable'; readonly db: string | null; readonly name: string }
  | { readonly kind: 'addRange'; readonly range: RangePartitionDef; readonly ifNotExists: boolean }
  | { readonly kind: 'dropRange'; readonly range: RangePartitionDef; readonly ifExists: boolean };

export type ShowWhat =
  | 'databases' | 'tables' | 'columns' | 'createTable' | 'partitions' | 'variables' | 'status'
  | 'engines' | 'warnings' | 'errors' | 'collation' | 'charset' | 'tableStatus' | 'indexes'
  | 'processlist' | 'grants' | 'plugins' | 'createDatabase' | 'tableStats' | 'columnStats';

export type Statement =
  | { readonly kind: 'sql'; readonly text: string }
  | { readonly kind: 'createDatabase'; readonly name: string; readonly ifNotExists: boolean }
  | { readonly kind: 'dropDatabase'; readonly name: string; readonly ifExists: boolean }
  | { readonly kind: 'use'; readonly name: string }
  | {
      readonly kind: 'createTable'; readonly db: string | null; readonly name: string; readonly ifNotExists: boolean;
      readonly columns: readonly ColumnDef[]; readonly primaryKey: readonly string[] | null;
      readonly partition: PartitionDef | null; readonly asSelect: string | null; readonly comment?: string;
    }
  | { readonly kind: 'dropTable'; readonly tables: readonly { db: string | null; name: string }[]; readonly ifExists: boolean }
  | { readonly kind: 'truncate'; readonly db: string | null; readonly name: string }
  | { readonly kind: 'alterTable'; readonly db: string | null; readonly name: string; readonly steps: readonly AlterStep[] }
  | {
      readonly kind: 'insertValues'; readonly op: WriteOpKind; readonly db: string | null; readonly table: string;
      readonly columns: readonly string[] | null; readonly rows: readonly (readonly Literal[])[];
    }
  | {
      readonly kind: 'insertSelect'; readonly op: WriteOpKind; readonly db: string | null; readonly table: string;
      readonly columns: readonly string[] | null; readonly select: string;
    }
  | { readonly kind: 'show'; readonly what: ShowWhat; readonly db: string | null; readonly table: string | null; readonly like: string | null; readonly full: boolean }
  | { readonly kind: 'describe'; readonly db: string | null; readonly table: string; readonly formatted: boolean }
  | { readonly kind: 'set'; readonly assignments: readonly { readonly name: string; readonly value: Literal }[] }
  | { readonly kind: 'computeStats'; readonly db: string | null; readonly table: string }
  | { readonly kind: 'explain'; readonly inner: Statement; readonly text: string }
  | { readonly kind: 'noop'; readonly what: string };

export function prepass(sql: string): Statement {
  const toks = tokenize(sql);
  const c = new TokenCursor(toks, sql);
  if (toks.length === 0) throw new SaigaError('ParseError', 'empty statement');
  const first = toks[0]!.text.toUpperCase();
  switch (first) {
    case 'SELECT': case 'WITH': case 'UPDATE': case 'DELETE': case '(':
      return { kind: 'sql', text: sql };
    case 'EXPLAIN': {
      c.pos = 1;
      if (c.isKw('SELECT') || c.isKw('WITH') || c.isKw('INSERT') || c.isKw('UPDATE') || c.isKw('DELETE') || c.isKw('UPSERT')) {
        const inner = sql.slice(toks[1]!.start);
        return { kind: 'explain', inner: prepass(inner), text: inner };
      }
      // EXPLAIN t = DESCRIBE t
      const q = c.qualifiedName();
      return { kind: 'describe', db: q.db, table: q.name, formatted: false };
    }
    case 'CREATE': return parseCreate(c);
    case 'DROP': return parseDrop(c);
    case 'USE': c.pos = 1; return endOf(c, { kind: 'use', name: c.ident('database name') });
    case 'TRUNCATE': {
      c.pos = 1;
      c.acceptKw('TABLE');
      const q = c.qualifiedName();
      return endOf(c, { kind: 'truncate', db: q.db, name: q.name });
    }
    case 'ALTER': return parseAlter(c);
    case 'INSERT': case 'UPSERT': case 'REPLACE': return parseInsert(c);
    case 'SHOW': return parseShow(c);
    case 'DESCRIBE': case 'DESC': {
      c.pos = 1;
      const formatted = c.acceptKw('FORMATTED') || c.acceptKw('EXTENDED');
      const q = c.qualifiedName();
      return endOf(c, { kind: 'describe', db: q.db, table: q.name, formatted });
    }
    case 'SET': return parseSet(c);
    case 'COMPUTE': {
      c.pos = 1;
      c.acceptKw('INCREMENTAL');
      c.expectKw('STATS');
      const q = c.qualifiedName();
      return endOf(c, { kind: 'computeStats', db: q.db, table: q.name });
    }
    case 'ANALYZE': {
      c.pos = 1;
      c.expectKw('TABLE');
      const q = c.qualifiedName();
      return endOf(c, { kind: 'computeStats', db: q.db, table: q.name });
    }
    case 'BEGIN': case 'COMMIT': case 'ROLLBACK': case 'START': case 'INVALIDATE': case 'REFRESH': case 'FLUSH': case 'LOCK': case 'UNLOCK':
      return { kind: 'noop', what: first };
    default:
      throw new SaigaError('NotSupported', `statement starting with '${toks[0]!.text}' is not supported`);
  }
}

function endOf<S extends Statement>(c: TokenCursor, s: S): S {
  if (!c.atEnd()) c.fail('end of statement');
  return s;
}

function parseCreate(c: TokenCursor): Statement {
  c.pos = 1;
  if (c.acceptKw('DATABASE') || c.acceptKw('SCHEMA')) {
    const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
    const name = c.ident('database name');
    skipTableOptions(c);
    return endOf(c, { kind: 'createDatabase', name, ifNotExists });
  }
  c.acceptKw('EXTERNAL');
  if (!c.acceptKw('TABLE')) c.fail('TABLE or DATABASE after CREATE');
  const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
  const q = c.qualifiedName();
  const columns: ColumnDef[] = [];
  let primaryKey: string[] | null = null;
  if (c.acceptOp('(')) {
    for (;;) {
      if (c.isKw('PRIMARY')) {
        c.pos++;
        c.expectKw('KEY');
        primaryKey = identList(c);
      } else if (c.isKw('CONSTRAINT')) {
        c.pos++;
        if (!c.isKw('PRIMARY')) c.ident();
        c.expectKw('PRIMARY'); c.expectKw('KEY');
        primaryKey = identList(c);
      } else if (c.isKw('KEY') || c.isKw('INDEX') || c.isKw('UNIQUE') || c.isKw('FOREIGN') || c.isKw('FULLTEXT')) {
        // Secondary indexes are not kept; skip the clause.
        skipBalanced(c);
      } else {
        columns.push(parseColumnDef(c));
      }
      if (c.acceptOp(',')) continue;
      c.expectOp(')');
      break;
    }
  }
  let partition: PartitionDef | null = null;
  let asSelect: string | null = null;
  let comment: string | undefined;
  // Impala-Kudu: PRIMARY KEY may also appear after the column list? (it must be inside in Impala) - options follow.
  while (!c.atEnd()) {
    if (c.acceptKw('PARTITION', 'BY')) { partition = parsePartitionBy(c); continue; }
    if (c.acceptKw('PRIMARY', 'KEY')) { primaryKey = identList(c); continue; }
    if (c.acceptKw('STORED', 'AS')) { c.ident('storage format'); continue; }
    if (c.acceptKw('COMMENT')) { c.acceptOp('='); comment = stringLit(c); continue; }
    if (c.acceptKw('TBLPROPERTIES')) { skipBalancedParens(c); continue; }
    if (c.isKw('AS') || c.isKw('SELECT') || c.isKw('WITH')) {
      c.acceptKw('AS');
      asSelect = c.rest();
      c.pos = c.tokens.length;
      break;
    }
    if (skipTableOption(c)) continue;
    c.fail('table option, PARTITION BY, STORED AS or AS SELECT');
  }
  if (columns.length === 0 && asSelect === null) throw new SaigaError('ParseError', `CREATE TABLE ${q.name} needs a column list or AS SELECT`);
  const inlinePk = columns.filter((col) => col.primaryKey).map((col) => col.name);
  if (inlinePk.length > 0) {
    if (primaryKey !== null) throw new SaigaError('ParseError', `table ${q.name} declares its primary key twice`);
    primaryKey = inlinePk;
  }
  const base = { kind: 'createTable' as const, db: q.db, name: q.name, ifNotExists, columns, primaryKey, partition, asSelect };
  return comment === undefined ? base : { ...base, comment };
}

function skipTableOptions(c: TokenCursor): void {
  while (!c.atEnd() && skipTableOption(c)) { /* skip */ }
}

/** ENGINE=x, DEFAULT CHARSET=x, COLLATE x, AUTO_INCREMENT=n, ROW_FORMAT=x ... (accepted, ignored). */
function skipTableOption(c: TokenCursor): boolean {
  const t = c.peek();
  if (t === undefined || t.kind !== 'id') return false;
  const w = t.text.toUpperCase();
  const known = ['ENGINE', 'DEFAULT', 'CHARSET', 'CHARACTER', 'COLLATE', 'AUTO_INCREMENT', 'ROW_FORMAT', 'CHECKSUM', 'KEY_BLOCK_SIZE', 'MAX_ROWS', 'MIN_ROWS', 'PACK_KEYS', 'STATS_PERSISTENT', 'DELAY_KEY_WRITE', 'INSERT_METHOD', 'COMPRESSION', 'ENCRYPTION'];
  if (!known.includes(w)) return false;
  c.pos++;
  if (w === 'DEFAULT') { if (!c.isKw('CHARSET') && !c.isKw('CHARACTER') && !c.isKw('COLLATE')) c.fail('CHARSET or COLLATE'); return true; }
  if (w === 'CHARACTER') c.expectKw('SET');
  c.acceptOp('=');
  c.pos++;
  c.acceptOp(',');
  return true;
}

function stringLit(c: TokenCursor): string {
  const t = c.peek();
  if (t === undefined || t.kind !== 'str') c.fail('string literal');
  c.pos++;
  return t.text;
}

function identList(c: TokenCursor): string[] {
  c.expectOp('(');
  const out: string[] = [];
  do out.push(c.ident('column name')); while (c.acceptOp(','));
  c.expectOp(')');
  return out;
}

function skipBalanced(c: TokenCursor): void {
  let depth = 0;
  while (!c.atEnd()) {
    if (depth === 0 && (c.isOp(',') || c.isOp(')'))) return;
    if (c.isOp('(')) depth++;
    if (c.isOp(')')) depth--;
    c.pos++;
  }
}

function skipBalancedParens(c: TokenCursor): void {
  c.expectOp('(');
  let depth = 1;
  while (!c.atEnd() && depth > 0) {
    if (c.isOp('(')) depth++;
    if (c.isOp(')')) depth--;
    c.pos++;
  }
}

const COLUMN_ATTR_STOP = new Set([',', ')']);

export function parseColumnDef(c: TokenCursor): ColumnDef {
  const name = c.ident('column name');
  let typeName = c.ident('column type').toUpperCase();
  const typeArgs: number[] = [];
  if (typeName === 'DOUBLE' && c.acceptKw('PRECISION')) typeName = 'DOUBLE';
  if (typeName === 'CHARACTER' && c.acceptKw('VARYING')) typeName = 'VARCHAR';
  if (c.acceptOp('(')) {
    do {
      const t = c.peek();
      if (t === undefined || t.kind !== 'num') c.fail('type length');
      typeArgs.push(Number(t.text));
      c.pos++;
    } while (c.acceptOp(','));
    c.expectOp(')');
  }
  let notNull = false;
  let nullExplicit = false;
  let primaryKey = false;
  let autoIncrement = false;
  let defaultValue: Literal | undefined;
  let comment: string | undefined;
  while (!c.atEnd() && !(c.peek()!.kind === 'op' && COLUMN_ATTR_STOP.has(c.peek()!.text))) {
    if (c.acceptKw('NOT', 'NULL')) { notNull = true; nullExplicit = true; continue; }
    if (c.acceptKw('NULL')) { nullExplicit = true; continue; }
    if (c.acceptKw('PRIMARY', 'KEY')) { primaryKey = true; continue; }
    if (c.acceptKw('UNIQUE')) { c.acceptKw('KEY'); continue; }
    if (c.acceptKw('KEY')) { primaryKey = true; continue; }
    if (c.acceptKw('AUTO_INCREMENT')) { autoIncrement = true; continue; }
    if (c.acceptKw('UNSIGNED') || c.acceptKw('SIGNED') || c.acceptKw('ZEROFILL') || c.acceptKw('BINARY')) continue;
    if (c.acceptKw('DEFAULT')) { defaultValue = literal(c); continue; }
    if (c.acceptKw('COMMENT')) { comment = stringLit(c); continue; }
    if (c.acceptKw('ENCODING') || c.acceptKw('COMPRESSION') || c.acceptKw('COLLATE')) { c.pos++; continue; }
    if (c.acceptKw('BLOCK_SIZE')) { c.pos++; continue; }
    if (c.acceptKw('CHARACTER', 'SET') || c.acceptKw('CHARSET')) { c.pos++; continue; }
    if (c.acceptKw('ON', 'UPDATE')) { literal(c); continue; }
    c.fail(`column attribute for ${name}`);
  }
  const base = { name, typeName, typeArgs, notNull, nullExplicit, primaryKey, autoIncrement };
  return {
    ...base,
    ...(defaultValue !== undefined ? { defaultValue } : {}),
    ...(comment !== undefined ? { comment } : {}),
  };
}

/** One literal: number, string, NULL, TRUE/FALSE, DEFAULT, DATE '..', TIMESTAMP '..', -number. */
export function literal(c: TokenCursor): Literal {
  const t = c.peek();
  if (t === undefined) c.fail('literal');
  if (t.kind === 'num') { c.pos++; return { k: 'num', text: t.text }; }
  if (t.kind === 'str') { c.pos++; return { k: 'str', v: t.text }; }
  if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
    const u = c.peek(1);
    if (u !== undefined && u.kind === 'num') { c.pos += 2; return { k: 'num', text: t.text === '-' ? `-${u.text}` : u.text }; }
  }
  if (t.kind === 'id') {
    const w = t.text.toUpperCase();
    if (w === 'NULL') { c.pos++; return { k: 'null' }; }
    if (w === 'TRUE' || w === 'FALSE') { c.pos++; return { k: 'bool', v: w === 'TRUE' }; }
    if (w === 'DEFAULT') { c.pos++; return { k: 'default' }; }
    if ((w === 'DATE' || w === 'TIMESTAMP' || w === 'DATETIME') && c.peek(1)?.kind === 'str') {
      c.pos += 2;
      return w === 'DATE' ? { k: 'date', v: c.tokens[c.pos - 1]!.text } : { k: 'timestamp', v: c.tokens[c.pos - 1]!.text };
    }
    if (w === 'CURRENT_TIMESTAMP' || w === 'NOW') {
      c.pos++;
      if (c.acceptOp('(')) c.expectOp(')');
      return { k: 'expr', text: 'CURRENT_TIMESTAMP' };
    }
  }
  c.fail('literal');
}

function parsePartitionBy(c: TokenCursor): PartitionDef {
  const hash: { columns: string[]; buckets: number }[] = [];
  let rangeColumns: string[] = [];
  const ranges: RangePartitionDef[] = [];
  for (;;) {
    if (c.acceptKw('HASH')) {
      const columns = c.isOp('(') ? identList(c) : [];
      c.expectKw('PARTITIONS');
      const t = c.peek();
      if (t === undefined || t.kind !== 'num') c.fail('partition count');
      c.pos++;
      hash.push({ columns, buckets: Number(t.text) });
    } else if (c.acceptKw('RANGE')) {
      rangeColumns = identList(c);
      c.expectOp('(');
      do ranges.push(parseRangePartition(c)); while (c.acceptOp(','));
      c.expectOp(')');
    } else {
      c.fail('HASH or RANGE');
    }
    if (!c.acceptOp(',')) break;
  }
  return { hash, rangeColumns, ranges };
}

function tuple(c: TokenCursor): Literal[] {
  if (c.acceptOp('(')) {
    const out: Literal[] = [];
    do out.push(literal(c)); while (c.acceptOp(','));
    c.expectOp(')');
    return out;
  }
  return [literal(c)];
}

/** PARTITION [lower <[=]] VALUES [<[=] upper] | PARTITION VALUE = v */
export function parseRangePartition(c: TokenCursor): RangePartitionDef {
  c.expectKw('PARTITION');
  if (c.acceptKw('VALUE')) {
    c.expectOp('=');
    const v = tuple(c);
    return { lower: v, upper: successor(v) };
  }
  let lower: Literal[] | undefined;
  let upper: Literal[] | undefined;
  if (!c.isKw('VALUES')) {
    const v = tuple(c);
    if (c.acceptOp('<')) lower = successor(v);
    else { c.expectOp('<='); lower = v; }
  }
  c.expectKw('VALUES');
  if (c.acceptOp('<')) upper = tuple(c);
  else if (c.acceptOp('<=')) upper = successor(tuple(c));
  const r: { lower?: Literal[]; upper?: Literal[] } = {};
  if (lower !== undefined) r.lower = lower;
  if (upper !== undefined) r.upper = upper;
  return r;
}

/** v < VALUES means lower bound v+1 for integer keys; only integer successors are supported. */
function successor(v: Literal[]): Literal[] {
  if (v.length !== 1 || v[0]!.k !== 'num' || !/^-?\d+$/.test(v[0]!.text)) {
    throw new SaigaError('NotSupported', 'exclusive range bounds (< VALUES / <= upper) are supported only on one integer column');
  }
  return [{ k: 'num', text: (BigInt(v[0]!.text) + 1n).toString() }];
}

function parseDrop(c: TokenCursor): Statement {
  c.pos = 1;
  if (c.acceptKw('DATABASE') || c.acceptKw('SCHEMA')) {
    const ifExists = c.acceptKw('IF', 'EXISTS');
    const name = c.ident('database name');
    c.acceptKw('CASCADE') || c.acceptKw('RESTRICT');
    return endOf(c, { kind: 'dropDatabase', name, ifExists });
  }
  c.acceptKw('TEMPORARY');
  if (!c.acceptKw('TABLE')) c.fail('TABLE or DATABASE after DROP');
  const ifExists = c.acceptKw('IF', 'EXISTS');
  const tables: { db: string | null; name: string }[] = [];
  do tables.push(c.qualifiedName()); while (c.acceptOp(','));
  c.acceptKw('PURGE') || c.acceptKw('CASCADE') || c.acceptKw('RESTRICT');
  return endOf(c, { kind: 'dropTable', tables, ifExists });
}

function parseAlter(c: TokenCursor): Statement {
  c.pos = 1;
  c.expectKw('TABLE');
  const q = c.qualifiedName();
  const steps: AlterStep[] = [];
  do {
    if (c.acceptKw('ADD')) {
      const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
      if (c.acceptKw('RANGE')) {
        steps.push({ kind: 'addRange', range: parseRangePartition(c), ifNotExists });
      } else if (c.acceptKw('COLUMNS')) {
        c.expectOp('(');
        const cols: ColumnDef[] = [];
        do cols.push(parseColumnDef(c)); while (c.acceptOp(','));
        c.expectOp(')');
        steps.push({ kind: 'addColumns', columns: cols });
      } else {
        c.acceptKw('COLUMN');
        if (c.acceptOp('(')) {
          const cols: ColumnDef[] = [];
          do cols.push(parseColumnDef(c)); while (c.acceptOp(','));
          c.expectOp(')');
          steps.push({ kind: 'addColumns', columns: cols });
        } else {
          steps.push({ kind: 'addColumns', columns: [parseColumnDef(c)] });
        }
      }
    } else if (c.acceptKw('DROP')) {
      const ifExists = c.acceptKw('IF', 'EXISTS');
      if (c.acceptKw('RANGE')) steps.push({ kind: 'dropRange', range: parseRangePartition(c), ifExists });
      else { c.acceptKw('COLUMN'); steps.push({ kind: 'dropColumn', name: c.ident('column name') }); }
    } else if (c.acceptKw('RENAME')) {
      if (c.acceptKw('COLUMN')) {
        const from = c.ident('column name');
        c.expectKw('TO');
        steps.push({ kind: 'renameColumn', from, to: c.ident('column name') });
      } else {
        c.acceptKw('TO') || c.acceptKw('AS');
        const n = c.qualifiedName();
        steps.push({ kind: 'renameTable', db: n.db, name: n.name });
      }
    } else if (c.acceptKw('CHANGE')) {
      c.acceptKw('COLUMN');
      const from = c.ident('column name');
      const def = parseColumnDef(c);
      steps.push({ kind: 'renameColumn', from, to: def.name, def });
    } else {
      c.fail('ADD, DROP, RENAME or CHANGE');
    }
  } while (c.acceptOp(','));
  return endOf(c, { kind: 'alterTable', db: q.db, name: q.name, steps });
}

function parseInsert(c: TokenCursor): Statement {
  const first = c.peek()!.text.toUpperCase();
  c.pos = 1;
  let op: WriteOpKind = first === 'INSERT' ? 'insert' : 'upsert';
  while (c.acceptKw('LOW_PRIORITY') || c.acceptKw('DELAYED') || c.acceptKw('HIGH_PRIORITY')) { /* ignored */ }
  if (c.acceptKw('IGNORE')) op = op === 'insert' ? 'insert_ignore' : op;
  if (!c.acceptKw('INTO')) c.acceptKw('TABLE') || c.acceptKw('OVERWRITE');
  const q = c.qualifiedName();
  let columns: string[] | null = null;
  if (c.isOp('(') && !(c.isKw('SELECT', 1) || c.isKw('WITH', 1))) columns = identList(c);
  if (c.acceptKw('VALUES') || c.acceptKw('VALUE')) {
    const rows: Literal[][] = [];
    do rows.push(valuesRow(c)); while (c.acceptOp(','));
    if (c.acceptKw('ON', 'DUPLICATE', 'KEY', 'UPDATE')) throw new SaigaError('NotSupported', 'INSERT ... ON DUPLICATE KEY UPDATE is not supported; use UPSERT');
    return endOf(c, { kind: 'insertValues', op, db: q.db, table: q.name, columns, rows });
  }
  if (c.isKw('SELECT') || c.isKw('WITH') || c.isOp('(')) {
    return { kind: 'insertSelect', op, db: q.db, table: q.name, columns, select: c.rest() };
  }
  if (c.acceptKw('SET')) {
    const cols: string[] = [];
    const row: Literal[] = [];
    do {
      cols.push(c.ident('column name'));
      c.expectOp('=');
      row.push(valueOrExpr(c));
    } while (c.acceptOp(','));
    return endOf(c, { kind: 'insertValues', op, db: q.db, table: q.name, columns: cols, rows: [row] });
  }
  c.fail('VALUES, SELECT or SET');
}

function valuesRow(c: TokenCursor): Literal[] {
  c.expectOp('(');
  const out: Literal[] = [];
  if (c.acceptOp(')')) return out;
  do out.push(valueOrExpr(c)); while (c.acceptOp(','));
  c.expectOp(')');
  return out;
}

/** A literal when the value is one, else the expression's text up to the next top-level ',' or ')'. */
function valueOrExpr(c: TokenCursor): Literal {
  const save = c.pos;
  try {
    const lit = literal(c);
    if (c.isOp(',') || c.isOp(')') || c.atEnd()) return lit;
  } catch (e) {
    if (!(e instanceof SaigaError)) throw e;
  }
  c.pos = save;
  const startTok: Token | undefined = c.peek();
  if (startTok === undefined) c.fail('value');
  let depth = 0;
  let endOff = startTok.start;
  while (!c.atEnd()) {
    const t = c.peek()!;
    if (depth === 0 && t.kind === 'op' && (t.text === ',' || t.text === ')')) break;
    if (t.kind === 'op' && t.text === '(') depth++;
    if (t.kind === 'op' && t.text === ')') depth--;
    endOff = t.end;
    c.pos++;
  }
  return { k: 'expr', text: c.sql.slice(startTok.start, endOff) };
}

function parseShow(c: TokenCursor): Statement {
  c.pos = 1;
  const full = c.acceptKw('FULL');
  c.acceptKw('GLOBAL') || c.acceptKw('SESSION');
  let what: ShowWhat;
  let table: string | null = null;
  let db: string | null = null;
  if (c.acceptKw('DATABASES') || c.acceptKw('SCHEMAS')) what = 'databases';
  else if (c.acceptKw('TABLES')) {
    what = 'tables';
    if (c.acceptKw('FROM') || c.acceptKw('IN')) db = c.ident('database name');
  } else if (c.acceptKw('TABLE', 'STATUS')) {
    what = 'tableStatus';
    if (c.acceptKw('FROM') || c.acceptKw('IN')) db = c.ident('database name');
  } else if (c.acceptKw('TABLE', 'STATS')) {
    what = 'tableStats';
    const q = c.qualifiedName(); db = q.db; table = q.name;
  } else if (c.acceptKw('COLUMN', 'STATS')) {
    what = 'columnStats';
    const q = c.qualifiedName(); db = q.db; table = q.name;
  } else if (c.acceptKw('COLUMNS') || c.acceptKw('FIELDS')) {
    what = 'columns';
    if (!c.acceptKw('FROM')) c.expectKw('IN');
    const q = c.qualifiedName(); db = q.db; table = q.name;
    if (c.acceptKw('FROM') || c.acceptKw('IN')) db = c.ident('database name');
  } else if (c.acceptKw('INDEX') || c.acceptKw('INDEXES') || c.acceptKw('KEYS')) {
    what = 'indexes';
    if (!c.acceptKw('FROM')) c.expectKw('IN');
    const q = c.qualifiedName(); db = q.db; table = q.name;
    if (c.acceptKw('FROM') || c.acceptKw('IN')) db = c.ident('database name');
  } else if (c.acceptKw('CREATE', 'TABLE')) {
    what = 'createTable';
    const q = c.qualifiedName(); db = q.db; table = q.name;
  } else if (c.acceptKw('CREATE', 'DATABASE') || c.acceptKw('CREATE', 'SCHEMA')) {
    what = 'createDatabase';
    db = c.ident('database name');
  } else if (c.acceptKw('RANGE', 'PARTITIONS') || c.acceptKw('PARTITIONS')) {
    what = 'partitions';
    const q = c.qualifiedName(); db = q.db; table = q.name;
  } else if (c.acceptKw('VARIABLES')) what = 'variables';
  else if (c.acceptKw('STATUS')) what = 'status';
  else if (c.acceptKw('ENGINES')) what = 'engines';
  else if (c.acceptKw('WARNINGS')) what = 'warnings';
  else if (c.acceptKw('ERRORS')) what = 'errors';
  else if (c.acceptKw('COLLATION')) what = 'collation';
  else if (c.acceptKw('CHARACTER', 'SET') || c.acceptKw('CHARSET')) what = 'charset';
  else if (c.acceptKw('PROCESSLIST')) what = 'processlist';
  else if (c.acceptKw('GRANTS')) { what = 'grants'; c.pos = c.tokens.length; }
  else if (c.acceptKw('PLUGINS')) what = 'plugins';
  else c.fail('a SHOW target (DATABASES, TABLES, COLUMNS, CREATE TABLE, PARTITIONS, VARIABLES, ...)');
  let like: string | null = null;
  if (c.acceptKw('LIKE')) like = stringLit(c);
  else if (c.acceptKw('WHERE')) {
    // SHOW VARIABLES WHERE Variable_name = 'x' (what GUI tools send)
    c.ident();
    if (c.acceptOp('=') || c.acceptKw('LIKE')) like = stringLit(c);
    else c.fail("= 'name'");
  }
  if (what === 'errors' || what === 'warnings') { if (c.acceptKw('LIMIT')) c.pos = c.tokens.length; }
  return endOf(c, { kind: 'show', what, db, table, like, full });
}

function parseSet(c: TokenCursor): Statement {
  c.pos = 1;
  const assignments: { name: string; value: Literal }[] = [];
  do {
    if (c.acceptKw('NAMES') || c.acceptKw('CHARACTER', 'SET') || c.acceptKw('CHARSET')) {
      const t = c.peek();
      if (t === undefined) c.fail('character set name');
      c.pos++;
      if (c.acceptKw('COLLATE')) c.pos++;
      assignments.push({ name: 'character_set_client', value: { k: 'str', v: t.text } });
      assignments.push({ name: 'character_set_results', value: { k: 'str', v: t.text } });
      assignments.push({ name: 'character_set_connection', value: { k: 'str', v: t.text } });
      continue;
    }
    if (c.acceptKw('TRANSACTION')) { c.pos = c.tokens.length; break; }
    let name: string;
    const t = c.peek();
    if (t?.kind === 'var') {
      c.pos++;
      name = t.text.replace(/^@@(session\.|global\.|local\.)?/i, '').replace(/^@/, '@');
    } else {
      c.acceptKw('SESSION') || c.acceptKw('GLOBAL') || c.acceptKw('LOCAL');
      name = c.ident('variable name');
    }
    if (!c.acceptOp('=')) c.expectOp(':=');
    let value: Literal;
    const v = c.peek();
    if (v?.kind === 'id' && !['NULL', 'TRUE', 'FALSE', 'DEFAULT'].includes(v.text.toUpperCase())) {
      c.pos++;
      value = { k: 'str', v: v.text };
    } else {
      value = valueOrExpr(c);
    }
    assignments.push({ name: name.toLowerCase(), value });
  } while (c.acceptOp(','));
  return endOf(c, { kind: 'set', assignments });
}
