import { randomBytes } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SaigaError } from '../common/errors.js';
import type { HybridTime } from '../common/hybrid-time.js';
import { compareBytes } from '../common/key-encoding.js';
import type { Schema } from '../common/types.js';
import { writeDiskRowSetFromMemRowSet } from '../rowset/disk-rowset.js';
import { compareRuns, MemRowSet } from '../rowset/mem-rowset.js';
import type { StoredColumn } from '../rowset/scan-plan.js';
import { submitFlush, type FlushJob } from './background-flush.js';
import type { PreparedBatch } from './tablet-api.js';
import { fsyncDir } from './tablet-metadata.js';

/**
 * Staging of one bulk load on one tablet (Tablet.beginBulkStage): rows in strictly increasing key
 * order go into a private MemRowSet that no read ever sees; at `flushBytes` it is frozen and
 * written to a `bulk-<tag>-<n>.drs` file by the flush-worker pool (the same writer as a
 * MemRowSet flush), fsynced with its directory entry. No log entry is written for staged rows:
 * the files become part of the tablet only through one commit entry naming them
 * (Tablet.commitBulk). Tablet open keeps `bulk-*` files until the driver has replayed its log
 * (removeStaleBulkFiles), so a commit entry replayed after a crash finds them.
 */

/** Staged files written or being written per stage before append() waits (memory bound: ~this many frozen MemRowSets). */
export const BULK_STAGE_FILES_IN_FLIGHT_MAX = 2;

/**
 * A staged MemRowSet goes to a flush worker at this size at most (or the tablet's
 * memRowSetFlushBytes when smaller): files are written while the load still streams rows in,
 * instead of all at finish (a 64 MiB MemRowSet per tablet was typically written only by seal()).
 * Overridable for measurements with SAIGA_BULK_STAGE_FILE_MIB.
 */
export const BULK_STAGE_FILE_BYTES_MAX = Math.max(1, Number(process.env['SAIGA_BULK_STAGE_FILE_MIB'] ?? 16)) * 1024 * 1024;

/** Placeholder insert timestamp of staged rows: the commit's timestamp replaces it (RowSetMeta.insertTs). */
const STAGED_TS: HybridTime = 1n;

export const BULK_FILE_PREFIX = 'bulk-';

/** What the stage needs from its tablet. */
export interface BulkStageHost {
  readonly dir: string;
  readonly tabletId: string;
  readonly columns: readonly StoredColumn[];
  readonly keyColumnCount: number;
  readonly schema: Schema;
  readonly rowsPerBatch: number;
  readonly flushBytes: number;
  isAboveAllKeys(key: Uint8Array): boolean;
}

export interface StagedFiles {
  /** File names in the tablet directory, in key order (each file's keys above the previous one's). */
  readonly files: readonly string[];
  readonly rowCount: number;
}

/**
 * Take buffers of staged rows whose file is written, for the next takes of the same stage
 * (`SlabAllocator`): reused memory instead of fresh pages (page faults and the kernel zeroing
 * them on the writing thread). At most this many bytes are kept per stage.
 */
const RECYCLED_BYTES_MAX = 32 * 1024 * 1024;

interface StagedFile {
  readonly file: string;
  readonly rowCount: number;
  /** Take buffers (slabs) holding this file's rows: free once the file is written. */
  readonly slabs: readonly SharedArrayBuffer[];
  /** The flush worker's job writing it (undefined: written on this thread). */
  readonly job: FlushJob | undefined;
  /** Settles once the file is written and synced (rejects with the reason it was not). */
  readonly done: Promise<void>;
  settled: boolean;
}

export class BulkStage {
  /** The tablet schema object staging started with (a schema change ends staging). */
  readonly schema: Schema;
  private readonly tag = randomBytes(6).toString('hex');
  private mrs: MemRowSet;
  private lastKey: Uint8Array | undefined;
  private readonly staged: StagedFile[] = [];
  private seq = 0;
  private closed = false;
  /** Slabs of the rows in the current MemRowSet. */
  private slabs: SharedArrayBuffer[] = [];
  /** Slabs free for reuse (their rows are in a written file). */
  private readonly recycled: SharedArrayBuffer[] = [];
  private recycledBytes = 0;
  /** Takes served from recycled slabs / asked for (figures). */
  slabsReused = 0;
  slabsAsked = 0;
  /** Rows appended so far. */
  rowCount = 0;

  constructor(private readonly host: BulkStageHost) {
    this.schema = host.schema;
    this.mrs = new MemRowSet(host.columns);
  }

  /**
   * Whether the prepared insert batch (its rows listed in `rows`, else all) can be staged: keys
   * strictly increasing, above the last staged key, and (for the first rows) above every key the
   * tablet holds now.
   */
  accepts(p: PreparedBatch, rows?: Int32Array): boolean {
    const n = rows === undefined ? p.rowCount : rows.length;
    if (this.closed || n === 0 || p.kind !== 'insert') return false;
    const kb = p.keyBytes;
    const ko = p.keyOffsets;
    // Row j of the candidate rows is prepared row rows[j] (or j).
    const at = (j: number): number => (rows === undefined ? j : (rows[j] as number));
    const r0 = at(0);
    const first = kb.subarray(ko[r0] as number, ko[r0 + 1] as number);
    if (this.lastKey === undefined ? !this.host.isAboveAllKeys(first) : compareBytes(first, this.lastKey) <= 0) return false;
    let prev = r0;
    for (let j = 1; j < n; j++) {
      const r = at(j);
      if (compareRuns(kb, ko[prev] as number, ko[prev + 1] as number, ko[r] as number, ko[r + 1] as number) >= 0) return false;
      prev = r;
    }
    return true;
  }

  /**
   * Appends an accepted batch (its buffers kept when `p.buffersOwned`, else copied). Resolves
   * once the stage has room again (at most BULK_STAGE_FILES_IN_FLIGHT_MAX files being written).
   */
  async append(p: PreparedBatch): Promise<void> {
    if (this.closed) throw new SaigaError('IllegalState', `bulk stage of tablet ${this.host.tabletId} is closed`);
    const ko = p.keyOffsets;
    this.mrs.appendBatch(p.keyBytes, ko, p.columns, 0, p.rowCount, STAGED_TS, p.buffersOwned === true);
    // A take (takePrepared) carves columns and keys from one slab, which the MemRowSet now keeps.
    const slab = p.keyBytes.buffer;
    if (p.buffersOwned === true && slab instanceof SharedArrayBuffer) this.slabs.push(slab);
    this.lastKey = p.keyBytes.slice(ko[p.rowCount - 1] as number, ko[p.rowCount] as number);
    this.rowCount += p.rowCount;
    if (this.mrs.sizeBytes >= this.host.flushBytes) this.freeze();
    for (;;) {
      const running = this.staged.filter((s) => !s.settled);
      if (running.length < BULK_STAGE_FILES_IN_FLIGHT_MAX) break;
      await Promise.race(running.map((s) => s.done)).catch(() => undefined);
    }
    await this.firstFailure();
  }

  /** Rejects with the first failed file's error, if any settled file failed. */
  private async firstFailure(): Promise<void> {
    for (const s of this.staged) if (s.settled) await s.done;
  }

  /** Hands the current MemRowSet to a flush worker (or writes it here without one). */
  private freeze(): void {
    const mrs = this.mrs;
    if (mrs.size === 0) return;
    this.mrs = new MemRowSet(this.host.columns);
    const file = `${BULK_FILE_PREFIX}${this.tag}-${++this.seq}.drs`;
    const path = join(this.host.dir, file);
    let job: FlushJob | undefined;
    try {
      job = submitFlush({ path, columns: this.host.columns, keyColumnCount: this.host.keyColumnCount, rowsPerBatch: this.host.rowsPerBatch, image: mrs.toImage() });
    } catch {
      job = undefined;
    }
    const entry: StagedFile = { file, rowCount: mrs.size, slabs: this.slabs, job, done: Promise.resolve(), settled: false };
    this.slabs = [];
    let done: Promise<void>;
    if (job === undefined) {
      // No worker (running from source): write on this thread.
      done = (async () => {
        writeDiskRowSetFromMemRowSet(path, this.host.columns, this.host.keyColumnCount, mrs, this.host.rowsPerBatch);
        fsyncDir(this.host.dir);
      })();
    } else {
      const j = job;
      done = new Promise<void>((resolve, reject) => {
        const settle = (): void => {
          const o = j.poll();
          if (o === undefined) return;
          if (o.ok && o.rowCount === entry.rowCount) resolve();
          else reject(new SaigaError('IOError', `tablet ${this.host.tabletId}: staging bulk file ${file} failed: ${o.ok ? `wrote ${o.rowCount} of ${entry.rowCount} rows` : o.message}`));
        };
        j.onSettled = settle;
        settle();
      });
    }
    const s: StagedFile = { ...entry, done };
    const mark = (): void => {
      s.settled = true;
    };
    // Written: nothing reads these rows' buffers any more (the worker dropped its image).
    done.then(() => {
      mark();
      this.recycle(s.slabs);
    }, mark);
    // Failures surface through append() / seal(); never unhandled.
    done.catch(() => undefined);
    this.staged.push(s);
  }

  private recycle(slabs: readonly SharedArrayBuffer[]): void {
    if (this.closed) return;
    for (const b of slabs) {
      if (this.recycledBytes + b.byteLength > RECYCLED_BYTES_MAX) break;
      this.recycled.push(b);
      this.recycledBytes += b.byteLength;
    }
  }

  /**
   * SlabAllocator for takes of rows this stage will append: a recycled slab of [bytes, 1.5 bytes]
   * (not zeroed: a take overwrites what it uses), else undefined. A take the stage then refuses keeps its slab (the ordinary path's
   * MemRowSet holds it); it is never recycled since only appended slabs are.
   */
  readonly alloc = (bytes: number): SharedArrayBuffer | undefined => {
    this.slabsAsked++;
    for (let i = 0; i < this.recycled.length; i++) {
      const b = this.recycled[i] as SharedArrayBuffer;
      if (b.byteLength < bytes || b.byteLength > 1.5 * bytes) continue;
      this.recycled.splice(i, 1);
      this.recycledBytes -= b.byteLength;
      this.slabsReused++;
      return b;
    }
    return undefined;
  };

  /**
   * Writes what is still in memory and waits until every staged file is durable. The stage
   * takes no more rows. Rejects when a file could not be written (discard() then cleans up).
   */
  async seal(): Promise<StagedFiles> {
    this.freeze();
    this.closed = true;
    for (const s of this.staged) await s.done;
    return { files: this.staged.map((s) => s.file), rowCount: this.rowCount };
  }

  /** Sealed or discarded: takes no more rows (a sealed stage's files may be named by a commit entry). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The tablet closes with this stage unsealed (a load that can no longer commit here): waits
   * for the files being written (blocking) and deletes every staged file, so none appears after
   * a reopen has cleaned the directory.
   */
  discardSync(): void {
    this.closed = true;
    this.mrs = new MemRowSet(this.host.columns);
    for (const s of this.staged) s.job?.wait();
    for (const s of this.staged) {
      const path = join(this.host.dir, s.file);
      if (existsSync(path)) unlinkSync(path);
    }
    this.staged.length = 0;
  }

  /** Deletes every staged file (after any write still running finished). */
  async discard(): Promise<void> {
    this.closed = true;
    this.mrs = new MemRowSet(this.host.columns);
    for (const s of this.staged) await s.done.catch(() => undefined);
    for (const s of this.staged) {
      const path = join(this.host.dir, s.file);
      if (existsSync(path)) unlinkSync(path);
    }
    this.staged.length = 0;
  }
}
