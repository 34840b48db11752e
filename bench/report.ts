import { cpus, totalmem } from 'node:os';

export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Anything else worth keeping: the peer's figure, the ratio, parameters. */
  readonly [extra: string]: unknown;
}

/** Prints one figure as a `BENCH {json}` line. */
export function emit(figure: BenchFigure): void {
  console.log(`BENCH ${JSON.stringify(figure, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

export function machine(): { cores: number; memoryGiB: number; node: string; cpu: string } {
  return {
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

/** Percentile of an unsorted sample (sorts a copy). */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return NaN;
  const s = [...sample].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] as number;
}
