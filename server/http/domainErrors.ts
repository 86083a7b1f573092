// Every error the services below the HTTP layer throw, as the HTTP error a client sees. Routes do
// not translate: a domain error that reaches the error handler (errors.ts) lands here, so a
// missed `.catch` is still the right status with the message written for the user, not a 500.
// Each switch is exhaustive: a new reason or code does not compile until it is given a status.
import type { AgentErrorReason } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import { OidcError, type OidcErrorCode } from '../auth/oidcService.js';
import { DriverError, type DriverErrorReason } from '../drivers/runtimeDriver.js';
import { QuotaExceeded } from '../scheduler/scheduler.js';
import { SecretUnreadableError } from '../store/secretStore.js';
import { TaskError } from '../tasks/taskService.js';
import { AgentNotConnectedError } from '../workspaces/agentHub.js';
import { WorkspaceError } from '../workspaces/workspaceService.js';

/** What the envelope needs; errors.ts turns it into an HttpError. */
export interface DomainHttp {
  status: number;
  code: string;
  message: string;
}

function unreachable(value: never): never {
  throw new Error(`unmapped error value ${String(value)}`);
}

export function driverStatus(reason: DriverErrorReason): number {
  switch (reason) {
    case 'invalid_spec':
      return 400;
    case 'not_found':
      return 404;
    case 'unavailable':
    case 'insufficient_resources':
      return 503;
    case 'start_failed':
      return 502;
    case 'internal':
      return 500;
    default:
      return unreachable(reason);
  }
}

export function agentStatus(reason: AgentErrorReason): number {
  switch (reason) {
    case 'not_found':
      return 404;
    case 'outside_workspace':
    case 'invalid_path':
    case 'not_a_directory':
    case 'is_a_directory':
      return 400;
    case 'exists':
    case 'busy':
      return 409;
    case 'too_large':
      return 413;
    case 'precondition_failed':
      return 412;
    case 'timeout':
      return 504;
    case 'git_failed':
    case 'spawn_failed':
    case 'internal':
      return 502;
    default:
      return unreachable(reason);
  }
}

export function oidcStatus(code: OidcErrorCode): number {
  switch (code) {
    case 'oidc_state_mismatch':
    case 'oidc_email_missing':
      return 400;
    case 'oidc_domain_not_allowed':
    case 'oidc_email_unverified':
    case 'account_disabled':
      return 403;
    case 'oidc_provider_error':
    case 'oidc_exchange_failed':
      return 502;
    default:
      return unreachable(code);
  }
}

/** A sentence from the agent's lower-case message ("no such file" → "No such file."). */
function sentence(s: string): string {
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The HTTP form of a domain error, or undefined for anything else (a bug: the caller answers 500). */
export function domainHttp(err: unknown): DomainHttp | undefined {
  if (err instanceof DriverError) {
    // The user message is written for the workspace's owner, so it is shown even on a 5xx.
    return { status: driverStatus(err.reason), code: err.reason, message: err.userMessage };
  }
  if (err instanceof TaskError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof QuotaExceeded) return { status: 429, code: 'quota_exceeded', message: err.message };
  if (err instanceof WorkspaceError) {
    switch (err.code) {
      case 'conflict':
        return { status: 409, code: 'workspace_busy', message: err.message };
      case 'invalid':
        return { status: 400, code: 'validation_failed', message: err.message };
      default:
        return unreachable(err.code);
    }
  }
  if (err instanceof OidcError) return { status: oidcStatus(err.code), code: err.code, message: err.message };
  if (err instanceof RpcError) {
    if (!err.reason) {
      // Protocol-level failures (not connected, a handler crashed) carry no reason for the user.
      return {
        status: 502,
        code: 'agent_error',
        message: `The workspace agent failed: ${sentence(err.message)}`,
      };
    }
    return { status: agentStatus(err.reason), code: err.reason, message: sentence(err.message) };
  }
  if (err instanceof AgentNotConnectedError) {
    // The workspace runs (callers check that first), so its agent is on its way back.
    return {
      status: 409,
      code: 'workspace_not_running',
      message: 'The workspace agent is reconnecting; try again in a few seconds.',
    };
  }
  if (err instanceof SecretUnreadableError) {
    // The internal message names the user id; the user only needs to know what to do.
    return {
      status: 409,
      code: 'secret_unreadable',
      message: `The saved secret ${err.secretName} can no longer be decrypted (the server's key changed); save it again.`,
    };
  }
  return undefined;
}
