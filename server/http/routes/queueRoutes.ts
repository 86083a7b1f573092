// The scheduler's queue and quotas: GET /api/v1/queue (your queued tasks, or everyone's for
// admins, each with its place, reason and estimate), GET /api/v1/quota (your limits, what you use
// of them, what is left of the month and when it resets), and the admins' per-user and per-team
// overrides under /api/v1/quotas (audited).
import { z } from 'zod';
import {
  QueueList,
  QueueQuery,
  Quota,
  QuotaOverride,
  QuotaOverrideBody,
  QuotaOverrideList,
  QuotaQuery,
  QuotaSubjectParams,
} from '../../../sdk/schedulerWire.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { QuotaOverrideRow } from '../../store/schedulerStore.js';
import { iso } from '../../store/schema.js';
import type { App } from '../app.js';
import { notFound } from '../errors.js';
import { ensureCaller, ensureCan } from '../guard.js';
import { noteAudit } from '../requestContext.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope };
const tags = ['queue'];

function toWireOverride(row: QuotaOverrideRow): QuotaOverride {
  return {
    subjectKind: row.subject_kind,
    subjectId: row.subject_id,
    maxConcurrentTasks: row.max_concurrent_tasks,
    maxRunningWorkspaces: row.max_running_workspaces,
    maxMonthlyHours: row.max_monthly_hours === null ? null : Number(row.max_monthly_hours),
    fairShareWeight: row.fair_share_weight === null ? null : Number(row.fair_share_weight),
    allowHighPriority: row.allow_high_priority === null ? null : row.allow_high_priority === 1,
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at),
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

export function queueRoutes(app: App, s: Services): void {
  const scheduler = () => s.runtime.tasks.scheduler;

  app.get(
    '/api/v1/queue',
    {
      schema: {
        tags,
        summary:
          'Queued tasks in the order the scheduler serves them, each with why it waits (yours; all for admins).',
        querystring: QueueQuery,
        response: { 200: QueueList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      if (req.query.owner === 'all')
        ensureCan(me, 'queue.readAll', { kind: 'org' }, 'Only admins see every user’s queue.');
      const plan = await scheduler().plan();
      const entries =
        req.query.owner === 'all' ? plan.entries : plan.entries.filter((e) => e.userId === me.user.id);
      return { at: plan.at, entries };
    },
  );

  app.get(
    '/api/v1/quota',
    {
      schema: {
        tags,
        summary:
          'Your quotas, what you use of them now, and when the monthly allowance resets (another user’s: admins).',
        querystring: QuotaQuery,
        response: { 200: Quota, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      let user = me.user;
      if (req.query.userId && req.query.userId !== me.user.id) {
        ensureCan(me, 'quota.manage', { kind: 'org' }, 'Only admins see another user’s quota.');
        const other = await s.users.byId(req.query.userId);
        if (!other) throw notFound('The user');
        user = other;
      }
      const q = await scheduler().quotaOf(user);
      const monthlyHours = q.use.monthSeconds / 3600;
      const maxMonthlyHours = q.limits.monthlySeconds / 3600;
      return {
        userId: user.id,
        limits: {
          maxConcurrentTasks: q.limits.concurrentTasks,
          maxRunningWorkspaces: q.limits.runningWorkspaces,
          maxMonthlyHours: round(maxMonthlyHours),
        },
        use: {
          concurrentTasks: q.use.activeTasks,
          runningWorkspaces: q.use.runningWorkspaces,
          monthlyHours: round(monthlyHours),
        },
        monthlyHoursLeft: round(Math.max(0, maxMonthlyHours - monthlyHours)),
        resetsAt: q.resetsAt,
        fairShareWeight: q.weight,
        allowHighPriority: q.allowHighPriority,
      };
    },
  );

  app.get(
    '/api/v1/quotas',
    {
      schema: {
        tags,
        summary: 'Every per-user and per-team quota override (admins).',
        response: { 200: QuotaOverrideList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'quota.manage', { kind: 'org' });
      return { items: (await s.scheduler.overrides()).map(toWireOverride) };
    },
  );

  /** 404 unless the user or team exists. */
  const ensureSubject = async (kind: 'users' | 'teams', id: string) => {
    const found = kind === 'users' ? await s.users.byId(id) : await s.teams.byId(id);
    if (!found) throw notFound(kind === 'users' ? 'The user' : 'The team');
    return kind === 'users' ? ('user' as const) : ('team' as const);
  };

  app.put(
    '/api/v1/quotas/:kind/:id',
    {
      schema: {
        tags,
        summary:
          'Override quotas for a user or a team (admins). A field set to null goes back to the configured default; an absent one is kept.',
        params: QuotaSubjectParams,
        body: QuotaOverrideBody,
        response: { 200: QuotaOverride, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, {
        action: 'quota.override_set',
        targetType: req.params.kind === 'users' ? 'user' : 'team',
        targetId: req.params.id,
      });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'quota.manage', { kind: 'org' });
      const kind = await ensureSubject(req.params.kind, req.params.id);
      const row = await s.scheduler.setOverride(kind, req.params.id, req.body, me.user.id);
      noteAudit(req, { detail: { ...req.body } });
      scheduler().kick();
      return toWireOverride(row);
    },
  );

  app.delete(
    '/api/v1/quotas/:kind/:id',
    {
      schema: {
        tags,
        summary: 'Remove the override of a user or team: the configured defaults apply again (admins).',
        params: QuotaSubjectParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, {
        action: 'quota.override_removed',
        targetType: req.params.kind === 'users' ? 'user' : 'team',
        targetId: req.params.id,
      });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'quota.manage', { kind: 'org' });
      const kind = await ensureSubject(req.params.kind, req.params.id);
      if (!(await s.scheduler.removeOverride(kind, req.params.id))) throw notFound('The override');
      scheduler().kick();
      return reply.code(204).send(null);
    },
  );
}
