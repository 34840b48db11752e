import { availableParallelism } from 'node:os';

/**
 * Node flags every server process starts with. On a machine with at most 2 cores,
 * `--single-threaded-gc`: V8's parallel GC helper threads cost more CPU than they save there
 * (session-5 A/Bs on 2 cores: DoPut server CPU rows/s 493-619k -> 596-707k, DoGet and Q6 CPU per
 * row lower, MySQL point select c1 10.4-11.1k -> 13.2-14.8k QPS). A V8 flag, so it must be given
 * at process start. SAIGA_SERVER_GC=parallel keeps V8's default, =single sets the flag on any
 * machine. No other imports: bin/saiga.js loads this module before anything else.
 */
export function serverNodeFlags(cores = availableParallelism(), env: NodeJS.ProcessEnv = process.env): string[] {
  const gc = env['SAIGA_SERVER_GC'];
  return gc === 'single' || (cores <= 2 && gc !== 'parallel') ? ['--single-threaded-gc'] : [];
}
