// OIDC sign-in routes. The pending login (state, nonce, PKCE verifier, where to return) rides in
// a signed, HttpOnly cookie scoped to these two paths, so any replica can finish a sign-in that
// another started. Failures send the browser back to the sign-in page with ?error=<code>.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import { OidcError, type OidcIdentity, type PendingLogin } from '../../auth/oidcService.js';
import type { Services } from '../../services.js';
import { isUniqueViolation } from '../../store/storeErrors.js';
import type { UserRow } from '../../store/userStore.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';
import { noteAudit } from '../requestContext.js';
import { startSession } from './authRoutes.js';

const PENDING_COOKIE = 'rc_oidc';
const COOKIE_PATH = '/api/v1/auth/oidc';
const PENDING_TTL_SECONDS = 600;

const Pending = z.object({
  state: z.string(),
  nonce: z.string(),
  verifier: z.string(),
  returnTo: z.string(),
  expiresAt: z.number(),
});

/** Only same-origin paths: "/x" yes; "//host", "/\\host" and absolute URLs fall back to "/". */
export function safeReturnTo(value: string | undefined): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  // Control characters (CR/LF in particular) never belong in a Location header.
  return [...value].some((c) => c.charCodeAt(0) < 0x20) ? '/' : value;
}

export function oidcRoutes(app: App, s: Services): void {
  function ensureConfigured() {
    if (!s.oidc)
      throw new HttpError(404, 'oidc_not_configured', 'Single sign-on is not configured on this server.');
    return s.oidc;
  }

  app.get(
    '/api/v1/auth/oidc/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Start single sign-on: redirects to the OIDC provider.',
        security: [],
        querystring: z.strictObject({
          returnTo: z
            .string()
            .max(2000)
            .optional()
            .describe('Path to land on after sign-in (same origin only).'),
        }),
        response: { 302: z.null().describe('Redirect to the provider.'), 404: ErrorEnvelope },
      },
    },
    async (req, reply) => {
      const oidc = ensureConfigured();
      const { url, pending } = await oidc.start(safeReturnTo(req.query.returnTo));
      const value = JSON.stringify({
        ...pending,
        expiresAt: s.clock.now().getTime() + PENDING_TTL_SECONDS * 1000,
      });
      reply.setCookie(PENDING_COOKIE, value, {
        path: COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: req.protocol === 'https' || s.config.auth.cookieSecure === 'always',
        signed: true,
        maxAge: PENDING_TTL_SECONDS,
      });
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/api/v1/auth/oidc/callback',
    {
      schema: {
        tags: ['auth'],
        summary: 'Where the OIDC provider sends the browser back; signs in and redirects.',
        security: [],
        // Providers add their own parameters (iss, session_state, …), so unknown ones are
        // allowed here — unlike in our own API — and ignored.
        querystring: z.object({
          code: z.string().max(4096).optional(),
          state: z.string().max(1024).optional(),
          error: z.string().max(256).optional(),
          error_description: z.string().max(2048).optional(),
        }),
        response: {
          302: z.null().describe('Redirect to the page the sign-in started from.'),
          404: ErrorEnvelope,
        },
      },
    },
    async (req, reply) => {
      const oidc = ensureConfigured();
      noteAudit(req, { action: 'auth.login', detail: { method: 'oidc' } });
      reply.clearCookie(PENDING_COOKIE, { path: COOKIE_PATH });
      try {
        if (req.query.error) {
          throw new OidcError('oidc_provider_error', `The provider refused the sign-in: ${req.query.error}.`);
        }
        const pending = readPending(req, s.clock.now().getTime());
        const identity = await oidc.finish(req.url.slice(req.url.indexOf('?') + 1), pending);
        const user = await resolveUser(s, identity);
        noteAudit(req, { actorId: user.id, actorEmail: user.email, targetType: 'user', targetId: user.id });
        await startSession(s, req, reply, user, 'oidc');
        return reply.redirect(pending.returnTo, 302);
      } catch (err) {
        if (!(err instanceof OidcError)) throw err;
        return fail(req, reply, err);
      }
    },
  );
}

function readPending(req: FastifyRequest, now: number): PendingLogin {
  const raw = req.cookies[PENDING_COOKIE];
  const unsigned = raw ? req.unsignCookie(raw) : undefined;
  if (!unsigned?.valid || unsigned.value === null) {
    throw new OidcError(
      'oidc_state_mismatch',
      'The sign-in expired or was started in another browser; try again.',
    );
  }
  let parsed: z.infer<typeof Pending>;
  try {
    parsed = Pending.parse(JSON.parse(unsigned.value));
  } catch {
    throw new OidcError('oidc_state_mismatch', 'The sign-in state is unreadable; try again.');
  }
  if (parsed.expiresAt < now)
    throw new OidcError('oidc_state_mismatch', 'The sign-in took too long; try again.');
  return parsed;
}

/**
 * The user these claims belong to: the one already linked to (issuer, subject); else the one
 * with the same verified email, which gets linked; else a new member, created just in time.
 * The email domain must be allowed in every case.
 */
async function resolveUser(s: Services, id: OidcIdentity): Promise<UserRow> {
  const allowed = s.config.security.allowedDomains.map((d) => d.toLowerCase());
  if (!id.email) throw new OidcError('oidc_email_missing', 'The provider did not share an email address.');
  const domain = id.email.slice(id.email.lastIndexOf('@') + 1);
  if (allowed.length > 0 && !allowed.includes(domain)) {
    throw new OidcError('oidc_domain_not_allowed', `Accounts from ${domain} may not sign in here.`);
  }
  let user = await s.users.byOidcIdentity(id.issuer, id.subject);
  if (!user) {
    if (id.emailVerified === false)
      throw new OidcError('oidc_email_unverified', 'Verify your email with the provider first.');
    const existing = await s.users.byEmail(id.email);
    if (existing) {
      user = await s.users.update(existing.id, { oidcIssuer: id.issuer, oidcSubject: id.subject });
    } else {
      try {
        user = await s.users.create({
          email: id.email,
          name: id.name,
          role: 'member',
          oidcIssuer: id.issuer,
          oidcSubject: id.subject,
        });
      } catch (err) {
        // The same person finishing two sign-ins at once: the other one created the user.
        if (!isUniqueViolation(err)) throw err;
        user = await s.users.byOidcIdentity(id.issuer, id.subject);
      }
    }
  }
  if (!user) throw new OidcError('oidc_exchange_failed', 'The account could not be found or created.');
  if (user.disabled_at)
    throw new OidcError('account_disabled', 'This account is disabled; ask an administrator.');
  return user;
}

function fail(req: FastifyRequest, reply: FastifyReply, err: OidcError) {
  noteAudit(req, {
    result: err.code === 'account_disabled' || err.code === 'oidc_domain_not_allowed' ? 'denied' : 'failure',
    detail: { method: 'oidc', reason: err.code },
  });
  req.log.info({ reason: err.code, message: err.message }, 'oidc sign-in refused');
  return reply.redirect(`/?error=${encodeURIComponent(err.code)}`, 302);
}
