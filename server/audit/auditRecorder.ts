// Writes one audit entry for every mutating API request and every auth event. It runs in the
// onSend hook, so the entry is committed before the client gets its answer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEntry } from '../../sdk/wire.js';
import { requestContext } from '../http/requestContext.js';
import type { AuditStore } from '../store/auditStore.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Keys whose values never go into an audit entry, wherever they appear in `detail`. */
const SECRET_KEY = /pass(word)?|secret|token|key|cookie|authorization/i;

export function resultFor(status: number): AuditEntry['result'] {
  if (status < 400) return 'success';
  if (status === 401 || status === 403 || status === 429) return 'denied';
  if (status < 500) return 'failure';
  return 'error';
}

export class AuditRecorder {
  constructor(private readonly store: AuditStore) {}

  /** Should this request get an entry? Mutations under /api/v1 and anything a handler noted. */
  wants(req: FastifyRequest): boolean {
    if (requestContext(req).audit.action) return true;
    return MUTATING.has(req.method) && req.url.startsWith('/api/');
  }

  async recordRequest(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { principal, audit } = requestContext(req);
    const route = req.routeOptions.url;
    const action = audit.action ?? (route ? `${req.method} ${route}` : 'request.unrouted');
    const params = (req.params ?? {}) as Record<string, unknown>;
    await this.store.append({
      actorId: principal?.user.id ?? audit.actorId ?? null,
      actorEmail: principal?.user.email ?? audit.actorEmail ?? null,
      action,
      targetType: audit.targetType ?? null,
      targetId: audit.targetId ?? (typeof params.id === 'string' ? params.id : null),
      result: audit.result ?? resultFor(reply.statusCode),
      statusCode: reply.statusCode,
      ip: req.ip,
      userAgent: req.headers['user-agent'] ?? null,
      requestId: req.id,
      detail: scrub({
        ...(route ? {} : { path: req.url.split('?')[0] }),
        ...(principal ? { via: principal.method } : {}),
        ...audit.detail,
      }),
    });
  }
}

/** Drop secret-looking keys; the audit log must never hold a credential. */
export function scrub(detail: Record<string, unknown>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (SECRET_KEY.test(k) || v === undefined) continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? scrub(v as Record<string, unknown>) : v;
  }
  return Object.keys(out).length ? out : null;
}
