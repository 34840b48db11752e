import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { Schema, Value } from '../../src/common/types.js';
import { writeDiskRowSetFromMemRowSet } from '../../src/rowset/disk-rowset.js';
import { MemRowSet } from '../../src/rowset/mem-rowset.js';
import type { StoredColumn } from '../../src/rowset/scan-plan.js';
import { FLUSH_WORKERS_MAX, flushWorkerFile, submitFlush, type FlushJob, type FlushOutcome } from '../../src/tablet/background-flush.js';
import { mulberry32 } from '../../bench/random.js';

/**
 * The flush worker pool: jobs submitted together run on up to FLUSH_WORKERS_MAX threads (one
 * per core at most), and each writes the same file, byte for byte, as the writer run on this
 * thread over the same MemRowSet.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const schema: Schema = {
  keyColumnCount: 1,
  columns: [
    { name: 'k', type: 'int64', nullable: false },
    { name: 's', type: 'string', nullable: true },
    { name: 'i', type: 'int32', nullable: true },
  ],
};
const columns: StoredColumn[] = schema.columns.map((c, i) => ({ ...c, id: 1 + i }));

function memRowSet(seed: number, rows: number): MemRowSet {
  const rand = mulberry32(seed);
  const mrs = new MemRowSet(columns);
  const seen = new Set<bigint>();
  for (let j = 0; j < rows; j++) {
    const k = BigInt(Math.floor(rand() * 1e9));
    if (seen.has(k)) continue;
    seen.add(k);
    const r: Value[] = [k, rand() < 0.1 ? null : `v${Math.floor(rand() * 1e6)}`, rand() < 0.1 ? null : Math.floor(rand() * 1e6)];
    mrs.insert(encodeKey(schema, r), BigInt(1000 + j), r);
  }
  return mrs;
}

function settled(job: FlushJob): Promise<FlushOutcome> {
  return new Promise((resolve) => {
    const now = job.poll();
    if (now !== undefined && job.threadId !== undefined) { resolve(now); return; }
    job.onSettled = () => resolve(job.wait());
  });
}

describe('flush worker pool', () => {
  if (flushWorkerFile() === null) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  it('runs concurrent jobs on parallel threads, each file identical to a flush on this thread', async () => {
    expect(flushWorkerFile()).not.toBeNull();
    const seed = Number(process.env['SAIGA_SEED'] ?? 1);
    const dir = mkdtempSync(join(tmpdir(), 'saiga-flushpool-'));
    dirs.push(dir);
    const sets = Array.from({ length: 6 }, (_, j) => memRowSet(seed + j, 20_000));
    const jobs = sets.map((m, j) => submitFlush({ path: join(dir, `bg-${j}.drs`), columns, keyColumnCount: 1, rowsPerBatch: 4096, image: m.toImage() }));
    const outcomes = await Promise.all(jobs.map((j) => settled(j as FlushJob)));
    sets.forEach((m, j) => {
      const o = outcomes[j] as FlushOutcome;
      expect(o.ok, `seed ${seed} job ${j}: ${o.ok ? '' : o.message}`).toBe(true);
      const ref = writeDiskRowSetFromMemRowSet(join(dir, `fg-${j}.drs`), columns, 1, m, 4096);
      expect(o.ok && o.rowCount, `seed ${seed} job ${j}`).toBe(ref.rowCount);
      expect(readFileSync(join(dir, `bg-${j}.drs`)).equals(readFileSync(join(dir, `fg-${j}.drs`))), `seed ${seed} job ${j}: same bytes`).toBe(true);
    });
    const threads = new Set(jobs.map((j) => j?.threadId));
    expect(threads.has(undefined)).toBe(false);
    expect(threads.size, `seed ${seed}: threads used`).toBe(Math.min(FLUSH_WORKERS_MAX, availableParallelism()));
  });
});
