// Join tokens for `rclaude node` daemons (admins): minted here, shown once, stored hashed, revoked
// with DELETE. A revoked token is refused at the next dial, and the node it admitted, if connected,
// is disconnected at once on whichever replica holds it (server/nodes/nodeHub.ts).
import { z } from 'zod';
import { CreatedNodeJoinToken, CreateNodeJoinTokenBody, NodeJoinTokenList } from '../../../sdk/nodeWire.js';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import { hashSecret, randomSecret } from '../../auth/secrets.js';
import type { Services } from '../../services.js';
import { toWireJoinToken } from '../../store/nodeJoinTokenStore.js';
import type { App } from '../app.js';
import { notFound } from '../errors.js';
import { ensureCaller, ensureCan } from '../guard.js';
import { noteAudit } from '../requestContext.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope };
const DAY_MS = 86_400_000;
/** Join tokens look like `rcn_<43 chars>`, so a leaked one is easy to scan for and to tell from an API token. */
const JOIN_TOKEN_PREFIX = 'rcn_';

export function nodeJoinTokenRoutes(app: App, s: Services): void {
  app.post(
    '/api/v1/nodes/join-tokens',
    {
      schema: {
        tags: ['nodes'],
        summary:
          'Mint a join token for one `rclaude node` daemon (admins). The secret is in this response only.',
        body: CreateNodeJoinTokenBody,
        response: { 201: CreatedNodeJoinToken, ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'node.join_token.created', targetType: 'node_join_token' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'node.manage', { kind: 'org' });
      const token = `${JOIN_TOKEN_PREFIX}${randomSecret(32)}`;
      const prefix = token.slice(0, 9);
      const days = req.body.expiresInDays;
      const row = await s.nodeJoinTokens.create({
        node: req.body.node,
        tokenHash: hashSecret(token),
        prefix,
        createdBy: me.user.id,
        expiresAt: days === null ? null : new Date(s.clock.now().getTime() + days * DAY_MS),
      });
      noteAudit(req, { targetId: row.id, detail: { node: row.node, prefix } });
      return reply.code(201).send({ ...toWireJoinToken(row), token });
    },
  );

  app.get(
    '/api/v1/nodes/join-tokens',
    {
      schema: {
        tags: ['nodes'],
        summary: 'List the join tokens of node daemons, revoked ones included (admins).',
        response: { 200: NodeJoinTokenList, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'node.manage', { kind: 'org' });
      return { items: (await s.nodeJoinTokens.list()).map(toWireJoinToken) };
    },
  );

  app.delete(
    '/api/v1/nodes/join-tokens/:id',
    {
      schema: {
        tags: ['nodes'],
        summary:
          'Revoke a join token (admins): no node joins with it again, and the node it admitted is disconnected at once (close code 4401); its daemon stops.',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, { action: 'node.join_token.revoked', targetType: 'node_join_token' });
      const me = await ensureCaller(s, req);
      ensureCan(me, 'node.manage', { kind: 'org' });
      const row = await s.nodeJoinTokens.byId(req.params.id);
      if (!row) throw notFound('The join token');
      await s.nodeJoinTokens.revoke(row.id);
      noteAudit(req, { targetId: row.id, detail: { node: row.node } });
      return reply.code(204).send(null);
    },
  );
}
