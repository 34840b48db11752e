import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { tableFromIPC, type Table } from 'apache-arrow';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { ColumnSchema, Row } from '../../src/common/types.js';
import type { QueryEngine } from '../../src/query/api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { openUserStore } from '../../src/server/auth/index.js';
import { FlightClient } from '../../src/server/flight/client.js';
import { startFlightServer, type FlightServer } from '../../src/server/flight/server.js';
import { startMysqlServer, type MysqlServer } from '../../src/server/mysql/index.js';
import { buildBatch } from './fixtures.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * Interop: the arrow-rs based Flight SQL client (not written by this project) against a running
 * Saiga — real embedded storage and SQL engine, with the MySQL and Flight endpoints over the same
 * storage — and every query's rows compared with the same query over MySQL (mysql2).
 */
const SEED = Number(process.env['SEED'] ?? 11);

const ROOT_PW = 'rootpw';
const MYSQL_ROWS = 150;
const FLIGHT_ROWS = 150;

let dir: string;
let storage: StorageApi;
let engine: QueryEngine;
let mysqlServer: MysqlServer;
let flight: FlightServer;
let my: mysql.Connection;

/** Deterministic rows: [id, name, qty, w, grp]; ids are 1..n. */
function makeRows(from: number, n: number, seed: number): Row[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    return [
      BigInt(id),
      r() < 0.15 ? null : `item ${id} ${'x'.repeat(Math.floor(r() * 4))}`,
      r() < 0.1 ? null : Math.floor(r() * 1000) - 200,
      r() < 0.1 ? null : Math.round(r() * 1e6) / 64,
      `g${Math.floor(r() * 5)}`,
    ];
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-flight-interop-'));
  storage = await openEmbeddedStorage({ dataDir: dir });
  engine = createQueryEngine({ storage });
  const users = openUserStore({ dataDir: dir, rootPassword: ROOT_PW });
  mysqlServer = await startMysqlServer({ engine, users, host: '127.0.0.1', port: 0 });
  flight = await startFlightServer({ storage, engine, users, host: '127.0.0.1', port: 0 });
  my = await mysql.createConnection({
    host: '127.0.0.1', port: mysqlServer.port, user: 'root', password: ROOT_PW,
    supportBigNumbers: true, bigNumberStrings: true,
  });
  // Half the rows arrive over MySQL, half over Flight DoPut; both endpoints then read all of them.
  await my.query('CREATE DATABASE shop');
  await my.query('CREATE TABLE shop.items (id BIGINT NOT NULL, name VARCHAR(40), qty INT, w DOUBLE, grp VARCHAR(4) NOT NULL, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 3');
  const viaMysql = makeRows(1, MYSQL_ROWS, SEED);
  await my.query('INSERT INTO shop.items (id, name, qty, w, grp) VALUES ?', [viaMysql.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)))]);
  const cols: ColumnSchema[] = [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'qty', type: 'int32', nullable: true },
    { name: 'w', type: 'double', nullable: true },
    { name: 'grp', type: 'string', nullable: false },
  ];
  const fc = new FlightClient(`127.0.0.1:${flight.port}`);
  try {
    await fc.handshake('root', ROOT_PW);
    const batch = buildBatch(cols, makeRows(MYSQL_ROWS + 1, FLIGHT_ROWS, SEED + 1));
    const res = await fc.putBatches({ type: 'path', path: ['shop', 'items'] }, batch.schema, [batch]) as { appliedCount: number }[];
    expect(res.reduce((n, r) => n + r.appliedCount, 0)).toBe(FLIGHT_ROWS);
  } finally {
    fc.close();
  }
});

afterAll(async () => {
  await my?.end();
  await flight?.close();
  await mysqlServer?.close();
  await engine?.close();
  await storage?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function connect(password = ROOT_PW) {
  return createFlightSqlClient({ host: '127.0.0.1', port: flight.port, tls: false, headers: [], username: 'root', password });
}

/** One value as text, the same for both protocols (int64 as bigint vs decimal string, etc.). */
function norm(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return String(v);
  throw new Error(`unexpected value ${String(v)} (${typeof v})`);
}

function flightRows(t: Table): (string | null)[][] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!.toArray() as ArrayLike<unknown>);
  // toArray() of a nullable column does not carry nulls: read validity through isValid.
  const vecs = names.map((n) => t.getChild(n)!);
  return Array.from({ length: t.numRows }, (_, i) => cols.map((c, j) => (vecs[j]!.isValid(i) ? norm(c[i]) : null)));
}

async function mysqlRows(sql: string): Promise<{ names: string[]; rows: (string | null)[][] }> {
  const [rows, fields] = await my.query({ sql, rowsAsArray: true });
  return { names: (fields as { name: string }[]).map((f) => f.name), rows: (rows as unknown[][]).map((r) => r.map(norm)) };
}

const QUERIES = [
  'SELECT id, name, qty, w, grp FROM shop.items ORDER BY id',
  'SELECT id, name FROM shop.items WHERE qty > 300 AND name IS NOT NULL ORDER BY id',
  'SELECT grp, COUNT(*) AS n, MIN(qty) AS lo, MAX(w) AS hi FROM shop.items GROUP BY grp ORDER BY grp',
  'SELECT COUNT(*) AS n FROM shop.items WHERE name LIKE \'item 1%\' OR qty IS NULL',
  'SELECT a.id, b.name FROM shop.items a JOIN shop.items b ON a.id = b.id + 150 WHERE a.id < 200 ORDER BY a.id',
  'SELECT id, qty * 2 + 1 AS q2 FROM shop.items WHERE id BETWEEN 140 AND 160 ORDER BY id DESC',
];

describe('@lakehouse-rs/flight-sql-client against a running Saiga', () => {
  it('every query returns the same rows over Flight SQL as over MySQL', async () => {
    const client = await connect();
    for (const sql of QUERIES) {
      const t = tableFromIPC(await client.query(sql));
      const viaMysql = await mysqlRows(sql);
      expect(t.schema.fields.map((f) => f.name), sql).toEqual(viaMysql.names);
      expect(viaMysql.rows.length, sql).toBeGreaterThan(0);
      expect(flightRows(t), sql).toEqual(viaMysql.rows);
    }
    // sanity: the full scan really holds the rows of both writers, nulls included
    const all = flightRows(tableFromIPC(await client.query(QUERIES[0]!)));
    expect(all.length).toBe(MYSQL_ROWS + FLIGHT_ROWS);
    expect(all.some((r) => r[1] === null)).toBe(true);
    expect(all.map((r) => Number(r[0]))).toEqual(Array.from({ length: MYSQL_ROWS + FLIGHT_ROWS }, (_, i) => i + 1));
  });

  it('a row written over MySQL after the first query is seen by the next Flight SQL query', async () => {
    const client = await connect();
    const count = async () => flightRows(tableFromIPC(await client.query('SELECT COUNT(*) AS n FROM shop.items WHERE grp = \'zz\'')))[0]![0];
    expect(await count()).toBe('0');
    await my.query("INSERT INTO shop.items (id, name, qty, w, grp) VALUES (100000, 'late', 1, 0.5, 'zz')");
    expect(await count()).toBe('1');
    await my.query('DELETE FROM shop.items WHERE id = 100000');
    expect(await count()).toBe('0');
  });

  it('getCatalogs, getDbSchemas, getTables', async () => {
    const client = await connect();
    const cats = tableFromIPC(await client.getCatalogs());
    expect(cats.toArray().map((r) => r.toJSON())).toEqual([{ catalog_name: 'saiga' }]);
    const dbs = tableFromIPC(await client.getDbSchemas({}));
    expect(dbs.toArray().map((r) => r.toJSON())).toContainEqual({ catalog_name: 'saiga', db_schema_name: 'shop' });
    const tables = tableFromIPC(await client.getTables({ includeSchema: true, dbSchemaFilterPattern: 'shop' }));
    expect(tables.numRows).toBe(1);
    expect(tables.getChild('table_name')!.get(0)).toBe('items');
    expect(tables.schema.fields.map((f) => f.name)).toEqual(['catalog_name', 'db_schema_name', 'table_name', 'table_type', 'table_schema']);
    const none = tableFromIPC(await client.getTables({ tableNameFilterPattern: 'zz%' }));
    expect(none.numRows).toBe(0);
  });
  // A refused handshake is covered by server.test.ts: this client panics in a tokio worker
  // on a failed handshake (the promise never settles), so it cannot be asserted here.
});
