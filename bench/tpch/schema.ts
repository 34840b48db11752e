import type { ColumnSchema, Schema } from '../../src/common/types.js';
import type { PartitionSchema } from '../../src/common/partition.js';
import { DECIMAL_PRECISION, DECIMAL_SCALE } from './columns.js';
import type { GenColumnSpec, GenColumnType } from './columns.js';

/**
 * The 8 TPC-H tables: column names and types as in the spec (DECIMAL(15,2) money, DATE dates,
 * CHAR/VARCHAR as strings, integer keys), primary keys as in the spec.
 */

export type TpchTableName = 'region' | 'nation' | 'supplier' | 'customer' | 'part' | 'partsupp' | 'orders' | 'lineitem';

export const TPCH_TABLE_NAMES: readonly TpchTableName[] = [
  'region', 'nation', 'supplier', 'customer', 'part', 'partsupp', 'orders', 'lineitem',
];

export interface TpchTableDef {
  readonly name: TpchTableName;
  /** Columns in the spec's order. */
  readonly columns: readonly GenColumnSpec[];
  readonly primaryKey: readonly string[];
  /** Hash partitioning column for Saiga (a primary-key column). */
  readonly hashColumn: string;
}

function cols(spec: string): GenColumnSpec[] {
  return spec.trim().split(/\s*,\s*/).map((s) => {
    const [name, type] = s.split(/\s+/) as [string, GenColumnType];
    return { name, type };
  });
}

export const TPCH_TABLES: Readonly<Record<TpchTableName, TpchTableDef>> = {
  region: { name: 'region', columns: cols('r_regionkey int32, r_name string, r_comment string'), primaryKey: ['r_regionkey'], hashColumn: 'r_regionkey' },
  nation: { name: 'nation', columns: cols('n_nationkey int32, n_name string, n_regionkey int32, n_comment string'), primaryKey: ['n_nationkey'], hashColumn: 'n_nationkey' },
  supplier: {
    name: 'supplier',
    columns: cols('s_suppkey int32, s_name string, s_address string, s_nationkey int32, s_phone string, s_acctbal decimal, s_comment string'),
    primaryKey: ['s_suppkey'], hashColumn: 's_suppkey',
  },
  customer: {
    name: 'customer',
    columns: cols('c_custkey int32, c_name string, c_address string, c_nationkey int32, c_phone string, c_acctbal decimal, c_mktsegment string, c_comment string'),
    primaryKey: ['c_custkey'], hashColumn: 'c_custkey',
  },
  part: {
    name: 'part',
    columns: cols('p_partkey int32, p_name string, p_mfgr string, p_brand string, p_type string, p_size int32, p_container string, p_retailprice decimal, p_comment string'),
    primaryKey: ['p_partkey'], hashColumn: 'p_partkey',
  },
  partsupp: {
    name: 'partsupp',
    columns: cols('ps_partkey int32, ps_suppkey int32, ps_availqty int32, ps_supplycost decimal, ps_comment string'),
    primaryKey: ['ps_partkey', 'ps_suppkey'], hashColumn: 'ps_partkey',
  },
  orders: {
    name: 'orders',
    columns: cols('o_orderkey int32, o_custkey int32, o_orderstatus string, o_totalprice decimal, o_orderdate date, o_orderpriority string, o_clerk string, o_shippriority int32, o_comment string'),
    primaryKey: ['o_orderkey'], hashColumn: 'o_orderkey',
  },
  lineitem: {
    name: 'lineitem',
    columns: cols('l_orderkey int32, l_partkey int32, l_suppkey int32, l_linenumber int32, l_quantity decimal, l_extendedprice decimal, l_discount decimal, l_tax decimal, l_returnflag string, l_linestatus string, l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct string, l_shipmode string, l_comment string'),
    primaryKey: ['l_orderkey', 'l_linenumber'], hashColumn: 'l_orderkey',
  },
};

function saigaColumn(c: GenColumnSpec): ColumnSchema {
  switch (c.type) {
    case 'int32': return { name: c.name, type: 'int32', nullable: false };
    case 'decimal': return { name: c.name, type: 'decimal', nullable: false, precision: DECIMAL_PRECISION, scale: DECIMAL_SCALE };
    case 'date': return { name: c.name, type: 'date', nullable: false };
    case 'string': return { name: c.name, type: 'string', nullable: false };
  }
}

/** Saiga schema: primary-key columns first (Kudu's rule), the rest in the spec's order. */
export function saigaSchema(name: TpchTableName): Schema {
  const def = TPCH_TABLES[name];
  const key = def.primaryKey.map((k) => def.columns.find((c) => c.name === k) as GenColumnSpec);
  const rest = def.columns.filter((c) => !def.primaryKey.includes(c.name));
  return { columns: [...key, ...rest].map(saigaColumn), keyColumnCount: key.length };
}

export function saigaPartitionSchema(name: TpchTableName, buckets: number): PartitionSchema {
  if (buckets <= 1) return { hash: [], rangeColumns: [] };
  return { hash: [{ columns: [TPCH_TABLES[name].hashColumn], buckets, seed: 0 }], rangeColumns: [] };
}

function sqlType(t: GenColumnType): string {
  switch (t) {
    case 'int32': return 'INT';
    case 'decimal': return `DECIMAL(${DECIMAL_PRECISION},${DECIMAL_SCALE})`;
    case 'date': return 'DATE';
    case 'string': return 'VARCHAR(199)';
  }
}

/**
 * CREATE TABLE text. 'saiga': key columns first, PRIMARY KEY, PARTITION BY HASH ... PARTITIONS n
 * (MySQL syntax). 'duckdb': the spec's column order, no key, no partitioning.
 */
export function tpchCreateTableSql(name: TpchTableName, dialect: 'saiga' | 'duckdb', buckets = 4): string {
  const def = TPCH_TABLES[name];
  if (dialect === 'duckdb') {
    const body = def.columns.map((c) => `${c.name} ${sqlType(c.type)} NOT NULL`).join(', ');
    // No PRIMARY KEY: DuckDB's own dbgen declares none, and index upkeep would dominate the load.
    return `CREATE TABLE ${name} (${body})`;
  }
  const schema = saigaSchema(name);
  const body = schema.columns
    .map((c) => {
      const spec = def.columns.find((d) => d.name === c.name) as GenColumnSpec;
      return `${c.name} ${sqlType(spec.type)} NOT NULL`;
    })
    .join(', ');
  const part = buckets > 1 ? ` PARTITION BY HASH (${def.hashColumn}) PARTITIONS ${buckets}` : '';
  return `CREATE TABLE ${name} (${body}, PRIMARY KEY (${def.primaryKey.join(', ')}))${part}`;
}
