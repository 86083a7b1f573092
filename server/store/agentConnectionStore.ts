// Which replica holds each workspace's agent connection (DESIGN §9). The hub claims the row when
// it accepts an agent and releases it when that connection closes; the replica registry removes
// the rows of replicas it removes as dead, and a lookup ignores rows whose replica is not live.
import type { Clock } from '../clock.js';
import type { Db } from './db.js';

export interface AgentHolder {
  replicaId: string;
  /** Where the other replicas reach the holder (the registry's `address`). */
  address: string;
}

export class AgentConnectionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Records that `replicaId` holds the workspace's agent now (a newer connection takes the row over). */
  async claim(workspaceId: string, replicaId: string): Promise<void> {
    const connected_at = this.clock.now().toISOString();
    await this.db.kysely
      .insertInto('agent_connections')
      .values({ workspace_id: workspaceId, replica_id: replicaId, connected_at })
      .onConflict((oc) => oc.column('workspace_id').doUpdateSet({ replica_id: replicaId, connected_at }))
      .execute();
  }

  /** Removes the row, only while it is still `replicaId`'s (another replica may have taken it over). */
  async release(workspaceId: string, replicaId: string): Promise<void> {
    await this.db.kysely
      .deleteFrom('agent_connections')
      .where('workspace_id', '=', workspaceId)
      .where('replica_id', '=', replicaId)
      .execute();
  }

  /**
   * The replica holding the workspace's agent, when its heartbeat is at or after `liveSince`
   * (ISO time); undefined when no live replica holds it.
   */
  async holder(workspaceId: string, liveSince: string): Promise<AgentHolder | undefined> {
    const row = await this.db.kysely
      .selectFrom('agent_connections')
      .innerJoin('replicas', 'replicas.id', 'agent_connections.replica_id')
      .select(['agent_connections.replica_id as replicaId', 'replicas.address as address'])
      .where('agent_connections.workspace_id', '=', workspaceId)
      .where('replicas.heartbeat_at', '>=', liveSince)
      .executeTakeFirst();
    return row;
  }

  /** Which of `workspaceIds` a live replica (heartbeat at or after `liveSince`) holds the agent of. */
  async heldAmong(workspaceIds: readonly string[], liveSince: string): Promise<Set<string>> {
    if (workspaceIds.length === 0) return new Set();
    const rows = await this.db.kysely
      .selectFrom('agent_connections')
      .innerJoin('replicas', 'replicas.id', 'agent_connections.replica_id')
      .select('agent_connections.workspace_id as id')
      .where('agent_connections.workspace_id', 'in', workspaceIds)
      .where('replicas.heartbeat_at', '>=', liveSince)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Removes the rows of replicas no longer registered (the registry calls this after removing the dead). */
  async removeOrphans(): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom('agent_connections')
      .where('replica_id', 'not in', (qb) => qb.selectFrom('replicas').select('id'))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
