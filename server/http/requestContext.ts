// Per-request state (who is calling, what to write to the audit log), kept beside the request
// rather than bolted onto Fastify's request type.
import type { FastifyRequest } from 'fastify';
import type { UserRow } from '../store/userStore.js';

export interface Principal {
  user: UserRow;
  method: 'session' | 'token';
  sessionId?: string;
  csrfToken?: string;
  tokenId?: string;
  /** When the credential stops working (ms since the epoch) as it was read; unset: never. */
  expiresAt?: number;
}

export interface AuditNote {
  action?: string;
  targetType?: string;
  targetId?: string;
  detail?: Record<string, unknown>;
  /** For unauthenticated events (a failed sign-in): who it was about. */
  actorEmail?: string;
  actorId?: string;
  /** Overrides the result derived from the status (a refused sign-in that redirects, say). */
  result?: 'success' | 'failure' | 'denied' | 'error';
}

interface RequestContext {
  principal?: Principal;
  audit: AuditNote;
}

const contexts = new WeakMap<FastifyRequest, RequestContext>();

export function requestContext(req: FastifyRequest): RequestContext {
  let ctx = contexts.get(req);
  if (!ctx) {
    ctx = { audit: {} };
    contexts.set(req, ctx);
  }
  return ctx;
}

/** Say what this request acted on, for its audit entry. */
export function noteAudit(req: FastifyRequest, note: AuditNote): void {
  Object.assign(requestContext(req).audit, note);
}
