import type { QueryEngine } from '../../src/query/api.js';
import { openUserStore, type UserStore } from '../../src/server/auth/index.js';
import { startMysqlServer, type MysqlServer } from '../../src/server/mysql/index.js';
import type { Limits } from '../../src/common/limits.js';
import { MiniEngine } from './mini-engine.js';

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
