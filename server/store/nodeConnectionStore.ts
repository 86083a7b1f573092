// Which replica holds each node daemon's connection (server/nodes/nodeHub.ts), with the node's last
// report, so that every replica can show it in GET /api/v1/nodes and name the holder when it
// cannot reach the node itself. One row per node: a newer connection takes the row over.
import { NodeReport } from '../../sdk/nodeProtocol.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso } from './schema.js';

export interface NodeConnection {
  node: string;
  replicaId: string;
  connectedAt: string;
  report: NodeReport | null;
  reportedAt: string | null;
}

export class NodeConnectionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async claim(node: string, replicaId: string): Promise<void> {
    const connected_at = this.clock.now().toISOString();
    await this.db.kysely
      .insertInto('node_connections')
      .values({ node, replica_id: replicaId, connected_at, report: null, reported_at: null })
      .onConflict((oc) =>
        oc
          .column('node')
          .doUpdateSet({ replica_id: replicaId, connected_at, report: null, reported_at: null }),
      )
      .execute();
  }

  /** Stores the node's report, while `replicaId` still holds it. */
  async report(node: string, replicaId: string, report: NodeReport): Promise<void> {
    await this.db.kysely
      .updateTable('node_connections')
      .set({ report: JSON.stringify(report), reported_at: this.clock.now().toISOString() })
      .where('node', '=', node)
      .where('replica_id', '=', replicaId)
      .execute();
  }

  /** Removes the row while it is still `replicaId`'s (another replica may have taken it over). */
  async release(node: string, replicaId: string): Promise<void> {
    await this.db.kysely
      .deleteFrom('node_connections')
      .where('node', '=', node)
      .where('replica_id', '=', replicaId)
      .execute();
  }

  /** The replica holding the node, with where it is reached, when its heartbeat is at or after `liveSince`. */
  async holder(node: string, liveSince: string): Promise<{ replicaId: string; address: string } | undefined> {
    return this.db.kysely
      .selectFrom('node_connections')
      .innerJoin('replicas', 'replicas.id', 'node_connections.replica_id')
      .select(['node_connections.replica_id as replicaId', 'replicas.address as address'])
      .where('node_connections.node', '=', node)
      .where('replicas.heartbeat_at', '>=', liveSince)
      .executeTakeFirst();
  }

  async get(node: string): Promise<NodeConnection | undefined> {
    const row = await this.db.kysely
      .selectFrom('node_connections')
      .selectAll()
      .where('node', '=', node)
      .executeTakeFirst();
    if (!row) return undefined;
    const parsed = row.report === null ? undefined : NodeReport.safeParse(JSON.parse(row.report));
    return {
      node: row.node,
      replicaId: row.replica_id,
      connectedAt: iso(row.connected_at),
      report: parsed?.success ? parsed.data : null,
      reportedAt: iso(row.reported_at),
    };
  }
}
