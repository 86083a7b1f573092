// The agent channel's network transport (DESIGN §4): `GET /api/v1/agent`, a WebSocket that agents
// of boxes on other machines (Kubernetes, ECS, a Docker host elsewhere) dial at their
// RC_AGENT_URL. Same protocol, version check and per-workspace agent token as the unix socket:
// the handshake goes through AgentHub.admit, and a refusal is an HTTP status before the upgrade
// (426 for an unsupported version, 401 for anything else), audited as `agent.connect`. No cookie
// or user API token opens it: only the agent token of the workspace named in `x-rc-workspace`.
import type { FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import { WORKSPACE_ID_PATTERN } from '../../drivers/ensureValidSpec.js';
import type { Services } from '../../services.js';
import { AGENT_ENDPOINT_PATH } from '../../workspaces/agentEndpoint.js';
import type { AgentRefusal } from '../../workspaces/agentHub.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';

/** Admitted handshakes: the workspace each one is for, from preHandler to wsHandler. */
const admitted = new WeakMap<FastifyRequest, string>();

export function agentRoutes(app: App, s: Services): void {
  app.route({
    method: 'GET',
    url: AGENT_ENDPOINT_PATH,
    schema: {
      tags: ['agent'],
      summary:
        'WebSocket for workspace agents (?v=<protocol version>, x-rc-workspace, Authorization: Bearer <agent token>); not for users.',
      security: [{ agentToken: [] }],
      response: { 401: ErrorEnvelope, 426: ErrorEnvelope },
    },
    preHandler: async (req) => {
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
        throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket for workspace agents.');
      }
      const claimed = req.headers['x-rc-workspace'];
      const workspaceId =
        typeof claimed === 'string' && WORKSPACE_ID_PATTERN.test(claimed) ? claimed : undefined;
      const refusal = await s.runtime.hub.admit({
        transport: 'network',
        workspaceId,
        url: req.url,
        headers: req.headers,
        ip: req.ip,
      });
      if (refusal) {
        throw refusal.status === 426
          ? new HttpError(426, 'unsupported_protocol_version', `The agent speaks an ${refusal.message}.`)
          : new HttpError(401, 'agent_refused', agentRefusedMessage(refusal.reason));
      }
      admitted.set(req, workspaceId as string);
    },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket for workspace agents.');
    },
    wsHandler: (socket: WebSocket, req) => {
      s.runtime.hub.accept(admitted.get(req) as string, socket, 'network');
    },
  });
}

function agentRefusedMessage(reason: AgentRefusal['reason']): string {
  return reason === 'not_running'
    ? 'The workspace is not running, so its agent may not connect.'
    : 'The agent token is not valid for this workspace.';
}
