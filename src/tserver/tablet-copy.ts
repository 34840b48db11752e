import * as grpc from '@grpc/grpc-js';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { corruption, SaigaError } from '../common/errors.js';
import { syncDir } from '../wal/index.js';
import { CHANNEL_OPTIONS, fromServiceError, services } from './grpc-codec.js';

/**
 * Tablet copy: the Raft snapshot of a tablet is its flushed files.
 *
 * Source (the leader): `pinCopy(dataDir, into)` hard-links every file of the tablet's data/
 * directory into a private directory right after a flush, synchronously, so what is streamed is
 * one consistent state even while compactions replace files (data files are immutable, the
 * metadata is replaced by rename); `streamCopy` sends it (manifest, then chunks, each file's
 * size and CRC32 on its last chunk) and the directory is removed afterwards.
 * Destination (the follower): `fetchCopy` writes the files into `<tabletDir>/data.copy-tmp/`,
 * checks sizes and CRCs, fsyncs the files and the directory; `swapInCopy` renames the current
 * data/ away and the copy in its place (recovered on open by `recoverCopyDirs`).
 */

export const COPY_TMP_DIR = 'data.copy-tmp';
const OLD_DATA_DIR = 'data.old';
const CHUNK_BYTES = 1024 * 1024;

export interface CopyChunk {
  manifest: boolean;
  opIndex: number;
  fileCount: number;
  file: string;
  offset: number;
  data: Uint8Array;
  last: boolean;
  size: number;
  crc32: number;
}

/** Hard-links the files of `dataDir` into `into` (created); returns their names. */
export function pinCopy(dataDir: string, into: string): string[] {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const names = readdirSync(dataDir).filter((n) => !n.endsWith('.tmp')).sort();
  for (const n of names) linkSync(join(dataDir, n), join(into, n));
  return names;
}

function waitDrain(call: grpc.ServerWritableStream<unknown, CopyChunk>): Promise<void> {
  return new Promise((resolve) => call.once('drain', () => resolve()));
}

/** Streams a pinned copy: a manifest chunk, then each file in chunks. */
export async function streamCopy(call: grpc.ServerWritableStream<unknown, CopyChunk>, dir: string, names: readonly string[], opIndex: number): Promise<void> {
  const empty = new Uint8Array(0);
  if (!call.write({ manifest: true, opIndex, fileCount: names.length, file: '', offset: 0, data: empty, last: false, size: 0, crc32: 0 })) await waitDrain(call);
  for (const name of names) {
    const fd = openSync(join(dir, name), 'r');
    try {
      let offset = 0;
      let crc = 0;
      for (;;) {
        const buf = Buffer.allocUnsafe(CHUNK_BYTES);
        const n = readSync(fd, buf, 0, CHUNK_BYTES, offset);
        const data = buf.subarray(0, n);
        crc = crc32(data, crc);
        const last = n < CHUNK_BYTES;
        const ok = call.write({ manifest: false, opIndex, fileCount: 0, file: name, offset, data, last, size: last ? offset + n : 0, crc32: last ? crc : 0 });
        offset += n;
        if (!ok) await waitDrain(call);
        if (last) break;
        if (call.cancelled) throw new SaigaError('Aborted', `tablet copy of ${dir} cancelled by the receiver`);
      }
    } finally {
      closeSync(fd);
    }
  }
  call.end();
}

/**
 * Fetches the tablet copy of `tabletId` from the server at `address` into `<tabletDir>/data.copy-tmp`,
 * verified and fsynced. Resolves with the op index the copy holds.
 */
export function fetchCopy(address: string, tabletId: string, fromServer: string, tabletDir: string, timeoutMs = 120_000): Promise<number> {
  const into = join(tabletDir, COPY_TMP_DIR);
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const client = new (services().tabletCopy)(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientReadableStream<CopyChunk>>;
  return new Promise<number>((resolve, reject) => {
    let opIndex = -1;
    let expectFiles = -1;
    let done = 0;
    let fd: number | undefined;
    let file = '';
    let written = 0;
    let crc = 0;
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      stream.cancel();
      client.close();
      rmSync(into, { recursive: true, force: true });
      reject(e);
    };
    const stream = client['fetch']!({ tabletId, fromServer }, { deadline: Date.now() + timeoutMs });
    stream.on('data', (c: CopyChunk) => {
      if (failed) return;
      try {
        if (c.manifest) {
          opIndex = c.opIndex;
          expectFiles = c.fileCount;
          return;
        }
        if (expectFiles < 0) throw new SaigaError('Corruption', `tablet copy of ${tabletId} from ${address}: expected a manifest first, found a chunk of ${c.file}`);
        if (c.file !== file || fd === undefined) {
          if (fd !== undefined) throw new SaigaError('Corruption', `tablet copy of ${tabletId}: file ${file} ended without its last chunk`);
          if (c.file === '' || c.file.includes('/') || c.file.includes('..')) throw new SaigaError('Corruption', `tablet copy of ${tabletId}: bad file name '${c.file}'`);
          file = c.file;
          fd = openSync(join(into, file), 'w');
          written = 0;
          crc = 0;
        }
        if (c.offset !== written) throw new SaigaError('Corruption', `tablet copy of ${tabletId}: chunk of ${file} at offset ${c.offset}, expected ${written}`);
        writeSync(fd, c.data, 0, c.data.byteLength, written);
        written += c.data.byteLength;
        crc = crc32(c.data, crc);
        if (c.last) {
          if (written !== c.size || crc !== c.crc32) {
            throw corruption(join(into, file), 0, `tablet copy from ${address}: ${written} bytes with CRC32 ${crc}, the sender has ${c.size} bytes with CRC32 ${c.crc32}`);
          }
          fsyncSync(fd);
          closeSync(fd);
          fd = undefined;
          done++;
        }
      } catch (e) {
        fail(e);
      }
    });
    stream.on('error', (e: grpc.ServiceError) => fail(fromServiceError(e)));
    stream.on('end', () => {
      if (failed) return;
      if (fd !== undefined || opIndex < 0 || done !== expectFiles) {
        fail(new SaigaError('Corruption', `tablet copy of ${tabletId} from ${address} ended after ${done} of ${expectFiles} files`));
        return;
      }
      syncDir(into);
      client.close();
      resolve(opIndex);
    });
  });
}

/** Replaces `<tabletDir>/data` by the fetched copy (the caller closed the tablet). */
export function swapInCopy(tabletDir: string): void {
  const tmp = join(tabletDir, COPY_TMP_DIR);
  const data = join(tabletDir, 'data');
  const old = join(tabletDir, OLD_DATA_DIR);
  if (!existsSync(tmp)) throw new SaigaError('IllegalState', `expected a fetched tablet copy in ${tmp}, found none`);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(data)) renameSync(data, old);
  renameSync(tmp, data);
  syncDir(tabletDir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * On open: a crash between the two renames of swapInCopy left no data/ but a complete copy
 * (it is renamed in only after it was verified and fsynced): finish the swap. Otherwise an
 * unfinished fetch and an old data/ are deleted, and so are pinned copies of a source.
 */
export function recoverCopyDirs(tabletDir: string): void {
  if (!existsSync(tabletDir)) return;
  const tmp = join(tabletDir, COPY_TMP_DIR);
  const data = join(tabletDir, 'data');
  if (!existsSync(data) && existsSync(tmp) && existsSync(join(tabletDir, OLD_DATA_DIR))) {
    renameSync(tmp, data);
    syncDir(tabletDir);
  }
  rmSync(tmp, { recursive: true, force: true });
  rmSync(join(tabletDir, OLD_DATA_DIR), { recursive: true, force: true });
  for (const n of readdirSync(tabletDir)) if (n.startsWith('copy-src-')) rmSync(join(tabletDir, n), { recursive: true, force: true });
}
