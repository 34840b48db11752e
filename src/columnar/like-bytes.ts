/**
 * LIKE over the UTF-8 bytes of an Arrow Utf8 column, without decoding rows to JS strings.
 *
 * Only patterns made of literal text and `%` (no `_`, no escapes): UTF-8 is self-synchronizing,
 * so a literal part occurs in a row's bytes exactly where it occurs in its characters, and the
 * leftmost-first search the string matcher uses gives the same answers. Case-sensitive, as
 * Saiga's LIKE is. When the pattern has an inner literal part, its occurrences are found by one
 * native search over the whole value buffer (Buffer.indexOf); only rows holding one are checked
 * further (TPC-H Q13's '%special%requests%': about 1% of o_comment rows).
 */

/** Data of one Utf8 column chunk, as Arrow JS lays it out (valueOffsets already sliced to the chunk). */
export interface Utf8Data {
  readonly length: number;
  readonly offset: number;
  readonly nullCount: number;
  readonly nullBitmap: Uint8Array | undefined;
  readonly valueOffsets: Int32Array;
  readonly values: Uint8Array;
}

/** True when `likeMatchUtf8` handles the pattern (only literal text and %). */
export function likeBytesSupported(pattern: string): boolean {
  return !pattern.includes('_') && !pattern.includes('\\');
}

interface BytePattern {
  readonly first: Buffer;
  readonly mids: readonly Buffer[];
  readonly last: Buffer;
  /** No % at all: the whole value equals `first`. */
  readonly exact: boolean;
}

const patterns = new Map<string, BytePattern>();

function compile(pattern: string): BytePattern {
  let p = patterns.get(pattern);
  if (p !== undefined) return p;
  const parts = pattern.split('%');
  const exact = parts.length === 1;
  p = {
    first: Buffer.from(parts[0]!, 'utf8'),
    mids: exact ? [] : parts.slice(1, -1).filter((x) => x.length > 0).map((x) => Buffer.from(x, 'utf8')),
    last: exact ? Buffer.alloc(0) : Buffer.from(parts[parts.length - 1]!, 'utf8'),
    exact,
  };
  if (patterns.size > 256) patterns.clear();
  patterns.set(pattern, p);
  return p;
}

function equalAt(bytes: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let j = 0; j < lit.length; j++) if (bytes[at + j] !== lit[j]) return false;
  return true;
}

/** Leftmost occurrence of lit in bytes[from, end), or -1. */
function indexIn(bytes: Uint8Array, lit: Uint8Array, from: number, end: number): number {
  const first = lit[0]!;
  const stop = end - lit.length;
  for (let p = from; p <= stop; p++) if (bytes[p] === first && equalAt(bytes, p, lit)) return p;
  return -1;
}

/** Whether the value bytes[s, e) matches. */
function matchRow(bytes: Uint8Array, s: number, e: number, p: BytePattern): boolean {
  const len = e - s;
  if (p.exact) return len === p.first.length && equalAt(bytes, s, p.first);
  if (len < p.first.length + p.last.length || !equalAt(bytes, s, p.first)) return false;
  let pos = s + p.first.length;
  for (const m of p.mids) {
    const k = indexIn(bytes, m, pos, e);
    if (k < 0) return false;
    pos = k + m.length;
  }
  return e - p.last.length >= pos && equalAt(bytes, e - p.last.length, p.last);
}

/**
 * For each row i of d: out[at + i] = 1 when the row is not NULL and (matches the pattern) !==
 * negated, else 0. The pattern must pass likeBytesSupported.
 */
export function likeMatchUtf8(d: Utf8Data, pattern: string, negated: boolean, out: Uint8Array, at: number): void {
  const p = compile(pattern);
  const n = d.length;
  const offs = d.valueOffsets, bytes = d.values;
  const hit = negated ? 0 : 1;
  if (p.mids.length === 0) {
    for (let i = 0; i < n; i++) out[at + i] = matchRow(bytes, offs[i]!, offs[i + 1]!, p) ? hit : 1 - hit;
  } else {
    // Rows without the longest inner part cannot match: find its occurrences in one native
    // search over the buffer and check only the rows that hold one.
    let key = p.mids[0]!;
    for (const m of p.mids) if (m.length > key.length) key = m;
    out.fill(1 - hit, at, at + n);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = offs[n]!;
    let row = 0;
    let from = offs[0]!;
    for (;;) {
      const k = buf.indexOf(key, from);
      if (k < 0 || k + key.length > end) break;
      while (offs[row + 1]! <= k) row++;
      const rs = offs[row]!, re = offs[row + 1]!;
      // An occurrence straddling two rows is no occurrence in either.
      if (k + key.length <= re && matchRow(bytes, rs, re, p)) out[at + row] = hit;
      from = k + key.length <= re ? re : k + 1;
      if (from >= end) break;
    }
  }
  if (d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0) {
    const bm = d.nullBitmap, off = d.offset;
    for (let i = 0; i < n; i++) {
      const b = off + i;
      if (((bm[b >> 3]! >> (b & 7)) & 1) === 0) out[at + i] = 0;
    }
  }
}
