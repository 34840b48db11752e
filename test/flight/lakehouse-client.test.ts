import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../src/common/types.js';
import { startFlightServer, type FlightServer } from '../../src/server/flight/server.js';
import { MemoryStorage, TinyEngine } from './fixtures.js';

/** Interop: the arrow-rs based Flight SQL client (not written by this project) against the server. */
const COLUMNS: ColumnSchema[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'name', type: 'string', nullable: true },
  { name: 'price', type: 'double', nullable: true },
];

let storage: MemoryStorage;
let server: FlightServer;

beforeAll(async () => {
  storage = new MemoryStorage(2);
  await storage.createDatabase('shop');
  await storage.createTable({ database: 'shop', name: 'items', schema: { columns: COLUMNS, keyColumnCount: 1 }, partitionSchema: { hash: [{ columns: ['id'], buckets: 2, seed: 0 }], rangeColumns: [] } });
  await storage.write('shop', 'items', 'insert', Array.from({ length: 100 }, (_, i) => [BigInt(i), i % 7 === 0 ? null : `item ${i}`, i * 1.5]));
  server = await startFlightServer({ storage, engine: new TinyEngine(storage), port: 0, users: { bob: 'pw' } });
});

afterAll(async () => {
  await server?.close();
});

async function connect(password = 'pw') {
  return createFlightSqlClient({ host: '127.0.0.1', port: server.port, tls: false, headers: [], username: 'bob', password });
}

describe('@lakehouse-rs/flight-sql-client', () => {
  it('query returns every row of the table, across both tablets', async () => {
    const client = await connect();
    const t = tableFromIPC(await client.query('SELECT id, name, price FROM shop.items'));
    expect(t.numRows).toBe(100);
    const ids = (t.getChild('id')!.toArray() as BigInt64Array);
    expect([...ids].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const rows = t.toArray().map((r) => r.toJSON() as { id: bigint; name: string | null; price: number });
    const r7 = rows.find((r) => r.id === 7n)!;
    expect(r7.name).toBeNull();
    expect(rows.find((r) => r.id === 8n)).toEqual({ id: 8n, name: 'item 8', price: 12 });
  });

  it('getCatalogs, getDbSchemas, getTables', async () => {
    const client = await connect();
    const cats = tableFromIPC(await client.getCatalogs());
    expect(cats.toArray().map((r) => r.toJSON())).toEqual([{ catalog_name: 'saiga' }]);
    const dbs = tableFromIPC(await client.getDbSchemas({}));
    expect(dbs.toArray().map((r) => r.toJSON())).toEqual([{ catalog_name: 'saiga', db_schema_name: 'shop' }]);
    const tables = tableFromIPC(await client.getTables({ includeSchema: true }));
    expect(tables.numRows).toBe(1);
    expect(tables.getChild('table_name')!.get(0)).toBe('items');
    expect(tables.schema.fields.map((f) => f.name)).toEqual(['catalog_name', 'db_schema_name', 'table_name', 'table_type', 'table_schema']);
    const none = tableFromIPC(await client.getTables({ tableNameFilterPattern: 'zz%' }));
    expect(none.numRows).toBe(0);
  });
  // A refused handshake is covered by server.test.ts: this client panics in a tokio worker
  // on a failed handshake (the promise never settles), so it cannot be asserted here.
});
