// Child process of crash.test.ts: ingests batches into the embedded storage (compiled JS from
// dist/) and prints "ACK <batch>" once each write has resolved (= durable). The parent kills it.
import { openEmbeddedStorage } from '../../dist/src/client/index.js';

const [dataDir, startBatchArg, rowsArg] = process.argv.slice(2);
const startBatch = Number(startBatchArg);
const rowsPerBatch = Number(rowsArg ?? '500');
const storage = await openEmbeddedStorage({
  dataDir,
  limits: { memRowSetFlushBytes: 256 * 1024, logSegmentBytes: 128 * 1024 },
  maintenanceIntervalMs: 50,
  compactionIntervalMs: 200,
});
await storage.createTable({
  database: 'default',
  name: 'events',
  ifNotExists: true,
  schema: {
    keyColumnCount: 1,
    columns: [
      { name: 'id', type: 'int64', nullable: false },
      { name: 'batch', type: 'int32', nullable: false },
      { name: 'payload', type: 'string', nullable: true },
    ],
  },
  partitionSchema: { hash: [{ columns: ['id'], buckets: 3, seed: 5 }], rangeColumns: [] },
});
console.log('READY');
for (let b = startBatch; ; b++) {
  const rows = [];
  for (let i = 0; i < rowsPerBatch; i++) rows.push([BigInt(b) * 100000n + BigInt(i), b, `p-${b}-${i}`]);
  const r = await storage.write('default', 'events', 'insert', rows);
  if (r.rowErrors.length > 0) {
    console.log(`ERROR ${JSON.stringify(r.rowErrors[0])}`);
    process.exit(3);
  }
  // Updates of earlier rows exercise DeltaMemStores and their flush.
  if (b > startBatch) await storage.write('default', 'events', 'update', [[BigInt(b - 1) * 100000n, b - 1, `u-${b - 1}`]]);
  console.log(`ACK ${b}`);
  if (b % 5 === 0) await storage.flush();
}
