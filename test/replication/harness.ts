/**
 * A tiny synchronous cluster for scenario tests: every replica persists each Ready to its
 * MemoryStorage, then its messages go through `filter` into a FIFO that settle() drains.
 */
import { RaftNode } from '../../src/replication/raft.js';
import type { RaftOptions } from '../../src/replication/config.js';
import { SeededRandom } from '../../src/replication/random.js';
import { MemoryStorage } from '../../src/replication/storage.js';
import type { Entry, Message, ReadState, ReplicaId } from '../../src/replication/types.js';

export class Cluster {
  readonly nodes = new Map<ReplicaId, RaftNode>();
  readonly storages = new Map<ReplicaId, MemoryStorage>();
  readonly applied = new Map<ReplicaId, Entry[]>();
  readonly reads = new Map<ReplicaId, ReadState[]>();
  readonly sent: Message[] = [];
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;
  private queue: Message[] = [];
  private readonly rnd: SeededRandom;

  constructor(ids: readonly ReplicaId[], private readonly opts: Partial<RaftOptions> = {}, seed = 1) {
    this.rnd = new SeededRandom(seed);
    for (const id of ids) this.add(id, MemoryStorage.bootstrap(ids));
  }

  add(id: ReplicaId, storage: MemoryStorage = new MemoryStorage()): RaftNode {
    const node = new RaftNode({
      electionTicks: 10, heartbeatTicks: 1, ...this.opts, id, storage, random: new SeededRandom(this.rnd.intBelow(1e9)),
      applied: storage.snapshot().metadata.index,
    });
    this.nodes.set(id, node);
    this.storages.set(id, storage);
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.reads.has(id)) this.reads.set(id, []);
    this.processReady(id);
    return node;
  }

  /** Restarts `id` from its storage only. */
  restart(id: ReplicaId): RaftNode {
    this.applied.set(id, []);
    return this.add(id, this.storages.get(id)!);
  }

  node(id: ReplicaId): RaftNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private processReady(id: ReplicaId): boolean {
    const n = this.nodes.get(id)!;
    if (!n.hasReady()) return false;
    const rd = n.ready();
    const st = this.storages.get(id)!;
    if (rd.snapshot !== undefined) st.applySnapshot(rd.snapshot);
    st.append(rd.entries);
    if (rd.hardState !== undefined) st.setHardState(rd.hardState);
    for (const m of rd.messages) {
      this.sent.push(m);
      if (this.filter(m)) this.queue.push(m);
    }
    this.applied.get(id)!.push(...rd.committedEntries);
    this.reads.get(id)!.push(...rd.readStates);
    n.advance(rd);
    return true;
  }

  /** Processes readies and delivers messages until nothing moves. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.nodes.keys()) moved = this.processReady(id) || moved;
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        const to = this.nodes.get(m.to);
        if (to !== undefined) {
          to.step(m);
          moved = true;
        }
      }
      if (!moved) return;
    }
    throw new Error('cluster did not settle');
  }

  tickAll(n = 1, only?: readonly ReplicaId[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (only === undefined || only.includes(id)) node.tick();
      this.settle();
    }
  }

  /** Ticks until some replica leads (and its no-op committed). */
  elect(only?: readonly ReplicaId[]): RaftNode {
    for (let i = 0; i < 200; i++) {
      this.tickAll(1, only);
      for (const [id, n] of this.nodes) if ((only === undefined || only.includes(id)) && n.isLeader()) return n;
    }
    throw new Error('no leader elected');
  }

  leader(): RaftNode | undefined {
    return [...this.nodes.values()].find((n) => n.isLeader());
  }

  /** Normal non-empty entries applied by `id`, decoded as text. */
  appliedData(id: ReplicaId): string[] {
    return this.applied.get(id)!.filter((e) => e.type === 'Normal' && e.data.length > 0).map((e) => new TextDecoder().decode(e.data));
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
