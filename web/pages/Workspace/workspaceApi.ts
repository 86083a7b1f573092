// One workspace and its lifecycle calls. Keys start with 'workspaces', so invalidating that key
// after an action refreshes both the list and the open workspace page.
import { useQuery } from '@tanstack/react-query';
import type { CreateWorkspaceBody, Workspace } from '../../../sdk/workspaceWire.js';
import { ApiError, api } from '../../api/http.js';

const BUSY = ['pending', 'starting', 'stopping'];

export function useWorkspace(id: string) {
  return useQuery({
    queryKey: ['workspaces', 'one', id],
    queryFn: () => api<Workspace>('GET', `/api/v1/workspaces/${id}`),
    // Poll faster while it changes state, so clone progress and "running" show promptly.
    refetchInterval: (q) => (q.state.data && BUSY.includes(q.state.data.status) ? 1000 : 5000),
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
}

export const createWorkspace = (body: CreateWorkspaceBody) =>
  api<Workspace>('POST', '/api/v1/workspaces', body);

export const startWorkspace = (id: string) => api<Workspace>('POST', `/api/v1/workspaces/${id}/start`);

/** Resolves once the workspace has stopped (the server waits for the box). */
export const stopWorkspace = (id: string) => api<Workspace>('POST', `/api/v1/workspaces/${id}/stop`);

export const deleteWorkspace = (id: string, keepFiles: boolean) =>
  api<void>('DELETE', `/api/v1/workspaces/${id}${keepFiles ? '?keepVolume=true' : ''}`);
