import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { emit, machine } from './report.js';
import { compareResults, duckToTable } from './tpch/compare.js';
import type { ResultTable } from './tpch/compare.js';
import { generateTpch } from './tpch/dbgen.js';
import { loadDuckDb, loadSaiga } from './tpch/load.js';
import { tpchQueries } from './tpch/queries.js';
import { loadSaigaFactories, openSaiga, resultToTable } from './tpch/saiga.js';
import type { SaigaHandle } from './tpch/saiga.js';
import type { Session } from '../src/query/api.js';

/**
 * `npm run bench -- tpch [--sf 1] [--seed 1] [--runs 3] [--queries 1,3,6] [--buckets 4]
 *  [--timeout-ms 600000] [--duckdb-only]`
 *
 * Generates TPC-H data, loads Saiga (embedded, through StorageApi.writeArrow) and DuckDB
 * (threads=2), runs each query in both (one warm-up, then the best of --runs), checks that the
 * results agree and prints figures: tpch_q<N> (Saiga ms, with duckdbMs and ratio), tpch_geomean,
 * tpch_load_saiga / tpch_load_duckdb (rows/s) and tpch_generate.
 */

interface Args {
  sf: number;
  seed: number;
  runs: number;
  queries: Set<number> | undefined;
  buckets: number;
  timeoutMs: number;
  duckdbOnly: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { sf: 1, seed: 1, runs: 3, queries: undefined, buckets: 4, timeoutMs: 600_000, duckdbOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = (v: string): number => {
      const x = Number(v);
      if (!Number.isFinite(x) || x <= 0) throw new Error(`${a} expects a positive number, got '${v}'`);
      return x;
    };
    switch (a) {
      case '--sf': args.sf = num(next()); break;
      case '--seed': args.seed = num(next()); break;
      case '--runs': args.runs = Math.round(num(next())); break;
      case '--buckets': args.buckets = Math.round(num(next())); break;
      case '--timeout-ms': args.timeoutMs = num(next()); break;
      case '--queries': args.queries = new Set(next().split(',').map((s) => Math.round(num(s.replace(/^q/i, ''))))); break;
      case '--duckdb-only': args.duckdbOnly = true; break;
      default: throw new Error(`unknown argument '${a}' (see bench/tpch.ts)`);
    }
  }
  return args;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function runSaiga(session: Session, sql: string, timeoutMs: number): Promise<ResultTable> {
  const results = await session.execute(sql, { signal: AbortSignal.timeout(timeoutMs) });
  if (results.length !== 1) throw new Error(`expected one result, got ${results.length}`);
  return resultToTable(results[0]);
}

function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(Math.max(x, 1e-3)), 0) / xs.length);
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const common = { sf: args.sf, seed: args.seed, machine: machine() };

  const gen = await timed(async () => generateTpch(args.sf, args.seed));
  const data = gen.value;
  const totalRows = Object.values(data).reduce((s, t) => s + t.rowCount, 0);
  emit({ name: 'tpch_generate', value: gen.ms, unit: 'ms', rows: totalRows, rowsPerSec: Math.round(totalRows / (gen.ms / 1000)), ...common });

  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const duck = await instance.connect();
  let saiga: SaigaHandle | undefined;
  let session: Session | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'saiga-bench-tpch-'));
  try {
    const duckLoad = await timed(() => loadDuckDb(duck, data));
    emit({ name: 'tpch_load_duckdb', value: Math.round(totalRows / (duckLoad.ms / 1000)), unit: 'rows/s', ms: duckLoad.ms, rows: totalRows, ...common });

    if (!args.duckdbOnly) {
      saiga = await openSaiga(dataDir, await loadSaigaFactories());
      const handle = saiga;
      const saigaLoad = await timed(() => loadSaiga(handle.storage, data, { database: 'tpch', buckets: args.buckets }));
      emit({
        name: 'tpch_load_saiga', value: Math.round(totalRows / (saigaLoad.ms / 1000)), unit: 'rows/s', ms: saigaLoad.ms, rows: totalRows,
        duckdbRowsPerSec: Math.round(totalRows / (duckLoad.ms / 1000)), perTable: saigaLoad.value, buckets: args.buckets, ...common,
      });
      session = saiga.engine.openSession({ user: 'root', database: 'tpch', connectionId: 1 });
    }

    const saigaTimes: number[] = [];
    const duckTimes: number[] = [];
    const duckOnlyTimes: number[] = [];
    const failed: string[] = [];
    for (const q of tpchQueries(args.sf)) {
      if (args.queries !== undefined && !args.queries.has(q.id)) continue;
      // DuckDB: warm-up, then best of N.
      const expected = duckToTable(await duck.runAndReadAll(q.sql));
      let duckBest = Infinity;
      for (let r = 0; r < args.runs; r++) duckBest = Math.min(duckBest, (await timed(() => duck.runAndReadAll(q.sql))).ms);
      if (session === undefined) {
        duckOnlyTimes.push(duckBest);
        emit({ name: `tpch_q${q.id}_duckdb`, value: duckBest, unit: 'ms', rows: expected.rows.length, ...common });
        continue;
      }
      const s = session;
      let saigaBest = Infinity;
      let matches: boolean;
      try {
        const got = await runSaiga(s, q.sql, args.timeoutMs);
        const diff = compareResults(got.rows, expected.rows, q);
        matches = diff === undefined;
        if (diff !== undefined) console.error(`tpch ${q.name}: Saiga's result differs from DuckDB's: ${diff}`);
        for (let r = 0; r < args.runs; r++) saigaBest = Math.min(saigaBest, (await timed(() => runSaiga(s, q.sql, args.timeoutMs))).ms);
      } catch (e) {
        failed.push(q.name);
        console.error(`tpch ${q.name}: Saiga failed: ${(e as Error).message}`);
        continue;
      }
      saigaTimes.push(saigaBest);
      duckTimes.push(duckBest);
      emit({
        name: `tpch_q${q.id}`, value: saigaBest, unit: 'ms', duckdbMs: duckBest, ratio: saigaBest / duckBest, matches,
        rows: expected.rows.length, runs: args.runs, ...common,
      });
    }
    if (saigaTimes.length > 0) {
      const g = geomean(saigaTimes);
      const d = geomean(duckTimes);
      emit({ name: 'tpch_geomean', value: g, unit: 'ms', duckdbMs: d, ratio: g / d, queries: saigaTimes.length, failed, ...common });
    }
    if (session !== undefined) emit({ name: 'tpch_failed', value: failed.length, unit: 'queries', failed, ...common });
    if (session === undefined && duckOnlyTimes.length > 0) {
      emit({ name: 'tpch_geomean_duckdb', value: geomean(duckOnlyTimes), unit: 'ms', queries: duckOnlyTimes.length, ...common });
    }
  } finally {
    session?.close();
    await saiga?.close();
    duck.closeSync();
    instance.closeSync();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
