import type { RecordBatch } from 'apache-arrow';
import { createQueryEngine } from '../../src/query/index.js';
import type { Session, StatementResult } from '../../src/query/api.js';
import { MemoryStorage } from './memory-storage.js';

export type Cell = string | number | boolean | null;

/** Arrow cells normalized for assertions: bigints/decimals as strings, dates as YYYY-MM-DD. */
export function normalize(v: unknown, typeName: string, scale: number): Cell {
  if (v === null || v === undefined) return null;
  if (typeName === 'decimal') {
    // arrow returns Uint32Array words for Decimal; rebuild the bigint
    const w = v as Uint32Array;
    let x = 0n;
    for (let k = 3; k >= 0; k--) x = (x << 32n) | BigInt(w[k]!);
    x = BigInt.asIntN(128, x);
    const neg = x < 0n;
    const a = neg ? -x : x;
    const s = a.toString().padStart(scale + 1, '0');
    return `${neg ? '-' : ''}${scale > 0 ? `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}` : s}`;
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeName === 'date') return new Date(Number(v)).toISOString().slice(0, 10);
  if (typeName === 'timestamp') return new Date(Number(v)).toISOString().replace('T', ' ').replace('Z', '');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v as Cell;
}

export async function rowsOf(r: StatementResult): Promise<Cell[][]> {
  if (r.kind !== 'rows') throw new Error(`expected rows, got ${r.kind}`);
  const out: Cell[][] = [];
  const batches: RecordBatch[] = [];
  for await (const b of r.batches) batches.push(b);
  for (const b of batches) {
    for (let i = 0; i < b.numRows; i++) {
      out.push(r.columns.map((c, k) => normalize(b.getChildAt(k)!.get(i), c.type, c.scale ?? 0)));
    }
  }
  return out;
}

export interface Harness {
  storage: MemoryStorage;
  session: Session;
  q(sql: string): Promise<Cell[][]>;
  exec(sql: string): Promise<StatementResult[]>;
}

export async function harness(db = 'test'): Promise<Harness> {
  const storage = new MemoryStorage();
  const engine = createQueryEngine({ storage });
  const session = engine.openSession({ user: 'root', connectionId: 7 });
  await session.execute(`CREATE DATABASE ${db}; USE ${db}`);
  return {
    storage, session,
    async q(sql) {
      const rs = await session.execute(sql);
      return rowsOf(rs[rs.length - 1]!);
    },
    exec: (sql) => session.execute(sql),
  };
}
