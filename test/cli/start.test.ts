import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `saiga start` and `saiga sql` as a user runs them: the compiled binary (npm test builds
 * first), a real server process, statements from -q, -f and stdin, then SIGTERM and a restart
 * over the same data directory.
 */
const BIN = resolve(__dirname, '..', '..', 'bin', 'saiga.js');
let dataDir: string;
let server: ChildProcess | undefined;
let port = 0;

async function startServer(): Promise<void> {
  server = spawn(process.execPath, [BIN, 'start', '--data_dir', dataDir, '--mysql_port', '0', '--flight_port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`saiga start did not get ready: ${out}`)), 20_000);
    server!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /MySQL protocol on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null && out.includes('saiga: ready')) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    server!.once('exit', (code) => reject(new Error(`saiga start exited with ${code}: ${out}`)));
  });
}

async function stopServer(): Promise<string> {
  const proc = server!;
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => {
    proc.once('exit', (c) => r(c));
    proc.kill('SIGTERM');
  });
  server = undefined;
  expect(code).toBe(0);
  return out;
}

function sql(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'sql', '-i', `127.0.0.1:${port}`, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'saiga-cli-'));
  await startServer();
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('saiga start + saiga sql', () => {
  it('runs -q statements and prints a pretty table with NULL', () => {
    const r = sql(['-q', "create table t (id int primary key, name varchar(20), v decimal(10,2)); insert into t values (1,'a',1.50),(2,'b,c',NULL),(3,'x',-2.25); select * from t order by id"]);
    expect(r.stderr).not.toContain('ERROR');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('| id | name | v     |');
    expect(r.stdout).toContain('| 2  | b,c  | NULL  |');
    expect(r.stdout).toContain('| 3  | x    | -2.25 |');
    expect(r.stderr).toMatch(/Fetched 3 row\(s\) in/);
  });

  it('writes delimited output with header, quoting and variables to a file', () => {
    const out = join(dataDir, 'out.csv');
    const r = sql(['-B', '--print_header', '--output_delimiter=,', '--var', 'max=2', '-o', out, '-q', 'select id, name from t where id <= ${var:MAX} order by id; select count(*) as n from t']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('id,name\n1,a\n2,"b,c"\nn\n3\n');
  });

  it('stops a script at the first failure naming the line, or continues with -c', () => {
    const script = 'select 1 as one;\n\nselect * from no_such_table;\nselect 2 as two;\n';
    const stop = sql(['-B', '-f', '-'], script);
    expect(stop.status).toBe(1);
    expect(stop.stdout).toBe('1\n');
    expect(stop.stderr).toContain('line 3');
    expect(stop.stderr).toContain('no_such_table');
    const cont = sql(['-B', '-c', '-f', '-'], script);
    expect(cont.status).toBe(1);
    expect(cont.stdout).toBe('1\n2\n');
  });

  it('runs a script file with SET VAR and rejects unknown variables', () => {
    const file = join(dataDir, 'script.sql');
    writeFileSync(file, "-- a comment; with a semicolon\nSET VAR:tbl=t;\nselect name from ${var:tbl} where name = 'a;b' or id = 1;\n");
    const ok = sql(['-B', '-f', file]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('a\n');
    const bad = sql(['-B', '-q', 'select ${var:nope}']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown variable nope');
  });

  it('exits with the unavailable code when no server listens', () => {
    const r = spawnSync(process.execPath, [BIN, 'sql', '-i', '127.0.0.1:1', '-q', 'select 1'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('cannot reach');
  });

  it('shuts down cleanly on SIGTERM and restarts with all data', async () => {
    const out = await stopServer();
    expect(out).toContain('stopped cleanly');
    await startServer();
    const r = sql(['-B', '-q', 'select id, name, v from t order by id']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('1\ta\t1.50\n2\tb,c\tNULL\n3\tx\t-2.25\n');
  });
});
