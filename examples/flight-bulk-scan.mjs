// Arrow Flight bulk load and parallel scan, then a Flight SQL query.
//
// Run against the embedded default (`npm start` in another terminal), from the repository root:
//
//   node examples/flight-bulk-scan.mjs
//
// Environment: SAIGA_FLIGHT=host:port (default 127.0.0.1:8815), SAIGA_PASSWORD (root's password,
// default empty), SAIGA_ROWS (rows to load, default 200000).
//
// Steps:
//   1. DDL over Flight SQL: CommandStatementUpdate sent with DoPut (CREATE DATABASE / TABLE).
//   2. Bulk load: DoPut on the path descriptor ["flight_demo", "readings"] with Arrow record
//      batches built straight from typed arrays; each PutResult reports the rows applied.
//   3. Bulk scan: GetFlightInfo on the same path gives one endpoint per tablet, all reading one
//      snapshot; DoGet on every endpoint in parallel, columns read as typed arrays.
//   4. Flight SQL query with the @lakehouse-rs/flight-sql-client npm package (arrow-rs based):
//      an aggregate whose counts must agree with what the scan read.
//
// Why two clients: @lakehouse-rs/flight-sql-client only offers query / getCatalogs /
// getDbSchemas / getTables; it has no DoPut, no DoGet on a chosen ticket and no
// CommandStatementUpdate. Steps 1-3 therefore use Saiga's own small grpc-js Flight client,
// loaded from the compiled tree (dist/src/server/flight/client.js, built by `npm run build`).
// Exit code 0 when every check passed, 1 otherwise.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { makeData, RecordBatch, Struct, tableFromIPC } from 'apache-arrow';

const clientUrl = new URL('../dist/src/server/flight/client.js', import.meta.url);
if (!existsSync(fileURLToPath(clientUrl))) {
  console.error('flight-bulk-scan: Saiga is not built yet: run `npm run build` first');
  process.exit(2);
}
const { FlightClient, sqlCommand } = await import(clientUrl.href);

const address = process.env.SAIGA_FLIGHT ?? '127.0.0.1:8815';
const [host, portText] = address.split(':');
const port = Number(portText ?? 8815);
const password = process.env.SAIGA_PASSWORD ?? '';
const ROWS = Number(process.env.SAIGA_ROWS ?? 200_000);
const BATCH_ROWS = 32_768;
const SENSORS = 16;
const LABELS = ['ok', 'warn', 'alarm', 'calibrating'];
const TABLE = { type: 'path', path: ['flight_demo', 'readings'] };

const problems = [];
function check(ok, message) {
  if (!ok) problems.push(message);
}

/** Runs one SQL statement that returns no rows: CommandStatementUpdate over DoPut. */
async function update(client, query) {
  const [meta] = await client.doPutRaw([{ descriptor: sqlCommand('CommandStatementUpdate', { query }), dataHeader: new Uint8Array(0), body: [] }]);
  return meta;
}

/**
 * Rows [first, first + n) as one record batch of `schema` (the table's Arrow schema as the
 * server reports it): id = row number, sensor = id % 16, reading = a deterministic wave,
 * label = one of four strings. Built from typed arrays, no per-value Arrow calls.
 */
function makeBatch(schema, first, n) {
  const ids = new Int32Array(n * 2); // int64 as (low, high) int32 pairs; ids < 2^31
  const sensors = new Int32Array(n);
  const readings = new Float64Array(n);
  const offsets = new Int32Array(n + 1);
  const encoder = new TextEncoder();
  const labelBytes = LABELS.map((l) => encoder.encode(l));
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += labelBytes[(first + i) % LABELS.length].length;
  const text = new Uint8Array(bytes);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const id = first + i;
    ids[2 * i] = id;
    sensors[i] = id % SENSORS;
    readings[i] = Math.round(1000 * (20 + 5 * Math.sin(id / 1000))) / 1000;
    const b = labelBytes[id % LABELS.length];
    text.set(b, p);
    p += b.length;
    offsets[i + 1] = p;
  }
  const columns = {
    id: { data: new BigInt64Array(ids.buffer) },
    sensor: { data: sensors },
    reading: { data: readings },
    label: { data: text, valueOffsets: offsets },
  };
  const children = schema.fields.map((f) => makeData({ type: f.type, length: n, nullCount: 0, ...columns[f.name] }));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

/** Reads an Int64 column chunk's values as numbers without BigInt arithmetic (values < 2^53). */
function int64Values(data) {
  const v = data.values;
  const words = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = words[2 * i + 1] * 4294967296 + (words[2 * i] >>> 0);
  return out;
}

async function main() {
  const client = new FlightClient(address);
  try {
    await client.handshake('root', password);

    // 1. DDL through Flight SQL.
    await update(client, 'CREATE DATABASE IF NOT EXISTS flight_demo');
    await update(client, 'DROP TABLE IF EXISTS flight_demo.readings');
    await update(client, `CREATE TABLE flight_demo.readings (
        id BIGINT NOT NULL, sensor INT NOT NULL, reading DOUBLE, label STRING, PRIMARY KEY (id))
      PARTITION BY HASH (id) PARTITIONS 4 STORED AS KUDU`);
    const schema = await client.getSchema(TABLE);
    console.log(`table flight_demo.readings: ${schema.fields.map((f) => `${f.name} ${f.type}`).join(', ')}`);

    // 2. Bulk load with DoPut.
    const batches = [];
    for (let first = 0; first < ROWS; first += BATCH_ROWS) batches.push(makeBatch(schema, first, Math.min(BATCH_ROWS, ROWS - first)));
    let t0 = performance.now();
    const results = await client.putBatches(TABLE, schema, batches);
    let ms = performance.now() - t0;
    const applied = results.reduce((s, r) => s + r.appliedCount, 0);
    const rowErrors = results.reduce((s, r) => s + r.rowErrorCount, 0);
    console.log(`DoPut: ${ROWS} rows in ${batches.length} batches, ${ms.toFixed(0)} ms (${Math.round(ROWS / (ms / 1000))} rows/s); applied ${applied}, row errors ${rowErrors}`);
    check(applied === ROWS && rowErrors === 0, `DoPut applied ${applied} of ${ROWS} rows with ${rowErrors} row errors`);

    // 3. Parallel scan: one DoGet per endpoint (tablet), all at once.
    t0 = performance.now();
    const info = await client.getFlightInfo(TABLE);
    const streams = await Promise.all(info.tickets.map((ticket) => client.doGet(ticket)));
    ms = performance.now() - t0;
    let rows = 0;
    let idSum = 0;
    let readingSum = 0;
    const perSensor = new Float64Array(SENSORS);
    const perEndpoint = [];
    for (const s of streams) {
      let endpointRows = 0;
      for (const b of s.batches) {
        const idIndex = b.schema.fields.findIndex((f) => f.name === 'id');
        const sensorIndex = b.schema.fields.findIndex((f) => f.name === 'sensor');
        const readingIndex = b.schema.fields.findIndex((f) => f.name === 'reading');
        for (const d of b.getChildAt(idIndex).data) {
          const ids = int64Values(d);
          for (let i = 0; i < ids.length; i++) idSum += ids[i];
        }
        for (const d of b.getChildAt(sensorIndex).data) for (let i = 0; i < d.length; i++) perSensor[d.values[i]]++;
        for (const d of b.getChildAt(readingIndex).data) for (let i = 0; i < d.length; i++) readingSum += d.values[i];
        endpointRows += b.numRows;
      }
      perEndpoint.push(endpointRows);
      rows += endpointRows;
    }
    console.log(`DoGet: ${info.tickets.length} endpoints in parallel, rows per endpoint [${perEndpoint.join(', ')}], ${rows} rows in ${ms.toFixed(0)} ms (${Math.round(rows / (ms / 1000))} rows/s)`);
    check(info.tickets.length === 4, `expected one endpoint per tablet (4), got ${info.tickets.length}`);
    check(rows === ROWS, `the scan returned ${rows} rows, expected ${ROWS}`);
    check(idSum === (ROWS * (ROWS - 1)) / 2, `the ids scanned sum to ${idSum}, expected ${(ROWS * (ROWS - 1)) / 2} (each of 0..${ROWS - 1} once)`);
    console.log(`scan check: ids 0..${ROWS - 1} each once, average reading ${(readingSum / rows).toFixed(4)}`);
  } finally {
    client.close();
  }

  // 4. A Flight SQL query through the arrow-rs based npm client.
  const sql = await createFlightSqlClient({ host, port, tls: false, headers: [], username: 'root', password });
  const query = 'SELECT sensor, COUNT(*) AS n, MIN(reading) AS min_reading, MAX(reading) AS max_reading FROM flight_demo.readings WHERE label <> \'alarm\' GROUP BY sensor ORDER BY sensor';
  const t0 = performance.now();
  const table = tableFromIPC(await sql.query(query));
  const ms = performance.now() - t0;
  console.log(`Flight SQL: ${query}`);
  console.log(`  -> ${table.numRows} rows in ${ms.toFixed(0)} ms`);
  const sensors = table.getChild('sensor').toArray();
  const counts = table.getChild('n').toArray();
  const mins = table.getChild('min_reading').toArray();
  const maxs = table.getChild('max_reading').toArray();
  let total = 0;
  for (let i = 0; i < table.numRows; i++) {
    const n = Number(counts[i]);
    total += n;
    if (i < 4 || i === table.numRows - 1) console.log(`  sensor ${sensors[i]}: ${n} rows, readings ${mins[i]} .. ${maxs[i]}`);
    else if (i === 4) console.log('  ...');
  }
  // label 'alarm' is every 4th id (id % 4 == 2); with 16 sensors, sensors 2, 6, 10, 14 only ever
  // have alarms, so they drop out of the result.
  const alarms = Math.floor((ROWS - 3) / 4) + 1;
  check(table.numRows === SENSORS - 4, `the Flight SQL query returned ${table.numRows} sensors, expected ${SENSORS - 4}`);
  check(total === ROWS - alarms, `the Flight SQL counts add up to ${total}, expected ${ROWS - alarms} (all rows but the ${alarms} alarms)`);

  if (problems.length > 0) {
    for (const p of problems) console.log(`FAIL: ${p}`);
    process.exitCode = 1;
    return;
  }
  console.log('OK: bulk load, parallel scan and Flight SQL query agree');
}

main().catch((e) => {
  console.error(`flight-bulk-scan: ${e.message}${e.code !== undefined ? ` (gRPC status ${e.code})` : ''}`);
  process.exitCode = 1;
});
