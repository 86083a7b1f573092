import { z } from 'zod';
import { CreatedToken, CreateTokenBody, ErrorEnvelope, Id, IdParams, TokenList } from '../../../sdk/wire.js';
import { newApiToken } from '../../auth/secrets.js';
import type { Services } from '../../services.js';
import { toWireToken } from '../../store/tokenStore.js';
import type { App } from '../app.js';
import { notFound } from '../errors.js';
import { allows, ensureCaller, ensureCan } from '../guard.js';
import { noteAudit } from '../requestContext.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope };
const DAY_MS = 86_400_000;

export function tokenRoutes(app: App, s: Services): void {
  app.post(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create a personal API token. The secret is in this response only.',
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'token.created', targetType: 'token' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'token.create', { kind: 'org' });
      const { token, prefix, hash } = newApiToken();
      const days = req.body.expiresInDays;
      const row = await s.tokens.create({
        userId: me.user.id,
        name: req.body.name,
        tokenHash: hash,
        prefix,
        expiresAt: days === null ? null : new Date(s.clock.now().getTime() + days * DAY_MS),
      });
      noteAudit(req, { targetId: row.id, detail: { name: row.name, prefix } });
      return reply.code(201).send({ ...toWireToken(row), token });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: "List your API tokens (admins may pass userId for someone else's).",
        querystring: z.strictObject({ userId: Id.optional() }),
        response: { 200: TokenList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      const ownerId = req.query.userId ?? me.user.id;
      ensureCan(me, 'token.read', { kind: 'token', ownerId });
      return { items: (await s.tokens.listForUser(ownerId)).map(toWireToken) };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: "Revoke an API token (yours, or anyone's for admins).",
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'token.revoked', targetType: 'token' });
      const me = await ensureCaller(s, req);
      const row = await s.tokens.byId(req.params.id);
      if (!row || !allows(me, 'token.revoke', { kind: 'token', ownerId: row.user_id }))
        throw notFound('The token');
      await s.tokens.revoke(row.id);
      noteAudit(req, { detail: { name: row.name, ownerId: row.user_id } });
      return reply.code(204).send(null);
    },
  );
}
