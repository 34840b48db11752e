import { describe, expect, it } from 'vitest';
import type { PartitionSchema, RangeBounds } from '../../src/common/partition.js';
import {
  bucketCombinations,
  murmur3_32,
  PartitionRouter,
  rangesOverlap,
} from '../../src/common/partitioning.js';
import type { ColumnPredicate } from '../../src/common/scan-spec.js';
import type { TabletInfo } from '../../src/common/storage-api.js';
import type { Row, Schema, Value } from '../../src/common/types.js';
import { mulberry32 as rng } from '../../bench/random.js';

const schema: Schema = {
  keyColumnCount: 3,
  columns: [
    { name: 'a', type: 'int32', nullable: false },
    { name: 'b', type: 'string', nullable: false },
    { name: 'c', type: 'int64', nullable: false },
    { name: 'v', type: 'double', nullable: true },
  ],
};

function tabletsOf(ps: PartitionSchema, ranges: RangeBounds[]): TabletInfo[] {
  const out: TabletInfo[] = [];
  let n = 0;
  for (const range of ranges) for (const hashBuckets of bucketCombinations(ps)) out.push({ tabletId: `t${n++}`, hashBuckets, range });
  return out;
}

function cmp(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  const x = typeof a === 'bigint' ? Number(a) : (a as number);
  const y = typeof b === 'bigint' ? Number(b) : (b as number);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(row: Row, preds: readonly ColumnPredicate[]): boolean {
  for (const p of preds) {
    const v = row[schema.columns.findIndex((c) => c.name === p.column)] as Value;
    if (p.kind === 'compare') {
      if (p.value === null || typeof p.value !== typeof v && !(typeof v === 'bigint' && typeof p.value === 'number')) return false;
      const c = cmp(v, p.value);
      const ok = p.op === '=' ? c === 0 : p.op === '<' ? c < 0 : p.op === '<=' ? c <= 0 : p.op === '>' ? c > 0 : c >= 0;
      if (!ok) return false;
    } else if (p.kind === 'in') {
      if (!p.values.some((x) => x !== null && cmp(v, x) === 0)) return false;
    } else if (p.kind === 'isNull') return false;
  }
  return true;
}

const STRINGS = ['', 'a', 'ab', 'b', 'zz', 'é', '\u{1F600}', 'ÿ'];

function randomRow(r: () => number): Row {
  return [Math.floor(r() * 20) - 10, STRINGS[Math.floor(r() * STRINGS.length)] as string, BigInt(Math.floor(r() * 500) - 100), r()];
}

function randomPredicate(r: () => number, row: Row): ColumnPredicate {
  const col = (['a', 'b', 'c'] as const)[Math.floor(r() * 3)] as 'a' | 'b' | 'c';
  const pick = (): Value => {
    const near = randomRow(r);
    const base = r() < 0.5 ? row : near;
    const v = base[col === 'a' ? 0 : col === 'b' ? 1 : 2] as Value;
    if (col !== 'b' && r() < 0.2) return Number(v) + 0.5;
    if (col === 'c' && r() < 0.5) return Number(v);
    return v;
  };
  const k = r();
  if (k < 0.6) {
    const op = (['=', '<', '<=', '>', '>='] as const)[Math.floor(r() * 5)] as '=';
    return { kind: 'compare', column: col, op, value: pick() };
  }
  if (k < 0.95) return { kind: 'in', column: col, values: [pick(), pick(), pick()] };
  return { kind: 'isNotNull', column: col };
}

describe('murmur3_32', () => {
  it('matches the reference vectors', () => {
    expect(murmur3_32(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3_32(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3_32(Buffer.from('hello'), 0)).toBe(0x248bfa47);
    expect(murmur3_32(Buffer.from('The quick brown fox jumps over the lazy dog'), 0)).toBe(0x2e4ff723);
  });
});

describe('partition router', () => {
  const configs: { name: string; ps: PartitionSchema; ranges: RangeBounds[] }[] = [
    {
      name: 'hash(a) x hash(b) x range(c) with a gap',
      ps: { hash: [{ columns: ['a'], buckets: 4, seed: 7 }, { columns: ['b'], buckets: 3, seed: 0 }], rangeColumns: ['c'] },
      ranges: [{ upper: [0n] }, { lower: [0n], upper: [100n] }, { lower: [100n], upper: [200n] }, { lower: [300n] }],
    },
    {
      name: 'hash(c, b) x range(a, b)',
      ps: { hash: [{ columns: ['c', 'b'], buckets: 5, seed: 3 }], rangeColumns: ['a', 'b'] },
      ranges: [{ upper: [-3, 'b'] }, { lower: [-3, 'b'], upper: [2, ''] }, { lower: [2, ''], upper: [2, 'zz'] }, { lower: [5, 'a'] }],
    },
    { name: 'range only', ps: { hash: [], rangeColumns: ['b'] }, ranges: [{ upper: ['b'] }, { lower: ['b'], upper: ['é'] }, { lower: ['é'] }] },
    { name: 'hash only', ps: { hash: [{ columns: ['a', 'b', 'c'], buckets: 8, seed: 11 }], rangeColumns: [] }, ranges: [{}] },
  ];

  for (const cfg of configs) {
    it(`routes consistently and never prunes a matching tablet: ${cfg.name}`, () => {
      const seed = 20240611;
      const r = rng(seed);
      const tablets = tabletsOf(cfg.ps, cfg.ranges);
      const router = new PartitionRouter(schema, cfg.ps, tablets);
      let pruned = 0;
      let routed = 0;
      for (let iter = 0; iter < 2000; iter++) {
        const row = randomRow(r);
        const res = router.route(row);
        // The same row with int64 as a number routes identically.
        const again = router.route([row[0], row[1], Number(row[2]), null]);
        expect(again, `seed ${seed} iter ${iter}`).toEqual(res);
        if (!res.ok) {
          expect(res.code).toBe('NotFound');
          continue;
        }
        routed++;
        expect(router.routeKey([row[0] as Value, row[1] as Value, row[2] as Value])).toEqual(res);
        const preds: ColumnPredicate[] = [];
        const n = 1 + Math.floor(r() * 3);
        for (let i = 0; i < n; i++) preds.push(randomPredicate(r, row));
        const candidates = router.prune(preds);
        if (candidates.length < tablets.length) pruned++;
        if (matches(row, preds)) {
          expect(candidates.map((t) => t.tabletId), `seed ${seed} iter ${iter} preds ${JSON.stringify(preds, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`).toContain(res.tabletId);
        }
      }
      expect(routed).toBeGreaterThan(600);
      // Pruning does something.
      expect(pruned).toBeGreaterThan(cfg.name === 'hash only' ? 0 : 100);
    });
  }

  it('pins a point lookup to one tablet', () => {
    const cfg = configs[0] as (typeof configs)[number];
    const tablets = tabletsOf(cfg.ps, cfg.ranges);
    const router = new PartitionRouter(schema, cfg.ps, tablets);
    const row: Row = [3, 'ab', 150n, null];
    const res = router.route(row);
    expect(res.ok).toBe(true);
    const got = router.prune([
      { kind: 'compare', column: 'a', op: '=', value: 3 },
      { kind: 'compare', column: 'b', op: '=', value: 'ab' },
      { kind: 'compare', column: 'c', op: '=', value: 150n },
    ]);
    expect(got.map((t) => t.tabletId)).toEqual([res.ok ? res.tabletId : '']);
    expect(router.prune([{ kind: 'compare', column: 'c', op: '>=', value: 250n }]).length).toBe(12);
    expect(router.prune([{ kind: 'in', column: 'a', values: [] }])).toEqual([]);
  });

  it('rejects rows with invalid partition values and rows outside every range', () => {
    const cfg = configs[0] as (typeof configs)[number];
    const router = new PartitionRouter(schema, cfg.ps, tabletsOf(cfg.ps, cfg.ranges));
    expect(router.route([1, 'x', 250n, null])).toMatchObject({ ok: false, code: 'NotFound' });
    expect(router.route([1.5, 'x', 50n, null])).toMatchObject({ ok: false, code: 'InvalidArgument' });
    expect(router.route([null, 'x', 50n, null])).toMatchObject({ ok: false, code: 'InvalidArgument' });
  });

  it('detects overlapping ranges', () => {
    const cfg = configs[0] as (typeof configs)[number];
    const router = new PartitionRouter(schema, cfg.ps, tabletsOf(cfg.ps, cfg.ranges));
    expect(rangesOverlap({ lower: [200n], upper: [300n] }, { lower: [300n] }, router)).toBe(false);
    expect(rangesOverlap({ lower: [200n], upper: [301n] }, { lower: [300n] }, router)).toBe(true);
    expect(rangesOverlap({}, { lower: [300n] }, router)).toBe(true);
    expect(rangesOverlap({ upper: [0n] }, { lower: [0n], upper: [5n] }, router)).toBe(false);
  });
});
