import { randomUUID } from 'node:crypto';
import type { Team, TeamRole } from '../../sdk/wire.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso, type TeamsTable } from './schema.js';

export type TeamRow = TeamsTable;

export class TeamStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Insert a team. Throws the engine's unique-violation error for a duplicate name. */
  async create(input: { name: string; description?: string | null | undefined }): Promise<TeamRow> {
    const now = this.clock.now().toISOString();
    const row: TeamRow = {
      id: randomUUID(),
      name: input.name,
      description: input.description ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.db.kysely.insertInto('teams').values(row).execute();
    return row;
  }

  async byId(id: string): Promise<TeamRow | undefined> {
    return this.db.kysely.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** All teams, or only those `userId` belongs to. */
  async list(opts: { memberId?: string } = {}): Promise<TeamRow[]> {
    let q = this.db.kysely.selectFrom('teams').selectAll('teams');
    if (opts.memberId) {
      q = q
        .innerJoin('team_members', 'team_members.team_id', 'teams.id')
        .where('team_members.user_id', '=', opts.memberId);
    }
    return q.orderBy('teams.name').execute();
  }

  async update(
    id: string,
    patch: { name?: string; description?: string | null },
  ): Promise<TeamRow | undefined> {
    const values: Partial<TeamRow> = { updated_at: this.clock.now().toISOString() };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    await this.db.kysely.updateTable('teams').set(values).where('id', '=', id).execute();
    return this.byId(id);
  }

  /** Delete the team and its memberships. Returns false when it did not exist. */
  async remove(id: string): Promise<boolean> {
    const res = await this.db.kysely.deleteFrom('teams').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async members(teamIds: string[]) {
    if (teamIds.length === 0) return [];
    return this.db.kysely
      .selectFrom('team_members')
      .innerJoin('users', 'users.id', 'team_members.user_id')
      .select([
        'team_members.team_id',
        'team_members.user_id',
        'team_members.role',
        'team_members.created_at',
        'users.email',
        'users.name',
      ])
      .where('team_members.team_id', 'in', teamIds)
      .orderBy('users.email')
      .execute();
  }

  /** The caller's role in the team, or undefined when not a member. */
  async memberRole(teamId: string, userId: string): Promise<TeamRole | undefined> {
    const row = await this.db.kysely
      .selectFrom('team_members')
      .select('role')
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role as TeamRole | undefined;
  }

  async membershipsOf(userId: string) {
    return this.db.kysely
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .select(['teams.id', 'teams.name', 'team_members.role'])
      .where('team_members.user_id', '=', userId)
      .orderBy('teams.name')
      .execute();
  }

  /** Add a member or change their role (idempotent). */
  async putMember(teamId: string, userId: string, role: TeamRole): Promise<void> {
    await this.db.kysely
      .insertInto('team_members')
      .values({ team_id: teamId, user_id: userId, role, created_at: this.clock.now().toISOString() })
      .onConflict((oc) => oc.columns(['team_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  /** Returns false when the user was not a member. */
  async removeMember(teamId: string, userId: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom('team_members')
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Teams with their members, in the wire shape. */
  async toWire(rows: TeamRow[]): Promise<Team[]> {
    const members = await this.members(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      createdAt: iso(r.created_at),
      members: members
        .filter((m) => m.team_id === r.id)
        .map((m) => ({
          userId: m.user_id,
          email: m.email,
          name: m.name,
          role: m.role as TeamRole,
          addedAt: iso(m.created_at),
        })),
    }));
  }
}
