import { describe, expect, it } from 'vitest';
import { HybridClock, LOGICAL_BITS, type HybridTime, type PhysicalClock } from '../../src/common/hybrid-time.js';
import type { PartitionSchema, RangeBounds } from '../../src/common/partition.js';
import { bucketCombinations, PartitionRouter } from '../../src/common/partitioning.js';
import type { TabletInfo } from '../../src/common/storage-api.js';
import type { Row, Schema } from '../../src/common/types.js';
import { mulberry32 } from '../../bench/random.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../src/master/index.js';

// The single-row INSERT path's lookups (hybrid clock, partition routing) against plain models.

/** The clock as it was written before (bigint arithmetic throughout): the model. */
class ModelClock {
  private last: HybridTime = 0n;
  constructor(private readonly physical: PhysicalClock) {}
  now(): HybridTime {
    const c = BigInt(Math.floor(this.physical.nowMicros())) << LOGICAL_BITS;
    this.last = c > this.last ? c : this.last + 1n;
    return this.last;
  }
  peek(): HybridTime {
    const c = BigInt(Math.floor(this.physical.nowMicros())) << LOGICAL_BITS;
    return c > this.last ? c : this.last;
  }
  update(o: HybridTime): void {
    if (o > this.last) this.last = o;
  }
}

describe('HybridClock', () => {
  it('matches the bigint model under stalls, backward steps, logical overflow and updates', () => {
    const seed = 20261121;
    const r = mulberry32(seed);
    let micros = 1_763_000_000_000_000;
    const physical: PhysicalClock = { nowMicros: () => micros };
    const clock = new HybridClock(physical);
    const model = new ModelClock(physical);
    let last = 0n;
    let bursts = 0;
    for (let i = 0; i < 5_000; i++) {
      const x = r();
      if (x < 0.3) micros += Math.floor(r() * 5); // stalls often: the logical part counts
      else if (x < 0.35) micros -= Math.floor(r() * 50); // a clock step back
      else if (x < 0.36) micros += r() * 3; // fractional micros are floored
      if (x > 0.97) {
        // An observed timestamp from elsewhere: ahead, behind, or with a full logical part.
        const ahead = BigInt(Math.floor(micros + (r() - 0.3) * 100)) << LOGICAL_BITS;
        const o = x > 0.995 ? ahead | 4095n : ahead | BigInt(Math.floor(r() * 4096));
        clock.update(o);
        model.update(o);
      }
      if (x > 0.965 && x <= 0.97) {
        // 5000 timestamps within one microsecond: the logical part overflows into the physical one.
        let differ = 0;
        for (let k = 0; k < 5000; k++) if (clock.now() !== model.now()) differ++;
        expect(differ, `seed ${seed} step ${i}`).toBe(0);
        bursts++;
      }
      expect(clock.peek(), `seed ${seed} step ${i}`).toBe(model.peek());
      const t = clock.now();
      expect(t, `seed ${seed} step ${i}`).toBe(model.now());
      expect(t > last).toBe(true);
      last = t;
    }
    expect(bursts).toBeGreaterThan(5);
  });
});

describe('PartitionRouter.route', () => {
  const schema: Schema = {
    keyColumnCount: 3,
    columns: [
      { name: 'a', type: 'int64', nullable: false },
      { name: 'b', type: 'string', nullable: false },
      { name: 'c', type: 'int32', nullable: false },
      { name: 'v', type: 'double', nullable: true },
    ],
  };
  const ps: PartitionSchema = { hash: [{ columns: ['a'], buckets: 3, seed: 7 }, { columns: ['b', 'c'], buckets: 2, seed: 0 }], rangeColumns: ['c'] };
  const ranges: RangeBounds[] = [{ upper: [-5] }, { lower: [-5], upper: [0] }, { lower: [10], upper: [20] }, { lower: [20] }];

  it('finds the tablet whose buckets and range hold the row, or says why none does', () => {
    const seed = 77;
    const r = mulberry32(seed);
    const tablets: TabletInfo[] = [];
    let n = 0;
    // One bucket combination of the [10, 20) range has no tablet.
    for (const range of ranges) for (const hashBuckets of bucketCombinations(ps)) if (!(range.lower?.[0] === 10 && hashBuckets[0] === 1 && hashBuckets[1] === 0)) tablets.push({ tabletId: `t${n++}`, hashBuckets, range });
    const router = new PartitionRouter(schema, ps, tablets);
    const counts = { ok: 0, noRange: 0, noTablet: 0, invalid: 0 };
    for (let i = 0; i < 3000; i++) {
      const c = Math.floor(r() * 40) - 10;
      const a = r() < 0.5 ? BigInt(Math.floor(r() * 1e6)) : Math.floor(r() * 1e6);
      const row: Row = [r() < 0.02 ? 'x' : a, ['', 'k', 'é', 'zz'][Math.floor(r() * 4)] as string, c, r()];
      const got = router.route(row);
      // Model: buckets from hashBucket, the range by comparing c, the tablet by a linear search.
      const b0 = router.hashBucket(0, row);
      const b1 = router.hashBucket(1, row);
      if (b0 === undefined || b1 === undefined) {
        expect(got, `seed ${seed} row ${i}`).toMatchObject({ ok: false, code: 'InvalidArgument' });
        counts.invalid++;
        continue;
      }
      const range = ranges.find((x) => (x.lower === undefined || c >= (x.lower[0] as number)) && (x.upper === undefined || c < (x.upper[0] as number)));
      if (range === undefined) {
        expect(got, `seed ${seed} row ${i}`).toEqual({ ok: false, code: 'NotFound', message: 'no range partition covers the row' });
        counts.noRange++;
        continue;
      }
      const t = tablets.find((x) => x.range === range && x.hashBuckets[0] === b0 && x.hashBuckets[1] === b1);
      if (t === undefined) {
        expect(got, `seed ${seed} row ${i}`).toEqual({ ok: false, code: 'NotFound', message: `no tablet for hash buckets [${b0}, ${b1}] in the row's range partition` });
        counts.noTablet++;
        continue;
      }
      expect(got, `seed ${seed} row ${i}`).toEqual({ ok: true, tabletId: t.tabletId });
      counts.ok++;
    }
    // Every outcome was exercised.
    expect(Math.min(counts.ok, counts.noRange, counts.noTablet, counts.invalid)).toBeGreaterThan(0);
  });

  it('routes with hash levels only (one unbounded range)', () => {
    const ps1: PartitionSchema = { hash: [{ columns: ['a'], buckets: 4, seed: 1 }], rangeColumns: [] };
    const tablets = bucketCombinations(ps1).map((hashBuckets, i) => ({ tabletId: `h${i}`, hashBuckets, range: {} }));
    const router = new PartitionRouter(schema, ps1, tablets);
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const row: Row = [BigInt(k), 's', 1, null];
      const got = router.route(row);
      const b = router.hashBucket(0, row);
      expect(got).toEqual({ ok: true, tabletId: `h${b}` });
      // A number and a bigint of the same value route alike.
      expect(router.route([k, 's', 1, null])).toEqual(got);
      seen.add(`h${b}`);
    }
    expect(seen.size).toBe(4);
  });
});

describe('Catalog lookups by name', () => {
  it('follow creates, renames and drops in any letter case', () => {
    const dir = mkdtempSync(join(tmpdir(), 'insert3-cat-'));
    try {
      const c = Catalog.open(dir);
      c.createDatabase('Sales');
      const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }] };
      const make = (database: string, name: string) => {
        const t = c.planCreateTable({ database, name, schema, partitionSchema: { hash: [{ columns: ['k'], buckets: 2, seed: 0 }], rangeColumns: [] } });
        c.addTable(t);
        return t;
      };
      const a = make('sales', 'Orders');
      const b = make('default', 'orders');
      for (const [db, name] of [['Sales', 'Orders'], ['SALES', 'orders'], ['sales', 'ORDERS']] as const) expect(c.getTable(db, name)).toBe(a);
      expect(c.findTable('default', 'Orders')).toBe(b);
      expect(() => make('SALES', 'orders')).toThrow(/already exists/);
      const renamed = c.planAlterStep(a, { kind: 'renameTable', newName: 'Archive' });
      c.replaceTable(renamed);
      expect(c.findTable('Sales', 'Orders')).toBeUndefined();
      expect(c.findTable('sales', 'archive')).toBe(renamed);
      c.removeTable(renamed.tableId);
      expect(c.findTable('Sales', 'Archive')).toBeUndefined();
      const again = make('Sales', 'ORDERS');
      expect(c.getTable('sales', 'orders')).toBe(again);
      c.dropDatabase('SALES');
      expect(() => c.findTable('Sales', 'ORDERS')).toThrow(/unknown database/);
      expect(c.getTable('DEFAULT', 'ORDERS')).toBe(b);
      // A reopened catalog finds the same tables.
      expect(Catalog.open(dir).getTable('Default', 'Orders')).toEqual(b);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
