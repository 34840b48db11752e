import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * Interop with clients this project did not write: the MariaDB command-line client (Debian's
 * mariadb-client) and PyMySQL (Debian's python3-pymysql, run with /usr/bin/python3).
 */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

function mariadb(args: string[], stdin?: string): Promise<Run> {
  return run('mariadb', ['-h', '127.0.0.1', '-P', String(s.port), '--batch', ...args], stdin);
}

describe('mariadb command-line client', () => {
  it('batch mode with -e', async () => {
    const r = await mariadb(['-uroot', '-prootpw', 'test', '-e', "CREATE TABLE cli (id INT PRIMARY KEY, name VARCHAR(10)); INSERT INTO cli VALUES (1, 'one'), (2, NULL); SELECT * FROM cli ORDER BY id"]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('id\tname\n1\tone\n2\tNULL\n');
  });

  it('a script on stdin, with an error that stops it and sets the exit code', async () => {
    const script = [
      'SELECT @@version_comment;',
      'SELECT DATABASE(), CONNECTION_ID();',
      "SHOW VARIABLES LIKE 'max_allowed_packet';",
      'SELECT id FROM cli WHERE id = 2;',
      'SELECT * FROM missing_table;',
      'SELECT 1;',
    ].join('\n');
    const r = await mariadb(['-uroot', '-prootpw', 'test'], script);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        '^@@version_comment\nSaiga, a Kudu-style columnar HTAP store\n' +
          'DATABASE\\(\\)\tCONNECTION_ID\\(\\)\ntest\t[1-9][0-9]*\n' +
          'Variable_name\tValue\nmax_allowed_packet\t67108864\n' +
          'id\n2\n$',
      ),
    );
    expect(r.stderr).toMatch(/ERROR 1146 \(42S02\) at line 5: Table 'test.missing_table' doesn't exist/);
  });

  it('mysql_native_password and caching_sha2_password users, and a wrong password', async () => {
    const bob = await mariadb(['-ubob', '-pbobpw', '-e', 'SELECT CURRENT_USER()']);
    expect(bob.stdout).toBe('CURRENT_USER()\nbob@%\n');
    const alice = await mariadb(['-ualice', '-palicepw', '--default-auth=caching_sha2_password', '-e', 'SELECT CURRENT_USER()']);
    expect(alice.stderr).toBe('');
    expect(alice.stdout).toBe('CURRENT_USER()\nalice@%\n');
    const bad = await mariadb(['-ualice', '-pwrong', '-e', 'SELECT 1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ERROR 1045 \(28000\)/);
  });
});

const PY = '/usr/bin/python3';

describe('PyMySQL', () => {
  it.runIf(existsSync(PY))('runs a small script: DDL, executemany, parameters, errors, commit', async () => {
    const script = `
import sys, pymysql
conn = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='alice', password='alicepw', database='test')
cur = conn.cursor()
cur.execute("CREATE TABLE py (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2))")
cur.executemany("INSERT INTO py VALUES (%s, %s, %s)", [(1, 'apple', '1.25'), (2, 'pear', '0.50'), (3, None, None)])
conn.commit()
cur.execute("SELECT id, name, price FROM py WHERE id = %s", (2,))
print(cur.fetchall())
cur.execute("SELECT * FROM py ORDER BY id")
print(len(cur.fetchall()), [d[0] for d in cur.description])
try:
    cur.execute("SELECT * FROM nope")
except pymysql.err.ProgrammingError as e:
    print('error', e.args[0])
cur.execute("SELECT @@autocommit")
print(cur.fetchone())
conn.close()
`;
    const r = await run(PY, ['-c', script, String(s.port)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("((2, 'pear', Decimal('0.50')),)\n3 ['id', 'name', 'price']\nerror 1146\n(0,)\n");
  });
});
