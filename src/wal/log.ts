import { constants as fsConstants, closeSync, writev as writevCallback, ftruncateSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { corruption, SaigaError } from '../common/errors.js';
import { DEFAULT_LIMITS } from '../common/limits.js';
import {
  decodeRecord,
  decodeSegmentHeader,
  encodedEntryBytes,
  encodeRecordHeaderWithView,
  encodeSegmentHeader,
  ENTRY_BODY_HEADER_BYTES,
  isTornFinalRecord,
  entryTypeCode,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  type LogEntry,
} from './entry-codec.js';
import { MetaFile, syncDir } from './meta-file.js';
import { defaultRecentEntryBudget, RecentEntries, type RecentEntryBudget } from './recent-entries.js';

/**
 * A tablet's write-ahead log, usable as Raft's log storage: entries with term and index,
 * appended durably with group commit, read by range, truncated from an index on conflict, a
 * hard state (term, vote, commit) and a snapshot marker persisted atomically, and segments
 * garbage-collected below the lowest anchor.
 */

export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`; '' = none. */
  readonly vote: string;
  readonly commit: number;
}

/** The log's base after a snapshot was installed: entries up to `index` live in the snapshot. */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
}

interface MetaRecord {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMarker;
  /** Segments with a smaller sequence number predate the snapshot and are discarded on open. */
  readonly firstValidSeq: number;
}

/** The minimum index each owner still needs (a MemRowSet's first op, a lagging follower, ...). */
export class LogAnchorRegistry {
  private readonly anchors = new Map<string, number>();

  set(owner: string, index: number): void {
    this.anchors.set(owner, index);
  }

  release(owner: string): void {
    this.anchors.delete(owner);
  }

  /** Infinity when nothing anchors the log. */
  min(): number {
    let m = Infinity;
    for (const v of this.anchors.values()) if (v < m) m = v;
    return m;
  }
}

export interface LogOptions {
  readonly dir: string;
  readonly segmentBytes?: number;
  /** Byte budget of the cache of recently written entries (default: one shared by the process). */
  readonly recentBudget?: RecentEntryBudget;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  readonly firstIndex: number;
  /** Byte offset of each entry's record, and its term. */
  offsets: number[];
  terms: number[];
  sizeBytes: number;
  readFd: number | undefined;
}

interface PendingAppend {
  /** The entries; their records (header, then payload) are laid out by writeChunk. */
  readonly entries: readonly LogEntry[];
  readonly byteLength: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

const SEGMENT_RE = /^seg-(\d{10})\.wal$/;
/** Buffers per writev call (below IOV_MAX = 1024 on Linux). */
const WRITEV_BUFFERS_MAX = 1000;
const RECORD_HEAD_BYTES = RECORD_HEADER_BYTES + ENTRY_BODY_HEADER_BYTES;
/**
 * Payloads up to this size are copied next to their headers in the log's reusable write slab (a
 * group commit of small writes is one contiguous buffer); larger ones are written from the
 * caller's buffer.
 */
const INLINE_PAYLOAD_BYTES_MAX = 4096;
/** The write slab is kept between commits up to this size (a larger commit allocates its own). */
const SLAB_KEEP_BYTES_MAX = 1 << 20;
/**
 * Zero-fill ahead: the active segment is extended with durable zeros this far beyond its records,
 * so a small commit overwrites allocated blocks and its O_DSYNC write leaves the inode alone (the
 * file size does not change): one device write per commit instead of two (data, then inode).
 */
const ZERO_FILL_BYTES = 1 << 20;
/** The next zero-fill starts when fewer zeroed bytes than this remain ahead of the records. */
const ZERO_FILL_LOW_BYTES = 256 << 10;
/**
 * Only commits smaller than this start a zero-fill: big batches amortise the inode write
 * themselves, and zeroing ahead of them would double their bytes on disk (a 1000-row INSERT is
 * a ~40 KB entry).
 */
const ZERO_FILL_CHUNK_BYTES_MAX = 16 << 10;
let zeroBlock: Buffer | undefined;
const META_FILE = 'log-meta';

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(10, '0')}.wal`;
}

/** Process-wide group-commit counters (every Log): fdatasyncs of appended records and the entries they made durable. */
export interface LogSyncStats {
  syncs: number;
  entries: number;
  /** Wall-clock ms from starting a chunk's write to its durability (summed over syncs). */
  syncMs: number;
}
const syncStats: LogSyncStats = { syncs: 0, entries: 0, syncMs: 0 };

/** A copy of the process-wide group-commit counters (entries / syncs = entries per fdatasync). */
export function logSyncStats(): LogSyncStats {
  return { ...syncStats };
}

/**
 * The active segment is opened O_DSYNC where the platform has it: each write returns once its data
 * (and the file size) are durable, so a group commit is one thread-pool round trip (writev) rather
 * than two (writev, then fdatasync). Measured on this machine's ext4: 0.19 ms vs 0.21-0.24 ms per
 * 200-byte commit when idle; the saved event-loop hop matters more under load.
 */
const O_DSYNC: number = fsConstants.O_DSYNC ?? 0;
const ACTIVE_OPEN_FLAGS = O_DSYNC === 0 ? 'r+' : fsConstants.O_RDWR | O_DSYNC;
const ACTIVE_CREATE_FLAGS = O_DSYNC === 0 ? 'w+' : fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_TRUNC | O_DSYNC;

export class Log {
  readonly anchors = new LogAnchorRegistry();
  private readonly segments: Segment[] = [];
  private activeFh: FileHandle | undefined;
  /** Reusable bytes of the records being written (see writeChunk). */
  private slab = new Uint8Array(16 << 10);
  private slabView = new DataView(this.slab.buffer);
  /** Entries appended but not yet durable (their offsets are registered after the fsync). */
  private unsynced: LogEntry[] = [];
  /** Durable entries still in memory (a contiguous run ending at durableIdx, or empty). */
  private readonly recent: RecentEntries;
  private queue: PendingAppend[] = [];
  private flushing = false;
  private lastIdx: number;
  private lastTrm: number;
  private durableIdx: number;
  private failed: unknown;
  private closed = false;
  /** Async log-meta writes in flight (gc() skips a round rather than race them). */
  private metaBusy = 0;
  /** End of the durable zeros written ahead of the active segment's records (its file size). */
  private zeroedEnd = 0;
  /** A zero-fill in flight, over [zeroingFrom, its end): appends reaching it wait for it. */
  private zeroing: Promise<void> | undefined;
  /** gc()'s unlinks of dropped segments, in order. */
  private unlinking: Promise<void> | undefined;
  private zeroingFrom = Infinity;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly meta: MetaFile<MetaRecord>,
    recentBudget: RecentEntryBudget,
  ) {
    this.recent = new RecentEntries(recentBudget);
    this.lastIdx = meta.value.snapshot.index;
    this.lastTrm = meta.value.snapshot.term;
    this.durableIdx = this.lastIdx;
  }

  static async open(options: LogOptions): Promise<Log> {
    mkdirSync(options.dir, { recursive: true });
    const meta = MetaFile.open<MetaRecord>(join(options.dir, META_FILE), {
      hardState: { term: 0, vote: '', commit: 0 },
      snapshot: { index: 0, term: 0 },
      firstValidSeq: 0,
    });
    const log = new Log(options.dir, options.segmentBytes ?? DEFAULT_LIMITS.logSegmentBytes, meta, options.recentBudget ?? defaultRecentEntryBudget());
    log.load();
    await log.openActive();
    return log;
  }

  /** Reads and verifies every segment; truncates a torn tail of the last one. */
  private load(): void {
    const names = readdirSync(this.dir)
      .map((n) => ({ n, m: SEGMENT_RE.exec(n) }))
      .filter((x) => x.m !== null)
      .map((x) => ({ name: x.n, seq: Number(x.m?.[1]) }))
      .sort((a, b) => a.seq - b.seq);
    let removedStale = false;
    for (const { name, seq } of names) {
      if (seq < this.meta.value.firstValidSeq) {
        unlinkSync(join(this.dir, name));
        removedStale = true;
      }
    }
    if (removedStale) syncDir(this.dir);
    const live = names.filter((x) => x.seq >= this.meta.value.firstValidSeq);
    for (let i = 0; i < live.length; i++) {
      const { name, seq } = live[i] as { name: string; seq: number };
      const path = join(this.dir, name);
      const isLast = i === live.length - 1;
      const bytes = readFileSync(path);
      const header = decodeSegmentHeader(bytes);
      if (header.kind === 'torn' && isLast) {
        // Crashed while creating the segment: it holds nothing.
        unlinkSync(path);
        syncDir(this.dir);
        continue;
      }
      if (header.kind !== 'ok') {
        throw corruption(path, 0, header.kind === 'torn' ? 'truncated segment header' : header.why);
      }
      const expectFirst = this.lastIdx + 1;
      // The first segment may start later: the ones before it were garbage-collected.
      const gcdPrefix = this.segments.length === 0 && header.firstIndex > expectFirst;
      if (gcdPrefix) this.lastIdx = header.firstIndex - 1;
      else if (header.firstIndex !== expectFirst) {
        throw corruption(path, 0, `segment starts at index ${header.firstIndex}, expected ${expectFirst}`);
      }
      const seg: Segment = { seq, path, firstIndex: header.firstIndex, offsets: [], terms: [], sizeBytes: bytes.byteLength, readFd: undefined };
      let at = SEGMENT_HEADER_BYTES;
      for (;;) {
        const r = decodeRecord(bytes, at);
        if (r.kind === 'end') break;
        // A record cut short inside zero-filled space fails its body checksum rather than its length.
        if (isLast && (r.kind === 'torn' || (r.kind === 'corrupt' && isTornFinalRecord(bytes, at)))) {
          const fd = openSync(path, 'r+');
          try {
            ftruncateSync(fd, at);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          seg.sizeBytes = at;
          break;
        }
        if (r.kind !== 'entry') throw corruption(path, at, r.why);
        const e = r.entry;
        if (e.index !== this.lastIdx + 1) {
          throw corruption(path, at, `entry index ${e.index}, expected ${this.lastIdx + 1}`);
        }
        if (e.term < this.lastTrm) throw corruption(path, at, `entry term ${e.term} below the previous term ${this.lastTrm}`);
        seg.offsets.push(at);
        seg.terms.push(e.term);
        this.lastIdx = e.index;
        this.lastTrm = e.term;
        at += r.recordBytes;
      }
      this.segments.push(seg);
    }
    this.durableIdx = this.lastIdx;
  }

  private async openActive(): Promise<void> {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) {
      const seq = Math.max(this.meta.value.firstValidSeq, 1);
      await this.createSegment(seq, this.lastIdx + 1);
      return;
    }
    this.activeFh = await open(last.path, ACTIVE_OPEN_FLAGS);
    this.zeroedEnd = last.sizeBytes; // load() cut any zero-filled tail off the last segment
  }

  private async createSegment(seq: number, firstIndex: number): Promise<void> {
    await this.zeroing;
    const prev = this.segments[this.segments.length - 1];
    if (prev !== undefined && this.activeFh !== undefined && this.zeroedEnd > prev.sizeBytes) {
      // Only the last segment may end in zeros (load() treats a torn tail elsewhere as corruption):
      // the cut is durable before the next segment exists.
      await this.activeFh.truncate(prev.sizeBytes);
      await this.activeFh.datasync();
    }
    const path = join(this.dir, segmentName(seq));
    const fh = await open(path, ACTIVE_CREATE_FLAGS, 0o666);
    const header = encodeSegmentHeader(firstIndex);
    await fh.write(header, 0, header.byteLength, 0);
    await fh.datasync();
    syncDir(this.dir);
    if (this.activeFh !== undefined) await this.activeFh.close();
    this.activeFh = fh;
    this.zeroedEnd = SEGMENT_HEADER_BYTES;
    this.segments.push({ seq, path, firstIndex, offsets: [], terms: [], sizeBytes: SEGMENT_HEADER_BYTES, readFd: undefined });
  }

  // --- positions ---

  /** First index still in the log (snapshot index + 1 when the log is empty). */
  firstIndex(): number {
    const first = this.segments[0];
    return first === undefined ? this.meta.value.snapshot.index + 1 : first.firstIndex;
  }

  /** Last appended index, durable or not. */
  lastIndex(): number {
    return this.lastIdx;
  }

  lastTerm(): number {
    return this.lastTrm;
  }

  /** Last index whose append was fsynced. */
  durableIndex(): number {
    return this.durableIdx;
  }

  /** Term of the entry at `index`; undefined when it was garbage-collected or is beyond the end. */
  term(index: number): number | undefined {
    const snap = this.meta.value.snapshot;
    if (index === snap.index) return snap.term;
    if (index > this.lastIdx || index < this.firstIndex()) return undefined;
    if (index > this.durableIdx) return this.unsynced[index - this.durableIdx - 1]?.term;
    const seg = this.segmentFor(index);
    return seg?.terms[index - seg.firstIndex];
  }

  private segmentFor(index: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid] as Segment;
      if (index < s.firstIndex) hi = mid - 1;
      else if (index >= s.firstIndex + s.offsets.length) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  // --- append (group commit) ---

  /**
   * Appends entries, which must continue the log (index = lastIndex + 1, terms not decreasing).
   * The promise resolves once the entries are fsynced; concurrent appends share one write and
   * one fdatasync.
   */
  append(entries: readonly LogEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new SaigaError('IllegalState', `log ${this.dir} is closed`));
    if (this.failed !== undefined) return Promise.reject(this.failedError());
    if (entries.length === 0) return this.sync();
    let total = 0;
    let expect = this.lastIdx + 1;
    let prevTerm = this.lastTrm;
    for (const e of entries) {
      assert(e.index === expect, `log append must continue at index ${expect}, got ${e.index}`);
      assert(e.term >= prevTerm, `log append term ${e.term} below the previous term ${prevTerm}`);
      expect++;
      prevTerm = e.term;
      total += encodedEntryBytes(e);
    }
    for (const e of entries) this.unsynced.push(e);
    this.lastIdx = expect - 1;
    this.lastTrm = prevTerm;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entries, byteLength: total, resolve, reject });
      this.kick();
    });
  }

  /**
   * Raft's append: entries that start at or below lastIndex replace the conflicting suffix
   * (truncated first), otherwise they continue the log. Resolves once durable.
   */
  async appendReplacing(entries: readonly LogEntry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return this.sync();
    if (first.index <= this.lastIdx) await this.truncateSuffix(first.index);
    return this.append(entries);
  }

  /** Resolves when everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failedError());
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entries: [], byteLength: 0, resolve, reject });
      this.kick();
    });
  }

  private failedError(): SaigaError {
    return new SaigaError('IOError', `log ${this.dir} failed earlier and accepts no more writes: ${String(this.failed)}`);
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      // The flag clears in the same synchronous step that sees the queue empty, so an append
      // made by a continuation of a resolved append is never stranded.
      if (this.queue.length === 0) {
        this.flushing = false;
        return;
      }
      const batch = this.queue;
      this.queue = [];
      try {
        await this.writeBatch(batch);
      } catch (e) {
        // After a failed write or fsync the file state is unknown (fsyncgate): stop accepting writes.
        this.failed = e;
        for (const p of batch) p.reject(e);
        for (const p of this.queue) p.reject(e);
        this.queue = [];
        this.flushing = false;
        return;
      }
      for (const p of batch) p.resolve();
    }
  }

  private async writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    let chunk: PendingAppend[] = [];
    let chunkBytes = 0;
    for (const p of batch) {
      const active = this.segments[this.segments.length - 1] as Segment;
      if (p.byteLength > 0 && active.offsets.length + chunk.length > 0 && active.sizeBytes + chunkBytes + p.byteLength > this.segmentBytes) {
        await this.writeChunk(chunk);
        chunk = [];
        chunkBytes = 0;
        await this.createSegment(active.seq + 1, this.durableIdx + 1);
      }
      chunk.push(p);
      chunkBytes += p.byteLength;
    }
    await this.writeChunk(chunk);
  }

  private async writeChunk(chunk: readonly PendingAppend[]): Promise<void> {
    let chunkBytes = 0;
    let slabBytes = 0;
    let entryCount = 0;
    for (const p of chunk) {
      chunkBytes += p.byteLength;
      for (const e of p.entries) slabBytes += RECORD_HEAD_BYTES + (e.payload.byteLength <= INLINE_PAYLOAD_BYTES_MAX ? e.payload.byteLength : 0);
      entryCount += p.entries.length;
    }
    if (entryCount === 0) return;
    const active = this.segments[this.segments.length - 1] as Segment;
    const fh = this.activeFh;
    assert(fh !== undefined, 'the log has an active segment');
    // The slab is reused: writeChunk runs one at a time and its writes finish before it returns.
    let slab = this.slab;
    let slabView = this.slabView;
    if (slab.byteLength < slabBytes) {
      slab = new Uint8Array(Math.max(slabBytes, 2 * slab.byteLength));
      slabView = new DataView(slab.buffer, slab.byteOffset, slab.byteLength);
      if (slab.byteLength <= SLAB_KEEP_BYTES_MAX) {
        this.slab = slab;
        this.slabView = slabView;
      }
    }
    // Records in order: runs of slab bytes (headers with inline payloads) and large payloads.
    const buffers: Uint8Array[] = [];
    const recordOffsets: number[] = [];
    let runStart = 0;
    let slabAt = 0;
    let recordAt = 0;
    for (const p of chunk) {
      for (const e of p.entries) {
        recordOffsets.push(recordAt);
        encodeRecordHeaderWithView(e, slab, slabView, slabAt);
        slabAt += RECORD_HEAD_BYTES;
        const n = e.payload.byteLength;
        if (n <= INLINE_PAYLOAD_BYTES_MAX) {
          slab.set(e.payload, slabAt);
          slabAt += n;
        } else {
          buffers.push(slab.subarray(runStart, slabAt), e.payload);
          runStart = slabAt;
        }
        recordAt += RECORD_HEAD_BYTES + n;
      }
    }
    if (slabAt > runStart) buffers.push(slab.subarray(runStart, slabAt));
    assert(slabAt === slabBytes && recordAt === chunkBytes, () => `records take ${chunkBytes} bytes (${slabBytes} in the slab), laid out ${recordAt} (${slabAt})`);
    const startedMs = performance.now();
    let position = active.sizeBytes;
    let written = position;
    // The zeros must land before records written over them.
    if (this.zeroing !== undefined && position + chunkBytes > this.zeroingFrom) {
      await this.zeroing;
      if (this.failed !== undefined) throw this.failed;
    }
    for (let k = 0; k < buffers.length; k += WRITEV_BUFFERS_MAX) {
      const group = buffers.length <= WRITEV_BUFFERS_MAX ? buffers : buffers.slice(k, k + WRITEV_BUFFERS_MAX);
      const bytesWritten = await writevAt(fh.fd, group, written);
      let expectBytes = 0;
      for (const b of group) expectBytes += b.byteLength;
      if (bytesWritten !== expectBytes) throw new SaigaError('IOError', `short write to ${active.path} at ${written}: ${bytesWritten} of ${expectBytes} bytes`);
      written += bytesWritten;
    }
    if (O_DSYNC === 0) await fh.datasync(); // otherwise every writev above returned durable
    let n = 0;
    for (const p of chunk) {
      for (const e of p.entries) {
        assert(e.index === active.firstIndex + active.offsets.length, `entry ${e.index} lands at its slot in ${active.path}`);
        active.offsets.push(position + (recordOffsets[n] as number));
        active.terms.push(e.term);
        n++;
      }
    }
    position += chunkBytes;
    assert(position === written, () => `records end at ${position}, ${written} bytes written`);
    syncStats.syncs++;
    syncStats.syncMs += performance.now() - startedMs;
    syncStats.entries += n;
    active.sizeBytes = position;
    if (position > this.zeroedEnd) this.zeroedEnd = position;
    for (const e of this.unsynced.splice(0, n)) this.recent.push(e);
    this.durableIdx += n;
    if (chunkBytes < ZERO_FILL_CHUNK_BYTES_MAX) this.zeroFillAhead(active);
  }

  /**
   * Starts writing durable zeros after the active segment's end when few are left ahead of its
   * records (at most up to segmentBytes). Runs beside the appends; writeChunk waits for it only
   * when a chunk would reach the zeroed range. A failed zero-fill fails the log like a failed append.
   */
  private zeroFillAhead(active: Segment): void {
    if (this.zeroing !== undefined || this.zeroedEnd - active.sizeBytes >= ZERO_FILL_LOW_BYTES) return;
    const from = Math.max(this.zeroedEnd, active.sizeBytes);
    const to = Math.min(from + ZERO_FILL_BYTES, this.segmentBytes);
    const fh = this.activeFh;
    if (to - from < ZERO_FILL_LOW_BYTES || fh === undefined) return;
    zeroBlock ??= Buffer.alloc(ZERO_FILL_BYTES);
    this.zeroingFrom = from;
    const run = async (): Promise<void> => {
      const { bytesWritten } = await fh.write(zeroBlock as Buffer, 0, to - from, from);
      if (bytesWritten !== to - from) throw new SaigaError('IOError', `short zero-fill of ${active.path} at ${from}: ${bytesWritten} of ${to - from} bytes`);
      if (O_DSYNC === 0) await fh.datasync();
    };
    this.zeroing = run().then(() => {
      if (this.activeFh === fh) this.zeroedEnd = to;
    }, (e: unknown) => {
      this.failed ??= e;
    }).finally(() => {
      this.zeroing = undefined;
      this.zeroingFrom = Infinity;
    });
  }

  // --- read ---

  /** Entries [from, toExclusive), stopping early once `maxBytes` of payload were read (at least one entry). */
  read(from: number, toExclusive: number, maxBytes = Infinity): LogEntry[] {
    if (from < this.firstIndex()) {
      throw new SaigaError('NotFound', `log entry ${from} was compacted away; the log starts at ${this.firstIndex()}`);
    }
    const to = Math.min(toExclusive, this.lastIdx + 1);
    const out: LogEntry[] = [];
    let bytes = 0;
    let i = from;
    while (i < to && (out.length === 0 || bytes < maxBytes)) {
      if (i > this.durableIdx) {
        const e = this.unsynced[i - this.durableIdx - 1];
        assert(e !== undefined, `unsynced entry ${i} is held in memory`);
        out.push(e);
        bytes += e.payload.byteLength;
        i++;
        continue;
      }
      const cached = this.recent.get(i);
      if (cached !== undefined) {
        out.push(cached);
        bytes += cached.payload.byteLength;
        i++;
        continue;
      }
      const seg = this.segmentFor(i);
      assert(seg !== undefined, `entry ${i} lies in a segment`);
      const k0 = i - seg.firstIndex;
      // Stop the disk read where the cache takes over.
      const k1 = Math.min(seg.offsets.length, to - seg.firstIndex, this.recent.firstIndex() - seg.firstIndex);
      const start = seg.offsets[k0] as number;
      const end = k1 < seg.offsets.length ? (seg.offsets[k1] as number) : seg.sizeBytes;
      if (seg.readFd === undefined) seg.readFd = openSync(seg.path, 'r');
      const buf = Buffer.allocUnsafe(end - start);
      const got = readSync(seg.readFd, buf, 0, buf.byteLength, start);
      if (got !== buf.byteLength) throw corruption(seg.path, start + got, `log segment ends early (wanted ${buf.byteLength} bytes)`);
      let at = 0;
      for (let k = k0; k < k1 && (out.length === 0 || bytes < maxBytes); k++) {
        const r = decodeRecord(buf, at);
        if (r.kind !== 'entry') throw corruption(seg.path, start + at, r.kind === 'end' ? 'missing record' : r.why);
        if (r.entry.index !== i) throw corruption(seg.path, start + at, `entry index ${r.entry.index}, expected ${i}`);
        // The CRC was checked and the header decoded: the byte before the payload (the top byte of
        // the index field, in this read's own buffer) now takes the type code, so the entry can
        // carry `framed` = [type code][payload] as a view instead of a reader copying the payload.
        const payloadAt = at + RECORD_HEAD_BYTES;
        buf[payloadAt - 1] = entryTypeCode(r.entry.type);
        const framed = new Uint8Array(buf.buffer, buf.byteOffset + payloadAt - 1, r.entry.payload.byteLength + 1);
        out.push({ term: r.entry.term, index: r.entry.index, type: r.entry.type, payload: r.entry.payload, framed });
        bytes += r.entry.payload.byteLength;
        at += r.recordBytes;
        i++;
      }
    }
    return out;
  }

  // --- truncate, snapshot, hard state ---

  /** Removes entries with index >= fromIndex (Raft log conflict). Waits for in-flight appends first. */
  async truncateSuffix(fromIndex: number): Promise<void> {
    await this.sync();
    if (fromIndex > this.lastIdx) return;
    assert(fromIndex > this.meta.value.hardState.commit, `truncating from ${fromIndex} would drop committed entries (commit ${this.meta.value.hardState.commit})`);
    if (fromIndex < this.firstIndex()) {
      throw new SaigaError('IllegalState', `cannot truncate from ${fromIndex}: the log starts at ${this.firstIndex()}`);
    }
    let removed = false;
    for (;;) {
      const last = this.segments[this.segments.length - 1] as Segment;
      if (last.firstIndex <= fromIndex || this.segments.length === 1) break;
      this.segments.pop();
      if (last.readFd !== undefined) closeSync(last.readFd);
      unlinkSync(last.path);
      removed = true;
    }
    const seg = this.segments[this.segments.length - 1] as Segment;
    const k = fromIndex - seg.firstIndex;
    const cut = seg.offsets[k] ?? seg.sizeBytes;
    await this.zeroing;
    if (this.activeFh !== undefined) await this.activeFh.close();
    const fd = openSync(seg.path, 'r+');
    try {
      ftruncateSync(fd, cut);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (removed) syncDir(this.dir);
    seg.offsets.length = k;
    seg.terms.length = k;
    seg.sizeBytes = cut;
    this.recent.truncateFrom(fromIndex);
    this.activeFh = await open(seg.path, ACTIVE_OPEN_FLAGS);
    this.zeroedEnd = cut;
    this.lastIdx = fromIndex - 1;
    this.durableIdx = this.lastIdx;
    const lastTerm = this.term(this.lastIdx);
    this.lastTrm = lastTerm ?? this.meta.value.snapshot.term;
  }

  hardState(): HardState {
    return this.meta.value.hardState;
  }

  /** Persists (term, vote, commit) atomically: one write + fdatasync. */
  async setHardState(hs: HardState): Promise<void> {
    this.metaBusy++;
    try {
      await this.meta.write({ ...this.meta.value, hardState: hs });
    } finally {
      this.metaBusy--;
    }
  }

  snapshotMarker(): SnapshotMarker {
    return this.meta.value.snapshot;
  }

  /**
   * Discards the whole log after a snapshot covering entries up to marker.index was installed;
   * the next append must be marker.index + 1. Crash-safe: the new segment is created first, the
   * marker names it, then the old segments go.
   */
  async resetToSnapshot(marker: SnapshotMarker): Promise<void> {
    await this.sync();
    const last = this.segments[this.segments.length - 1] as Segment;
    const seq = last.seq + 1;
    const old = this.segments.splice(0);
    this.recent.clear();
    await this.createSegment(seq, marker.index + 1);
    this.metaBusy++;
    try {
      await this.meta.write({ ...this.meta.value, snapshot: marker, firstValidSeq: seq });
    } finally {
      this.metaBusy--;
    }
    for (const s of old) {
      if (s.readFd !== undefined) closeSync(s.readFd);
      unlinkSync(s.path);
    }
    syncDir(this.dir);
    this.lastIdx = marker.index;
    this.lastTrm = marker.term;
    this.durableIdx = marker.index;
  }

  // --- GC ---

  /**
   * Deletes the oldest segments whose entries all lie below the lowest anchor (and below
   * `limitIndex`, when given). The active segment always stays. Returns the segments deleted.
   */
  gc(limitIndex = Infinity): number {
    const n = this.droppable(limitIndex);
    // The marker (index and term of the last dropped entry, so term(firstIndex - 1) stays known)
    // and firstValidSeq go to log-meta first, in one write: a crash before the unlinks leaves
    // segments that open() discards. A meta write in flight would race this one: skip this round.
    if (n === 0 || this.metaBusy > 0) return 0;
    const keep = this.segments[n] as Segment;
    const markerIndex = keep.firstIndex - 1;
    const markerTerm = this.term(markerIndex);
    assert(markerTerm !== undefined, () => `expected the term of entry ${markerIndex} before dropping it`);
    this.meta.writeSync({ ...this.meta.value, snapshot: { index: markerIndex, term: markerTerm }, firstValidSeq: keep.seq });
    const paths: string[] = [];
    for (const s of this.segments.splice(0, n)) {
      if (s.readFd !== undefined) closeSync(s.readFd);
      paths.push(s.path);
    }
    // The dropped segments are no longer part of the log (firstValidSeq is durable): they are
    // unlinked off the writing thread (freeing a segment's page cache took 1-6 ms of blocked
    // event loop per file in bulk loads); close() waits for the unlinks.
    const prev = this.unlinking;
    this.unlinking = (async () => {
      await prev;
      await Promise.all(paths.map((p) => unlink(p).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') console.error(`saiga wal ${this.dir}: removing dropped segment ${p}: ${e.message}`);
      })));
      try {
        const dh = await open(this.dir, 'r');
        try {
          await dh.sync();
        } finally {
          await dh.close();
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`saiga wal ${this.dir}: syncing the directory after removing segments: ${(e as Error).message}`);
      }
    })();
    return n;
  }

  /** Resolves when the segments dropped by gc() so far are unlinked. */
  segmentsRemoved(): Promise<void> {
    return this.unlinking ?? Promise.resolve();
  }

  /** Segments gc(limitIndex) would drop, oldest first. */
  private droppable(limitIndex: number): number {
    const keepFrom = Math.min(this.anchors.min(), limitIndex);
    let n = 0;
    while (n < this.segments.length - 1) {
      const s = this.segments[n] as Segment;
      const last = s.firstIndex + s.offsets.length - 1;
      if (last >= keepFrom || last > this.durableIdx) break;
      n++;
    }
    return n;
  }

  /** The snapshot marker index gc(limitIndex) would record; undefined when it would drop nothing. */
  gcPoint(limitIndex = Infinity): number | undefined {
    const n = this.droppable(limitIndex);
    return n === 0 ? undefined : (this.segments[n] as Segment).firstIndex - 1;
  }

  sizeBytes(): number {
    return this.segments.reduce((s, x) => s + x.sizeBytes, 0);
  }

  segmentPaths(): string[] {
    return this.segments.map((s) => s.path);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failed === undefined) await this.sync();
    } finally {
      this.closed = true;
      this.recent.clear();
      for (const s of this.segments) {
        if (s.readFd !== undefined) closeSync(s.readFd);
        s.readFd = undefined;
      }
      await this.zeroing;
      await this.unlinking;
      if (this.activeFh !== undefined) await this.activeFh.close();
      this.activeFh = undefined;
    }
  }
}

export function openLog(options: LogOptions): Promise<Log> {
  return Log.open(options);
}

/**
 * One positioned writev through the callback fs API: a single promise per write, where
 * FileHandle.writev adds its own promise chain and handle bookkeeping on the main thread per
 * group commit. The caller keeps the FileHandle open for the duration (writes are awaited before close).
 */
function writevAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    writevCallback(fd, buffers as Uint8Array[], position, (err, bytesWritten) => {
      if (err !== null) reject(err);
      else resolve(bytesWritten);
    });
  });
}
