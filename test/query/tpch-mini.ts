import { mulberry32 } from '../../bench/random.js';
export { mulberry32 };

export const DDL_SAIGA = [
  `CREATE TABLE region (r_regionkey INT PRIMARY KEY, r_name VARCHAR(25))`,
  `CREATE TABLE nation (n_nationkey INT NOT NULL, n_name VARCHAR(25), n_regionkey INT, PRIMARY KEY (n_nationkey))`,
  `CREATE TABLE customer (c_custkey BIGINT PRIMARY KEY, c_name STRING, c_nationkey INT, c_acctbal DECIMAL(12,2), c_mktsegment STRING, c_phone STRING) PARTITION BY HASH (c_custkey) PARTITIONS 3 STORED AS KUDU`,
  `CREATE TABLE orders (o_orderkey BIGINT, o_custkey BIGINT, o_orderdate DATE, o_totalprice DECIMAL(12,2), o_orderpriority STRING, o_comment STRING, PRIMARY KEY (o_orderkey))`,
  `CREATE TABLE lineitem (l_orderkey BIGINT, l_linenumber INT, l_partkey INT, l_suppkey INT, l_quantity DECIMAL(12,2), l_extendedprice DECIMAL(12,2), l_discount DECIMAL(12,2), l_tax DECIMAL(12,2), l_returnflag STRING, l_shipdate DATE, l_commitdate DATE, l_receiptdate DATE, PRIMARY KEY (l_orderkey, l_linenumber)) PARTITION BY HASH (l_orderkey) PARTITIONS 4 STORED AS KUDU`,
  `CREATE TABLE part (p_partkey INT PRIMARY KEY, p_name STRING, p_type STRING, p_size INT, p_brand STRING)`,
];

export const DDL_DUCK = [
  `CREATE TABLE region (r_regionkey INT PRIMARY KEY, r_name VARCHAR)`,
  `CREATE TABLE nation (n_nationkey INT PRIMARY KEY, n_name VARCHAR, n_regionkey INT)`,
  `CREATE TABLE customer (c_custkey BIGINT PRIMARY KEY, c_name VARCHAR, c_nationkey INT, c_acctbal DECIMAL(12,2), c_mktsegment VARCHAR, c_phone VARCHAR)`,
  `CREATE TABLE orders (o_orderkey BIGINT PRIMARY KEY, o_custkey BIGINT, o_orderdate DATE, o_totalprice DECIMAL(12,2), o_orderpriority VARCHAR, o_comment VARCHAR)`,
  `CREATE TABLE lineitem (l_orderkey BIGINT, l_linenumber INT, l_partkey INT, l_suppkey INT, l_quantity DECIMAL(12,2), l_extendedprice DECIMAL(12,2), l_discount DECIMAL(12,2), l_tax DECIMAL(12,2), l_returnflag VARCHAR, l_shipdate DATE, l_commitdate DATE, l_receiptdate DATE, PRIMARY KEY (l_orderkey, l_linenumber))`,
  `CREATE TABLE part (p_partkey INT PRIMARY KEY, p_name VARCHAR, p_type VARCHAR, p_size INT, p_brand VARCHAR)`,
];

function date(rnd: () => number, from: number, spanDays: number): string {
  const d = new Date(Date.UTC(from, 0, 1) + Math.floor(rnd() * spanDays) * 86400000);
  return d.toISOString().slice(0, 10);
}
function money(rnd: () => number, max: number): string {
  return (Math.floor(rnd() * max * 100) / 100).toFixed(2);
}
function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}
function q(s: string | null): string {
  return s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`;
}

export function dataInserts(seed: number, scale = 1): string[] {
  const rnd = mulberry32(seed);
  const out: string[] = [];
  const regions = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'];
  out.push(`INSERT INTO region VALUES ${regions.map((r, i) => `(${i}, '${r}')`).join(', ')}`);
  const nations = ['ALGERIA', 'ARGENTINA', 'BRAZIL', 'CANADA', 'EGYPT', 'ETHIOPIA', 'FRANCE', 'GERMANY', 'INDIA', 'INDONESIA', 'IRAN', 'IRAQ'];
  out.push(`INSERT INTO nation VALUES ${nations.map((n, i) => `(${i}, '${n}', ${i % 5})`).join(', ')}`);
  const segs = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'];
  const nCust = 40 * scale;
  const cust: string[] = [];
  for (let i = 1; i <= nCust; i++) {
    const bal = (rnd() < 0.1 ? '-' : '') + money(rnd, 9999);
    const phone = rnd() < 0.1 ? null : `${10 + Math.floor(rnd() * 25)}-${100 + Math.floor(rnd() * 900)}`;
    cust.push(`(${i}, 'Customer#${String(i).padStart(4, '0')}', ${Math.floor(rnd() * nations.length)}, ${bal}, '${pick(rnd, segs)}', ${q(phone)})`);
  }
  out.push(`INSERT INTO customer VALUES ${cust.join(', ')}`);
  const prios = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'];
  const words = ['special', 'requests', 'final', 'deposits', 'quickly', 'pending', 'ironic'];
  const nOrders = 120 * scale;
  const orders: string[] = [];
  const items: string[] = [];
  const nPart = 30 * scale;
  for (let o = 1; o <= nOrders; o++) {
    const cust = 1 + Math.floor(rnd() * (nCust - 5)); // some customers have no orders
    const od = date(rnd, 1992, 7 * 365);
    const comment = rnd() < 0.1 ? null : `${pick(rnd, words)} ${pick(rnd, words)} ${pick(rnd, words)}`;
    orders.push(`(${o}, ${cust}, '${od}', ${money(rnd, 400000)}, '${pick(rnd, prios)}', ${q(comment)})`);
    const lines = 1 + Math.floor(rnd() * 6);
    for (let l = 1; l <= lines; l++) {
      const qty = 1 + Math.floor(rnd() * 50);
      const price = money(rnd, 90000);
      const disc = (Math.floor(rnd() * 11) / 100).toFixed(2);
      const tax = (Math.floor(rnd() * 9) / 100).toFixed(2);
      const ship = date(rnd, 1992, 7 * 365);
      const commit = date(rnd, 1992, 7 * 365);
      const receipt = date(rnd, 1992, 7 * 365);
      items.push(`(${o}, ${l}, ${1 + Math.floor(rnd() * nPart)}, ${1 + Math.floor(rnd() * 10)}, ${qty}.00, ${price}, ${disc}, ${tax}, '${pick(rnd, ['A', 'N', 'R'])}', '${ship}', '${commit}', '${receipt}')`);
    }
  }
  out.push(`INSERT INTO orders VALUES ${orders.join(', ')}`);
  for (let s = 0; s < items.length; s += 200) out.push(`INSERT INTO lineitem VALUES ${items.slice(s, s + 200).join(', ')}`);
  const parts: string[] = [];
  const colors = ['forest', 'green', 'red', 'blue', 'almond', 'antique'];
  const types = ['PROMO BRUSHED TIN', 'STANDARD POLISHED BRASS', 'ECONOMY ANODIZED STEEL', 'PROMO PLATED COPPER', 'LARGE BURNISHED NICKEL'];
  for (let p = 1; p <= nPart; p++) {
    parts.push(`(${p}, '${pick(rnd, colors)} ${pick(rnd, colors)}', '${pick(rnd, types)}', ${1 + Math.floor(rnd() * 50)}, 'Brand#${1 + Math.floor(rnd() * 5)}${1 + Math.floor(rnd() * 5)}')`);
  }
  out.push(`INSERT INTO part VALUES ${parts.join(', ')}`);
  return out;
}
