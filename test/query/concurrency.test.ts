import { describe, expect, it } from 'vitest';
import { createQueryEngine } from '../../src/query/index.js';
import type { Session } from '../../src/query/api.js';
import { MemoryStorage } from './memory-storage.js';
import { rowsOf } from './helpers.js';

async function pool(size: number): Promise<{ sessions: Session[]; q(sql: string): Promise<unknown[][]> }> {
  const storage = new MemoryStorage();
  const engine = createQueryEngine({ storage });
  const sessions: Session[] = [];
  for (let i = 0; i < size; i++) sessions.push(engine.openSession({ user: 'root', connectionId: 100 + i }));
  await sessions[0]!.execute('CREATE DATABASE shop');
  for (const s of sessions) await s.execute('USE shop');
  return {
    sessions,
    async q(sql) { const rs = await sessions[0]!.execute(sql); return rowsOf(rs[rs.length - 1]!); },
  };
}

/** Runs `count` statements over the pool's sessions (each session one at a time, sessions concurrently). */
async function hammer(sessions: Session[], count: number, sql: string): Promise<number[]> {
  const affected: number[] = [];
  let next = 0;
  await Promise.all(sessions.map(async (s) => {
    while (next < count) {
      next++;
      const [r] = await s.execute(sql);
      affected.push(r!.kind === 'ok' ? r!.affectedRows : -1);
    }
  }));
  return affected;
}

describe('UPDATE / DELETE / INSERT ... SELECT are atomic per statement', () => {
  it('40 concurrent decrements over 4 sessions lose none', async () => {
    const p = await pool(4);
    await p.sessions[0]!.execute('CREATE TABLE products (id INT PRIMARY KEY, stock INT); INSERT INTO products VALUES (8, 50), (9, 1000), (10, 7)');
    const affected = await hammer(p.sessions, 40, 'UPDATE products SET stock = stock - 1 WHERE id = 9');
    expect(affected).toEqual(new Array(40).fill(1));
    expect(await p.q('SELECT id, stock FROM products ORDER BY id')).toEqual([[8, 50], [9, 960], [10, 7]]);
  });

  it('a guarded decrement never oversells', async () => {
    const p = await pool(4);
    await p.sessions[0]!.execute('CREATE TABLE products (id INT PRIMARY KEY, stock INT); INSERT INTO products VALUES (9, 5)');
    const affected = await hammer(p.sessions, 40, 'UPDATE products SET stock = stock - 1 WHERE id = 9 AND stock >= 1');
    expect(affected.reduce((a, b) => a + b, 0)).toBe(5);
    expect(await p.q('SELECT stock FROM products')).toEqual([[0]]);
  });

  it('INSERT ... SELECT MAX()+1 and DELETE see each other', async () => {
    const p = await pool(4);
    await p.sessions[0]!.execute('CREATE TABLE seq (n INT PRIMARY KEY); INSERT INTO seq VALUES (0)');
    const affected = await hammer(p.sessions, 20, 'INSERT INTO seq SELECT MAX(n) + 1 FROM seq');
    expect(affected).toEqual(new Array(20).fill(1));
    expect(await p.q('SELECT COUNT(*), MAX(n) FROM seq')).toEqual([['21', 20]]);
    const del = await hammer(p.sessions, 8, 'DELETE FROM seq WHERE n = (SELECT MIN(n) FROM seq)');
    expect(del).toEqual(new Array(8).fill(1));
    expect(await p.q('SELECT COUNT(*), MIN(n) FROM seq')).toEqual([['13', 8]]);
  });
});
