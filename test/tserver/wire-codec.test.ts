import protobuf from 'protobufjs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/replication/random.js';
import { MESSAGE_TYPES, type Entry, type Message } from '../../src/replication/index.js';
import type { GroupMessage } from '../../src/replication/raft-driver.js';
import {
  decodeMessageBatch, decodeWriteStreamRequest, decodeWriteStreamResponse, encodeMessageBatch, encodeWriteStreamRequest,
  encodeWriteStreamResponse, type WriteItemWire, type WriteResultWire,
} from '../../src/tserver/wire-codec.js';

// The hand-written codecs must speak exactly the .proto wire format: what they write, protobufjs
// (the reference implementation proto-loader uses) reads back equal, and the other way round.

const PROTO = join(import.meta.dirname, '..', '..', 'src', 'tserver', 'proto');
const root = protobuf.loadSync([join(PROTO, 'consensus.proto'), join(PROTO, 'tablet-server.proto')]);
const PbBatch = root.lookupType('saiga.consensus.MessageBatch');
const PbReq = root.lookupType('saiga.tserver.WriteStreamRequest');
const PbRes = root.lookupType('saiga.tserver.WriteStreamResponse');
const TO_OBJECT = { longs: Number, defaults: true, arrays: true, bytes: Array } as const;

function bigNumber(r: SeededRandom): number {
  switch (r.intBelow(4)) {
    case 0: return 0;
    case 1: return r.intBelow(200);
    case 2: return r.intBelow(2 ** 31) + 2 ** 31; // past the int32 range
    default: return r.intBelow(2 ** 21) * 2 ** 32 + r.intBelow(2 ** 32); // up to 2^53
  }
}

function str(r: SeededRandom): string {
  const pool = ['', 'ts-1', 'bench-tablet', 'groupé', '日本', 'x'.repeat(200)];
  return pool[r.intBelow(pool.length)] as string;
}

function bytes(r: SeededRandom, max: number): Uint8Array {
  return Uint8Array.from({ length: r.intBelow(max) }, () => r.intBelow(256));
}

function randomMessage(r: SeededRandom): GroupMessage {
  const first = bigNumber(r);
  const entries: Entry[] = Array.from({ length: r.intBelow(4) }, (_, i) => ({ term: bigNumber(r), index: first + i, type: r.chance(0.2) ? 'ConfChange' : 'Normal', data: bytes(r, r.chance(0.1) ? 300 : 20) }));
  const m: Message = {
    type: MESSAGE_TYPES[r.intBelow(MESSAGE_TYPES.length)]!, from: str(r), to: str(r), term: bigNumber(r), logTerm: bigNumber(r), index: bigNumber(r),
    entries, commit: bigNumber(r), reject: r.chance(0.5), rejectHint: bigNumber(r), seq: bigNumber(r), force: r.chance(0.5), context: str(r),
    ...(r.chance(0.2) ? { snapshot: { metadata: { index: bigNumber(r), term: bigNumber(r), confState: { voters: [str(r), str(r)], learners: r.chance(0.5) ? [str(r)] : [] } }, data: bytes(r, 40) } } : {}),
  };
  return { groupId: str(r), message: m };
}

/** A GroupMessage as protobufjs's plain object of RaftMessage. */
function asPb(gm: GroupMessage): Record<string, unknown> {
  const m = gm.message;
  const s = m.snapshot;
  return {
    groupId: gm.groupId, type: m.type, from: m.from, to: m.to, term: m.term, logTerm: m.logTerm, index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, confChange: e.type === 'ConfChange', data: [...e.data] })),
    commit: m.commit, reject: m.reject, rejectHint: m.rejectHint, seq: m.seq, force: m.force, context: m.context,
    snapshot: s !== undefined ? { index: s.metadata.index, term: s.metadata.term, voters: [...s.metadata.confState.voters], learners: [...s.metadata.confState.learners], data: [...s.data] } : null,
  };
}

function plain(gm: GroupMessage): unknown {
  return JSON.parse(JSON.stringify(gm, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
}

describe('wire codec (hand-written protobuf)', () => {
  it('MessageBatch: ours -> protobufjs and protobufjs -> ours agree (seeded)', () => {
    const seed = 7;
    const r = new SeededRandom(seed);
    for (let i = 0; i < 500; i++) {
      const batch = Array.from({ length: r.intBelow(5) }, () => randomMessage(r));
      const from = str(r);
      const ours = encodeMessageBatch(from, batch);
      const theirs = PbBatch.toObject(PbBatch.decode(ours), TO_OBJECT) as { fromServer: string; messages: Record<string, unknown>[] };
      const want = { fromServer: from, messages: batch.map(asPb) };
      // protobufjs (defaults: true) shows an absent message field as null.
      expect(theirs, `seed ${seed} case ${i}`).toStrictEqual(JSON.parse(JSON.stringify(want)));
      const pbBytes = PbBatch.encode(PbBatch.fromObject({ fromServer: from, messages: batch.map(asPb) })).finish();
      const back = decodeMessageBatch(pbBytes);
      expect(back.fromServer).toBe(from);
      expect(back.messages.map(plain), `seed ${seed} case ${i}`).toStrictEqual(batch.map(plain));
      expect(decodeMessageBatch(ours).messages.map(plain), `seed ${seed} case ${i}`).toStrictEqual(batch.map(plain));
    }
  });

  it('WriteStream request and response: both directions (seeded)', () => {
    const seed = 11;
    const r = new SeededRandom(seed);
    for (let i = 0; i < 300; i++) {
      const items: WriteItemWire[] = Array.from({ length: r.intBelow(6) }, () => ({ id: r.intBelow(2 ** 32), tabletId: str(r), opsJson: str(r), kind: str(r), ipc: bytes(r, 50) }));
      const results: WriteResultWire[] = Array.from({ length: r.intBelow(6) }, () => ({
        id: r.intBelow(2 ** 32), appliedCount: r.intBelow(5000), rowErrorsJson: str(r), timestamp: String(bigNumber(r)), errorCode: str(r), errorMessage: str(r), leaderHint: str(r),
      }));
      const itemsPlain = items.map((x) => ({ ...x, ipc: [...x.ipc] }));
      expect(PbReq.toObject(PbReq.decode(encodeWriteStreamRequest({ items })), TO_OBJECT), `seed ${seed} case ${i}`).toStrictEqual({ items: itemsPlain });
      expect(PbRes.toObject(PbRes.decode(encodeWriteStreamResponse({ results })), TO_OBJECT), `seed ${seed} case ${i}`).toStrictEqual({ results });
      const req = decodeWriteStreamRequest(PbReq.encode(PbReq.fromObject({ items: itemsPlain })).finish());
      expect(req.items.map((x) => ({ ...x, ipc: [...x.ipc] })), `seed ${seed} case ${i}`).toStrictEqual(itemsPlain);
      expect(decodeWriteStreamResponse(PbRes.encode(PbRes.fromObject({ results })).finish()).results, `seed ${seed} case ${i}`).toStrictEqual(results);
    }
  });

  it('refuses truncated and malformed input', () => {
    const r = new SeededRandom(3);
    const batch = Array.from({ length: 3 }, () => randomMessage(r)).map((gm) => ({ ...gm, message: { ...gm.message, type: 'Append' as const } }));
    const bytesOk = encodeMessageBatch('ts-1', batch);
    for (let cut = 1; cut < bytesOk.length; cut += 7) {
      expect(() => decodeMessageBatch(bytesOk.subarray(0, cut)), `cut at ${cut}`).toThrow(/protobuf|Raft message type|contiguous/);
    }
    const badType = encodeMessageBatch('ts-1', [{ groupId: 'g', message: { ...batch[0]!.message, type: 'Nope' as 'Append' } }]);
    expect(() => decodeMessageBatch(badType)).toThrow(/expected a Raft message type, found 'Nope'/);
    const gap = encodeMessageBatch('ts-1', [{ groupId: 'g', message: { ...batch[0]!.message, entries: [{ term: 1, index: 5, type: 'Normal', data: new Uint8Array(1) }, { term: 1, index: 7, type: 'Normal', data: new Uint8Array(1) }] } }]);
    expect(() => decodeMessageBatch(gap)).toThrow(/contiguous entries/);
  });
});
