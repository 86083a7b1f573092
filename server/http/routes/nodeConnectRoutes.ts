// The node channel's endpoint, `GET /api/v1/nodes/connect` (sdk/nodeProtocol.ts): the WebSocket an
// `rclaude node` daemon dials with its join token. Refused before the upgrade — 426 for another
// protocol version, 401 for a wrong, revoked or other node's token, 403 for a node the `nodes`
// config does not name — and every refusal is audited (`node.connect`).
import type { FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { NODE_CONNECT_PATH } from '../../../sdk/nodeProtocol.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { NodeAdmitted } from '../../nodes/nodeAdmission.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';

const admitted = new WeakMap<FastifyRequest, NodeAdmitted>();
const CODES = {
  401: 'node_refused',
  403: 'node_not_configured',
  426: 'unsupported_protocol_version',
} as const;

export function nodeConnectRoutes(app: App, s: Services): void {
  app.route({
    method: 'GET',
    url: NODE_CONNECT_PATH,
    schema: {
      tags: ['nodes'],
      summary:
        'WebSocket for `rclaude node` daemons (?v=<protocol version>, x-rc-node, Authorization: Bearer <join token>); not for users.',
      security: [{ joinToken: [] }],
      response: { 401: ErrorEnvelope, 403: ErrorEnvelope, 426: ErrorEnvelope },
    },
    preHandler: async (req) => {
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
        throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket for node daemons.');
      }
      const hub = s.runtime.nodes;
      if (!hub) throw new HttpError(403, 'node_not_configured', 'This control plane takes no node daemons.');
      const result = await hub.admit({ url: req.url, headers: req.headers, ip: req.ip });
      if ('status' in result) throw new HttpError(result.status, CODES[result.status], result.message);
      admitted.set(req, result);
    },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket for node daemons.');
    },
    wsHandler: (socket: WebSocket, req) => {
      s.runtime.nodes?.accept(admitted.get(req) as NodeAdmitted, socket, req.ip);
    },
  });
}
