import { connect, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT } from '../../src/server/mysql/constants.js';
import { PacketFramer } from '../../src/server/mysql/framing.js';
import { decodeErr, writeHandshakeResponse41 } from '../../src/server/mysql/packets.js';
import { PacketWriter } from '../../src/server/mysql/wire-buffer.js';
import { mulberry32, startTestServer, type TestServer } from './helpers.js';

/**
 * Random and truncated packets and random SQL: every bad input is answered with an error or a
 * closed connection, and the server keeps serving a healthy connection throughout.
 */

const SEED = Number(process.env['SAIGA_FUZZ_SEED'] ?? 20240607);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ packetBytesMax: 64 * 1024 });
});
afterAll(async () => {
  await s.close();
});

/** A raw client: reads logical packets, reports when the server closes. */
class RawClient {
  readonly framer = new PacketFramer(1 << 24);
  readonly packets: Buffer[] = [];
  closed = false;
  private notify: (() => void) | null = null;
  constructor(readonly socket: Socket) {
    socket.on('data', (d) => {
      this.framer.push(d);
      for (let p = this.framer.next(); p !== null; p = this.framer.next()) this.packets.push(p.payload);
      this.notify?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => resolve(new RawClient(sock)));
      sock.once('error', reject);
    });
  }

  /** Waits for at least n packets, the close, or the timeout. */
  async waitFor(n: number, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.notify = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  async login(): Promise<boolean> {
    await this.waitFor(1);
    const w = new PacketWriter();
    w.seq = 1;
    const caps = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.DEPRECATE_EOF | CLIENT.MULTI_STATEMENTS;
    writeHandshakeResponse41(w, { capabilities: caps, maxPacketSize: 1 << 24, charset: 45, user: 'nopw', authResponse: new Uint8Array(0), database: null, authPlugin: 'caching_sha2_password' });
    this.socket.write(w.take());
    await this.waitFor(2);
    return this.packets[1]?.[0] === 0x00;
  }

  send(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }
}

function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

function frame(payload: Uint8Array, seq: number, announced = payload.length): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUIntLE(announced, 0, 3);
  b[3] = seq;
  b.set(payload, 4);
  return b;
}

describe('fuzz', () => {
  it(`random and truncated packets never disturb other connections (seed ${SEED})`, async () => {
    const rnd = mulberry32(SEED);
    const healthy = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', database: 'test' });
    await healthy.query('CREATE TABLE fz (id INT PRIMARY KEY)');
    try {
      for (let round = 0; round < 60; round++) {
        const c = await RawClient.open(s.port);
        const scenario = Math.floor(rnd() * 6);
        const where = `seed ${SEED} round ${round} scenario ${scenario}`;
        if (scenario === 0) {
          // garbage instead of a handshake response
          await c.waitFor(1);
          c.send(randomBytes(rnd, 1 + Math.floor(rnd() * 300)));
        } else if (scenario === 1) {
          // truncated handshake response, then the client goes away
          await c.waitFor(1);
          c.send(frame(randomBytes(rnd, 10), 1, 80));
          c.socket.end();
        } else {
          expect(await c.login(), where).toBe(true);
          const before = c.packets.length;
          if (scenario === 2) {
            // a random command byte with a random body
            const payload = randomBytes(rnd, 1 + Math.floor(rnd() * 64));
            if (payload[0] === 0x01 || payload[0] === 0x18 || payload[0] === 0x19) payload[0] = 0x7f; // QUIT/LONG_DATA/CLOSE answer nothing
            c.send(frame(payload, 0));
          } else if (scenario === 3) {
            // wrong sequence id
            c.send(frame(Buffer.from('\x03SELECT 1'), 1 + Math.floor(rnd() * 200)));
          } else if (scenario === 4) {
            // a statement execute for a statement that does not exist, or truncated
            const body = Buffer.concat([Buffer.of(0x17), randomBytes(rnd, Math.floor(rnd() * 12))]);
            c.send(frame(body, 0));
          } else {
            // a packet over the limit
            c.send(frame(Buffer.alloc(10), 0, 200 * 1024));
          }
          await c.waitFor(before + 1);
          if (!c.closed || c.packets.length > before) {
            const reply = c.packets[before];
            expect(reply, where).toBeDefined();
            // every reply to a bad command is an ERR packet (or an OK for a command that happened to be valid)
            if (reply?.[0] === 0xff) expect(decodeErr(reply).errno, where).toBeGreaterThan(1000);
          }
        }
        c.socket.destroy();
        const [rows] = await healthy.query('SELECT id FROM fz');
        expect(rows, where).toEqual([]);
      }
      // random SQL on one connection: each statement gets a result or an ERR, never a disconnect
      const words = ['SELECT', 'FROM', 'fz', 'WHERE', 'id', '=', '1', "'x", "'y'", '(', ')', ',', '*', 'INSERT', 'INTO', 'VALUES', '@@', 'SET', 'SHOW', '`', '"', 'NULL', ';', '--', '/*', 'LIMIT', '?', 'USER', 'CREATE', 'TABLE', 'DROP'];
      const sqlConn = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root', password: 'rootpw', database: 'test', multipleStatements: true });
      let errors = 0;
      for (let i = 0; i < 150; i++) {
        const n = 1 + Math.floor(rnd() * 8);
        const sql = Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(' ');
        try {
          await sqlConn.query(sql);
        } catch (e) {
          const err = e as { errno?: number; fatal?: boolean; message: string };
          expect(err.fatal, `seed ${SEED} sql ${sql}: ${err.message}`).not.toBe(true);
          expect(typeof err.errno, `seed ${SEED} sql ${sql}: ${err.message}`).toBe('number');
          errors++;
        }
        const [one] = await sqlConn.query('SELECT @@version_comment AS v');
        expect((one as Array<{ v: string }>)[0]?.v, `seed ${SEED} after ${sql}`).toMatch(/Saiga/);
      }
      expect(errors).toBeGreaterThan(0);
      await sqlConn.end();
      const [rows] = await healthy.query('SELECT id FROM fz');
      expect(rows).toEqual([]);
    } finally {
      await healthy.end();
    }
    for (let i = 0; i < 100 && s.server.connectionCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.server.connectionCount()).toBe(0);
  });
});
