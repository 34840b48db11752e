-- TPC-H style analytics with `saiga sql` (impala-shell style).
--
-- Run against the embedded default (`npm start` in another terminal), from the repository root:
--
--   node bin/saiga.js sql -i "${SAIGA_MYSQL:-127.0.0.1:4000}" -f examples/tpch-analytics.sql \
--        --var region=ASIA --var year=1995 --var top_n=5
--
-- What it shows: Impala-Kudu DDL (PRIMARY KEY, PARTITION BY HASH ... PARTITIONS n,
-- STORED AS KUDU), multi-row INSERT, INSERT ... SELECT, UPSERT, UPDATE, and analytic queries
-- with joins, GROUP BY, HAVING, ORDER BY, LIMIT, EXISTS, and window functions (RANK,
-- running SUM, LAG). ${var:NAME} is replaced by the value given with --var NAME=VALUE (or by
-- SET VAR:NAME=VALUE inside the script). The script drops and recreates its tables in the
-- database tpch_demo, so it can be run again and again. Add -B for tab-separated output.

CREATE DATABASE IF NOT EXISTS tpch_demo;
USE tpch_demo;

DROP TABLE IF EXISTS lineitem;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS customer;
DROP TABLE IF EXISTS nation;
DROP TABLE IF EXISTS region;
DROP TABLE IF EXISTS nation_revenue;

-- ---------------------------------------------------------------- schema (Impala-Kudu DDL)

CREATE TABLE region (
  r_regionkey INT NOT NULL,
  r_name      STRING,
  PRIMARY KEY (r_regionkey)
)
PARTITION BY HASH (r_regionkey) PARTITIONS 2
STORED AS KUDU;

CREATE TABLE nation (
  n_nationkey INT NOT NULL,
  n_name      STRING,
  n_regionkey INT,
  PRIMARY KEY (n_nationkey)
)
PARTITION BY HASH (n_nationkey) PARTITIONS 2
STORED AS KUDU;

CREATE TABLE customer (
  c_custkey    INT NOT NULL,
  c_name       STRING,
  c_nationkey  INT,
  c_mktsegment STRING,
  c_acctbal    DECIMAL(15,2),
  PRIMARY KEY (c_custkey)
)
PARTITION BY HASH (c_custkey) PARTITIONS 3
STORED AS KUDU;

CREATE TABLE orders (
  o_orderkey      BIGINT NOT NULL,
  o_custkey       INT,
  o_orderdate     DATE,
  o_totalprice    DECIMAL(15,2),
  o_orderpriority STRING,
  PRIMARY KEY (o_orderkey)
)
PARTITION BY HASH (o_orderkey) PARTITIONS 4
STORED AS KUDU;

-- Compound primary key; rows of one order land in the same tablet (hash of l_orderkey only).
CREATE TABLE lineitem (
  l_orderkey      BIGINT NOT NULL,
  l_linenumber    INT NOT NULL,
  l_quantity      DECIMAL(15,2),
  l_extendedprice DECIMAL(15,2),
  l_discount      DECIMAL(15,2),
  l_tax           DECIMAL(15,2),
  l_returnflag    STRING,
  l_linestatus    STRING,
  l_shipdate      DATE,
  PRIMARY KEY (l_orderkey, l_linenumber)
)
PARTITION BY HASH (l_orderkey) PARTITIONS 4
STORED AS KUDU;

-- ---------------------------------------------------------------- data

INSERT INTO region VALUES
  (0, 'AFRICA'), (1, 'AMERICA'), (2, 'ASIA'), (3, 'EUROPE'), (4, 'MIDDLE EAST');

INSERT INTO nation VALUES
  (0, 'ALGERIA', 0), (1, 'ARGENTINA', 1), (2, 'BRAZIL', 1), (4, 'EGYPT', 4),
  (5, 'ETHIOPIA', 0), (6, 'FRANCE', 3), (7, 'GERMANY', 3), (8, 'INDIA', 2),
  (9, 'INDONESIA', 2), (12, 'JAPAN', 2), (18, 'CHINA', 2);

INSERT INTO customer VALUES
  (1, 'Customer#001 Acme', 0, 'AUTOMOBILE', 7275.77),
  (2, 'Customer#002 Bolt', 1, 'BUILDING', 5524.07),
  (3, 'Customer#003 Crane', 2, 'FURNITURE', 2162.42),
  (4, 'Customer#004 Delta', 4, 'MACHINERY', 3979.41),
  (5, 'Customer#005 Ember', 5, 'HOUSEHOLD', 2397.31),
  (6, 'Customer#006 Fjord', 6, 'AUTOMOBILE', 2365.62),
  (7, 'Customer#007 Gale', 7, 'BUILDING', 4863.49),
  (8, 'Customer#008 Harbor', 8, 'FURNITURE', 8415.86),
  (9, 'Customer#009 Iris', 9, 'MACHINERY', 8099.78),
  (10, 'Customer#010 Jade', 12, 'HOUSEHOLD', 5986.34),
  (11, 'Customer#011 Kite', 18, 'AUTOMOBILE', 3057.12),
  (12, 'Customer#012 Lumen', 0, 'BUILDING', 6853.17),
  (13, 'Customer#013 Mosaic', 1, 'FURNITURE', 8957.90),
  (14, 'Customer#014 Nova', 2, 'MACHINERY', -615.72),
  (15, 'Customer#015 Orbit', 4, 'HOUSEHOLD', 8530.41),
  (16, 'Customer#016 Pine', 5, 'AUTOMOBILE', 3522.84);
INSERT INTO orders VALUES
  (4, 14, '1996-03-12', 144499.27, '1-URGENT'),
  (8, 3, '1995-10-24', 34239.76, '5-LOW'),
  (12, 6, '1994-04-25', 44793.93, '2-HIGH'),
  (16, 6, '1994-11-24', 95447.54, '1-URGENT'),
  (20, 14, '1994-09-14', 104213.55, '1-URGENT'),
  (24, 4, '1996-05-30', 110247.87, '2-HIGH'),
  (28, 13, '1996-03-04', 88027.45, '3-MEDIUM'),
  (32, 16, '1994-08-21', 61395.01, '3-MEDIUM'),
  (36, 16, '1994-01-07', 72547.57, '1-URGENT'),
  (40, 2, '1996-06-11', 30998.25, '3-MEDIUM'),
  (44, 8, '1994-11-07', 81528.29, '4-NOT SPECIFIED'),
  (48, 14, '1996-06-16', 11052.81, '5-LOW'),
  (52, 9, '1995-12-13', 66364.24, '3-MEDIUM'),
  (56, 13, '1996-03-05', 58051.47, '4-NOT SPECIFIED'),
  (60, 4, '1994-11-16', 41808.50, '1-URGENT'),
  (64, 7, '1994-01-14', 80666.10, '2-HIGH'),
  (68, 6, '1995-04-10', 36339.64, '2-HIGH'),
  (72, 5, '1994-06-15', 27587.68, '3-MEDIUM'),
  (76, 11, '1994-10-14', 78194.06, '2-HIGH'),
  (80, 11, '1995-04-11', 17547.20, '4-NOT SPECIFIED'),
  (84, 11, '1995-04-11', 6002.10, '5-LOW'),
  (88, 11, '1995-06-20', 67449.95, '5-LOW'),
  (92, 16, '1994-02-23', 33069.88, '1-URGENT'),
  (96, 5, '1994-02-20', 137357.63, '5-LOW'),
  (100, 4, '1996-01-05', 85412.79, '3-MEDIUM'),
  (104, 7, '1995-08-13', 49844.40, '3-MEDIUM'),
  (108, 15, '1995-01-29', 34184.88, '4-NOT SPECIFIED'),
  (112, 4, '1995-07-01', 13930.34, '4-NOT SPECIFIED'),
  (116, 5, '1994-07-29', 54080.91, '3-MEDIUM'),
  (120, 11, '1995-08-06', 43766.88, '3-MEDIUM');
INSERT INTO lineitem VALUES
  (4, 1, 47, 91133.00, 0.05, 0.05, 'N', 'O', '1996-04-27'),
  (4, 2, 47, 51042.00, 0.00, 0.05, 'N', 'O', '1996-03-29'),
  (8, 1, 39, 35685.00, 0.05, 0.01, 'N', 'O', '1995-11-23'),
  (12, 1, 29, 46313.00, 0.07, 0.04, 'R', 'F', '1994-04-30'),
  (16, 1, 28, 37996.00, 0.10, 0.02, 'R', 'F', '1995-01-15'),
  (16, 2, 37, 33781.00, 0.00, 0.00, 'A', 'F', '1995-01-21'),
  (16, 3, 23, 27255.00, 0.09, 0.08, 'A', 'F', '1994-12-19'),
  (20, 1, 13, 24921.00, 0.09, 0.04, 'A', 'F', '1994-10-01'),
  (20, 2, 30, 34980.00, 0.01, 0.08, 'A', 'F', '1994-09-24'),
  (20, 3, 35, 45570.00, 0.07, 0.02, 'A', 'F', '1994-09-25'),
  (24, 1, 50, 62850.00, 0.03, 0.01, 'N', 'O', '1996-06-07'),
  (24, 2, 5, 8415.00, 0.08, 0.04, 'N', 'O', '1996-06-02'),
  (24, 3, 23, 40388.00, 0.06, 0.07, 'N', 'O', '1996-07-26'),
  (28, 1, 13, 23920.00, 0.08, 0.02, 'N', 'O', '1996-04-04'),
  (28, 2, 30, 47520.00, 0.00, 0.00, 'N', 'O', '1996-03-13'),
  (28, 3, 18, 17712.00, 0.01, 0.03, 'N', 'O', '1996-03-24'),
  (32, 1, 27, 33102.00, 0.01, 0.08, 'R', 'F', '1994-09-24'),
  (32, 2, 15, 28050.00, 0.10, 0.03, 'R', 'F', '1994-10-16'),
  (36, 1, 46, 75210.00, 0.09, 0.06, 'R', 'F', '1994-01-19'),
  (40, 1, 33, 29898.00, 0.04, 0.08, 'N', 'O', '1996-07-16'),
  (44, 1, 15, 28290.00, 0.01, 0.03, 'A', 'F', '1994-12-09'),
  (44, 2, 41, 57318.00, 0.09, 0.01, 'A', 'F', '1994-11-23'),
  (48, 1, 12, 11124.00, 0.08, 0.08, 'N', 'O', '1996-07-29'),
  (52, 1, 9, 12267.00, 0.02, 0.03, 'N', 'O', '1995-12-14'),
  (52, 2, 45, 51480.00, 0.02, 0.07, 'N', 'O', '1995-12-21'),
  (56, 1, 41, 59327.00, 0.05, 0.03, 'N', 'O', '1996-03-30'),
  (60, 1, 16, 24192.00, 0.10, 0.02, 'A', 'F', '1994-12-07'),
  (60, 2, 14, 20244.00, 0.06, 0.03, 'R', 'F', '1995-01-02'),
  (64, 1, 47, 89629.00, 0.10, 0.00, 'R', 'F', '1994-02-10'),
  (68, 1, 24, 38688.00, 0.07, 0.01, 'R', 'F', '1995-05-18'),
  (72, 1, 23, 26289.00, 0.01, 0.06, 'R', 'F', '1994-06-20'),
  (76, 1, 19, 27645.00, 0.07, 0.08, 'A', 'F', '1994-11-04'),
  (76, 2, 12, 13452.00, 0.10, 0.08, 'A', 'F', '1994-11-02'),
  (76, 3, 24, 37944.00, 0.08, 0.07, 'R', 'F', '1994-12-10'),
  (80, 1, 11, 16885.00, 0.09, 0.04, 'A', 'F', '1995-05-06'),
  (80, 2, 1, 1638.00, 0.08, 0.04, 'A', 'F', '1995-04-17'),
  (84, 1, 5, 6175.00, 0.10, 0.08, 'A', 'F', '1995-05-28'),
  (88, 1, 9, 10872.00, 0.08, 0.08, 'N', 'O', '1995-07-14'),
  (88, 2, 17, 15912.00, 0.07, 0.07, 'N', 'O', '1995-06-22'),
  (88, 3, 30, 44850.00, 0.09, 0.00, 'N', 'O', '1995-07-11'),
  (92, 1, 19, 31198.00, 0.00, 0.06, 'R', 'F', '1994-04-01'),
  (96, 1, 33, 47157.00, 0.05, 0.01, 'A', 'F', '1994-03-16'),
  (96, 2, 24, 34536.00, 0.04, 0.03, 'A', 'F', '1994-02-21'),
  (96, 3, 39, 59865.00, 0.06, 0.03, 'R', 'F', '1994-03-20'),
  (100, 1, 34, 58854.00, 0.08, 0.08, 'N', 'O', '1996-02-17'),
  (100, 2, 5, 7305.00, 0.01, 0.04, 'N', 'O', '1996-02-28'),
  (100, 3, 13, 18343.00, 0.02, 0.08, 'N', 'O', '1996-02-28'),
  (104, 1, 34, 47498.00, 0.01, 0.06, 'N', 'O', '1995-08-16'),
  (108, 1, 22, 34936.00, 0.05, 0.03, 'R', 'F', '1995-03-03'),
  (112, 1, 13, 14131.00, 0.07, 0.06, 'N', 'O', '1995-08-18'),
  (116, 1, 42, 53844.00, 0.07, 0.08, 'A', 'F', '1994-09-21'),
  (120, 1, 20, 18320.00, 0.08, 0.02, 'N', 'O', '1995-08-23'),
  (120, 2, 14, 26642.00, 0.05, 0.05, 'N', 'O', '1995-10-05');

-- UPSERT inserts a missing key and overwrites an existing one (Kudu semantics).
UPSERT INTO customer VALUES
  (16, 'Customer#016 Pine', 18, 'HOUSEHOLD', 1234.56),
  (17, 'Customer#017 Quartz', 12, 'AUTOMOBILE', 999.99);

-- ---------------------------------------------------------------- analytics

-- 1. Pricing summary (TPC-H Q1 shape): one row per return flag / line status.
SELECT l_returnflag, l_linestatus,
       SUM(l_quantity) AS sum_qty,
       SUM(l_extendedprice) AS sum_base_price,
       SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       AVG(l_discount) AS avg_disc,
       COUNT(*) AS count_order
FROM lineitem
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus;

-- 2. Revenue by nation within one region and year (TPC-H Q5 shape, five-way join).
SELECT n_name,
       SUM(l_extendedprice * (1 - l_discount)) AS revenue,
       COUNT(DISTINCT o_orderkey) AS orders
FROM region
JOIN nation   ON n_regionkey = r_regionkey
JOIN customer ON c_nationkey = n_nationkey
JOIN orders   ON o_custkey = c_custkey
JOIN lineitem ON l_orderkey = o_orderkey
WHERE r_name = '${var:region}'
  AND o_orderdate >= DATE '${var:year}-01-01'
  AND o_orderdate <  DATE '${var:year}-01-01' + INTERVAL 1 YEAR
GROUP BY n_name
ORDER BY revenue DESC, n_name;

-- 3. Top customers by lifetime revenue, ranked with a window function over the aggregate.
SELECT c_name, n_name, revenue, revenue_rank
FROM (
  SELECT c_name, n_name,
         SUM(l_extendedprice * (1 - l_discount)) AS revenue,
         RANK() OVER (ORDER BY SUM(l_extendedprice * (1 - l_discount)) DESC) AS revenue_rank
  FROM customer
  JOIN nation   ON c_nationkey = n_nationkey
  JOIN orders   ON o_custkey = c_custkey
  JOIN lineitem ON l_orderkey = o_orderkey
  GROUP BY c_name, n_name
) ranked
WHERE revenue_rank <= ${var:top_n}
ORDER BY revenue_rank, c_name;

-- 4. Orders per year with a running total and the change from the previous year.
SELECT order_year, orders, total,
       SUM(total) OVER (ORDER BY order_year) AS running_total,
       total - LAG(total) OVER (ORDER BY order_year) AS change_from_previous
FROM (
  SELECT YEAR(o_orderdate) AS order_year, COUNT(*) AS orders, SUM(o_totalprice) AS total
  FROM orders
  GROUP BY YEAR(o_orderdate)
) yearly
ORDER BY order_year;

-- 5. Order priority checking (TPC-H Q4 shape): orders with a line shipped more than 30 days
--    after the order date, by priority.
SELECT o_orderpriority, COUNT(*) AS order_count
FROM orders
WHERE EXISTS (
  SELECT 1 FROM lineitem
  WHERE l_orderkey = o_orderkey AND l_shipdate > o_orderdate + INTERVAL 30 DAY
)
GROUP BY o_orderpriority
ORDER BY o_orderpriority;

-- 6. Market segments with more than two customers, best average balance first.
SELECT c_mktsegment, COUNT(*) AS customers, AVG(c_acctbal) AS avg_balance
FROM customer
GROUP BY c_mktsegment
HAVING COUNT(*) > 2
ORDER BY avg_balance DESC;

-- ---------------------------------------------------------------- writes, then re-read

-- Materialize a per-nation summary with INSERT ... SELECT.
CREATE TABLE nation_revenue (
  n_name  STRING NOT NULL,
  revenue DECIMAL(18,2),
  PRIMARY KEY (n_name)
)
PARTITION BY HASH (n_name) PARTITIONS 2
STORED AS KUDU;

INSERT INTO nation_revenue
SELECT n_name, SUM(l_extendedprice * (1 - l_discount))
FROM nation
JOIN customer ON c_nationkey = n_nationkey
JOIN orders   ON o_custkey = c_custkey
JOIN lineitem ON l_orderkey = o_orderkey
GROUP BY n_name;

-- A 10% discount on every open line moves the numbers; the next query sees it at once.
UPDATE lineitem SET l_discount = l_discount + 0.10 WHERE l_linestatus = 'O';

SELECT r.n_name, r.revenue AS revenue_before,
       SUM(l_extendedprice * (1 - l_discount)) AS revenue_after
FROM nation_revenue r
JOIN nation   ON nation.n_name = r.n_name
JOIN customer ON c_nationkey = n_nationkey
JOIN orders   ON o_custkey = c_custkey
JOIN lineitem ON l_orderkey = o_orderkey
GROUP BY r.n_name, r.revenue
ORDER BY r.n_name;
