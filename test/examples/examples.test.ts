import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every example in examples/ run as a user runs it: a real `saiga start` (compiled binary, npm
 * test builds first) on ephemeral ports over a temporary data directory, each example as a child
 * process with SAIGA_MYSQL / SAIGA_FLIGHT pointing at it. Asserts on exit codes and key output
 * lines, so the examples cannot rot.
 */
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'saiga.js');
const EXAMPLES = join(ROOT, 'examples');

let dataDir: string;
let server: ChildProcess | undefined;
let serverOut = '';
let mysqlAddress = '';
let flightAddress = '';

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs a child process to completion (async, so the test worker stays responsive). */
function run(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, SAIGA_MYSQL: mysqlAddress, SAIGA_FLIGHT: flightAddress, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolveRun({ status, stdout, stderr });
    });
  });
}

/** Exit code 0 or a failure message carrying the whole output (what a user would look at). */
function expectSuccess(r: Run): void {
  if (r.status !== 0) throw new Error(`exit code ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'saiga-examples-'));
  server = spawn(process.execPath, [BIN, 'start', '--data_dir', dataDir, '--mysql_port', '0', '--flight_port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ready, reject) => {
    const timer = setTimeout(() => reject(new Error(`saiga start did not get ready: ${serverOut}`)), 20_000);
    server!.stdout!.on('data', (chunk: Buffer) => {
      serverOut += chunk.toString();
      const m = /MySQL protocol on (127\.0\.0\.1:\d+)/.exec(serverOut);
      const f = /Arrow Flight on grpc:\/\/(127\.0\.0\.1:\d+)/.exec(serverOut);
      if (m !== null && f !== null && serverOut.includes('saiga: ready')) {
        clearTimeout(timer);
        mysqlAddress = m[1]!;
        flightAddress = f[1]!;
        ready();
      }
    });
    server!.stderr!.on('data', (chunk: Buffer) => (serverOut += chunk.toString()));
    server!.once('exit', (code) => reject(new Error(`saiga start exited with ${code}: ${serverOut}`)));
  });
});

afterAll(async () => {
  const proc = server;
  if (proc !== undefined && proc.exitCode === null) {
    await new Promise<void>((done) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      proc.kill('SIGTERM');
    });
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('examples against saiga start', () => {
  it('tpch-analytics.sql runs under saiga sql -f with --var and gives the right answers', async () => {
    const r = await run([BIN, 'sql', '-i', mysqlAddress, '-B', '-f', join(EXAMPLES, 'tpch-analytics.sql'),
      '--var', 'region=ASIA', '--var', 'year=1995', '--var', 'top_n=5']);
    expectSuccess(r);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    // Expected values were cross-checked with DuckDB on the same data.
    // 1. pricing summary
    expect(lines).toContain('A\tF\t357.00\t477639.00\t448485.8300\t0.066250\t16');
    expect(lines).toContain('N\tO\t601.00\t805488.00\t770317.0900\t0.047083\t24');
    // 2. revenue by nation in ${var:region} / ${var:year}, and nothing from other regions
    expect(lines).toContain('CHINA\t130208.0100\t4');
    expect(lines).toContain('INDONESIA\t62472.0600\t1');
    expect(r.stdout).not.toMatch(/^(BRAZIL|FRANCE)\t\d+\.\d{4}\t\d+$/m);
    // 3. RANK() over the aggregate, cut at ${var:top_n}
    expect(lines).toContain('Customer#014 Nova\tBRAZIL\t247540.8400\t1');
    expect(lines).toContain('Customer#006 Fjord\tFRANCE\t171830.3800\t5');
    expect(lines.filter((l) => /^Customer#\d{3} \w+\t[A-Z]+\t[\d.]+\t\d+$/.test(l))).toHaveLength(5);
    // 4. running SUM and LAG
    expect(lines).toContain('1995\t10\t369669.39\t1282360.04\t-543021.26');
    // 5. EXISTS, 6. HAVING
    expect(lines).toContain('3-MEDIUM\t6');
    expect(lines).toContain('MACHINERY\t3\t3821.156667');
    // INSERT ... SELECT, then UPDATE visible to the next query
    expect(lines).toContain('BRAZIL\t281441.59\t262543.1900');
    expect(lines).toContain('FRANCE\t171830.38\t171830.3800');
  });

  it('tpch-analytics.sql refuses to run without its variables', async () => {
    const r = await run([BIN, 'sql', '-i', mysqlAddress, '-B', '-f', join(EXAMPLES, 'tpch-analytics.sql')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('unknown variable region');
  });

  it('parquet-roundtrip.sql exports, re-imports three ways and checks counts', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'saiga-parquet-example-'));
    try {
      const r = await run([BIN, 'sql', '-i', mysqlAddress, '-B', '-f', join(EXAMPLES, 'parquet-roundtrip.sql'), '--var', `dir=${outDir}`]);
      expectSuccess(r);
      const lines = r.stdout.split('\n');
      expect(lines).toContain('check\tOK\t8\t894.50');
      expect(lines).toContain('east\t2\t317.01');
      expect(lines).toContain('3\t"comma, ""quoted"""');
      expect(readFileSync(join(outDir, 'region_totals.csv'), 'utf8')).toBe('region,total\neast,317.01\nnorth,226.75\nsouth,99.99\nwest,250.75\n');
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('htap-demo.mjs sees every write in its analytics and exits 0', async () => {
    const r = await run([join(EXAMPLES, 'htap-demo.mjs')], { SAIGA_DEMO_SECONDS: '3' });
    expectSuccess(r);
    expect(r.stdout).toMatch(/^setup: htap_demo\.sales with 500 rows/m);
    expect(r.stdout).toMatch(/^analytics #1: 500 rows/m);
    const writer = /^writer: (\d+) writes .*expected (\d+) rows, total ([\d.]+)$/m.exec(r.stdout);
    const analytics = /^analytics: (\d+) aggregates, (\d+) distinct totals; final (\d+) rows, total ([\d.]+)$/m.exec(r.stdout);
    expect(writer, r.stdout).not.toBeNull();
    expect(analytics, r.stdout).not.toBeNull();
    expect(Number(writer![1])).toBeGreaterThan(0);
    expect(Number(analytics![2])).toBeGreaterThanOrEqual(3);
    expect(analytics![3]).toBe(writer![2]);
    expect(analytics![4]).toBe(writer![3]);
    expect(r.stdout).toContain('OK: every aggregate reflected all acknowledged writes');
  });

  it('htap-demo.mjs exits non-zero when it cannot reach the server', async () => {
    const r = await run([join(EXAMPLES, 'htap-demo.mjs')], { SAIGA_MYSQL: '127.0.0.1:1', SAIGA_DEMO_SECONDS: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('htap-demo:');
  });

  it('flight-bulk-scan.mjs loads with DoPut, scans every endpoint in parallel and queries with Flight SQL', async () => {
    const r = await run([join(EXAMPLES, 'flight-bulk-scan.mjs')], { SAIGA_ROWS: '40000' });
    expectSuccess(r);
    expect(r.stdout).toContain('table flight_demo.readings: id Int64, sensor Int32, reading Float64, label Utf8');
    expect(r.stdout).toMatch(/^DoPut: 40000 rows in 2 batches, .*applied 40000, row errors 0$/m);
    const doGet = /^DoGet: 4 endpoints in parallel, rows per endpoint \[(\d+), (\d+), (\d+), (\d+)\], 40000 rows/m.exec(r.stdout);
    expect(doGet, r.stdout).not.toBeNull();
    expect(doGet!.slice(1).reduce((s, n) => s + Number(n), 0)).toBe(40000);
    expect(r.stdout).toContain('scan check: ids 0..39999 each once');
    expect(r.stdout).toContain('-> 12 rows');
    expect(r.stdout).toContain('sensor 0: 2500 rows');
    expect(r.stdout).toContain('OK: bulk load, parallel scan and Flight SQL query agree');
  });

  it('mysql2-app.mjs places orders through a pool and handles errors by errno', async () => {
    const r = await run([join(EXAMPLES, 'mysql2-app.mjs')]);
    expectSuccess(r);
    expect(r.stdout).toContain('stock: espresso machine  left 0, sold 5 (started with 5)');
    expect(r.stdout).toContain('stock: grinder           left 1, sold 9 (started with 10)');
    expect(r.stdout).toMatch(/order 10\d\d: refused, .* espresso machine/);
    expect(r.stdout).toContain('error handled: duplicate primary key -> errno 1062, SQLSTATE 23000');
    expect(r.stdout).toContain('error handled: unknown table -> errno 1146, SQLSTATE 42S02');
    expect(r.stdout).toContain('error handled: syntax error -> errno 1064, SQLSTATE 42000');
    expect(r.stdout).toContain('error handled: rollback after a write -> errno 1235');
    expect(r.stdout).toContain('OK: pool, prepared statements, transactions and error codes behaved as documented');
  });
});
