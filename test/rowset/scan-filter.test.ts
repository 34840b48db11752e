import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { ColumnPredicate } from '../../src/common/scan-spec.js';
import type { Schema, Value } from '../../src/common/types.js';
import { readValue } from '../../src/rowset/column-data.js';
import { DiskRowSet, writeDiskRowSet, type RowHistory } from '../../src/rowset/disk-rowset.js';
import { bindPredicate, compileFilters } from '../../src/rowset/predicate-eval.js';
import type { ScanPlan, StoredColumn } from '../../src/rowset/scan-plan.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * DiskRowSet scans with predicates vs. a brute-force reference over random data: integers of
 * every width, dates, timestamps, int64 and DECIMAL(38) values on both sides of 2^53 (the
 * double kernels' exactness limit), DECIMAL(15,2), doubles, strings, NULLs, REDO updates and
 * deletes, several snapshots.
 */

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'saiga-scanf-')); dirs.push(d); return d; };

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'i8', type: 'int8', nullable: true },
    { name: 'i32', type: 'int32', nullable: true },
    { name: 'd', type: 'date', nullable: false },
    { name: 'big', type: 'int64', nullable: true },
    { name: 'dec', type: 'decimal', precision: 15, scale: 2, nullable: true },
    { name: 'wdec', type: 'decimal', precision: 38, scale: 4, nullable: true },
    { name: 'ts', type: 'timestamp', nullable: true },
    { name: 'dbl', type: 'double', nullable: true },
    { name: 's', type: 'string', nullable: true },
  ],
};
const columns: StoredColumn[] = schema.columns.map((c, i) => ({ ...c, id: i }));
const HT_MAX = (1n << 64n) - 1n;
const P53 = 2n ** 53n;

/** Candidate values per column (constants are drawn from these too, so ranges hit edges). */
function pools(wideBatch: boolean): Value[][] {
  const bigs: bigint[] = wideBatch
    ? [P53 - 1n, P53, P53 + 1n, -P53, -P53 + 1n, -(P53 + 1n), 2n ** 62n, -(2n ** 63n), 5n, -7n]
    : [P53 - 1n, -P53 + 1n, 0n, 5n, -7n, 12345678901n, -12345678901n, 3n];
  const wdecs: bigint[] = wideBatch
    ? [10n ** 30n, -(10n ** 30n), P53, P53 - 1n, -P53, 2n ** 64n + 3n, 0n, 17n, -17n]
    : [P53 - 1n, -(P53 - 1n), 0n, 17n, -17n, 4294967296n, 4294967295n, -4294967296n];
  return [
    [],
    [-128, -1, 0, 1, 7, 127],
    [-2147483648, -5, 0, 5, 100, 2147483647],
    [0, 8766, 9000, 9130, 9131, -1],
    bigs,
    [0n, 5n, 7n, 2400n, -2400n, 99999999999999n, -99999999999999n, 4294967296n],
    wdecs,
    [0, -1, 1_700_000_000_000_000, -1_000_000_000_000_000, 4_000_000_000_000_000, 4294967296],
    [0, -0.5, 1.5, 1e300, -1e-300, 42],
    ['', 'a', 'ab', 'b', 'zz', 'é', 'ü€'],
  ];
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

interface Fixture { drs: DiskRowSet; rows: Value[][]; redo: Map<number, { ts: bigint; row: Value[] | null }> }

function build(seed: number, rowCount: number, rowsPerBatch: number): Fixture {
  const r = rng(seed);
  const rows: Value[][] = [];
  for (let i = 0; i < rowCount; i++) {
    const batch = Math.floor(i / rowsPerBatch);
    // Some batches narrow (a single value per column: stats prove all-match), some wide.
    const narrow = batch % 3 === 1;
    const pl = pools(batch % 2 === 0);
    const row: Value[] = [BigInt(i)];
    for (let c = 1; c < columns.length; c++) {
      const col = columns[c] as StoredColumn;
      if (col.nullable && !narrow && r() < 0.15) row.push(null);
      else row.push(narrow ? (pl[c] as Value[])[0] as Value : pick(r, pl[c] as Value[]));
    }
    rows.push(row);
  }
  const histories: RowHistory[] = rows.map((row, i) => ({ key: encodeKey(schema, row), versions: [{ ts: BigInt(100 + i), row }] }));
  const path = join(tmp(), `rs-${seed}.drs`);
  writeDiskRowSet(path, columns, 1, histories, rowsPerBatch);
  const drs = DiskRowSet.open(path);
  const redo = new Map<number, { ts: bigint; row: Value[] | null }>();
  for (let i = 0; i < rowCount; i++) {
    if (r() >= 0.1) continue;
    const ts = BigInt(100_000 + i);
    if (r() < 0.3) {
      drs.addDelta(i, { ts, kind: 'delete', cells: [] }, 'redo');
      redo.set(i, { ts, row: null });
    } else {
      const c = 1 + Math.floor(r() * (columns.length - 1));
      const col = columns[c] as StoredColumn;
      const v = col.nullable && r() < 0.2 ? null : pick(r, (pools(true)[c] as Value[]));
      drs.addDelta(i, { ts, kind: 'update', cells: [[col.id, v]] }, 'redo');
      const row = (rows[i] as Value[]).slice();
      row[c] = v;
      redo.set(i, { ts, row });
    }
  }
  return { drs, rows, redo };
}

/** Reference order of two non-null values of one column (independent of src/). */
function cmp(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a as bigint);
    const y = BigInt(b as bigint);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function refMatches(p: ColumnPredicate, v: Value): boolean {
  switch (p.kind) {
    case 'isNull': return v === null;
    case 'isNotNull': return v !== null;
    case 'in': return v !== null && p.values.some((c) => c !== null && cmp(v, c) === 0);
    case 'compare': {
      if (v === null || p.value === null) return false;
      const c = cmp(v, p.value);
      switch (p.op) {
        case '=': return c === 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        case '>=': return c >= 0;
      }
    }
  }
  return false;
}

function randomPredicate(r: () => number, on?: number): ColumnPredicate {
  const c = on ?? 1 + Math.floor(r() * (columns.length - 1));
  const column = (columns[c] as StoredColumn).name;
  const pool = pools(r() < 0.5)[c] as Value[];
  const x = r();
  if (x < 0.08) return { kind: 'isNull', column };
  if (x < 0.16) return { kind: 'isNotNull', column };
  if (x < 0.3) return { kind: 'in', column, values: [pick(r, pool), pick(r, pool)] };
  return { kind: 'compare', column, op: pick(r, ['=', '<', '<=', '>', '>='] as const), value: pick(r, pool) };
}

function runScan(f: Fixture, preds: ColumnPredicate[], snapshot: bigint, wantKeys: boolean): { ids: bigint[]; rows: Value[][] } {
  const bound = preds.map((p) => {
    const ci = columns.findIndex((c) => c.name === p.column);
    return bindPredicate(p, columns[ci] as StoredColumn, ci);
  });
  const plan: ScanPlan = { columns, keyColumnCount: 1, output: columns.map((_, i) => i), predicates: bound, snapshot, wantKeys, batchRowCount: 1024 };
  const ids: bigint[] = [];
  const rows: Value[][] = [];
  for (const chunk of f.drs.scan(plan)) {
    for (let k = 0; k < chunk.length; k++) {
      const row = columns.map((c, ci) => readValue(c.type, chunk.columns[ci]!, k));
      rows.push(row);
      ids.push(row[0] as bigint);
      if (wantKeys) expect(Buffer.from(chunk.keys![k]!).equals(Buffer.from(encodeKey(schema, [row[0] as bigint])))).toBe(true);
    }
  }
  return { ids, rows };
}

function reference(f: Fixture, preds: ColumnPredicate[], snapshot: bigint): { ids: bigint[]; rows: Value[][] } {
  const ids: bigint[] = [];
  const rows: Value[][] = [];
  f.rows.forEach((base, i) => {
    if (BigInt(100 + i) > snapshot) return;
    let row: Value[] | null = base;
    const d = f.redo.get(i);
    if (d !== undefined && d.ts <= snapshot) row = d.row;
    if (row === null) return;
    for (const p of preds) if (!refMatches(p, row[columns.findIndex((c) => c.name === p.column)] as Value)) return;
    ids.push(row[0] as bigint);
    rows.push(row);
  });
  return { ids, rows };
}

describe('DiskRowSet scan filters', () => {
  it('folds compare predicates on one integer column into one range', () => {
    const dec = columns[5] as StoredColumn;
    const fs = compileFilters([
      bindPredicate({ kind: 'compare', column: 'dec', op: '>=', value: 5n }, dec, 5),
      bindPredicate({ kind: 'compare', column: 'dec', op: '<', value: 8n }, dec, 5),
      bindPredicate({ kind: 'compare', column: 'dec', op: '>', value: 3n }, dec, 5),
    ]);
    expect(fs.length).toBe(1);
    expect(fs[0]!.range?.loBig).toBe(5n);
    expect(fs[0]!.range?.hiBig).toBe(7n);
    expect(fs[0]!.never).toBe(false);
    const empty = compileFilters([
      bindPredicate({ kind: 'compare', column: 'dec', op: '>', value: 7n }, dec, 5),
      bindPredicate({ kind: 'compare', column: 'dec', op: '<', value: 8n }, dec, 5),
    ]);
    expect(empty[0]!.never).toBe(true);
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`matches a brute-force reference on random data, predicates and snapshots (seed ${seed})`, () => {
      const f = build(seed, 1200, 97);
      const r = rng(seed * 7919);
      try {
        for (let q = 0; q < 150; q++) {
          const n = 1 + Math.floor(r() * 3);
          const preds: ColumnPredicate[] = [];
          for (let i = 0; i < n; i++) preds.push(randomPredicate(r));
          // Sometimes a second bound on the same column (a range).
          if (r() < 0.4 && preds[0]!.kind === 'compare') preds.push(randomPredicate(r, columns.findIndex((c) => c.name === preds[0]!.column)));
          const snapshot = pick(r, [HT_MAX, 700n, 100_600n, 50_000n]);
          const got = runScan(f, preds, snapshot, q % 5 === 0);
          const want = reference(f, preds, snapshot);
          const ctx = `seed ${seed}, query ${q}: ${JSON.stringify(preds, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} at ${snapshot}`;
          expect(got.ids, ctx).toEqual(want.ids);
          expect(got.rows, ctx).toEqual(want.rows);
        }
      } finally {
        f.drs.close();
      }
    });
  }

  it('serves fully matching batches without deltas zero-copy', () => {
    const f = build(9, 400, 100);
    try {
      // Batch 1 (rows 100..199) is narrow: every dec value is 0 there, and no batch holds a delta before ts 100000.
      const dec = columns[5] as StoredColumn;
      const plan: ScanPlan = {
        columns, keyColumnCount: 1, output: [5], snapshot: 1000n, wantKeys: false, batchRowCount: 1024,
        predicates: [bindPredicate({ kind: 'compare', column: 'dec', op: '=', value: 0n }, dec, 5)],
      };
      let shared = 0;
      let total = 0;
      for (const chunk of f.drs.scan(plan)) {
        total += chunk.length;
        if (chunk.length === 100 && chunk.columns[0]!.values.buffer instanceof SharedArrayBuffer) shared++;
      }
      expect(shared).toBeGreaterThanOrEqual(1);
      expect(total).toBe(reference(f, [{ kind: 'compare', column: 'dec', op: '=', value: 0n }], 1000n).ids.length);
    } finally {
      f.drs.close();
    }
  });
});
