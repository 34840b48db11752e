import { describe, expect, it } from 'vitest';
import { checkKvHistory } from './linearizability.js';
import type { KvOp } from './linearizability.js';

const put = (client: number, key: string, value: string, call: number, ret: number): KvOp => ({ client, kind: 'put', key, value, call, ret });
const get = (client: number, key: string, value: string, call: number, ret: number): KvOp => ({ client, kind: 'get', key, value, call, ret });

describe('linearizability checker', () => {
  it('accepts a sequential history', () => {
    expect(checkKvHistory([put(0, 'x', '1', 0, 1), get(0, 'x', '1', 2, 3), put(0, 'x', '2', 4, 5), get(0, 'x', '2', 6, 7)]).ok).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    const r = checkKvHistory([put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 3), get(1, 'x', '1', 4, 5)]);
    expect(r.ok).toBe(false);
    expect(r.key).toBe('x');
    expect(r.unknown).toBeUndefined();
  });

  it('accepts either order for overlapping writes', () => {
    const h = [put(0, 'x', '1', 0, 10), put(1, 'x', '2', 1, 9), get(2, 'x', '1', 11, 12)];
    expect(checkKvHistory(h).ok).toBe(true);
    expect(checkKvHistory([...h.slice(0, 2), get(2, 'x', '2', 11, 12)]).ok).toBe(true);
  });

  it('rejects reads that see writes go back and forth', () => {
    // Both writes overlap, but two later sequential reads see 2 then 1: no single order explains both.
    const h = [put(0, 'x', '1', 0, 10), put(1, 'x', '2', 1, 9), get(2, 'x', '2', 11, 12), get(2, 'x', '1', 13, 14)];
    expect(checkKvHistory(h).ok).toBe(false);
  });

  it('rejects a read of a value nobody wrote and a read of the initial value after a write', () => {
    expect(checkKvHistory([put(0, 'x', '1', 0, 1), get(1, 'x', '7', 2, 3)]).ok).toBe(false);
    expect(checkKvHistory([put(0, 'x', '1', 0, 1), get(1, 'x', '', 2, 3)]).ok).toBe(false);
    expect(checkKvHistory([get(1, 'x', '', 0, 3), put(0, 'x', '1', 1, 2)]).ok).toBe(true);
  });

  it('treats an op without a return as possibly applied, at any time after its call', () => {
    expect(checkKvHistory([put(0, 'x', '1', 0, Infinity), get(1, 'x', '', 1, 2), get(1, 'x', '1', 3, 4)]).ok).toBe(true);
    expect(checkKvHistory([put(0, 'x', '1', 0, Infinity), get(1, 'x', '', 1, 2), get(1, 'x', '', 3, 4)]).ok).toBe(true);
    // ...but not before its call.
    expect(checkKvHistory([get(1, 'x', '1', 0, 1), put(0, 'x', '1', 2, Infinity)]).ok).toBe(false);
    // ...and not twice: once seen, a later read of the older value is stale.
    expect(checkKvHistory([put(2, 'x', '0', 0, 1), put(0, 'x', '1', 2, Infinity), get(1, 'x', '1', 3, 4), get(1, 'x', '0', 5, 6)]).ok).toBe(false);
  });

  it('keys are independent', () => {
    expect(checkKvHistory([put(0, 'x', '1', 0, 1), put(0, 'y', '2', 2, 3), get(1, 'x', '1', 4, 5), get(1, 'y', '2', 4, 5)]).ok).toBe(true);
    const bad = checkKvHistory([put(0, 'x', '1', 0, 1), put(0, 'y', '2', 2, 3), get(1, 'x', '1', 4, 5), get(1, 'y', '', 6, 7)]);
    expect(bad.ok).toBe(false);
    expect(bad.key).toBe('y');
  });

  it('agrees with brute force on random small histories', () => {
    // Brute force: try every permutation consistent with real-time order.
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let yes = 0;
    let no = 0;
    for (let trial = 0; trial < 400; trial++) {
      const n = 2 + rnd(5);
      const h: KvOp[] = [];
      for (let i = 0; i < n; i++) {
        const call = rnd(20);
        const ret = rnd(6) === 0 ? Infinity : call + 1 + rnd(8);
        h.push(rnd(2) === 0 ? put(i, 'k', String(rnd(3)), call, ret) : get(i, 'k', String(rnd(4) === 0 ? '' : rnd(3)), call, ret === Infinity ? call + 1 : ret));
      }
      const expected = bruteForce(h);
      expect(checkKvHistory(h).ok, `trial ${trial}: ${JSON.stringify(h)}`).toBe(expected);
      if (expected) yes++; else no++;
    }
    expect(yes).toBeGreaterThan(20);
    expect(no).toBeGreaterThan(20);
  });
});

function bruteForce(h: readonly KvOp[]): boolean {
  const n = h.length;
  const used = new Array<boolean>(n).fill(false);
  // Ops with ret = Infinity may be left out (never took effect).
  const rec = (state: string, count: number, minRetPending: number): boolean => {
    let any = false;
    for (let i = 0; i < n; i++) if (!used[i] && h[i]!.ret !== Infinity) any = true;
    if (!any) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const o = h[i]!;
      // o may go next only if no unused op returned before o was called.
      let blocked = false;
      for (let j = 0; j < n; j++) if (!used[j] && j !== i && h[j]!.ret < o.call) blocked = true;
      if (blocked) continue;
      if (o.kind === 'get' && o.value !== state) continue;
      used[i] = true;
      const ok = rec(o.kind === 'put' ? o.value : state, count + 1, minRetPending);
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return rec('', 0, Infinity);
}
