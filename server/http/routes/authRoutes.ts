import { z } from 'zod';
import { AuthProviders, ErrorEnvelope, LoginBody, Me } from '../../../sdk/wire.js';
import { hashSecret, randomSecret } from '../../auth/secrets.js';
import type { Services } from '../../services.js';
import { toWireUser, type UserRow } from '../../store/userStore.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';
import { ensureCaller } from '../guard.js';
import { noteAudit, type Principal } from '../requestContext.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 429: ErrorEnvelope };

export async function meFor(s: Services, principal: Principal): Promise<Me> {
  const teams = await s.teams.membershipsOf(principal.user.id);
  return {
    user: toWireUser(principal.user),
    authMethod: principal.method,
    ...(principal.csrfToken ? { csrfToken: principal.csrfToken } : {}),
    teams: teams.map((t) => ({ id: t.id, name: t.name, role: t.role as Me['teams'][number]['role'] })),
    passwordChangeRequired: principal.user.password_must_change === 1,
  };
}

/** Start a browser session for `user` and set its cookie. Used by password and OIDC sign-in. */
export async function startSession(
  s: Services,
  req: Parameters<Services['auth']['setSessionCookie']>[0],
  reply: Parameters<Services['auth']['setSessionCookie']>[1],
  user: UserRow,
  method: 'password' | 'oidc',
): Promise<Principal> {
  const secret = randomSecret(32);
  const session = await s.sessions.create({
    userId: user.id,
    tokenHash: hashSecret(secret),
    csrfToken: randomSecret(24),
    authMethod: method,
    ip: req.ip,
    userAgent: req.headers['user-agent']?.slice(0, 512) ?? null,
    ttlSeconds: s.config.auth.sessionTtl,
  });
  const updated = (await s.users.update(user.id, { lastLoginAt: s.clock.now() })) ?? user;
  s.auth.setSessionCookie(req, reply, secret);
  return { user: updated, method: 'session', sessionId: session.id, csrfToken: session.csrf_token };
}

export function authRoutes(app: App, s: Services): void {
  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password; sets the session cookie.',
        security: [],
        body: LoginBody,
        response: { 200: Me, ...errors },
      },
    },
    async (req, reply) => {
      const { email, password } = req.body;
      noteAudit(req, { action: 'auth.login', actorEmail: email, detail: { method: 'password' } });
      const wait = await s.throttle.retryAfter(email, req.ip);
      if (wait > 0) {
        noteAudit(req, { detail: { method: 'password', reason: 'throttled' } });
        throw new HttpError(
          429,
          'too_many_attempts',
          `Too many failed sign-ins. Try again in ${wait} seconds.`,
          {
            headers: { 'retry-after': String(wait) },
          },
        );
      }
      const user = await s.users.byEmail(email);
      const ok = await s.hasher.verify(user?.password_hash, password);
      if (!user || !ok) {
        await s.throttle.recordFailure(email, req.ip);
        noteAudit(req, { detail: { method: 'password', reason: 'bad_credentials' } });
        throw new HttpError(401, 'invalid_credentials', 'The email or password is not correct.');
      }
      if (user.disabled_at) {
        noteAudit(req, { actorId: user.id, detail: { method: 'password', reason: 'disabled' } });
        throw new HttpError(403, 'account_disabled', 'This account is disabled; ask an administrator.');
      }
      await s.throttle.recordSuccess(email);
      const principal = await startSession(s, req, reply, user, 'password');
      noteAudit(req, { actorId: user.id, targetType: 'user', targetId: user.id });
      return meFor(s, principal);
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the current browser session.',
        response: { 204: z.null().describe('Signed out.'), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'auth.logout' });
      const principal = await ensureCaller(s, req, { duringPasswordChange: true });
      if (principal.sessionId) await s.sessions.revoke(principal.sessionId);
      s.auth.clearSessionCookie(req, reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/providers',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign-in methods this server offers.',
        security: [],
        response: { 200: AuthProviders },
      },
    },
    async () => ({
      password: true,
      oidc: { enabled: Boolean(s.config.auth.oidc), label: s.config.auth.oidc?.label ?? 'Single sign-on' },
    }),
  );

  app.get(
    '/api/v1/me',
    { schema: { tags: ['auth'], summary: 'The signed-in user.', response: { 200: Me, 401: ErrorEnvelope } } },
    async (req) => meFor(s, await ensureCaller(s, req, { duringPasswordChange: true })),
  );
}
