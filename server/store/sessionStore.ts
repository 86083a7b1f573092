import { randomUUID } from 'node:crypto';
import type { AnnounceAccessChange } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import type { SessionsTable } from './schema.js';

export type SessionRow = SessionsTable;

/** Sliding expiry is written at most this often, not on every request. */
const TOUCH_RESOLUTION_MS = 60_000;

const announceNothing: AnnounceAccessChange = async () => {};

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /**
     * Tells the other replicas a session ended (services.ts wires the pubsub in). Sessions are
     * read from the store on every request, so no cache needs it; the WebSockets and streams a
     * session holds open do (server/http/liveConnections.ts).
     */
    private readonly announce: AnnounceAccessChange = announceNothing,
  ) {}

  async create(input: {
    userId: string;
    tokenHash: string;
    csrfToken: string;
    authMethod: 'password' | 'oidc';
    ip: string | null;
    userAgent: string | null;
    ttlSeconds: number;
  }): Promise<SessionRow> {
    const now = this.clock.now();
    const row: SessionRow = {
      id: randomUUID(),
      user_id: input.userId,
      token_hash: input.tokenHash,
      csrf_token: input.csrfToken,
      auth_method: input.authMethod,
      ip: input.ip,
      user_agent: input.userAgent,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: new Date(now.getTime() + input.ttlSeconds * 1000).toISOString(),
      revoked_at: null,
    };
    await this.db.kysely.insertInto('sessions').values(row).execute();
    return row;
  }

  async byHash(tokenHash: string): Promise<SessionRow | undefined> {
    return this.db.kysely
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async byId(id: string): Promise<SessionRow | undefined> {
    return this.db.kysely.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async revoke(id: string): Promise<void> {
    await this.db.kysely
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    await this.announce({ kind: 'session', id });
  }

  /** Revoke every live session of a user (on disable, password change), but `exceptId`. */
  async revokeAllForUser(userId: string, exceptId?: string): Promise<void> {
    let q = this.db.kysely
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now().toISOString() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (exceptId) q = q.where('id', '!=', exceptId);
    await q.execute();
    await this.announce({ kind: 'user_sessions', userId });
  }

  /** Slide the expiry forward on use, at most once a minute. */
  async touch(row: SessionRow, ttlSeconds: number): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() - new Date(row.last_seen_at).getTime() < TOUCH_RESOLUTION_MS) return;
    const values = {
      last_seen_at: now.toISOString(),
      expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    };
    await this.db.kysely.updateTable('sessions').set(values).where('id', '=', row.id).execute();
    Object.assign(row, values);
  }

  /** Delete sessions that ended more than a day ago. Returns how many went. */
  async prune(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - 86_400_000).toISOString();
    const res = await this.db.kysely
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', cutoff), eb('revoked_at', '<', cutoff)]))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
