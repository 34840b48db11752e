import { spawn } from 'node:child_process';
import { serverNodeFlags } from '../src/tserver/process-cluster.js';

/**
 * Benches whose own process plays Saiga's server run with the node flags Saiga's server
 * launchers give a server (serverNodeFlags: `--single-threaded-gc` on <= 2 cores;
 * SAIGA_SERVER_GC=parallel keeps V8's default). V8 flags apply only at process start, so a
 * process without them re-runs the same command in a child that has them. Returns true when it
 * did (the child ran the bench; the caller returns), false when this process already has them.
 */
export async function rerunWithServerFlags(bench: string): Promise<boolean> {
  const missing = serverNodeFlags().filter((f) => !process.execArgv.includes(f));
  if (missing.length === 0) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...missing, ...process.argv.slice(1)], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`bench ${bench} (re-run with ${missing.join(' ')}) exited with ${String(code)}`);
  return true;
}

/** How the GC of this (server) process runs, for the figures. */
export function serverGcMode(): 'single-threaded' | 'parallel' {
  return process.execArgv.includes('--single-threaded-gc') ? 'single-threaded' : 'parallel';
}
