import { describe, expect, it } from 'vitest';
import { harness } from './helpers.js';

describe('smoke', () => {
  it('creates, inserts, selects', async () => {
    const h = await harness();
    await h.exec(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), d DATE)`);
    await h.exec(`INSERT INTO t VALUES (1, 'a', 1.50, '2020-01-01'), (2, 'b', 2.25, '2021-06-30'), (3, NULL, NULL, NULL)`);
    expect(await h.q('SELECT id, name, price, d FROM t ORDER BY id')).toEqual([
      [1, 'a', '1.50', '2020-01-01'], [2, 'b', '2.25', '2021-06-30'], [3, null, null, null],
    ]);
    expect(await h.q('SELECT SUM(price), COUNT(*), COUNT(name), AVG(price) FROM t')).toEqual([['3.75', '3', '2', '1.875000']]);
  });
});
