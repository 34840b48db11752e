import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/random.js';
import { encodeKey } from '../../src/common/key-encoding.js';
import type { RowError, WriteOpKind } from '../../src/common/storage-api.js';
import type { Row, Schema, Value } from '../../src/common/types.js';
import { openTablet, type Tablet } from '../../src/tablet/index.js';
import type { ApplyResult, PreparedOps, WriteOp } from '../../src/tablet/tablet-api.js';

// prepareOps + applyPreparedOps (the leader's path, with its one-op shortcut) must give the
// results and contents of applyWrite (what followers and replay run), for one op and for several.

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'saiga-prepare-ops-')); dirs.push(d); return d; };

const schema: Schema = {
  keyColumnCount: 2,
  columns: [
    { name: 'k', type: 'int64', nullable: false },
    { name: 's', type: 'string', nullable: false },
    { name: 'a', type: 'int32', nullable: false, defaultValue: 3 },
    { name: 'b', type: 'string', nullable: true },
  ],
};

const KINDS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];

function randomOp(r: () => number): WriteOp {
  const kind = KINDS[Math.floor(r() * KINDS.length)] as WriteOpKind;
  const k = BigInt(Math.floor(r() * 40));
  const s = r() < 0.02 ? null : `s${Math.floor(r() * 3)}`;
  const x = r();
  const a: Value | undefined = x < 0.2 ? undefined : x < 0.24 ? null : x < 0.27 ? 'bad' : Math.floor(r() * 1000);
  const y = r();
  const b: Value | undefined = y < 0.2 ? undefined : y < 0.3 ? null : 'b'.repeat(Math.floor(r() * 20));
  return { kind, row: [k, s, a, b] as Row };
}

/** The row errors of a prepared write by input index, as TabletReplica reports them. */
function byInput(p: PreparedOps, applied: ApplyResult): { rowIndex: number; code: string; message: string }[] {
  const map = p.inputIndex;
  const all: RowError[] = [...p.rowErrors, ...applied.rowErrors.map((e) => ({ ...e, rowIndex: map === undefined ? e.rowIndex : (map[e.rowIndex] as number) }))];
  return all.sort((x, y) => x.rowIndex - y.rowIndex).map((e) => ({ rowIndex: e.rowIndex, code: e.code, message: e.message }));
}

function contents(t: Tablet): string[] {
  const out: string[] = [];
  for (const b of t.scan({})) {
    for (let i = 0; i < b.numRows; i++) out.push(b.schema.fields.map((f) => String(b.getChild(f.name)?.get(i))).join('|'));
  }
  return out;
}

describe('prepareOps + applyPreparedOps', () => {
  it('agrees with applyWrite for random one- and few-op writes, across flushes', () => {
    const seed = Number(process.env.SEED ?? 7);
    const r = mulberry32(seed);
    const leader = openTablet({ dir: tmp(), tabletId: 'p', schema });
    const follower = openTablet({ dir: tmp(), tabletId: 'w', schema });
    try {
      for (let index = 1; index <= 600; index++) {
        const n = r() < 0.6 ? 1 : 2 + Math.floor(r() * 4);
        const ops: WriteOp[] = [];
        for (let i = 0; i < n; i++) ops.push(randomOp(r));
        const ts = BigInt(index) * 10n;
        const p = leader.prepareOps(ops);
        expect(p.ops.length + p.rowErrors.length).toBe(n);
        const got = p.ops.length === 0 ? { appliedCount: 0, rowErrors: [] } : leader.applyPreparedOps({ term: 1, index }, ts, p);
        const want = follower.applyWrite({ term: 1, index }, ts, p.ops);
        expect(got.appliedCount, `seed ${seed} index ${index}`).toBe(want.appliedCount);
        expect(byInput(p, got), `seed ${seed} index ${index}`).toEqual(byInput(p, want));
        // The ops left out are the ones validate rejects.
        expect(p.rowErrors.map((e) => e.code)).toEqual(leader.validate(ops).map((e) => e.code));
        if (index % 150 === 0) {
          // Rows on disk: later updates and deletes go to DeltaMemStores (touched rowsets).
          leader.flush();
          follower.flush();
        }
      }
      const a = contents(leader);
      expect(a.length).toBeGreaterThan(5);
      expect(a).toEqual(contents(follower));
    } catch (e) {
      console.error(`prepare-ops seed ${seed}`);
      throw e;
    } finally {
      leader.close();
      follower.close();
    }
  });

  it('one op: the input ops, an exact key, no row errors; an invalid op: left out with its error', () => {
    const t = openTablet({ dir: tmp(), tabletId: 'one', schema });
    try {
      const ops: WriteOp[] = [{ kind: 'insert', row: [5n, 'x', undefined, null] }];
      const p = t.prepareOps(ops);
      expect(p.ops).toBe(ops);
      expect(p.rowErrors).toEqual([]);
      expect(p.inputIndex).toBeUndefined();
      expect(p.rows).toEqual([[5n, 'x', 3, null]]);
      const key = encodeKey(schema, [5n, 'x']);
      expect(Array.from(p.keyOffsets)).toEqual([0, key.length]);
      expect(Buffer.from(p.keyBytes).equals(Buffer.from(key))).toBe(true);
      // The key was copied out of the shared encoding buffer: preparing another op leaves it.
      const q = t.prepareOps([{ kind: 'insert', row: [6n, 'yy', 1, null] }]);
      expect(Buffer.from(p.keyBytes).equals(Buffer.from(key))).toBe(true);
      expect(t.applyPreparedOps({ term: 1, index: 1 }, 10n, p)).toEqual({ appliedCount: 1, rowErrors: [] });
      expect(t.applyPreparedOps({ term: 1, index: 2 }, 20n, q).appliedCount).toBe(1);
      const dup = t.prepareOps([{ kind: 'insert', row: [5n, 'x', 9, null] }]);
      expect(t.applyPreparedOps({ term: 1, index: 3 }, 30n, dup).rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'AlreadyPresent']]);
      const bad = t.prepareOps([{ kind: 'insert', row: [7n, 'z', 'nan', null] }]);
      expect(bad.ops).toEqual([]);
      expect(bad.rows).toEqual([]);
      expect(bad.rowErrors.map((e) => [e.rowIndex, e.code])).toEqual([[0, 'InvalidArgument']]);
      expect(contents(t)).toEqual(['5|x|3|null', '6|yy|1|null']);
    } finally {
      t.close();
    }
  });
});
