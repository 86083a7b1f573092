// A user's own secrets: today their Anthropic API key, which the model gateway then uses for
// their workspaces instead of the organisation's. Values go in and never come back out.
import { z } from 'zod';
import {
  ANTHROPIC_API_KEY_SECRET,
  PutAnthropicApiKeyBody,
  SecretInfo,
  SecretList,
  type SecretName,
} from '../../../sdk/secretWire.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { SecretInfo as StoredSecret } from '../../store/secretStore.js';
import type { App } from '../app.js';
import { ensureCaller, ensureCan } from '../guard.js';
import { noteAudit } from '../requestContext.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope };

const toWire = (s: StoredSecret): SecretInfo => ({
  name: s.name as SecretName,
  last4: s.last4,
  updatedAt: s.updatedAt,
});

export function secretRoutes(app: App, s: Services): void {
  const { secrets } = s;

  app.get(
    '/api/v1/me/secrets',
    {
      schema: {
        tags: ['secrets'],
        summary: 'List your saved secrets: names and last four characters, never the values.',
        response: { 200: SecretList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'secret.manage', { kind: 'org' });
      return { items: (await secrets.list(me.user.id)).map(toWire) };
    },
  );

  app.put(
    '/api/v1/me/secrets/anthropic-api-key',
    {
      schema: {
        tags: ['secrets'],
        summary:
          "Save your Anthropic API key (replacing any saved one). Your workspaces' model requests then use it instead of the organisation's.",
        body: PutAnthropicApiKeyBody,
        response: { 200: SecretInfo, ...errors },
      },
    },
    async (req) => {
      noteAudit(req, { action: 'secret.saved', targetType: 'secret', targetId: ANTHROPIC_API_KEY_SECRET });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'secret.manage', { kind: 'org' });
      const saved = await secrets.put(me.user.id, ANTHROPIC_API_KEY_SECRET, req.body.value);
      noteAudit(req, { detail: { last4: saved.last4 } });
      return toWire(saved);
    },
  );

  app.delete(
    '/api/v1/me/secrets/anthropic-api-key',
    {
      schema: {
        tags: ['secrets'],
        summary: "Delete your saved Anthropic API key; the organisation's is used again. Idempotent.",
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'secret.deleted', targetType: 'secret', targetId: ANTHROPIC_API_KEY_SECRET });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'secret.manage', { kind: 'org' });
      const existed = await secrets.delete(me.user.id, ANTHROPIC_API_KEY_SECRET);
      noteAudit(req, { detail: { existed } });
      return reply.code(204).send(null);
    },
  );
}
