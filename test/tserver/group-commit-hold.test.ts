import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HybridClock } from '../../src/common/hybrid-time.js';
import { DEFAULT_LIMITS } from '../../src/common/limits.js';
import type { Schema } from '../../src/common/types.js';
import { raftHoldStats } from '../../src/replication/raft-driver.js';
import { TabletManager, type TabletReplica } from '../../src/tserver/index.js';
import { logSyncStats } from '../../src/wal/index.js';

// The embedded server's group-commit hold (RaftDriver holdMsMax, set by TabletManager) through
// real tablets and WALs: a lone sequential writer is never held, concurrent writers over two
// tablets share syncs, and every acknowledged write is there after a reopen.

const dirs: string[] = [];
const managers: TabletManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.closeAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int32', nullable: true }] };
const MAX_TS = 2n ** 64n - 1n;

async function open(dir: string): Promise<{ m: TabletManager; a: TabletReplica; b: TabletReplica }> {
  const m = new TabletManager(dir, new HybridClock(), DEFAULT_LIMITS);
  managers.push(m);
  await m.openAll([{ tabletId: 'a', schema }, { tabletId: 'b', schema }]);
  return { m, a: m.get('a'), b: m.get('b') };
}

function count(r: TabletReplica): number {
  let n = 0;
  for (const batch of r.tablet.scan({})) n += batch.numRows;
  return n;
}

describe('group-commit hold of the embedded server', () => {
  it('never holds a lone sequential writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-hold-'));
    dirs.push(dir);
    const { a, b } = await open(dir);
    await new Promise((r) => setTimeout(r, 80)); // writers seen earlier in this process are forgotten
    const before = raftHoldStats().holds;
    for (let i = 0; i < 40; i++) {
      const res = await (i % 2 === 0 ? a : b).write([{ kind: 'insert', row: [BigInt(i), i] }]);
      expect(res.appliedCount).toBe(1);
    }
    expect(raftHoldStats().holds).toBe(before);
    expect(count(a) + count(b)).toBe(40);
  });

  it('concurrent writers over two tablets share syncs; every acknowledged write survives a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saiga-hold-'));
    dirs.push(dir);
    const { m, a, b } = await open(dir);
    const writers = 16;
    const perWriter = 25;
    const syncs0 = logSyncStats();
    const acked: bigint[] = [];
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const k = BigInt(w * 1000 + i);
        // A writer's keys alternate tablets; the next write is issued a turn after the answer (a client round trip).
        const res = await ((w + i) % 2 === 0 ? a : b).write([{ kind: 'insert', row: [k, w] }]);
        expect(res.appliedCount).toBe(1);
        acked.push(k);
        await new Promise((r) => setImmediate(r));
      }
    }));
    const syncs1 = logSyncStats();
    const entriesPerSync = (syncs1.entries - syncs0.entries) / (syncs1.syncs - syncs0.syncs);
    expect(acked).toHaveLength(writers * perWriter);
    // 16 writers over 2 logs: a sync carries several writes (one per sync would be 1.0).
    expect(entriesPerSync).toBeGreaterThan(2);
    managers.splice(managers.indexOf(m), 1);
    await m.closeAll();

    const again = await open(dir);
    expect(count(again.a) + count(again.b)).toBe(writers * perWriter);
    for (const k of acked) {
      const w = Number(k / 1000n);
      const r = (w + Number(k % 1000n)) % 2 === 0 ? again.a : again.b;
      expect(r.tablet.lookup([k], MAX_TS)).toEqual([k, w]);
    }
  });
});
