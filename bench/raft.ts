import * as arrow from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schema } from '../src/common/types.js';
import { ProcessCluster } from '../src/tserver/process-cluster.js';
import { emit, machine, percentile } from './report.js';

/**
 * `npm run bench -- raft [seconds]`: one tablet replicated by three tablet server processes on
 * loopback. Figures: single-row write ops/s and commit latency with 16 concurrent writers (they
 * share one client, whose WriteStream carries the writes of one event-loop turn in one message),
 * the latency of one writer alone (the round-trip floor),
 * (after a warm-up of the same load, SAIGA_BENCH_RAFT_WARMUP_S, default 5 s, reported apart),
 * rows/s with 16 writers of 1000-row batches (columnar WriteArrow, and JSON rows), and failover time after SIGKILL of the leader
 * (kill -> first acknowledged write on the new leader). Targets: >= 10k ops/s, >= 300k rows/s,
 * p50 <= 3 ms, failover <= 3 s.
 */

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int64', nullable: true }, { name: 's', type: 'string', nullable: true }] };
const TABLET = 'bench-tablet';
const IDS = ['ts-1', 'ts-2', 'ts-3'];
const WRITERS = 16;

/** Rows base..base+n-1 as one Arrow batch (k, v = i, s = 'row'), built from typed arrays. */
function arrowRows(base: number, n: number): arrow.RecordBatch {
  const k = new BigInt64Array(n);
  const v = new BigInt64Array(n);
  const offsets = new Int32Array(n + 1);
  const text = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    k[i] = BigInt(base + i);
    v[i] = BigInt(i);
    text[3 * i] = 0x72; // 'r'
    text[3 * i + 1] = 0x6f; // 'o'
    text[3 * i + 2] = 0x77; // 'w'
    offsets[i + 1] = 3 * (i + 1);
  }
  const fields = [new arrow.Field('k', new arrow.Int64(), false), new arrow.Field('v', new arrow.Int64(), true), new arrow.Field('s', new arrow.Utf8(), true)];
  const children = [
    arrow.makeData({ type: new arrow.Int64(), length: n, data: k }),
    arrow.makeData({ type: new arrow.Int64(), length: n, data: v }),
    arrow.makeData({ type: new arrow.Utf8(), length: n, valueOffsets: offsets, data: text }),
  ];
  const schema = new arrow.Schema(fields);
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: n, children }));
}

type Counters = Record<string, number>;

/** Every server's counters (TabletServerStats) and Raft last index of the tablet, by server id. */
async function snapshotCounters(c: ProcessCluster): Promise<Map<string, { stats: Counters; lastIndex: number; role: string }>> {
  const out = new Map<string, { stats: Counters; lastIndex: number; role: string }>();
  for (const id of c.running()) {
    const s = await c.client(id).status(TABLET);
    const raw = JSON.parse(s.statsJson) as Record<string, unknown>;
    const stats: Counters = {};
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === 'number') stats[k] = v;
      else if (typeof v === 'object' && v !== null) for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number') stats[`${k}.${k2}`] = v2;
    }
    out.set(id, { stats, lastIndex: Number(s.lastIndex), role: s.role });
  }
  return out;
}

/**
 * Per committed write: the counter differences between two snapshots, divided by `writes`, for
 * the leader and the followers (averaged), plus Raft entries per write at the leader.
 */
function emitCounters(phase: string, before: Awaited<ReturnType<typeof snapshotCounters>>, after: Awaited<ReturnType<typeof snapshotCounters>>, writes: number): void {
  const per = (id: string): Counters => {
    const a = after.get(id)!.stats;
    const b = before.get(id)?.stats ?? {};
    const r: Counters = {};
    for (const k of Object.keys(a)) r[k] = +(((a[k] ?? 0) - (b[k] ?? 0)) / writes).toFixed(3);
    r['cpuUsPerWrite'] = +((((a['cpuUserUs'] ?? 0) + (a['cpuSystemUs'] ?? 0)) - ((b['cpuUserUs'] ?? 0) + (b['cpuSystemUs'] ?? 0))) / writes).toFixed(1);
    r['cpuUserUs'] = +(((a['cpuUserUs'] ?? 0) - (b['cpuUserUs'] ?? 0)) / writes).toFixed(1);
    r['cpuSystemUs'] = +(((a['cpuSystemUs'] ?? 0) - (b['cpuSystemUs'] ?? 0)) / writes).toFixed(1);
    return r;
  };
  for (const [id, a] of after) {
    const b = before.get(id);
    const role = a.role === 'Leader' ? 'leader' : 'follower';
    const p = per(id);
    // value: consensus messages sent + received per write on this server.
    emit({
      name: `raft.${phase}.per_write.${role}`, value: +((p['consensusMsgsSent'] ?? 0) + (p['consensusMsgsReceived'] ?? 0)).toFixed(3), unit: 'msgs/write',
      server: id, writes, raftEntriesPerWrite: b === undefined ? null : +((a.lastIndex - b.lastIndex) / writes).toFixed(4), ...p,
    });
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const root = mkdtempSync(join(tmpdir(), 'saiga-bench-raft-'));
  // SAIGA_SERVER_NODE_ARGS (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to every tablet server process;
  // SAIGA_BENCH_RAFT_ONLY=single stops after the single-row figures; =batch runs only the WriteArrow
  // batch phase (after a batch warm-up) and stops the servers with SIGTERM (profiles get written).
  const nodeArgs = (process.env['SAIGA_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const singleOnly = process.env['SAIGA_BENCH_RAFT_ONLY'] === 'single';
  const batchOnly = process.env['SAIGA_BENCH_RAFT_ONLY'] === 'batch';
  const c = new ProcessCluster({ root, ids: IDS, tickMs: 50, electionTicks: 10, nodeArgs });
  try {
    await Promise.all(IDS.map((id) => c.start(id)));
    await c.configure([{ tabletId: TABLET, schema, voters: IDS }]);
    let leader: string | undefined;
    while ((leader = await c.leader(TABLET)) === undefined) await new Promise((r) => setTimeout(r, 50));
    let next = 0;
    let hint: string | undefined = leader;
    // Leader-following writes: under load a leader may step down; the cluster client retries.
    const write = async (ops: Parameters<ProcessCluster['write']>[1]): Promise<number> => {
      const r = await c.write(TABLET, ops, 30_000, hint);
      hint = r.server;
      return r.appliedCount;
    };

    // Single-row ops: 16 closed-loop writers for `seconds`.
    const singleRows = async (ms: number, lat: number[]): Promise<number> => {
      let ops = 0;
      const end = performance.now() + ms;
      await Promise.all(Array.from({ length: WRITERS }, async () => {
        while (performance.now() < end) {
          const k = BigInt(next++);
          const t0 = performance.now();
          await write([{ kind: 'upsert', row: [k, k, 'x'] }]);
          lat.push(performance.now() - t0);
          ops++;
        }
      }));
      return ops;
    };
    // Warm-up, not counted: the same load first (SAIGA_BENCH_RAFT_WARMUP_S, default 5 s). Fresh
    // server processes run their per-round code (gRPC, HTTP/2 streams, the driver) only a few hundred
    // times a second, so V8 takes seconds to optimize it: measured from a cold start, a 3 s window
    // reported about half the steady rate at two to three times the CPU per write.
    const warmupS = Number(process.env['SAIGA_BENCH_RAFT_WARMUP_S'] ?? 5);
    if (!batchOnly) {
      if (warmupS > 0) {
        const warmLat: number[] = [];
        const warmOps = await singleRows(warmupS * 1000, warmLat);
        emit({ name: 'raft.single_row_warmup_ops_per_s', value: Math.round(warmOps / warmupS), unit: 'ops/s', writers: WRITERS, seconds: warmupS, p50Ms: +percentile(warmLat, 50).toFixed(2), note: 'cold processes, not the figure' });
      }
      const counters0 = await snapshotCounters(c);
      const clientCpu0 = process.cpuUsage();
      const lat: number[] = [];
      const ops = await singleRows(seconds * 1000, lat);
      const t1 = seconds;
      const clientCpu = process.cpuUsage(clientCpu0);
      emitCounters('single', counters0, await snapshotCounters(c), ops);
      // The bench process is the client: its CPU per write (user / system µs) counts toward the shared cores too.
      emit({ name: 'raft.single.per_write.client', value: +((clientCpu.user + clientCpu.system) / ops).toFixed(1), unit: 'cpu µs/write', cpuUserUs: +(clientCpu.user / ops).toFixed(1), cpuSystemUs: +(clientCpu.system / ops).toFixed(1) });
      emit({ name: 'raft.single_row_ops_per_s', value: Math.round(ops / t1), unit: 'ops/s', writers: WRITERS, target: 10_000, machine: machine() });
      emit({ name: 'raft.commit_latency_p50', value: +percentile(lat, 50).toFixed(2), unit: 'ms', writers: WRITERS, target: 3 });
      emit({ name: 'raft.commit_latency_p99', value: +percentile(lat, 99).toFixed(2), unit: 'ms', writers: WRITERS });

      // One writer alone: client -> leader -> followers' fsync -> leader -> client, nothing to batch with.
      const lat1: number[] = [];
      const end4 = performance.now() + Math.min(seconds, 2) * 1000;
      while (performance.now() < end4) {
        const k = BigInt(next++);
        const t0 = performance.now();
        await write([{ kind: 'upsert', row: [k, k, 'x'] }]);
        lat1.push(performance.now() - t0);
      }
      emit({ name: 'raft.single_writer_latency_p50', value: +percentile(lat1, 50).toFixed(2), unit: 'ms', writers: 1 });
      emit({ name: 'raft.single_writer_latency_p99', value: +percentile(lat1, 99).toFixed(2), unit: 'ms', writers: 1 });
      if (singleOnly) {
        // A clean exit (SIGTERM) lets --cpu-prof write its profiles.
        for (const id of IDS) c.kill(id, 'SIGTERM');
        await new Promise((r) => setTimeout(r, 2000));
        return;
      }
    }

    // 1000-row batches, columnar (WriteArrow: one Arrow IPC body, one writeBatch log entry).
    const arrowBatches = async (ms: number, lat: number[]): Promise<number> => {
      let n = 0;
      const end = performance.now() + ms;
      await Promise.all(Array.from({ length: WRITERS }, async () => {
        while (performance.now() < end) {
          const base = next;
          next += 1000;
          const t0 = performance.now();
          const r = await c.writeArrow(TABLET, 'upsert', arrowRows(base, 1000), 30_000, hint);
          hint = r.server;
          n += r.appliedCount;
          lat.push(performance.now() - t0);
        }
      }));
      return n;
    };
    if (batchOnly && warmupS > 0) {
      const warmRows = await arrowBatches(warmupS * 1000, []);
      emit({ name: 'raft.batch_warmup_rows_per_s', value: Math.round(warmRows / warmupS), unit: 'rows/s', writers: WRITERS, seconds: warmupS, note: 'cold processes, not the figure' });
    }
    const countersA = await snapshotCounters(c);
    const alat: number[] = [];
    const start3 = performance.now();
    const arows = await arrowBatches(seconds * 1000, alat);
    emitCounters('arrow_batch', countersA, await snapshotCounters(c), alat.length);
    emit({ name: 'raft.batch_rows_per_s', value: Math.round(arows / ((performance.now() - start3) / 1000)), unit: 'rows/s', writers: WRITERS, batchRows: 1000, path: 'WriteArrow', target: 300_000 });
    emit({ name: 'raft.batch_commit_latency_p50', value: +percentile(alat, 50).toFixed(2), unit: 'ms', path: 'WriteArrow' });
    if (batchOnly) {
      for (const id of IDS) c.kill(id, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 2000));
      return;
    }

    // 1000-row batches as JSON rows (Write).
    const countersJ = await snapshotCounters(c);
    let rows = 0;
    const blat: number[] = [];
    const end2 = performance.now() + seconds * 1000;
    const start2 = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      while (performance.now() < end2) {
        const base = next;
        next += 1000;
        const batch = Array.from({ length: 1000 }, (_, i) => ({ kind: 'upsert' as const, row: [BigInt(base + i), BigInt(i), 'row'] }));
        const t0 = performance.now();
        rows += await write(batch);
        blat.push(performance.now() - t0);
      }
    }));
    emitCounters('json_batch', countersJ, await snapshotCounters(c), blat.length);
    emit({ name: 'raft.batch_json_rows_per_s', value: Math.round(rows / ((performance.now() - start2) / 1000)), unit: 'rows/s', writers: WRITERS, batchRows: 1000, path: 'Write (JSON rows)' });
    emit({ name: 'raft.batch_json_commit_latency_p50', value: +percentile(blat, 50).toFixed(2), unit: 'ms' });

    // Failover.
    leader = (await c.leader(TABLET)) ?? leader;
    c.kill(leader, 'SIGKILL');
    const t0 = performance.now();
    await c.write(TABLET, [{ kind: 'insert', row: [BigInt(next++), 0n, 'after'] }], 30_000, IDS.find((id) => id !== leader));
    emit({ name: 'raft.failover_ms', value: Math.round(performance.now() - t0), unit: 'ms', electionTimeoutMs: '500-1000', target: 3000 });
  } finally {
    await c.close();
    rmSync(root, { recursive: true, force: true });
  }
}
