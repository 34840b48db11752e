import type { RecordBatch } from 'apache-arrow';
import { SaigaError } from '../../src/common/errors.js';
import type { DataType, Value } from '../../src/common/types.js';
import type {
  ExecuteOptions, PreparedStatement, QueryEngine, ResultColumn, Session, SessionOptions, StatementResult, Warning,
} from '../../src/query/api.js';
import { splitStatements, stripComments, tokenize, TokenCursor, type Token } from '../../src/server/mysql/sql-text.js';
import { buildBatch } from './arrow-build.js';

/**
 * A test-only QueryEngine that really executes a handful of statements over in-memory tables,
 * so the protocol tests do not depend on the real engine:
 *   CREATE DATABASE [IF NOT EXISTS] d; USE d; DROP DATABASE d
 *   CREATE TABLE t (c TYPE [NOT NULL] [PRIMARY KEY], ..., [PRIMARY KEY (c)]); DROP TABLE [IF EXISTS] t
 *   INSERT INTO t [(c, ...)] VALUES (v, ...), ...      (duplicate key -> AlreadyPresent)
 *   SELECT * | c, ... FROM t [WHERE c = v] [ORDER BY c] [LIMIT n]
 *   SELECT v, ...        (literals only; no FROM)
 *   DELETE FROM t [WHERE c = v]
 * v is a literal (number, 'string', NULL, TRUE/FALSE) or ? when prepared.
 */

interface Table {
  readonly columns: ResultColumn[];
  readonly keyIndex: number;
  readonly rows: Value[][];
}

const TYPES: Record<string, DataType> = {
  BOOLEAN: 'bool', BOOL: 'bool', TINYINT: 'int8', SMALLINT: 'int16', INT: 'int32', INTEGER: 'int32', BIGINT: 'int64',
  FLOAT: 'float', DOUBLE: 'double', DECIMAL: 'decimal', VARCHAR: 'string', STRING: 'string', TEXT: 'string',
  BINARY: 'binary', BLOB: 'binary', VARBINARY: 'binary', DATE: 'date', TIMESTAMP: 'timestamp', DATETIME: 'timestamp',
};

function parseErr(msg: string): never {
  throw new SaigaError('ParseError', `You have an error in your SQL syntax: ${msg}`);
}

function coerce(v: Value, c: ResultColumn): Value {
  if (v === null) {
    if (!c.nullable) throw new SaigaError('InvalidArgument', `Column '${c.name}' cannot be null`);
    return null;
  }
  switch (c.type) {
    case 'bool': return v === true || v === 1 || v === '1';
    case 'int8': case 'int16': case 'int32': {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new SaigaError('InvalidArgument', `expected an integer for ${c.name}, found ${String(v)}`);
      return n;
    }
    case 'int64': return BigInt(typeof v === 'number' ? Math.trunc(v) : (v as bigint | string));
    case 'float': case 'double': return Number(v);
    case 'decimal': {
      const s = String(v);
      const [i, f = ''] = s.split('.');
      const scale = c.scale ?? 0;
      return BigInt((i ?? '0') + f.padEnd(scale, '0').slice(0, scale));
    }
    case 'string': return typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);
    case 'binary': return typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array);
    case 'date': {
      if (typeof v === 'number') return v;
      return Math.floor(Date.parse(String(v) + 'T00:00:00Z') / 86400000);
    }
    case 'timestamp': {
      if (typeof v === 'number') return v;
      const s = String(v);
      const [d, t = '00:00:00'] = s.split(' ');
      const [hms, frac = ''] = t.split('.');
      return Date.parse(`${d}T${hms}Z`) * 1000 + Number(frac.padEnd(6, '0'));
    }
  }
}

function equal(a: Value, b: Value): boolean {
  if (a === null || b === null) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(b);
  return a === b;
}

class MiniSession implements Session {
  database: string | null = null;
  readonly variables = new Map<string, Value>();
  private warnings: Warning[] = [];

  constructor(private readonly engine: MiniEngine, readonly connectionId: number, readonly user: string) {}

  async execute(sql: string, options?: ExecuteOptions): Promise<StatementResult[]> {
    const out: StatementResult[] = [];
    for (const stmt of splitStatements(sql)) out.push(this.run(stmt, options?.params ?? []));
    return out;
  }

  async prepare(sql: string): Promise<PreparedStatement> {
    const toks = tokenize(stripComments(sql));
    const paramCount = toks.filter((t) => t.kind === 'punct' && t.text === '?').length;
    const probe = /^\s*SELECT\b/i.test(sql) ? this.run(sql, new Array<Value>(paramCount).fill(null), true) : null;
    const columns = probe !== null && probe.kind === 'rows' ? probe.columns : [];
    return {
      id: this.engine.nextStatementId++,
      paramCount,
      columns,
      execute: async (params) => this.run(sql, params),
      close: () => undefined,
    };
  }

  lastWarnings(): readonly Warning[] {
    return this.warnings;
  }

  close(): void {
    this.engine.sessions.delete(this);
  }

  private table(name: string): Table {
    if (this.database === null) throw new SaigaError('NoDatabaseSelected', 'No database selected');
    const t = this.engine.databases.get(this.database)?.get(name.toLowerCase());
    if (t === undefined) throw new SaigaError('UnknownTable', `Table '${this.database}.${name}' doesn't exist`);
    return t;
  }

  private run(sql: string, params: readonly Value[], probeOnly = false): StatementResult {
    this.warnings = [];
    const c = new TokenCursor(tokenize(stripComments(sql)));
    let p = 0;
    const value = (): Value => {
      const neg = c.punct('-');
      const t = c.next();
      if (t === undefined) parseErr('expected a value');
      if (t.kind === 'punct' && t.text === '?') {
        if (p >= params.length) throw new SaigaError('InvalidArgument', 'too few parameters');
        return params[p++] ?? null;
      }
      if (t.kind === 'number') {
        if (/^\d+$/.test(t.text) && !Number.isSafeInteger(Number(t.text))) return neg ? -BigInt(t.text) : BigInt(t.text);
        return neg ? -Number(t.text) : Number(t.text);
      }
      if (t.kind === 'string') return t.text;
      if (t.kind === 'ident' && /^NULL$/i.test(t.text)) return null;
      if (t.kind === 'ident' && /^(TRUE|FALSE)$/i.test(t.text)) return /^TRUE$/i.test(t.text);
      parseErr(`unexpected '${t.text}'`);
    };
    const ident = (): string => {
      const t = c.next();
      if (t === undefined || t.kind !== 'ident') parseErr(`expected a name, found ${t === undefined ? 'end' : `'${t.text}'`}`);
      return t.text;
    };
    const end = (): void => {
      if (!c.done()) parseErr(`unexpected '${(c.peek() as Token).text}'`);
    };
    if (c.keyword('USE')) {
      const db = ident();
      end();
      if (!this.engine.databases.has(db)) throw new SaigaError('UnknownDatabase', `Unknown database '${db}'`);
      this.database = db;
      return ok(0);
    }
    if (c.keyword('CREATE', 'DATABASE')) {
      const ifNot = c.keyword('IF', 'NOT', 'EXISTS');
      const db = ident();
      end();
      if (this.engine.databases.has(db)) {
        if (ifNot) return ok(0);
        throw new SaigaError('DatabaseExists', `Can't create database '${db}'; database exists`);
      }
      this.engine.databases.set(db, new Map());
      return ok(1);
    }
    if (c.keyword('DROP', 'DATABASE')) {
      const db = ident();
      end();
      if (!this.engine.databases.delete(db)) throw new SaigaError('UnknownDatabase', `Can't drop database '${db}'; database doesn't exist`);
      return ok(0);
    }
    if (c.keyword('CREATE', 'TABLE')) {
      const name = ident();
      if (this.database === null) throw new SaigaError('NoDatabaseSelected', 'No database selected');
      const db = this.engine.databases.get(this.database) as Map<string, Table>;
      if (db.has(name.toLowerCase())) throw new SaigaError('TableExists', `Table '${name}' already exists`);
      if (!c.punct('(')) parseErr('expected (');
      const columns: ResultColumn[] = [];
      let key = -1;
      do {
        if (c.keyword('PRIMARY', 'KEY')) {
          c.punct('(');
          const k = ident();
          c.punct(')');
          key = columns.findIndex((x) => x.name.toLowerCase() === k.toLowerCase());
          continue;
        }
        const col = ident();
        const typeName = ident().toUpperCase();
        const type = TYPES[typeName];
        if (type === undefined) parseErr(`unknown type ${typeName}`);
        let precision: number | undefined;
        let scale: number | undefined;
        if (c.punct('(')) {
          precision = Number((c.next() as Token).text);
          if (c.punct(',')) scale = Number((c.next() as Token).text);
          c.punct(')');
        }
        let nullable = true;
        for (;;) {
          if (c.keyword('NOT', 'NULL')) nullable = false;
          else if (c.keyword('NULL')) nullable = true;
          else if (c.keyword('PRIMARY', 'KEY')) {
            key = columns.length;
            nullable = false;
          } else break;
        }
        const rc: ResultColumn = {
          name: col, type, nullable, table: name, database: this.database, originalName: col,
          ...(type === 'decimal' ? { precision: precision ?? 10, scale: scale ?? 0 } : {}),
        };
        columns.push(rc);
      } while (c.punct(','));
      if (!c.punct(')')) parseErr('expected )');
      end();
      db.set(name.toLowerCase(), { columns, keyIndex: key, rows: [] });
      return ok(0);
    }
    if (c.keyword('DROP', 'TABLE')) {
      const ifExists = c.keyword('IF', 'EXISTS');
      const name = ident();
      end();
      if (this.database === null) throw new SaigaError('NoDatabaseSelected', 'No database selected');
      const db = this.engine.databases.get(this.database) as Map<string, Table>;
      if (!db.delete(name.toLowerCase()) && !ifExists) throw new SaigaError('UnknownTable', `Unknown table '${name}'`);
      return ok(0);
    }
    if (c.keyword('INSERT', 'INTO')) {
      const t = this.table(ident());
      let targets = t.columns.map((_, i) => i);
      if (c.punct('(')) {
        targets = [];
        do {
          const n = ident();
          const i = t.columns.findIndex((x) => x.name.toLowerCase() === n.toLowerCase());
          if (i < 0) throw new SaigaError('UnknownColumn', `Unknown column '${n}' in 'field list'`);
          targets.push(i);
        } while (c.punct(','));
        c.punct(')');
      }
      if (!c.keyword('VALUES')) parseErr('expected VALUES');
      const newRows: Value[][] = [];
      do {
        if (!c.punct('(')) parseErr('expected (');
        const row: Value[] = t.columns.map(() => null);
        let k = 0;
        do {
          const target = targets[k++];
          if (target === undefined) throw new SaigaError('InvalidArgument', 'Column count doesn\'t match value count');
          row[target] = value();
        } while (c.punct(','));
        if (!c.punct(')')) parseErr('expected )');
        newRows.push(row.map((v, i) => coerce(v, t.columns[i] as ResultColumn)));
      } while (c.punct(','));
      end();
      for (const r of newRows) {
        if (t.keyIndex >= 0 && t.rows.some((x) => equal(x[t.keyIndex] as Value, r[t.keyIndex] as Value))) {
          throw new SaigaError('AlreadyPresent', `Duplicate entry '${String(r[t.keyIndex])}' for key 'PRIMARY'`);
        }
        t.rows.push(r);
      }
      return ok(newRows.length);
    }
    if (c.keyword('DELETE', 'FROM')) {
      const t = this.table(ident());
      const where = this.where(c, t, value);
      end();
      const before = t.rows.length;
      const keep = t.rows.filter((r) => !where(r));
      t.rows.splice(0, t.rows.length, ...keep);
      return ok(before - keep.length);
    }
    if (c.keyword('SELECT')) {
      const save = c.pos;
      // SELECT literal, ... (no FROM)
      const lits: Value[] = [];
      let literalOnly = true;
      do {
        const t = c.peek();
        if (t === undefined || (t.kind === 'ident' && !/^(NULL|TRUE|FALSE)$/i.test(t.text)) || (t.kind === 'punct' && t.text === '*')) {
          literalOnly = false;
          break;
        }
        lits.push(value());
      } while (c.punct(','));
      if (literalOnly && c.done()) {
        const columns: ResultColumn[] = lits.map((v, i) => ({
          name: String(v ?? 'NULL'),
          type: typeof v === 'number' ? (Number.isInteger(v) ? 'int64' : 'double') : typeof v === 'boolean' ? 'bool' : 'string',
          nullable: v === null,
          ...(i < 0 ? {} : {}),
        }));
        return rows(columns, [lits.map((v, i) => (columns[i]?.type === 'int64' && typeof v === 'number' ? BigInt(v) : v))]);
      }
      c.pos = save;
      const names: string[] = [];
      if (!c.punct('*')) {
        do names.push(ident());
        while (c.punct(','));
      }
      if (!c.keyword('FROM')) parseErr('expected FROM');
      const t = this.table(ident());
      const idx = names.length === 0 ? t.columns.map((_, i) => i) : names.map((n) => {
        const i = t.columns.findIndex((x) => x.name.toLowerCase() === n.toLowerCase());
        if (i < 0) throw new SaigaError('UnknownColumn', `Unknown column '${n}' in 'field list'`);
        return i;
      });
      const where = this.where(c, t, value);
      let order = -1;
      if (c.keyword('ORDER', 'BY')) {
        const n = ident();
        order = t.columns.findIndex((x) => x.name.toLowerCase() === n.toLowerCase());
        if (order < 0) throw new SaigaError('UnknownColumn', `Unknown column '${n}' in 'order clause'`);
      }
      let limit = Infinity;
      if (c.keyword('LIMIT')) limit = Number(value());
      end();
      const columns = idx.map((i) => t.columns[i] as ResultColumn);
      if (probeOnly) return rows(columns, []);
      let selected = t.rows.filter(where);
      if (order >= 0) selected = [...selected].sort((a, b) => cmp(a[order] ?? null, b[order] ?? null));
      return rows(columns, selected.slice(0, limit).map((r) => idx.map((i) => r[i] ?? null)));
    }
    parseErr(`near '${sql.slice(0, 30)}'`);
  }

  private where(c: TokenCursor, t: Table, value: () => Value): (r: Value[]) => boolean {
    if (!c.keyword('WHERE')) return () => true;
    const n = (c.next() as Token | undefined)?.text ?? '';
    const i = t.columns.findIndex((x) => x.name.toLowerCase() === n.toLowerCase());
    if (i < 0) throw new SaigaError('UnknownColumn', `Unknown column '${n}' in 'where clause'`);
    if (!c.punct('=')) parseErr('expected =');
    const v = coerce(value(), { ...(t.columns[i] as ResultColumn), nullable: true });
    return (r) => equal(r[i] ?? null, v);
  }
}

function cmp(a: Value, b: Value): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function ok(affectedRows: number): StatementResult {
  return { kind: 'ok', affectedRows, warnings: [] };
}

function rows(columns: ResultColumn[], data: Value[][]): StatementResult {
  const { schema, batch } = buildBatch(columns, data);
  async function* batches(): AsyncGenerator<RecordBatch> {
    // two batches when there are enough rows, to exercise streaming
    if (data.length > 2) {
      const half = Math.floor(data.length / 2);
      yield batch.slice(0, half);
      yield batch.slice(half);
    } else if (data.length > 0) {
      yield batch;
    }
  }
  return { kind: 'rows', columns, arrowSchema: schema, batches: batches() };
}

export class MiniEngine implements QueryEngine {
  readonly databases = new Map<string, Map<string, Table>>([['test', new Map()]]);
  readonly sessions = new Set<MiniSession>();
  nextStatementId = 1;

  openSession(options: SessionOptions): Session {
    const s = new MiniSession(this, options.connectionId, options.user);
    if (options.database !== undefined) s.database = options.database;
    this.sessions.add(s);
    return s;
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }
}
