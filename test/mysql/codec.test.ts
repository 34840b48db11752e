import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Value } from '../../src/common/types.js';
import type { ResultColumn } from '../../src/query/api.js';
import {
  checkNativeScramble, checkSha2Scramble, nativeScramble, nativeStage2, sha2Scramble,
} from '../../src/server/auth/index.js';
import { sha2CacheEntry } from '../../src/server/auth/password-hash.js';
import { CLIENT, MAX_PACKET_CHUNK, MYSQL_TYPE } from '../../src/server/mysql/constants.js';
import { PacketFramer, PacketTooLargeError } from '../../src/server/mysql/framing.js';
import {
  decodeColumnDefinition41, decodeEof, decodeErr, decodeHandshakeResponse41, decodeHandshakeV10, decodeOk,
  writeColumnDefinition41, writeEof, writeErr, writeHandshakeResponse41, writeHandshakeV10, writeOk, writeStmtPrepareOk,
} from '../../src/server/mysql/packets.js';
import {
  civilFromDays, daysFromCivil, decimal128ToString, formatFloat32, formatTimestampMicros, ColumnPlanCache, planColumns, writeBinaryRows, writeTextRows,
} from '../../src/server/mysql/result-encoding.js';
import { decodeStmtExecute } from '../../src/server/mysql/statement-params.js';
import { framePayload, MalformedPacketError, PacketWriter, PayloadReader } from '../../src/server/mysql/wire-buffer.js';
import { buildBatch } from './arrow-build.js';
import { mulberry32 } from './helpers.js';

const require = createRequire(import.meta.url);
// mysql2's own implementations, an independent reference for the auth math (loaded by file path:
// the package's exports map hides lib/).
const mysql2Lib = join(dirname(require.resolve('mysql2')), 'lib');
const auth41 = require(join(mysql2Lib, 'auth_41.js')) as { calculateToken(pw: string, s1: Buffer, s2: Buffer): Buffer };
const sha2Plugin = require(join(mysql2Lib, 'auth_plugins', 'caching_sha2_password.js')) as { calculateToken(pw: string, s: Buffer): Buffer };

/** Splits a framed stream back into payloads (one per packet, not joined). */
function packets(bytes: Buffer): Array<{ seq: number; payload: Buffer }> {
  const out: Array<{ seq: number; payload: Buffer }> = [];
  let off = 0;
  while (off < bytes.length) {
    const len = bytes.readUIntLE(off, 3);
    out.push({ seq: bytes[off + 3] as number, payload: bytes.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  expect(off).toBe(bytes.length);
  return out;
}

describe('framing', () => {
  it('frames small payloads with sequence ids and reads them back split at every byte', () => {
    const w = new PacketWriter(8);
    w.seq = 254;
    for (const s of ['a', '', 'hello world']) {
      w.begin();
      w.str(s);
      w.end();
    }
    const bytes = w.take();
    expect(packets(bytes).map((p) => p.seq)).toEqual([254, 255, 0]);
    const f = new PacketFramer(1 << 20);
    const got: string[] = [];
    for (const b of bytes) {
      f.push(Buffer.of(b));
      for (let p = f.next(); p !== null; p = f.next()) got.push(p.payload.toString());
    }
    expect(got).toEqual(['a', '', 'hello world']);
  });

  it('splits payloads of 0xFFFFFF bytes and more into chunks and joins them', () => {
    for (const size of [MAX_PACKET_CHUNK - 1, MAX_PACKET_CHUNK, MAX_PACKET_CHUNK + 10]) {
      const payload = Buffer.alloc(size, 7);
      payload[0] = 1;
      payload[size - 1] = 9;
      const framed = framePayload(payload, 3);
      const raw = packets(framed);
      const expectedChunks = size < MAX_PACKET_CHUNK ? 1 : 2;
      expect(raw.length).toBe(expectedChunks);
      expect(raw.map((p) => p.seq)).toEqual(expectedChunks === 1 ? [3] : [3, 4]);
      if (size === MAX_PACKET_CHUNK) expect(raw[1]?.payload.length).toBe(0);
      const f = new PacketFramer(64 * 1024 * 1024);
      for (let off = 0; off < framed.length; off += 1 << 20) f.push(framed.subarray(off, off + (1 << 20)));
      const p = f.next();
      expect(p?.payload.equals(payload)).toBe(true);
      expect(p?.seq).toBe(3);
      expect(p?.nextSeq).toBe(3 + expectedChunks);
      expect(f.next()).toBeNull();
    }
  });

  it('rejects a packet over the limit from its header, before buffering it', () => {
    const f = new PacketFramer(1000);
    f.push(Buffer.from([0xe9, 0x03, 0x00, 0x00])); // 1001 bytes announced
    expect(() => f.next()).toThrow(PacketTooLargeError);
  });

  it('rejects continuation chunks out of sequence', () => {
    const framed = Buffer.from(framePayload(Buffer.alloc(MAX_PACKET_CHUNK + 1), 0));
    framed[4 + MAX_PACKET_CHUNK + 3] = 5; // second chunk should be seq 1
    const f = new PacketFramer(64 * 1024 * 1024);
    f.push(framed);
    expect(() => f.next()).toThrow(MalformedPacketError);
  });
});

describe('length-encoded values', () => {
  it('round-trips integers at every width boundary', () => {
    const values = [0, 1, 250, 251, 252, 0xffff, 0x10000, 0xffffff, 0x1000000, 2 ** 32, 2 ** 53 - 1];
    const w = new PacketWriter(8);
    w.begin();
    for (const v of values) w.lenencInt(v);
    w.end();
    const payload = packets(w.take())[0]?.payload as Buffer;
    expect(payload[2]).toBe(250);
    expect(payload[3]).toBe(0xfc); // 251 needs the 2-byte form
    const r = new PayloadReader(payload);
    expect(values.map(() => r.lenencInt())).toEqual(values);
    expect(r.remaining).toBe(0);
  });

  it('round-trips strings, NULL, and fails on truncation', () => {
    const strs = ['', 'x', 'ü€😀', 'a'.repeat(300), 'b'.repeat(70000)];
    const w = new PacketWriter(8);
    w.begin();
    for (const s of strs) w.lenencString(s);
    w.nullMarker();
    w.end();
    const payload = packets(w.take())[0]?.payload as Buffer;
    const r = new PayloadReader(payload);
    expect(strs.map(() => r.lenencString())).toEqual(strs);
    expect(r.lenencString()).toBeNull();
    const cut = new PayloadReader(payload.subarray(0, 10));
    cut.lenencString();
    cut.lenencString();
    expect(() => cut.lenencString()).toThrow(MalformedPacketError);
  });
});

function onePayload(write: (w: PacketWriter) => void): Buffer {
  const w = new PacketWriter(16);
  write(w);
  const ps = packets(w.take());
  expect(ps.length).toBe(1);
  return (ps[0] as { payload: Buffer }).payload;
}

describe('connection-phase packets', () => {
  it('handshake v10 round-trips', () => {
    const nonce = Buffer.from('abcdefghij0123456789');
    const h = { serverVersion: '8.0.36-x', connectionId: 77, nonce, capabilities: 0x81fff7ff, charset: 45, statusFlags: 2, authPlugin: 'caching_sha2_password' };
    const d = decodeHandshakeV10(onePayload((w) => writeHandshakeV10(w, h)));
    expect({ ...d, nonce: Buffer.from(d.nonce) }).toEqual(h);
  });

  it('HandshakeResponse41 round-trips with database, plugin and attributes, and truncation is malformed', () => {
    const caps = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.CONNECT_WITH_DB | CLIENT.CONNECT_ATTRS;
    const h = {
      capabilities: caps, maxPacketSize: 1 << 24, charset: 45, user: 'alice', authResponse: new Uint8Array([1, 2, 3]),
      database: 'db1', authPlugin: 'mysql_native_password', attributes: new Map([['_client_name', 'test'], ['k', 'v']]),
    };
    const payload = onePayload((w) => writeHandshakeResponse41(w, h));
    const d = decodeHandshakeResponse41(payload);
    expect({ ...d, authResponse: [...d.authResponse] }).toEqual({ ...h, authResponse: [1, 2, 3] });
    for (const cut of [3, 20, 34, 40]) expect(() => decodeHandshakeResponse41(payload.subarray(0, cut))).toThrow(MalformedPacketError);
  });

  it('OK, OK-as-EOF, EOF and ERR round-trip', () => {
    const ok = { affectedRows: 300, lastInsertId: 70000, statusFlags: 0x0a, warnings: 2, info: 'Rows matched: 1' };
    const okPayload = onePayload((w) => writeOk(w, ok));
    expect(okPayload[0]).toBe(0);
    expect(decodeOk(okPayload)).toEqual(ok);
    const eofOk = onePayload((w) => writeOk(w, { ...ok, info: '' }, true));
    expect(eofOk[0]).toBe(0xfe);
    expect(decodeOk(eofOk)).toEqual({ affectedRows: 300, lastInsertId: 70000, statusFlags: 0x0a, warnings: 2 });
    expect(decodeEof(onePayload((w) => writeEof(w, 0x22, 3)))).toEqual({ warnings: 3, statusFlags: 0x22 });
    const err = { errno: 1146, sqlState: '42S02', message: "Table 'x.y' doesn't exist" };
    expect(decodeErr(onePayload((w) => writeErr(w, err)))).toEqual(err);
  });

  it('column definition 41 and COM_STMT_PREPARE OK', () => {
    const c = { schema: 'db', table: 't', orgTable: 't0', name: 'c', orgName: 'c0', charset: 45, columnLength: 11, type: MYSQL_TYPE.LONG, flags: 1, decimals: 0 };
    expect(decodeColumnDefinition41(onePayload((w) => writeColumnDefinition41(w, c)))).toEqual(c);
    const p = onePayload((w) => writeStmtPrepareOk(w, 9, 2, 3, 0));
    const r = new PayloadReader(p);
    expect([r.u8(), r.u32(), r.u16(), r.u16(), r.u8(), r.u16()]).toEqual([0, 9, 2, 3, 0, 0]);
  });
});

describe('authentication math', () => {
  it('mysql_native_password agrees with mysql2 and rejects wrong passwords', () => {
    const nonce = Buffer.from('0123456789abcdefghij');
    const mine = nativeScramble('sekret', nonce);
    expect(mine.equals(auth41.calculateToken('sekret', nonce.subarray(0, 8), nonce.subarray(8)))).toBe(true);
    expect(checkNativeScramble(nativeStage2('sekret'), nonce, mine)).toBe(true);
    expect(checkNativeScramble(nativeStage2('sekret'), nonce, nativeScramble('other', nonce))).toBe(false);
  });

  it('caching_sha2_password fast path agrees with mysql2 and rejects wrong passwords', () => {
    const nonce = Buffer.from('zyxwvutsrqponmlkjihg');
    const mine = sha2Scramble('pässword', nonce);
    expect(mine.equals(sha2Plugin.calculateToken('pässword', nonce))).toBe(true);
    expect(checkSha2Scramble(sha2CacheEntry('pässword'), nonce, mine)).toBe(true);
    expect(checkSha2Scramble(sha2CacheEntry('pässword'), nonce, sha2Scramble('password', nonce))).toBe(false);
  });
});

// ---- result rows ----

const ALL_COLUMNS: ResultColumn[] = [
  { name: 'b', type: 'bool', nullable: true },
  { name: 'i8', type: 'int8', nullable: true },
  { name: 'i16', type: 'int16', nullable: true },
  { name: 'i32', type: 'int32', nullable: false },
  { name: 'i64', type: 'int64', nullable: true },
  { name: 'f', type: 'float', nullable: true },
  { name: 'd', type: 'double', nullable: true },
  { name: 'dec', type: 'decimal', nullable: true, precision: 30, scale: 3 },
  { name: 's', type: 'string', nullable: true },
  { name: 'bin', type: 'binary', nullable: true },
  { name: 'dt', type: 'date', nullable: true },
  { name: 'ts', type: 'timestamp', nullable: true },
];

const ROWS: Value[][] = [
  [true, -128, -32768, -2147483648, -(2n ** 63n), 0.1, -1.5e300, -123456789012345678901234567n, 'héllo', Uint8Array.of(0, 255), -719162, -62135596800000000],
  [false, 127, 32767, 2147483647, 2n ** 63n - 1n, 3.25, 2.5, 5n, '', new Uint8Array(0), 19723, 1704164645123456],
  [null, null, null, 0, null, null, null, null, null, null, null, null],
  [true, 0, 1, 42, 9007199254740993n, -0, 0, -5n, 'x'.repeat(300), Uint8Array.of(1), 0, 0],
];

const EXPECTED_TEXT: Array<Array<string | null>> = [
  ['1', '-128', '-32768', '-2147483648', '-9223372036854775808', '0.1', '-1.5e+300', '-123456789012345678901234.567', 'héllo', '\u0000\u00ff', '0001-01-01', '0001-01-01 00:00:00'],
  ['0', '127', '32767', '2147483647', '9223372036854775807', '3.25', '2.5', '0.005', '', '', '2024-01-01', '2024-01-02 03:04:05.123456'],
  [null, null, null, '0', null, null, null, null, null, null, null, null],
  ['1', '0', '1', '42', '9007199254740993', '0', '0', '-0.005', 'x'.repeat(300), '\u0001', '1970-01-01', '1970-01-01 00:00:00'],
];

describe('ColumnPlanCache', () => {
  it('reuses plans while the result shape stays the same and re-plans when it changes', () => {
    const cache = new ColumnPlanCache();
    const a = buildBatch(ALL_COLUMNS, ROWS).schema;
    const first = cache.get(ALL_COLUMNS, a, 'db');
    expect(first).toEqual(planColumns(ALL_COLUMNS, a, 'db'));
    // a new but identical schema and column list (as an engine returns per execution) hits the cache
    const again = buildBatch(ALL_COLUMNS.map((c) => ({ ...c })), ROWS).schema;
    expect(cache.get(ALL_COLUMNS.map((c) => ({ ...c })), again, 'db')).toBe(first);
    // another default database, a renamed column, a changed type or nullability each re-plan
    const otherDb = cache.get(ALL_COLUMNS, a, 'other');
    expect(otherDb).not.toBe(first);
    expect(otherDb).toEqual(planColumns(ALL_COLUMNS, a, 'other'));
    const renamed = ALL_COLUMNS.map((c, i) => (i === 2 ? { ...c, name: 'renamed' } : c));
    expect(cache.get(renamed, buildBatch(renamed, []).schema, 'other')[2]?.definition.name).toBe('renamed');
    const retyped = ALL_COLUMNS.map((c, i) => (i === 3 ? { ...c, type: 'int64' as const } : c));
    expect(cache.get(retyped, buildBatch(retyped, []).schema, 'other')[3]?.definition.type).toBe(MYSQL_TYPE.LONGLONG);
    const nullable = retyped.map((c, i) => (i === 3 ? { ...c, nullable: true } : c));
    expect((cache.get(nullable, buildBatch(nullable, []).schema, 'other')[3]?.definition.flags ?? 0) & 1).toBe(0);
  });
});

describe('result rows', () => {
  const { schema, batch } = buildBatch(ALL_COLUMNS, ROWS);
  const plans = planColumns(ALL_COLUMNS, schema, 'db');

  it('maps every Saiga type to its MySQL column type', () => {
    expect(plans.map((p) => p.definition.type)).toEqual([
      MYSQL_TYPE.TINY, MYSQL_TYPE.TINY, MYSQL_TYPE.SHORT, MYSQL_TYPE.LONG, MYSQL_TYPE.LONGLONG, MYSQL_TYPE.FLOAT,
      MYSQL_TYPE.DOUBLE, MYSQL_TYPE.NEWDECIMAL, MYSQL_TYPE.VAR_STRING, MYSQL_TYPE.BLOB, MYSQL_TYPE.DATE, MYSQL_TYPE.DATETIME,
    ]);
    expect(plans[3]?.definition.flags ?? 0 & 1).toBe(1 | 32768); // NOT NULL | NUM
    expect(plans[7]?.definition.decimals).toBe(3);
    expect(plans[11]?.definition.decimals).toBe(6);
  });

  it('text rows carry the MySQL text form of every type, including slices with offsets', () => {
    for (const [b, start] of [[batch, 0], [batch.slice(1, 4), 1]] as const) {
      const w = new PacketWriter(64);
      writeTextRows(w, plans, b);
      const rows = packets(w.take()).map(({ payload }) => {
        const r = new PayloadReader(payload);
        const cells = ALL_COLUMNS.map(() => {
          const v = r.lenencBytes();
          return v === null ? null : Buffer.from(v).toString('latin1');
        });
        expect(r.remaining).toBe(0);
        return cells;
      });
      const latin1 = (s: string | null): string | null => (s === null ? null : Buffer.from(s, 'utf8').toString('latin1'));
      expect(rows).toEqual(EXPECTED_TEXT.slice(start).map((r, i) => r.map((c, j) => (j === 9 ? (ROWS[start + i]?.[9] === null ? null : Buffer.from(ROWS[start + i]?.[9] as Uint8Array).toString('latin1')) : latin1(c)))));
    }
  });

  it('binary rows carry the binary protocol form of every type', () => {
    const w = new PacketWriter(64);
    writeBinaryRows(w, plans, batch);
    const decoded = packets(w.take()).map(({ payload }) => {
      const r = new PayloadReader(payload);
      expect(r.u8()).toBe(0);
      const bitmap = r.bytes((ALL_COLUMNS.length + 9) >> 3);
      const out: unknown[] = [];
      ALL_COLUMNS.forEach((c, j) => {
        if ((((bitmap[(j + 2) >> 3] as number) >> ((j + 2) & 7)) & 1) === 1) {
          out.push(null);
          return;
        }
        switch (c.type) {
          case 'bool': out.push(r.u8() === 1); break;
          case 'int8': out.push(r.i8()); break;
          case 'int16': out.push(r.i16()); break;
          case 'int32': out.push(r.i32()); break;
          case 'int64': out.push(r.u64Big(true)); break;
          case 'float': out.push(r.f32()); break;
          case 'double': out.push(r.f64()); break;
          case 'decimal': out.push(r.lenencString()); break;
          case 'string': out.push(r.lenencString()); break;
          case 'binary': out.push([...(r.lenencBytes() ?? [])]); break;
          case 'date': {
            expect(r.u8()).toBe(4);
            out.push(daysFromCivil(r.u16(), r.u8(), r.u8()));
            break;
          }
          case 'timestamp': {
            const len = r.u8();
            expect([0, 4, 7, 11]).toContain(len);
            const days = daysFromCivil(r.u16(), r.u8(), r.u8());
            let us = days * 86400e6;
            if (len >= 7) us += r.u8() * 3600e6 + r.u8() * 60e6 + r.u8() * 1e6;
            if (len === 11) us += r.u32();
            out.push(us);
            break;
          }
        }
      });
      expect(r.remaining).toBe(0);
      return out;
    });
    const expected = ROWS.map((row, i) => row.map((v, j) => {
      if (v === null) return null;
      const t = ALL_COLUMNS[j]?.type;
      if (t === 'float') return Math.fround(v as number);
      if (t === 'decimal') return EXPECTED_TEXT[i]?.[j];
      if (t === 'binary') return [...(v as Uint8Array)];
      if (t === 'int64') return BigInt(v as bigint);
      return v;
    }));
    expect(decoded).toEqual(expected);
  });

  it('decimal, float and date formatting edge cases', () => {
    const words = (v: bigint): [number, number, number, number] => {
      const x = BigInt.asUintN(128, v);
      return [0, 1, 2, 3].map((k) => Number((x >> BigInt(32 * k)) & 0xffffffffn)) as [number, number, number, number];
    };
    const cases: Array<[bigint, number, string]> = [
      [0n, 0, '0'], [0n, 2, '0.00'], [1n, 4, '0.0001'], [-1n, 1, '-0.1'], [12345n, 2, '123.45'],
      [2n ** 53n, 0, '9007199254740992'], [-(2n ** 53n), 0, '-9007199254740992'],
      [10n ** 37n + 7n, 10, '1000000000000000000000000000.0000000007'], [-(10n ** 37n), 37, '-1.' + '0'.repeat(37)],
    ];
    for (const [v, scale, s] of cases) expect(decimal128ToString(...words(v), scale)).toBe(s);
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(16777217))).toBe('16777216');
    expect(formatTimestampMicros(-1)).toBe('1969-12-31 23:59:59.999999');
    const rnd = mulberry32(1234);
    for (let i = 0; i < 2000; i++) {
      const days = Math.floor((rnd() - 0.5) * 2 * 1_000_000);
      const d = new Date(days * 86400000);
      const expected: [number, number, number] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
      expect(civilFromDays(days), `seed 1234 day ${days}`).toEqual(expected);
      expect(daysFromCivil(...expected)).toBe(days);
    }
  });
});

describe('COM_STMT_EXECUTE parameters', () => {
  function executePacket(types: number[], write: (w: PacketWriter) => void, nullBits = 0): Buffer {
    return onePayload((w) => {
      w.begin();
      w.u8(0x17);
      w.u32(5);
      w.u8(0);
      w.u32(1);
      w.zeros((types.length + 7) >> 3);
      w.buf[w.len - ((types.length + 7) >> 3)] = nullBits;
      w.u8(1);
      for (const t of types) w.u16(t);
      write(w);
      w.end();
    });
  }

  it('decodes every parameter type with coercion', () => {
    const types = [
      MYSQL_TYPE.DOUBLE, MYSQL_TYPE.DOUBLE, MYSQL_TYPE.LONGLONG, MYSQL_TYPE.LONGLONG, MYSQL_TYPE.TINY, MYSQL_TYPE.LONG | 0x8000,
      MYSQL_TYPE.VAR_STRING, MYSQL_TYPE.BLOB, MYSQL_TYPE.NEWDECIMAL, MYSQL_TYPE.DATETIME, MYSQL_TYPE.DATE, MYSQL_TYPE.NULL, MYSQL_TYPE.SHORT,
      MYSQL_TYPE.TIME,
    ];
    const payload = executePacket(types, (w) => {
      w.f64(42);
      w.f64(1.5);
      w.u64Halves(0xffffffff, 0xffffffff); // -1
      w.u64Halves(1, 0x40000000); // 2^62 + 1
      w.u8(0xff);
      w.u32(0xffffffff);
      w.lenencString('héllo');
      w.lenencBytes(Uint8Array.of(0, 1, 2));
      w.lenencString('12.50');
      w.u8(11); w.u16(2024); w.u8(2); w.u8(29); w.u8(13); w.u8(14); w.u8(15); w.u32(123);
      w.u8(4); w.u16(1999); w.u8(12); w.u8(31);
      w.u16(0xfffe);
      w.u8(8); w.u8(1); w.u32(1); w.u8(2); w.u8(3); w.u8(4);
    });
    const d = decodeStmtExecute(payload, types.length, null, new Map());
    expect(d.statementId).toBe(5);
    expect(d.values).toEqual([
      42, 1.5, -1, 2n ** 62n + 1n, -1, 4294967295, 'héllo', Uint8Array.of(0, 1, 2), 12.5,
      '2024-02-29 13:14:15.000123', '1999-12-31', null, -2, '-26:03:04',
    ]);
    expect(Number.isInteger(d.values[0])).toBe(true);
  });

  it('uses the NULL bitmap, previous types, and long data; truncation is malformed', () => {
    const types = [MYSQL_TYPE.LONG, MYSQL_TYPE.VAR_STRING, MYSQL_TYPE.LONG];
    const first = executePacket(types, (w) => w.i32(7), 0b010 | 0b100);
    const longData = new Map([[1, Buffer.from('long text')]]);
    const d1 = decodeStmtExecute(first, 3, null, longData);
    expect(d1.values).toEqual([7, 'long text', null]);
    // re-execute without re-binding types
    const again = onePayload((w) => {
      w.begin();
      w.u8(0x17); w.u32(5); w.u8(0); w.u32(1); w.u8(0); w.u8(0);
      w.i32(1); w.lenencString('a'); w.i32(2);
      w.end();
    });
    expect(decodeStmtExecute(again, 3, d1.types, new Map()).values).toEqual([1, 'a', 2]);
    expect(() => decodeStmtExecute(again, 3, null, new Map())).toThrow(MalformedPacketError);
    expect(() => decodeStmtExecute(first.subarray(0, first.length - 2), 3, null, new Map())).toThrow(MalformedPacketError);
  });
});
