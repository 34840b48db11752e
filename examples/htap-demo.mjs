// HTAP demo: one connection keeps writing (inserts and updates) while another keeps running an
// analytic aggregate over the same table; every aggregate sees the latest committed writes.
//
// Run against the embedded default (`npm start` in another terminal), from the repository root:
//
//   node examples/htap-demo.mjs
//
// Environment: SAIGA_MYSQL=host:port (default 127.0.0.1:4000), SAIGA_PASSWORD (root's password,
// default empty), SAIGA_DEMO_SECONDS (default 5).
//
// How it checks itself: the writer knows, after each acknowledged write j, the exact row count
// and amount total the table must have (expected[j]). Every aggregate the reader gets must equal
// expected[j] for some j between the last write acknowledged before the query started and the
// last write issued before it returned: fresh (nothing older than what was acknowledged) and a
// consistent snapshot (a prefix of the writes, never half of them). It exits 0 when every
// aggregate passed that check, the analytics saw the totals move at least 3 times, and the final
// aggregate equals the writer's final totals; otherwise it prints why and exits 1.
import mysql from 'mysql2/promise';

const [host, portText] = (process.env.SAIGA_MYSQL ?? '127.0.0.1:4000').split(':');
const port = Number(portText ?? 4000);
const seconds = Number(process.env.SAIGA_DEMO_SECONDS ?? 5);
const REGIONS = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'];
const INITIAL_ROWS = 500;

/** Deterministic pseudo-random numbers (mulberry32), so every run writes the same sequence. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** DECIMAL values arrive from mysql2 as strings like '1234.50'; keep money in integer cents. */
function cents(text) {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(text));
  if (m === null) throw new Error(`expected a DECIMAL(…,2) value, got ${text}`);
  const value = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] === '-' ? -value : value;
}

const money = (c) => (c / 100).toFixed(2);

async function connect() {
  return mysql.createConnection({ host, port, user: 'root', password: process.env.SAIGA_PASSWORD ?? '' });
}

async function main() {
  const admin = await connect();
  await admin.query('CREATE DATABASE IF NOT EXISTS htap_demo');
  await admin.query('DROP TABLE IF EXISTS htap_demo.sales');
  await admin.query(`CREATE TABLE htap_demo.sales (
      id BIGINT NOT NULL, region STRING, amount DECIMAL(12,2), PRIMARY KEY (id))
    PARTITION BY HASH (id) PARTITIONS 4 STORED AS KUDU`);

  const random = rng(20240601);
  let count = 0;
  let total = 0; // cents
  const values = [];
  for (let id = 1; id <= INITIAL_ROWS; id++) {
    const c = 100 + Math.floor(random() * 10_000);
    values.push([id, REGIONS[id % REGIONS.length], money(c)]);
    count++;
    total += c;
  }
  await admin.query('INSERT INTO htap_demo.sales (id, region, amount) VALUES ?', [values]);
  await admin.end();
  console.log(`setup: htap_demo.sales with ${count} rows, total ${money(total)}`);

  // expected[j] = [count, total] after write j was acknowledged (j = 0: after the setup).
  const expected = [[count, total]];
  let issued = 0; // writes sent (a write in flight may or may not be visible yet)
  let acknowledged = 0; // writes whose statement returned OK
  let inserts = 0;
  let updates = 0;
  const deadline = Date.now() + seconds * 1000;

  const writer = await connect();
  const reader = await connect();

  const writeLoop = async () => {
    let nextId = INITIAL_ROWS + 1;
    while (Date.now() < deadline) {
      const delta = 1 + Math.floor(random() * 5_000); // > 0, so the total strictly increases
      issued++;
      if (random() < 0.5) {
        await writer.execute('INSERT INTO htap_demo.sales (id, region, amount) VALUES (?, ?, ?)',
          [nextId, REGIONS[nextId % REGIONS.length], money(delta)]);
        nextId++;
        count++;
        inserts++;
      } else {
        const id = 1 + Math.floor(random() * (nextId - 1));
        const [r] = await writer.execute('UPDATE htap_demo.sales SET amount = amount + ? WHERE id = ?', [money(delta), id]);
        if (r.affectedRows !== 1) throw new Error(`UPDATE of id ${id} changed ${r.affectedRows} rows, expected 1`);
        updates++;
      }
      total += delta;
      expected.push([count, total]);
      acknowledged++;
    }
  };

  const problems = [];
  let reads = 0;
  let fresh = 0; // aggregates whose totals differ from the previous one
  let last;
  const readLoop = async () => {
    let lastPrint = 0;
    while (Date.now() < deadline) {
      const lo = acknowledged;
      const [rows] = await reader.query(
        'SELECT region, COUNT(*) AS n, SUM(amount) AS amount FROM htap_demo.sales GROUP BY region ORDER BY region');
      const hi = issued;
      reads++;
      const n = rows.reduce((s, r) => s + Number(r.n), 0);
      const sum = rows.reduce((s, r) => s + cents(r.amount), 0);
      // A write issued but not yet acknowledged may already be visible; its expected entry is
      // pushed right after its acknowledgement, so wait for the entries up to `hi` first.
      while (expected.length <= hi) await new Promise((r) => setTimeout(r, 1));
      let j = -1;
      for (let k = lo; k <= hi; k++) {
        const e = expected[k];
        if (e[0] === n && e[1] === sum) { j = k; break; }
      }
      if (j === -1) {
        problems.push(`aggregate #${reads} saw ${n} rows / ${money(sum)}, which is no state between write ${lo} (${expected[lo][0]} rows / ${money(expected[lo][1])}) and write ${hi}`);
      }
      if (last === undefined || last !== sum) fresh++;
      last = sum;
      if (Date.now() - lastPrint >= 500) { // about two lines a second
        lastPrint = Date.now();
        const byRegion = rows.map((r) => `${r.region}=${r.amount}`).join(' ');
        console.log(`analytics #${reads}: ${n} rows, total ${money(sum)} (after write ${j} of ${acknowledged} acknowledged) | ${byRegion}`);
      }
    }
  };

  await Promise.all([writeLoop(), readLoop()]);

  const [finalRows] = await reader.query('SELECT COUNT(*) AS n, SUM(amount) AS amount FROM htap_demo.sales');
  const finalCount = Number(finalRows[0].n);
  const finalTotal = cents(finalRows[0].amount);
  await writer.end();
  await reader.end();

  console.log(`writer: ${acknowledged} writes (${inserts} inserts, ${updates} updates) in ${seconds} s; expected ${count} rows, total ${money(total)}`);
  console.log(`analytics: ${reads} aggregates, ${fresh} distinct totals; final ${finalCount} rows, total ${money(finalTotal)}`);
  if (finalCount !== count || finalTotal !== total) {
    problems.push(`final aggregate ${finalCount} rows / ${money(finalTotal)} differs from the writer's ${count} rows / ${money(total)}`);
  }
  if (fresh < 3) problems.push(`the analytics saw only ${fresh} distinct totals in ${reads} aggregates (expected at least 3)`);
  if (problems.length > 0) {
    for (const p of problems.slice(0, 10)) console.log(`FAIL: ${p}`);
    process.exitCode = 1;
    return;
  }
  console.log('OK: every aggregate reflected all acknowledged writes and was a consistent snapshot');
}

main().catch((e) => {
  console.error(`htap-demo: ${e.message}${e.errno !== undefined ? ` (errno ${e.errno}, SQLSTATE ${e.sqlState})` : ''}`);
  process.exitCode = 1;
});
