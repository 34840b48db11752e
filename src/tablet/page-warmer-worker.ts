import { parentPort } from 'node:worker_threads';
import { assert } from '../common/assert.js';
import type { WarmRequest } from './page-warmer.js';

/**
 * The page warmer thread (page-warmer.ts): allocates a SharedArrayBuffer of the asked size,
 * writes one zero per 4 KiB page (the page faults and the kernel's zeroing happen here), and
 * posts it back. Nobody else holds the buffer until it is posted: plain writes, no race.
 */
const PAGE_BYTES = 4096;
const port = parentPort;
assert(port !== null, 'page-warmer-worker runs as a worker thread');
port.on('message', (req: WarmRequest) => {
  const buf = new SharedArrayBuffer(req.bytes);
  const u8 = new Uint8Array(buf);
  for (let i = 0; i < u8.length; i += PAGE_BYTES) u8[i] = 0;
  port.postMessage(buf);
});
