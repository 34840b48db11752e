import * as arrow from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { ProcessCluster } from '../../src/tserver/process-cluster.js';
import { ensureDistBuilt, until } from './helpers.js';

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'string', nullable: true }] };
const TABLET = 'tablet-copy';
const IDS = ['ts-a', 'ts-b', 'ts-c'];

beforeAll(ensureDistBuilt, 120_000);

let cluster: ProcessCluster | undefined;
let root: string | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  if (root !== undefined && process.env['RD_KEEP'] === undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

async function rowsOn(c: ProcessCluster, id: string): Promise<string[]> {
  const { batches } = await c.client(id).scan(TABLET, { ordered: true });
  const out: string[] = [];
  for (const b of batches) {
    const ks = b.getChildAt(0)?.toArray() as BigInt64Array;
    const vs = b.getChildAt(1)?.toArray() as (string | null)[];
    for (let i = 0; i < b.numRows; i++) out.push(`${ks[i]}=${vs[i]}`);
  }
  return out;
}

describe('tablet copy', () => {
  it('re-fills a wiped replica through a tablet copy once the leader garbage-collected its log', async () => {
    root = mkdtempSync(join(tmpdir(), 'saiga-copy-'));
    const c = new ProcessCluster({ root, ids: IDS, tickMs: 50, electionTicks: 10, logSegmentBytes: 8 * 1024, maintenanceMs: 0 });
    cluster = c;
    await Promise.all(IDS.map((id) => c.start(id)));
    await c.configure([{ tabletId: TABLET, schema, voters: IDS }]);
    let leader = await until('a leader', () => c.leader(TABLET), 10_000);
    const expected = new Map<bigint, string>();
    let hint: string | undefined = leader;
    const writeRange = async (from: number, to: number, tag: string): Promise<void> => {
      for (let k = from; k < to; k += 20) {
        const ops = [];
        for (let j = k; j < Math.min(to, k + 20); j++) ops.push({ kind: 'upsert' as const, row: [BigInt(j), `${tag}-${j}-${'x'.repeat(40)}`] });
        const r = await c.write(TABLET, ops, 15_000, hint);
        hint = r.server;
        for (const op of ops) expected.set(op.row[0] as bigint, op.row[1] as string);
      }
    };
    await writeRange(0, 600, 'a');

    // A follower goes away and loses its disk; the others move on and drop their old log.
    const victim = IDS.find((id) => id !== leader) as string;
    await c.stop(victim);
    c.wipe(victim);
    await writeRange(300, 900, 'b'); // updates of flushed-to-be rows and new rows
    leader = await until('a leader', () => c.leader(TABLET, IDS.filter((id) => id !== victim)), 10_000);
    for (const id of IDS.filter((x) => x !== victim)) {
      const f = await c.client(id).flush(TABLET);
      expect(f.logFirstIndex).toBeGreaterThan(10);
    }
    const before = await c.client(leader).status(TABLET);
    expect(before.logFirstIndex).toBeGreaterThan(10);

    // Back empty: the leader cannot send entries from index 1, so it sends a tablet copy.
    await c.start(victim);
    await c.configure([{ tabletId: TABLET, schema, voters: IDS }], [victim]);
    await writeRange(900, 1000, 'c');
    await until('wiped replica caught up', async () => {
      const [s, l] = await Promise.all([c.client(victim).status(TABLET).catch(() => undefined), c.client(leader).status(TABLET).catch(() => undefined)]);
      return s !== undefined && l !== undefined && s.applied >= l.commit ? true : undefined;
    }, 20_000);
    const vs = await c.client(victim).status(TABLET);
    expect(vs.copiesInstalled).toBeGreaterThanOrEqual(1);
    expect(vs.logFirstIndex).toBeGreaterThan(1);
    const served = await Promise.all(IDS.filter((x) => x !== victim).map((id) => c.client(id).status(TABLET)));
    expect(served.reduce((n, s) => n + s.copiesServed, 0)).toBeGreaterThanOrEqual(1);

    // It keeps replicating from the log after the copy (also columnar writes: one writeBatch
    // entry; the existing key 5 is refused as a row error), and restarts from copy + log.
    await writeRange(950, 1100, 'd');
    const cols = new arrow.Table({ k: arrow.vectorFromArray([2000n, 5n, 2001n], new arrow.Int64()), v: arrow.vectorFromArray(['e-2000', 'e-5', 'e-2001'], new arrow.Utf8()) }).batches[0] as arrow.RecordBatch;
    const wa = await c.writeArrow(TABLET, 'insert', cols, 15_000, hint);
    expect(wa.appliedCount).toBe(2);
    expected.set(2000n, 'e-2000');
    expected.set(2001n, 'e-2001');
    await c.stop(victim);
    await c.start(victim);
    const want = [...expected].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
    leader = await until('a leader at the end', () => c.leader(TABLET), 10_000);
    const commit = (await c.client(leader).status(TABLET)).commit;
    await until('all replicas applied the commit', async () => {
      const st = await Promise.all(IDS.map((id) => c.client(id).status(TABLET).catch(() => undefined)));
      return st.every((s) => s !== undefined && s.applied >= commit) ? true : undefined;
    }, 20_000);
    for (const id of IDS) expect(await rowsOn(c, id)).toEqual(want);
  }, 90_000);
});
