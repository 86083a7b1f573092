import { randomUUID } from 'node:crypto';
import type { ApiToken } from '../../sdk/wire.js';
import type { AnnounceAccessChange } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { type ApiTokensTable, iso } from './schema.js';

export type TokenRow = ApiTokensTable;

/** Don't write last_used_at more often than this: a write on every request would cap throughput. */
const LAST_USED_RESOLUTION_MS = 60_000;

const announceNothing: AnnounceAccessChange = async () => {};

export class TokenStore {
  private revocations = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Tells the other replicas about a revocation (services.ts wires the pubsub in). */
    private readonly announce: AnnounceAccessChange = announceNothing,
  ) {}

  /**
   * Goes up after every revocation made through this store. The Authenticator's token cache
   * compares it, so that a revocation on this replica refuses the token from the next request on.
   * Per process on purpose: it orders this process's own write against its own cache reads; other
   * replicas learn of the revocation from its announcement (server/auth/accessChanges.ts).
   */
  get accessVersion(): number {
    return this.revocations;
  }

  async create(input: {
    userId: string;
    name: string;
    tokenHash: string;
    prefix: string;
    expiresAt: Date | null;
  }): Promise<TokenRow> {
    const row: TokenRow = {
      id: randomUUID(),
      user_id: input.userId,
      name: input.name,
      token_hash: input.tokenHash,
      prefix: input.prefix,
      created_at: this.clock.now().toISOString(),
      expires_at: input.expiresAt ? input.expiresAt.toISOString() : null,
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.kysely.insertInto('api_tokens').values(row).execute();
    return row;
  }

  /** The token with this hash, if it exists at all (revoked and expired ones included). */
  async byHash(tokenHash: string): Promise<TokenRow | undefined> {
    return this.db.kysely
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async byId(id: string): Promise<TokenRow | undefined> {
    return this.db.kysely.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listForUser(userId: string): Promise<TokenRow[]> {
    return this.db.kysely
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
  }

  /** Mark revoked (idempotent: a revoked token keeps its first revocation time). */
  async revoke(id: string): Promise<void> {
    await this.db.kysely
      .updateTable('api_tokens')
      .set({ revoked_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    // After the write, never before: a token read between the two would be cached as still valid.
    this.revocations += 1;
    await this.announce({ kind: 'token', id });
  }

  /** Record use, at most once a minute per token. */
  async touch(row: TokenRow): Promise<void> {
    const now = this.clock.now();
    if (row.last_used_at && now.getTime() - new Date(row.last_used_at).getTime() < LAST_USED_RESOLUTION_MS)
      return;
    await this.db.kysely
      .updateTable('api_tokens')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', row.id)
      .execute();
    row.last_used_at = now.toISOString();
  }
}

export function toWireToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    userId: row.user_id,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}
