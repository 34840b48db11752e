import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { DEFAULT_LIMITS, validateLimits, type Limits } from '../../common/limits.js';
import type { QueryEngine } from '../../query/api.js';
import type { UserStore } from '../auth/user-store.js';
import { MysqlConnection } from './connection.js';
import { SERVER_ERRORS } from './error-map.js';
import { writeErr } from './packets.js';
import { PacketWriter } from './wire-buffer.js';

export interface MysqlServerOptions {
  readonly engine: QueryEngine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 3306; 0 picks a free port. */
  readonly port?: number;
  readonly users: UserStore;
  /** connectionsMax, packetBytesMax, idleTimeoutMs are read here. */
  readonly limits?: Partial<Limits>;
}

export interface MysqlServer {
  readonly address: string;
  readonly port: number;
  /** Open connections right now. */
  connectionCount(): number;
  /** Stops accepting, closes every connection. Does not close the engine. */
  close(): Promise<void>;
}

/** Bounds of the idle sweep's period (a quarter of idleTimeoutMs within them). */
const IDLE_SWEEP_MS_MIN = 10;
const IDLE_SWEEP_MS_MAX = 1000;

/** Starts the MySQL wire endpoint. One connection's failure never affects the others. */
export async function startMysqlServer(options: MysqlServerOptions): Promise<MysqlServer> {
  const limits = validateLimits({ ...DEFAULT_LIMITS, ...options.limits });
  // RSA key for caching_sha2_password full authentication without TLS (clients ask for it).
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const connections = new Set<MysqlConnection>();
  const startedMs = Date.now();
  let nextConnectionId = 1;
  let totalConnections = 0;
  let questions = 0;

  const ctx = {
    engine: options.engine,
    users: options.users,
    limits,
    publicKeyPem,
    privateKey,
    status: () => ({
      uptimeSeconds: Math.floor((Date.now() - startedMs) / 1000),
      threadsConnected: connections.size,
      connections: totalConnections,
      questions,
    }),
    countQuestion: () => {
      questions++;
    },
    findConnection: (id: number) => {
      for (const c of connections) if (c.connectionId === id) return c;
      return undefined;
    },
    listConnections: () => connections,
  };

  const server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    totalConnections++;
    if (connections.size >= limits.connectionsMax) {
      const w = new PacketWriter(128);
      writeErr(w, SERVER_ERRORS.tooManyConnections);
      socket.end(w.take());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const id = nextConnectionId;
    nextConnectionId = nextConnectionId >= 0xffffffff ? 1 : nextConnectionId + 1;
    const conn = new MysqlConnection(socket, id, ctx, () => connections.delete(conn));
    connections.add(conn);
    void conn.run();
  });
  server.maxConnections = limits.connectionsMax * 2; // hard cap; the ERR 1040 path above answers first

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3306, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Idle connections are found by one sweep (a quarter of the timeout, 10 ms to 1 s apart) rather
  // than a socket timeout per connection, which Node re-arms on every read and write.
  const sweepMs = Math.max(IDLE_SWEEP_MS_MIN, Math.min(IDLE_SWEEP_MS_MAX, Math.floor(limits.idleTimeoutMs / 4)));
  const idleSweep = setInterval(() => {
    const now = Date.now();
    for (const c of [...connections]) c.checkIdle(now);
  }, sweepMs);
  idleSweep.unref();
  server.once('close', () => clearInterval(idleSweep));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

  return {
    address: host,
    port,
    connectionCount: () => connections.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...connections]) c.destroy();
      }),
  };
}
