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
 * `npm run bench -- flight [--rows N] [--tablets T] [--reps R]`: Flight DoPut ingest and DoGet scan
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

    const p0 = process.cpuUsage();
    const t0 = performance.now();
    const results = await client.putBatches({ type: 'path', path: ['tpch', 'lineitem'] }, data.schema, data.batches) as { appliedCount: number; rowErrorCount: number }[];
    const s = (performance.now() - t0) / 1000;
    const putCpu = process.cpuUsage(p0);
    const applied = results.reduce((n, r) => n + r.appliedCount, 0);
    const errors = results.reduce((n, r) => n + r.rowErrorCount, 0);
    emit({ name: 'flight.doput.rows_per_s', value: Math.round(data.rowCount / s), unit: 'rows/s', applied, rowErrors: errors, cpuRowsPerS: Math.round(data.rowCount / ((putCpu.user + putCpu.system) / 1e6)), target: 1_000_000, ...common });

    await storage.flush('tpch', 'lineitem');
    // Each DoGet mode runs `reps` times (the first also warms JIT and block caches); the best
    // wall-clock run is reported, with the process CPU time per row (client and server both
    // live in this process), which is less sensitive to other load on the machine.
    const reps = flag('reps', 3);
    const measure = async (name: string, parallel: boolean): Promise<void> => {
      let best = Infinity;
      let bestCpu = 0;
      let rows = 0;
      let bytes = 0;
      let endpoints = 0;
      for (let r = 0; r < reps; r++) {
        const info = await client.getFlightInfo(d);
        endpoints = info.tickets.length;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const parts = parallel
          ? await Promise.all(info.tickets.map((t) => client.doGet(t)))
          : await (async () => { const out = []; for (const t of info.tickets) out.push(await client.doGet(t)); return out; })();
        const s = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(c0);
        rows = parts.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.numRows, 0), 0);
        bytes = parts.reduce((n, p) => n + p.bodyBytes, 0);
        if (s < best) {
          best = s;
          bestCpu = (cpu.user + cpu.system) / 1e6;
        }
      }
      emit({
        name, value: Math.round(rows / best), unit: 'rows/s', mbPerS: Math.round(bytes / best / 1e6), endpoints, rowsRead: rows, reps,
        cpuRowsPerS: Math.round(rows / bestCpu), target: 5_000_000, ...common,
      });
    };
    const d = { type: 'path' as const, path: ['tpch', 'lineitem'] };
    await measure('flight.doget.single_stream.rows_per_s', false);
    await measure('flight.doget.parallel.rows_per_s', true);
  } finally {
    client.close();
    await server.close();
    await engine.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
