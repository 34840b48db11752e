import * as arrow from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStorage } from '../src/client/index.js';
import type { ScanSpec } from '../src/common/scan-spec.js';
import type { Row, Schema } from '../src/common/types.js';
import { emit, machine, percentile } from './report.js';

/**
 * Storage figures (`npm run bench -- storage [--rows N] [--lookups N]`):
 * - durable ingest: 10k-row batches through StorageApi.write into one tablet, each batch fsynced
 * - durable columnar ingest: the same rows as 10k-row Arrow batches through StorageApi.writeArrow
 * - durable columnar ingest into a 4-bucket hash-partitioned table (4 tablets, each its own log),
 *   64k-row batches: the shape Flight DoPut and COPY FROM write (`--ingest-only` stops after it)
 * - Q6-style filter-and-sum over N flushed lineitem-like rows, one core, reading the scan's
 *   batches as typed arrays
 * - primary-key point lookups among N rows: p50 / p99
 * - memory growth while scanning vs. the size of the scanned columns
 * - single-row durable writes from 64 concurrent writers (group commit), writes/s
 * Peer: DuckDB (one thread) running the same Q6 shape over N generated rows in memory
 * (`--no-duckdb` skips it).
 */

const BATCH_ROWS = 10_000;
const HASH_BATCH_ROWS = 65_536;

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'l_orderkey', type: 'int64', nullable: false },
    { name: 'l_quantity', type: 'decimal', precision: 15, scale: 2, nullable: false },
    { name: 'l_extendedprice', type: 'decimal', precision: 15, scale: 2, nullable: false },
    { name: 'l_discount', type: 'decimal', precision: 15, scale: 2, nullable: false },
    { name: 'l_shipdate', type: 'date', nullable: false },
  ],
};

/** Deterministic lineitem-like values for key k (decimals as unscaled bigints, scale 2 as in TPC-H). */
function rowFor(k: number): Row {
  const h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return [BigInt(k), BigInt(100 * (1 + (h % 50))), BigInt(90_000 + 10 * (h % 100_000)), BigInt(h % 11), 8036 + (h % 2526)];
}

/** The rows of rowFor(start .. start+n-1) as an Arrow batch (typed arrays, no per-row objects). */
function arrowBatchFor(start: number, n: number): arrow.RecordBatch {
  const key = new BigInt64Array(n);
  const keyWords = new Int32Array(key.buffer);
  // Decimal128: four little-endian u32 words per value; these values are small and non-negative.
  const q = new Uint32Array(4 * n);
  const p = new Uint32Array(4 * n);
  const d = new Uint32Array(4 * n);
  const s = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = start + i;
    keyWords[2 * i] = k;
    const h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    q[4 * i] = 100 * (1 + (h % 50));
    p[4 * i] = 90_000 + 10 * (h % 100_000);
    d[4 * i] = h % 11;
    s[i] = 8036 + (h % 2526);
  }
  const dec = (): arrow.Decimal => new arrow.Decimal(2, 15, 128);
  return new arrow.RecordBatch({
    l_orderkey: arrow.makeData({ type: new arrow.Int64(), length: n, data: key }),
    l_quantity: arrow.makeData({ type: dec(), length: n, data: q }),
    l_extendedprice: arrow.makeData({ type: dec(), length: n, data: p }),
    l_discount: arrow.makeData({ type: dec(), length: n, data: d }),
    l_shipdate: arrow.makeData({ type: new arrow.DateDay(), length: n, data: s }),
  });
}

export async function main(args: string[]): Promise<void> {
  const rowCount = arg(args, '--rows', 6_000_000);
  const lookups = arg(args, '--lookups', 20_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'saiga-bench-storage-'));
  console.log(`storage bench: ${rowCount} rows in ${dataDir}; machine ${JSON.stringify(machine())}`);
  const storage = await openEmbeddedStorage({ dataDir });
  try {
    await storage.createTable({ database: 'default', name: 'lineitem', schema, partitionSchema: { hash: [], rangeColumns: [] } });

    // --- durable ingest ---
    let writeMs = 0;
    let batches = 0;
    for (let start = 0; start < rowCount; start += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, rowCount - start);
      const rows: Row[] = new Array<Row>(n);
      for (let i = 0; i < n; i++) rows[i] = rowFor(start + i);
      const t0 = performance.now();
      const r = await storage.write('default', 'lineitem', 'insert', rows);
      writeMs += performance.now() - t0;
      batches++;
      if (r.rowErrors.length > 0) throw new Error(`ingest row error: ${JSON.stringify(r.rowErrors[0])}`);
    }
    emit({ name: 'storage.ingest_durable', value: Math.round(rowCount / (writeMs / 1000)), unit: 'rows/s', batchRows: BATCH_ROWS, batches, target: 500_000 });

    // --- durable columnar ingest: the same rows as Arrow batches through writeArrow ---
    await storage.createTable({ database: 'default', name: 'lineitem_arrow', schema, partitionSchema: { hash: [], rangeColumns: [] } });
    let arrowMs = 0;
    for (let start = 0; start < rowCount; start += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, rowCount - start);
      const batch = arrowBatchFor(start, n);
      const t0 = performance.now();
      const r = await storage.writeArrow('default', 'lineitem_arrow', 'insert', batch);
      arrowMs += performance.now() - t0;
      if (r.rowErrors.length > 0 || r.appliedCount !== n) throw new Error(`arrow ingest: ${r.appliedCount} applied, first error ${JSON.stringify(r.rowErrors[0])}`);
    }
    emit({ name: 'storage.ingest_arrow_durable', value: Math.round(rowCount / (arrowMs / 1000)), unit: 'rows/s', batchRows: BATCH_ROWS, batches, target: 500_000 });
    await storage.dropTable('default', 'lineitem_arrow');

    // --- durable columnar ingest into 4 hash-partitioned tablets, 64k-row batches ---
    await storage.createTable({ database: 'default', name: 'lineitem_hash', schema, partitionSchema: { hash: [{ columns: ['l_orderkey'], buckets: 4, seed: 0 }], rangeColumns: [] } });
    let hashMs = 0;
    let hashBatches = 0;
    for (let start = 0; start < rowCount; start += HASH_BATCH_ROWS) {
      const n = Math.min(HASH_BATCH_ROWS, rowCount - start);
      const batch = arrowBatchFor(start, n);
      const t0 = performance.now();
      const r = await storage.writeArrow('default', 'lineitem_hash', 'insert', batch);
      hashMs += performance.now() - t0;
      hashBatches++;
      if (r.rowErrors.length > 0 || r.appliedCount !== n) throw new Error(`hash arrow ingest: ${r.appliedCount} applied, first error ${JSON.stringify(r.rowErrors[0])}`);
    }
    emit({ name: 'storage.ingest_arrow_hash4_durable', value: Math.round(rowCount / (hashMs / 1000)), unit: 'rows/s', batchRows: HASH_BATCH_ROWS, batches: hashBatches, tablets: 4, target: 1_000_000 });
    await storage.dropTable('default', 'lineitem_hash');
    if (args.includes('--ingest-only')) return;

    const tf = performance.now();
    await storage.flush();
    emit({ name: 'storage.flush', value: Math.round(performance.now() - tf), unit: 'ms', rows: rowCount });

    // --- Q6-style scans ---
    // q6_scan: the Q6 predicates pushed into the scan spec (what the SQL layer sends), the sum
    // over the surviving rows read from the decimal's Uint32 words as doubles (exact < 2^53).
    // q6_fullscan: every row of the four columns returned (zero-copy base data) and the
    // predicates evaluated here on the same typed arrays.
    const q6Spec: ScanSpec = {
      projection: ['l_extendedprice', 'l_discount'],
      predicates: [
        { kind: 'compare', column: 'l_shipdate', op: '>=', value: 8766 },
        { kind: 'compare', column: 'l_shipdate', op: '<', value: 9131 },
        { kind: 'compare', column: 'l_discount', op: '>=', value: 5n },
        { kind: 'compare', column: 'l_discount', op: '<=', value: 7n },
        { kind: 'compare', column: 'l_quantity', op: '<', value: 2400n },
      ],
    };
    const fullSpec: ScanSpec = { projection: ['l_quantity', 'l_extendedprice', 'l_discount', 'l_shipdate'] };
    const scannedBytes = rowCount * (16 + 16 + 16 + 4);
    const words = (d: { values: unknown }): Uint32Array => d.values as Uint32Array;
    const q6 = async (pushdown: boolean): Promise<{ ms: number; revenue: number; rows: number; rssDelta: number; abDelta: number }> => {
      global.gc?.();
      const m0 = process.memoryUsage();
      let rssMax = m0.rss;
      let abMax = m0.arrayBuffers;
      const t0 = performance.now();
      let revenueUnscaled = 0;
      let rows = 0;
      let batchesSeen = 0;
      for await (const b of storage.scan('default', 'lineitem', pushdown ? q6Spec : fullSpec)) {
        if (pushdown) {
          const cp = b.getChildAt(0);
          const cd = b.getChildAt(1);
          if (cp === null || cd === null) throw new Error('projected column missing');
          for (let k = 0; k < cp.data.length; k++) {
            const pd = cp.data[k];
            const dd = cd.data[k];
            if (pd === undefined || dd === undefined) throw new Error('chunk layouts differ');
            const p = words(pd);
            const d = words(dd);
            const n = pd.length;
            const po = 4 * pd.offset;
            const dof = 4 * dd.offset;
            for (let i = 0; i < n; i++) {
              const pv = (p[po + 4 * i] as number) + ((p[po + 4 * i + 1] as number) | 0) * 4294967296;
              const dv = (d[dof + 4 * i] as number) + ((d[dof + 4 * i + 1] as number) | 0) * 4294967296;
              revenueUnscaled += pv * dv;
            }
            rows += n;
          }
        } else {
          const cq = b.getChildAt(0);
          const cp = b.getChildAt(1);
          const cd = b.getChildAt(2);
          const cs = b.getChildAt(3);
          if (cq === null || cp === null || cd === null || cs === null) throw new Error('projected column missing');
          for (let k = 0; k < cq.data.length; k++) {
            const qd = cq.data[k];
            const pd = cp.data[k];
            const dd = cd.data[k];
            const sdd = cs.data[k];
            if (qd === undefined || pd === undefined || dd === undefined || sdd === undefined) throw new Error('chunk layouts differ');
            const [rev, matched] = q6Kernel(words(qd), words(pd), words(dd), sdd.values as Int32Array, qd.length, qd.offset, pd.offset, dd.offset, sdd.offset);
            revenueUnscaled += rev;
            rows += matched;
          }
        }
        if ((++batchesSeen & 7) === 0) {
          const m = process.memoryUsage();
          if (m.rss > rssMax) rssMax = m.rss;
          if (m.arrayBuffers > abMax) abMax = m.arrayBuffers;
        }
      }
      const ms = performance.now() - t0;
      const m1 = process.memoryUsage();
      return { ms, revenue: revenueUnscaled / 10_000, rows, rssDelta: Math.max(rssMax, m1.rss) - m0.rss, abDelta: Math.max(abMax, m1.arrayBuffers) - m0.arrayBuffers };
    };
    const cold = await q6(true);
    // Warm figures: best of three runs (the machine is shared; one run is noisy).
    const best = async (pushdown: boolean): Promise<Awaited<ReturnType<typeof q6>>> => {
      let b = await q6(pushdown);
      for (let r = 0; r < 2; r++) {
        const x = await q6(pushdown);
        if (x.ms < b.ms) b = x;
      }
      return b;
    };
    const warm = await best(true);
    const full = await best(false);
    if (cold.rows !== warm.rows || full.rows !== warm.rows || cold.revenue !== warm.revenue || full.revenue !== warm.revenue) {
      throw new Error(`Q6 runs disagree: rows ${cold.rows}/${warm.rows}/${full.rows}, revenue ${cold.revenue}/${warm.revenue}/${full.revenue}`);
    }
    emit({ name: 'storage.q6_scan_cold', value: Math.round(rowCount / (cold.ms / 1000)), unit: 'rows/s', ms: Math.round(cold.ms), revenue: cold.revenue, matched: cold.rows });
    emit({ name: 'storage.q6_scan', value: Math.round(rowCount / (warm.ms / 1000)), unit: 'rows/s', ms: Math.round(warm.ms), revenue: warm.revenue, matched: warm.rows, runs: 'best of 3', target: 60_000_000 });
    emit({ name: 'storage.q6_fullscan', value: Math.round(rowCount / (full.ms / 1000)), unit: 'rows/s', ms: Math.round(full.ms), revenue: full.revenue });
    emit({
      name: 'storage.scan_memory_ratio',
      value: Number((Math.max(cold.rssDelta, cold.abDelta) / scannedBytes).toFixed(2)),
      unit: 'x scanned bytes',
      scannedBytes,
      rssDeltaBytes: cold.rssDelta,
      arrayBuffersDeltaBytes: cold.abDelta,
      target: 2,
    });

    if (!args.includes('--no-duckdb')) await duckdbQ6(rowCount, warm.ms);

    // --- point lookups ---
    let seed = 12345;
    const sample: number[] = [];
    for (let i = 0; i < lookups; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const k = seed % rowCount;
      const t0 = performance.now();
      const row = await storage.lookup('default', 'lineitem', [BigInt(k)]);
      sample.push((performance.now() - t0) * 1000);
      if (row === undefined || row[0] !== BigInt(k)) throw new Error(`lookup of ${k} returned ${String(row?.[0])}`);
    }
    emit({ name: 'storage.pk_lookup_p50', value: Number(percentile(sample, 50).toFixed(1)), unit: 'us', lookups, target: 20 });
    emit({ name: 'storage.pk_lookup_p99', value: Number(percentile(sample, 99).toFixed(1)), unit: 'us', lookups });

    // --- small durable writes from many concurrent clients (group commit) ---
    await storage.createTable({ database: 'default', name: 'oltp', schema, partitionSchema: { hash: [], rangeColumns: [] } });
    const writers = 64;
    const perWriter = Math.max(1, Math.floor(arg(args, '--small-writes', 6400) / writers));
    const latencies: number[] = [];
    const tg = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          const t0 = performance.now();
          await storage.write('default', 'oltp', 'insert', [rowFor(w * perWriter + i)]);
          latencies.push((performance.now() - t0) * 1000);
        }
      }),
    );
    const gms = performance.now() - tg;
    emit({ name: 'storage.small_writes_concurrent', value: Math.round((writers * perWriter) / (gms / 1000)), unit: 'writes/s', writers, p50us: Math.round(percentile(latencies, 50)), p99us: Math.round(percentile(latencies, 99)) });
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Q6 over one chunk of decimal(15,2) words and Int32 dates: [sum(price * discount) unscaled, rows matched]. */
function q6Kernel(q: Uint32Array, p: Uint32Array, d: Uint32Array, s: Int32Array, n: number,
  qOff: number, pOff: number, dOff: number, sOff: number): [number, number] {
  let rev = 0;
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const sd = s[sOff + i] as number;
    if (sd < 8766 || sd >= 9131) continue;
    const dw = 4 * (dOff + i);
    const dv = (d[dw] as number) + ((d[dw + 1] as number) | 0) * 4294967296;
    if (dv < 5 || dv > 7) continue;
    const qw = 4 * (qOff + i);
    if ((q[qw] as number) + ((q[qw + 1] as number) | 0) * 4294967296 >= 2400) continue;
    const pw = 4 * (pOff + i);
    rev += ((p[pw] as number) + ((p[pw + 1] as number) | 0) * 4294967296) * dv;
    rows++;
  }
  return [rev, rows];
}

/** DuckDB, one thread, Q6 over N rows of the same shape (its own generated values). */
async function duckdbQ6(rowCount: number, saigaMs: number): Promise<void> {
  let duck: typeof import('@duckdb/node-api');
  try {
    duck = await import('@duckdb/node-api');
  } catch {
    console.log('duckdb not installed; skipping the peer figure');
    return;
  }
  const inst = await duck.DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await inst.connect();
  try {
    await conn.run(`CREATE TABLE lineitem AS SELECT i AS l_orderkey, (1 + (hash(i) % 50))::DECIMAL(15,2) AS l_quantity,
      (900 + (hash(i) % 100000)::DOUBLE / 10)::DECIMAL(15,2) AS l_extendedprice, ((hash(i) % 11)::DOUBLE / 100)::DECIMAL(15,2) AS l_discount,
      (DATE '1992-01-01' + (hash(i) % 2526)::INTEGER) AS l_shipdate FROM range(${rowCount}) t(i)`);
    const q = `SELECT sum(l_extendedprice * l_discount) FROM lineitem WHERE l_shipdate >= DATE '1994-01-01'
      AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24`;
    await conn.runAndReadAll(q);
    const t0 = performance.now();
    const r = await conn.runAndReadAll(q);
    const ms = performance.now() - t0;
    emit({ name: 'duckdb.q6_scan', value: Math.round(rowCount / (ms / 1000)), unit: 'rows/s', ms: Math.round(ms), threads: 1, saigaTimeOverDuckdb: Number((saigaMs / ms).toFixed(2)), revenue: String(r.getRows()[0]?.[0]) });
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
