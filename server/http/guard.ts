import type { FastifyRequest } from 'fastify';
import type { OrgRole } from '../../sdk/wire.js';
import { type Action, can, type Resource } from '../auth/policy.js';
import type { Services } from '../services.js';
import { forbidden } from './errors.js';
import type { Principal } from './requestContext.js';

/** The authenticated caller (401 otherwise; 403 for a cookie mutation without CSRF token). */
export function ensureCaller(services: Services, req: FastifyRequest): Promise<Principal> {
  return services.auth.ensureAuthenticated(req);
}

/** The policy's answer for this caller. */
export function allows(principal: Principal, action: Action, resource: Resource): boolean {
  return can({ id: principal.user.id, role: principal.user.role as OrgRole }, action, resource);
}

/** Throws 403 unless the policy allows `action` on `resource`. */
export function ensureCan(principal: Principal, action: Action, resource: Resource, message?: string): void {
  if (!allows(principal, action, resource)) throw forbidden(message);
}
