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

/**
 * 409 workspace_not_running unless the workspace runs. Its agent may then be connected to any
 * replica: request/response calls go through `hub.request`, which relays them.
 */
export function ensureRunning(row: WorkspaceRow): void {
  if (row.status !== 'running')
    throw new HttpError(409, 'workspace_not_running', `The workspace is ${row.status}; start it first.`);
}

/**
 * The agent's connection on this replica, for binary streams (file bytes), which are not relayed
 * between replicas: 409 as `ensureAgent` when no replica holds it, 503 when another one does.
 */
export async function ensureLocalAgent(s: Services, row: WorkspaceRow): Promise<AgentConnection> {
  ensureRunning(row);
  const conn = s.runtime.hub.connection(row.id);
  if (conn) return conn;
  // TODO: relay file bytes too (a channel per request over the replica link), so that a download
  // or an upload works on every replica, not only on the one holding the agent.
  if (await s.runtime.hub.isReachable(row.id)) {
    throw new HttpError(
      503,
      'agent_on_other_replica',
      'The workspace agent is connected to another server replica, and file contents are not relayed between replicas yet; try again (your load balancer may send you to that replica).',
    );
  }
  return ensureAgent(s, row);
}

/** The connected agent of a running workspace on this replica, or 409 workspace_not_running. */
function ensureAgent(s: Services, row: WorkspaceRow): AgentConnection {
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
