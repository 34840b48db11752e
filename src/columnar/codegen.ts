/**
 * Generated filter loops. Each (read kind, array type, predicate) gets its own compiled
 * function so that V8 sees one typed-array type and one operator per loop (monomorphic element
 * access, no per-row dispatch or closure call on the fast path). Sources are built only from
 * the fixed fragments below, never from user input.
 */

/** How a row's value x is read. */
export type ReadKind =
  /** x = v[r] (Int8/16/32, Float32/64 arrays). */
  | 'num'
  /** x = bit r of v (bool bitmap). */
  | 'bit'
  /** x from 2 Int32 words of w (int64/timestamp); out-of-double-range rows go to slow(r). */
  | 'i64'
  /** x from 4 Int32 words of w (decimal128 unscaled); out-of-range rows go to slow(r). */
  | 'dec';

export type FilterLoop = (
  v: ArrayLike<number> | null, w: Int32Array | null, valid: Uint8Array | null, sel: Int32Array | null,
  n: number, out: Int32Array, c0: number, c1: number, slow: ((r: number) => boolean) | null,
) => number;

const READ: Record<ReadKind, string> = {
  num: 'const x = v[r];',
  bit: 'const x = (v[r >> 3] >> (r & 7)) & 1;',
  i64: 'const hi = w[(r << 1) + 1]; if (hi <= -2097152 || hi >= 2097152) { if (slow(r)) out[k++] = r; continue; } const x = hi * 4294967296 + (w[r << 1] >>> 0);',
  dec: 'const b = r << 2; const hi = w[b + 1]; const sg = hi >> 31; if (w[b + 2] !== sg || w[b + 3] !== sg || hi <= -2097152 || hi >= 2097152) { if (slow(r)) out[k++] = r; continue; } const x = hi * 4294967296 + (w[b] >>> 0);',
};

/** Predicates over x and constants c0, c1. */
export const PRED = {
  '=': 'x === c0',
  '<>': 'x !== c0',
  '<': 'x < c0',
  '<=': 'x <= c0',
  '>': 'x > c0',
  '>=': 'x >= c0',
  between: 'x >= c0 && x <= c1',
  notBetween: 'x < c0 || x > c1',
  geLt: 'x >= c0 && x < c1',
  gtLe: 'x > c0 && x <= c1',
  gtLt: 'x > c0 && x < c1',
  true: 'true',
  false: 'false',
} as const;
export type PredName = keyof typeof PRED;

const cache = new Map<string, FilterLoop>();

export function filterLoop(kind: ReadKind, arrayTag: string, pred: PredName): FilterLoop {
  const key = `${kind}:${arrayTag}:${pred}`;
  let f = cache.get(key);
  if (f !== undefined) return f;
  const read = READ[kind];
  const p = PRED[pred];
  const body = `${read} out[k] = r; k += (${p}) ? 1 : 0;`;
  const src = `
    // ${key}
    let k = 0;
    if (sel === null) {
      if (valid === null) { for (let r = 0; r < n; r++) { ${body} } }
      else { for (let r = 0; r < n; r++) { if ((valid[r >> 3] & (1 << (r & 7))) === 0) continue; ${body} } }
    } else {
      if (valid === null) { for (let i = 0; i < n; i++) { const r = sel[i]; ${body} } }
      else { for (let i = 0; i < n; i++) { const r = sel[i]; if ((valid[r >> 3] & (1 << (r & 7))) === 0) continue; ${body} } }
    }
    return k;`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  f = new Function('v', 'w', 'valid', 'sel', 'n', 'out', 'c0', 'c1', 'slow', src) as FilterLoop;
  cache.set(key, f);
  return f;
}

/** Column-vs-column loop over two plain number arrays: x = a[r], y = b[r]. */
export type FilterLoop2 = (
  a: ArrayLike<number>, b: ArrayLike<number>, va: Uint8Array | null, vb: Uint8Array | null,
  sel: Int32Array | null, n: number, out: Int32Array,
) => number;

const cache2 = new Map<string, FilterLoop2>();

export function filterLoop2(tagA: string, tagB: string, op: '=' | '<>' | '<' | '<=' | '>' | '>='): FilterLoop2 {
  const key = `${tagA}:${tagB}:${op}`;
  let f = cache2.get(key);
  if (f !== undefined) return f;
  const jsOp = op === '=' ? '===' : op === '<>' ? '!==' : op;
  const body = `out[k] = r; k += (a[r] ${jsOp} b[r]) ? 1 : 0;`;
  const src = `
    // ${key}
    let k = 0;
    for (let i = 0; i < n; i++) {
      const r = sel === null ? i : sel[i];
      if (va !== null && (va[r >> 3] & (1 << (r & 7))) === 0) continue;
      if (vb !== null && (vb[r >> 3] & (1 << (r & 7))) === 0) continue;
      ${body}
    }
    return k;`;
  f = new Function('a', 'b', 'va', 'vb', 'sel', 'n', 'out', src) as FilterLoop2;
  cache2.set(key, f);
  return f;
}
