import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/common/types.js';
import { pageWarmerFile, pageWarmerStats, setPageWarmerFile, takeWarmBuffer, WARM_BYTES_MIN, WARM_SLACK_MAX } from '../../src/tablet/page-warmer.js';
import { prepareArrowBatch, takePreparedForLog } from '../../src/tablet/prepare-batch.js';
import { WRITE_BATCH_ENTRY_RESERVE_BYTES } from '../../src/wal/batch-codec.js';

// The warmer runs from dist (npm run build), as the flush worker does.
const compiled = join(process.cwd(), 'dist/src/tablet/page-warmer-worker.js');

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond(), what).toBe(true);
}

afterAll(() => setPageWarmerFile(undefined));

describe('page warmer', () => {
  it('needs the compiled worker (npm run build)', () => {
    expect(existsSync(compiled), compiled).toBe(true);
    expect(pageWarmerFile()).toBe(compiled);
  });

  it('is off unless SAIGA_PAGE_WARMER=1 or a test enables it', () => {
    if (process.env['SAIGA_PAGE_WARMER'] === '1') return;
    setPageWarmerFile(undefined);
    expect(takeWarmBuffer(4 * 1024 * 1024)).toBeUndefined();
    expect(pageWarmerStats()).toEqual({ served: 0, missed: 0, received: 0, pooled: 0 });
  });

  it('hands out fresh zero buffers of the asked size (up to the slack), each once, and nothing for small or disabled takes', async () => {
    setPageWarmerFile(compiled);
    expect(takeWarmBuffer(WARM_BYTES_MIN - 8)).toBeUndefined();
    const bytes = 3 * 1024 * 1024 + 12345;
    expect(takeWarmBuffer(bytes)).toBeUndefined(); // nothing pooled yet: asks the worker
    await until(() => pageWarmerStats().pooled >= 1, 'a warmed buffer arrived');
    const seen = new Set<SharedArrayBuffer>();
    for (let i = 0; i < 4; i++) {
      await until(() => pageWarmerStats().pooled >= 1, `warmed buffer ${i} arrived`);
      const b = takeWarmBuffer(bytes);
      expect(b).toBeDefined();
      const buf = b as SharedArrayBuffer;
      expect(buf.byteLength).toBeGreaterThanOrEqual(bytes);
      expect(buf.byteLength).toBeLessThanOrEqual(bytes * WARM_SLACK_MAX);
      expect(seen.has(buf)).toBe(false);
      seen.add(buf);
      const u8 = new Uint8Array(buf);
      let nonZero = 0;
      for (let k = 0; k < u8.length; k++) nonZero |= u8[k] as number;
      expect(nonZero).toBe(0);
      u8.fill(0xab); // ours now: a later take must never see these bytes
    }
    // A much smaller size is not served from buffers warmed for the large one.
    expect(takeWarmBuffer(WARM_BYTES_MIN)?.byteLength ?? WARM_BYTES_MIN).toBeLessThanOrEqual(WARM_BYTES_MIN * WARM_SLACK_MAX);
    setPageWarmerFile(null);
    expect(takeWarmBuffer(bytes)).toBeUndefined();
  });

  it('log entries taken into warmed buffers are byte for byte those taken into plain ones', async () => {
    const schema: Schema = {
      keyColumnCount: 1,
      columns: [
        { name: 'k', type: 'int64', nullable: false },
        { name: 's', type: 'string', nullable: true },
        { name: 'i', type: 'int32', nullable: false },
      ],
    };
    const n = 40_000;
    let x = 12345;
    const k = new BigInt64Array(n);
    const s: (string | null)[] = [];
    const i32 = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      k[r] = BigInt(r);
      s.push(x % 11 === 0 ? null : 'w'.repeat(x % 40) + String(x));
      i32[r] = x | 0;
    }
    const batch = new arrow.RecordBatch({
      k: arrow.makeData({ type: new arrow.Int64(), length: n, data: k }),
      s: arrow.vectorFromArray(s, new arrow.Utf8()).data[0] as arrow.Data,
      i: arrow.makeData({ type: new arrow.Int32(), length: n, data: i32 }),
    });
    const p = prepareArrowBatch(schema, 'insert', batch);
    const rows = new Int32Array(Array.from({ length: n }, (_, r) => r).filter((r) => r % 4 !== 3));
    setPageWarmerFile(null);
    const plain = takePreparedForLog(schema, p, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES);
    setPageWarmerFile(compiled);
    takePreparedForLog(schema, p, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES); // asks for a buffer of this size
    await until(() => pageWarmerStats().pooled >= 1, 'a warmed buffer arrived');
    const served = pageWarmerStats().served;
    const warm = takePreparedForLog(schema, p, rows, WRITE_BATCH_ENTRY_RESERVE_BYTES);
    expect(pageWarmerStats().served).toBe(served + 1);
    expect(plain.logEntry!.bytes.byteLength).toBeGreaterThan(WARM_BYTES_MIN);
    expect(Buffer.from(warm.logEntry!.bytes).equals(Buffer.from(plain.logEntry!.bytes))).toBe(true);
    expect(Buffer.from(warm.keyBytes).equals(Buffer.from(plain.keyBytes))).toBe(true);
    schema.columns.forEach((_c, ci) => {
      const a = warm.columns[ci]!, b = plain.columns[ci]!;
      expect(Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength).equals(Buffer.from(b.values.buffer, b.values.byteOffset, b.values.byteLength)), `column ${ci}`).toBe(true);
      // The columns are views on the entry's (warmed) buffer.
      expect(a.values.buffer).toBe(warm.logEntry!.bytes.buffer);
    });
  });

  it('never keeps a process alive', () => {
    const script = `process.env.SAIGA_PAGE_WARMER = '1'; const w = await import(${JSON.stringify('file://' + join(process.cwd(), 'dist/src/tablet/page-warmer.js'))});
      w.takeWarmBuffer(1 << 20); let n = 0;
      const t = setInterval(() => { if (w.pageWarmerStats().received < 1 && ++n < 500) return; clearInterval(t); w.takeWarmBuffer(1 << 20); console.log(JSON.stringify(w.pageWarmerStats())); }, 20);`;
    const dir = mkdtempSync(join(tmpdir(), 'saiga-warmer-'));
    const file = join(dir, 'alive.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { timeout: 15_000, encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe('');
    expect(r.error, 'the process exits by itself').toBeUndefined();
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout.trim()) as { received: number }).received).toBeGreaterThanOrEqual(1);
  });
});
