import { SaigaError } from '../../common/errors.js';
import type { Limits } from '../../common/limits.js';
import type { Value } from '../../common/types.js';
import type { Session, StatementResult, Warning } from '../../query/api.js';
import type { AuthPluginName, UserHost, UserStore } from '../auth/user-store.js';
import { CACHING_SHA2_PLUGIN, NATIVE_PASSWORD_PLUGIN, SERVER_VERSION } from './constants.js';
import { MysqlServerError } from './error-map.js';
import { inferColumnType, okResult, rowsResult, type LocalCell } from './local-results.js';
import { leadingKeyword, likeToRegExp, stripComments, tokenize, TokenCursor, type Token } from './sql-text.js';

/**
 * Statements the MySQL endpoint answers itself, before (or instead of) the engine: what clients
 * send on connect (SET NAMES, SET autocommit, SELECT @@version_comment, the JDBC variable query),
 * SHOW VARIABLES/STATUS/ENGINES/CHARSET/COLLATION/WARNINGS/ERRORS, DATABASE(), VERSION(),
 * CONNECTION_ID(), transactions (BEGIN/COMMIT/ROLLBACK) and user management
 * (CREATE/ALTER/DROP USER, SET PASSWORD). Anything else returns null and goes to the engine.
 *
 * Transactions: Saiga commits every statement on its own (atomic per tablet, autocommit).
 * BEGIN/START TRANSACTION/COMMIT are accepted; ROLLBACK succeeds only when nothing was written
 * since the transaction began (explicit BEGIN, or autocommit=0), else it fails with 1235 and
 * says how many write statements were already committed. Either way the transaction ends.
 */

export interface TransactionState {
  inTransaction: boolean;
  /** Write statements (affectedRows > 0) since the transaction began. */
  writes: number;
}

export interface ServerStatus {
  readonly uptimeSeconds: number;
  readonly threadsConnected: number;
  readonly connections: number;
  readonly questions: number;
}

export interface LocalContext {
  readonly session: Session;
  readonly users: UserStore;
  readonly limits: Limits;
  readonly remoteAddress: string;
  readonly tx: TransactionState;
  readonly lastInsertId: number | bigint;
  readonly lastWarnings: readonly Warning[];
  readonly status: () => ServerStatus;
}

const READ_ONLY_VARS = new Set([
  'version', 'version_comment', 'version_compile_os', 'version_compile_machine', 'protocol_version', 'hostname',
  'port', 'license', 'have_ssl', 'have_openssl', 'have_query_cache', 'lower_case_table_names', 'max_connections',
  'system_time_zone', 'default_authentication_plugin', 'max_allowed_packet', 'performance_schema', 'datadir',
  'character_set_system', 'warning_count', 'error_count', 'identity', 'last_insert_id', 'wait_timeout', 'interactive_timeout',
]);

/** Variables whose value is the server's own (limits it enforces), whatever a session map holds. */
const SERVER_OWNED_VARS = new Set([
  'version', 'version_comment', 'max_allowed_packet', 'max_connections', 'wait_timeout', 'interactive_timeout',
  'protocol_version', 'have_ssl', 'have_openssl', 'default_authentication_plugin',
]);

const BOOLEAN_VARS = new Set([
  'autocommit', 'sql_safe_updates', 'foreign_key_checks', 'unique_checks', 'sql_auto_is_null', 'sql_notes',
  'sql_warnings', 'transaction_read_only', 'tx_read_only', 'sql_quote_show_create', 'sql_log_bin', 'big_tables',
]);

const ALIASES: Record<string, string> = { tx_isolation: 'transaction_isolation', tx_read_only: 'transaction_read_only' };

/** Server-wide values; session values override them in session.variables. */
export function globalVariables(limits: Limits): ReadonlyMap<string, Value> {
  return new Map<string, Value>([
    ['version', SERVER_VERSION],
    ['version_comment', 'Saiga, a Kudu-style columnar HTAP store'],
    ['version_compile_os', process.platform],
    ['version_compile_machine', process.arch],
    ['protocol_version', 10],
    ['license', 'Apache-2.0'],
    ['max_allowed_packet', limits.packetBytesMax],
    ['max_connections', limits.connectionsMax],
    ['wait_timeout', Math.floor(limits.idleTimeoutMs / 1000)],
    ['interactive_timeout', Math.floor(limits.idleTimeoutMs / 1000)],
    ['net_write_timeout', 60],
    ['net_read_timeout', 30],
    ['net_buffer_length', 16384],
    ['connect_timeout', 10],
    ['max_execution_time', 0],
    ['auto_increment_increment', 1],
    ['auto_increment_offset', 1],
    ['autocommit', 1],
    ['character_set_client', 'utf8mb4'],
    ['character_set_connection', 'utf8mb4'],
    ['character_set_results', 'utf8mb4'],
    ['character_set_server', 'utf8mb4'],
    ['character_set_database', 'utf8mb4'],
    ['character_set_system', 'utf8mb3'],
    ['collation_connection', 'utf8mb4_general_ci'],
    ['collation_server', 'utf8mb4_general_ci'],
    ['collation_database', 'utf8mb4_general_ci'],
    ['init_connect', ''],
    ['sql_mode', 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'],
    ['sql_select_limit', 18446744073709551615n],
    ['sql_safe_updates', 0],
    ['sql_auto_is_null', 0],
    ['sql_notes', 1],
    ['sql_warnings', 0],
    ['sql_quote_show_create', 1],
    ['foreign_key_checks', 1],
    ['unique_checks', 1],
    ['time_zone', 'SYSTEM'],
    ['system_time_zone', 'UTC'],
    ['transaction_isolation', 'READ-COMMITTED'],
    ['transaction_read_only', 0],
    ['lower_case_table_names', 0],
    ['query_cache_size', 0],
    ['query_cache_type', 'OFF'],
    ['have_query_cache', 'NO'],
    ['have_ssl', 'DISABLED'],
    ['have_openssl', 'DISABLED'],
    ['performance_schema', 0],
    ['default_storage_engine', 'Saiga'],
    ['default_authentication_plugin', CACHING_SHA2_PLUGIN],
    ['lc_messages', 'en_US'],
    ['div_precision_increment', 4],
    ['group_concat_max_len', 1024],
    ['long_query_time', 10],
    ['max_join_size', 18446744073709551615n],
    ['sql_big_selects', 1],
    ['sql_log_bin', 0],
    ['big_tables', 0],
  ]);
}

function canonicalName(name: string): string {
  const n = name.toLowerCase();
  return ALIASES[n] ?? n;
}

/** Reads a system variable ('session.' / 'global.' / 'local.' prefixes accepted). */
export function readSystemVariable(ctx: LocalContext, raw: string): LocalCell {
  let name = raw.toLowerCase();
  let scope: 'session' | 'global' = 'session';
  if (name.startsWith('global.')) {
    scope = 'global';
    name = name.slice(7);
  } else if (name.startsWith('session.') || name.startsWith('local.')) {
    name = name.slice(name.indexOf('.') + 1);
  }
  name = canonicalName(name);
  if (name === 'warning_count') return ctx.lastWarnings.filter((w) => w.level !== 'Error').length;
  if (name === 'error_count') return ctx.lastWarnings.filter((w) => w.level === 'Error').length;
  if (name === 'identity' || name === 'last_insert_id') return ctx.lastInsertId;
  if (scope === 'session' && !SERVER_OWNED_VARS.has(name) && ctx.session.variables.has(name)) return toCell(ctx.session.variables.get(name) ?? null);
  const g = globalVariables(ctx.limits);
  if (!g.has(name)) throw new MysqlServerError(1193, 'HY000', `Unknown system variable '${name}'`);
  return toCell(g.get(name) ?? null);
}

function toCell(v: Value): LocalCell {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Buffer.from(v).toString('utf8');
}

/** autocommit as stored by this server (1/0) or by the engine (1n/0n, 'ON'). Unset means on. */
function autocommitOn(session: Session): boolean {
  const v = session.variables.get('autocommit');
  if (v === undefined || v === null) return true;
  // The usual values without a string conversion (this runs twice per statement).
  if (v === 1n || v === 1 || v === true) return true;
  if (v === 0n || v === 0 || v === false) return false;
  const s = String(v).toUpperCase();
  return s === '1' || s === 'ON' || s === 'TRUE';
}

function autocommit(ctx: LocalContext): boolean {
  return autocommitOn(ctx.session);
}

export function statusFlagsOf(session: Session, tx: TransactionState): number {
  return (autocommitOn(session) ? 0x0002 : 0) | (tx.inTransaction ? 0x0001 : 0);
}

/** Whether a write statement counts toward the current transaction (explicit, or autocommit=0). */
export function transactionOpen(session: Session, tx: TransactionState): boolean {
  return tx.inTransaction || !autocommitOn(session);
}

// ---- entry point --------------------------------------------------------------------------

/** The server's own answer for one statement, or null when the engine must answer it. */
const LOCAL_HEADS: ReadonlySet<string> = new Set(['SET', 'SELECT', 'SHOW', 'BEGIN', 'START', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'CREATE', 'ALTER', 'DROP', 'FLUSH']);

export function answerLocally(sql: string, ctx: LocalContext): StatementResult | null {
  // A statement that starts with a keyword answered elsewhere skips the comment-stripping pass.
  const lead = leadingKeyword(sql);
  if (lead !== null && !LOCAL_HEADS.has(lead)) return null;
  const text = stripComments(sql).trim();
  const head = /^[A-Za-z]+/.exec(text)?.[0]?.toUpperCase();
  switch (head) {
    case 'SET': return answerSet(text, ctx);
    case 'SELECT': return answerSelect(text, ctx);
    case 'SHOW': return answerShow(text, ctx);
    case 'BEGIN': case 'START': case 'COMMIT': case 'ROLLBACK': case 'SAVEPOINT': case 'RELEASE':
      return answerTransaction(text, ctx);
    case 'CREATE': case 'ALTER': case 'DROP':
      return /^(CREATE|ALTER|DROP)\s+USER\b/i.test(text) ? answerUser(text, ctx) : null;
    case 'FLUSH':
      return /^FLUSH\s+PRIVILEGES$/i.test(text) ? okResult() : null;
    default:
      return null;
  }
}

function parseError(text: string, near: Token | undefined): never {
  const at = near === undefined ? 'end of statement' : `'${text.slice(near.start, near.start + 40)}'`;
  throw new SaigaError('ParseError', `You have an error in your SQL syntax near ${at}`);
}

// ---- SET ----------------------------------------------------------------------------------

function answerSet(text: string, ctx: LocalContext): StatementResult | null {
  const c = new TokenCursor(tokenize(text));
  c.keyword('SET');
  if (c.keyword('PASSWORD')) return answerSetPassword(c, text, ctx);
  const save = c.pos;
  c.keyword('SESSION') || c.keyword('LOCAL') || c.keyword('GLOBAL');
  if (c.keyword('TRANSACTION')) return answerSetTransaction(c, text, ctx);
  c.pos = save;
  const assignments: Array<{ name: string; global: boolean; user: boolean; value: LocalCell | 'DEFAULT' }> = [];
  const deferred: Array<() => void> = [];
  do {
    if (c.keyword('NAMES')) {
      const cs = readWord(c, text);
      let collation: string | null = null;
      if (c.keyword('COLLATE')) collation = readWord(c, text);
      checkCharset(cs);
      const csName = cs.toLowerCase() === 'utf8' ? 'utf8mb3' : cs.toLowerCase();
      deferred.push(() => {
        for (const v of ['character_set_client', 'character_set_connection', 'character_set_results']) ctx.session.variables.set(v, csName);
        ctx.session.variables.set('collation_connection', collation ?? (csName === 'binary' ? 'binary' : `${csName}_general_ci`));
      });
      continue;
    }
    if (c.keyword('CHARACTER', 'SET') || c.keyword('CHARSET')) {
      const cs = readWord(c, text);
      checkCharset(cs);
      deferred.push(() => {
        for (const v of ['character_set_client', 'character_set_results']) ctx.session.variables.set(v, cs.toLowerCase());
      });
      continue;
    }
    let global = false;
    let user = false;
    let name: string;
    if (c.keyword('GLOBAL') || c.keyword('PERSIST')) global = true;
    else c.keyword('SESSION') || c.keyword('LOCAL');
    const t = c.next();
    if (t === undefined) parseError(text, t);
    if (t.kind === 'sysvar') {
      name = t.text;
      if (name.startsWith('global.')) {
        global = true;
        name = name.slice(7);
      } else if (name.startsWith('session.') || name.startsWith('local.')) {
        name = name.slice(name.indexOf('.') + 1);
      }
    } else if (t.kind === 'uservar') {
      user = true;
      name = t.text.replace(/^[`'"]|[`'"]$/g, '').toLowerCase();
    } else if (t.kind === 'ident') {
      name = t.text.toLowerCase();
    } else {
      parseError(text, t);
    }
    if (!c.punct('=') && !c.punct(':=')) parseError(text, c.peek());
    const value = readSetValue(c, text, ctx);
    assignments.push({ name: user ? name : canonicalName(name), global, user, value });
  } while (c.punct(','));
  if (!c.done()) return null; // an expression we do not evaluate: let the engine try
  for (const d of deferred) d();
  for (const a of assignments) {
    if (a.user) {
      if (a.value === 'DEFAULT') parseError(text, undefined);
      ctx.session.variables.set('@' + a.name, a.value);
      continue;
    }
    if (a.global) throw new SaigaError('NotSupported', `SET GLOBAL ${a.name}: server variables are fixed at start-up (see Limits)`);
    const g = globalVariables(ctx.limits);
    if (!g.has(a.name)) throw new MysqlServerError(1193, 'HY000', `Unknown system variable '${a.name}'`);
    if (READ_ONLY_VARS.has(a.name)) throw new MysqlServerError(1238, 'HY000', `Variable '${a.name}' is a read only variable`);
    if (a.value === 'DEFAULT') {
      ctx.session.variables.delete(a.name);
      continue;
    }
    let v: LocalCell = a.value;
    if (BOOLEAN_VARS.has(a.name)) v = toBoolean(a.name, v);
    if (a.name === 'transaction_isolation') v = checkIsolation(String(v));
    if (a.name === 'autocommit' && v === 1 && !autocommit(ctx)) {
      // Turning autocommit back on commits the implicit transaction (nothing to do: already committed).
      ctx.tx.writes = 0;
    }
    ctx.session.variables.set(a.name, v);
  }
  return okResult();
}

function readWord(c: TokenCursor, text: string): string {
  const t = c.next();
  if (t === undefined || (t.kind !== 'ident' && t.kind !== 'string')) parseError(text, t);
  return t.text;
}

function checkCharset(cs: string): void {
  const n = cs.toLowerCase();
  if (n === 'utf8' || n === 'utf8mb3' || n === 'utf8mb4' || n === 'ascii' || n === 'binary') return;
  if (n === 'default') return;
  throw new SaigaError('NotSupported', `character set '${cs}': Saiga sends and expects UTF-8 (utf8mb4) only`);
}

function toBoolean(name: string, v: LocalCell): number {
  const s = String(v).toUpperCase();
  if (s === '1' || s === 'ON' || s === 'TRUE') return 1;
  if (s === '0' || s === 'OFF' || s === 'FALSE') return 0;
  throw new MysqlServerError(1231, '42000', `Variable '${name}' can't be set to the value of '${String(v)}'`);
}

function checkIsolation(v: string): string {
  const n = v.toUpperCase().replace(/[\s_]+/g, '-');
  if (n === 'READ-COMMITTED' || n === 'READ-UNCOMMITTED') return n;
  if (n === 'REPEATABLE-READ' || n === 'SERIALIZABLE') {
    throw new SaigaError('NotSupported', `transaction isolation ${n}: Saiga reads the latest committed data per statement (READ-COMMITTED)`);
  }
  throw new MysqlServerError(1231, '42000', `Variable 'transaction_isolation' can't be set to the value of '${v}'`);
}

function readSetValue(c: TokenCursor, text: string, ctx: LocalContext): LocalCell | 'DEFAULT' {
  const neg = c.punct('-');
  const t = c.next();
  if (t === undefined) parseError(text, t);
  if (t.kind === 'number') return neg ? -Number(t.text) : Number(t.text);
  if (neg) parseError(text, t);
  if (t.kind === 'string') return t.text;
  if (t.kind === 'sysvar') return readSystemVariable(ctx, t.text);
  if (t.kind === 'uservar') return toCell(ctx.session.variables.get('@' + t.text.toLowerCase()) ?? null);
  if (t.kind === 'ident') {
    const u = t.text.toUpperCase();
    if (u === 'DEFAULT') return 'DEFAULT';
    if (u === 'NULL') return null;
    if (u === 'CONCAT' && c.punct('(')) {
      let s = '';
      do {
        const v = readSetValue(c, text, ctx);
        if (v === 'DEFAULT') parseError(text, c.peek());
        if (v === null) return null;
        s += String(v);
      } while (c.punct(','));
      if (!c.punct(')')) parseError(text, c.peek());
      return s;
    }
    return t.text;
  }
  parseError(text, t);
}

function answerSetTransaction(c: TokenCursor, text: string, ctx: LocalContext): StatementResult {
  do {
    if (c.keyword('ISOLATION', 'LEVEL')) {
      const words: string[] = [];
      while (!c.done() && c.peek()?.kind === 'ident' && !(c.peek()?.text.toUpperCase() === 'READ' && ['ONLY', 'WRITE'].includes(c.peek(1)?.text.toUpperCase() ?? ''))) {
        words.push((c.next() as Token).text);
        if (words.length === 2) break;
      }
      ctx.session.variables.set('transaction_isolation', checkIsolation(words.join('-')));
    } else if (c.keyword('READ', 'ONLY')) {
      ctx.session.variables.set('transaction_read_only', 1);
    } else if (c.keyword('READ', 'WRITE')) {
      ctx.session.variables.set('transaction_read_only', 0);
    } else {
      parseError(text, c.peek());
    }
  } while (c.punct(','));
  if (!c.done()) parseError(text, c.peek());
  return okResult();
}

// ---- SELECT @@var, DATABASE(), ... ---------------------------------------------------------

const LOCAL_FUNCTIONS = new Set(['DATABASE', 'SCHEMA', 'VERSION', 'CONNECTION_ID', 'USER', 'CURRENT_USER', 'SESSION_USER', 'SYSTEM_USER', 'LAST_INSERT_ID']);

function localFunction(name: string, ctx: LocalContext): LocalCell {
  switch (name) {
    case 'DATABASE': case 'SCHEMA': return ctx.session.database;
    case 'VERSION': return SERVER_VERSION;
    case 'CONNECTION_ID': return ctx.session.connectionId;
    case 'USER': case 'SESSION_USER': case 'SYSTEM_USER': return `${ctx.session.user}@${ctx.remoteAddress}`;
    case 'CURRENT_USER': {
      const u = ctx.users.get(ctx.session.user);
      return `${ctx.session.user}@${u?.host === 'loopback' ? 'localhost' : '%'}`;
    }
    case 'LAST_INSERT_ID': return ctx.lastInsertId;
    default: throw new SaigaError('NotSupported', `function ${name}`);
  }
}

function answerSelect(text: string, ctx: LocalContext): StatementResult | null {
  let toks: Token[];
  try {
    toks = tokenize(text);
  } catch {
    return null;
  }
  const c = new TokenCursor(toks);
  c.keyword('SELECT');
  const names: string[] = [];
  const cells: LocalCell[] = [];
  let localItems = 0;
  for (;;) {
    const t = c.next();
    if (t === undefined) return null;
    const itemStart = t.start;
    let value: LocalCell;
    if (t.kind === 'sysvar') {
      value = readSystemVariable(ctx, t.text);
      localItems++;
    } else if (t.kind === 'uservar') {
      value = toCell(ctx.session.variables.get('@' + t.text.replace(/^[`'"]|[`'"]$/g, '').toLowerCase()) ?? null);
      localItems++;
    } else if (t.kind === 'ident' && !t.quoted && LOCAL_FUNCTIONS.has(t.text.toUpperCase())) {
      const fn = t.text.toUpperCase();
      if (c.punct('(')) {
        if (!c.punct(')')) return null;
      } else if (fn !== 'CURRENT_USER') {
        return null;
      }
      value = localFunction(fn, ctx);
      localItems++;
    } else if (t.kind === 'string') {
      value = t.text;
    } else if (t.kind === 'number' && /^\d+$/.test(t.text)) {
      value = Number(t.text);
    } else {
      return null;
    }
    const itemEnd = toks[c.pos - 1]?.end ?? t.end;
    let name = text.slice(itemStart, itemEnd);
    if (c.keyword('AS')) {
      const a = c.next();
      if (a === undefined || (a.kind !== 'ident' && a.kind !== 'string')) return null;
      name = a.text;
    } else if (c.peek()?.kind === 'ident' && !/^(FROM|LIMIT)$/i.test(c.peek()?.text ?? '')) {
      name = (c.next() as Token).text;
    } else if (c.peek()?.kind === 'string') {
      name = (c.next() as Token).text;
    }
    names.push(name);
    cells.push(value);
    if (!c.punct(',')) break;
  }
  if (localItems === 0) return null;
  if (c.keyword('FROM')) {
    if (!c.keyword('DUAL')) return null;
  }
  let limit = 1;
  if (c.keyword('LIMIT')) {
    const n = c.next();
    if (n === undefined || n.kind !== 'number') return null;
    limit = Number(n.text);
  }
  if (!c.done()) return null;
  return rowsResult(
    names.map((name, j) => ({ name, type: inferColumnType([cells[j] ?? null]) })),
    limit > 0 ? [cells] : [],
  );
}

// ---- SHOW ---------------------------------------------------------------------------------

/** LIKE 'pattern' or WHERE <col> = 'x' / LIKE 'x' [OR ...]: a predicate over the first column. */
function readFilter(c: TokenCursor, text: string): ((name: string) => boolean) | null {
  if (c.keyword('LIKE')) {
    const p = c.next();
    if (p === undefined || p.kind !== 'string') parseError(text, p);
    const re = likeToRegExp(p.text);
    return (n) => re.test(n);
  }
  if (c.keyword('WHERE')) {
    const tests: Array<(n: string) => boolean> = [];
    do {
      c.next(); // column name
      if (c.keyword('LIKE')) {
        const p = c.next();
        if (p === undefined || p.kind !== 'string') parseError(text, p);
        const re = likeToRegExp(p.text);
        tests.push((n) => re.test(n));
      } else if (c.punct('=')) {
        const p = c.next();
        if (p === undefined || p.kind !== 'string') parseError(text, p);
        const want = p.text.toLowerCase();
        tests.push((n) => n.toLowerCase() === want);
      } else if (c.keyword('IN') && c.punct('(')) {
        const set = new Set<string>();
        do {
          const p = c.next();
          if (p === undefined || p.kind !== 'string') parseError(text, p);
          set.add(p.text.toLowerCase());
        } while (c.punct(','));
        if (!c.punct(')')) parseError(text, c.peek());
        tests.push((n) => set.has(n.toLowerCase()));
      } else {
        parseError(text, c.peek());
      }
    } while (c.keyword('OR'));
    return (n) => tests.some((t) => t(n));
  }
  return null;
}

function answerShow(text: string, ctx: LocalContext): StatementResult | null {
  const c = new TokenCursor(tokenize(text));
  c.keyword('SHOW');
  const global = c.keyword('GLOBAL');
  if (!global) c.keyword('SESSION') || c.keyword('LOCAL');
  if (c.keyword('VARIABLES')) {
    const filter = readFilter(c, text);
    if (!c.done()) parseError(text, c.peek());
    const names = [...globalVariables(ctx.limits).keys()].sort();
    const rows: LocalCell[][] = [];
    for (const n of names) {
      if (filter !== null && !filter(n)) continue;
      const v = readSystemVariable(ctx, global ? `global.${n}` : n);
      rows.push([n, v === null ? null : String(v)]);
    }
    return rowsResult([{ name: 'Variable_name', type: 'string' }, { name: 'Value', type: 'string' }], rows);
  }
  if (c.keyword('STATUS')) {
    const filter = readFilter(c, text);
    if (!c.done()) parseError(text, c.peek());
    const s = ctx.status();
    const all: Array<[string, number]> = [
      ['Connections', s.connections],
      ['Questions', s.questions],
      ['Threads_connected', s.threadsConnected],
      ['Uptime', s.uptimeSeconds],
    ];
    return rowsResult(
      [{ name: 'Variable_name', type: 'string' }, { name: 'Value', type: 'string' }],
      all.filter(([n]) => filter === null || filter(n)).map(([n, v]) => [n, String(v)]),
    );
  }
  if (global) return null;
  if (c.keyword('ENGINES')) {
    if (!c.done()) parseError(text, c.peek());
    return rowsResult(
      ['Engine', 'Support', 'Comment', 'Transactions', 'XA', 'Savepoints'].map((name) => ({ name, type: 'string' as const })),
      [['Saiga', 'DEFAULT', 'Kudu-style columnar storage: hash/range partitioned tablets, Raft replicated', 'NO', 'NO', 'NO']],
    );
  }
  if (c.keyword('CHARACTER', 'SET') || c.keyword('CHARSET')) {
    const filter = readFilter(c, text);
    if (!c.done()) parseError(text, c.peek());
    const rows: LocalCell[][] = [
      ['binary', 'Binary pseudo charset', 'binary', 1],
      ['utf8mb4', 'UTF-8 Unicode', 'utf8mb4_general_ci', 4],
    ];
    return rowsResult(
      [{ name: 'Charset', type: 'string' }, { name: 'Description', type: 'string' }, { name: 'Default collation', type: 'string' }, { name: 'Maxlen', type: 'int64' }],
      rows.filter((r) => filter === null || filter(String(r[0]))),
    );
  }
  if (c.keyword('COLLATION')) {
    const filter = readFilter(c, text);
    if (!c.done()) parseError(text, c.peek());
    const rows: LocalCell[][] = [
      ['binary', 'binary', 63, 'Yes', 'Yes', 1, 'NO PAD'],
      ['utf8mb4_general_ci', 'utf8mb4', 45, 'Yes', 'Yes', 1, 'PAD SPACE'],
    ];
    return rowsResult(
      [
        { name: 'Collation', type: 'string' }, { name: 'Charset', type: 'string' }, { name: 'Id', type: 'int64' },
        { name: 'Default', type: 'string' }, { name: 'Compiled', type: 'string' }, { name: 'Sortlen', type: 'int64' },
        { name: 'Pad_attribute', type: 'string' },
      ],
      rows.filter((r) => filter === null || filter(String(r[0]))),
    );
  }
  if (c.keyword('COUNT')) {
    if (!c.punct('(') || !c.punct('*') || !c.punct(')')) parseError(text, c.peek());
    const errors = c.keyword('ERRORS');
    if (!errors && !c.keyword('WARNINGS')) parseError(text, c.peek());
    if (!c.done()) parseError(text, c.peek());
    const n = ctx.lastWarnings.filter((w) => (errors ? w.level === 'Error' : true)).length;
    return rowsResult([{ name: `@@session.${errors ? 'error' : 'warning'}_count`, type: 'int64' }], [[n]]);
  }
  const errors = c.keyword('ERRORS');
  if (errors || c.keyword('WARNINGS')) {
    let limit = Infinity;
    let offset = 0;
    if (c.keyword('LIMIT')) {
      const a = c.next();
      if (a === undefined || a.kind !== 'number') parseError(text, a);
      limit = Number(a.text);
      if (c.punct(',')) {
        const b = c.next();
        if (b === undefined || b.kind !== 'number') parseError(text, b);
        offset = limit;
        limit = Number(b.text);
      }
    }
    if (!c.done()) parseError(text, c.peek());
    const ws = ctx.lastWarnings.filter((w) => (errors ? w.level === 'Error' : true)).slice(offset, offset + limit);
    return rowsResult(
      [{ name: 'Level', type: 'string' }, { name: 'Code', type: 'int64' }, { name: 'Message', type: 'string' }],
      ws.map((w) => [w.level, w.code, w.message]),
    );
  }
  return null;
}

// ---- transactions -------------------------------------------------------------------------

function answerTransaction(text: string, ctx: LocalContext): StatementResult {
  const c = new TokenCursor(tokenize(text));
  if (c.keyword('BEGIN')) {
    c.keyword('WORK');
    if (!c.done()) parseError(text, c.peek());
    ctx.tx.inTransaction = true;
    ctx.tx.writes = 0;
    return okResult();
  }
  if (c.keyword('START', 'TRANSACTION')) {
    // READ ONLY / READ WRITE / WITH CONSISTENT SNAPSHOT: accepted; each statement still reads the latest data.
    ctx.tx.inTransaction = true;
    ctx.tx.writes = 0;
    return okResult();
  }
  if (c.keyword('COMMIT')) {
    c.keyword('WORK');
    ctx.tx.inTransaction = false;
    ctx.tx.writes = 0;
    return okResult();
  }
  if (c.keyword('ROLLBACK')) {
    c.keyword('WORK');
    if (c.keyword('TO')) throw new SaigaError('NotSupported', 'savepoints: Saiga commits every statement on its own');
    const writes = ctx.tx.writes;
    ctx.tx.inTransaction = false;
    ctx.tx.writes = 0;
    if (writes > 0) {
      throw new SaigaError(
        'NotSupported',
        `ROLLBACK cannot undo ${writes} write statement(s): Saiga commits every statement on its own (autocommit); they stay committed`,
      );
    }
    return okResult();
  }
  throw new SaigaError('NotSupported', 'savepoints: Saiga commits every statement on its own');
}

// ---- users --------------------------------------------------------------------------------

interface UserSpec {
  readonly name: string;
  readonly host: UserHost;
  readonly hostText: string;
}

function readUserSpec(c: TokenCursor, text: string, ctx: LocalContext): UserSpec {
  const t = c.next();
  if (t === undefined) parseError(text, t);
  if (t.kind === 'ident' && /^(USER|CURRENT_USER)$/i.test(t.text) && !t.quoted) {
    if (c.punct('(') && !c.punct(')')) parseError(text, c.peek());
    const u = ctx.users.get(ctx.session.user);
    return { name: ctx.session.user, host: u?.host ?? 'any', hostText: u?.host === 'loopback' ? 'localhost' : '%' };
  }
  if (t.kind !== 'ident' && t.kind !== 'string') parseError(text, t);
  let hostText = '%';
  const at = c.peek();
  if (at !== undefined && at.kind === 'uservar' && at.start === t.end) {
    c.next();
    hostText = at.text.replace(/^[`'"]|[`'"]$/g, '');
  }
  const h = hostText.toLowerCase();
  let host: UserHost;
  if (h === '%' || h === '') host = 'any';
  else if (h === 'localhost' || h === '127.0.0.1' || h === '::1') host = 'loopback';
  else throw new SaigaError('NotSupported', `user host '${hostText}': Saiga accepts '%' (any host) or 'localhost' (loopback) only`);
  return { name: t.text, host, hostText };
}

function readIdentifiedBy(c: TokenCursor, text: string): { plugin?: AuthPluginName; password: string } | null {
  if (!c.keyword('IDENTIFIED')) return null;
  let plugin: AuthPluginName | undefined;
  if (c.keyword('WITH')) {
    const p = c.next();
    if (p === undefined || (p.kind !== 'ident' && p.kind !== 'string')) parseError(text, p);
    const name = p.text.toLowerCase();
    if (name !== NATIVE_PASSWORD_PLUGIN && name !== CACHING_SHA2_PLUGIN) {
      throw new SaigaError('NotSupported', `authentication plugin '${p.text}': Saiga supports ${NATIVE_PASSWORD_PLUGIN} and ${CACHING_SHA2_PLUGIN}`);
    }
    plugin = name;
  }
  let password = '';
  if (c.keyword('BY')) {
    const pw = c.next();
    if (pw === undefined || pw.kind !== 'string') parseError(text, pw);
    password = pw.text;
  } else if (plugin === undefined) {
    parseError(text, c.peek());
  }
  return plugin === undefined ? { password } : { plugin, password };
}

function requireRoot(ctx: LocalContext, what: string): void {
  if (ctx.session.user !== 'root') {
    throw new MysqlServerError(1227, '42000', `Access denied; you need (at least one of) the CREATE USER privilege(s) for this operation (${what}: only root manages users)`);
  }
}

function userFailure(op: string, spec: UserSpec, e: unknown): never {
  if (e instanceof SaigaError && (e.code === 'AlreadyPresent' || e.code === 'NotFound')) {
    throw new MysqlServerError(1396, 'HY000', `Operation ${op} failed for '${spec.name}'@'${spec.hostText}'`);
  }
  throw e;
}

function answerUser(text: string, ctx: LocalContext): StatementResult {
  const c = new TokenCursor(tokenize(text));
  if (c.keyword('CREATE', 'USER')) {
    requireRoot(ctx, 'CREATE USER');
    const ifNotExists = c.keyword('IF', 'NOT', 'EXISTS');
    const specs: Array<{ spec: UserSpec; auth: { plugin?: AuthPluginName; password: string } }> = [];
    do {
      const spec = readUserSpec(c, text, ctx);
      specs.push({ spec, auth: readIdentifiedBy(c, text) ?? { password: '' } });
    } while (c.punct(','));
    if (!c.done()) parseError(text, c.peek());
    for (const { spec, auth } of specs) {
      try {
        ctx.users.createUser(spec.name, auth.password, { host: spec.host, ifNotExists, ...(auth.plugin !== undefined ? { plugin: auth.plugin } : {}) });
      } catch (e) {
        userFailure('CREATE USER', spec, e);
      }
    }
    return okResult();
  }
  if (c.keyword('ALTER', 'USER')) {
    const ifExists = c.keyword('IF', 'EXISTS');
    const spec = readUserSpec(c, text, ctx);
    if (spec.name !== ctx.session.user) requireRoot(ctx, 'ALTER USER');
    const auth = readIdentifiedBy(c, text);
    if (auth === null) throw new SaigaError('NotSupported', 'ALTER USER without IDENTIFIED BY: only passwords and plugins can be changed');
    if (!c.done()) parseError(text, c.peek());
    try {
      ctx.users.alterUser(spec.name, auth.password, { ifExists, ...(auth.plugin !== undefined ? { plugin: auth.plugin } : {}) });
    } catch (e) {
      userFailure('ALTER USER', spec, e);
    }
    return okResult();
  }
  if (c.keyword('DROP', 'USER')) {
    requireRoot(ctx, 'DROP USER');
    const ifExists = c.keyword('IF', 'EXISTS');
    const specs: UserSpec[] = [];
    do specs.push(readUserSpec(c, text, ctx));
    while (c.punct(','));
    if (!c.done()) parseError(text, c.peek());
    for (const spec of specs) {
      if (spec.name === ctx.session.user) throw new SaigaError('PermissionDenied', `user '${spec.name}' cannot drop itself`);
      try {
        ctx.users.dropUser(spec.name, { ifExists });
      } catch (e) {
        userFailure('DROP USER', spec, e);
      }
    }
    return okResult();
  }
  parseError(text, c.peek());
}

function answerSetPassword(c: TokenCursor, text: string, ctx: LocalContext): StatementResult {
  let spec: UserSpec = { name: ctx.session.user, host: 'any', hostText: '%' };
  if (c.keyword('FOR')) spec = readUserSpec(c, text, ctx);
  if (spec.name !== ctx.session.user) requireRoot(ctx, 'SET PASSWORD');
  if (!c.punct('=')) parseError(text, c.peek());
  let pw = c.next();
  if (pw !== undefined && pw.kind === 'ident' && /^PASSWORD$/i.test(pw.text) && c.punct('(')) {
    pw = c.next();
    if (!c.punct(')')) parseError(text, c.peek());
  }
  if (pw === undefined || pw.kind !== 'string') parseError(text, pw);
  if (!c.done()) parseError(text, c.peek());
  try {
    ctx.users.alterUser(spec.name, pw.text);
  } catch (e) {
    userFailure('SET PASSWORD', spec, e);
  }
  return okResult();
}
