-- Parquet and CSV in and out of Saiga with SQL: export a table, re-import it three ways
-- (COPY FROM, CREATE TABLE ... AS SELECT FROM parquet(), an external table), query, check counts.
--
--   node bin/saiga.js sql -i "${SAIGA_MYSQL:-127.0.0.1:4000}" -B -f examples/parquet-roundtrip.sql --var dir=/tmp/parquet_demo
--
-- ${var:dir} is a directory the *server* can write (it must exist). Files land there:
-- sales.parquet (zstd) and region_totals.csv.
DROP DATABASE IF EXISTS parquet_demo;
CREATE DATABASE parquet_demo;
USE parquet_demo;

CREATE TABLE sales (
  id INT, region STRING, amount DECIMAL(10,2), sold DATE, note STRING,
  PRIMARY KEY (id)
) PARTITION BY HASH (id) PARTITIONS 2 STORED AS KUDU;
INSERT INTO sales VALUES
  (1, 'north', 120.50, '2024-01-03', 'first'), (2, 'south', 80.00, '2024-01-04', NULL),
  (3, 'north', 42.25, '2024-02-11', 'comma, "quoted"'), (4, 'east', 310.00, '2024-02-12', ''),
  (5, 'south', 19.99, '2024-03-01', 'x'), (6, 'east', 7.01, '2024-03-02', NULL),
  (7, 'north', 64.00, '2024-03-15', 'y'), (8, 'west', 250.75, '2024-04-01', 'z');

-- Export: the whole table to Parquet, an aggregate to CSV.
COPY sales TO '${var:dir}/sales.parquet' WITH (FORMAT PARQUET, COMPRESSION 'zstd');
COPY (SELECT region, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region)
  TO '${var:dir}/region_totals.csv' WITH (FORMAT CSV, HEADER true, DELIMITER ',');

-- Re-import 1: COPY FROM into an empty table.
CREATE TABLE sales_copy (
  id INT, region STRING, amount DECIMAL(10,2), sold DATE, note STRING,
  PRIMARY KEY (id)
) PARTITION BY HASH (id) PARTITIONS 2 STORED AS KUDU;
COPY sales_copy FROM '${var:dir}/sales.parquet';

-- Re-import 2: CREATE TABLE ... AS SELECT from the parquet() table function.
CREATE TABLE sales_ctas PRIMARY KEY (id) PARTITION BY HASH (id) PARTITIONS 3 STORED AS KUDU
  AS SELECT * FROM parquet('${var:dir}/sales.parquet');

-- Re-import 3: an external table over the directory (reads its .parquet files in place).
CREATE EXTERNAL TABLE sales_ext STORED AS PARQUET LOCATION '${var:dir}';

-- Check: every copy has the rows and the total of the original.
SELECT 'check',
  CASE WHEN (SELECT COUNT(*) FROM sales_copy) = (SELECT COUNT(*) FROM sales)
        AND (SELECT COUNT(*) FROM sales_ctas) = (SELECT COUNT(*) FROM sales)
        AND (SELECT COUNT(*) FROM sales_ext) = (SELECT COUNT(*) FROM sales)
        AND (SELECT SUM(amount) FROM sales_ext) = (SELECT SUM(amount) FROM sales)
       THEN 'OK' ELSE 'MISMATCH' END,
  (SELECT COUNT(*) FROM sales_ext), (SELECT SUM(amount) FROM sales_ext);

-- Query the external table like any other.
SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM sales_ext WHERE sold >= '2024-02-01' GROUP BY region ORDER BY region;
SELECT id, note FROM sales_copy WHERE note IS NULL OR note = '' OR note LIKE '%quoted%' ORDER BY id;

DROP TABLE sales_ext;
DROP DATABASE parquet_demo;
