/**
 * Kernel micro-benchmark: TPC-H Q6 shape over typed-array columns, one core, no storage.
 *   SELECT sum(l_extendedprice * l_discount) FROM lineitem
 *   WHERE l_shipdate >= '1994-01-01' AND l_shipdate < '1995-01-01'
 *     AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24
 * Columns: date (DateDay), decimal(15,2) x3, in batches of 64K rows.
 * Usage: npm run bench -- kernels [rows=6000000] [repeats=5]
 */
import { emit, machine } from './report.js';
import {
  arithmetic, filterBetween, filterCompare, filterRange, HashAggregator, makeColumn, scalar, columnValue, decimalSetDouble, formatDecimal,
} from '../src/columnar/index.js';
import type { Column } from '../src/columnar/index.js';
import { mulberry32 as rng } from './random.js';

const BATCH = 64 * 1024;

interface Batch { shipdate: Column; discount: Column; quantity: Column; price: Column }

function decimalColumn(n: number, gen: () => number): Column {
  const vals = new Uint32Array(n * 4);
  const w = new Int32Array(vals.buffer);
  for (let i = 0; i < n; i++) decimalSetDouble(w, i, gen());
  return makeColumn('decimal', n, vals, null, 15, 2);
}

function generate(rows: number): Batch[] {
  const r = rng(6);
  const out: Batch[] = [];
  const d0 = 8035; // 1992-01-01
  for (let at = 0; at < rows; at += BATCH) {
    const n = Math.min(BATCH, rows - at);
    const ship = new Int32Array(n);
    for (let i = 0; i < n; i++) ship[i] = d0 + Math.floor(r() * 2526); // through 1998-12-01
    out.push({
      shipdate: makeColumn('date', n, ship, null),
      discount: decimalColumn(n, () => Math.floor(r() * 11)), // 0.00 .. 0.10
      quantity: decimalColumn(n, () => (1 + Math.floor(r() * 50)) * 100), // 1 .. 50
      price: decimalColumn(n, () => 90000 + Math.floor(r() * 10400000)), // 900.00 .. 104,899.99
    });
  }
  return out;
}

function q6(batches: readonly Batch[]): { sum: string; selected: number } {
  const lo = scalar('date', 8766); // 1994-01-01
  const hi = scalar('date', 9131); // 1995-01-01
  const dLo = scalar('decimal', 5n, 15, 2), dHi = scalar('decimal', 7n, 15, 2);
  const q = scalar('decimal', 24n, 15, 0);
  const agg = new HashAggregator([], [{ kind: 'sum', input: { type: 'decimal', precision: 30, scale: 4 } }]);
  let selected = 0;
  for (const b of batches) {
    let sel = filterRange(b.shipdate, lo, true, hi, false, null);
    sel = filterBetween(b.discount, dLo, dHi, sel);
    sel = filterCompare(b.quantity, '<', q, sel);
    selected += sel.length;
    const revenue = arithmetic('*', b.price, b.discount, sel);
    agg.add([], [{ ...revenue, precision: 30 }], null);
  }
  const res = agg.finish().aggregates[0] as Column;
  const v = columnValue(res, 0);
  return { sum: v === null ? 'NULL' : formatDecimal(v as bigint, 4), selected };
}

/** Reference: the same query as one plain loop over the raw words (what a hand-fused kernel would do). */
function q6Reference(batches: readonly Batch[]): string {
  let sum = 0n;
  for (const b of batches) {
    const ship = b.shipdate.values as Int32Array;
    const disc = new Int32Array((b.discount.values as Uint32Array).buffer);
    const qty = new Int32Array((b.quantity.values as Uint32Array).buffer);
    const price = new Int32Array((b.price.values as Uint32Array).buffer);
    let part = 0;
    for (let i = 0; i < b.shipdate.length; i++) {
      const s = ship[i] as number;
      if (s < 8766 || s >= 9131) continue;
      const d = disc[i << 2] as number;
      if (d < 5 || d > 7 || (qty[i << 2] as number) >= 2400) continue;
      part += (price[i << 2] as number) * d;
    }
    sum += BigInt(part);
  }
  return formatDecimal(sum, 4);
}

export async function main(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 6_000_000);
  const repeats = Number(args[1] ?? 5);
  const t0 = performance.now();
  const batches = generate(rows);
  console.log(`generated ${rows} rows in ${(performance.now() - t0).toFixed(0)} ms`, machine());
  const want = q6Reference(batches);
  let best = Infinity;
  let result = { sum: '', selected: 0 };
  for (let k = 0; k < repeats; k++) {
    const s = performance.now();
    result = q6(batches);
    best = Math.min(best, performance.now() - s);
  }
  if (result.sum !== want) throw new Error(`Q6 kernels gave ${result.sum}, reference ${want}`);
  let bestRef = Infinity;
  for (let k = 0; k < repeats; k++) { const s = performance.now(); q6Reference(batches); bestRef = Math.min(bestRef, performance.now() - s); }
  emit({ name: 'kernels.q6.rows_per_s', value: Math.round(rows / (best / 1000)), unit: 'rows/s', rows, ms: Math.round(best), selected: result.selected, sum: result.sum });
  emit({ name: 'kernels.q6.fused_loop_rows_per_s', value: Math.round(rows / (bestRef / 1000)), unit: 'rows/s', rows, ms: Math.round(bestRef), note: 'hand-fused single loop, for comparison' });
}
