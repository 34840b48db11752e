import * as arrow from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { DEFAULT_LIMITS } from '../../src/common/limits.js';
import type { Schema } from '../../src/common/types.js';
import { TabletServer } from '../../src/tserver/tablet-server.js';
import { TabletServerClient } from '../../src/tserver/tserver-client.js';

// WriteStream: many writes over one stream per client, each answered on its own (by id).

const schema: Schema = { keyColumnCount: 1, columns: [{ name: 'k', type: 'int64', nullable: false }, { name: 'v', type: 'int64', nullable: true }] };
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startServer(): Promise<{ s: TabletServer; c: TabletServerClient }> {
  const dir = mkdtempSync(join(tmpdir(), 'saiga-ws-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const s = await TabletServer.start({ id: 'ts-1', dataDir: dir, limits: DEFAULT_LIMITS, tickMs: 10, maintenanceMs: 0 });
  let closed = false;
  cleanup.push(async () => {
    if (!closed) await s.close();
  });
  await s.configure({ peers: { 'ts-1': `127.0.0.1:${s.port}` }, tablets: [{ tabletId: 't', schema, voters: ['ts-1'] }] });
  const end = Date.now() + 10_000;
  while (!s.replica('t').isLeader()) {
    if (Date.now() > end) throw new Error('the one-voter group elected no leader within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  const c = new TabletServerClient(`127.0.0.1:${s.port}`);
  cleanup.push(() => c.close());
  const close = s.close.bind(s);
  s.close = async () => {
    closed = true;
    await close();
  };
  return { s, c };
}

function int64Batch(keys: number[]): arrow.RecordBatch {
  const k = BigInt64Array.from(keys.map(BigInt));
  const v = BigInt64Array.from(keys.map((x) => BigInt(2 * x)));
  const fields = [new arrow.Field('k', new arrow.Int64(), false), new arrow.Field('v', new arrow.Int64(), true)];
  const children = [arrow.makeData({ type: new arrow.Int64(), length: keys.length, data: k }), arrow.makeData({ type: new arrow.Int64(), length: keys.length, data: v })];
  return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: keys.length, children }));
}

describe('WriteStream', () => {
  it('answers concurrent writes individually: row errors, per-write failures and columnar writes do not leak into each other', async () => {
    const { s, c } = await startServer();
    // 64 concurrent single-row inserts issued in one turn (one request message), every 8th a duplicate of an earlier key.
    const writes = Array.from({ length: 64 }, (_, i) => {
      const k = i % 8 === 7 ? i - 1 : i;
      return c.write('t', [{ kind: 'insert', row: [BigInt(k), BigInt(i)] }]);
    });
    // A write to a tablet the server does not host fails alone.
    const missing = c.write('nope', [{ kind: 'insert', row: [1n, 1n] }]).then(() => 'ok', (e: unknown) => (isSaigaError(e) ? e.code : String(e)));
    const columnar = c.writeArrow('t', 'insert', int64Batch([1000, 1001, 3, 1002]));
    const results = await Promise.all(writes);
    // Duplicates race with their originals inside one batch; exactly one of each pair fails.
    let failed = 0;
    for (const r of results) {
      expect(r.appliedCount + r.rowErrors.length).toBe(1);
      if (r.rowErrors.length > 0) {
        expect(r.rowErrors[0]?.rowIndex).toBe(0);
        failed++;
      }
    }
    expect(failed).toBe(8);
    expect(await missing).toBe('NotFound');
    const cr = await columnar;
    expect(cr.appliedCount).toBe(3);
    expect(cr.rowErrors.map((e) => e.rowIndex)).toEqual([2]); // key 3 was inserted by the single-row writes
    const timestamps = new Set(results.map((r) => r.timestamp));
    expect(timestamps.size).toBeGreaterThan(1); // each write got its own timestamp
    const scanned = await c.scan('t', { projection: ['k'] });
    expect(scanned.rowCount).toBe(56 + 3);
    expect(s.replica('t').status().applied).toBeGreaterThan(0);
  }, 30_000);

  it('fails unanswered writes with ServiceUnavailable when the stream breaks, then reconnects', async () => {
    const { s, c } = await startServer();
    await c.write('t', [{ kind: 'insert', row: [1n, 1n] }]);
    await s.close();
    const err = await c.write('t', [{ kind: 'insert', row: [2n, 2n] }], 5_000).then(() => undefined, (e: unknown) => e);
    expect(isSaigaError(err, 'ServiceUnavailable')).toBe(true);
    // A fresh server and client: the stream opens again.
    const { c: c2 } = await startServer();
    const r = await c2.write('t', [{ kind: 'upsert', row: [5n, 5n] }], 5_000);
    expect(r.appliedCount).toBe(1);
  }, 30_000);
});
