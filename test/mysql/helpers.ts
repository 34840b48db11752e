import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStorage } from '../../src/client/index.js';
import { createQueryEngine } from '../../src/query/index.js';
import type { QueryEngine } from '../../src/query/api.js';
import { openUserStore, type UserStore } from '../../src/server/auth/index.js';
import { startMysqlServer, type MysqlServer } from '../../src/server/mysql/index.js';
import type { Limits } from '../../src/common/limits.js';
import { MiniEngine } from './mini-engine.js';
import { mulberry32 } from '../../bench/random.js';
export { mulberry32 };

export interface TestServer {
  readonly server: MysqlServer;
  readonly engine: QueryEngine;
  readonly users: UserStore;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the endpoint on 127.0.0.1:0 with root/rootpw, alice/alicepw (caching_sha2) and bob/bobpw (native). */
export async function startTestServer(limits?: Partial<Limits>, engine: QueryEngine = new MiniEngine()): Promise<TestServer> {
  const users = openUserStore({ rootPassword: 'rootpw' });
  users.createUser('alice', 'alicepw');
  users.createUser('bob', 'bobpw', { plugin: 'mysql_native_password' });
  users.createUser('nopw', '');
  const server = await startMysqlServer({ engine, users, port: 0, ...(limits !== undefined ? { limits } : {}) });
  return {
    server,
    engine,
    users,
    port: server.port,
    close: async () => {
      await server.close();
      await engine.close();
    },
  };
}

/** Starts the endpoint over the real engine and embedded storage in a fresh temp directory; close() removes it. */
export async function startEmbeddedTestServer(dirPrefix: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const storage = await openEmbeddedStorage({ dataDir: dir });
  const s = await startTestServer(undefined, createQueryEngine({ storage }));
  return {
    ...s,
    close: async () => {
      await s.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
