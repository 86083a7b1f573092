import type { AgentErrorReason } from '../../../sdk/agentProtocol.js';
import { RpcError } from '../../../sdk/rpcPeer.js';
import type { Services } from '../../services.js';
import type { WorkspaceRow } from '../../store/workspaceStore.js';
import type { AgentConnection } from '../../workspaces/agentHub.js';
import { HttpError } from '../errors.js';

const STATUS: Record<AgentErrorReason, number> = {
  not_found: 404,
  outside_workspace: 400,
  invalid_path: 400,
  not_a_directory: 400,
  is_a_directory: 400,
  exists: 409,
  too_large: 413,
  busy: 409,
  timeout: 504,
  git_failed: 502,
  spawn_failed: 502,
  internal: 502,
};

/** An agent's answer as the HTTP error a client should see. */
export function agentHttpError(err: unknown): Error {
  if (!(err instanceof RpcError)) return err as Error;
  if (!err.reason) return new HttpError(502, 'agent_error', `The workspace agent failed: ${err.message}`);
  const code = err.reason === 'not_found' ? 'not_found' : err.reason;
  return new HttpError(STATUS[err.reason], code, sentence(err.message));
}

function sentence(s: string): string {
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
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
