// Routes replicas call on each other (DESIGN §9), never users: each request is signed with the
// cluster secret (cluster/clusterAuth.ts) and a forged or stale one is refused 401 and audited,
// before its body is even parsed. Kept out of the OpenAPI document.
//
// POST /internal/v1/agents/:workspaceId/request runs one agent call on this replica's own
// connection (never relayed on: a holder that lost the agent says so) for cluster/agentRelay.ts.
// An agent error is answered with the status and envelope a local call maps it to
// (domainErrors.ts) plus the agent's error itself in `rpc`, from which the relaying replica
// rebuilds the same RpcError.
import { z } from 'zod';
import { RpcError } from '../../../sdk/rpcPeer.js';
import type { RelayedRpcError } from '../../cluster/agentRelay.js';
import { WORKSPACE_ID_PATTERN } from '../../drivers/ensureValidSpec.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { domainHttp } from '../domainErrors.js';
import { HttpError, invalidInput } from '../errors.js';

const RelayParams = z.strictObject({ workspaceId: z.string().regex(WORKSPACE_ID_PATTERN) });
const RelayBody = z.strictObject({
  method: z.string().min(1).max(100),
  params: z.unknown(),
  timeoutMs: z
    .number()
    .int()
    .min(0)
    .max(24 * 3600_000)
    .optional(),
});

export function internalRoutes(app: App, s: Services): void {
  app.register(async (internal) => {
    // The signature covers the exact bytes sent, so the body is kept as text until it is checked.
    internal.removeAllContentTypeParsers();
    internal.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );
    internal.post(
      '/internal/v1/agents/:workspaceId/request',
      { schema: { hide: true } },
      async (req, reply) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const refusal = await s.clusterAuth.check(req.method, req.url, req.headers, raw);
        if (refusal) {
          req.log.warn({ reason: refusal, ip: req.ip }, 'refused an unauthenticated internal request');
          await s.auditStore
            .append({
              actorId: null,
              actorEmail: null,
              action: 'cluster.request',
              targetType: 'replica',
              targetId: null,
              result: 'denied',
              statusCode: 401,
              ip: req.ip,
              detail: { reason: refusal, path: req.url },
            })
            .catch((err) => req.log.error({ err }, 'could not audit a refused internal request'));
          throw new HttpError(
            401,
            'cluster_auth_failed',
            'This endpoint is for the other control-plane replicas.',
          );
        }
        const params = RelayParams.safeParse(req.params);
        if (!params.success) throw invalidInput('params', params.error.issues);
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'validation_failed', 'The request body is not JSON.', {
            fields: [{ path: 'body', rule: 'must be JSON' }],
          });
        }
        const body = RelayBody.safeParse(json);
        if (!body.success) throw invalidInput('body', body.error.issues);

        const { workspaceId } = params.data;
        const conn = s.runtime.hub.connection(workspaceId);
        if (!conn) {
          return reply.code(409).send({
            error: {
              code: 'agent_not_connected',
              message: 'This replica holds no connection of that agent.',
            },
          });
        }
        try {
          const { method, params: callParams, timeoutMs } = body.data;
          const result = await conn.peer.request(
            method,
            callParams,
            timeoutMs === undefined ? {} : { timeoutMs },
          );
          return reply.send({ result: result ?? null });
        } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          const mapped = domainHttp(err);
          const rpc: RelayedRpcError = {
            code: err.code,
            message: err.message,
            ...(err.reason ? { reason: err.reason } : {}),
          };
          return reply.code(mapped?.status ?? 502).send({
            error: { code: mapped?.code ?? 'agent_error', message: mapped?.message ?? err.message },
            rpc,
          });
        }
      },
    );
  });
}
