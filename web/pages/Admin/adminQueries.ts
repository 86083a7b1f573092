// The admin page's lists. The users key matches useUserNames in web/api/queries.ts, so both read
// one cache entry and a change here updates the owner names shown elsewhere.
import { useQuery } from '@tanstack/react-query';
import type { Team, User } from '../../../sdk/wire.js';
import { api } from '../../api/http.js';

export const USERS_KEY = ['users', 'list'] as const;
export const TEAMS_KEY = ['teams', 'list'] as const;

export function useUsers() {
  return useQuery({
    queryKey: USERS_KEY,
    queryFn: () => api<{ items: User[] }>('GET', '/api/v1/users'),
  });
}

export function useTeams() {
  return useQuery({
    queryKey: TEAMS_KEY,
    queryFn: () => api<{ items: Team[] }>('GET', '/api/v1/teams'),
  });
}
