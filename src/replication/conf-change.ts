import { SaigaError } from '../common/errors.js';
import type { ConfChange, ConfChangeType, ConfState, ReplicaId } from './types.js';

/**
 * ConfChange entry payload: [1 byte type][utf-8 replica id]. Pure codec, no Node imports.
 */
const TYPES: readonly ConfChangeType[] = ['AddVoter', 'RemoveVoter', 'AddLearner', 'PromoteLearner'];

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = new TextEncoder().encode(cc.replica);
  const out = new Uint8Array(1 + id.length);
  out[0] = TYPES.indexOf(cc.type);
  out.set(id, 1);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const t = TYPES[data[0] ?? 255];
  if (data.length < 2 || t === undefined) {
    throw new SaigaError('Corruption', `expected a ConfChange payload (type byte 0..3 + replica id), found ${data.length} bytes with type byte ${data[0]}`);
  }
  return { type: t, replica: new TextDecoder().decode(data.subarray(1)) };
}

/**
 * The configuration after `cc`, or a reason it is not a valid one-server change of `cs`.
 * Invalid changes that got committed anyway (proposed by an old leader) are skipped by every
 * replica alike, so configurations stay identical.
 */
export function applyConfChangeTo(cs: ConfState, cc: ConfChange): ConfState | string {
  const voters = new Set<ReplicaId>(cs.voters);
  const learners = new Set<ReplicaId>(cs.learners);
  const id = cc.replica;
  switch (cc.type) {
    case 'AddVoter':
      if (voters.has(id)) return `${id} is already a voter`;
      learners.delete(id);
      voters.add(id);
      break;
    case 'RemoveVoter':
      if (!voters.has(id) && !learners.has(id)) return `${id} is not a member`;
      if (voters.has(id) && voters.size === 1) return `${id} is the last voter`;
      voters.delete(id);
      learners.delete(id);
      break;
    case 'AddLearner':
      if (voters.has(id) || learners.has(id)) return `${id} is already a member`;
      learners.add(id);
      break;
    case 'PromoteLearner':
      if (!learners.has(id)) return `${id} is not a learner`;
      learners.delete(id);
      voters.add(id);
      break;
  }
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}
