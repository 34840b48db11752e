import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverNodeFlags } from '../../src/tserver/process-cluster.js';

/**
 * Server processes get `--single-threaded-gc` on <= 2 cores (serverNodeFlags); `saiga start`
 * (bin/saiga.js) re-runs itself as a child with the flag, and that child must not outlive its
 * launcher: a SIGKILLed launcher leaves no server holding the data directory and ports.
 */

const BIN = resolve(__dirname, '..', '..', 'bin', 'saiga.js');
const dirs: string[] = [];
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Child pids of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  // A zombie (exited, not yet reaped) counts as gone.
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function startLauncher(): Promise<{ proc: ChildProcess; server: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'saiga-launcher-'));
  dirs.push(dataDir);
  const proc = spawn(process.execPath, [BIN, 'start', '--data_dir', dataDir, '--mysql_port', '0', '--flight_port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SAIGA_SERVER_GC: 'single' },
  });
  procs.push(proc);
  let out = '';
  await new Promise<void>((res, rej) => {
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('saiga: ready')) res();
    });
    proc.once('exit', (code) => rej(new Error(`saiga start exited with ${String(code)}: ${out}`)));
  });
  const kids = childrenOf(proc.pid as number);
  expect(kids.length, 'the launcher runs the server as one child').toBe(1);
  const server = kids[0] as number;
  const cmd = readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0');
  expect(cmd).toContain('--single-threaded-gc');
  return { proc, server };
}

describe('server node flags', () => {
  it('sets --single-threaded-gc on <= 2 cores unless SAIGA_SERVER_GC says otherwise', () => {
    expect(serverNodeFlags(1, {})).toEqual(['--single-threaded-gc']);
    expect(serverNodeFlags(2, {})).toEqual(['--single-threaded-gc']);
    expect(serverNodeFlags(3, {})).toEqual([]);
    expect(serverNodeFlags(2, { SAIGA_SERVER_GC: 'parallel' })).toEqual([]);
    expect(serverNodeFlags(16, { SAIGA_SERVER_GC: 'single' })).toEqual(['--single-threaded-gc']);
  });

  it('saiga start: the server child exits when its launcher is SIGKILLed', async () => {
    const { proc, server } = await startLauncher();
    proc.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(server) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(server), `server ${server} outlived its launcher`).toBe(false);
  }, 30_000);

  it('saiga start: SIGTERM to the launcher stops the server cleanly (exit code 0)', async () => {
    const { proc, server } = await startLauncher();
    const code = await new Promise<number | null>((r) => {
      proc.once('exit', (c) => r(c));
      proc.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(alive(server)).toBe(false);
  }, 30_000);
});
