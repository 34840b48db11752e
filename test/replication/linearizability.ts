/**
 * Linearizability checker for a key-value register (put/get), in the style of Porcupine:
 * histories are partitioned by key, and each partition is searched with the Wing-Gong /
 * Lowe algorithm (linearize a pending call, backtrack on reaching a return) memoizing
 * (set of linearized ops, register state) pairs already explored.
 *
 * An op with ret = Infinity may or may not have taken effect (timed out, node crashed);
 * reads that never returned should be left out of the history (they have no effect).
 */
export interface KvOp {
  readonly client: number;
  readonly kind: 'put' | 'get';
  readonly key: string;
  /** put: the value written; get: the value read ('' when absent). */
  readonly value: string;
  readonly call: number;
  readonly ret: number;
}

export interface CheckResult {
  readonly ok: boolean;
  /** On failure: the key whose history has no linearization. */
  readonly key?: string;
  /** True if the search gave up (step budget exhausted): neither proven nor refuted. */
  readonly unknown?: boolean;
}

interface Node {
  op: number; // index into ops
  isCall: boolean;
  time: number;
  match: Node | undefined; // call -> its return
  prev: Node | undefined;
  next: Node | undefined;
}

export function checkKvHistory(history: readonly KvOp[], stepBudget = 5_000_000): CheckResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of history) {
    if (op.kind === 'get' && op.ret === Infinity) continue;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = checkRegister(ops, stepBudget);
    if (r !== true) return r === 'unknown' ? { ok: false, key, unknown: true } : { ok: false, key };
  }
  return { ok: true };
}

function checkRegister(ops: readonly KvOp[], stepBudget: number): true | false | 'unknown' {
  const events: Node[] = [];
  ops.forEach((o, i) => {
    if (!(o.call < o.ret)) throw new RangeError(`op ${i} returns at ${o.ret}, not after its call at ${o.call}`);
    const ret: Node = { op: i, isCall: false, time: o.ret, match: undefined, prev: undefined, next: undefined };
    const call: Node = { op: i, isCall: true, time: o.call, match: ret, prev: undefined, next: undefined };
    events.push(call, ret);
  });
  // Equal times: calls first, so ops touching at one instant count as concurrent (the lenient reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Node = { op: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const lift = (call: Node): void => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  let state = '';
  let linearized = 0n;
  const seen = new Set<string>();
  const stack: { call: Node; state: string }[] = [];
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > stepBudget) return 'unknown';
    if (entry === undefined) return false; // cannot happen: a return always precedes the list end
    if (entry.isCall) {
      const op = ops[entry.op]!;
      let ok: boolean;
      let next: string;
      if (op.kind === 'put') {
        ok = true;
        next = op.value;
      } else {
        ok = op.value === state;
        next = state;
      }
      if (ok) {
        const lin = linearized | (1n << BigInt(entry.op));
        const key = `${lin.toString(36)}|${next}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = next;
          linearized = lin;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // Reached the return of an op not yet linearized: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized &= ~(1n << BigInt(top.call.op));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}
