// Join tokens of `rclaude node` daemons (DESIGN §12 "nodes"). Stored as SHA-256 hashes, like API
// tokens: each carries 256 random bits (server/auth/secrets.ts). A token admits one node name, so
// a leaked token cannot impersonate every node.
import { randomUUID } from 'node:crypto';
import type { NodeJoinToken } from '../../sdk/nodeWire.js';
import type { AnnounceAccessChange } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso, type NodeJoinTokensTable } from './schema.js';

export type NodeJoinTokenRow = NodeJoinTokensTable;

export class NodeJoinTokenStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Tells every replica a token was revoked, so the one holding its node drops it at once. */
    private readonly announce: AnnounceAccessChange = async () => {},
  ) {}

  async create(input: {
    node: string;
    tokenHash: string;
    prefix: string;
    createdBy: string | null;
    expiresAt: Date | null;
  }): Promise<NodeJoinTokenRow> {
    const row: NodeJoinTokenRow = {
      id: randomUUID(),
      node: input.node,
      token_hash: input.tokenHash,
      prefix: input.prefix,
      created_by: input.createdBy,
      created_at: this.clock.now().toISOString(),
      expires_at: input.expiresAt ? input.expiresAt.toISOString() : null,
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.kysely.insertInto('node_join_tokens').values(row).execute();
    return row;
  }

  async byHash(tokenHash: string): Promise<NodeJoinTokenRow | undefined> {
    return this.db.kysely
      .selectFrom('node_join_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async byId(id: string): Promise<NodeJoinTokenRow | undefined> {
    return this.db.kysely.selectFrom('node_join_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(): Promise<NodeJoinTokenRow[]> {
    return this.db.kysely
      .selectFrom('node_join_tokens')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
  }

  /**
   * Marks it revoked (idempotent: the first revocation time stays) and announces it, so the node
   * it admitted is disconnected on whichever replica holds it.
   */
  async revoke(id: string): Promise<void> {
    await this.db.kysely
      .updateTable('node_join_tokens')
      .set({ revoked_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    await this.announce({ kind: 'node_join_token', id });
  }

  /** Whether the row admits a node now: not revoked, not expired. */
  isUsable(row: NodeJoinTokenRow): boolean {
    if (row.revoked_at !== null) return false;
    return row.expires_at === null || new Date(row.expires_at).getTime() > this.clock.now().getTime();
  }

  /** Records a join (once per connection, which is rare enough to write every time). */
  async touch(id: string): Promise<void> {
    await this.db.kysely
      .updateTable('node_join_tokens')
      .set({ last_used_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .execute();
  }
}

export function toWireJoinToken(row: NodeJoinTokenRow): NodeJoinToken {
  return {
    id: row.id,
    node: row.node,
    prefix: row.prefix,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}
