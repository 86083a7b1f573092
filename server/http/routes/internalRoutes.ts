// Routes replicas call on each other (DESIGN §9), never users: each request is signed with the
// cluster secret (cluster/clusterAuth.ts) and a forged or stale one is refused 401 and audited,
// before its body is even parsed. Kept out of the OpenAPI document.
//
// POST /internal/v1/agents/:workspaceId/request runs one agent call on this replica's own
// connection (never relayed on: a holder that lost the agent says so) for cluster/agentRelay.ts.
// An agent error is answered with the status and envelope a local call maps it to
// (domainErrors.ts) plus the agent's error itself in `rpc`, from which the relaying replica
// rebuilds the same RpcError.
//
// GET /internal/v1/agents/:workspaceId/channel (WebSocket) opens a byte channel on this replica's
// connection, says its id in a first text frame and then carries its bytes both ways, for file
// contents read or written through another replica. The terminal and watch sockets are in
// terminalRoutes.ts, beside the routes whose code they share.
import type { FastifyRequest } from 'fastify';
import { createWebSocketStream } from 'ws';
import { z } from 'zod';
import { RpcError } from '../../../sdk/rpcPeer.js';
import type { ChannelOpened, RelayedRpcError } from '../../cluster/agentRelay.js';
import { WORKSPACE_ID_PATTERN } from '../../drivers/ensureValidSpec.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { domainHttp } from '../domainErrors.js';
import { HttpError, invalidInput } from '../errors.js';

export const RelayParams = z.strictObject({ workspaceId: z.string().regex(WORKSPACE_ID_PATTERN) });
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
        await ensureClusterRequest(s, req, raw);
        const conn = holderConnection(s, req);
        const body = parseSignedBody(raw, RelayBody);
        try {
          const { method, params: callParams, timeoutMs } = body;
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

    internal.route({
      method: 'GET',
      url: '/internal/v1/agents/:workspaceId/channel',
      schema: { hide: true },
      preHandler: async (req) => {
        await ensureClusterRequest(s, req, '');
        holderConnection(s, req);
      },
      handler: async () => {
        throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket.');
      },
      wsHandler: (socket, req) => {
        const conn = s.runtime.hub.connection((req.params as { workspaceId: string }).workspaceId);
        if (!conn) {
          socket.close(1012, 'the agent left this replica');
          return;
        }
        const channel = conn.peer.openChannel();
        const opened: ChannelOpened = { channel: channel.id };
        socket.send(JSON.stringify(opened));
        // Ending either side ends the other: the agent's end of a read closes the socket, the
        // relaying replica's close after a write ends what the agent writes to the file.
        const stream = createWebSocketStream(socket);
        stream.on('error', () => channel.destroy());
        channel.on('error', () => stream.destroy());
        stream.pipe(channel);
        channel.pipe(stream);
      },
    });
  });
}

/**
 * 401 `cluster_auth_failed` (logged and audited) unless the request is signed with the cluster
 * secret over its method, path with query and `body`.
 */
export async function ensureClusterRequest(s: Services, req: FastifyRequest, body: string): Promise<void> {
  const refusal = await s.clusterAuth.check(req.method, req.url, req.headers, body);
  if (!refusal) return;
  // A flood of forged requests from one address writes a bounded number of rows.
  const admitted = s.refusals.admit('cluster.request', req.ip);
  if (admitted.write) await auditRefusal(s, req, refusal, admitted.suppressed);
  throw new HttpError(401, 'cluster_auth_failed', 'This endpoint is for the other control-plane replicas.');
}

async function auditRefusal(s: Services, req: FastifyRequest, refusal: string, suppressed: number) {
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
      detail: { reason: refusal, path: req.url, ...(suppressed ? { suppressed } : {}) },
    })
    .catch((err) => req.log.error({ err }, 'could not audit a refused internal request'));
}

/** The signed JSON body of an internal request, validated: 400 naming the field when it is not. */
export function parseSignedBody<T extends z.ZodType>(raw: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'validation_failed', 'The request body is not JSON.', {
      fields: [{ path: 'body', rule: 'must be JSON' }],
    });
  }
  const body = schema.safeParse(json);
  if (!body.success) throw invalidInput('body', body.error.issues);
  return body.data;
}

/**
 * This replica's connection to the agent of the workspace in the path; 400 for a bad id, 409
 * `agent_not_connected` (which the relaying replica reads as "no holder") when it has none.
 */
export function holderConnection(s: Services, req: FastifyRequest) {
  const params = RelayParams.safeParse(req.params);
  if (!params.success) throw invalidInput('params', params.error.issues);
  const conn = s.runtime.hub.connection(params.data.workspaceId);
  if (!conn)
    throw new HttpError(409, 'agent_not_connected', 'This replica holds no connection of that agent.');
  return conn;
}
