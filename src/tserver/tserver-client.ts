import * as grpc from '@grpc/grpc-js';
import * as arrow from 'apache-arrow';
import type { HybridTime } from '../common/hybrid-time.js';
import type { ScanSpec } from '../common/scan-spec.js';
import type { RowError, WriteOpKind } from '../common/storage-api.js';
import type { Schema } from '../common/types.js';
import type { WriteOp } from '../tablet/tablet-api.js';
import { CHANNEL_OPTIONS, fromServiceError, rowsToJson, services } from './grpc-codec.js';
import type { ServerConfig } from './tablet-server.js';

/** A client of one tablet server's TabletServer gRPC service. Errors come back as SaigaErrors. */
export class TabletServerClient {
  private readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(readonly address: string) {
    this.client = new (services().tabletServer)(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  private call<Res>(method: string, req: unknown, timeoutMs: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) => (err === null ? resolve(res) : reject(fromServiceError(err))));
    });
  }

  async write(tabletId: string, ops: readonly WriteOp[], timeoutMs = 15_000): Promise<{ appliedCount: number; rowErrors: RowError[]; timestamp: HybridTime }> {
    const r = await this.call<{ appliedCount: number; rowErrorsJson: string; timestamp: string }>('write', { tabletId, opsJson: rowsToJson(ops) }, timeoutMs);
    return { appliedCount: r.appliedCount, rowErrors: JSON.parse(r.rowErrorsJson) as RowError[], timestamp: BigInt(r.timestamp) };
  }

  /** Columnar write of Arrow rows (tablet column names) with one op kind; row errors index the batch's rows. */
  async writeArrow(tabletId: string, kind: WriteOpKind, batch: arrow.RecordBatch, timeoutMs = 15_000): Promise<{ appliedCount: number; rowErrors: RowError[]; timestamp: HybridTime }> {
    const ipc = arrow.RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
    const r = await this.call<{ appliedCount: number; rowErrorsJson: string; timestamp: string }>('writeArrow', { tabletId, kind, ipc }, timeoutMs);
    return { appliedCount: r.appliedCount, rowErrors: JSON.parse(r.rowErrorsJson) as RowError[], timestamp: BigInt(r.timestamp) };
  }

  async scan(tabletId: string, spec: ScanSpec = {}, timeoutMs = 15_000): Promise<{ rowCount: number; batches: arrow.RecordBatch[] }> {
    const r = await this.call<{ ipc: Uint8Array; rowCount: number }>('scan', { tabletId, specJson: rowsToJson(spec) }, timeoutMs);
    return { rowCount: r.rowCount, batches: r.ipc.byteLength === 0 ? [] : arrow.tableFromIPC(r.ipc).batches };
  }

  status(tabletId: string, timeoutMs = 2000): Promise<{
    serverId: string; role: string; leader: string; term: number; commit: number; applied: number; lastIndex: number; voters: string[];
    logFirstIndex: number; copiesInstalled: number; copiesServed: number;
  }> {
    return this.call('status', { tabletId }, timeoutMs);
  }

  /** Flushes the tablet replica and garbage-collects its log. */
  flush(tabletId: string, timeoutMs = 10_000): Promise<{ segmentsDeleted: number; logFirstIndex: number }> {
    return this.call('flush', { tabletId }, timeoutMs);
  }

  async configure(c: ServerConfig, timeoutMs = 10_000): Promise<void> {
    await this.call('configure', {
      peers: c.peers,
      tablets: c.tablets.map((t) => ({ tabletId: t.tabletId, schemaJson: rowsToJson(t.schema satisfies Schema), voters: [...t.voters] })),
    }, timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}
