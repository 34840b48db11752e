import { describe, expect, it } from 'vitest';
import { prepass } from '../../src/query/prepass.js';
import { literalToValue } from '../../src/query/coerce-value.js';
import { columnarInsertBatch, scanInsertValues, VALUES_SCAN_MIN_CHARS } from '../../src/query/values-scan.js';
import type { Schema, Value } from '../../src/common/types.js';

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

describe('columnarInsertBatch', () => {
  const schema: Schema = {
    keyColumnCount: 1,
    columns: [
      { name: 'id', type: 'int64', nullable: false },
      { name: 's', type: 'string', nullable: true },
      { name: 'p', type: 'decimal', nullable: true, precision: 12, scale: 2 },
      { name: 'd', type: 'date', nullable: true },
      { name: 'ts', type: 'timestamp', nullable: true },
      { name: 'b', type: 'bool', nullable: true },
      { name: 'i', type: 'int32', nullable: true },
      { name: 'f', type: 'float', nullable: true },
      { name: 'q', type: 'int16', nullable: false, defaultValue: 3 },
    ],
  };
  const target = [0, 1, 2, 3, 4, 5, 6, 7];

  it('holds, cell by cell, the values the row path converts (seeded)', () => {
    const r = rng(SEED + 1);
    const strs = ["it''s", 'back\\slash', 'é', '日本', '😀 x', '', 'tab\tz'];
    const rows: string[] = [];
    for (let i = 0; i < 200; i++) {
      const id = r() < 0.5 ? String(Math.floor(r() * 2 ** 60) - 2 ** 59) : String(-Math.floor(r() * 1e9));
      const s = r() < 0.2 ? 'NULL' : `'${strs[Math.floor(r() * strs.length)]!}${i}'`;
      const p = r() < 0.2 ? 'NULL' : `${(Math.floor(r() * 2e8) - 1e8) / 1000}`;
      const d = r() < 0.2 ? 'NULL' : `'19${10 + Math.floor(r() * 89)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}'`;
      const ts = r() < 0.2 ? 'NULL' : `'20${10 + Math.floor(r() * 89)}-11-21 06:1${Math.floor(r() * 9)}:00.${Math.floor(r() * 1e6)}'`;
      const b = ['TRUE', 'FALSE', 'NULL', '0', '7'][Math.floor(r() * 5)]!;
      const n = r() < 0.2 ? 'NULL' : String(Math.floor(r() * 4e9) - 2e9 | 0);
      const f = r() < 0.2 ? 'NULL' : String(r() * 1000 - 500);
      rows.push(`(${[id, s, p, d, ts, b, n, f].join(', ')})`);
    }
    const st = scanInsertValues(`INSERT INTO t (id, s, p, d, ts, b, i, f) VALUES ${rows.join(', ')}`);
    expect(st).not.toBeNull();
    const batch = columnarInsertBatch(schema, target, st!.rows, literalToValue);
    expect(batch).not.toBeNull();
    expect(batch!.numRows).toBe(200);
    expect(batch!.schema.fields.map((f) => f.name)).toEqual(['id', 's', 'p', 'd', 'ts', 'b', 'i', 'f']);
    for (let k = 0; k < target.length; k++) {
      const col = schema.columns[target[k]!]!;
      const v = batch!.getChildAt(k)!;
      for (let i = 0; i < 200; i++) {
        const want: Value | undefined = literalToValue(st!.rows[i]![k]!, col);
        const got: unknown = v.get(i);
        const norm = want === null ? null
          : col.type === 'float' ? Math.fround(want as number)
          : col.type === 'decimal' ? want
          : want;
        const g = got === null ? null
          : col.type === 'timestamp' ? (typeof got === 'bigint' ? Number(got) : Math.round((got as number) * 1000)) // Arrow reads micros as ms
          : col.type === 'date' ? Math.round(Number(got instanceof Date ? got.getTime() : got) / 86400e3)
          : col.type === 'decimal' ? BigInt.asIntN(128, (got as Uint32Array).reduceRight((a, w) => (a << 32n) | BigInt(w), 0n))
          : got;
        expect(g, `seed ${SEED + 1} row ${i} column ${col.name}`).toEqual(norm);
      }
    }
  });

  it('declines what only the row path answers identically', () => {
    const pad = (row: string): string => `INSERT INTO t VALUES ${Array.from({ length: 40 }, (_, i) => `(${i}, 'x', 1, NULL, NULL, 1, 1, 1)`).join(', ')}, ${row}`;
    const batch = (row: string): unknown => columnarInsertBatch(schema, target, scanInsertValues(pad(row))!.rows, literalToValue);
    expect(batch('(99, NULL, NULL, NULL, NULL, NULL, NULL, NULL)')).not.toBeNull();
    expect(batch('(99, DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL)')).toBeNull(); // DEFAULT literal
    expect(batch(`(99, '${'y'.repeat(5000)}', NULL, NULL, NULL, NULL, NULL, NULL)`)).toBeNull(); // oversized cell
    expect(batch('(99999999999999999999, NULL, NULL, NULL, NULL, NULL, NULL, NULL)')).toBeNull(); // int64 overflow
    expect(batch('(99, NULL, NULL, NULL, NULL, NULL, NULL)')).toBeNull(); // wrong arity: the row path's error
    // Conversion errors are the row path's own (same message, thrown at the same cell).
    expect(() => batch('(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)')).toThrow("column 'id' cannot be null");
    expect(() => batch("(99, NULL, NULL, NULL, NULL, NULL, 'abc', NULL)")).toThrow("column 'i' expects an integer but found 'abc'");
    // A missing NOT NULL column without a default, or a hidden key: row path.
    const strict: Schema = { keyColumnCount: 1, columns: [...schema.columns.slice(0, 8), { name: 'q', type: 'int16', nullable: false }] };
    expect(columnarInsertBatch(strict, target, scanInsertValues(pad('(99, NULL, NULL, NULL, NULL, NULL, NULL, NULL)'))!.rows, literalToValue)).toBeNull();
  });
});
