import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import type { RecordBatch } from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import * as parquet from 'parquet-wasm/node';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { TpchData } from './dbgen.js';
import { TPCH_TABLE_NAMES, saigaPartitionSchema, saigaSchema, tpchCreateTableSql } from './schema.js';
import type { TpchTableName } from './schema.js';

/**
 * Loaders for generated TPC-H data. DuckDB: each table is written to an uncompressed Parquet
 * file (parquet-wasm) and inserted with read_parquet, which is far faster than appending
 * values one by one from JS. Saiga: tables created through StorageApi.createTable and filled
 * with StorageApi.writeArrow, batch by batch.
 */

export interface LoadTiming {
  readonly table: TpchTableName;
  readonly rowCount: number;
  readonly ms: number;
}

function writeParquetFile(path: string, batches: readonly RecordBatch[]): void {
  const first = batches[0];
  if (first === undefined) throw new Error(`no batches for ${path}`);
  const ipc = tableToIPC(new Table(first.schema, [...batches]), 'stream');
  const table = parquet.Table.fromIPCStream(ipc);
  const props = new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.UNCOMPRESSED).build();
  const bytes = parquet.writeParquet(table, props);
  writeFileSync(path, bytes);
}

export async function loadDuckDb(conn: DuckDBConnection, data: TpchData): Promise<LoadTiming[]> {
  const dir = mkdtempSync(join(tmpdir(), 'saiga-tpch-duckdb-'));
  const out: LoadTiming[] = [];
  try {
    for (const name of TPCH_TABLE_NAMES) {
      const t0 = performance.now();
      await conn.run(`DROP TABLE IF EXISTS ${name}`);
      await conn.run(tpchCreateTableSql(name, 'duckdb'));
      const td = data[name];
      // One file per ~1M rows keeps parquet-wasm's memory bounded at SF 1.
      let part = 0;
      for (let i = 0; i < td.batches.length; ) {
        const group: RecordBatch[] = [];
        let rows = 0;
        while (i < td.batches.length && rows < 1_000_000) {
          const b = td.batches[i++] as RecordBatch;
          group.push(b);
          rows += b.numRows;
        }
        const file = join(dir, `${name}-${part++}.parquet`);
        writeParquetFile(file, group);
        await conn.run(`INSERT INTO ${name} SELECT * FROM read_parquet('${file}')`);
        rmSync(file);
      }
      out.push({ table: name, rowCount: td.rowCount, ms: performance.now() - t0 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export interface SaigaLoadOptions {
  readonly database: string;
  /** Hash buckets per table (tablets); 1 = unpartitioned. */
  readonly buckets?: number;
  /** Flush MemRowSets to DiskRowSets after loading (default true). */
  readonly flush?: boolean;
}

/** Creates the database and the 8 tables (dropping old ones) and bulk-loads the data. */
export async function loadSaiga(storage: StorageApi, data: TpchData, options: SaigaLoadOptions): Promise<LoadTiming[]> {
  const { database } = options;
  const buckets = options.buckets ?? 4;
  await storage.createDatabase(database, true);
  const out: LoadTiming[] = [];
  for (const name of TPCH_TABLE_NAMES) {
    const t0 = performance.now();
    await storage.dropTable(database, name, true);
    const small = name === 'region' || name === 'nation';
    await storage.createTable({
      database, name, schema: saigaSchema(name), partitionSchema: saigaPartitionSchema(name, small ? 1 : buckets),
    });
    const td = data[name];
    for (const batch of td.batches) {
      const res = await storage.writeArrow(database, name, 'insert', batch);
      if (res.rowErrors.length > 0 || res.appliedCount !== batch.numRows) {
        const first = res.rowErrors[0];
        throw new Error(
          `loading ${name}: expected ${batch.numRows} rows applied, got ${res.appliedCount} with ${res.rowErrors.length} row errors` +
            (first === undefined ? '' : ` (first: row ${first.rowIndex} ${first.code}: ${first.message})`),
        );
      }
    }
    out.push({ table: name, rowCount: td.rowCount, ms: performance.now() - t0 });
  }
  if (options.flush ?? true) await storage.flush(database);
  return out;
}
