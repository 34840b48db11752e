import { assert } from '../common/assert.js';
import type { TypeInfo } from './arith.js';
import type { Accumulator, AggSpec, AggState } from './aggregate.js';
import { createAccumulator } from './aggregate.js';
import type { Column } from './column.js';
import { KeyTable } from './hash-table.js';
import type { Selection } from './selection.js';

/** What a worker sends to the gateway: the distinct keys and one state per aggregate. */
export interface PartialAggregate {
  readonly keys: readonly Column[];
  readonly states: readonly AggState[];
}

export interface AggregateResult {
  /** Group keys, row g = group g (empty without GROUP BY). */
  readonly keys: Column[];
  /** One column per AggSpec, row g = group g. */
  readonly aggregates: Column[];
}

/**
 * GROUP BY keys -> aggregates. Without keys (global aggregate) there is exactly one group, even
 * over zero rows (COUNT(*) = 0, SUM = NULL), as SQL requires.
 */
export class HashAggregator {
  private readonly table: KeyTable | null;
  private readonly accs: Accumulator[];

  constructor(readonly keyTypes: readonly TypeInfo[], readonly specs: readonly AggSpec[]) {
    this.table = keyTypes.length === 0 ? null : new KeyTable(keyTypes);
    this.accs = specs.map((s) => createAccumulator(s));
  }

  get groupCount(): number {
    return this.table === null ? 1 : this.table.groupCount;
  }

  /** Group ids of the selected rows (dense). */
  private groupIds(keys: readonly Column[], sel: Selection | null, n: number): Int32Array {
    if (this.table === null) return new Int32Array(n);
    return this.table.findOrInsert(keys, sel);
  }

  /**
   * Adds the selected rows of a batch: `keys` are the GROUP BY columns, `inputs[k]` the argument
   * column of specs[k] (null for COUNT(*)).
   */
  add(keys: readonly Column[], inputs: readonly (Column | null)[], sel: Selection | null): void {
    assert(inputs.length === this.accs.length, `HashAggregator.add: ${inputs.length} inputs for ${this.accs.length} aggregates`);
    const n = sel !== null ? sel.length : (keys[0]?.length ?? inputs.find((c) => c !== null)?.length ?? 0);
    const ids = this.groupIds(keys, sel, n);
    const gc = this.groupCount;
    this.accs.forEach((a, k) => a.update(ids, inputs[k] ?? null, sel, gc));
  }

  /** Adds `rowCount` rows for aggregates without inputs (COUNT(*) over a batch with no columns). */
  addCountOnly(rowCount: number): void {
    assert(this.table === null, 'addCountOnly is for global aggregates');
    const ids = new Int32Array(rowCount);
    this.accs.forEach((a) => {
      assert(a.spec.kind === 'count_star', `addCountOnly: ${a.spec.kind} needs an input column`);
      a.update(ids, null, null, 1);
    });
  }

  partial(): PartialAggregate {
    const gc = this.groupCount;
    return { keys: this.table === null ? [] : this.table.keyColumns(), states: this.accs.map((a) => a.state(gc)) };
  }

  merge(p: PartialAggregate): void {
    assert(p.states.length === this.accs.length, `merge: ${p.states.length} states for ${this.accs.length} aggregates`);
    const n = p.states[0]?.groupCount ?? (p.keys[0]?.length ?? 0);
    const map = this.table === null ? new Int32Array(Math.max(n, 1)) : this.table.findOrInsert(p.keys, null);
    const gc = this.groupCount;
    this.accs.forEach((a, k) => a.merge(p.states[k] as AggState, map, gc));
  }

  finish(): AggregateResult {
    const gc = this.groupCount;
    return { keys: this.table === null ? [] : this.table.keyColumns(), aggregates: this.accs.map((a) => a.result(gc)) };
  }
}
