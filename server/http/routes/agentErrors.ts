import type { WorkspaceRow } from '../../store/workspaceStore.js';
import { asHttpError, HttpError } from '../errors.js';

/**
 * An agent's answer as the HTTP error a client should see. The error handler maps agent errors
 * by itself (domainErrors.ts); this is for code that needs the mapped error in hand.
 */
export function agentHttpError(err: unknown): Error {
  return asHttpError(err) ?? (err instanceof Error ? err : new Error(String(err)));
}

/**
 * 409 workspace_not_running unless the workspace runs. Its agent may then be connected to any
 * replica: `hub.request`, `hub.openStream` and the terminal routes reach it there.
 */
export function ensureRunning(row: WorkspaceRow): void {
  if (row.status !== 'running')
    throw new HttpError(409, 'workspace_not_running', `The workspace is ${row.status}; start it first.`);
}
