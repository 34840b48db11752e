import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { mulberry32 as rng } from '../../bench/random.js';
import { ensureDistBuilt, runUntilKilled } from './kill-child.js';

/**
 * Bulk loads across SIGKILLs: a child runs loads of BATCHES x ROWS rows into a hashed table
 * (staged `bulk-*` files, one commit entry per tablet at finish) and is killed at a random
 * point. After each restart: every finished load is there in full, no row of a load whose
 * finish() was never called is visible, no row is duplicated or malformed, and every `bulk-*`
 * file left in a tablet directory is a rowset named by its metadata.
 */

const ROOT = resolve(__dirname, '..', '..');
const CHILD = join(__dirname, 'bulk-child.mjs');
const BATCHES = 3;
const ROWS = 4000;

beforeAll(() => ensureDistBuilt(ROOT), 120_000);

interface Progress { readonly staged: Set<number>; readonly finishing: Set<number>; readonly finished: Map<number, number> }

/** Runs the child until `events` progress lines were printed, waits `killDelayMs`, SIGKILLs it. */
async function runAndKill(dataDir: string, startLoad: number, events: number, killDelayMs: number): Promise<Progress> {
  const p: Progress = { staged: new Set(), finishing: new Set(), finished: new Map() };
  let seen = 0;
  await runUntilKilled(CHILD, [dataDir, String(startLoad), String(BATCHES), String(ROWS)], (line) => {
    const [what, a, b] = line.split(' ');
    if (what === 'STAGED') p.staged.add(Number(a));
    else if (what === 'FINISHING') p.finishing.add(Number(a));
    else if (what === 'FIN') p.finished.set(Number(a), Number(b));
    else if (what === 'ERROR') throw new Error(`child: ${a}`);
    else return false;
    return ++seen >= events;
  }, killDelayMs, 20_000);
  return p;
}

/** `bulk-*` files of every tablet directory that its tablet-meta.json does not name. */
function unreferencedBulkFiles(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const names = readdirSync(d, { withFileTypes: true });
    const bulk = names.filter((e) => e.isFile() && e.name.startsWith('bulk-')).map((e) => e.name);
    if (bulk.length > 0) {
      const body = JSON.parse((JSON.parse(readFileSync(join(d, 'tablet-meta.json'), 'utf8')) as { body: string }).body) as { rowsets: { file: string }[] };
      const named = new Set(body.rowsets.map((r) => r.file));
      for (const f of bulk) if (!named.has(f)) out.push(join(d, f));
    }
    for (const e of names) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dataDir);
  return out;
}

describe('bulk load crash recovery', () => {
  it('keeps finished loads whole and unfinished ones invisible across SIGKILLs', async () => {
    const seed = Number(process.env['SAIGA_CRASH_SEED'] ?? 4242);
    const r = rng(seed);
    const dataDir = mkdtempSync(join(tmpdir(), 'saiga-bulkcrash-'));
    const finished = new Map<number, number>();
    const finishing = new Set<number>();
    /** Loads killed after staging some batches and before finish() resolved. */
    let interrupted = 0;
    try {
      for (let round = 0; round < 4; round++) {
        const startLoad = round * 100 + 1;
        const events = 1 + Math.floor(r() * 12);
        const killDelayMs = Math.floor(r() * 60);
        const p = await runAndKill(dataDir, startLoad, events, killDelayMs);
        for (const [l, n] of p.finished) finished.set(l, n);
        for (const l of p.staged) if (!p.finished.has(l)) interrupted++;
        for (const l of p.finishing) finishing.add(l);
        const s = await openEmbeddedStorage({ dataDir, maintenanceIntervalMs: 60_000, compactionIntervalMs: 60_000 });
        try {
          expect(unreferencedBulkFiles(dataDir), `seed ${seed} round ${round}`).toEqual([]);
          const perLoad = new Map<number, number>();
          const seen = new Set<bigint>();
          for await (const b of s.scan('default', 'bulk', {})) {
            const ids = b.getChild('id')?.data[0]?.values as BigInt64Array;
            const loads = b.getChild('load')?.data[0]?.values as Int32Array;
            const payload = b.getChild('payload');
            for (let i = 0; i < b.numRows; i++) {
              const id = ids[i] as bigint;
              const l = loads[i] as number;
              expect(seen.has(id), `seed ${seed}: duplicate id ${id}`).toBe(false);
              seen.add(id);
              expect(Number(id / 10_000_000n), `seed ${seed}: row ${id}`).toBe(l);
              expect(payload?.get(i)).toBe(`p-${l}-${id % 10_000_000n}`);
              perLoad.set(l, (perLoad.get(l) ?? 0) + 1);
            }
          }
          for (const [l, n] of finished) {
            expect(n, `seed ${seed}: load ${l} applied count`).toBe(BATCHES * ROWS);
            expect(perLoad.get(l), `seed ${seed}: finished load ${l}`).toBe(BATCHES * ROWS);
          }
          for (const [l] of perLoad) {
            expect(finishing.has(l), `seed ${seed}: rows of load ${l}, whose finish() was never called, are visible`).toBe(true);
          }
        } finally {
          await s.close();
        }
      }
      expect(finished.size, `seed ${seed}: some load finished`).toBeGreaterThan(0);
      expect(interrupted, `seed ${seed}: some load was killed mid-way`).toBeGreaterThan(0);
    } catch (e) {
      console.error(`bulk crash test failed with seed ${seed}; rerun with SAIGA_CRASH_SEED=${seed}`);
      throw e;
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 80_000);
});
