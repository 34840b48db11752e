import { describe, expect, it } from 'vitest';
import { prepass } from '../../src/query/prepass.js';
import { scanInsertValues, VALUES_SCAN_MIN_CHARS } from '../../src/query/values-scan.js';

/**
 * The INSERT ... VALUES scanner must build exactly the statement the general pre-pass builds, or
 * decline (null). Random statements, mostly of the accepted shape, plus pieces it must decline.
 */

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

const SEED = 4242;

function randomValue(r: () => number, weird: boolean): string {
  const k = Math.floor(r() * (weird ? 22 : 12));
  switch (k) {
    case 0: return String(Math.floor(r() * 1e6));
    case 1: return `-${Math.floor(r() * 1e6)}`;
    case 2: return `${Math.floor(r() * 1000)}.${Math.floor(r() * 100)}`;
    case 3: return `'value-${Math.floor(r() * 1000)}'`;
    case 4: return `'it''s \\n \\t \\\\ \\' é ; ) ,'`;
    case 5: return 'NULL';
    case 6: return r() < 0.5 ? 'TRUE' : 'false';
    case 7: return '"double ""quoted"""';
    case 8: return 'DEFAULT';
    case 9: return '1.5e3';
    case 10: return '.25';
    case 11: return '+7';
    case 12: return "DATE '2024-01-02'";
    case 13: return '1 + 2';
    case 14: return "X'0aff'";
    case 15: return 'NOW()';
    case 16: return '- 5';
    case 17: return '1abc';
    case 18: return "'a' 'b'";
    case 19: return '/* c */ 1';
    case 20: return "'unterminated";
    default: return '1.2.3';
  }
}

function randomInsert(r: () => number): string {
  const weird = r() < 0.3;
  const head = ['INSERT INTO', 'insert ignore into', 'REPLACE INTO', 'UPSERT INTO', 'INSERT  IGNORE  INTO'][Math.floor(r() * 5)]!;
  const table = ['t', '`my table`', 'db1.t2', '`a``b`.`c`', 'T_9$'][Math.floor(r() * 5)]!;
  const ncols = 1 + Math.floor(r() * 4);
  const cols = r() < 0.5 ? ` (${Array.from({ length: ncols }, (_, i) => (i % 2 === 0 ? `c${i}` : `\`col ${i}\``)).join(', ')})` : '';
  const rows: string[] = [];
  const nrows = 1 + Math.floor(r() * 40);
  for (let i = 0; i < nrows; i++) rows.push(`(${Array.from({ length: ncols }, () => randomValue(r, weird)).join(r() < 0.5 ? ',' : ' , ')})`);
  let sql = `${head} ${table}${cols} ${r() < 0.9 ? 'VALUES' : 'value'} ${rows.join(r() < 0.5 ? ',' : ',\n ')}`;
  if (weird && r() < 0.2) sql += ' ON DUPLICATE KEY UPDATE c0 = 1';
  if (weird && r() < 0.1) sql += ';';
  while (sql.length < VALUES_SCAN_MIN_CHARS) sql = sql.replace(/VALUES|value/, (v) => `${v} (${Array.from({ length: ncols }, () => '0').join(',')}),`);
  return sql;
}

describe('scanInsertValues', () => {
  it('builds what prepass builds, or declines', () => {
    const r = rng(SEED);
    let accepted = 0;
    for (let k = 0; k < 1500; k++) {
      const sql = randomInsert(r);
      const fast = scanInsertValues(sql);
      if (fast === null) continue;
      accepted++;
      expect(fast, `seed ${SEED} case ${k}: ${sql.slice(0, 300)}`).toEqual(prepass(sql));
    }
    // Most generated statements have the plain shape: the fast path must take them.
    expect(accepted).toBeGreaterThan(900);
  });

  it('takes the plain shape and declines the others', () => {
    const pad = (s: string): string => s.replace('VALUES ', `VALUES ${'(0, 0),'.repeat(60)}`);
    const plain = pad("INSERT INTO bench.kv (id, v) VALUES (1, 'a'), (-2, NULL)");
    const st = scanInsertValues(plain);
    expect(st).not.toBeNull();
    expect(st).toEqual(prepass(plain));
    for (const bad of [
      "INSERT INTO kv (id, v) VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = 'b'",
      "INSERT INTO kv (id, v) VALUES (1, CONCAT('a', 'b'))",
      "INSERT INTO kv (id, v) VALUES (1, 'a'); SELECT 1",
      "/* hint */ INSERT INTO kv (id, v) VALUES (1, 'a')",
      "INSERT INTO kv (id, v) VALUES (1, 'a' -- x\n)",
      "INSERT INTO kv (id, v) SELECT 1, 'a'",
      "INSERT INTO kv (id, v) VALUES (1, 'a'",
    ]) expect(scanInsertValues(pad(bad)), bad).toBeNull();
    expect(scanInsertValues("INSERT INTO kv VALUES (1, 'short')")).toBeNull(); // below the size threshold
  });
});
