import { describe, expect, it } from 'vitest';
import type { DataType, Value } from '../../src/common/types.js';
import { columnFromValues, columnToValues, HashAggregator, KeyTable, hashColumns, take } from '../../src/columnar/index.js';
import type { AggKind, AggSpec, Column } from '../../src/columnar/index.js';
import { randomValues, refCompare, rng } from './gen.js';

const SEED = Number(process.env['SEED'] ?? 777);

function keyOf(v: Value): string {
  return v instanceof Uint8Array ? `b:${Array.from(v).join(',')}` : `${typeof v}:${String(v)}`;
}

function refAgg(kind: AggKind, vals: Value[], type: DataType, scale: number): Value {
  const nn = vals.filter((v) => v !== null);
  switch (kind) {
    case 'count_star': return BigInt(vals.length);
    case 'count': return BigInt(nn.length);
    case 'count_distinct': return BigInt(new Set(nn.map(keyOf)).size);
    case 'min': case 'max': {
      if (nn.length === 0) return null;
      let best = nn[0] as Value;
      for (const v of nn) if (refCompare(v, best, scale, scale) * (kind === 'min' ? -1 : 1) > 0) best = v;
      return best;
    }
    case 'sum': case 'avg': {
      if (nn.length === 0) return null;
      if (type === 'double' || type === 'float') {
        const s = nn.reduce<number>((a, v) => a + (v as number), 0);
        return kind === 'sum' ? s : s / nn.length;
      }
      const s = nn.reduce<bigint>((a, v) => a + BigInt(v as number | bigint), 0n);
      if (kind === 'sum') return s;
      const num = s * 10000n, d = BigInt(nn.length);
      const q = (num < 0n ? -num : num) / d, r = (num < 0n ? -num : num) % d;
      const m = r * 2n >= d ? q + 1n : q;
      return num < 0n ? -m : m;
    }
  }
}

describe(`hash aggregation (seed ${SEED})`, () => {
  it('KeyTable assigns one id per distinct multi-column key and hashes agree', () => {
    const r = rng(SEED);
    for (const [t1, t2] of [['int32', 'string'], ['decimal', 'int64'], ['double', 'date'], ['bool', 'timestamp'], ['binary', 'float']] as [DataType, DataType][]) {
      const n = 500;
      const a = randomValues(t1, n, r, 0.1), b = randomValues(t2, n, r, 0.1);
      const ca = columnFromValues(t1, a, 30, 2), cb = columnFromValues(t2, b, 30, 2);
      const table = new KeyTable([{ type: t1, precision: 30, scale: 2 }, { type: t2, precision: 30, scale: 2 }]);
      const ids = table.findOrInsert([ca, cb], null);
      const seen = new Map<string, number>();
      const hashes = hashColumns([ca, cb], null);
      const hashByKey = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const k = `${keyOf(a[i] as Value)}|${keyOf(b[i] as Value)}`;
        if (!seen.has(k)) seen.set(k, seen.size);
        expect(ids[i], `${t1},${t2} row ${i}`).toBe(seen.get(k));
        if (hashByKey.has(k)) expect(hashes[i]).toBe(hashByKey.get(k)); else hashByKey.set(k, hashes[i] as number);
      }
      expect(table.groupCount).toBe(seen.size);
      // keys round-trip in group order
      const keys = table.keyColumns();
      const firstRow = new Map<number, number>();
      for (let i = 0; i < n; i++) if (!firstRow.has(ids[i] as number)) firstRow.set(ids[i] as number, i);
      const order = Int32Array.from([...firstRow.entries()].sort((x, y) => x[0] - y[0]).map((e) => e[1]));
      expect(columnToValues(keys[0] as Column)).toEqual(columnToValues(take(ca, order)));
      expect(columnToValues(keys[1] as Column)).toEqual(columnToValues(take(cb, order)));
      // find: absent keys -> -1, null keys never match when asked
      const found = table.find([ca, cb], null, false);
      for (let i = 0; i < n; i++) expect(found[i]).toBe(a[i] === null || b[i] === null ? -1 : ids[i]);
    }
  });

  it('GROUP BY aggregates match a reference, also when merged from partials', () => {
    const r = rng(SEED + 1);
    const kinds: AggKind[] = ['count_star', 'count', 'sum', 'avg', 'min', 'max', 'count_distinct'];
    for (const vt of ['int32', 'int64', 'decimal', 'double', 'string', 'date'] as DataType[]) {
      const n = 600;
      const keys = randomValues('string', n, r, 0.05);
      const vals = randomValues(vt, n, r, 0.2);
      const kcol = columnFromValues('string', keys);
      const vcol = columnFromValues(vt, vals, 30, 2);
      const specs: AggSpec[] = kinds
        .filter((k) => !((k === 'sum' || k === 'avg') && (vt === 'string' || vt === 'date')))
        .map((k) => ({ kind: k, input: k === 'count_star' ? null : { type: vt, precision: 30, scale: 2 } }));
      const inputs = specs.map((s) => (s.kind === 'count_star' ? null : vcol));
      const whole = new HashAggregator([{ type: 'string', precision: 0, scale: 0 }], specs);
      whole.add([kcol], inputs, null);
      // Same data in 3 partials merged on a "gateway" aggregator (structuredClone = posting to a worker).
      const gateway = new HashAggregator([{ type: 'string', precision: 0, scale: 0 }], specs);
      const cuts = [0, 150, 420, n];
      for (let p = 0; p < 3; p++) {
        const sel = Int32Array.from({ length: (cuts[p + 1] as number) - (cuts[p] as number) }, (_, i) => (cuts[p] as number) + i);
        const part = new HashAggregator([{ type: 'string', precision: 0, scale: 0 }], specs);
        part.add([kcol], inputs, sel);
        gateway.merge(structuredClone(part.partial()));
      }
      for (const agg of [whole, gateway]) {
        const res = agg.finish();
        const gkeys = columnToValues(res.keys[0] as Column);
        expect(new Set(gkeys.map(keyOf)).size).toBe(gkeys.length);
        gkeys.forEach((k, g) => {
          const groupVals = vals.filter((_, i) => keyOf(keys[i] as Value) === keyOf(k));
          specs.forEach((s, j) => {
            const got = columnToValues(res.aggregates[j] as Column)[g] as Value;
            const want = refAgg(s.kind, groupVals, vt, vt === "decimal" ? 2 : 0);
            if (typeof want === "number" && typeof got === "number") expect(got, `${s.kind}(${vt}) ${agg === whole}`).toBeCloseTo(want, 9);
            else if (s.kind === 'avg' && vt === 'decimal') expect(got, `avg ${vt}`).toBe(want);
            else if (s.kind === 'avg' && typeof want === 'bigint') expect(got, `avg ${vt}`).toBe(want);
            else expect(got, `${s.kind}(${vt}) group ${String(k)}`).toEqual(want);
          });
        });
      }
    }
  });

  it('global aggregate over zero rows yields one row (COUNT 0, SUM NULL)', () => {
    const agg = new HashAggregator([], [{ kind: 'count_star', input: null }, { kind: 'sum', input: { type: 'int32', precision: 0, scale: 0 } }]);
    agg.add([], [null, columnFromValues('int32', [])], null);
    const res = agg.finish();
    expect(columnToValues(res.aggregates[0] as Column)).toEqual([0n]);
    expect(columnToValues(res.aggregates[1] as Column)).toEqual([null]);
  });

  it('exact SUM survives overflow of the double fast path', () => {
    const big = 2n ** 60n;
    const col = columnFromValues('int64', [big, big, big, -5n, 3n]);
    const agg = new HashAggregator([], [{ kind: 'sum', input: { type: 'int64', precision: 0, scale: 0 } }]);
    agg.add([], [col], null);
    expect(columnToValues(agg.finish().aggregates[0] as Column)).toEqual([3n * big - 2n]);
  });
});
