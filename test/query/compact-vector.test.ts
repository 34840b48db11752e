import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { setCompactValues } from '../../src/common/compact-column.js';
import { vectorFromCompact } from '../../src/query/compact-vector.js';
import { fromArrow, fromArrowSelected, gather, type NumVector, type SqlType } from '../../src/query/vector.js';
import { buildCompactValues } from '../../src/rowset/column-data.js';
import { mulberry32 } from './tpch-mini.js';

/** Scan columns read from compact copies equal what fromArrow decodes from the wide words. */
function decData(vals: readonly bigint[]): arrow.Data {
  const w = new Uint32Array(vals.length * 4);
  vals.forEach((v, i) => { const u = BigInt.asUintN(128, v); for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn); });
  return arrow.makeData({ type: new arrow.Decimal(2, 15, 128), length: vals.length, data: w });
}
const i64Data = (v: readonly bigint[]): arrow.Data => arrow.makeData({ type: new arrow.Int64(), length: v.length, data: BigInt64Array.from(v) });

describe('vectorFromCompact', () => {
  it('equals fromArrow / fromArrowSelected for int32 and double copies, with and without a selection', () => {
    const seed = 5150;
    const rnd = mulberry32(seed);
    const n = 3000;
    const small = Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4e9) - 2e9));
    const wide = Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 2 ** 52)) * (rnd() < 0.5 ? -1n : 1n));
    const sel = Int32Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.4);
    const cases: [SqlType, arrow.Data, 2 | 4][] = [
      [{ type: 'decimal', precision: 15, scale: 2 }, decData(small), 4],
      [{ type: 'decimal', precision: 18, scale: 2 }, decData(wide), 4],
      [{ type: 'int64' }, i64Data(small), 2],
      [{ type: 'int64' }, i64Data(wide), 2],
      [{ type: 'timestamp' }, arrow.makeData({ type: new arrow.TimestampMicrosecond(), length: n, data: BigInt64Array.from(wide.map((v) => (v < 0n ? -v : v))) }), 2],
    ];
    for (const [type, d, words] of cases) {
      expect(vectorFromCompact(d, type, null)).toBeNull(); // no copy yet
      const c = buildCompactValues(d, words)!;
      setCompactValues(d, c);
      const all = vectorFromCompact(d, type, null)!;
      expect(Array.from(all.values), `seed ${seed}`).toEqual(Array.from((fromArrow([d], type) as NumVector).values));
      const some = vectorFromCompact(d, type, sel)!;
      const want = type.type === 'decimal' ? fromArrowSelected(d, type, sel) : gather(fromArrow([d], type), sel);
      expect(Array.from(some.values), `seed ${seed}`).toEqual(Array.from((want as NumVector).values));
      expect(some.valid).toBeNull();
    }
  });

  it('declines columns with NULLs, other types and copies of another length', () => {
    const d = decData([1n, 2n, 3n]);
    setCompactValues(d, new Int32Array([1, 2]));
    expect(vectorFromCompact(d, { type: 'decimal', precision: 15, scale: 2 }, null)).toBeNull();
    const ok = decData([1n, 2n, 3n]);
    setCompactValues(ok, new Int32Array([1, 2, 3]));
    expect(vectorFromCompact(ok, { type: 'double' }, null)).toBeNull();
    const nulls = arrow.makeData({ type: new arrow.Decimal(2, 15, 128), length: 3, nullCount: 1, nullBitmap: new Uint8Array([0b101]), data: ok.values });
    setCompactValues(nulls, new Int32Array([1, 2, 3]));
    expect(vectorFromCompact(nulls, { type: 'decimal', precision: 15, scale: 2 }, null)).toBeNull();
  });
});
