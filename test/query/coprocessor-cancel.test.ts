import { afterEach, describe, expect, it } from 'vitest';
import { coprocessorWorkerFile, createQueryEngine } from '../../src/query/index.js';
import { rowsOf } from './helpers.js';
import { MemoryStorage } from './memory-storage.js';
import { mulberry32 } from './tpch-mini.js';

/**
 * Cancelling a query whose fragments are in the shared coprocessor pool: the query fails with
 * Cancelled, a concurrent query on the same pool still gets its full answer (a worker holds
 * tasks of several queries, so cancelling must not terminate it), and no task promise is left
 * rejecting unhandled. Needs the compiled worker (npm run build).
 */
const SEED = 424242;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => { unhandled.push(e); };
afterEach(() => { process.off('unhandledRejection', onUnhandled); });

describe('coprocessor cancellation', () => {
  it('a cancelled query stops; a concurrent one on the same pool completes', async () => {
    expect(coprocessorWorkerFile(), 'compiled worker dist/src/query/coprocessor-worker.js (run npm run build)').not.toBeNull();
    process.on('unhandledRejection', onUnhandled);
    const storage = new MemoryStorage();
    storage.batchRowCount = 50;
    const ac = new AbortController();
    let tasks = 0;
    const engine = createQueryEngine({ storage, coprocessor: { minRows: 1, onTask: () => { if (++tasks === 2) ac.abort(); } } });
    const inThread = createQueryEngine({ storage, coprocessor: false });
    const a = engine.openSession({ user: 'u', connectionId: 1 });
    const b = engine.openSession({ user: 'u', connectionId: 2 });
    const ref = inThread.openSession({ user: 'u', connectionId: 3 });
    await a.execute('CREATE DATABASE d; USE d; CREATE TABLE f (id INT PRIMARY KEY, g INT, p DECIMAL(10,2))');
    await b.execute('USE d');
    await ref.execute('USE d');
    const rnd = mulberry32(SEED);
    const rows: string[] = [];
    for (let i = 0; i < 6000; i++) rows.push(`(${i}, ${Math.floor(rnd() * 9)}, ${(rnd() * 1000).toFixed(2)})`);
    for (let s = 0; s < rows.length; s += 1000) await a.execute(`INSERT INTO f VALUES ${rows.slice(s, s + 1000).join(', ')}`);
    const q = 'SELECT g, COUNT(*), SUM(p) FROM f WHERE p > 10 GROUP BY g ORDER BY g';
    const [want] = await ref.execute(q);
    const wanted = await rowsOf(want!);
    tasks = 0;
    const cancelled = a.execute(q, { signal: ac.signal });
    const other = b.execute(q);
    await expect(cancelled).rejects.toMatchObject({ code: 'Cancelled' });
    const [got] = await other;
    expect(await rowsOf(got!), `seed ${SEED}`).toEqual(wanted);
    expect(tasks).toBeGreaterThan(2);
    // Let abandoned tasks settle, then check nothing rejected unhandled.
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).toEqual([]);
    // The pool still works after the cancellation.
    const [again] = await a.execute(q);
    expect(await rowsOf(again!)).toEqual(wanted);
    await engine.close();
    await inThread.close();
  });
});
