/**
 * The only source of randomness the Raft core sees (randomized election timeouts). Tests and
 * the simulation inject a seeded generator so a run replays exactly from its seed.
 */
export interface Random {
  /** An integer in [0, n). */
  intBelow(n: number): number;
}

/** SplitMix32-style seeded generator: small, fast, good enough for timeouts and simulation. */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  }

  intBelow(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    const x = xs[this.intBelow(xs.length)];
    if (x === undefined) throw new RangeError('pick from an empty array');
    return x;
  }
}
