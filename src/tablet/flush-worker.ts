import { dirname } from 'node:path';
import { parentPort, threadId } from 'node:worker_threads';
import { assert } from '../common/assert.js';
import { writeDiskRowSetFromMemRowSet } from '../rowset/disk-rowset.js';
import { MemRowSet } from '../rowset/mem-rowset.js';
import type { FlushJobReply, FlushJobRequest } from './background-flush.js';
import { fsyncDir } from './tablet-metadata.js';

/**
 * The flush worker (background-flush.ts): writes a frozen MemRowSet image to a DiskRowSet file
 * with the same writer the tablet uses on its own thread, then publishes the outcome in the
 * job's shared state word (for a tablet blocked in wait()) and as a message.
 */
const port = parentPort;
assert(port !== null, 'flush-worker runs as a worker thread');
port.on('message', (job: FlushJobRequest) => {
  const word = new Int32Array(job.state, 0, 1);
  const nums = new Float64Array(job.state, 8, 2);
  let reply: FlushJobReply = { id: job.id, threadId };
  try {
    const mrs = MemRowSet.fromImage(job.columns, job.image);
    const res = writeDiskRowSetFromMemRowSet(job.path, job.columns, job.keyColumnCount, mrs, job.rowsPerBatch);
    // Only MemRowSets without row versions are flushed here: no UNDO / REDO to hand back.
    assert(res.undo.recordCount === 0 && res.redo.recordCount === 0, () => `background flush of ${job.path} produced ${res.undo.recordCount} UNDO / ${res.redo.recordCount} REDO records`);
    // The file's directory entry too: the tablet then references it without an fsync of its own
    // on the writing thread.
    fsyncDir(dirname(job.path));
    nums[0] = res.rowCount;
    nums[1] = res.fileBytes;
    Atomics.store(word, 0, 1);
  } catch (e) {
    reply = { id: job.id, threadId, error: `background flush of ${job.path}: ${e instanceof Error ? e.message : String(e)}` };
    Atomics.store(word, 0, 2);
  }
  Atomics.notify(word, 0);
  port.postMessage(reply);
});
