// The admin page's teams list; its users list is useUsers in web/api/queries.ts, which the owner
// names shown elsewhere read too, so a change here updates them.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.js';

export const TEAMS_KEY = ['teams', 'list'] as const;

export function useTeams() {
  return useQuery({
    queryKey: TEAMS_KEY,
    queryFn: () => api.teams.list(),
  });
}
