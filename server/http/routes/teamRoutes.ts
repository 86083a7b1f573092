import { z } from 'zod';
import {
  CreateTeamBody,
  ErrorEnvelope,
  IdParams,
  PutTeamMemberBody,
  Team,
  TeamList,
  TeamMemberParams,
  UpdateTeamBody,
} from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { isUniqueViolation } from '../../store/storeErrors.js';
import type { TeamRow } from '../../store/teamStore.js';
import type { App } from '../app.js';
import { conflict, notFound } from '../errors.js';
import { allows, ensureCaller, ensureCan } from '../guard.js';
import { noteAudit, type Principal } from '../requestContext.js';

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
};

export function teamRoutes(app: App, s: Services): void {
  /** The team if the caller may see it (admins: any; others: their own), else 404. */
  async function visibleTeam(
    me: Principal,
    id: string,
  ): Promise<{ team: TeamRow; resource: { kind: 'team'; actorTeamRole?: 'maintainer' | 'member' } }> {
    const team = await s.teams.byId(id);
    const resource = {
      kind: 'team' as const,
      actorTeamRole: team ? await s.teams.memberRole(team.id, me.user.id) : undefined,
    };
    if (!team || !allows(me, 'team.read', resource)) throw notFound('The team');
    return { team, resource };
  }

  async function one(row: TeamRow) {
    const [team] = await s.teams.toWire([row]);
    return team as Team;
  }

  function duplicateName(err: unknown, name: string | undefined): never {
    if (isUniqueViolation(err)) throw conflict('team_name_taken', `A team named "${name}" already exists.`);
    throw err;
  }

  app.get(
    '/api/v1/teams',
    {
      schema: {
        tags: ['teams'],
        summary: 'List teams: all for admins, your own otherwise.',
        response: { 200: TeamList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'team.list', { kind: 'org' });
      const all = allows(me, 'team.update', { kind: 'team' });
      const rows = await s.teams.list(all ? {} : { memberId: me.user.id });
      return { items: await s.teams.toWire(rows) };
    },
  );

  app.post(
    '/api/v1/teams',
    {
      schema: {
        tags: ['teams'],
        summary: 'Create a team (admins).',
        body: CreateTeamBody,
        response: { 201: Team, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'team.create', targetType: 'team' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'team.create', { kind: 'org' });
      const row = await s.teams.create(req.body).catch((err) => duplicateName(err, req.body.name));
      noteAudit(req, { targetId: row.id, detail: { name: row.name } });
      return reply.code(201).send(await one(row));
    },
  );

  app.get(
    '/api/v1/teams/:id',
    {
      schema: {
        tags: ['teams'],
        summary: 'Show a team and its members.',
        params: IdParams,
        response: { 200: Team, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      return one((await visibleTeam(me, req.params.id)).team);
    },
  );

  app.patch(
    '/api/v1/teams/:id',
    {
      schema: {
        tags: ['teams'],
        summary: 'Rename or describe a team (admins).',
        params: IdParams,
        body: UpdateTeamBody,
        response: { 200: Team, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, { action: 'team.update', targetType: 'team' });
      const me = await ensureCaller(s, req);
      const { resource } = await visibleTeam(me, req.params.id);
      ensureCan(me, 'team.update', resource);
      const row = await s.teams
        .update(req.params.id, req.body)
        .catch((err) => duplicateName(err, req.body.name));
      if (!row) throw notFound('The team');
      return one(row);
    },
  );

  app.delete(
    '/api/v1/teams/:id',
    {
      schema: {
        tags: ['teams'],
        summary: 'Delete a team (admins).',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'team.delete', targetType: 'team' });
      const me = await ensureCaller(s, req);
      const { resource } = await visibleTeam(me, req.params.id);
      ensureCan(me, 'team.delete', resource);
      await s.teams.remove(req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/api/v1/teams/:id/members/:userId',
    {
      schema: {
        tags: ['teams'],
        summary: 'Add a member or change their team role (admins, team maintainers).',
        params: TeamMemberParams,
        body: PutTeamMemberBody,
        response: { 200: Team, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, {
        action: 'team.member_put',
        targetType: 'team',
        detail: { userId: req.params.userId, role: req.body.role },
      });
      const me = await ensureCaller(s, req);
      const { team, resource } = await visibleTeam(me, req.params.id);
      ensureCan(me, 'team.manageMembers', resource);
      if (!(await s.users.byId(req.params.userId))) throw notFound('The user');
      await s.teams.putMember(team.id, req.params.userId, req.body.role);
      return one(team);
    },
  );

  app.delete(
    '/api/v1/teams/:id/members/:userId',
    {
      schema: {
        tags: ['teams'],
        summary: 'Remove a member (admins, team maintainers).',
        params: TeamMemberParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, {
        action: 'team.member_remove',
        targetType: 'team',
        detail: { userId: req.params.userId },
      });
      const me = await ensureCaller(s, req);
      const { team, resource } = await visibleTeam(me, req.params.id);
      ensureCan(me, 'team.manageMembers', resource);
      if (!(await s.teams.removeMember(team.id, req.params.userId))) throw notFound('The team member');
      return reply.code(204).send(null);
    },
  );
}
