/**
 * Hybrid time as in Kudu: physical microseconds since the epoch shifted left by 12 bits, plus a
 * 12-bit logical counter. It needs 64 bits, so it is a bigint at API level; hot loops never
 * touch it per row (base data carry no timestamps, deltas are sparse).
 */
export type HybridTime = bigint;

export const LOGICAL_BITS = 12n;
const LOGICAL_MASK = (1n << LOGICAL_BITS) - 1n;
const LOGICAL_MAX = (1 << Number(LOGICAL_BITS)) - 1;
/** Sorts before every real timestamp. */
export const HT_MIN: HybridTime = 0n;
/** Sorts after every real timestamp; a scan at HT_MAX reads the latest committed data. */
export const HT_MAX: HybridTime = (1n << 64n) - 1n;

export function htFromPhysical(physicalMicros: number, logical = 0): HybridTime {
  return (BigInt(Math.floor(physicalMicros)) << LOGICAL_BITS) | BigInt(logical);
}

export function htPhysicalMicros(ht: HybridTime): number {
  return Number(ht >> LOGICAL_BITS);
}

export function htLogical(ht: HybridTime): number {
  return Number(ht & LOGICAL_MASK);
}

export function htToString(ht: HybridTime): string {
  return `P:${htPhysicalMicros(ht)} L:${htLogical(ht)}`;
}

/** The source of physical time; tests pass a simulated one. */
export interface PhysicalClock {
  nowMicros(): number;
}

export const systemClock: PhysicalClock = {
  nowMicros: () => Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000),
};

/**
 * Monotonic hybrid clock. now() never returns the same value twice; update() folds in a
 * timestamp seen from another node so causality is kept across replicas.
 */
export class HybridClock {
  private last: HybridTime = HT_MIN;
  /**
   * `last` split into its physical and logical parts as numbers (physical < 2^52 fits a double
   * exactly), so now() compares in numbers and builds one bigint instead of four.
   */
  private lastPhysical = 0;
  private lastLogical = 0;

  constructor(private readonly physical: PhysicalClock = systemClock) {}

  now(): HybridTime {
    const p = Math.floor(this.physical.nowMicros());
    // (p, 0) > last exactly when p > last's physical part; else last + 1 (the logical part carries).
    if (p > this.lastPhysical) {
      this.lastPhysical = p;
      this.lastLogical = 0;
      this.last = BigInt(p) << LOGICAL_BITS;
    } else {
      if (++this.lastLogical > LOGICAL_MAX) {
        this.lastPhysical++;
        this.lastLogical = 0;
      }
      this.last = (BigInt(this.lastPhysical) << LOGICAL_BITS) | BigInt(this.lastLogical);
    }
    return this.last;
  }

  /** Current time without advancing (a safe upper bound for reads of what is committed). */
  peek(): HybridTime {
    const p = Math.floor(this.physical.nowMicros());
    return p > this.lastPhysical ? BigInt(p) << LOGICAL_BITS : this.last;
  }

  update(observed: HybridTime): void {
    if (observed > this.last) {
      this.last = observed;
      this.lastPhysical = htPhysicalMicros(observed);
      this.lastLogical = htLogical(observed);
    }
  }
}
