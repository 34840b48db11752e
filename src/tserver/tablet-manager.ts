import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SaigaError } from '../common/errors.js';
import type { HybridClock } from '../common/hybrid-time.js';
import type { Limits } from '../common/limits.js';
import type { Schema } from '../common/types.js';
import { RaftDriver } from '../replication/raft-driver.js';
import { syncDir } from '../wal/index.js';
import { TabletReplica } from './tablet-replica.js';

/** The embedded server's id: the only voter of every group. */
export const EMBEDDED_SERVER_ID = 'local';

/**
 * The tablet replicas of one data directory: `dataDir/tablets/<tabletId>/{data,wal}`. Opens the
 * ones the catalog lists, deletes directories it does not (left over by a crash in the middle
 * of a create or drop).
 *
 * Every tablet runs as a one-voter Raft group (TabletReplica, `singleVoter`) on one in-process
 * RaftDriver: the same write path as a replicated tablet (propose -> persist with group commit ->
 * commit -> apply), with no network (the transport is never used: a lone voter sends nothing)
 * and no tick timer (a lone voter needs no elections after its first, nor heartbeats).
 */
export class TabletManager {
  private readonly replicas = new Map<string, TabletReplica>();
  private readonly root: string;
  private readonly driver = new RaftDriver({
    serverId: EMBEDDED_SERVER_ID,
    tickMs: 50,
    // Group commit across event-loop turns: writers answered by a persist get up to 1 ms (the
    // shortest timer) to send their next write before the next persist starts (RaftDriver.tryHold).
    holdMsMax: 1,
    transport: { send: (to) => Promise.reject(new SaigaError('IllegalState', `the embedded server has no peers, found a message to ${to}`)) },
  });

  constructor(
    dataDir: string,
    private readonly clock: HybridClock,
    private readonly limits: Limits,
  ) {
    this.root = join(dataDir, 'tablets');
    mkdirSync(this.root, { recursive: true });
  }

  private dirOf(tabletId: string): string {
    return join(this.root, tabletId);
  }

  /** Opens every listed tablet (schema used for ones that do not exist yet) and removes orphans. */
  async openAll(tablets: ReadonlyArray<{ readonly tabletId: string; readonly schema: Schema }>): Promise<void> {
    const wanted = new Set(tablets.map((t) => t.tabletId));
    let removed = false;
    for (const name of readdirSync(this.root)) {
      if (!wanted.has(name)) {
        rmSync(join(this.root, name), { recursive: true, force: true });
        removed = true;
      }
    }
    if (removed) syncDir(this.root);
    for (const t of tablets) await this.open(t.tabletId, t.schema);
  }

  async open(tabletId: string, schema: Schema): Promise<TabletReplica> {
    const existing = this.replicas.get(tabletId);
    if (existing !== undefined) return existing;
    const dir = this.dirOf(tabletId);
    const created = !existsSync(dir);
    const r = await TabletReplica.open({ dir, tabletId, schema, clock: this.clock, limits: this.limits, driver: this.driver, singleVoter: true, seed: 1 });
    if (created) syncDir(this.root);
    this.replicas.set(tabletId, r);
    return r;
  }

  get(tabletId: string): TabletReplica {
    const r = this.replicas.get(tabletId);
    if (r === undefined) throw new SaigaError('NotFound', `tablet ${tabletId} is not open on this server`);
    return r;
  }

  all(): TabletReplica[] {
    return [...this.replicas.values()];
  }

  /** Closes the replica and deletes its files. */
  async delete(tabletId: string): Promise<void> {
    const r = this.replicas.get(tabletId);
    this.replicas.delete(tabletId);
    if (r !== undefined) await r.close();
    rmSync(this.dirOf(tabletId), { recursive: true, force: true });
    syncDir(this.root);
  }

  async closeAll(): Promise<void> {
    const all = this.all();
    this.replicas.clear();
    for (const r of all) await r.close();
  }
}
