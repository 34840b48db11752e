import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/random.js';
import type { WriteOpKind } from '../../src/common/storage-api.js';
import type { Row, Value } from '../../src/common/types.js';
import { decodeWriteBatch, encodeWriteBatch, type LoggedWriteOp } from '../../src/wal/op-codec.js';

// The 'write' log entry of prepared ops: small payloads go through the encoder's reused scratch
// and come out at their exact size, after `leadingBytes` left for the entry's kind byte.

const KINDS: readonly WriteOpKind[] = ['insert', 'insert_ignore', 'upsert', 'update', 'update_ignore', 'delete', 'delete_ignore'];

function randomValue(r: () => number): Value | undefined {
  switch (Math.floor(r() * 9)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return r() < 0.5;
    case 3: return r() * 1e6 - 5e5;
    case 4: return BigInt(Math.floor(r() * 2 ** 40)) - 2n ** 39n;
    case 5: return (2n ** 70n + BigInt(Math.floor(r() * 1e9))) * (r() < 0.5 ? -1n : 1n);
    case 6: return 'é€x'.repeat(Math.floor(r() * 5));
    // A long string: a batch whose later rows outgrow the first row's estimate.
    case 7: return 'y'.repeat(Math.floor(r() * 3000));
    default: return Uint8Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * 256));
  }
}

/** Binary cells as byte lists (the decoder hands back Buffers). */
function plain(ops: readonly LoggedWriteOp[]): unknown[] {
  return ops.map((o) => ({ kind: o.kind, row: o.row.map((v) => (v instanceof Uint8Array ? { bytes: Array.from(v) } : v)) }));
}

describe('write entry encoding', () => {
  it('round-trips one and many ops with and without a leading byte; results do not share the scratch', () => {
    const seed = Number(process.env.SEED ?? 11);
    const r = mulberry32(seed);
    const kept: { bytes: Uint8Array; lead: number; ops: LoggedWriteOp[]; timestamp: bigint }[] = [];
    for (let t = 0; t < 300; t++) {
      const n = r() < 0.5 ? 1 : 1 + Math.floor(r() * (r() < 0.1 ? 200 : 6));
      const ops: LoggedWriteOp[] = [];
      for (let i = 0; i < n; i++) {
        const cells = Math.floor(r() * 5);
        const row: (Value | undefined)[] = [];
        for (let c = 0; c < cells; c++) row.push(randomValue(r));
        ops.push({ kind: KINDS[Math.floor(r() * KINDS.length)] as WriteOpKind, row: row as Row });
      }
      const lead = t % 2;
      const timestamp = BigInt(t) * 4096n + 5n;
      const bytes = encodeWriteBatch({ timestamp, ops }, lead);
      if (lead === 1) bytes[0] = 0xab;
      kept.push({ bytes, lead, ops, timestamp });
    }
    // Decoded after all encodes: a later encode must not have overwritten an earlier result.
    for (const [i, k] of kept.entries()) {
      if (k.lead === 1) expect(k.bytes[0], `seed ${seed} #${i}`).toBe(0xab);
      const back = decodeWriteBatch(k.bytes.subarray(k.lead));
      expect(back.timestamp).toBe(k.timestamp);
      expect(plain(back.ops), `seed ${seed} #${i}`).toEqual(plain(k.ops));
    }
  });
});
