import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { isSaigaError, type SaigaError } from '../../src/common/errors.js';
import { mulberry32 as rng } from '../../bench/random.js';
import { ensureDistBuilt, runUntilKilled } from './kill-child.js';

const ROOT = resolve(__dirname, '..', '..');
const CHILD = join(__dirname, 'ingest-child.mjs');
const ROWS_PER_BATCH = 500;

beforeAll(() => ensureDistBuilt(ROOT), 120_000);

/** Runs the child until it has acknowledged `ackTarget` batches (or 15 s passed), then SIGKILLs it. */
async function runAndKill(dataDir: string, startBatch: number, ackTarget: number, killDelayMs: number): Promise<number[]> {
  const acked: number[] = [];
  await runUntilKilled(CHILD, [dataDir, String(startBatch), String(ROWS_PER_BATCH)], (line) => {
    if (line.startsWith('ERROR')) throw new Error(`child: ${line}`);
    if (!line.startsWith('ACK ')) return false;
    acked.push(Number(line.slice(4)));
    return acked.length >= ackTarget;
  }, killDelayMs, 15_000);
  return acked;
}

describe('crash recovery', () => {
  it('keeps every acknowledged batch across SIGKILLs at random points', async () => {
    const seed = Number(process.env['SAIGA_CRASH_SEED'] ?? 1337);
    const r = rng(seed);
    const dataDir = mkdtempSync(join(tmpdir(), 'saiga-crash-'));
    const allAcked: number[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const startBatch = round * 1000 + 1;
        const ackTarget = 2 + Math.floor(r() * 12);
        const killDelayMs = Math.floor(r() * 40);
        const acked = await runAndKill(dataDir, startBatch, ackTarget, killDelayMs);
        expect(acked.length, `seed ${seed} round ${round}`).toBeGreaterThanOrEqual(ackTarget);
        allAcked.push(...acked);

        const s = await openEmbeddedStorage({ dataDir, maintenanceIntervalMs: 60_000, compactionIntervalMs: 60_000 });
        try {
          const rows = new Map<bigint, { batch: number; payload: string }>();
          for await (const b of s.scan('default', 'events', {})) {
            const ids = b.getChild('id')?.data[0]?.values as BigInt64Array;
            const batches = b.getChild('batch')?.data[0]?.values as Int32Array;
            const payload = b.getChild('payload');
            for (let i = 0; i < b.numRows; i++) {
              const id = ids[i] as bigint;
              expect(rows.has(id), `seed ${seed}: duplicate id ${id}`).toBe(false);
              rows.set(id, { batch: batches[i] as number, payload: payload?.get(i) as string });
            }
          }
          const ackedSet = new Set(allAcked);
          for (const b of allAcked) {
            for (let i = 0; i < ROWS_PER_BATCH; i++) {
              const id = BigInt(b) * 100000n + BigInt(i);
              const row = rows.get(id);
              expect(row, `seed ${seed}: acknowledged row ${id} of batch ${b} is missing`).toBeDefined();
              expect(row?.batch).toBe(b);
              const updated = `u-${b}`;
              if (i === 0 && ackedSet.has(b + 1)) expect(row?.payload, `seed ${seed}: acknowledged update of ${id}`).toBe(updated);
              else if (i === 0) expect([`p-${b}-0`, updated]).toContain(row?.payload);
              else expect(row?.payload).toBe(`p-${b}-${i}`);
            }
          }
          // Every row present is well-formed and consistent with a point lookup.
          let checked = 0;
          for (const [id, row] of rows) {
            expect(Number(id / 100000n)).toBe(row.batch);
            if (checked++ % 97 === 0) {
              const got = await s.lookup('default', 'events', [id]);
              expect(got?.[1]).toBe(row.batch);
            }
          }
        } finally {
          await s.close();
        }
      }
    } catch (e) {
      console.error(`crash test failed with seed ${seed}; rerun with SAIGA_CRASH_SEED=${seed}`);
      throw e;
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('reports a flipped byte in a log segment as Corruption naming the file and offset', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'saiga-corrupt-'));
    try {
      let s = await openEmbeddedStorage({ dataDir });
      await s.createTable({
        database: 'default',
        name: 'c',
        schema: { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'string', nullable: true }] },
        partitionSchema: { hash: [], rangeColumns: [] },
      });
      for (let b = 0; b < 5; b++) {
        await s.write('default', 'c', 'insert', Array.from({ length: 50 }, (_, i) => [BigInt(b * 100 + i), `value-${b}-${i}`]));
      }
      await s.close();
      const tabletDir = join(dataDir, 'tablets', s.getTable('default', 'c').tablets[0]?.tabletId ?? '');
      const walDir = join(tabletDir, 'wal');
      const seg = join(walDir, readdirSync(walDir).find((n) => n.endsWith('.wal')) as string);
      const bytes = readFileSync(seg);
      const at = Math.floor(bytes.byteLength / 2);
      bytes[at] = (bytes[at] as number) ^ 0xff;
      writeFileSync(seg, bytes);
      let err: SaigaError | undefined;
      try {
        s = await openEmbeddedStorage({ dataDir });
        await s.close();
      } catch (e) {
        if (isSaigaError(e)) err = e;
        else throw e;
      }
      expect(err?.code).toBe('Corruption');
      expect(err?.details.file).toBe(seg);
      expect(err?.details.offset).toBeLessThanOrEqual(at);
      expect(err?.details.offset).toBeGreaterThan(0);
      expect(err?.message).toContain(seg);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
