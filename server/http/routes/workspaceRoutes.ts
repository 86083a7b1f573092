import { z } from 'zod';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import {
  CreateWorkspaceBody,
  DeleteWorkspaceQuery,
  Workspace,
  WorkspaceList,
  WorkspaceListQuery,
} from '../../../sdk/workspaceWire.js';
import type { Services } from '../../services.js';
import { toWireWorkspace, type WorkspaceRow } from '../../store/workspaceStore.js';
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
  429: ErrorEnvelope,
};

/** The workspace, if the caller may see it; 404 otherwise so ids cannot be probed. */
export async function visibleWorkspace(s: Services, me: Principal, id: string): Promise<WorkspaceRow> {
  const row = await s.workspaces.byId(id);
  if (!row || !allows(me, 'workspace.read', { kind: 'workspace', ownerId: row.owner_id }))
    throw notFound('The workspace');
  return row;
}

export function workspaceRoutes(app: App, s: Services): void {
  /** The rows as the API shows them; `agentConnected` whichever replica holds the agent. */
  const wireAll = async (rows: WorkspaceRow[]) => {
    const running = rows.filter((r) => r.status === 'running' || r.status === 'starting').map((r) => r.id);
    const connected = await s.runtime.hub.connectedAmong(running);
    return rows.map((row) => toWireWorkspace(row, connected.has(row.id)));
  };
  const wire = async (row: WorkspaceRow) => (await wireAll([row]))[0] as ReturnType<typeof toWireWorkspace>;
  const tags = ['workspaces'];

  app.post(
    '/api/v1/workspaces',
    {
      schema: {
        tags,
        summary: 'Create your workspace for a repository (or return the one you have) and start it.',
        body: CreateWorkspaceBody,
        response: { 200: Workspace, 201: Workspace, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'workspace.created', targetType: 'workspace' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'workspace.create', { kind: 'org' }, 'Viewers cannot create workspaces.');
      // Created stopped, then started within the owner's running-workspace quota: over it, the
      // workspace exists (pending) and the answer is 429 with the limit.
      const { row, created } = await s.runtime.service.create(me.user.id, { ...req.body, start: false });
      if (created && req.body.start !== false) {
        await s.runtime.tasks.scheduler.ensureWorkspaceRoom(me.user);
        await s.runtime.service.start(row.id);
      }
      noteAudit(req, { targetId: row.id, detail: { repository: row.repository, created } });
      return reply.code(created ? 201 : 200).send(await wire((await s.workspaces.byId(row.id)) ?? row));
    },
  );

  app.get(
    '/api/v1/workspaces',
    {
      schema: {
        tags,
        summary: 'List workspaces: yours, or (admins) everyone’s or one user’s.',
        querystring: WorkspaceListQuery,
        response: { 200: WorkspaceList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      const { owner, status, repository } = req.query;
      const ownerId = owner === 'me' ? me.user.id : owner === 'all' ? undefined : owner;
      if (ownerId !== me.user.id)
        ensureCan(me, 'workspace.read', { kind: 'workspace', ownerId: ownerId ?? '' });
      const rows = await s.workspaces.list({
        ...(ownerId ? { ownerId } : {}),
        ...(status ? { status } : {}),
        ...(repository ? { repository } : {}),
      });
      return { items: await wireAll(rows) };
    },
  );

  app.get(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Show a workspace.',
        params: IdParams,
        response: { 200: Workspace, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      return wire(await visibleWorkspace(s, me, req.params.id));
    },
  );

  const control = (action: 'start' | 'stop') =>
    app.post(
      `/api/v1/workspaces/:id/${action}`,
      {
        schema: {
          tags,
          summary:
            action === 'start'
              ? 'Start a workspace; answers at once with status starting.'
              : 'Stop a workspace; answers once it has stopped. Files are kept.',
          params: IdParams,
          response: { 200: Workspace, 202: Workspace, ...errors },
        },
      },
      async (req, reply) => {
        noteAudit(req, {
          action: `workspace.${action === 'start' ? 'started' : 'stopped'}`,
          targetType: 'workspace',
          targetId: req.params.id,
        });
        const me = await ensureCaller(s, req);
        const row = await visibleWorkspace(s, me, req.params.id);
        ensureCan(me, 'workspace.control', { kind: 'workspace', ownerId: row.owner_id });
        if (action === 'start') {
          if (row.status !== 'starting' && row.status !== 'running') {
            const owner = row.owner_id === me.user.id ? me.user : await s.users.byId(row.owner_id);
            if (owner) await s.runtime.tasks.scheduler.ensureWorkspaceRoom(owner);
          }
          await s.runtime.service.start(row.id);
        } else await s.runtime.service.stop(row.id);
        const now = (await s.workspaces.byId(row.id)) ?? row;
        return reply.code(action === 'start' ? 202 : 200).send(await wire(now));
      },
    );
  control('start');
  control('stop');

  app.delete(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Delete a workspace (stopping it first); keepVolume=true keeps its files.',
        params: IdParams,
        querystring: DeleteWorkspaceQuery,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'workspace.deleted', targetType: 'workspace', targetId: req.params.id });
      const me = await ensureCaller(s, req);
      const row = await visibleWorkspace(s, me, req.params.id);
      ensureCan(me, 'workspace.control', { kind: 'workspace', ownerId: row.owner_id });
      await s.runtime.service.remove(row.id, { keepVolume: req.query.keepVolume });
      noteAudit(req, { detail: { repository: row.repository, keepVolume: req.query.keepVolume } });
      return reply.code(204).send(null);
    },
  );
}
