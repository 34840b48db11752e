import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { tableToIPC, Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTpch, orderKeyOf, partSupplier, retailPriceCents, tpchCounts } from '../../bench/tpch/dbgen.js';
import type { TpchData } from '../../bench/tpch/dbgen.js';
import { loadDuckDb } from '../../bench/tpch/load.js';
import { TPCH_TABLE_NAMES, saigaSchema, tpchCreateTableSql } from '../../bench/tpch/schema.js';

/**
 * The generator against the TPC-H spec's rules, checked with SQL in DuckDB over the loaded data
 * (so the loader is exercised too): counts, key ranges, date rules, flags, price formulas.
 */
const SF = 0.01;
const SEED = 7;

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = await conn.runAndReadAll(sql);
  const v = r.getRows()[0]?.[0];
  return Number(v);
}

describe(`TPC-H generator SF ${SF} seed ${SEED}`, () => {
  let data: TpchData;
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;

  beforeAll(async () => {
    data = generateTpch(SF, SEED, { batchRows: 4096 });
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    conn = await instance.connect();
    await loadDuckDb(conn, data);
  }, 60_000);

  afterAll(() => {
    conn.closeSync();
    instance.closeSync();
  });

  it('row counts follow the scale factor', async () => {
    const c = tpchCounts(SF);
    expect(c).toEqual({ supplier: 100, part: 2000, customer: 1500, orders: 15000 });
    expect(data.region.rowCount).toBe(5);
    expect(data.nation.rowCount).toBe(25);
    expect(data.supplier.rowCount).toBe(100);
    expect(data.part.rowCount).toBe(2000);
    expect(data.partsupp.rowCount).toBe(8000);
    expect(data.customer.rowCount).toBe(1500);
    expect(data.orders.rowCount).toBe(15000);
    // 1..7 lines per order, 4 on average.
    expect(data.lineitem.rowCount).toBeGreaterThan(15000 * 3.8);
    expect(data.lineitem.rowCount).toBeLessThan(15000 * 4.2);
    for (const name of TPCH_TABLE_NAMES) {
      expect(await scalar(conn, `select count(*) from ${name}`), name).toBe(data[name].rowCount);
      for (const b of data[name].batches) expect(b.numRows).toBeLessThanOrEqual(4096);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const ipc = (d: TpchData): Buffer => Buffer.from(tableToIPC(new Table(d.orders.batches), 'stream'));
    const again = generateTpch(SF, SEED, { batchRows: 4096 });
    expect(ipc(again).equals(ipc(data))).toBe(true);
    const other = generateTpch(SF, SEED + 1, { batchRows: 4096 });
    expect(ipc(other).equals(ipc(data))).toBe(false);
  });

  it('keys: dense part/supplier/customer keys, sparse order keys, partsupp suppliers by formula', async () => {
    expect(orderKeyOf(0)).toBe(1);
    expect(orderKeyOf(7)).toBe(8);
    expect(orderKeyOf(8)).toBe(33);
    expect(await scalar(conn, 'select count(distinct o_orderkey) from orders')).toBe(15000);
    expect(await scalar(conn, 'select count(*) from orders where ((o_orderkey - 1) % 32) >= 8')).toBe(0);
    expect(await scalar(conn, 'select max(p_partkey) - min(p_partkey) + 1 - count(distinct p_partkey) from part')).toBe(0);
    expect(await scalar(conn, 'select count(*) from (select ps_partkey from partsupp group by ps_partkey having count(distinct ps_suppkey) <> 4)')).toBe(0);
    expect(partSupplier(1, 0, 100)).toBe(2);
    // Every lineitem (partkey, suppkey) pair exists in partsupp.
    expect(await scalar(conn, 'select count(*) from lineitem where not exists (select 1 from partsupp where ps_partkey = l_partkey and ps_suppkey = l_suppkey)')).toBe(0);
    // Customers whose key is a multiple of 3 place no orders; every order's customer exists.
    expect(await scalar(conn, 'select count(*) from orders where o_custkey % 3 = 0')).toBe(0);
    expect(await scalar(conn, 'select count(*) from orders where o_custkey not in (select c_custkey from customer)')).toBe(0);
    expect(await scalar(conn, 'select count(*) from lineitem where l_orderkey not in (select o_orderkey from orders)')).toBe(0);
    expect(await scalar(conn, 'select max(l_linenumber) from lineitem')).toBe(7);
  });

  it('dates follow the spec', async () => {
    expect(await scalar(conn, "select count(*) from orders where o_orderdate < date '1992-01-01' or o_orderdate > date '1998-08-02'")).toBe(0);
    const bad = `select count(*) from lineitem join orders on l_orderkey = o_orderkey where
      l_shipdate - o_orderdate not between 1 and 121 or l_commitdate - o_orderdate not between 30 and 90
      or l_receiptdate - l_shipdate not between 1 and 30`;
    expect(await scalar(conn, bad)).toBe(0);
  });

  it('flags and statuses follow the spec', async () => {
    expect(await scalar(conn, "select count(*) from lineitem where l_receiptdate <= date '1995-06-17' and l_returnflag not in ('R', 'A')")).toBe(0);
    expect(await scalar(conn, "select count(*) from lineitem where l_receiptdate > date '1995-06-17' and l_returnflag <> 'N'")).toBe(0);
    expect(await scalar(conn, "select count(*) from lineitem where (l_shipdate > date '1995-06-17') <> (l_linestatus = 'O')")).toBe(0);
    const status = `select count(*) from orders o where o_orderstatus <> (
      select case when bool_and(l_linestatus = 'F') then 'F' when bool_and(l_linestatus = 'O') then 'O' else 'P' end
      from lineitem where l_orderkey = o.o_orderkey)`;
    expect(await scalar(conn, status)).toBe(0);
    expect(await scalar(conn, "select count(distinct o_orderstatus) from orders")).toBe(3);
  });

  it('prices, discounts and taxes follow the spec', async () => {
    expect(retailPriceCents(1)).toBe(90100);
    expect(await scalar(conn, 'select count(*) from part where p_retailprice * 100 <> 90000 + ((p_partkey // 10) % 20001) + 100 * (p_partkey % 1000)')).toBe(0);
    expect(await scalar(conn, 'select count(*) from lineitem join part on l_partkey = p_partkey where l_extendedprice <> l_quantity * p_retailprice')).toBe(0);
    expect(await scalar(conn, 'select count(*) from lineitem where l_discount not between 0.00 and 0.10 or l_tax not between 0.00 and 0.08 or l_quantity not between 1 and 50')).toBe(0);
    expect(await scalar(conn, 'select count(distinct l_discount) from lineitem')).toBe(11);
    const total = `select count(*) from orders o where o_totalprice <> (
      select sum(round(l_extendedprice * (1 + l_tax) * (1 - l_discount), 2)) from lineitem where l_orderkey = o.o_orderkey)`;
    expect(await scalar(conn, total)).toBe(0);
    expect(await scalar(conn, 'select count(*) from customer where c_acctbal not between -999.99 and 9999.99')).toBe(0);
    expect(await scalar(conn, 'select count(*) from partsupp where ps_supplycost not between 1.00 and 1000.00 or ps_availqty not between 1 and 9999')).toBe(0);
  });

  it('text columns contain what the queries filter on', async () => {
    expect(await scalar(conn, "select count(*) from part where p_name like '%green%'")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(*) from part where p_name like 'forest%'")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(*) from part where p_type like '%BRASS' and p_size = 15")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(*) from part where p_type like 'PROMO%'")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(distinct p_type) from part")).toBe(150);
    expect(await scalar(conn, "select count(distinct p_container) from part")).toBe(40);
    expect(await scalar(conn, "select count(distinct p_brand) from part")).toBe(25);
    expect(await scalar(conn, "select count(*) from orders where o_comment like '%special%requests%'")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(*) from supplier where s_comment like '%Customer%Complaints%'")).toBeGreaterThan(0);
    expect(await scalar(conn, "select count(*) from customer where substring(c_phone, 1, 2) <> cast(c_nationkey + 10 as varchar)")).toBe(0);
    expect(await scalar(conn, "select count(*) from customer where not regexp_full_match(c_phone, '[0-9]{2}-[0-9]{3}-[0-9]{3}-[0-9]{4}')")).toBe(0);
    expect(await scalar(conn, "select count(*) from nation join region on n_regionkey = r_regionkey where n_name = 'GERMANY' and r_name = 'EUROPE'")).toBe(1);
    expect(await scalar(conn, "select count(distinct c_mktsegment) from customer")).toBe(5);
    expect(await scalar(conn, "select count(*) from customer where c_name <> 'Customer#' || lpad(cast(c_custkey as varchar), 9, '0')")).toBe(0);
  });

  it('Saiga schemas put the primary key first; DDL names every column', () => {
    const li = saigaSchema('lineitem');
    expect(li.keyColumnCount).toBe(2);
    expect(li.columns.slice(0, 2).map((c) => c.name)).toEqual(['l_orderkey', 'l_linenumber']);
    expect(li.columns).toHaveLength(16);
    expect(li.columns.find((c) => c.name === 'l_extendedprice')).toMatchObject({ type: 'decimal', precision: 15, scale: 2 });
    const ddl = tpchCreateTableSql('lineitem', 'saiga', 4);
    expect(ddl).toMatch(/^CREATE TABLE lineitem \(l_orderkey INT NOT NULL, l_linenumber INT NOT NULL, l_partkey/);
    expect(ddl).toMatch(/PRIMARY KEY \(l_orderkey, l_linenumber\)\) PARTITION BY HASH \(l_orderkey\) PARTITIONS 4$/);
  });
});
