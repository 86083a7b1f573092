// The node daemons this replica holds, for the other replicas (server/nodes/nodeRelay.ts): never
// for users, every request signed with the cluster secret (cluster/clusterAuth.ts); a forged or
// stale one is refused 401 and audited as `cluster.request` before anything else. Kept out of
// the OpenAPI document.
//
// GET /internal/v1/nodes/:node/docker — a WebSocket whose binary frames are the bytes of one
// connection to the node's Docker socket. POST /internal/v1/nodes/:node/request — one node
// request ({method, params}) on this replica's connection; 409 when it does not hold the node.
import type { FastifyRequest } from 'fastify';
import { createWebSocketStream, type WebSocket } from 'ws';
import { z } from 'zod';
import { NodeName, serverToNode } from '../../../sdk/nodeProtocol.js';
import { RpcError } from '../../../sdk/rpcPeer.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { HttpError, invalidInput } from '../errors.js';
import { ensureClusterRequest, parseSignedBody } from './internalRoutes.js';

const Params = z.strictObject({ node: NodeName });
const Body = z.strictObject({
  method: z.enum(['workspace.listen', 'workspace.unlisten']),
  params: z.unknown(),
});

export function internalNodeRoutes(app: App, s: Services): void {
  app.register(async (internal) => {
    // The signature covers the exact bytes sent, so the body is kept as text until it is checked.
    internal.removeAllContentTypeParsers();
    internal.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );

    internal.route({
      method: 'GET',
      url: '/internal/v1/nodes/:node/docker',
      schema: { hide: true },
      preHandler: async (req) => {
        await ensureClusterRequest(s, req, '');
        const node = ensureNode(req);
        if (!s.runtime.nodes?.isConnected(node)) throw notHeld();
        if (req.headers.upgrade?.toLowerCase() !== 'websocket')
          throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket.');
      },
      handler: async () => {
        throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket.');
      },
      wsHandler: (socket: WebSocket, req) => {
        const node = (req.params as { node: string }).node;
        const peer = createWebSocketStream(socket);
        peer.on('error', () => {});
        s.runtime.nodes?.openLocalDocker(node).then(
          (docker) => {
            docker.on('error', () => peer.destroy());
            peer.on('close', () => docker.destroy());
            docker.on('close', () => peer.destroy());
            peer.pipe(docker);
            docker.pipe(peer);
          },
          () => socket.close(1011, 'the node is not connected here'),
        );
      },
    });

    internal.post('/internal/v1/nodes/:node/request', { schema: { hide: true } }, async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      await ensureClusterRequest(s, req, raw);
      const node = ensureNode(req);
      const body = parseSignedBody(raw, Body);
      const params = serverToNode[body.method].params.safeParse(body.params);
      if (!params.success) throw invalidInput('body.params', params.error.issues);
      if (!s.runtime.nodes?.isConnected(node)) throw notHeld();
      try {
        return reply.send({
          result: await s.runtime.nodes.requestLocal(node, body.method, params.data),
        });
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        return reply.code(502).send({ error: { code: 'node_error', message: err.message } });
      }
    });
  });
}

function ensureNode(req: FastifyRequest): string {
  const params = Params.safeParse(req.params);
  if (!params.success) throw invalidInput('params', params.error.issues);
  return params.data.node;
}

function notHeld(): HttpError {
  return new HttpError(409, 'node_not_connected', 'This replica holds no connection of that node.');
}
