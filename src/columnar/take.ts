import { assert } from '../common/assert.js';
import type { DataType } from '../common/types.js';
import type { Column } from './column.js';
import { allocValues, bitmapBytes, makeColumn, normalizeValidity } from './column.js';

/**
 * Gather kernels: materialize rows by index. `rows[i] = -1` produces a NULL (outer joins,
 * CASE without a matching branch). These are the only way rows move between batches.
 */

/** Column of rows[i] of `col` (rows[i] = -1 -> NULL). */
export function take(col: Column, rows: Int32Array): Column {
  return takeFrom([col], null, rows, col.type, col.precision, col.scale);
}

/** Several columns at the same indexes. */
export function takeAll(cols: readonly Column[], rows: Int32Array): Column[] {
  return cols.map((c) => take(c, rows));
}

/**
 * Multi-source gather: output row i = row rows[i] of sources[which[i]] (which = null: source 0;
 * rows[i] = -1 or which[i] = -1: NULL). Sources must share the output type (a source of
 * length 1 with rows[i] = 0 broadcasts a constant).
 */
export function takeFrom(
  sources: readonly Column[], which: Int32Array | null, rows: Int32Array,
  type: DataType, precision = 0, scale = 0,
): Column {
  const n = rows.length;
  for (const s of sources) {
    assert(s.type === type, `takeFrom: source of type ${s.type}, expected ${type}`);
    if (type === 'decimal') assert(s.scale === scale, `takeFrom: decimal source scale ${s.scale}, expected ${scale}`);
  }
  const validity = new Uint8Array(bitmapBytes(n));
  let anyNull = false;
  if (type === 'string' || type === 'binary') {
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i] as number;
      const w = which === null ? 0 : (which[i] as number);
      if (r < 0 || w < 0) continue;
      const o = (sources[w] as Column).offsets as Int32Array;
      bytes += (o[r + 1] as number) - (o[r] as number);
    }
    const data = new Uint8Array(bytes);
    const offsets = new Int32Array(n + 1);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i] as number;
      const w = which === null ? 0 : (which[i] as number);
      const src = r < 0 || w < 0 ? undefined : sources[w];
      if (src === undefined || (src.validity !== null && ((src.validity[r >> 3] as number) & (1 << (r & 7))) === 0)) {
        anyNull = true;
        offsets[i + 1] = pos;
        continue;
      }
      validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
      const o = src.offsets as Int32Array;
      const s = o[r] as number, e = o[r + 1] as number;
      const d = src.data as Uint8Array;
      if (e - s < 16) { for (let j = s; j < e; j++) data[pos++] = d[j] as number; }
      else { data.set(d.subarray(s, e), pos); pos += e - s; }
      offsets[i + 1] = pos;
    }
    return makeColumn(type, n, null, anyNull ? validity : null, 0, 0, offsets, data);
  }
  const out = allocValues(type, n);
  const single = which === null && sources.length === 1 ? sources[0] : undefined;
  if (single !== undefined && type !== 'bool') {
    // Fast path: one source.
    const sv = single.validity;
    if (type === 'decimal') {
      const src = single.values as Uint32Array, dst = out as Uint32Array;
      for (let i = 0; i < n; i++) {
        const r = rows[i] as number;
        if (r < 0 || (sv !== null && ((sv[r >> 3] as number) & (1 << (r & 7))) === 0)) { anyNull = true; continue; }
        validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
        const a = r << 2, b = i << 2;
        dst[b] = src[a] as number; dst[b + 1] = src[a + 1] as number; dst[b + 2] = src[a + 2] as number; dst[b + 3] = src[a + 3] as number;
      }
    } else if (type === 'int64' || type === 'timestamp') {
      const v = single.values as BigInt64Array;
      const src = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
      const o = out as BigInt64Array;
      const dst = new Int32Array(o.buffer, o.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const r = rows[i] as number;
        if (r < 0 || (sv !== null && ((sv[r >> 3] as number) & (1 << (r & 7))) === 0)) { anyNull = true; continue; }
        validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
        dst[i << 1] = src[r << 1] as number; dst[(i << 1) + 1] = src[(r << 1) + 1] as number;
      }
    } else {
      const src = single.values as Float64Array, dst = out as Float64Array;
      if (sv === null) {
        let allValid = true;
        for (let i = 0; i < n; i++) {
          const r = rows[i] as number;
          if (r < 0) { allValid = false; continue; }
          dst[i] = src[r] as number;
        }
        if (allValid) return makeColumn(type, n, out, null, precision, scale);
        for (let i = 0; i < n; i++) if ((rows[i] as number) >= 0) validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
        return makeColumn(type, n, out, validity, precision, scale);
      }
      for (let i = 0; i < n; i++) {
        const r = rows[i] as number;
        if (r < 0 || ((sv[r >> 3] as number) & (1 << (r & 7))) === 0) { anyNull = true; continue; }
        validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
        dst[i] = src[r] as number;
      }
    }
    return makeColumn(type, n, out, anyNull ? validity : null, precision, scale);
  }
  for (let i = 0; i < n; i++) {
    const r = rows[i] as number;
    const w = which === null ? 0 : (which[i] as number);
    const src = r < 0 || w < 0 ? undefined : sources[w];
    if (src === undefined || (src.validity !== null && ((src.validity[r >> 3] as number) & (1 << (r & 7))) === 0)) { anyNull = true; continue; }
    validity[i >> 3] = (validity[i >> 3] as number) | (1 << (i & 7));
    switch (type) {
      case 'bool': {
        const bits = src.values as Uint8Array;
        if (((bits[r >> 3] as number) & (1 << (r & 7))) !== 0) (out as Uint8Array)[i >> 3] = ((out as Uint8Array)[i >> 3] as number) | (1 << (i & 7));
        break;
      }
      case 'decimal': {
        const s = src.values as Uint32Array, d = out as Uint32Array;
        const a = r << 2, b = i << 2;
        d[b] = s[a] as number; d[b + 1] = s[a + 1] as number; d[b + 2] = s[a + 2] as number; d[b + 3] = s[a + 3] as number;
        break;
      }
      case 'int64': case 'timestamp':
        (out as BigInt64Array)[i] = (src.values as BigInt64Array)[r] as bigint;
        break;
      default:
        (out as Float64Array)[i] = (src.values as Float64Array)[r] as number;
    }
  }
  return makeColumn(type, n, out, anyNull ? normalizeValidity(validity, n) : null, precision, scale);
}

/** Dense copy of the selected rows (sel = null: the column itself). */
export function compact(col: Column, sel: Int32Array | null): Column {
  return sel === null ? col : take(col, sel);
}
