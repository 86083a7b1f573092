import type { Services } from '../../services.js';
import type { WorkspaceRow } from '../../store/workspaceStore.js';
import type { AgentConnection } from '../../workspaces/agentHub.js';
import { asHttpError, HttpError } from '../errors.js';

/**
 * An agent's answer as the HTTP error a client should see. The error handler maps agent errors
 * by itself (domainErrors.ts); this is for code that needs the mapped error in hand.
 */
export function agentHttpError(err: unknown): Error {
  return asHttpError(err) ?? (err instanceof Error ? err : new Error(String(err)));
}

/** The connected agent of a running workspace, or 409 workspace_not_running. */
export function ensureAgent(s: Services, row: WorkspaceRow): AgentConnection {
  const conn = row.status === 'running' ? s.runtime.hub.connection(row.id) : undefined;
  if (!conn) {
    throw new HttpError(
      409,
      'workspace_not_running',
      row.status === 'running'
        ? 'The workspace agent is reconnecting; try again in a few seconds.'
        : `The workspace is ${row.status}; start it first.`,
    );
  }
  return conn;
}
