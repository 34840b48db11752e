import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaigaError } from '../../common/errors.js';

/**
 * Opaque, tamper-proof, expiring tokens: base64url(JSON payload) "." base64url(HMAC-SHA256).
 * Used for DoGet tickets (which table, tablet and snapshot; which statement) and for the bearer
 * tokens handed out by Handshake. The secret is per server start unless one is configured, so
 * tickets do not survive a restart of a server started without one.
 */
export class Signer {
  private readonly key: Buffer;

  constructor(secret?: Uint8Array) {
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(secret);
  }

  sign(payload: Readonly<Record<string, unknown>>, ttlMs: number, nowMs = Date.now()): Buffer {
    const body = Buffer.from(JSON.stringify({ ...payload, exp: nowMs + ttlMs })).toString('base64url');
    return Buffer.from(`${body}.${this.mac(body)}`);
  }

  /** Throws `invalidCode` for a forged or garbled token and IllegalState for an expired one. */
  verify<T>(token: Uint8Array | string, what: string, invalidCode: 'InvalidArgument' | 'Unauthenticated', nowMs = Date.now()): T {
    const text = typeof token === 'string' ? token : Buffer.from(token).toString('latin1');
    const dot = text.indexOf('.');
    const body = dot < 0 ? '' : text.slice(0, dot);
    const mac = Buffer.from(dot < 0 ? '' : text.slice(dot + 1));
    const want = Buffer.from(this.mac(body));
    if (dot < 0 || mac.length !== want.length || !timingSafeEqual(mac, want)) {
      throw new SaigaError(invalidCode, `${what} is not one this server issued (signature check failed)`);
    }
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { exp: number };
    if (payload.exp < nowMs) {
      throw new SaigaError(invalidCode === 'Unauthenticated' ? 'Unauthenticated' : 'IllegalState',
        `${what} expired ${Math.round((nowMs - payload.exp) / 1000)} s ago; ${invalidCode === 'Unauthenticated' ? 'authenticate again (Handshake)' : 'call GetFlightInfo again for fresh tickets'}`);
    }
    return payload;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
