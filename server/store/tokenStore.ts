import { randomUUID } from 'node:crypto';
import type { ApiToken } from '../../sdk/wire.js';
import type { AnnounceAccessChange } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { type ApiTokensTable, iso, type UsersTable } from './schema.js';

export type TokenRow = ApiTokensTable;

/** Every column of `users`, for byHashWithOwner's join; the check below fails to compile when one is missing. */
const USER_COLUMNS = [
  'id',
  'email',
  'name',
  'role',
  'password_hash',
  'password_must_change',
  'oidc_issuer',
  'oidc_subject',
  'disabled_at',
  'created_at',
  'updated_at',
  'last_login_at',
] as const satisfies readonly (keyof UsersTable)[];
type MissingUserColumn = Exclude<keyof UsersTable, (typeof USER_COLUMNS)[number]>;
const everyUserColumn: [MissingUserColumn] extends [never] ? true : MissingUserColumn = true;
void everyUserColumn;

/** Don't write last_used_at more often than this: a write on every request would cap throughput. */
const LAST_USED_RESOLUTION_MS = 60_000;

const announceNothing: AnnounceAccessChange = async () => {};

export class TokenStore {
  private revocations = 0;
  /** Tokens touched since the pending write (`touching`) was scheduled, and the latest time. */
  private readonly touched = new Set<string>();
  private touchedAt = '';
  private touching: Promise<void> | undefined;

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

  /**
   * The token with this hash and its owner's row (undefined when the user is gone), in one query:
   * every API request whose token is not in the authenticator's cache makes it.
   */
  async byHashWithOwner(
    tokenHash: string,
  ): Promise<{ row: TokenRow; user: UsersTable | undefined } | undefined> {
    const r = await this.db.kysely
      .selectFrom('api_tokens')
      .leftJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select(USER_COLUMNS.map((c) => `users.${c} as owner__${c}` as const))
      .where('api_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!r) return undefined;
    const row = {} as Record<string, unknown>;
    const user = {} as Record<string, unknown>;
    for (const [k, v] of Object.entries(r)) {
      if (k.startsWith('owner__')) user[k.slice(7)] = v;
      else row[k] = v;
    }
    return {
      row: row as unknown as TokenRow,
      user: user.id == null ? undefined : (user as unknown as UsersTable),
    };
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
  /**
   * Records that the token was used now, at most once a minute per token. The writes of every
   * token touched in the same turn of the event loop go out as one UPDATE: on PostgreSQL each
   * statement is its own commit (a WAL flush), and ten thousand clients whose first requests
   * arrive within seconds would otherwise queue a commit each. Resolves once written.
   */
  async touch(row: TokenRow): Promise<void> {
    const now = this.clock.now();
    if (row.last_used_at && now.getTime() - new Date(row.last_used_at).getTime() < LAST_USED_RESOLUTION_MS)
      return;
    row.last_used_at = now.toISOString();
    this.touched.add(row.id);
    this.touchedAt = row.last_used_at;
    this.touching ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeTouched());
    return this.touching;
  }

  private async writeTouched(): Promise<void> {
    const ids = [...this.touched];
    const at = this.touchedAt;
    this.touched.clear();
    this.touching = undefined;
    // The batch's latest time for all of it: they were used within one turn of the event loop.
    for (let i = 0; i < ids.length; i += 500) {
      await this.db.kysely
        .updateTable('api_tokens')
        .set({ last_used_at: at })
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
    }
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
