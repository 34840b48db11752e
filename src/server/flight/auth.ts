import type { Metadata } from '@grpc/grpc-js';
import { SaigaError } from '../../common/errors.js';
import type { UserStore } from '../auth/index.js';
import type { Signer } from './signer.js';

/**
 * Who may call the service: src/server/auth's UserStore (the same users as the MySQL
 * endpoint), a map or record of user -> password, or any object with verify(). Undefined:
 * authentication is off and every call runs as ANONYMOUS_USER.
 */
export type FlightUsers =
  | Pick<UserStore, 'verifyPassword'>
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | { verify(user: string, password: string): boolean | Promise<boolean> };

export const ANONYMOUS_USER = 'flight';

export class FlightAuth {
  constructor(
    private readonly users: FlightUsers | undefined,
    private readonly signer: Signer,
    private readonly tokenTtlMs: number,
  ) {}

  get enabled(): boolean {
    return this.users !== undefined;
  }

  /** Checks a user/password pair and returns a bearer token for it. */
  async login(user: string, password: string): Promise<string> {
    if (this.users !== undefined && !(await this.check(user, password))) {
      throw new SaigaError('Unauthenticated', `user '${user}' or its password was not accepted`);
    }
    return this.signer.sign({ u: user }, this.tokenTtlMs).toString('latin1');
  }

  /** The user a call runs as: from `authorization: Bearer <token>` or `authorization: Basic <b64>`. */
  async authenticate(md: Metadata): Promise<string> {
    const header = md.get('authorization')[0];
    if (this.users === undefined) {
      if (typeof header === 'string' && header.startsWith('Bearer ')) {
        return this.signer.verify<{ u: string }>(header.slice(7).trim(), 'bearer token', 'Unauthenticated').u;
      }
      return ANONYMOUS_USER;
    }
    if (typeof header !== 'string' || header.length === 0) {
      throw new SaigaError('Unauthenticated', 'missing authorization header: expected "Bearer <token>" from Handshake or "Basic <base64 user:password>"');
    }
    if (header.startsWith('Bearer ')) {
      return this.signer.verify<{ u: string }>(header.slice(7).trim(), 'bearer token', 'Unauthenticated').u;
    }
    if (header.startsWith('Basic ')) {
      const { user, password } = parseBasic(header);
      if (!(await this.check(user, password))) throw new SaigaError('Unauthenticated', `user '${user}' or its password was not accepted`);
      return user;
    }
    throw new SaigaError('Unauthenticated', `unsupported authorization scheme '${header.split(' ')[0] ?? ''}': expected Bearer or Basic`);
  }

  private async check(user: string, password: string): Promise<boolean> {
    const u = this.users;
    if (u === undefined) return true;
    if (u instanceof Map) return u.get(user) === password;
    if (typeof (u as { verifyPassword?: unknown }).verifyPassword === 'function') {
      return (u as Pick<UserStore, 'verifyPassword'>).verifyPassword(user, password);
    }
    if (typeof (u as { verify?: unknown }).verify === 'function') {
      return (u as { verify(user: string, password: string): boolean | Promise<boolean> }).verify(user, password);
    }
    const rec = u as Readonly<Record<string, string>>;
    return Object.prototype.hasOwnProperty.call(rec, user) && rec[user] === password;
  }
}

export function parseBasic(header: string): { user: string; password: string } {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new SaigaError('Unauthenticated', 'malformed Basic credentials: expected base64 of "user:password"');
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
