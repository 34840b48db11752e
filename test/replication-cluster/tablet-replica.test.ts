import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { HybridClock } from '../../src/common/hybrid-time.js';
import { DEFAULT_LIMITS } from '../../src/common/limits.js';
import type { Schema } from '../../src/common/types.js';
import { RaftDriver, type GroupMessage, type Transport } from '../../src/replication/raft-driver.js';
import { TabletReplica } from '../../src/tserver/tablet-replica.js';

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int32', nullable: true }] };
const limits = { ...DEFAULT_LIMITS, logSegmentBytes: 64 * 1024 };
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** In-process transport between drivers; `down` servers drop everything sent to or from them. */
class LoopTransport implements Transport {
  readonly drivers = new Map<string, RaftDriver>();
  readonly down = new Set<string>();
  batches = 0;
  constructor(private readonly from: string, private readonly net: LoopTransport | undefined) {}
  send(to: string, batch: readonly GroupMessage[]): Promise<void> {
    const net = this.net ?? this;
    net.batches++;
    const d = net.drivers.get(to);
    if (d === undefined || net.down.has(to) || net.down.has(this.from)) return Promise.reject(new Error(`${to} unreachable`));
    setImmediate(() => d.receive(batch));
    return Promise.resolve();
  }
}

interface Cluster {
  net: LoopTransport;
  replicas: Map<string, TabletReplica>;
  drivers: Map<string, RaftDriver>;
  dirs: Map<string, string>;
}

async function openReplica(c: Cluster, id: string, tabletId: string, voters: string[] | undefined, seed: number): Promise<TabletReplica> {
  let d = c.drivers.get(id);
  if (d === undefined) {
    d = new RaftDriver({ serverId: id, transport: new LoopTransport(id, c.net), tickMs: 20 });
    c.drivers.set(id, d);
    c.net.drivers.set(id, d);
    d.start();
  }
  const dir = c.dirs.get(id) ?? join(mkdtempSync(join(tmpdir(), `saiga-tr-${id}-`)));
  if (!c.dirs.has(id)) dirs.push(dir);
  c.dirs.set(id, dir);
  const r = await TabletReplica.open({ dir: join(dir, tabletId), tabletId, schema, clock: new HybridClock(), limits, driver: d, ...(voters !== undefined ? { voters } : {}), seed, opTimeoutMs: 3000 });
  c.replicas.set(id, r);
  return r;
}

async function cluster(ids: string[]): Promise<Cluster> {
  const c: Cluster = { net: new LoopTransport('', undefined), replicas: new Map(), drivers: new Map(), dirs: new Map() };
  let seed = 1;
  for (const id of ids) await openReplica(c, id, 't1', ids, seed++);
  cleanups.push(async () => {
    for (const r of c.replicas.values()) await r.close();
    for (const d of c.drivers.values()) d.stop();
  });
  return c;
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function leaderOf(c: Cluster): TabletReplica | undefined {
  for (const [id, r] of c.replicas) if (!c.net.down.has(id) && r.isLeader()) return r;
  return undefined;
}

function keys(r: TabletReplica): bigint[] {
  const out: bigint[] = [];
  for (const b of r.tablet.scan({ ordered: true })) {
    const col = b.getChildAt(0);
    for (let i = 0; i < b.numRows; i++) out.push(col?.get(i) as bigint);
  }
  return out;
}

describe('TabletReplica over RaftDriver (in-process transport)', () => {
  it('elects a leader, replicates writes to all replicas, rejects writes on followers with NotLeader naming the leader', async () => {
    const c = await cluster(['a', 'b', 'c']);
    const leader = await until('a leader', () => leaderOf(c));
    const ps = [];
    for (let i = 0; i < 40; i++) ps.push(leader.write([{ kind: 'insert', row: [BigInt(i), i] }]));
    const res = await Promise.all(ps);
    expect(res.every((r) => r.appliedCount === 1)).toBe(true);
    const follower = [...c.replicas.values()].find((r) => r !== leader)!;
    let err: unknown;
    try {
      await follower.write([{ kind: 'insert', row: [1000n, 1] }]);
    } catch (e) {
      err = e;
    }
    expect(isSaigaError(err, 'NotLeader')).toBe(true);
    expect((err as { details: { leaderHint?: string } }).details.leaderHint).toBe(leader.serverId);
    await until('followers applied', () => ([...c.replicas.values()].every((r) => r.status().applied === leader.status().applied) ? true : undefined));
    const want = Array.from({ length: 40 }, (_, i) => BigInt(i));
    for (const r of c.replicas.values()) expect(keys(r)).toEqual(want);
    // A follower read confirms the read point with the leader, then serves locally.
    const rows = (await follower.scan({})).reduce((n, b) => n + b.numRows, 0);
    expect(rows).toBe(40);
    // Heartbeats of the group went in batches (one per destination and turn), not one call per message.
    expect(c.net.batches).toBeGreaterThan(0);
  });

  it('fails over when the leader is cut off, and a restarted replica catches up from its log', async () => {
    const c = await cluster(['a', 'b', 'c']);
    const l1 = await until('a leader', () => leaderOf(c));
    for (let i = 0; i < 20; i++) await l1.write([{ kind: 'insert', row: [BigInt(i), i] }]);
    c.net.down.add(l1.serverId);
    const l2 = await until('a new leader', () => leaderOf(c), 8000);
    expect(l2.serverId).not.toBe(l1.serverId);
    for (let i = 20; i < 40; i++) await l2.write([{ kind: 'insert', row: [BigInt(i), i] }]);
    // The old leader's lease has expired: it must not serve a local read.
    expect(l1.holdsLease()).toBe(false);
    // Restart the old leader from its files.
    await l1.close();
    c.drivers.get(l1.serverId)?.stop();
    c.drivers.delete(l1.serverId);
    c.net.down.delete(l1.serverId);
    const back = await openReplica(c, l1.serverId, 't1', undefined, 99);
    await until('restarted replica caught up', () => (back.status().applied >= l2.status().commit ? true : undefined), 8000);
    expect(keys(back)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
  });

  it('runs a one-voter group through the same code path', async () => {
    const c = await cluster(['solo']);
    const r = await until('leader', () => leaderOf(c));
    const res = await r.write([{ kind: 'insert', row: [1n, 1] }, { kind: 'insert', row: [1n, 2] }]);
    expect(res.appliedCount).toBe(1);
    expect(res.rowErrors.length).toBe(1);
    expect(r.holdsLease()).toBe(true);
    expect(keys(r)).toEqual([1n]);
  });
});

describe('TabletReplica: a wiped replica', () => {
  it('is re-filled from the leader when it comes back empty', async () => {
    const c = await cluster(['a', 'b', 'c']);
    const l = await until('a leader', () => leaderOf(c));
    for (let i = 0; i < 30; i++) await l.write([{ kind: 'insert', row: [BigInt(i), i] }]);
    const victim = [...c.replicas.values()].find((r) => r !== l)!;
    const vid = victim.serverId;
    await victim.close();
    c.drivers.get(vid)?.stop();
    c.drivers.delete(vid);
    rmSync(c.dirs.get(vid)!, { recursive: true, force: true });
    for (let i = 30; i < 40; i++) await l.write([{ kind: 'insert', row: [BigInt(i), i] }]);
    const back = await openReplica(c, vid, 't1', undefined, 7);
    try {
      await until('wiped replica re-filled', () => (back.status().applied >= l.status().commit ? true : undefined), 5000);
    } catch (e) {
      console.log(JSON.stringify(back.status()), JSON.stringify([...(l as unknown as { node: { status(): { progress: Map<string, unknown> } } }).node.status().progress]));
      throw e;
    }
    expect(keys(back)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
  });
});
