// The admin page's teams list and quota overrides; its users list is useUsers in
// web/api/queries.ts, which the owner names shown elsewhere read too, so a change here updates them.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.js';
import { scheduler } from '../../api/schedulerApi.js';

export const TEAMS_KEY = ['teams', 'list'] as const;

export function useTeams() {
  return useQuery({
    queryKey: TEAMS_KEY,
    queryFn: () => api.teams.list(),
  });
}

export const OVERRIDES_KEY = ['quotas', 'overrides'] as const;

/** Every per-user and per-team quota override. */
export function useQuotaOverrides() {
  return useQuery({
    queryKey: OVERRIDES_KEY,
    queryFn: () => scheduler.overrides(),
  });
}
