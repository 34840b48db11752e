import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import {
  DateColumn, DecimalColumn, Int32Column, Utf8Column, arrowSchemaOf, makeBatch,
} from './columns.js';
import { Rng, streamSeed } from './rng.js';
import { TPCH_TABLES, TPCH_TABLE_NAMES } from './schema.js';
import type { TpchTableName } from './schema.js';
import { buildTextPool } from './text.js';

/**
 * A dbgen-compatible TPC-H generator that writes Arrow record batches directly from typed
 * arrays. Row counts, key ranges, dates, prices, flags and statuses follow the TPC-H spec
 * (section 4.2.3); the comment grammar is simplified (see text.ts). Deterministic for a
 * (scale factor, seed) pair.
 */

export interface TpchTableData {
  readonly name: TpchTableName;
  readonly schema: ArrowSchema;
  readonly batches: RecordBatch[];
  readonly rowCount: number;
}

export type TpchData = Readonly<Record<TpchTableName, TpchTableData>>;

export interface GenerateOptions {
  /** Rows per record batch, at most (lineitem batches may be a few rows smaller). */
  readonly batchRows?: number;
}

const DAY_MS = 86_400_000;
const dayOf = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / DAY_MS;
export const START_DATE = dayOf(1992, 1, 1);
export const END_DATE = dayOf(1998, 12, 31);
export const CURRENT_DATE = dayOf(1995, 6, 17);

export const REGIONS = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'] as const;
export const NATIONS: readonly (readonly [string, number])[] = [
  ['ALGERIA', 0], ['ARGENTINA', 1], ['BRAZIL', 1], ['CANADA', 1], ['EGYPT', 4], ['ETHIOPIA', 0],
  ['FRANCE', 3], ['GERMANY', 3], ['INDIA', 2], ['INDONESIA', 2], ['IRAN', 4], ['IRAQ', 4], ['JAPAN', 2],
  ['JORDAN', 4], ['KENYA', 0], ['MOROCCO', 0], ['MOZAMBIQUE', 0], ['PERU', 1], ['CHINA', 2], ['ROMANIA', 3],
  ['SAUDI ARABIA', 4], ['VIETNAM', 2], ['RUSSIA', 3], ['UNITED KINGDOM', 3], ['UNITED STATES', 1],
];
export const COLOURS = [
  'almond', 'antique', 'aquamarine', 'azure', 'beige', 'bisque', 'black', 'blanched', 'blue', 'blush',
  'brown', 'burlywood', 'burnished', 'chartreuse', 'chiffon', 'chocolate', 'coral', 'cornflower', 'cornsilk',
  'cream', 'cyan', 'dark', 'deep', 'dim', 'dodger', 'drab', 'firebrick', 'floral', 'forest', 'frosted',
  'gainsboro', 'ghost', 'goldenrod', 'green', 'grey', 'honeydew', 'hot', 'indian', 'ivory', 'khaki', 'lace',
  'lavender', 'lawn', 'lemon', 'light', 'lime', 'linen', 'magenta', 'maroon', 'medium', 'metallic',
  'midnight', 'mint', 'misty', 'moccasin', 'navajo', 'navy', 'olive', 'orange', 'orchid', 'pale', 'papaya',
  'peach', 'peru', 'pink', 'plum', 'powder', 'puff', 'purple', 'red', 'rose', 'rosy', 'royal', 'saddle',
  'salmon', 'sandy', 'seashell', 'sienna', 'sky', 'slate', 'smoke', 'snow', 'spring', 'steel', 'tan',
  'thistle', 'tomato', 'turquoise', 'violet', 'wheat', 'white', 'yellow',
];
const TYPE_S1 = ['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'];
const TYPE_S2 = ['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'];
const TYPE_S3 = ['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'];
const CONTAINER_S1 = ['SM', 'LG', 'MED', 'JUMBO', 'WRAP'];
const CONTAINER_S2 = ['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'];
const SEGMENTS = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'];
const PRIORITIES = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'];
const INSTRUCTIONS = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'];
const MODES = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];
const ADDRESS_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,. ';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const asciiList = (l: readonly string[]): Uint8Array[] => l.map(ascii);

export interface TpchCounts {
  readonly supplier: number;
  readonly part: number;
  readonly customer: number;
  readonly orders: number;
}

export function tpchCounts(sf: number): TpchCounts {
  if (!(sf > 0) || !Number.isFinite(sf)) throw new RangeError(`scale factor must be a positive number, got ${sf}`);
  return {
    supplier: Math.max(4, Math.round(10_000 * sf)),
    part: Math.max(1, Math.round(200_000 * sf)),
    customer: Math.max(3, Math.round(150_000 * sf)),
    orders: Math.max(1, Math.round(1_500_000 * sf)),
  };
}

/** The spec's sparse order keys: of every 32 keys only the first 8 are used. */
export function orderKeyOf(i: number): number {
  return Math.floor(i / 8) * 32 + (i % 8) + 1;
}

/** The spec's supplier of part `partkey`, j in 0..3. */
export function partSupplier(partkey: number, j: number, supplierCount: number): number {
  const s = supplierCount;
  return ((partkey + j * (Math.floor(s / 4) + Math.floor((partkey - 1) / s))) % s) + 1;
}

export function retailPriceCents(partkey: number): number {
  return 90000 + (Math.floor(partkey / 10) % 20001) + 100 * (partkey % 1000);
}

class Gen {
  constructor(readonly pool: Uint8Array, readonly rng: Rng) {}
  text(col: Utf8Column, minLen: number, maxLen: number): void {
    const len = this.rng.int(minLen, maxLen);
    const off = this.rng.int(0, this.pool.length - len);
    col.pushBytes(this.pool, off, len);
  }
  address(col: Utf8Column): void {
    const len = this.rng.int(10, 40);
    for (let i = 0; i < len; i++) col.putByte(ADDRESS_CHARS.charCodeAt(this.rng.int(0, ADDRESS_CHARS.length - 1)));
    col.endValue();
  }
  phone(col: Utf8Column, nationkey: number): void {
    col.putDigits(nationkey + 10, 2);
    col.putByte(45);
    col.putDigits(this.rng.int(100, 999), 3);
    col.putByte(45);
    col.putDigits(this.rng.int(100, 999), 3);
    col.putByte(45);
    col.putDigits(this.rng.int(1000, 9999), 4);
    col.endValue();
  }
  pickBytes(col: Utf8Column, list: readonly Uint8Array[]): void {
    const b = list[this.rng.int(0, list.length - 1)] as Uint8Array;
    col.pushBytes(b, 0, b.length);
  }
}

function ranges(total: number, batchRows: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let lo = 0; lo < total; lo += batchRows) out.push([lo, Math.min(total, lo + batchRows)]);
  return out;
}

function genRegion(g: Gen): RecordBatch[] {
  const n = REGIONS.length;
  const key = new Int32Column(n), name = new Utf8Column(n, 12), comment = new Utf8Column(n, 80);
  for (let i = 0; i < n; i++) {
    key.values[i] = i;
    name.pushAscii(REGIONS[i] as string);
    g.text(comment, 31, 115);
  }
  return [makeBatch(arrowSchemaOf(TPCH_TABLES.region.columns), [key.finish(n), name.finish(), comment.finish()], n)];
}

function genNation(g: Gen): RecordBatch[] {
  const n = NATIONS.length;
  const key = new Int32Column(n), name = new Utf8Column(n, 12), region = new Int32Column(n), comment = new Utf8Column(n, 80);
  for (let i = 0; i < n; i++) {
    const [nm, r] = NATIONS[i] as readonly [string, number];
    key.values[i] = i;
    name.pushAscii(nm);
    region.values[i] = r;
    g.text(comment, 31, 114);
  }
  return [makeBatch(arrowSchemaOf(TPCH_TABLES.nation.columns), [key.finish(n), name.finish(), region.finish(n), comment.finish()], n)];
}

/** Suppliers whose comment gets 'Customer ... Complaints' / '... Recommends' (Q16), spec: 5 per 10,000 each. */
function specialSuppliers(rng: Rng, count: number): Map<number, 'Complaints' | 'Recommends'> {
  const each = Math.max(1, Math.round((count * 5) / 10_000));
  const out = new Map<number, 'Complaints' | 'Recommends'>();
  for (const kind of ['Complaints', 'Recommends'] as const) {
    let placed = 0;
    while (placed < each && out.size < count) {
      const k = rng.int(1, count);
      if (out.has(k)) continue;
      out.set(k, kind);
      placed++;
    }
  }
  return out;
}

function genSupplier(g: Gen, counts: TpchCounts, batchRows: number): RecordBatch[] {
  const schema = arrowSchemaOf(TPCH_TABLES.supplier.columns);
  const special = specialSuppliers(g.rng, counts.supplier);
  const prefix = ascii('Supplier#');
  const out: RecordBatch[] = [];
  for (const [lo, hi] of ranges(counts.supplier, batchRows)) {
    const n = hi - lo;
    const key = new Int32Column(n), name = new Utf8Column(n, 18), addr = new Utf8Column(n, 26), nation = new Int32Column(n);
    const phone = new Utf8Column(n, 15), bal = new DecimalColumn(n), comment = new Utf8Column(n, 64);
    for (let r = 0; r < n; r++) {
      const k = lo + r + 1;
      key.values[r] = k;
      name.pushPrefixedNumber(prefix, k, 9);
      g.address(addr);
      const nk = g.rng.int(0, 24);
      nation.values[r] = nk;
      g.phone(phone, nk);
      bal.set(r, g.rng.int(-99_999, 999_999));
      const kind = special.get(k);
      if (kind === undefined) {
        g.text(comment, 25, 100);
      } else {
        // The spec: 'Customer' then any text then 'Complaints' / 'Recommends' inside the comment.
        const head = Math.min(20, g.rng.int(0, 20));
        const mid = g.rng.int(0, 20);
        const start = g.rng.int(0, g.pool.length - head - mid);
        const pool = g.pool;
        for (let i = 0; i < head; i++) comment.putByte(pool[start + i] as number);
        for (const ch of 'Customer ') comment.putByte(ch.charCodeAt(0));
        for (let i = 0; i < mid; i++) comment.putByte(pool[start + head + i] as number);
        for (const ch of kind) comment.putByte(ch.charCodeAt(0));
        comment.endValue();
      }
    }
    out.push(makeBatch(schema, [key.finish(n), name.finish(), addr.finish(), nation.finish(n), phone.finish(), bal.finish(n), comment.finish()], n));
  }
  return out;
}

function genCustomer(g: Gen, counts: TpchCounts, batchRows: number): RecordBatch[] {
  const schema = arrowSchemaOf(TPCH_TABLES.customer.columns);
  const prefix = ascii('Customer#');
  const segments = asciiList(SEGMENTS);
  const out: RecordBatch[] = [];
  for (const [lo, hi] of ranges(counts.customer, batchRows)) {
    const n = hi - lo;
    const key = new Int32Column(n), name = new Utf8Column(n, 18), addr = new Utf8Column(n, 26), nation = new Int32Column(n);
    const phone = new Utf8Column(n, 15), bal = new DecimalColumn(n), seg = new Utf8Column(n, 10), comment = new Utf8Column(n, 74);
    for (let r = 0; r < n; r++) {
      const k = lo + r + 1;
      key.values[r] = k;
      name.pushPrefixedNumber(prefix, k, 9);
      g.address(addr);
      const nk = g.rng.int(0, 24);
      nation.values[r] = nk;
      g.phone(phone, nk);
      bal.set(r, g.rng.int(-99_999, 999_999));
      g.pickBytes(seg, segments);
      g.text(comment, 29, 116);
    }
    out.push(makeBatch(schema, [key.finish(n), name.finish(), addr.finish(), nation.finish(n), phone.finish(), bal.finish(n), seg.finish(), comment.finish()], n));
  }
  return out;
}

function genPart(g: Gen, counts: TpchCounts, batchRows: number): RecordBatch[] {
  const schema = arrowSchemaOf(TPCH_TABLES.part.columns);
  const colours = asciiList(COLOURS);
  const mfgrPrefix = ascii('Manufacturer#');
  const brandPrefix = ascii('Brand#');
  const t1 = asciiList(TYPE_S1), t2 = asciiList(TYPE_S2), t3 = asciiList(TYPE_S3);
  const c1 = asciiList(CONTAINER_S1), c2 = asciiList(CONTAINER_S2);
  const chosen = new Int32Array(5);
  const out: RecordBatch[] = [];
  const putWord = (col: Utf8Column, w: Uint8Array): void => {
    for (let i = 0; i < w.length; i++) col.putByte(w[i] as number);
  };
  for (const [lo, hi] of ranges(counts.part, batchRows)) {
    const n = hi - lo;
    const key = new Int32Column(n), name = new Utf8Column(n, 36), mfgr = new Utf8Column(n, 14), brand = new Utf8Column(n, 8);
    const type = new Utf8Column(n, 22), size = new Int32Column(n), container = new Utf8Column(n, 8), price = new DecimalColumn(n);
    const comment = new Utf8Column(n, 14);
    for (let r = 0; r < n; r++) {
      const k = lo + r + 1;
      key.values[r] = k;
      // p_name: 5 distinct colours.
      for (let w = 0; w < 5; w++) {
        let c: number;
        let dup: boolean;
        do {
          c = g.rng.int(0, colours.length - 1);
          dup = false;
          for (let j = 0; j < w; j++) if (chosen[j] === c) dup = true;
        } while (dup);
        chosen[w] = c;
        if (w > 0) name.putByte(32);
        putWord(name, colours[c] as Uint8Array);
      }
      name.endValue();
      const m = g.rng.int(1, 5);
      putWord(mfgr, mfgrPrefix);
      mfgr.putDigits(m, 1);
      mfgr.endValue();
      putWord(brand, brandPrefix);
      brand.putDigits(m, 1);
      brand.putDigits(g.rng.int(1, 5), 1);
      brand.endValue();
      putWord(type, t1[g.rng.int(0, t1.length - 1)] as Uint8Array);
      type.putByte(32);
      putWord(type, t2[g.rng.int(0, t2.length - 1)] as Uint8Array);
      type.putByte(32);
      putWord(type, t3[g.rng.int(0, t3.length - 1)] as Uint8Array);
      type.endValue();
      size.values[r] = g.rng.int(1, 50);
      putWord(container, c1[g.rng.int(0, c1.length - 1)] as Uint8Array);
      container.putByte(32);
      putWord(container, c2[g.rng.int(0, c2.length - 1)] as Uint8Array);
      container.endValue();
      price.set(r, retailPriceCents(k));
      g.text(comment, 5, 22);
    }
    out.push(makeBatch(schema, [
      key.finish(n), name.finish(), mfgr.finish(), brand.finish(), type.finish(), size.finish(n), container.finish(),
      price.finish(n), comment.finish(),
    ], n));
  }
  return out;
}

function genPartsupp(g: Gen, counts: TpchCounts, batchRows: number): RecordBatch[] {
  const schema = arrowSchemaOf(TPCH_TABLES.partsupp.columns);
  const partsPerBatch = Math.max(1, Math.floor(batchRows / 4));
  const out: RecordBatch[] = [];
  for (const [lo, hi] of ranges(counts.part, partsPerBatch)) {
    const n = (hi - lo) * 4;
    const pk = new Int32Column(n), sk = new Int32Column(n), qty = new Int32Column(n), cost = new DecimalColumn(n);
    const comment = new Utf8Column(n, 124);
    let r = 0;
    for (let p = lo + 1; p <= hi; p++) {
      for (let j = 0; j < 4; j++, r++) {
        pk.values[r] = p;
        sk.values[r] = partSupplier(p, j, counts.supplier);
        qty.values[r] = g.rng.int(1, 9999);
        cost.set(r, g.rng.int(100, 100_000));
        g.text(comment, 49, 198);
      }
    }
    out.push(makeBatch(schema, [pk.finish(n), sk.finish(n), qty.finish(n), cost.finish(n), comment.finish()], n));
  }
  return out;
}

function genOrdersAndLineitem(g: Gen, counts: TpchCounts, batchRows: number): { orders: RecordBatch[]; lineitem: RecordBatch[] } {
  const oSchema = arrowSchemaOf(TPCH_TABLES.orders.columns);
  const lSchema = arrowSchemaOf(TPCH_TABLES.lineitem.columns);
  const priorities = asciiList(PRIORITIES);
  const instructions = asciiList(INSTRUCTIONS);
  const modes = asciiList(MODES);
  const clerkPrefix = ascii('Clerk#');
  const clerkCount = Math.max(1, Math.round(counts.orders / 1500));
  // o_custkey: customers whose key is a multiple of 3 place no orders (spec 4.2.3).
  const activeCustomers = counts.customer - Math.floor(counts.customer / 3);
  const lastOrderDate = END_DATE - 151;
  const ordersPerBatch = Math.max(1, Math.floor(batchRows / 7));
  const flagF = 70, flagO = 79, flagP = 80, flagN = 78, flagR = 82, flagA = 65;
  const orders: RecordBatch[] = [];
  const lineitem: RecordBatch[] = [];
  for (const [lo, hi] of ranges(counts.orders, ordersPerBatch)) {
    const n = hi - lo;
    const cap = n * 7;
    const ok = new Int32Column(n), ck = new Int32Column(n), status = new Utf8Column(n, 1), total = new DecimalColumn(n);
    const odate = new DateColumn(n), prio = new Utf8Column(n, 9), clerk = new Utf8Column(n, 15), shipprio = new Int32Column(n);
    const ocomment = new Utf8Column(n, 49);
    const lok = new Int32Column(cap), lpk = new Int32Column(cap), lsk = new Int32Column(cap), lnum = new Int32Column(cap);
    const lqty = new DecimalColumn(cap), lprice = new DecimalColumn(cap), ldisc = new DecimalColumn(cap), ltax = new DecimalColumn(cap);
    const lflag = new Utf8Column(cap, 1), lstatus = new Utf8Column(cap, 1);
    const lship = new DateColumn(cap), lcommit = new DateColumn(cap), lreceipt = new DateColumn(cap);
    const linstr = new Utf8Column(cap, 12), lmode = new Utf8Column(cap, 5), lcomment = new Utf8Column(cap, 27);
    let l = 0;
    for (let r = 0; r < n; r++) {
      const orderkey = orderKeyOf(lo + r);
      const c = g.rng.int(0, activeCustomers - 1);
      const custkey = Math.floor(c / 2) * 3 + (c % 2) + 1;
      const orderdate = g.rng.int(START_DATE, lastOrderDate);
      ok.values[r] = orderkey;
      ck.values[r] = custkey;
      odate.values[r] = orderdate;
      g.pickBytes(prio, priorities);
      clerk.pushPrefixedNumber(clerkPrefix, g.rng.int(1, clerkCount), 9);
      shipprio.values[r] = 0;
      g.text(ocomment, 19, 78);
      const lines = g.rng.int(1, 7);
      let totalCents = 0;
      let fCount = 0;
      for (let j = 1; j <= lines; j++, l++) {
        const partkey = g.rng.int(1, counts.part);
        const suppkey = partSupplier(partkey, g.rng.int(0, 3), counts.supplier);
        const quantity = g.rng.int(1, 50);
        const discount = g.rng.int(0, 10);
        const tax = g.rng.int(0, 8);
        const extended = quantity * retailPriceCents(partkey);
        const shipdate = orderdate + g.rng.int(1, 121);
        const commitdate = orderdate + g.rng.int(30, 90);
        const receiptdate = shipdate + g.rng.int(1, 30);
        lok.values[l] = orderkey;
        lpk.values[l] = partkey;
        lsk.values[l] = suppkey;
        lnum.values[l] = j;
        lqty.set(l, quantity * 100);
        lprice.set(l, extended);
        ldisc.set(l, discount);
        ltax.set(l, tax);
        if (receiptdate <= CURRENT_DATE) lflag.putByte(g.rng.int(0, 1) === 0 ? flagR : flagA);
        else lflag.putByte(flagN);
        lflag.endValue();
        const shipped = shipdate <= CURRENT_DATE;
        if (shipped) fCount++;
        lstatus.putByte(shipped ? flagF : flagO);
        lstatus.endValue();
        lship.values[l] = shipdate;
        lcommit.values[l] = commitdate;
        lreceipt.values[l] = receiptdate;
        g.pickBytes(linstr, instructions);
        g.pickBytes(lmode, modes);
        g.text(lcomment, 10, 43);
        // o_totalprice = sum(extendedprice * (1 + tax) * (1 - discount)), each term rounded to cents.
        totalCents += Math.round((extended * (100 + tax) * (100 - discount)) / 10_000);
      }
      status.putByte(fCount === lines ? flagF : fCount === 0 ? flagO : flagP);
      status.endValue();
      total.set(r, totalCents);
    }
    orders.push(makeBatch(oSchema, [
      ok.finish(n), ck.finish(n), status.finish(), total.finish(n), odate.finish(n), prio.finish(), clerk.finish(),
      shipprio.finish(n), ocomment.finish(),
    ], n));
    lineitem.push(makeBatch(lSchema, [
      lok.finish(l), lpk.finish(l), lsk.finish(l), lnum.finish(l), lqty.finish(l), lprice.finish(l), ldisc.finish(l),
      ltax.finish(l), lflag.finish(), lstatus.finish(), lship.finish(l), lcommit.finish(l), lreceipt.finish(l),
      linstr.finish(), lmode.finish(), lcomment.finish(),
    ], l));
  }
  return { orders, lineitem };
}

/** Generates all 8 tables at scale factor `sf` (fractions allowed, e.g. 0.01). */
export function generateTpch(sf: number, seed: number, options: GenerateOptions = {}): TpchData {
  const batchRows = options.batchRows ?? 65_536;
  if (!(batchRows >= 7)) throw new RangeError(`batchRows must be at least 7, got ${batchRows}`);
  const counts = tpchCounts(sf);
  const pool = buildTextPool(seed, 1 << 20);
  const gen = (stream: number): Gen => new Gen(pool, new Rng(streamSeed(seed, stream)));
  const { orders, lineitem } = genOrdersAndLineitem(gen(7), counts, batchRows);
  const batches: Record<TpchTableName, RecordBatch[]> = {
    region: genRegion(gen(1)),
    nation: genNation(gen(2)),
    supplier: genSupplier(gen(3), counts, batchRows),
    customer: genCustomer(gen(4), counts, batchRows),
    part: genPart(gen(5), counts, batchRows),
    partsupp: genPartsupp(gen(6), counts, batchRows),
    orders,
    lineitem,
  };
  const out = {} as Record<TpchTableName, TpchTableData>;
  for (const name of TPCH_TABLE_NAMES) {
    const b = batches[name];
    out[name] = {
      name, schema: arrowSchemaOf(TPCH_TABLES[name].columns), batches: b,
      rowCount: b.reduce((s, x) => s + x.numRows, 0),
    };
  }
  return out;
}
