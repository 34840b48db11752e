import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SaigaError } from '../../common/errors.js';
import {
  checkNativeScramble,
  checkSha2Password,
  checkSha2Scramble,
  nativeStage2,
  sha2CacheEntry,
  sha2Hash,
  type Sha2Hash,
} from './password-hash.js';

/**
 * Users of the SQL endpoints (MySQL wire now, Flight later): name, allowed hosts,
 * authentication plugin and a password hash. Plaintext passwords are never stored.
 *
 * On disk: `<dataDir>/users.json`, replaced atomically (write temp, fsync, rename, fsync dir):
 * | field          | meaning                                                           |
 * |----------------|-------------------------------------------------------------------|
 * | version        | 1                                                                 |
 * | users[].name   | user name (case-sensitive, as in MySQL)                           |
 * | users[].host   | 'loopback' (127.0.0.0/8, ::1) or 'any'                            |
 * | users[].plugin | 'mysql_native_password' or 'caching_sha2_password'                |
 * | users[].nativeStage2Hex | SHA1(SHA1(pw)) hex; '' for an empty password (native only) |
 * | users[].sha2   | { saltHex, iterations, hashHex } PBKDF2-SHA256 (caching_sha2 only)|
 */

export type AuthPluginName = 'mysql_native_password' | 'caching_sha2_password';
export type UserHost = 'loopback' | 'any';

export interface UserRecord {
  readonly name: string;
  readonly host: UserHost;
  readonly plugin: AuthPluginName;
  readonly nativeStage2Hex?: string;
  readonly sha2?: Sha2Hash;
  /** True when the password is empty (both plugins then expect an empty response). */
  readonly emptyPassword: boolean;
}

export interface UserOptions {
  readonly plugin?: AuthPluginName;
  readonly host?: UserHost;
}

export interface UserStore {
  get(name: string): UserRecord | undefined;
  list(): readonly UserRecord[];
  createUser(name: string, password: string, options?: UserOptions & { ifNotExists?: boolean }): void;
  alterUser(name: string, password: string, options?: UserOptions & { ifExists?: boolean }): void;
  dropUser(name: string, options?: { ifExists?: boolean }): void;
  /** Whether the user may connect from this remote address. */
  hostAllowed(user: UserRecord, remoteAddress: string | undefined): boolean;
  /** Plaintext check (Flight basic auth, caching_sha2 full authentication). Fills the fast-path cache on success. */
  verifyPassword(name: string, password: string): boolean;
  /** mysql_native_password challenge-response check. */
  verifyNativeScramble(name: string, nonce: Uint8Array, response: Uint8Array): boolean;
  /**
   * caching_sha2_password fast path: 'ok', 'mismatch', or 'full' when the server holds no
   * cache entry for the user and the client must send the password (full authentication).
   */
  verifySha2Scramble(name: string, nonce: Uint8Array, response: Uint8Array): 'ok' | 'mismatch' | 'full';
}

export interface UserStoreOptions {
  /** Where users.json lives; without it the store is in memory only. */
  readonly dataDir?: string;
  /**
   * root's password. root always exists, may connect from loopback only, and uses
   * caching_sha2_password. When given, it replaces a stored root password; when absent, a new
   * store gets root with the empty password and an existing one keeps its root.
   */
  readonly rootPassword?: string;
}

const FILE = 'users.json';
const USER_NAME_MAX = 80;

interface FileLayout {
  readonly version: 1;
  readonly users: UserRecord[];
}

function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || a.startsWith('127.');
}

function makeRecord(name: string, password: string, plugin: AuthPluginName, host: UserHost): UserRecord {
  if (name === '' || name.length > USER_NAME_MAX) {
    throw new SaigaError('InvalidArgument', `expected a user name of 1..${USER_NAME_MAX} characters, found ${JSON.stringify(name)}`);
  }
  const emptyPassword = password === '';
  if (plugin === 'mysql_native_password') {
    return { name, host, plugin, nativeStage2Hex: emptyPassword ? '' : nativeStage2(password).toString('hex'), emptyPassword };
  }
  return { name, host, plugin, sha2: sha2Hash(password), emptyPassword };
}

class FileUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();
  /** caching_sha2_password fast-path entries, SHA256(SHA256(pw)), filled on successful full authentication. */
  private readonly sha2Cache = new Map<string, Buffer>();

  constructor(private readonly dataDir: string | undefined, rootPassword: string | undefined) {
    if (dataDir !== undefined && existsSync(join(dataDir, FILE))) {
      const text = readFileSync(join(dataDir, FILE), 'utf8');
      let parsed: FileLayout;
      try {
        parsed = JSON.parse(text) as FileLayout;
      } catch (e) {
        throw new SaigaError('Corruption', `${join(dataDir, FILE)}: expected JSON, ${(e as Error).message}`, { file: join(dataDir, FILE) });
      }
      if (parsed.version !== 1 || !Array.isArray(parsed.users)) {
        throw new SaigaError('Corruption', `${join(dataDir, FILE)}: expected version 1 with a users array`, { file: join(dataDir, FILE) });
      }
      for (const u of parsed.users) this.users.set(u.name, u);
    }
    const root = this.users.get('root');
    if (root === undefined || rootPassword !== undefined) {
      this.users.set('root', makeRecord('root', rootPassword ?? '', 'caching_sha2_password', 'loopback'));
      this.persist();
    }
  }

  get(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  list(): readonly UserRecord[] {
    return [...this.users.values()];
  }

  createUser(name: string, password: string, options: UserOptions & { ifNotExists?: boolean } = {}): void {
    if (this.users.has(name)) {
      if (options.ifNotExists === true) return;
      throw new SaigaError('AlreadyPresent', `Operation CREATE USER failed for '${name}': the user already exists`);
    }
    this.users.set(name, makeRecord(name, password, options.plugin ?? 'caching_sha2_password', options.host ?? 'any'));
    this.persist();
  }

  alterUser(name: string, password: string, options: UserOptions & { ifExists?: boolean } = {}): void {
    const old = this.users.get(name);
    if (old === undefined) {
      if (options.ifExists === true) return;
      throw new SaigaError('NotFound', `Operation ALTER USER failed for '${name}': no such user`);
    }
    this.users.set(name, makeRecord(name, password, options.plugin ?? old.plugin, options.host ?? old.host));
    this.sha2Cache.delete(name);
    this.persist();
  }

  dropUser(name: string, options: { ifExists?: boolean } = {}): void {
    if (name === 'root') throw new SaigaError('PermissionDenied', 'root cannot be dropped');
    if (!this.users.has(name)) {
      if (options.ifExists === true) return;
      throw new SaigaError('NotFound', `Operation DROP USER failed for '${name}': no such user`);
    }
    this.users.delete(name);
    this.sha2Cache.delete(name);
    this.persist();
  }

  hostAllowed(user: UserRecord, remoteAddress: string | undefined): boolean {
    return user.host === 'any' || isLoopback(remoteAddress);
  }

  verifyPassword(name: string, password: string): boolean {
    const u = this.users.get(name);
    if (u === undefined) return false;
    let ok: boolean;
    if (u.plugin === 'mysql_native_password') {
      ok = password === '' ? u.emptyPassword : !u.emptyPassword && nativeStage2(password).toString('hex') === u.nativeStage2Hex;
    } else {
      ok = u.sha2 !== undefined && checkSha2Password(u.sha2, password);
    }
    if (ok && u.plugin === 'caching_sha2_password' && password !== '') this.sha2Cache.set(name, sha2CacheEntry(password));
    return ok;
  }

  verifyNativeScramble(name: string, nonce: Uint8Array, response: Uint8Array): boolean {
    const u = this.users.get(name);
    if (u === undefined || u.plugin !== 'mysql_native_password') return false;
    return checkNativeScramble(Buffer.from(u.nativeStage2Hex ?? '', 'hex'), nonce, response);
  }

  verifySha2Scramble(name: string, nonce: Uint8Array, response: Uint8Array): 'ok' | 'mismatch' | 'full' {
    const u = this.users.get(name);
    if (u === undefined || u.plugin !== 'caching_sha2_password') return 'mismatch';
    if (u.emptyPassword) return response.length === 0 ? 'ok' : 'mismatch';
    if (response.length === 0) return 'mismatch';
    const cached = this.sha2Cache.get(name);
    if (cached === undefined) return 'full';
    return checkSha2Scramble(cached, nonce, response) ? 'ok' : 'mismatch';
  }

  private persist(): void {
    if (this.dataDir === undefined) return;
    mkdirSync(this.dataDir, { recursive: true });
    const layout: FileLayout = { version: 1, users: [...this.users.values()] };
    const path = join(this.dataDir, FILE);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(layout, null, 1));
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dfd = openSync(this.dataDir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

export function openUserStore(options: UserStoreOptions = {}): UserStore {
  return new FileUserStore(options.dataDir, options.rootPassword);
}
