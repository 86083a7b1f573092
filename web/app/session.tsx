// Who is signed in: GET /api/v1/me, shared by every page through React Query's cache. The CSRF
// token it carries is handed to the API client for mutations.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext } from 'react';
import { ApiError } from '../../sdk/client/apiError.js';
import type { Me, OrgRole } from '../../sdk/wire.js';
import { api, setCsrfToken } from '../api/client.js';

export const ME_KEY = ['me'] as const;

/** The signed-in caller, or null when nobody is (401). */
export function useMeQuery() {
  return useQuery({
    queryKey: ME_KEY,
    queryFn: async (): Promise<Me | null> => {
      try {
        const me = await api.auth.me();
        setCsrfToken(me.csrfToken);
        return me;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
}

/**
 * Forgets the caller, so the app shows the sign-in page: after signing out, or when the server
 * closed a socket with WS_UNAUTHORIZED (4401) because the session ended elsewhere.
 */
export function useSignedOut(): () => void {
  const queryClient = useQueryClient();
  return useCallback(() => {
    queryClient.setQueryData(ME_KEY, null);
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_KEY[0] });
  }, [queryClient]);
}

const SessionContext = createContext<Me | null>(null);
export const SessionProvider = SessionContext.Provider;

/** The signed-in caller; only inside the signed-in part of the app. */
export function useSession(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useSession outside a signed-in page');
  return me;
}

const ADMIN_ROLES: readonly OrgRole[] = ['owner', 'admin'];
export const isAdmin = (me: Me): boolean => ADMIN_ROLES.includes(me.user.role);
/** Viewers may look but not start tasks or workspaces. */
export const canRun = (me: Me): boolean => me.user.role !== 'viewer';
