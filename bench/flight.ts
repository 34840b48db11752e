import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStorage } from '../src/client/index.js';
import { createQueryEngine } from '../src/query/index.js';
import { FlightClient } from '../src/server/flight/client.js';
import { startFlightServer } from '../src/server/flight/server.js';
import { emit, machine } from './report.js';
import { generateTpch } from './tpch/dbgen.js';
import { saigaPartitionSchema, saigaSchema } from './tpch/schema.js';

/**
 * `npm run bench -- flight [--rows N] [--tablets T]`: Flight DoPut ingest and DoGet scan
 * throughput of TPC-H lineitem over loopback, against the embedded storage.
 * Targets: DoGet >= 5 M rows/s, DoPut >= 1 M rows/s.
 */
export async function main(args: string[]): Promise<void> {
  const flag = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const rowsWanted = flag('rows', 600_000);
  const tablets = flag('tablets', 4);
  const sf = Math.max(0.001, rowsWanted / 6_000_000);
  const data = generateTpch(sf, 42, { batchRows: 65_536 }).lineitem;
  const dir = mkdtempSync(join(tmpdir(), 'saiga-flight-bench-'));
  const storage = await openEmbeddedStorage({ dataDir: dir });
  const engine = createQueryEngine({ storage });
  const server = await startFlightServer({ storage, engine, port: 0 });
  const client = new FlightClient(`127.0.0.1:${server.port}`);
  const common = { machine: machine(), rows: data.rowCount, tablets };
  try {
    await storage.createDatabase('tpch', true);
    await storage.createTable({ database: 'tpch', name: 'lineitem', schema: saigaSchema('lineitem'), partitionSchema: saigaPartitionSchema('lineitem', tablets) });

    let t0 = performance.now();
    const results = await client.putBatches({ type: 'path', path: ['tpch', 'lineitem'] }, data.schema, data.batches) as { appliedCount: number; rowErrorCount: number }[];
    let s = (performance.now() - t0) / 1000;
    const applied = results.reduce((n, r) => n + r.appliedCount, 0);
    const errors = results.reduce((n, r) => n + r.rowErrorCount, 0);
    emit({ name: 'flight.doput.rows_per_s', value: Math.round(data.rowCount / s), unit: 'rows/s', applied, rowErrors: errors, target: 1_000_000, ...common });

    await storage.flush('tpch', 'lineitem');
    const d = { type: 'path' as const, path: ['tpch', 'lineitem'] };
    // single stream: endpoints one after another
    const info = await client.getFlightInfo(d);
    t0 = performance.now();
    let rows = 0;
    let bytes = 0;
    for (const t of info.tickets) {
      const r = await client.doGet(t);
      rows += r.batches.reduce((n, b) => n + b.numRows, 0);
      bytes += r.bodyBytes;
    }
    s = (performance.now() - t0) / 1000;
    emit({ name: 'flight.doget.single_stream.rows_per_s', value: Math.round(rows / s), unit: 'rows/s', mbPerS: Math.round(bytes / s / 1e6), rowsRead: rows, target: 5_000_000, ...common });

    const info2 = await client.getFlightInfo(d);
    t0 = performance.now();
    const parts = await Promise.all(info2.tickets.map((t) => client.doGet(t)));
    s = (performance.now() - t0) / 1000;
    rows = parts.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.numRows, 0), 0);
    bytes = parts.reduce((n, p) => n + p.bodyBytes, 0);
    emit({ name: 'flight.doget.parallel.rows_per_s', value: Math.round(rows / s), unit: 'rows/s', mbPerS: Math.round(bytes / s / 1e6), endpoints: info2.tickets.length, rowsRead: rows, target: 5_000_000, ...common });
  } finally {
    client.close();
    await server.close();
    await engine.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
