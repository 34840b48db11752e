import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { htFromPhysical } from '../src/common/hybrid-time.js';
import type { ColumnPredicate } from '../src/common/scan-spec.js';
import type { Schema, Value } from '../src/common/types.js';
import { openTablet } from '../src/tablet/index.js';
import type { WriteOp } from '../src/tablet/tablet-api.js';
import { emit, machine, percentile } from './report.js';
import { mulberry32 as rng } from './random.js';

/**
 * One tablet, no log: lineitem-like rows inserted in 10k-row batches through applyWrite
 * (µs/row, rows/s; row building excluded), then flush, a warm Q6-style scan (rows/s) and
 * point lookups (p50/p99).
 *
 *   npm run bench -- tablet [--rows N] [--batch N] [--lookups N]
 */

const schema: Schema = {
  keyColumnCount: 2,
  columns: [
    { name: 'l_orderkey', type: 'int64', nullable: false },
    { name: 'l_linenumber', type: 'int32', nullable: false },
    { name: 'l_partkey', type: 'int32', nullable: false },
    { name: 'l_suppkey', type: 'int32', nullable: false },
    { name: 'l_quantity', type: 'double', nullable: false },
    { name: 'l_extendedprice', type: 'decimal', nullable: false, precision: 15, scale: 2 },
    { name: 'l_discount', type: 'decimal', nullable: false, precision: 15, scale: 2 },
    { name: 'l_tax', type: 'decimal', nullable: false, precision: 15, scale: 2 },
    { name: 'l_returnflag', type: 'string', nullable: false },
    { name: 'l_linestatus', type: 'string', nullable: false },
    { name: 'l_shipdate', type: 'date', nullable: false },
    { name: 'l_commitdate', type: 'date', nullable: false },
    { name: 'l_receiptdate', type: 'date', nullable: false },
    { name: 'l_shipinstruct', type: 'string', nullable: false },
    { name: 'l_shipmode', type: 'string', nullable: false },
    { name: 'l_comment', type: 'string', nullable: true },
  ],
};

function arg(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} expects a positive number, got ${String(args[i + 1])}`);
  return v;
}

const INSTRUCT = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'];
const MODES = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];
const WORDS = ['furiously', 'quickly', 'carefully', 'blithely', 'ironic', 'final', 'regular', 'pending', 'deposits', 'requests', 'accounts', 'packages'];
const DAY_1992 = 8035; // 1992-01-01
const DAY_1994 = 8766;
const DAY_1995 = 9131;

/** Generates lineitem rows in key order: order keys 1.. (sparse like dbgen), 1..7 lines each. */
class LineitemGen {
  private order = 0;
  private line = 0;
  private lines = 0;
  keys: Array<[bigint, number]> = [];
  constructor(private readonly rand: () => number) {}

  next(): Value[] {
    const r = this.rand;
    if (this.line >= this.lines) {
      this.order++;
      this.line = 0;
      this.lines = 1 + Math.floor(r() * 7);
    }
    this.line++;
    const orderkey = BigInt((this.order >> 3) * 32 + (this.order & 7) + 1);
    if (this.keys.length < 100_000 || r() < 0.01) this.keys.push([orderkey, this.line]);
    const qty = 1 + Math.floor(r() * 50);
    const price = BigInt(Math.round(qty * (900 + r() * 1100) * 100));
    const ship = DAY_1992 + Math.floor(r() * 2526);
    const comment = `${WORDS[Math.floor(r() * 12)] as string} ${WORDS[Math.floor(r() * 12)] as string} ${WORDS[Math.floor(r() * 12)] as string}`;
    return [
      orderkey, this.line, 1 + Math.floor(r() * 200_000), 1 + Math.floor(r() * 10_000), qty, price,
      BigInt(Math.floor(r() * 11)), BigInt(Math.floor(r() * 9)),
      r() < 0.5 ? 'N' : r() < 0.5 ? 'R' : 'A', ship > DAY_1995 + 170 ? 'O' : 'F',
      ship, ship + Math.floor(r() * 60) - 30, ship + 1 + Math.floor(r() * 30),
      INSTRUCT[Math.floor(r() * 4)] as string, MODES[Math.floor(r() * 7)] as string, comment,
    ];
  }
}

export async function main(args: string[]): Promise<void> {
  const rowCount = arg(args, '--rows', 2_000_000);
  const batchRows = arg(args, '--batch', 10_000);
  const lookupCount = arg(args, '--lookups', 20_000);
  const dir = mkdtempSync(join(tmpdir(), 'saiga-bench-tablet-'));
  const params = { rows: rowCount, batchRows, machine: machine() };
  // One flush at the end (the MemRowSet holds everything), as a bulk load with a big MemRowSet would.
  const tablet = openTablet({ dir, tabletId: 'bench', schema, limits: { memRowSetFlushBytes: 64 * 1024 ** 3 } });
  try {
    const gen = new LineitemGen(rng(42));
    let applyMs = 0;
    let applyCpuUs = 0;
    let opIndex = 0;
    let physical = 1_700_000_000_000_000;
    for (let done = 0; done < rowCount; done += batchRows) {
      const n = Math.min(batchRows, rowCount - done);
      const ops: WriteOp[] = new Array<WriteOp>(n);
      for (let i = 0; i < n; i++) ops[i] = { kind: 'insert', row: gen.next() };
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const res = tablet.applyWrite({ term: 1, index: ++opIndex }, htFromPhysical(physical++), ops);
      const c1 = process.cpuUsage(c0);
      applyMs += performance.now() - t0;
      applyCpuUs += c1.user + c1.system;
      if (res.rowErrors.length > 0 || res.appliedCount !== n) throw new Error(`insert batch ${opIndex}: ${res.appliedCount}/${n} applied, first error ${res.rowErrors[0]?.message ?? ''}`);
    }
    // CPU time (all threads: GC included) is the steadier figure on a shared machine.
    emit({ name: 'tablet.insert.usPerRow', value: (applyMs * 1000) / rowCount, unit: 'us/row', ...params, cpuUsPerRow: applyCpuUs / rowCount });
    emit({ name: 'tablet.insert.rowsPerSec', value: Math.round(rowCount / (applyMs / 1000)), unit: 'rows/s', ...params });

    const f0 = performance.now();
    const fc0 = process.cpuUsage();
    tablet.flush();
    const fc1 = process.cpuUsage(fc0);
    const flushMs = performance.now() - f0;
    emit({ name: 'tablet.flush.ms', value: flushMs, unit: 'ms', ...params, cpuMs: (fc1.user + fc1.system) / 1000, rowsPerSec: Math.round(rowCount / (flushMs / 1000)) });

    // Q6: sum(l_extendedprice * l_discount) where shipdate in 1994, discount in [0.05, 0.07], quantity < 24.
    const q6: ColumnPredicate[] = [
      { kind: 'compare', column: 'l_shipdate', op: '>=', value: DAY_1994 },
      { kind: 'compare', column: 'l_shipdate', op: '<', value: DAY_1994 + 365 },
      { kind: 'compare', column: 'l_discount', op: '>=', value: 5n },
      { kind: 'compare', column: 'l_discount', op: '<=', value: 7n },
      { kind: 'compare', column: 'l_quantity', op: '<', value: 24 },
    ];
    const runQ6 = (): { revenue: number; matched: number } => {
      let revenue = 0;
      let matched = 0;
      for (const b of tablet.scan({ projection: ['l_extendedprice', 'l_discount'], predicates: q6 }) as Iterable<RecordBatch>) {
        const price = b.data.children[0]?.values as Uint32Array;
        const disc = b.data.children[1]?.values as Uint32Array;
        // DECIMAL(15,2) fits 53 bits: the unscaled value is words 0 and 1 (signed hi word).
        for (let i = 0; i < b.numRows; i++) {
          const p = (price[4 * i + 1] as number | 0) * 4294967296 + (price[4 * i] as number);
          const d = (disc[4 * i + 1] as number | 0) * 4294967296 + (disc[4 * i] as number);
          revenue += p * d;
        }
        matched += b.numRows;
      }
      return { revenue: revenue / 10_000, matched };
    };
    runQ6(); // warm: blocks read and decoded into the cache
    const s0 = performance.now();
    const reps = 3;
    let q: { revenue: number; matched: number } = { revenue: 0, matched: 0 };
    for (let r = 0; r < reps; r++) q = runQ6();
    const scanMs = (performance.now() - s0) / reps;
    emit({ name: 'tablet.scan.q6.rowsPerSec', value: Math.round(rowCount / (scanMs / 1000)), unit: 'rows/s', ...params, ms: scanMs, matched: q.matched, revenue: q.revenue });

    const keys = gen.keys;
    const lr = rng(7);
    const lat: number[] = [];
    for (let i = 0; i < lookupCount; i++) {
      const k = keys[Math.floor(lr() * keys.length)] as [bigint, number];
      const t0 = performance.now();
      const row = tablet.lookup(k, htFromPhysical(physical));
      lat.push((performance.now() - t0) * 1000);
      if (row === undefined) throw new Error(`lookup of ${k[0]},${k[1]} found nothing`);
    }
    emit({ name: 'tablet.lookup.p50', value: percentile(lat, 50), unit: 'us', ...params });
    emit({ name: 'tablet.lookup.p99', value: percentile(lat, 99), unit: 'us', ...params });
  } finally {
    tablet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
