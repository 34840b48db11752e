// Child process of bulk-crash.test.ts: runs bulk loads (compiled JS from dist/) into a hashed
// table and prints progress; the parent SIGKILLs it at a random point.
//   STAGED <load> <batch>   write() of that batch resolved (staged: not durable yet)
//   FINISHING <load>        finish() called
//   FIN <load> <applied>    finish() resolved: the whole load is durable and visible
import * as arrow from 'apache-arrow';
import { openEmbeddedStorage } from '../../dist/src/client/index.js';

const [dataDir, startLoadArg, batchesArg, rowsArg] = process.argv.slice(2);
const startLoad = Number(startLoadArg);
const batches = Number(batchesArg);
const rows = Number(rowsArg);
const storage = await openEmbeddedStorage({
  dataDir,
  limits: { memRowSetFlushBytes: 256 * 1024, logSegmentBytes: 128 * 1024 },
  maintenanceIntervalMs: 50,
  compactionIntervalMs: 300,
});
await storage.createTable({
  database: 'default',
  name: 'bulk',
  ifNotExists: true,
  schema: {
    keyColumnCount: 1,
    columns: [
      { name: 'id', type: 'int64', nullable: false },
      { name: 'load', type: 'int32', nullable: false },
      { name: 'payload', type: 'string', nullable: true },
    ],
  },
  partitionSchema: { hash: [{ columns: ['id'], buckets: 3, seed: 5 }], rangeColumns: [] },
});
console.log('READY');
for (let l = startLoad; ; l++) {
  const load = storage.bulkLoad('default', 'bulk');
  for (let b = 0; b < batches; b++) {
    const ids = new BigInt64Array(rows);
    const loads = new Int32Array(rows);
    const payload = [];
    for (let i = 0; i < rows; i++) {
      ids[i] = BigInt(l) * 10_000_000n + BigInt(b * rows + i);
      loads[i] = l;
      payload.push(`p-${l}-${b * rows + i}`);
    }
    const batch = new arrow.RecordBatch({
      id: arrow.makeData({ type: new arrow.Int64(), length: rows, data: ids }),
      load: arrow.makeData({ type: new arrow.Int32(), length: rows, data: loads }),
      payload: arrow.vectorFromArray(payload, new arrow.Utf8()).data[0],
    });
    const r = await load.write(batch);
    if (r.rowErrors.length > 0 || r.stagedCount !== rows) {
      console.log(`ERROR ${JSON.stringify({ ...r, timestamp: String(r.timestamp) })}`);
      process.exit(3);
    }
    console.log(`STAGED ${l} ${b}`);
  }
  console.log(`FINISHING ${l}`);
  const f = await load.finish();
  console.log(`FIN ${l} ${f.appliedCount}`);
}
