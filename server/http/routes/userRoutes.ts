import {
  CreateUserBody,
  ErrorEnvelope,
  IdParams,
  type OrgRole,
  UpdateUserBody,
  User,
  UserList,
} from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { isUniqueViolation } from '../../store/storeErrors.js';
import { toWireUser } from '../../store/userStore.js';
import type { App } from '../app.js';
import { conflict, HttpError, notFound } from '../errors.js';
import { allows, ensureCaller, ensureCan, passwordChangeRequired } from '../guard.js';
import { noteAudit, type Principal } from '../requestContext.js';

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
};

export function userRoutes(app: App, s: Services): void {
  app.get(
    '/api/v1/users',
    { schema: { tags: ['users'], summary: 'List users (admins).', response: { 200: UserList, ...errors } } },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'user.list', { kind: 'org' });
      return { items: (await s.users.list()).map(toWireUser) };
    },
  );

  app.post(
    '/api/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user (admins; only owners create owners).',
        body: CreateUserBody,
        response: { 201: User, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'user.create', targetType: 'user' });
      const me = await ensureCaller(s, req);
      const body = req.body;
      ensureCan(
        me,
        'user.create',
        { kind: 'user', role: body.role },
        'Only admins create users, and only owners create owners.',
      );
      const passwordHash = body.password ? await s.hasher.hash(body.password) : null;
      try {
        const row = await s.users.create({
          email: body.email,
          name: body.name,
          role: body.role,
          passwordHash,
        });
        noteAudit(req, { targetId: row.id, detail: { email: row.email, role: row.role } });
        return reply.code(201).send(toWireUser(row));
      } catch (err) {
        if (isUniqueViolation(err))
          throw conflict('email_taken', `A user with email ${body.email} already exists.`);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Show a user (yourself, or anyone for admins).',
        params: IdParams,
        response: { 200: User, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      const row = await s.users.byId(req.params.id);
      // Users you may not see are reported as missing, so ids cannot be probed.
      if (!row || !canSee(me, row.id)) throw notFound('The user');
      return toWireUser(row);
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Change a user: name and password (yourself or admins), role and disabled (admins).',
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: User, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, { action: 'user.update', targetType: 'user' });
      const me = await ensureCaller(s, req, { duringPasswordChange: true });
      if (me.user.password_must_change) {
        const onlyOwnPassword =
          req.params.id === me.user.id &&
          Object.keys(req.body).every((k) => k === 'password' || k === 'currentPassword');
        if (!onlyOwnPassword || req.body.password === undefined) throw passwordChangeRequired();
      }
      const target = await s.users.byId(req.params.id);
      if (!target || !canSee(me, target.id)) throw notFound('The user');
      const body = req.body;
      const role = target.role as OrgRole;
      const self = target.id === me.user.id;

      if (body.name !== undefined || body.password !== undefined)
        ensureCan(me, 'user.update', { kind: 'user', id: target.id, role });
      if (body.role !== undefined && body.role !== role) {
        noteAudit(req, { action: 'user.role_changed', detail: { from: role, to: body.role } });
        ensureCan(
          me,
          'user.changeRole',
          { kind: 'user', id: target.id, role, newRole: body.role },
          self ? 'You cannot change your own role.' : 'Only owners change or grant the owner role.',
        );
      }
      if (body.disabled !== undefined) {
        noteAudit(req, { action: body.disabled ? 'user.disabled' : 'user.enabled' });
        ensureCan(
          me,
          'user.disable',
          { kind: 'user', id: target.id, role },
          self ? 'You cannot disable yourself.' : undefined,
        );
      }
      if (body.password !== undefined && self && target.password_hash) {
        if (!body.currentPassword || !(await s.hasher.verify(target.password_hash, body.currentPassword))) {
          throw new HttpError(400, 'current_password_wrong', 'Give your current password to set a new one.', {
            fields: [{ path: 'body.currentPassword', rule: 'must be your current password' }],
          });
        }
      }
      const updated = await s.users.updateKeepingAnOwner(target.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
        ...(body.password !== undefined ? { passwordHash: await s.hasher.hash(body.password) } : {}),
      });
      if (updated === 'last_owner')
        throw conflict('last_owner', 'This is the last active owner; make someone else owner first.');
      if (!updated) throw notFound('The user');
      // Disabling ends all the user's sessions; a new password ends all but the one that set it.
      if (body.disabled === true) await s.sessions.revokeAllForUser(target.id);
      else if (body.password !== undefined)
        await s.sessions.revokeAllForUser(target.id, self ? me.sessionId : undefined);
      return toWireUser(updated);
    },
  );
}

function canSee(me: Principal, userId: string): boolean {
  return allows(me, 'user.read', { kind: 'user', id: userId, role: 'viewer' });
}
