/**
 * Every bound in one place (STYLE.md section 6). Components read their defaults from here and
 * validate overrides at start-up with validateLimits().
 */
export interface Limits {
  /** MemRowSet size that triggers a flush to a DiskRowSet. */
  readonly memRowSetFlushBytes: number;
  /** Rows per Arrow record batch in a DiskRowSet and in scan output. */
  readonly rowsPerBatchMax: number;
  /** Rows in one write batch. */
  readonly writeBatchRowsMax: number;
  /** MVCC history kept for snapshot reads. */
  readonly historyRetentionMs: number;
  /** Bytes a rowset compaction may read in one pass. */
  readonly compactionBudgetBytes: number;
  /** Log segment size before rolling to a new one. */
  readonly logSegmentBytes: number;
  /** Coprocessor worker threads. */
  readonly coprocessorThreads: number;
  /** Per-query memory and time. */
  readonly queryMemoryBytesMax: number;
  readonly queryTimeoutMs: number;
  /** MySQL endpoint. */
  readonly connectionsMax: number;
  readonly packetBytesMax: number;
  readonly idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  memRowSetFlushBytes: 64 * 1024 * 1024,
  rowsPerBatchMax: 64 * 1024,
  writeBatchRowsMax: 1024 * 1024,
  historyRetentionMs: 15 * 60 * 1000,
  compactionBudgetBytes: 128 * 1024 * 1024,
  logSegmentBytes: 64 * 1024 * 1024,
  coprocessorThreads: 2,
  queryMemoryBytesMax: 4 * 1024 * 1024 * 1024,
  queryTimeoutMs: 10 * 60 * 1000,
  connectionsMax: 512,
  packetBytesMax: 64 * 1024 * 1024,
  idleTimeoutMs: 8 * 60 * 60 * 1000,
};

export function validateLimits(l: Limits): Limits {
  for (const [k, v] of Object.entries(l)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`limit ${k} must be a positive number, got ${String(v)}`);
    }
  }
  return l;
}
