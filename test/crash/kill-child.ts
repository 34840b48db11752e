import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The children load compiled JS from dist/: CI builds before vitest; a local run without dist/ builds here. */
export function ensureDistBuilt(root: string): void {
  if (!existsSync(join(root, 'dist', 'src', 'client', 'index.js'))) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  }
}

/**
 * Runs `node script ...args` and hands each line it prints to `onLine`, which returns true once
 * the child has done enough (or throws: the run fails with that error). `killDelayMs` after the
 * first such line, or after `guardMs` in any case, the child is SIGKILLed; resolves once it died
 * by that signal, rejects with its stderr if it exited any other way.
 */
export function runUntilKilled(script: string, args: readonly string[], onLine: (line: string) => boolean, killDelayMs: number, guardMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    let killing = false;
    const kill = (): void => {
      if (killing) return;
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), killDelayMs);
    };
    const guard = setTimeout(kill, guardMs);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          if (onLine(line)) kill();
        } catch (e) {
          reject(e);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code} ${signal}: ${stderr}`));
      else resolvePromise();
    });
  });
}
