import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes and the challenge-response math of MySQL's two authentication plugins.
 *
 * mysql_native_password: stored SHA1(SHA1(pw)) ("stage 2"). The client sends
 *   SHA1(pw) XOR SHA1(nonce || SHA1(SHA1(pw))); the server recovers SHA1(pw) and checks that its
 *   SHA1 is the stored stage 2.
 * caching_sha2_password: stored PBKDF2-HMAC-SHA256(pw, 16-byte salt, iterations) — never a hash
 *   the client's scramble can be checked against, as with MySQL's sha256_crypt. The first login
 *   sends the password itself (RSA-OAEP encrypted with the server's key, XORed with the nonce);
 *   after it succeeds the server caches SHA256(SHA256(pw)) in memory and later logins take the
 *   fast path: the client sends SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || nonce).
 */

export function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i % b.length] as number);
  return out;
}

function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---- mysql_native_password ----

export function nativeStage2(password: string): Buffer {
  return sha1(sha1(Buffer.from(password, 'utf8')));
}

/** What a client sends for mysql_native_password (empty for an empty password). */
export function nativeScramble(password: string, nonce: Uint8Array): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xorBytes(stage1, sha1(nonce, sha1(stage1)));
}

/** Checks a mysql_native_password response against the stored stage 2 (empty stage2: empty password). */
export function checkNativeScramble(stage2: Uint8Array, nonce: Uint8Array, response: Uint8Array): boolean {
  if (stage2.length === 0) return response.length === 0;
  if (response.length !== 20) return false;
  const stage1 = xorBytes(response, sha1(nonce, stage2));
  return safeEqual(sha1(stage1), stage2);
}

// ---- caching_sha2_password ----

export interface Sha2Hash {
  readonly saltHex: string;
  readonly iterations: number;
  readonly hashHex: string;
}

export const SHA2_ITERATIONS = 5000;

export function sha2Hash(password: string, iterations = SHA2_ITERATIONS, salt: Uint8Array = randomBytes(16)): Sha2Hash {
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  return { saltHex: Buffer.from(salt).toString('hex'), iterations, hashHex: hash.toString('hex') };
}

export function checkSha2Password(h: Sha2Hash, password: string): boolean {
  const got = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(h.saltHex, 'hex'), h.iterations, 32, 'sha256');
  return safeEqual(got, Buffer.from(h.hashHex, 'hex'));
}

/** What a client sends first for caching_sha2_password (empty for an empty password). */
export function sha2Scramble(password: string, nonce: Uint8Array): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xorBytes(stage1, sha256(sha256(stage1), nonce));
}

/** The fast-path cache entry: SHA256(SHA256(pw)). */
export function sha2CacheEntry(password: string): Buffer {
  return sha256(sha256(Buffer.from(password, 'utf8')));
}

export function checkSha2Scramble(cacheEntry: Uint8Array, nonce: Uint8Array, response: Uint8Array): boolean {
  if (response.length !== 32) return false;
  const stage1 = xorBytes(response, sha256(cacheEntry, nonce));
  return safeEqual(sha256(stage1), cacheEntry);
}
