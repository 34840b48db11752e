import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { RecordBatch } from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import { createQueryEngine } from '../../src/query/index.js';
import type { QueryEngine } from '../../src/query/api.js';
import type { ColumnSchema, Row, Value } from '../../src/common/types.js';
import { FlightClient, sqlCommand } from '../../src/server/flight/client.js';
import { IpcStreamEncoder, concatBytes, decodeSchemaMessage, encodeFlightData } from '../../src/server/flight/codec.js';
import { decodeSqlMessage, encodeSqlMessage, flightService, packAny, unpackAny } from '../../src/server/flight/proto.js';
import { DEFAULT_FLIGHT_LIMITS, grpcChannelOptions, startFlightServer, type FlightServer } from '../../src/server/flight/server.js';
import * as http2 from 'node:http2';
import { batchRows, buildBatch } from './fixtures.js';
import { mulberry32 as rng } from '../../bench/random.js';

const SEED = Number(process.env['SEED'] ?? 7);

const COLUMNS: ColumnSchema[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'name', type: 'string', nullable: true },
  { name: 'price', type: 'double', nullable: true },
  { name: 'flag', type: 'bool', nullable: true },
  { name: 'small', type: 'int8', nullable: true },
  { name: 'day', type: 'date', nullable: true },
  { name: 'at', type: 'timestamp', nullable: true },
  { name: 'blob', type: 'binary', nullable: true },
  { name: 'amount', type: 'decimal', nullable: true, precision: 18, scale: 2 },
];
const TYPES = COLUMNS.map((c) => c.type);

function makeRows(n: number, start: number, seed: number): Row[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => [
    BigInt(start + i),
    r() < 0.1 ? null : `name-${start + i}-${'z'.repeat(Math.floor(r() * 5))}`,
    r() < 0.1 ? null : r() * 1000,
    r() < 0.1 ? null : r() < 0.5,
    r() < 0.1 ? null : Math.floor(r() * 200) - 100,
    r() < 0.1 ? null : Math.floor(r() * 20000),
    r() < 0.1 ? null : Math.floor(r() * 2 ** 50),
    r() < 0.1 ? null : Uint8Array.from({ length: Math.floor(r() * 6) }, () => Math.floor(r() * 256)),
    r() < 0.1 ? null : BigInt(Math.floor(r() * 1e12)) - 500_000_000_000n,
  ]);
}

function sortRows(rows: Value[][]): Value[][] {
  return [...rows].sort((a, b) => (BigInt(a[0] as bigint) < BigInt(b[0] as bigint) ? -1 : 1));
}

function allRows(batches: readonly RecordBatch[]): Value[][] {
  return batches.flatMap((b) => batchRows(b, TYPES));
}

async function grpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; details: string };
  }
  throw new Error('expected the call to fail');
}

let dir: string;
let storage: StorageApi;
let engine: QueryEngine;
let server: FlightServer;
let client: FlightClient;

/** Exact row count of a table (tableStats is an estimate). */
async function countRows(table: string): Promise<number> {
  let n = 0;
  for await (const b of storage.scan('shop', table, { projection: ['id'], readMode: { kind: 'latest' } })) n += b.numRows;
  return n;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-flight-test-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  engine = createQueryEngine({ storage });
  await storage.createDatabase('shop');
  await storage.createTable({ database: 'shop', name: 'items', schema: { columns: COLUMNS, keyColumnCount: 1 }, partitionSchema: { hash: [{ columns: ['id'], buckets: 3, seed: 0 }], rangeColumns: [] } });
  await storage.createTable({ database: 'shop', name: 'other', schema: { columns: COLUMNS.slice(0, 2), keyColumnCount: 1 }, partitionSchema: { hash: [], rangeColumns: [] } });
  server = await startFlightServer({ storage, engine, port: 0, users: { alice: 'secret' }, database: 'shop' });
  client = new FlightClient(`127.0.0.1:${server.port}`);
  await client.handshake('alice', 'secret');
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await engine?.close();
  await storage?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('Flight service', () => {
  it(`DoPut then DoGet returns the same rows, one endpoint per tablet (seed ${SEED})`, async () => {
    const rows = makeRows(5000, 0, SEED);
    const schema = buildBatch(COLUMNS, []).schema;
    const batches = [buildBatch(COLUMNS, rows.slice(0, 3000)), buildBatch(COLUMNS, rows.slice(3000))];
    const results = await client.putBatches({ type: 'path', path: ['shop', 'items'] }, schema, batches) as { rowCount: number; appliedCount: number; rowErrorCount: number; firstRow: number }[];
    expect(results.map((r) => [r.firstRow, r.rowCount, r.appliedCount, r.rowErrorCount])).toEqual([[0, 3000, 3000, 0], [3000, 2000, 2000, 0]]);

    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 'items'] });
    expect(info.tickets.length).toBe(3);
    expect(info.schema.fields.map((f) => f.name)).toEqual(COLUMNS.map((c) => c.name));
    const parts = await Promise.all(info.tickets.map((t) => client.doGet(t)));
    const got = sortRows(parts.flatMap((p) => allRows(p.batches)));
    expect(got.length).toBe(5000);
    expect(got).toEqual(sortRows(rows as Value[][]));
  });

  it('tickets read one snapshot: rows written after GetFlightInfo are not returned', async () => {
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 'other'] });
    const before = (await client.fetchAll({ type: 'path', path: ['shop', 'other'] })).flatMap((p) => p.batches).reduce((n, b) => n + b.numRows, 0);
    const cols = COLUMNS.slice(0, 2);
    await client.putBatches({ type: 'path', path: ['shop', 'other'] }, buildBatch(cols, []).schema, [buildBatch(cols, [[1000n, 'late']])]);
    const old = (await Promise.all(info.tickets.map((t) => client.doGet(t)))).flatMap((p) => p.batches).reduce((n, b) => n + b.numRows, 0);
    expect(old).toBe(before);
    const fresh = (await client.fetchAll({ type: 'path', path: ['shop', 'other'] })).flatMap((p) => p.batches).reduce((n, b) => n + b.numRows, 0);
    expect(fresh).toBe(before + 1);
  });

  it('reports duplicate keys per row in PutResult and writes the rest', async () => {
    const rows = makeRows(10, 20_000, SEED + 1);
    const dup = [...rows.slice(0, 5), rows[2]!, ...rows.slice(5)];
    const schema = buildBatch(COLUMNS, []).schema;
    const [res] = await client.putBatches({ type: 'path', path: ['shop', 'items'] }, schema, [buildBatch(COLUMNS, dup)]) as { appliedCount: number; rowErrorCount: number; rowErrors: { rowIndex: number; code: string }[] }[];
    expect(res!.appliedCount).toBe(10);
    expect(res!.rowErrorCount).toBe(1);
    expect(res!.rowErrors[0]).toMatchObject({ rowIndex: 5, code: 'AlreadyPresent' });
  });

  it('upsert op via app_metadata replaces rows', async () => {
    const cols = COLUMNS.slice(0, 2);
    const schema = buildBatch(cols, []).schema;
    await client.putBatches({ type: 'path', path: ['shop', 'other'] }, schema, [buildBatch(cols, [[1n, 'a']])]);
    const [r] = await client.putBatches({ type: 'path', path: ['shop', 'other'] }, schema, [buildBatch(cols, [[1n, 'b']])], 'upsert') as { appliedCount: number }[];
    expect(r!.appliedCount).toBe(1);
    const rows = (await client.fetchAll({ type: 'path', path: ['shop', 'other'] })).flatMap((p) => p.batches.flatMap((b) => batchRows(b, ['int64', 'string'])));
    expect(rows.find((x) => x[0] === 1n)).toEqual([1n, 'b']);
  });

  it('wrong schema -> INVALID_ARGUMENT and nothing written', async () => {
    const before = await countRows('items');
    const wrong: ColumnSchema[] = [{ name: 'id', type: 'int32', nullable: false }, { name: 'name', type: 'string', nullable: true }];
    const e1 = await grpcError(client.putBatches({ type: 'path', path: ['shop', 'items'] }, buildBatch(wrong, []).schema, [buildBatch(wrong, [[900000, 'x']])]));
    expect(e1.code).toBe(status.INVALID_ARGUMENT);
    expect(e1.details).toMatch(/column 'id'.*Int64/);
    const unknown: ColumnSchema[] = [{ name: 'id', type: 'int64', nullable: false }, { name: 'nope', type: 'string', nullable: true }];
    const e2 = await grpcError(client.putBatches({ type: 'path', path: ['shop', 'items'] }, buildBatch(unknown, []).schema, [buildBatch(unknown, [[900001n, 'x']])]));
    expect(e2.code).toBe(status.INVALID_ARGUMENT);
    expect(e2.details).toContain("'nope'");
    const noKey = COLUMNS.slice(1, 3);
    const e3 = await grpcError(client.putBatches({ type: 'path', path: ['shop', 'items'] }, buildBatch(noKey, []).schema, [buildBatch(noKey, [['x', 1]])]));
    expect(e3.code).toBe(status.INVALID_ARGUMENT);
    expect(e3.details).toContain('primary key');
    expect(await countRows('items')).toBe(before);
  });

  it('malformed FlightData mid-stream -> INVALID_ARGUMENT that says how much was written', async () => {
    const before = await countRows('items');
    const schema = buildBatch(COLUMNS, []).schema;
    const enc = new IpcStreamEncoder(schema);
    const sf = enc.schemaFrame();
    const good = enc.batchFrames(buildBatch(COLUMNS, makeRows(7, 50_000, SEED + 2)))[0]!;
    const e = await grpcError(client.doPutRaw([
      { descriptor: { type: 'path', path: ['shop', 'items'] }, dataHeader: sf.header, body: sf.body },
      { dataHeader: good.header, body: good.body },
      { dataHeader: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), body: [new Uint8Array(16)] },
    ]));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    // The batch before the broken message stays written (a bulk load commits what it staged).
    expect(e.details).toMatch(/7 rows of this upload were written/);
    expect(await countRows('items')).toBe(before + 7);
    // a body shorter than its header says
    const bad = enc.batchFrames(buildBatch(COLUMNS, makeRows(3, 60_000, SEED + 3)))[0]!;
    const short = concatBytes(bad.body).subarray(0, 8);
    const e2 = await grpcError(client.doPutRaw([
      { descriptor: { type: 'path', path: ['shop', 'items'] }, dataHeader: sf.header, body: sf.body },
      encodeFlightData({ dataHeader: bad.header, body: [short] }),
    ]));
    expect(e2.code).toBe(status.INVALID_ARGUMENT);
    expect(await countRows('items')).toBe(before + 7);
  });

  it('unknown table -> NOT_FOUND; bad ticket -> INVALID_ARGUMENT', async () => {
    const e = await grpcError(client.getFlightInfo({ type: 'path', path: ['shop', 'missing'] }));
    expect(e.code).toBe(status.NOT_FOUND);
    expect(e.details).toContain('shop.missing');
    const info = await client.getFlightInfo({ type: 'path', path: ['shop', 'items'] });
    const forged = Uint8Array.from(info.tickets[0]!);
    const k = forged.length - 3;
    forged[k] = (forged[k] ?? 0) ^ 1;
    expect((await grpcError(client.doGet(forged))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('auth: missing, wrong and forged credentials -> UNAUTHENTICATED', async () => {
    const anon = new FlightClient(`127.0.0.1:${server.port}`);
    try {
      expect((await grpcError(anon.getFlightInfo({ type: 'path', path: ['shop', 'items'] }))).code).toBe(status.UNAUTHENTICATED);
      expect((await grpcError(anon.handshake('alice', 'wrong'))).code).toBe(status.UNAUTHENTICATED);
      expect((await grpcError(anon.handshake('mallory', 'secret'))).code).toBe(status.UNAUTHENTICATED);
      anon.setAuthorization('Bearer abc.def');
      expect((await grpcError(anon.listActions())).code).toBe(status.UNAUTHENTICATED);
      const token = await anon.handshake('alice', 'secret');
      expect(token.length).toBeGreaterThan(10);
      expect(await anon.listActions()).toContain('DropTable');
    } finally {
      anon.close();
    }
  });

  it('the server advertises the raised HTTP/2 receive windows (grpc-js does not by itself)', async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.initialWindowSize).toBe(DEFAULT_FLIGHT_LIMITS.flowControlWindowBytes);
      // the connection window is raised with a WINDOW_UPDATE right after the SETTINGS frame
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(DEFAULT_FLIGHT_LIMITS.flowControlWindowBytes);
    } finally {
      session.destroy();
    }
  });

  it('a DoGet of many batches arrives complete and in order', async () => {
    const rows = makeRows(5000, 900_000, SEED + 5);
    await client.putBatches({ type: 'path', path: ['shop', 'items'] }, buildBatch(COLUMNS, rows.slice(0, 1)).schema,
      [buildBatch(COLUMNS, rows.slice(0, 2500)), buildBatch(COLUMNS, []), buildBatch(COLUMNS, rows.slice(2500))]);
    // a small send queue makes the scan wait for the socket often
    const small = await startFlightServer({ storage, engine, port: 0, users: { alice: 'secret' }, database: 'shop', limits: { batchRowsMax: 97, sendQueueBytesMax: 4096 } });
    const c = new FlightClient(`127.0.0.1:${small.port}`);
    try {
      await c.handshake('alice', 'secret');
      const parts = await c.fetchAll({ type: 'path', path: ['shop', 'items'] });
      const got = parts.flatMap((p) => allRows(p.batches)).filter((r) => (r[0] as bigint) >= 900_000n);
      expect(sortRows(got)).toEqual(sortRows(rows));
      for (const p of parts) for (const b of p.batches) expect(b.numRows).toBeLessThanOrEqual(97);
      // a reader that stops after a few batches cancels the call; the server carries on serving
      const info = await c.getFlightInfo({ type: 'path', path: ['shop', 'items'] });
      let seen = 0;
      await expect(c.doGetEach(info.tickets[0]!, () => {
        if (++seen === 3) throw new Error('reader stops here');
      })).rejects.toThrow('reader stops here');
      const again = await c.fetchAll({ type: 'path', path: ['shop', 'items'] });
      expect(again.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.numRows, 0), 0))
        .toBe(parts.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.numRows, 0), 0));
    } finally {
      c.close();
      await small.close();
    }
  });

  it('a DoGet message over messageBytesMax -> RESOURCE_EXHAUSTED, not an oversized frame', async () => {
    const srv = await startFlightServer({ storage, engine, port: 0, users: { alice: 'secret' }, database: 'shop', limits: { messageBytesMax: 20_000 } });
    const c = new FlightClient(`127.0.0.1:${srv.port}`);
    try {
      await c.handshake('alice', 'secret');
      await storage.writeArrow('shop', 'other', 'insert', buildBatch(COLUMNS.slice(0, 2), Array.from({ length: 2000 }, (_, i): Row => [BigInt(700_000 + i), `long row name ${i}`])));
      const e = await grpcError(c.fetchAll({ type: 'path', path: ['shop', 'other'] }));
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(e.details).toContain('messageBytesMax');
    } finally {
      c.close();
      await srv.close();
    }
  });

  it('close() ends a DoGet whose client stopped reading without cancelling', async () => {
    const srv = await startFlightServer({ storage, engine, port: 0, users: { alice: 'secret' }, database: 'shop', limits: { batchRowsMax: 50, shutdownGraceMs: 200 } });
    const c = new FlightClient(`127.0.0.1:${srv.port}`);
    const token = await c.handshake('alice', 'secret');
    await storage.writeArrow('shop', 'other', 'insert', buildBatch(COLUMNS.slice(0, 2), Array.from({ length: 3000 }, (_, i): Row => [BigInt(500_000 + i), `row ${i}`])));
    const info = await c.getFlightInfo({ type: 'path', path: ['shop', 'other'] });
    c.close();
    // A grpc-js client that leaves its read loop early (which destroys the stream object but
    // does not cancel the call) and closes its channel: the server's data stays unread on the
    // connection, and close() must still end it.
    const Ctor = flightService().client;
    const raw = new Ctor(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure(), grpcChannelOptions(DEFAULT_FLIGHT_LIMITS)) as grpc.Client & Record<string, (...a: unknown[]) => grpc.ClientReadableStream<unknown>>;
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const call = raw['DoGet']!({ ticket: Buffer.from(info.tickets[0]!) }, md);
    call.on('error', () => undefined);
    let seen = 0;
    await expect((async () => {
      for await (const _m of call as AsyncIterable<unknown>) if (++seen === 3) throw new Error('reader leaves');
    })()).rejects.toThrow('reader leaves');
    raw.close();
    let closed = false;
    await srv.close().then(() => { closed = true; });
    expect(closed).toBe(true);
  }, 15_000);

  it('ListFlights, GetSchema, DoAction Flush and DropTable', async () => {
    const flights = await client.listFlights();
    expect(flights).toContainEqual(['shop', 'items']);
    const s = await client.getSchema({ type: 'path', path: ['items'] });
    expect(s.fields.map((f) => f.name)).toEqual(COLUMNS.map((c) => c.name));
    expect(storage.tableStats('shop', 'items').memoryBytes).toBeGreaterThan(0);
    await client.doAction('Flush', Buffer.alloc(0));
    expect(storage.tableStats('shop', 'items').memoryBytes).toBe(0);
    await storage.createTable({ database: 'shop', name: 'doomed', schema: { columns: COLUMNS.slice(0, 1), keyColumnCount: 1 }, partitionSchema: { hash: [], rangeColumns: [] } });
    await client.doAction('DropTable', Buffer.from(JSON.stringify({ database: 'shop', table: 'doomed' })));
    expect(storage.listTables('shop')).not.toContain('doomed');
    expect((await grpcError(client.doAction('DropTable', Buffer.from(JSON.stringify({ database: 'shop', table: 'doomed' }))))).code).toBe(status.NOT_FOUND);
    expect((await grpcError(client.doAction('Nope', Buffer.alloc(0)))).code).toBe(status.UNIMPLEMENTED);
  });
});

describe('Flight SQL', () => {
  it('CommandStatementQuery returns the rows of the query', async () => {
    const info = await client.getFlightInfo(sqlCommand('CommandStatementQuery', { query: 'SELECT id, name FROM shop.other' }));
    expect(info.schema.fields.map((f) => f.name)).toEqual(['id', 'name']);
    const any = unpackAny(info.tickets[0]!);
    expect(any?.typeUrl).toBe('type.googleapis.com/arrow.flight.protocol.sql.TicketStatementQuery');
    const got = (await client.doGet(info.tickets[0]!)).batches.flatMap((b) => batchRows(b, ['int64', 'string']));
    const direct = (await client.fetchAll({ type: 'path', path: ['shop', 'other'] })).flatMap((p) => p.batches.flatMap((b) => batchRows(b, ['int64', 'string'])));
    expect(sortRows(got)).toEqual(sortRows(direct));
    expect(got.length).toBeGreaterThan(0);
  });

  it('bad queries -> INVALID_ARGUMENT / NOT_FOUND with the engine\'s message', async () => {
    const e = await grpcError(client.getFlightInfo(sqlCommand('CommandStatementQuery', { query: 'SELECT id FROM shop.other WHERE' })));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    const e2 = await grpcError(client.getFlightInfo(sqlCommand('CommandStatementQuery', { query: 'SELECT nope FROM shop.other' })));
    expect(e2.code).toBe(status.INVALID_ARGUMENT);
    expect(e2.details).toContain('nope');
    const e3 = await grpcError(client.getFlightInfo(sqlCommand('CommandStatementQuery', { query: 'SELECT * FROM shop.missing' })));
    expect(e3.code).toBe(status.NOT_FOUND);
  });

  it('CommandStatementUpdate via DoPut returns DoPutUpdateResult', async () => {
    const [meta] = await client.doPutRaw([{ descriptor: sqlCommand('CommandStatementUpdate', { query: "INSERT INTO shop.other VALUES (777, 'sql'), (778, 'sql2')" }), dataHeader: new Uint8Array(0), body: [] }]);
    expect(decodeSqlMessage<{ record_count: number }>('DoPutUpdateResult', meta!).record_count).toBe(2);
    const rows = (await client.fetchAll({ type: 'path', path: ['shop', 'other'] })).flatMap((p) => p.batches.flatMap((b) => batchRows(b, ['int64', 'string'])));
    expect(rows).toContainEqual([777n, 'sql']);
  });

  it('prepared statements: create, bind via DoPut, execute, close', async () => {
    const req = packAny('ActionCreatePreparedStatementRequest', encodeSqlMessage('ActionCreatePreparedStatementRequest', { query: 'SELECT id, name FROM shop.other WHERE id = ?' }));
    const [body] = await client.doAction('CreatePreparedStatement', req);
    const res = decodeSqlMessage<{ prepared_statement_handle: Buffer; dataset_schema: Buffer }>('ActionCreatePreparedStatementResult', unpackAny(body!)!.value);
    expect(decodeSchemaMessage(res.dataset_schema).fields.map((f) => f.name)).toEqual(['id', 'name']);
    const handle = res.prepared_statement_handle;
    const cols: ColumnSchema[] = [{ name: 'p', type: 'int64', nullable: false }];
    const enc = new IpcStreamEncoder(buildBatch(cols, []).schema);
    const sf = enc.schemaFrame();
    const bf = enc.batchFrames(buildBatch(cols, [[778n]]))[0]!;
    await client.doPutRaw([
      { descriptor: sqlCommand('CommandPreparedStatementQuery', { prepared_statement_handle: handle }), dataHeader: sf.header, body: sf.body },
      { dataHeader: bf.header, body: bf.body },
    ]);
    const info = await client.getFlightInfo(sqlCommand('CommandPreparedStatementQuery', { prepared_statement_handle: handle }));
    const rows = (await client.doGet(info.tickets[0]!)).batches.flatMap((b) => batchRows(b, ['int64', 'string']));
    expect(rows).toEqual([[778n, 'sql2']]);
    const close = packAny('ActionClosePreparedStatementRequest', encodeSqlMessage('ActionClosePreparedStatementRequest', { prepared_statement_handle: handle }));
    await client.doAction('ClosePreparedStatement', close);
    expect((await grpcError(client.getFlightInfo(sqlCommand('CommandPreparedStatementQuery', { prepared_statement_handle: handle })))).code).toBe(status.NOT_FOUND);
  });

  it('catalog commands: catalogs, db schemas, tables with schema, primary keys, sql info', async () => {
    const get = async (name: string, value: Record<string, unknown>) => {
      const info = await client.getFlightInfo(sqlCommand(name, value));
      const r = await client.doGet(info.tickets[0]!);
      return { schema: r.schema, rows: r.batches.flatMap((b) => b.toArray().map((x) => x.toJSON() as Record<string, unknown>)) };
    };
    const cats = await get('CommandGetCatalogs', {});
    expect(cats.rows).toEqual([{ catalog_name: 'saiga' }]);
    const dbs = await get('CommandGetDbSchemas', { db_schema_filter_pattern: 'sh%' });
    expect(dbs.rows).toEqual([{ catalog_name: 'saiga', db_schema_name: 'shop' }]);
    const tables = await get('CommandGetTables', { table_name_filter_pattern: 'it_ms', include_schema: true });
    expect(tables.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual([
      'catalog_name:Utf8:true', 'db_schema_name:Utf8:true', 'table_name:Utf8:false', 'table_type:Utf8:false', 'table_schema:Binary:false',
    ]);
    expect(tables.rows.length).toBe(1);
    expect(tables.rows[0]!['table_name']).toBe('items');
    const ts = decodeSchemaMessage(tables.rows[0]!['table_schema'] as Uint8Array);
    expect(ts.fields.map((f) => f.name)).toEqual(COLUMNS.map((c) => c.name));
    const pks = await get('CommandGetPrimaryKeys', { db_schema: 'shop', table: 'items' });
    expect(pks.rows).toEqual([{ catalog_name: 'saiga', db_schema_name: 'shop', table_name: 'items', column_name: 'id', key_name: 'PRIMARY', key_sequence: 1 }]);
    const info = await get('CommandGetSqlInfo', { info: [0, 3, 504, 508, 99999] });
    expect(info.rows.map((r) => r['info_name'])).toEqual([0, 3, 504, 508]);
    expect(info.rows[0]!['value']).toBe('Saiga');
    expect(info.rows[1]!['value']).toBe(false);
    expect(info.rows[2]!['value']).toBe('`');
    expect(String(info.rows[3]!['value'])).toContain('UPSERT');
    // GetSchema of a command matches the DoGet schema
    const s = await client.getSchema(sqlCommand('CommandGetSqlInfo', {}));
    expect(s.fields.map((f) => String(f.type))).toEqual(info.schema.fields.map((f) => String(f.type)));
  });
});
