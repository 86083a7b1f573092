// WebSockets and event streams outlive the request that authenticated them. Each one is kept
// here with the credential it was opened with, and when an access change is announced (a session
// signed out, a token revoked, a user disabled or given another role: server/auth/accessChanges.ts)
// the connections it may concern are checked against the store again and closed when their
// credential no longer works or their caller may no longer see what they show.
//
// A credential that simply runs out (a session nobody used for its TTL, a token past its expiry)
// is not announced: every EXPIRY_SWEEP_MS the connections whose credential had expired as last
// read are checked again (a session used meanwhile elsewhere has slid on, and lives).
//
// Per process by nature: a connection lives in the process that accepted it. Every replica hears
// every announcement, its own included, and closes its own connections.
import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WS_FORBIDDEN, WS_UNAUTHORIZED } from '../../sdk/limits.js';
import type { AccessChange, AccessChanges } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { SessionStore } from '../store/sessionStore.js';
import type { TokenStore } from '../store/tokenStore.js';
import type { UserRow, UserStore } from '../store/userStore.js';
import { envelope, HttpError, unauthorized } from './errors.js';
import { type Principal, requestContext } from './requestContext.js';
import { sendWsError } from './wsErrors.js';

export interface LiveConnection {
  /** The caller as authenticated when the connection opened. */
  principal: Principal;
  /**
   * Re-runs the route's authorisation for the caller as they are now (after a role change);
   * throws an HttpError (403, 404) when it no longer holds.
   */
  reauthorize(principal: Principal): Promise<void>;
  /** Ends the connection, telling the client why (a 401 or 403 HttpError). Called at most once. */
  end(why: HttpError): void;
}

export interface LiveConnectionsDeps {
  users: UserStore;
  tokens: TokenStore;
  sessions: SessionStore;
  clock: Clock;
  accessChanges: AccessChanges;
  log: Logger;
}

/** How often connections whose credential has expired are checked again. */
export const EXPIRY_SWEEP_MS = 30_000;

export class LiveConnections {
  private readonly open = new Set<LiveConnection>();
  private readonly unsubscribe: () => void;
  private readonly stopSweep: () => void;
  /** Announcements heard so far; only grows. */
  private heard = 0;
  private readonly heardAtRequest = new WeakMap<FastifyRequest, number>();

  constructor(private readonly deps: LiveConnectionsDeps) {
    this.unsubscribe = deps.accessChanges.subscribe((change) => {
      this.heard += 1;
      void this.recheck(change);
    });
    this.stopSweep = deps.clock.every(EXPIRY_SWEEP_MS, () => void this.sweepExpired());
  }

  /** Checks again the connections whose credential had expired when last read; resolves once done. */
  sweepExpired(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    const due = [...this.open].filter(
      (c) => c.principal.expiresAt !== undefined && c.principal.expiresAt <= now,
    );
    return due.length ? this.recheckAll(due, undefined) : Promise.resolve();
  }

  /** Called as each request arrives, before it is authenticated (app.ts). */
  noteRequest(req: FastifyRequest): void {
    this.heardAtRequest.set(req, this.heard);
  }

  /**
   * Keeps `conn`, opened by `req`, until the returned function is called (when it closes). An
   * announcement heard between the request's arrival and now may have come too late for its
   * authentication and too early for this registry: then the connection is checked at once.
   */
  add(conn: LiveConnection, req: FastifyRequest): () => void {
    this.open.add(conn);
    if (this.heardAtRequest.get(req) !== this.heard) void this.recheckAll([conn], undefined);
    return () => this.open.delete(conn);
  }

  get size(): number {
    return this.open.size;
  }

  close(): void {
    this.unsubscribe();
    this.stopSweep();
  }

  /**
   * Checks the connections `change` may concern (all of them when changes may have been missed)
   * and ends those that lost their access. Resolves once every check has run; one that fails is
   * logged and leaves its connection open.
   */
  recheck(change: AccessChange | undefined): Promise<void> {
    return this.recheckAll(
      [...this.open].filter((c) => concerns(change, c.principal)),
      change,
    );
  }

  private async recheckAll(concerned: LiveConnection[], change: AccessChange | undefined): Promise<void> {
    const reads = new Reads(this.deps);
    const results = await Promise.allSettled(concerned.map((c) => this.recheckOne(c, reads)));
    for (const r of results) {
      if (r.status === 'rejected')
        this.deps.log.error(
          { err: r.reason, change },
          'could not recheck an open connection after an access change',
        );
    }
  }

  private async recheckOne(conn: LiveConnection, reads: Reads): Promise<void> {
    let why = await reads.refusal(conn.principal);
    // Still valid: remember its expiry as it is now (a session slides on while it is used).
    if (!why) conn.principal = { ...conn.principal, ...(await reads.expiry(conn.principal)) };
    if (!why) {
      const user = (await reads.user(conn.principal.user.id)) as UserRow;
      try {
        await conn.reauthorize({ ...conn.principal, user });
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        why = err;
      }
    }
    if (why && this.open.delete(conn)) conn.end(why);
  }
}

type Reauthorize = LiveConnection['reauthorize'];

/**
 * Keeps an upgraded socket until it closes. Losing access sends the error frame, then closes with
 * WS_UNAUTHORIZED (4401, "signed out" or "access revoked") or WS_FORBIDDEN (4403).
 */
export function trackSocket(
  live: LiveConnections,
  req: FastifyRequest,
  socket: WebSocket,
  reauthorize: Reauthorize,
): void {
  const principal = callerOf(req);
  const untrack = live.add(
    {
      principal,
      reauthorize,
      end: (why) => {
        const signedOut = why.status === 401 && principal.method === 'session';
        const code = why.status === 401 ? WS_UNAUTHORIZED : WS_FORBIDDEN;
        sendWsError(socket, why, { close: { code, reason: signedOut ? 'signed out' : 'access revoked' } });
      },
    },
    req,
  );
  socket.on('close', untrack);
}

/**
 * Keeps an event stream until it closes. Losing access sends `event: error` with the error
 * envelope and ends the stream; the EventSource's reconnect is then refused with a plain 401/403.
 */
export function trackStream(
  live: LiveConnections,
  req: FastifyRequest,
  res: ServerResponse,
  reauthorize: Reauthorize,
): void {
  const untrack = live.add(
    {
      principal: callerOf(req),
      reauthorize,
      end: (why) => {
        if (!res.destroyed)
          res.end(`event: error\ndata: ${JSON.stringify(envelope(why.code, why.message))}\n\n`);
      },
    },
    req,
  );
  res.on('close', untrack);
}

function callerOf(req: FastifyRequest): Principal {
  const { principal } = requestContext(req);
  if (!principal) throw new Error('a live connection must be authenticated before it is tracked');
  return principal;
}

function concerns(change: AccessChange | undefined, p: Principal): boolean {
  if (!change) return true;
  switch (change.kind) {
    case 'token':
      return p.tokenId === change.id;
    case 'session':
      return p.sessionId === change.id;
    case 'user':
      return p.user.id === change.id;
    case 'user_sessions':
      return p.method === 'session' && p.user.id === change.userId;
    // A node daemon's connection is no user's: the node hub drops it.
    case 'node_join_token':
      return false;
  }
}

/** The rows one recheck needs, each read once however many connections share it. */
class Reads {
  private readonly rows = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: LiveConnectionsDeps) {}

  user(id: string): Promise<UserRow | undefined> {
    return this.once(`user:${id}`, () => this.deps.users.byId(id));
  }

  /** The credential's expiry as stored now, as Principal's `expiresAt` (absent: never). */
  async expiry(p: Principal): Promise<{ expiresAt?: number }> {
    const row =
      p.method === 'session'
        ? await this.once(`session:${p.sessionId}`, () => this.deps.sessions.byId(p.sessionId ?? ''))
        : await this.once(`token:${p.tokenId}`, () => this.deps.tokens.byId(p.tokenId ?? ''));
    const at = (row as { expires_at: string | null } | undefined)?.expires_at;
    return at ? { expiresAt: new Date(at).getTime() } : {};
  }

  /** Why the credential no longer works, or undefined while it does. */
  async refusal(p: Principal): Promise<HttpError | undefined> {
    const now = this.deps.clock.now().getTime();
    if (p.method === 'session') {
      const row = await this.once(`session:${p.sessionId}`, () => this.deps.sessions.byId(p.sessionId ?? ''));
      if (!row || row.revoked_at || new Date(row.expires_at).getTime() <= now)
        return unauthorized('You were signed out; sign in again.');
    } else {
      const row = await this.once(`token:${p.tokenId}`, () => this.deps.tokens.byId(p.tokenId ?? ''));
      if (!row || row.revoked_at) return unauthorized('This API token was revoked.');
      if (row.expires_at && new Date(row.expires_at).getTime() <= now)
        return unauthorized('This API token has expired.');
    }
    const user = await this.user(p.user.id);
    if (!user || user.disabled_at) return unauthorized('This account is disabled.');
    return undefined;
  }

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let row = this.rows.get(key);
    if (!row) {
      row = read();
      this.rows.set(key, row);
    }
    return row as Promise<T>;
  }
}
