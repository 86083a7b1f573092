import type { FastifyRequest } from 'fastify';
import type { OrgRole } from '../../sdk/wire.js';
import { type Action, can, type Resource } from '../auth/policy.js';
import type { Services } from '../services.js';
import { forbidden, HttpError } from './errors.js';
import type { Principal } from './requestContext.js';

/**
 * The authenticated caller (401 otherwise; 403 for a cookie mutation without CSRF token). A user
 * still holding a generated one-time password gets 403 password_change_required everywhere but
 * on the few routes that pass `duringPasswordChange` (who am I, sign out, set my password).
 */
export async function ensureCaller(
  services: Services,
  req: FastifyRequest,
  opts: { duringPasswordChange?: boolean } = {},
): Promise<Principal> {
  const principal = await services.auth.ensureAuthenticated(req);
  if (principal.user.password_must_change && !opts.duringPasswordChange) throw passwordChangeRequired();
  return principal;
}

export function passwordChangeRequired(): HttpError {
  return new HttpError(
    403,
    'password_change_required',
    'This account still has its one-time password: set a new one first (PATCH /api/v1/users/{id} with password and currentPassword).',
  );
}

/** The policy's answer for this caller. */
export function allows(principal: Principal, action: Action, resource: Resource): boolean {
  return can({ id: principal.user.id, role: principal.user.role as OrgRole }, action, resource);
}

/** Throws 403 unless the policy allows `action` on `resource`. */
export function ensureCan(principal: Principal, action: Action, resource: Resource, message?: string): void {
  if (!allows(principal, action, resource)) throw forbidden(message);
}
