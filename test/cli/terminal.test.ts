import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `saiga sql --data_dir` on a real pseudo-terminal (util-linux `script`), as a user types: the
 * progress line during a long join, Ctrl-C (byte 0x03, turned into SIGINT by the terminal)
 * cancels the statement, and the shell (or a -q script) goes on / ends with 130.
 * Runs the compiled binary (npm test builds first), like start.test.ts.
 */
const BIN = resolve(__dirname, '..', '..', 'bin', 'saiga.js');
const JOIN_SQL = 'SELECT COUNT(*) FROM t a JOIN t b ON a.v = b.v JOIN t c ON b.v = c.v';
let dir: string;
let dataDir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'saiga-cli-tty-'));
  dataDir = join(dir, 'data');
  mkdirSync(join(dir, 'home'));
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) rows.push(`(${i}, ${i % 7})`);
  const seed = join(dir, 'seed.sql');
  writeFileSync(seed, `CREATE DATABASE IF NOT EXISTS default; USE default; CREATE TABLE t (id INT PRIMARY KEY, v INT);\nINSERT INTO t VALUES ${rows.join(', ')};\n`);
  const r = spawnSync(process.execPath, [BIN, 'sql', '--data_dir', dataDir, '-B', '-f', seed], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A command on a pseudo-terminal; `until` waits for its output to match. */
function onTerminal(args: readonly string[]): { child: ChildProcess; until: (re: RegExp) => Promise<string>; exit: Promise<number | null> } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env: { ...process.env, HOME: join(dir, 'home'), TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.re.test(out)) waiters.splice(i, 1)[0]!.resolve(out);
    }
  };
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); check(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString('utf8'); check(); });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = (re: RegExp): Promise<string> =>
    new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no ${re} in terminal output:\n${out}`)), 20_000);
      waiters.push({ re, resolve: (s) => { clearTimeout(t); res(s); } });
      check();
    });
  return { child, until, exit };
}

describe('saiga sql on a terminal', () => {
  it('interactive shell: progress line, Ctrl-C cancels the join, the next statement runs, quit', async () => {
    const t = onTerminal(['sql', '--data_dir', dataDir]);
    try {
      await t.until(/default> /);
      t.child.stdin!.write(`${JOIN_SQL};\r`);
      await t.until(/rows scanned \d{5,}, elapsed \d+\.\d s \(Ctrl-C cancels\)/);
      t.child.stdin!.write('\x03');
      await t.until(/ERROR: query cancelled/);
      t.child.stdin!.write('SELECT COUNT(*) AS n FROM t;\r');
      const out = await t.until(/Fetched 1 row\(s\) in \d+\.\d\ds/);
      expect(out).toMatch(/\| 3000 +\|/);
      t.child.stdin!.write('quit;\r');
      expect(await t.exit).toBe(0);
    } finally {
      t.child.kill();
    }
  });

  it('-q script: Ctrl-C cancels the running statement and exits 130 after closing cleanly', async () => {
    const t = onTerminal(['sql', '--data_dir', dataDir, '-q', `${JOIN_SQL}; SELECT 'after'`]);
    try {
      await t.until(/rows scanned \d{5,}/);
      t.child.stdin!.write('\x03');
      expect(await t.exit).toBe(130);
      const out = await t.until(/ERROR: query cancelled/);
      expect(out).not.toMatch(/after +\|/); // the script's next statement never ran
    } finally {
      t.child.kill();
    }
    // The data directory was closed cleanly: it opens again at once.
    const r = spawnSync(process.execPath, [BIN, 'sql', '--data_dir', dataDir, '-B', '-q', 'SELECT COUNT(*) FROM t'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toBe('3000\n');
    expect(r.status).toBe(0);
  });
});
