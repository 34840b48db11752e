import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import { encodeEntries, SEGMENT_HEADER_BYTES, type LogEntry } from '../../src/wal/entry-codec.js';
import { openLog } from '../../src/wal/log.js';

/**
 * Zero-fill ahead (log.ts): the active segment is extended with durable zeros beyond its records so
 * small commits overwrite allocated blocks. These tests check what that must never change: the
 * records on disk, recovery after a crash at any point (a copy of the directory taken while zeros
 * lie ahead of the records), segment roll-over (only the last segment may end in zeros), suffix
 * truncation, and appends that race a zero-fill in flight.
 */

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saiga-wal-zero-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(index: number, size: number, term = 1): LogEntry {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (index * 31 + i * 7) & 0xff;
  return { term, index, type: 'write', payload };
}

/** Payload bytes as hex (reads return Buffer views, entries hold Uint8Arrays; and small diffs on failure). */
function hex(es: readonly LogEntry[]): string[] {
  return es.map((e) => Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength).toString('hex'));
}

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const n of readdirSync(from)) copyFileSync(join(from, n), join(to, n));
}

/** Deterministic sizes: mostly small commits (zero-fill regime), now and then a big one. */
function sizes(seed: number, n: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out.push(s % 17 === 0 ? 70_000 + (s % 50_000) : 20 + (s % 400));
  }
  return out;
}

describe('wal zero-fill ahead', () => {
  it('writes zeros ahead of small commits, and a copy taken mid-way recovers every durable entry', async () => {
    const dir = tempDir();
    const log = await openLog({ dir });
    for (let i = 1; i <= 50; i++) await log.append([entry(i, 100)]);
    const seg = log.segmentPaths()[0] as string;
    const dataBytes = log.sizeBytes();
    // Let the zero-fill started by the commits land (it runs beside them).
    await log.append([entry(51, 100)]);
    const fileBytes = statSync(seg).size;
    expect(fileBytes).toBeGreaterThan(log.sizeBytes());
    expect(readFileSync(seg).subarray(log.sizeBytes()).every((b) => b === 0)).toBe(true);
    expect(dataBytes).toBeLessThan(log.sizeBytes());
    // "Crash": a copy of the directory as it is now, with the zeros after the records.
    const copy = join(tempDir(), 'wal');
    copyDir(dir, copy);
    await log.close();
    const again = await openLog({ dir: copy });
    expect(again.lastIndex()).toBe(51);
    expect(hex(again.read(1, 52))).toEqual(hex(Array.from({ length: 51 }, (_, k) => entry(k + 1, 100))));
    // The zero tail was cut on open; appends continue after the last record.
    await again.append([entry(52, 100)]);
    await again.close();
    const third = await openLog({ dir: copy });
    expect(third.lastIndex()).toBe(52);
    await third.close();
  });

  it('rolls segments over with the zeros cut from the old one, across racing appends (seed 7)', async () => {
    const seed = 7;
    const dir = tempDir();
    // Segments of 700 KiB: every zero-fill reaches the segment end, and big commits cross it.
    const log = await openLog({ dir, segmentBytes: 700 << 10 });
    const all: LogEntry[] = [];
    const sz = sizes(seed, 400);
    let next = 1;
    for (let round = 0; round < 40; round++) {
      // Ten concurrent appends per round (one group commit or a few), some of them big.
      const pending: Promise<void>[] = [];
      for (let k = 0; k < 10; k++) {
        const e = entry(next, sz[next - 1] as number);
        next++;
        all.push(e);
        pending.push(log.append([e]));
      }
      await Promise.all(pending);
    }
    const paths = log.segmentPaths();
    expect(paths.length, `seed ${seed}`).toBeGreaterThan(2);
    const copy = join(tempDir(), 'wal');
    copyDir(dir, copy);
    expect(hex(log.read(1, next)), `seed ${seed}`).toEqual(hex(all));
    await log.close();
    const again = await openLog({ dir: copy, segmentBytes: 700 << 10 });
    expect(again.lastIndex(), `seed ${seed}`).toBe(all.length);
    expect(hex(again.read(1, next)), `seed ${seed}`).toEqual(hex(all));
    // open() reads a torn (zero) tail of a non-last segment as Corruption: reaching here means
    // every rolled-over segment ended at its last record.
    await again.close();
  });

  it('truncates a suffix (Raft conflict) with zeros ahead and appends over the cut', async () => {
    const dir = tempDir();
    const log = await openLog({ dir });
    for (let i = 1; i <= 30; i++) await log.append([entry(i, 200)]);
    await log.setHardState({ term: 1, vote: '', commit: 10 });
    await log.truncateSuffix(21);
    expect(log.lastIndex()).toBe(20);
    const seg = log.segmentPaths()[0] as string;
    expect(statSync(seg).size).toBe(log.sizeBytes());
    await log.appendReplacing([entry(21, 50, 2), entry(22, 50, 2)]);
    for (let i = 23; i <= 40; i++) await log.append([entry(i, 50, 2)]);
    const want = [...Array.from({ length: 20 }, (_, k) => entry(k + 1, 200)), ...Array.from({ length: 20 }, (_, k) => entry(k + 21, 50, 2))];
    expect(hex(log.read(1, 41))).toEqual(hex(want));
    await log.close();
    const again = await openLog({ dir });
    expect(again.read(1, 41).map((e) => e.term)).toEqual(want.map((e) => e.term));
    expect(hex(again.read(1, 41))).toEqual(hex(want));
    expect(readFileSync(seg).subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 4).some((b) => b !== 0)).toBe(true);
    await again.close();
  });

  it('cuts a record that a crash left half-written in zero-filled space, and still reports other damage as Corruption', async () => {
    const dir = tempDir();
    const log = await openLog({ dir });
    for (let i = 1; i <= 10; i++) await log.append([entry(i, 300)]);
    const seg = log.segmentPaths()[0] as string;
    const end = log.sizeBytes();
    await log.close();
    const clean = readFileSync(seg);
    expect(clean.byteLength).toBeGreaterThan(end + 20_000); // zeros ahead of the records
    // A write of entry 11 cut short (SIGKILL between pages, or later sectors lost): its header and
    // the first part of its body, zeros after.
    const rec = encodeEntries([entry(11, 9000)]);
    const cut = Buffer.from(clean);
    cut.set(rec.subarray(0, 5000), end);
    writeFileSync(seg, cut);
    let again = await openLog({ dir });
    expect(again.lastIndex()).toBe(10);
    expect(statSync(seg).size).toBe(end);
    await again.append([entry(11, 9000)]);
    expect(hex(again.read(11, 12))).toEqual(hex([entry(11, 9000)]));
    await again.close();

    const corrupt = async (bytes: Buffer): Promise<string> => {
      writeFileSync(seg, bytes);
      try {
        await (await openLog({ dir })).close();
        return 'opened';
      } catch (e) {
        return isSaigaError(e, 'Corruption') ? `Corruption at ${String(e.details.offset)}` : String(e);
      }
    };
    // Data after a zero header (a stray byte in the zeros): not a torn write.
    const stray = Buffer.from(clean);
    stray[end + 10_000] = 0xff;
    expect(await corrupt(stray)).toBe(`Corruption at ${end}`);
    // A bad record followed by a good one: not a torn write.
    const middle = Buffer.from(clean);
    const fifth = SEGMENT_HEADER_BYTES + 4 * (12 + 20 + 300);
    middle[fifth + 100] = (middle[fifth + 100] as number) ^ 1;
    expect(await corrupt(middle)).toBe(`Corruption at ${fifth}`);
    // The half-written record followed by data further on: not a torn write either.
    const both = Buffer.from(cut);
    both[end + 20_000] = 1;
    expect(await corrupt(both)).toBe(`Corruption at ${end}`);
  });
});
