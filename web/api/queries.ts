// Queries several pages share. Each key starts with the resource name, so a mutation can
// invalidate everything about, say, tasks with queryKey ['tasks'].
import { useQuery } from '@tanstack/react-query';
import { isAdmin, useSession } from '../app/session.js';
import { api } from './client.js';
import { scheduler } from './schedulerApi.js';

export type Owner = 'me' | 'all';

export function useTasks(owner: Owner, refetchInterval = 3000) {
  return useQuery({
    queryKey: ['tasks', 'list', owner],
    queryFn: () => api.tasks.list({ owner, limit: 200 }),
    refetchInterval,
  });
}

export function useWorkspaces(owner: Owner, refetchInterval = 5000) {
  return useQuery({
    queryKey: ['workspaces', 'list', owner],
    queryFn: () => api.workspaces.list({ owner }),
    refetchInterval,
  });
}

export const USERS_KEY = ['users', 'list'] as const;

/** Every user (admins only: GET /api/v1/users answers 403 to others, so pass enabled=false). */
export function useUsers(enabled = true) {
  return useQuery({
    queryKey: USERS_KEY,
    queryFn: () => api.users.list(),
    enabled,
    // Changes made here invalidate it; others' changes may show a minute late.
    staleTime: 60_000,
  });
}

/** User id → email, for showing owners. Admins see everyone; others know only themselves. */
export function useUserNames(): (id: string) => string {
  const me = useSession();
  const users = useUsers(isAdmin(me));
  return (id) => {
    if (id === me.user.id) return 'you';
    return users.data?.items.find((u) => u.id === id)?.email ?? id.slice(0, 8);
  };
}

/** The queue in the scheduler's order: your tasks, or everyone's (admins). */
export function useQueue(owner: Owner, refetchInterval = 3000) {
  return useQuery({
    queryKey: ['queue', owner],
    queryFn: () => scheduler.queue(owner),
    refetchInterval,
  });
}

/** The signed-in user's quotas and what they use of them. */
export function useQuota(refetchInterval: number | false = false) {
  return useQuery({
    queryKey: ['quota', 'me'],
    queryFn: () => scheduler.quota(),
    refetchInterval,
  });
}
