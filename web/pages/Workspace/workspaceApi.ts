// One workspace and its lifecycle calls. Keys start with 'workspaces', so invalidating that key
// after an action refreshes both the list and the open workspace page.
import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../../../sdk/client/apiError.js';
import type { CreateWorkspaceBody } from '../../../sdk/workspaceWire.js';
import { api } from '../../api/client.js';

const BUSY = ['pending', 'starting', 'stopping'];

export function useWorkspace(id: string) {
  return useQuery({
    queryKey: ['workspaces', 'one', id],
    queryFn: () => api.workspaces.get(id),
    // Poll faster while it changes state, so clone progress and "running" show promptly.
    refetchInterval: (q) => (q.state.data && BUSY.includes(q.state.data.status) ? 1000 : 5000),
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
}

export const createWorkspace = (body: CreateWorkspaceBody) =>
  api.workspaces.create(body).then((r) => r.workspace);

export const startWorkspace = (id: string) => api.workspaces.start(id);

/** Resolves once the workspace has stopped (the server waits for the box). */
export const stopWorkspace = (id: string) => api.workspaces.stop(id);

export const deleteWorkspace = (id: string, keepFiles: boolean) =>
  api.workspaces.delete(id, { keepVolume: keepFiles || undefined });
