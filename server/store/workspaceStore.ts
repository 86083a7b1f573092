import { EventEmitter } from 'node:events';
// Workspace rows. Status changes go through `transition`, which only moves a row that is still in
// one of the expected states, so two racing operations (a stop and a reconcile, say) cannot both
// win: the loser sees `false` and re-reads.
import type { Workspace, WorkspaceStatus } from '../../sdk/workspaceWire.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso, type WorkspacesTable } from './schema.js';
import { isUniqueViolation } from './storeErrors.js';

export type WorkspaceRow = WorkspacesTable;

export interface NewWorkspace {
  id: string;
  ownerId: string;
  repository: string;
  name: string;
  driver: string;
  cpu: number;
  memoryBytes: number;
  pids: number;
}

function quietEmitter<T extends Record<string, unknown[]>>(): EventEmitter<T> {
  const e = new EventEmitter<T>();
  e.setMaxListeners(0);
  return e;
}

export class WorkspaceStore {
  /**
   * Status changes made through this store object, for waiters in this process (`settled`). Per
   * process on purpose: a change made by another replica is not announced here, so waiters also
   * read the row again now and then. One waiter per starting workspace may listen at once, so
   * there is no listener limit.
   */
  readonly changes = quietEmitter<{ status: [id: string, to: WorkspaceStatus] }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Inserts a pending workspace, or returns the existing one for (owner, repository). */
  async createOrGet(input: NewWorkspace): Promise<{ row: WorkspaceRow; created: boolean }> {
    const now = this.clock.now().toISOString();
    const row: WorkspaceRow = {
      id: input.id,
      owner_id: input.ownerId,
      repository: input.repository,
      name: input.name,
      status: 'pending',
      status_reason: null,
      health: null,
      driver: input.driver,
      runtime_ref: null,
      agent_token_hash: null,
      cpu: input.cpu,
      memory_bytes: input.memoryBytes,
      pids: input.pids,
      cloned: 0,
      usage: null,
      last_heartbeat_at: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      stopped_at: null,
      metered_at: null,
      last_activity_at: null,
      idle_warned_at: null,
      idle_stop_at: null,
    };
    try {
      await this.db.kysely.insertInto('workspaces').values(row).execute();
      return { row, created: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const existing = await this.byOwnerRepository(input.ownerId, input.repository);
      if (!existing) throw err;
      return { row: existing, created: false };
    }
  }

  async byId(id: string): Promise<WorkspaceRow | undefined> {
    return this.db.kysely.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byOwnerRepository(ownerId: string, repository: string): Promise<WorkspaceRow | undefined> {
    return this.db.kysely
      .selectFrom('workspaces')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('repository', '=', repository)
      .executeTakeFirst();
  }

  async list(
    filter: { ownerId?: string; status?: WorkspaceStatus; repository?: string } = {},
  ): Promise<WorkspaceRow[]> {
    let q = this.db.kysely.selectFrom('workspaces').selectAll();
    if (filter.ownerId) q = q.where('owner_id', '=', filter.ownerId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.repository) q = q.where('repository', '=', filter.repository);
    return q.orderBy('created_at', 'desc').orderBy('id').execute();
  }

  /** Workspaces whose box should exist and run (what reconcile compares with the driver). */
  async listActive(): Promise<WorkspaceRow[]> {
    return this.db.kysely
      .selectFrom('workspaces')
      .selectAll()
      .where('status', 'in', ['starting', 'running', 'stopping'])
      .execute();
  }

  /**
   * Moves the workspace to `to` only if it is in one of `from`; returns whether it moved.
   * `set` carries the other columns to change in the same write.
   */
  async transition(
    id: string,
    from: readonly WorkspaceStatus[],
    to: WorkspaceStatus,
    set: Partial<Omit<WorkspaceRow, 'id' | 'status'>> = {},
  ): Promise<boolean> {
    const now = this.clock.now().toISOString();
    const extra: Partial<WorkspaceRow> = { ...set };
    if (to === 'running' && set.started_at === undefined) extra.started_at = now;
    if ((to === 'stopped' || to === 'failed') && set.stopped_at === undefined) extra.stopped_at = now;
    if (to !== 'running' && set.health === undefined) extra.health = null;
    const res = await this.db.kysely
      .updateTable('workspaces')
      .set({ ...extra, status: to, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    const moved = Number(res.numUpdatedRows) > 0;
    if (moved) this.changes.emit('status', id, to);
    return moved;
  }

  async update(id: string, set: Partial<Omit<WorkspaceRow, 'id'>>): Promise<void> {
    await this.db.kysely
      .updateTable('workspaces')
      .set({ ...set, updated_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Heartbeats are frequent: they touch only their own columns, not updated_at. */
  async recordHeartbeat(id: string, usage: unknown, health: 'healthy' | 'unhealthy'): Promise<void> {
    await this.db.kysely
      .updateTable('workspaces')
      .set({ usage: JSON.stringify(usage), last_heartbeat_at: this.clock.now().toISOString(), health })
      .where('id', '=', id)
      .execute();
  }

  /**
   * A user is using these workspaces now (a terminal attached): touches only last_activity_at,
   * like heartbeats, so it does not move updated_at.
   */
  async touchActivity(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.kysely
      .updateTable('workspaces')
      .set({ last_activity_at: this.clock.now().toISOString() })
      .where('id', 'in', [...ids])
      .execute();
  }

  /**
   * Records the idle warning of a running workspace unless one of this run is recorded already;
   * returns whether it wrote (so the warning is announced once).
   */
  async recordIdleWarning(id: string, warnedAt: string, stopAt: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('workspaces')
      .set({ idle_warned_at: warnedAt, idle_stop_at: stopAt })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('idle_warned_at', 'is', null),
          eb('started_at', 'is', null),
          eb('idle_warned_at', '<', eb.ref('started_at')),
        ]),
      )
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Forgets the idle warning; returns whether there was one. */
  async clearIdleWarning(id: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('workspaces')
      .set({ idle_warned_at: null, idle_stop_at: null })
      .where('id', '=', id)
      .where('idle_warned_at', 'is not', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setHealth(id: string, health: 'healthy' | 'unhealthy'): Promise<void> {
    await this.db.kysely.updateTable('workspaces').set({ health }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('workspaces').where('id', '=', id).execute();
  }
}

export function toWireWorkspace(row: WorkspaceRow, agentConnected: boolean): Workspace {
  return {
    id: row.id,
    ownerId: row.owner_id,
    repository: row.repository,
    name: row.name,
    status: row.status as WorkspaceStatus,
    statusReason: row.status_reason,
    health: row.status === 'running' ? ((row.health as 'healthy' | 'unhealthy' | null) ?? null) : null,
    agentConnected,
    driver: row.driver,
    resources: { cpu: Number(row.cpu), memoryBytes: Number(row.memory_bytes), pids: row.pids },
    usage: row.usage ? (JSON.parse(row.usage) as Workspace['usage']) : null,
    lastHeartbeatAt: iso(row.last_heartbeat_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    startedAt: iso(row.started_at),
    stoppedAt: iso(row.stopped_at),
    idleStopAt: idleStopAt(row),
  };
}

/** The announced idle stop of a running workspace (a warning of this run), else null. */
function idleStopAt(row: WorkspaceRow): string | null {
  if (row.status !== 'running' || !row.idle_stop_at || !row.idle_warned_at || !row.started_at) return null;
  const warned = new Date(iso(row.idle_warned_at)).getTime();
  return warned >= new Date(iso(row.started_at)).getTime() ? iso(row.idle_stop_at) : null;
}
