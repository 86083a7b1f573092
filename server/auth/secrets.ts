import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret, URL-safe, with `bytes` of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Credentials we issue (API tokens, session ids) carry 256 random bits, so a plain SHA-256 is
 * enough to store them: there is nothing to brute-force, and lookup by hash stays one index probe.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** API tokens look like `rc_<43 chars>`; the prefix makes leaked tokens easy to scan for. */
export const API_TOKEN_PREFIX = 'rc_';

export function newApiToken(): { token: string; prefix: string; hash: string } {
  const token = `${API_TOKEN_PREFIX}${randomSecret(32)}`;
  return { token, prefix: token.slice(0, 8), hash: hashSecret(token) };
}
