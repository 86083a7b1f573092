// Workspaces and their lifecycle (server/http/routes/workspaceRoutes.ts).
import type { CreateWorkspaceBody, Workspace, WorkspaceStatus } from '../workspaceWire.js';
import { queryString, seg, type Transport } from './transport.js';

export function workspacePath(id: string): string {
  return `/api/v1/workspaces/${seg(id)}`;
}

export class WorkspacesApi {
  constructor(private readonly t: Transport) {}

  /** Creates your workspace for a repository, or returns the one you have (`created` false). */
  async create(body: CreateWorkspaceBody): Promise<{ workspace: Workspace; created: boolean }> {
    const res = await this.t.send('POST', '/api/v1/workspaces', { json: body });
    return { workspace: await this.t.expect(res, 'Workspace'), created: res.status === 201 };
  }

  list(query: { owner?: string; status?: WorkspaceStatus; repository?: string } = {}) {
    return this.t.call('GET', `/api/v1/workspaces${queryString(query)}`, 'WorkspaceList');
  }

  get(id: string) {
    return this.t.call('GET', workspacePath(id), 'Workspace');
  }

  /** Answers at once with status starting; poll `get` until running or failed. */
  start(id: string) {
    return this.t.call('POST', `${workspacePath(id)}/start`, 'Workspace');
  }

  /** Answers once the workspace has stopped (the server waits for the box). */
  stop(id: string) {
    return this.t.call('POST', `${workspacePath(id)}/stop`, 'Workspace');
  }

  /** Deletes the workspace and, unless `keepVolume`, its files. */
  delete(id: string, opts: { keepVolume?: boolean } = {}) {
    return this.t.callVoid('DELETE', `${workspacePath(id)}${queryString({ keepVolume: opts.keepVolume })}`);
  }
}
