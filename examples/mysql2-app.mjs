// A small order-taking application on Saiga with the mysql2 driver: a connection pool, prepared
// statements, transactions as Saiga supports them, and error handling by errno / SQLSTATE.
//
// Run against the embedded default (`npm start` in another terminal), from the repository root:
//
//   node examples/mysql2-app.mjs
//
// Environment: SAIGA_MYSQL=host:port (default 127.0.0.1:4000), SAIGA_PASSWORD (root's password,
// default empty).
//
// Transactions on Saiga: every statement commits on its own and is atomic (per tablet), as in
// Kudu. BEGIN / COMMIT are accepted; ROLLBACK succeeds only while nothing was written since BEGIN,
// and otherwise fails with errno 1235 (the writes stay committed). So the application below
// validates before it writes, and takes stock with one conditional UPDATE
// (`... WHERE stock >= ?`) whose affected-row count says whether it won.
//
// Concurrency: an UPDATE that reads and writes the same row (`SET stock = stock - ?`) is not
// isolated from another such UPDATE running at the same time on Saiga: both can read the old
// value and one decrement is lost (as with UPDATE through Impala on Kudu). The application
// therefore serializes its stock changes per product (withProductLock below); with one
// application instance that is enough. Orders of different products still run in parallel.
// Exit code 0 when every check passed, 1 otherwise.
import mysql from 'mysql2/promise';

const [host, portText] = (process.env.SAIGA_MYSQL ?? '127.0.0.1:4000').split(':');
const port = Number(portText ?? 4000);
const password = process.env.SAIGA_PASSWORD ?? '';

const problems = [];
function check(ok, message) {
  if (!ok) problems.push(message);
}

/** Application-level failure (not a database error). */
class OutOfStock extends Error {}

/** Describes a driver error the way an application log would. */
function describe(e) {
  const text = e.errno !== undefined ? `errno ${e.errno}, SQLSTATE ${e.sqlState}: ${e.sqlMessage ?? e.message}` : e.message;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

const PRODUCTS = [
  [1, 'espresso machine', '249.00', 5],
  [2, 'grinder', '89.50', 10],
  [3, 'milk jug', '12.25', 40],
  [4, 'tamper', '19.99', 25],
];

async function setUp() {
  const admin = await mysql.createConnection({ host, port, user: 'root', password });
  try {
    await admin.query('CREATE DATABASE IF NOT EXISTS shop_demo');
    await admin.query('DROP TABLE IF EXISTS shop_demo.orders');
    await admin.query('DROP TABLE IF EXISTS shop_demo.products');
    await admin.query(`CREATE TABLE shop_demo.products (
        id INT NOT NULL, name STRING NOT NULL, price DECIMAL(10,2) NOT NULL, stock INT NOT NULL,
        PRIMARY KEY (id))
      PARTITION BY HASH (id) PARTITIONS 2 STORED AS KUDU`);
    await admin.query(`CREATE TABLE shop_demo.orders (
        id BIGINT NOT NULL, customer STRING NOT NULL, product_id INT NOT NULL, qty INT NOT NULL,
        total DECIMAL(12,2) NOT NULL, PRIMARY KEY (id))
      PARTITION BY HASH (id) PARTITIONS 3 STORED AS KUDU`);
  } finally {
    await admin.end();
  }
}

/** Per-product async mutex: runs fn after every earlier fn for the same product finished. */
const productLocks = new Map();
async function withProductLock(productId, fn) {
  const previous = productLocks.get(productId) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  productLocks.set(productId, tail);
  try {
    return await run;
  } finally {
    if (productLocks.get(productId) === tail) productLocks.delete(productId);
  }
}

/**
 * Places an order: reads the product with a prepared statement, takes the stock with one
 * conditional UPDATE (atomic on its own), then records the order. BEGIN/COMMIT bracket the work
 * as in any MySQL application; when the stock check fails nothing was written yet, so the
 * ROLLBACK is a real one.
 */
async function placeOrder(pool, orderId, customer, productId, qty) {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const [rows] = await conn.execute('SELECT name, price, stock FROM products WHERE id = ?', [productId]);
    if (rows.length === 0) throw new Error(`no product ${productId}`);
    const { name, price, stock } = rows[0];
    if (stock < qty) throw new OutOfStock(`${customer} wants ${qty} x ${name}, only ${stock} left`);
    const [taken] = await conn.execute('UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?', [qty, productId, qty]);
    if (taken.affectedRows !== 1) throw new OutOfStock(`${customer} wants ${qty} x ${name}: another order took the stock first`);
    const total = ((Math.round(Number(price) * 100) * qty) / 100).toFixed(2);
    await conn.execute('INSERT INTO orders (id, customer, product_id, qty, total) VALUES (?, ?, ?, ?, ?)', [orderId, customer, productId, qty, total]);
    await conn.commit();
    return { orderId, customer, name, qty, total };
  } catch (e) {
    try {
      await conn.rollback();
    } catch (rollbackError) {
      // errno 1235: something was already written; on Saiga it stays committed.
      console.log(`  rollback of order ${orderId} refused: ${describe(rollbackError)}`);
    }
    throw e;
  } finally {
    conn.release();
  }
}

async function main() {
  await setUp();
  const pool = mysql.createPool({ host, port, user: 'root', password, database: 'shop_demo', connectionLimit: 4 });
  try {
    // Catalog: one prepared INSERT executed once per product.
    for (const p of PRODUCTS) await pool.execute('INSERT INTO products (id, name, price, stock) VALUES (?, ?, ?, ?)', p);
    const [catalog] = await pool.query('SELECT id, name, price, stock FROM products ORDER BY id');
    console.log('catalog:');
    for (const p of catalog) console.log(`  ${p.id} ${p.name.padEnd(17)} ${String(p.price).padStart(7)}  stock ${p.stock}`);
    check(catalog.length === PRODUCTS.length, `the catalog has ${catalog.length} products, expected ${PRODUCTS.length}`);

    // Twelve customers order at once over the pool's 4 connections; the espresso machine
    // (stock 5) is over-subscribed, so some of those orders must fail cleanly.
    const wanted = [
      ['ada', 1, 2], ['bo', 1, 2], ['cy', 1, 2], ['di', 2, 3], ['ed', 3, 10], ['flo', 1, 1],
      ['gus', 4, 5], ['hal', 2, 3], ['ivy', 3, 10], ['jo', 2, 3], ['kim', 4, 5], ['lu', 2, 3],
    ];
    const outcomes = await Promise.allSettled(wanted.map(([c, p, q], i) => withProductLock(p, () => placeOrder(pool, 1000 + i, c, p, q))));
    const placed = [];
    let refused = 0;
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        placed.push(o.value);
        console.log(`order ${o.value.orderId}: ${o.value.customer} bought ${o.value.qty} x ${o.value.name} for ${o.value.total}`);
      } else if (o.reason instanceof OutOfStock) {
        refused++;
        console.log(`order ${1000 + i}: refused, ${o.reason.message}`);
      } else {
        problems.push(`order ${1000 + i} failed unexpectedly: ${describe(o.reason)}`);
      }
    });

    // Stock must balance: what is left plus what was sold equals what there was.
    const [stockRows] = await pool.query(`SELECT p.id, p.name, p.stock, COALESCE(SUM(o.qty), 0) AS sold
      FROM products p LEFT JOIN orders o ON o.product_id = p.id GROUP BY p.id, p.name, p.stock ORDER BY p.id`);
    for (const r of stockRows) {
      const initial = PRODUCTS.find((p) => p[0] === r.id)[3];
      console.log(`stock: ${r.name.padEnd(17)} left ${r.stock}, sold ${r.sold} (started with ${initial})`);
      check(r.stock >= 0 && Number(r.stock) + Number(r.sold) === initial, `${r.name}: ${r.stock} left + ${r.sold} sold != ${initial}`);
    }
    check(refused > 0, 'the over-subscribed espresso machine refused no order');
    check(placed.length + refused === wanted.length, 'every order was either placed or refused');

    // Revenue report: a join with GROUP BY and a prepared parameter.
    const [report] = await pool.execute(`SELECT o.customer, COUNT(*) AS orders, SUM(o.total) AS spent
      FROM orders o JOIN products p ON p.id = o.product_id
      WHERE o.total >= ? GROUP BY o.customer ORDER BY spent DESC, o.customer LIMIT 3`, [0]);
    console.log(`top customers: ${report.map((r) => `${r.customer} ${r.spent}`).join(', ')}`);
    const [[sum]] = await pool.query('SELECT COUNT(*) AS n, SUM(total) AS revenue FROM orders');
    const expectedRevenue = placed.reduce((s, o) => s + Math.round(Number(o.total) * 100), 0);
    console.log(`revenue: ${sum.n} orders, ${sum.revenue}`);
    check(Number(sum.n) === placed.length && Math.round(Number(sum.revenue) * 100) === expectedRevenue,
      `the orders table holds ${sum.n} orders / ${sum.revenue}, the application placed ${placed.length} / ${(expectedRevenue / 100).toFixed(2)}`);

    // Errors carry MySQL errno and SQLSTATE, so applications branch on them as usual.
    const expectError = async (what, sql, params, errno, sqlState) => {
      try {
        await pool.execute(sql, params);
        problems.push(`${what}: succeeded, expected errno ${errno}`);
      } catch (e) {
        console.log(`error handled: ${what} -> ${describe(e)}`);
        check(e.errno === errno && e.sqlState === sqlState, `${what}: got errno ${e.errno} / ${e.sqlState}, expected ${errno} / ${sqlState}`);
      }
    };
    await expectError('duplicate primary key', 'INSERT INTO products (id, name, price, stock) VALUES (?, ?, ?, ?)', [1, 'again', '1.00', 1], 1062, '23000');
    await expectError('unknown table', 'SELECT * FROM no_such_table WHERE id = ?', [1], 1146, '42S02');
    await expectError('unknown column', 'SELECT no_such_column FROM products WHERE id = ?', [1], 1054, '42S22');
    await expectError('syntax error', 'SELECT id FROM products WHERE id = ? AND', [1], 1064, '42000');

    // ROLLBACK after a write: refused with 1235, the write stays (Saiga commits per statement).
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.execute('UPDATE products SET price = price + 1 WHERE id = ?', [4]);
      try {
        await conn.rollback();
        problems.push('ROLLBACK after a write succeeded; Saiga documents errno 1235');
      } catch (e) {
        console.log(`error handled: rollback after a write -> ${describe(e)}`);
        check(e.errno === 1235, `rollback after a write: got errno ${e.errno}, expected 1235`);
      }
      const [[tamper]] = await conn.execute('SELECT price FROM products WHERE id = ?', [4]);
      console.log(`tamper price after the refused rollback: ${tamper.price} (the update stayed)`);
      check(String(tamper.price) === '20.99', `tamper price is ${tamper.price}, expected 20.99`);
    } finally {
      conn.release();
    }
  } finally {
    await pool.end();
  }

  if (problems.length > 0) {
    for (const p of problems) console.log(`FAIL: ${p}`);
    process.exitCode = 1;
    return;
  }
  console.log('OK: pool, prepared statements, transactions and error codes behaved as documented');
}

main().catch((e) => {
  console.error(`mysql2-app: ${describe(e)}`);
  process.exitCode = 1;
});
