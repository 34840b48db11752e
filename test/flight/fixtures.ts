/** Test helpers: build Arrow record batches from Saiga rows and read them back, straight from the buffers. */
import { Field, RecordBatch, Schema as ArrowSchema, Struct, makeData, type Data } from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStorage } from '../../src/client/index.js';
import type { StorageApi } from '../../src/common/storage-api.js';
import type { ColumnSchema, DataType, Row, Value } from '../../src/common/types.js';
import type { QueryEngine } from '../../src/query/api.js';
import { createQueryEngine } from '../../src/query/index.js';
import { arrowTypeOf } from '../../src/server/flight/arrow-schema.js';
import { FlightClient } from '../../src/server/flight/client.js';
import { startFlightServer, type FlightServer, type FlightServerOptions } from '../../src/server/flight/server.js';

// ---------------------------------------------------------------------------------------
// Arrow <-> Saiga values, straight from the buffers (builders would reinterpret units).

export function readColumn(data: Data, type: DataType): Value[] {
  const out: Value[] = [];
  const bitmap = data.nullBitmap;
  const valid = (i: number): boolean => {
    if (bitmap === undefined || bitmap === null || bitmap.length === 0 || data.nullCount === 0) return true;
    const j = data.offset + i;
    return ((bitmap[j >> 3] as number) & (1 << (j & 7))) !== 0;
  };
  const vals = data.values as ArrayLike<number | bigint>;
  for (let i = 0; i < data.length; i++) {
    if (!valid(i)) {
      out.push(null);
      continue;
    }
    const j = data.offset + i;
    switch (type) {
      case 'bool': out.push((((data.values as Uint8Array)[j >> 3] as number) & (1 << (j & 7))) !== 0); break;
      case 'int8': case 'int16': case 'int32': case 'date': case 'float': case 'double':
        out.push(vals[j] as number); break;
      case 'int64': out.push((data.values as BigInt64Array)[j] as bigint); break;
      case 'timestamp': out.push(Number((data.values as BigInt64Array)[j] as bigint)); break;
      case 'decimal': {
        const w = data.values as Uint32Array;
        let v = 0n;
        for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(w[j * 4 + k] as number);
        out.push(BigInt.asIntN(128, v));
        break;
      }
      case 'string': case 'binary': {
        const offs = data.valueOffsets as Int32Array;
        const bytes = (data.values as Uint8Array).subarray(offs[j] as number, offs[j + 1] as number);
        out.push(type === 'string' ? new TextDecoder().decode(bytes) : Uint8Array.from(bytes));
        break;
      }
    }
  }
  return out;
}

export function buildColumn(col: Pick<ColumnSchema, 'type' | 'precision' | 'scale'>, values: readonly Value[]): Data {
  const type = arrowTypeOf(col);
  const n = values.length;
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  const common = { type, length: n, nullCount, nullBitmap: bitmap };
  switch (col.type) {
    case 'bool': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      values.forEach((v, i) => { if (v === true) bits[i >> 3]! |= 1 << (i & 7); });
      return makeData({ ...common, data: bits } as never);
    }
    case 'int8': return makeData({ ...common, data: Int8Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int16': return makeData({ ...common, data: Int16Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int32': case 'date': return makeData({ ...common, data: Int32Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'float': return makeData({ ...common, data: Float32Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'double': return makeData({ ...common, data: Float64Array.from(values, (v) => Number(v ?? 0)) } as never);
    case 'int64': case 'timestamp': return makeData({ ...common, data: BigInt64Array.from(values, (v) => BigInt((v ?? 0) as number | bigint)) } as never);
    case 'decimal': {
      const w = new Uint32Array(n * 4);
      values.forEach((v, i) => {
        const u = BigInt.asUintN(128, BigInt((v ?? 0) as bigint));
        for (let k = 0; k < 4; k++) w[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
      });
      return makeData({ ...common, data: w } as never);
    }
    case 'string': case 'binary': {
      const parts = values.map((v) => (v === null || v === undefined ? new Uint8Array(0) : typeof v === 'string' ? new TextEncoder().encode(v) : (v as Uint8Array)));
      const offsets = new Int32Array(n + 1);
      parts.forEach((p, i) => { offsets[i + 1] = (offsets[i] as number) + p.length; });
      const bytes = new Uint8Array(offsets[n] as number);
      parts.forEach((p, i) => bytes.set(p, offsets[i] as number));
      return makeData({ ...common, valueOffsets: offsets, data: bytes } as never);
    }
  }
}

export function buildBatch(columns: readonly ColumnSchema[], rows: readonly Row[]): RecordBatch {
  const fields = columns.map((c) => new Field(c.name, arrowTypeOf(c), c.nullable));
  const children = columns.map((c, ci) => buildColumn(c, rows.map((r) => r[ci] ?? null)));
  const schema = new ArrowSchema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }));
}

export function batchRows(batch: RecordBatch, types: readonly DataType[]): Value[][] {
  const cols = types.map((t, i) => readColumn(batch.getChildAt(i)!.data[0] as Data, t));
  return Array.from({ length: batch.numRows }, (_, r) => cols.map((c) => c[r] as Value));
}

// ---------------------------------------------------------------------------------------
// A Flight server over a fresh embedded storage, and a client of it.

export interface FlightTestbed {
  readonly dir: string;
  readonly storage: StorageApi;
  readonly engine: QueryEngine;
  readonly server: FlightServer;
  readonly client: FlightClient;
  close(): Promise<void>;
}

/** `setup` fills the storage before the server starts; `serverOptions` adds to { storage, engine, port: 0 }. */
export async function openFlightTestbed(prefix: string, setup: (storage: StorageApi) => Promise<void>, serverOptions: Partial<FlightServerOptions> = {}): Promise<FlightTestbed> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const storage = await openEmbeddedStorage({ dataDir: dir });
  const engine = createQueryEngine({ storage });
  await setup(storage);
  const server = await startFlightServer({ storage, engine, port: 0, ...serverOptions });
  const client = new FlightClient(`127.0.0.1:${server.port}`);
  return {
    dir, storage, engine, server, client,
    close: async () => {
      client.close();
      await server.close();
      await engine.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
