// Resolves the caller of a request from its API token or session cookie, and enforces CSRF
// protection on cookie-authenticated mutations (API tokens are not sent by browsers on their
// own, so they need none).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { HttpError, unauthorized } from '../http/errors.js';
import { type Principal, requestContext } from '../http/requestContext.js';
import type { SessionStore } from '../store/sessionStore.js';
import type { TokenStore } from '../store/tokenStore.js';
import type { UserStore } from '../store/userStore.js';
import type { AccessChanges } from './accessChanges.js';
import { hashSecret, safeEqual } from './secrets.js';
import { type CachedToken, TokenCache } from './tokenCache.js';

export const SESSION_COOKIE = 'rc_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How long a token and its owner are trusted from memory (see tokenCache.ts). Revocations and
 * user changes on this replica apply to the next request, and those on other replicas as soon as
 * their announcement arrives (accessChanges.ts); the TTL bounds what a lost announcement costs.
 * A second is long enough for bursts to hit the cache almost always.
 */
const TOKEN_CACHE_TTL_MS = 1_000;
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/** A token as read: its owner is missing when the token is unusable or the user is gone. */
type TokenLookup = Omit<CachedToken, 'user'> & { user: CachedToken['user'] | undefined };

export interface AuthenticatorDeps {
  users: UserStore;
  tokens: TokenStore;
  sessions: SessionStore;
  clock: Clock;
  /** Changes announced by every replica; without it only this process's writes invalidate. */
  accessChanges?: AccessChanges;
  sessionTtlSeconds: number;
  cookieSecure: 'auto' | 'always' | 'never';
}

export class Authenticator {
  private readonly tokenCache: TokenCache;
  /** Access changes announced on the pubsub, by any replica, since this process started. */
  private announced = 0;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.tokenCache = new TokenCache({
      ttlMs: TOKEN_CACHE_TTL_MS,
      maxEntries: TOKEN_CACHE_MAX_ENTRIES,
      // Both counters only grow, so their sum moves whenever either does.
      // The counters only grow, so their sum moves whenever one does. Every announcement and every
      // resync moves it: the cache drops all its entries, which is cheap at a second's TTL.
      accessVersion: () => deps.tokens.accessVersion + deps.users.accessVersion + this.announced,
    });
    deps.accessChanges?.subscribe(() => {
      this.announced += 1;
    });
  }

  /**
   * The caller, or undefined when the request carries no credentials. A credential that is
   * present but bad (unknown, expired, revoked, disabled user) throws 401 rather than falling
   * back to anonymous, so a client learns its token stopped working.
   */
  async identify(req: FastifyRequest): Promise<Principal | undefined> {
    const ctx = requestContext(req);
    if (ctx.principal) return ctx.principal;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer (\S+)$/.exec(header);
      if (!match) throw unauthorized('The Authorization header must be "Bearer <token>".');
      const token = match[1] as string;
      // A well-formed header with a token we could never have issued gets the same answer as an
      // unknown token; only a header that is not "Bearer …" at all gets the format hint.
      if (!/^[A-Za-z0-9_-]{10,200}$/.test(token))
        throw unauthorized('This API token is not valid or was revoked.');
      ctx.principal = await this.fromToken(token);
      return ctx.principal;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie) {
      ctx.principal = await this.fromSession(cookie);
      return ctx.principal;
    }
    return undefined;
  }

  /** The caller; throws 401 when there is none, 403 when a cookie-authenticated mutation lacks its CSRF token. */
  async ensureAuthenticated(req: FastifyRequest): Promise<Principal> {
    const principal = await this.identify(req);
    if (!principal) throw unauthorized();
    if (principal.method === 'session' && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !principal.csrfToken || !safeEqual(sent, principal.csrfToken)) {
        throw new HttpError(
          403,
          'csrf_failed',
          'This request needs the X-CSRF-Token header from GET /api/v1/me (cookie sessions only).',
        );
      }
    }
    return principal;
  }

  private async fromToken(token: string): Promise<Principal> {
    const hash = hashSecret(token);
    const now = this.deps.clock.now();
    const found = this.tokenCache.get(hash, now) ?? (await this.readToken(hash, now));
    if (!found || found.row.revoked_at) throw unauthorized('This API token is not valid or was revoked.');
    // Checked on every request, cached or not: a token must stop working the moment it expires.
    if (found.expiresAtMs !== null && found.expiresAtMs <= now.getTime())
      throw unauthorized('This API token has expired.');
    if (!found.user || found.user.disabled_at) throw unauthorized('This account is disabled.');
    await this.deps.tokens.touch(found.row);
    return {
      user: found.user,
      method: 'token',
      tokenId: found.row.id,
      ...(found.expiresAtMs === null ? {} : { expiresAt: found.expiresAtMs }),
    };
  }

  /** The token and its owner from the store, cached when both are usable. */
  private async readToken(hash: string, now: Date): Promise<TokenLookup | undefined> {
    const version = this.tokenCache.version();
    const found = await this.deps.tokens.byHashWithOwner(hash);
    if (!found) return undefined;
    const { row, user } = found;
    const expiresAtMs = row.expires_at ? new Date(row.expires_at).getTime() : null;
    if (row.revoked_at || (expiresAtMs !== null && expiresAtMs <= now.getTime()))
      return { row, expiresAtMs, user: undefined };
    if (!user || user.disabled_at) return { row, expiresAtMs, user };
    const usable: CachedToken = { row, user: Object.freeze(user), expiresAtMs };
    this.tokenCache.set(hash, usable, version, now);
    return usable;
  }

  private async fromSession(cookie: string): Promise<Principal> {
    const row = await this.deps.sessions.byHash(hashSecret(cookie));
    const now = this.deps.clock.now();
    if (!row || row.revoked_at || new Date(row.expires_at) <= now) {
      throw unauthorized('Your session has ended; sign in again.');
    }
    const user = await this.deps.users.byId(row.user_id);
    if (!user || user.disabled_at) throw unauthorized('This account is disabled.');
    await this.deps.sessions.touch(row, this.deps.sessionTtlSeconds);
    return {
      user,
      method: 'session',
      sessionId: row.id,
      csrfToken: row.csrf_token,
      expiresAt: new Date(row.expires_at).getTime(),
    };
  }

  /** Set the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS (or as configured). */
  setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string): void {
    reply.setCookie(SESSION_COOKIE, value, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
      maxAge: this.deps.sessionTtlSeconds,
    });
  }

  clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
    });
  }

  private secure(req: FastifyRequest): boolean {
    if (this.deps.cookieSecure === 'always') return true;
    if (this.deps.cookieSecure === 'never') return false;
    return req.protocol === 'https';
  }
}
