// /api/v1/tasks: create (by repository or workspace), list, show, follow-ups, interrupt, cancel,
// approvals. The event log is in taskEventRoutes.ts.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApprovalBody,
  ApprovalList,
  ApprovalParams,
  ApprovalStatus,
  CreateTaskBody,
  Task,
  TaskListQuery,
  TaskMessageBody,
  TaskPage,
} from '../../../sdk/taskWire.js';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { TaskRow } from '../../store/taskStore.js';
import { toWireApproval, toWireTask } from '../../tasks/taskWireMapping.js';
import type { App } from '../app.js';
import { notFound } from '../errors.js';
import { allows, ensureCaller, ensureCan } from '../guard.js';
import { noteAudit, type Principal } from '../requestContext.js';

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
};
const tags = ['tasks'];

/** The task if the caller may see it; 404 otherwise (another user's task does not exist for you). */
export async function visibleTask(s: Services, me: Principal, id: string): Promise<TaskRow> {
  return ensureVisible(me, await s.tasks.byId(id));
}

function ensureVisible<R extends { owner_id: string }>(me: Principal, row: R | undefined): R {
  if (!row || !allows(me, 'task.read', { kind: 'task', ownerId: row.owner_id })) throw notFound('The task');
  return row;
}

export function taskRoutes(app: App, s: Services): void {
  const svc = () => s.runtime.tasks;
  /** A queued task's place, from the scheduler's plan (computed at most once a second). */
  const place = async (row: TaskRow) => {
    if (row.status !== 'queued') return null;
    const entry = (await svc().scheduler.plan()).byTask.get(row.id);
    return entry
      ? { position: entry.position, reason: entry.reason, estimatedStartAt: entry.estimatedStartAt }
      : null;
  };
  const wire = async (row: TaskRow) => toWireTask(row, await s.tasks.countPending(row.id), await place(row));
  /** The task for an action that acts as its owner (`interact`) or controls it (`control`). */
  const forAction = async (req: FastifyRequest, id: string, action: 'task.control' | 'task.interact') => {
    const me = await ensureCaller(s, req);
    const task = await visibleTask(s, me, id);
    ensureCan(me, action, { kind: 'task', ownerId: task.owner_id });
    return { me, task };
  };

  app.post(
    '/api/v1/tasks',
    {
      schema: {
        tags,
        summary: 'Start a task: Claude Code runs the prompt in your workspace for the repository.',
        body: CreateTaskBody,
        response: { 201: Task, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'task.created', targetType: 'task' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'task.create', { kind: 'org' }, 'Viewers cannot start tasks.');
      const row = await svc().create(me.user, req.body);
      noteAudit(req, {
        targetId: row.id,
        detail: { workspaceId: row.workspace_id, repository: row.repository },
      });
      return reply.code(201).send(await wire(row));
    },
  );

  app.get(
    '/api/v1/tasks',
    {
      schema: {
        tags,
        summary: 'List tasks, newest first, with cursor paging.',
        querystring: TaskListQuery,
        response: { 200: TaskPage, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      const { owner, status, repository, limit, cursor } = req.query;
      const ownerId = owner === 'me' ? me.user.id : owner === 'all' ? undefined : owner;
      if (ownerId !== me.user.id) ensureCan(me, 'task.read', { kind: 'task', ownerId: ownerId ?? '' });
      const page = await s.tasks.list({
        ...(ownerId ? { ownerId } : {}),
        ...(status ? { status } : {}),
        ...(repository ? { repository } : {}),
        limit,
        ...(cursor ? { cursor } : {}),
      });
      return { items: await Promise.all(page.rows.map(wire)), next: page.next };
    },
  );

  app.get(
    '/api/v1/tasks/:id',
    { schema: { tags, summary: 'Show a task.', params: IdParams, response: { 200: Task, ...errors } } },
    async (req) => {
      const me = await ensureCaller(s, req);
      // visibleTask and wire in one query: a dashboard or script polls this route.
      const found = await s.tasks.byIdWithPending(req.params.id);
      const row = ensureVisible(me, found?.row);
      return toWireTask(row, found?.pending ?? 0, await place(row));
    },
  );

  app.post(
    '/api/v1/tasks/:id/messages',
    {
      schema: {
        tags,
        summary: 'Send a follow-up; a finished task resumes its session.',
        params: IdParams,
        body: TaskMessageBody,
        response: { 202: Task, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'task.message', targetType: 'task', targetId: req.params.id });
      const { task } = await forAction(req, req.params.id, 'task.interact');
      await svc().send(task, req.body.text);
      return reply.code(202).send(await wire((await s.tasks.byId(task.id)) ?? task));
    },
  );

  for (const action of ['interrupt', 'cancel'] as const) {
    app.post(
      `/api/v1/tasks/:id/${action}`,
      {
        schema: {
          tags,
          summary:
            action === 'interrupt'
              ? 'Interrupt the running turn; the task waits for a follow-up.'
              : 'Cancel the task and end its Claude Code process.',
          params: IdParams,
          response: { 202: Task, ...errors },
        },
      },
      async (req, reply) => {
        noteAudit(req, {
          action: `task.${action === 'cancel' ? 'cancelled' : 'interrupted'}`,
          targetType: 'task',
          targetId: req.params.id,
        });
        const { task } = await forAction(req, req.params.id, 'task.control');
        await (action === 'cancel' ? svc().cancel(task) : svc().interrupt(task));
        return reply.code(202).send(await wire((await s.tasks.byId(task.id)) ?? task));
      },
    );
  }

  app.get(
    '/api/v1/tasks/:id/approvals',
    {
      schema: {
        tags,
        summary: 'Tool approvals of the task, oldest first.',
        params: IdParams,
        querystring: z.strictObject({ status: ApprovalStatus.optional() }),
        response: { 200: ApprovalList, ...errors },
      },
    },
    async (req) => {
      const task = await visibleTask(s, await ensureCaller(s, req), req.params.id);
      return { items: (await s.tasks.approvals(task.id, req.query.status)).map(toWireApproval) };
    },
  );

  app.post(
    '/api/v1/tasks/:id/approvals/:approvalId',
    {
      schema: {
        tags,
        summary: 'Allow or deny a pending tool call.',
        params: ApprovalParams,
        body: ApprovalBody,
        response: { 200: Task, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, {
        action: 'task.approval',
        targetType: 'task',
        targetId: req.params.id,
        detail: {
          approvalId: req.params.approvalId,
          decision: req.body.decision,
          remember: req.body.remember,
        },
      });
      const { me, task } = await forAction(req, req.params.id, 'task.interact');
      await svc().answer(task, req.params.approvalId, req.body, me.user.id);
      return wire((await s.tasks.byId(task.id)) ?? task);
    },
  );
}
