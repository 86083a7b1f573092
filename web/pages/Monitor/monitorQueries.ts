// What the resource monitor polls. Nodes, replicas and everyone's data are admin-only endpoints: callers pass
// `admin` and the queries stay disabled for anyone else rather than collecting 403s.
import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../../../sdk/client/apiError.js';
import { api } from '../../api/client.js';

/** A 4xx will not change by asking again; the next poll tries anyway. */
const retry = (n: number, e: Error) => !(e instanceof ApiError && e.status < 500) && n < 2;

export function useNodes(admin: boolean) {
  return useQuery({
    queryKey: ['nodes'],
    queryFn: () => api.reports.nodes(),
    enabled: admin,
    refetchInterval: 5000,
    retry,
  });
}

export function useReplicas(admin: boolean) {
  return useQuery({
    queryKey: ['replicas'],
    queryFn: () => api.reports.replicas(),
    enabled: admin,
    refetchInterval: 5000,
    retry,
  });
}

export function useQueuedTasks(admin: boolean) {
  const owner = admin ? 'all' : 'me';
  return useQuery({
    queryKey: ['tasks', 'queued', owner],
    queryFn: () => api.tasks.list({ status: 'queued', owner, limit: 200 }),
    refetchInterval: 3000,
    retry,
  });
}

/** Cost by user over the server's default range: this calendar month (UTC). */
export function useMonthlyCost() {
  return useQuery({
    queryKey: ['usage', 'user', 'month'],
    queryFn: () => api.reports.usage({ groupBy: 'user' }),
    refetchInterval: 10_000,
    retry,
  });
}
