// WebSockets into a workspace: terminals (`/terminals`) and file watches (`/watch`).
//
// Terminal protocol: connect with `?cols=&rows=` to open a new terminal or `?terminalId=` to
// attach to one; the server answers `{"type":"ready",terminalId,cols,rows}`, then the screen so
// far and the live output as binary frames. Binary frames from the client are keystrokes; text
// frames are `{"type":"resize",cols,rows}` or `{"type":"close"}`. Leaving does not close the
// terminal: it lives until closed, until its shell exits, or until idle past its timeout.
// Authorisation runs before the upgrade (a refusal is an HTTP status, and says nothing about
// another user's workspace); attaching to a terminal that is not open (any more) upgrades and then
// closes with WS_NOT_FOUND (4404) and a reason, which a browser can read and a refused upgrade
// would not give it.
//
// The terminal's PTY and mirror live on the replica holding the workspace's agent. A socket that
// reaches another replica is authorised there and then bridged, frame for frame (wsBridge.ts), to
// that holder's `GET /internal/v1/agents/:id/terminals` (or `/watch`), which runs the same code
// below on its own connection; a plain GET of the list is relayed the same way.
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { z } from 'zod';
import { notifications, RelPath } from '../../../sdk/agentProtocol.js';
import { WS_NOT_FOUND } from '../../../sdk/limits.js';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import { TerminalClientMessage, TerminalList, TerminalQuery } from '../../../sdk/workspaceWire.js';
import type { Services } from '../../services.js';
import type { AgentConnection } from '../../workspaces/agentHub.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';
import { ensureCaller, ensureCan } from '../guard.js';
import { trackSocket } from '../liveConnections.js';
import { noteAudit, type Principal } from '../requestContext.js';
import { bridgeSockets, HOLDER_LOST_REASON } from '../wsBridge.js';
import { sendWsError, WS_INTERNAL_ERROR } from '../wsErrors.js';
import { agentHttpError, ensureRunning } from './agentErrors.js';
import { ensureClusterRequest, holderConnection } from './internalRoutes.js';
import { visibleWorkspace } from './workspaceRoutes.js';

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
};
/** Where an authorised upgrade goes: the agent's connection here, or the holder's bridged socket. */
type Upgrade = { conn: AgentConnection } | { holder: WebSocket };
const upgrades = new WeakMap<FastifyRequest, Upgrade>();
export const TERMINAL_GONE = 'terminal not found or closed';

export function terminalRoutes(app: App, s: Services): void {
  /** Authorises before the upgrade, so a refusal is a plain HTTP status. */
  const authorise = async (req: FastifyRequest) => {
    // A cookie from another site's page was refused before this (ensureSameOrigin.ts).
    const row = await ensureOwner(await ensureCaller(s, req), (req.params as { id: string }).id);
    ensureRunning(row);
    const conn = s.runtime.hub.connection(row.id);
    if (conn) upgrades.set(req, { conn });
    else if (req.ws) {
      const what = req.routeOptions.url?.endsWith('/watch') ? 'watch' : 'terminals';
      const query = new URL(req.url, 'http://x').search.slice(1);
      const { ws } = await s.relay.openSocket(row.id, what, query).catch((err) => {
        throw agentHttpError(err);
      });
      upgrades.set(req, { holder: ws });
    }
  };
  const ensureOwner = async (me: Principal, workspaceId: string) => {
    const row = await visibleWorkspace(s, me, workspaceId);
    ensureCan(
      me,
      'workspace.terminal',
      { kind: 'workspace', ownerId: row.owner_id },
      'Only the owner of a workspace may open its terminals or watch its files.',
    );
    return row;
  };
  /** Keeps the socket until it closes; it closes when its caller loses access (liveConnections.ts). */
  const track = (req: FastifyRequest, socket: WebSocket, workspaceId: string) =>
    trackSocket(s.liveConnections, req, socket, async (me) => {
      await ensureOwner(me, workspaceId);
    });

  app.route({
    method: 'GET',
    url: '/api/v1/workspaces/:id/terminals',
    schema: {
      tags: ['terminals'],
      summary: 'List terminals; as a WebSocket, open (cols, rows) or attach to (terminalId) one.',
      params: IdParams,
      querystring: TerminalQuery,
      response: { 200: TerminalList, ...errors },
    },
    preHandler: async (req) => {
      noteAudit(req, { action: 'workspace.terminal', targetType: 'workspace', targetId: req.params.id });
      await authorise(req);
    },
    handler: async (req) => {
      if (upgrades.has(req)) return { items: s.runtime.terminals.list(req.params.id) };
      return TerminalList.parse(
        await s.relay.get(req.params.id, 'terminals').catch((err) => {
          throw agentHttpError(err);
        }),
      );
    },
    wsHandler: async (socket, req) => {
      const up = upgrades.get(req) as Upgrade;
      track(req, socket, req.params.id);
      if ('holder' in up) return bridgeSockets(socket, up.holder);
      serveTerminal(socket, up.conn, req.query as z.output<typeof TerminalQuery>, req.log);
    },
  });

  /** The terminal socket on the replica holding the agent, for a user socket elsewhere. */
  app.route({
    method: 'GET',
    url: '/internal/v1/agents/:workspaceId/terminals',
    schema: { hide: true, querystring: TerminalQuery },
    preHandler: async (req) => {
      await ensureClusterRequest(s, req, '');
      holderConnection(s, req);
    },
    handler: async (req) => ({
      items: s.runtime.terminals.list((req.params as { workspaceId: string }).workspaceId),
    }),
    wsHandler: async (socket, req) => {
      const conn = s.runtime.hub.connection((req.params as { workspaceId: string }).workspaceId);
      if (!conn) return socket.close(1012, HOLDER_LOST_REASON);
      serveTerminal(socket, conn, req.query as z.output<typeof TerminalQuery>, req.log);
    },
  });

  /** Opens (cols, rows) or attaches to (terminalId) a terminal on `conn` and serves it on `socket`. */
  const serveTerminal = async (
    socket: WebSocket,
    conn: AgentConnection,
    q: z.output<typeof TerminalQuery>,
    log: FastifyBaseLogger,
  ) => {
    const terms = s.runtime.terminals;
    let terminalId = q.terminalId;
    try {
      terminalId ??= await terms.open(conn, { cols: q.cols, rows: q.rows });
      if (!(await terms.attach(conn.workspaceId, terminalId, socket))) {
        socket.close(WS_NOT_FOUND, TERMINAL_GONE);
        return;
      }
    } catch (err) {
      sendWsError(socket, err, {
        log,
        context: { workspaceId: conn.workspaceId },
        close: { code: WS_INTERNAL_ERROR, reason: 'terminal failed' },
      });
      return;
    }
    const id = terminalId;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return terms.input(id, data);
      let msg: z.infer<typeof TerminalClientMessage>;
      try {
        msg = TerminalClientMessage.parse(JSON.parse(data.toString('utf8')));
      } catch (err) {
        const why =
          err instanceof z.ZodError
            ? err.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')
            : 'not JSON';
        sendWsError(socket, new HttpError(400, 'bad_message', `Bad terminal message (${why}).`));
        return;
      }
      if (msg.type === 'close') void terms.close(conn, id);
      else
        void terms
          .resize(conn, id, { cols: msg.cols, rows: msg.rows })
          .catch((err) => sendWsError(socket, err));
    });
  };

  app.route({
    method: 'GET',
    url: '/api/v1/workspaces/:id/watch',
    schema: {
      tags: ['files'],
      summary: 'WebSocket: {"type":"changes","changes":[{path,kind}]} whenever files under path change.',
      params: IdParams,
      querystring: z.strictObject({ path: RelPath.default('') }),
      response: {
        400: ErrorEnvelope,
        401: ErrorEnvelope,
        403: ErrorEnvelope,
        404: ErrorEnvelope,
        409: ErrorEnvelope,
        426: ErrorEnvelope,
      },
    },
    preHandler: async (req) => authorise(req),
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket.');
    },
    wsHandler: async (socket: WebSocket, req) => {
      const up = upgrades.get(req) as Upgrade;
      track(req, socket, req.params.id);
      if ('holder' in up) return bridgeSockets(socket, up.holder);
      serveWatch(socket, up.conn, (req.query as { path: string }).path, req.log);
    },
  });

  app.route({
    method: 'GET',
    url: '/internal/v1/agents/:workspaceId/watch',
    schema: { hide: true, querystring: z.strictObject({ path: RelPath.default('') }) },
    preHandler: async (req) => {
      await ensureClusterRequest(s, req, '');
      holderConnection(s, req);
    },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'This endpoint is a WebSocket.');
    },
    wsHandler: async (socket, req) => {
      const conn = s.runtime.hub.connection((req.params as { workspaceId: string }).workspaceId);
      if (!conn) return socket.close(1012, HOLDER_LOST_REASON);
      serveWatch(socket, conn, (req.query as { path: string }).path, req.log);
    },
  });

  /** Watches `path` through `conn` and sends its changes on `socket` until it closes. */
  const serveWatch = async (
    socket: WebSocket,
    conn: AgentConnection,
    path: string,
    log: FastifyBaseLogger,
  ) => {
    const hub = s.runtime.hub;
    const watchId = randomBytes(9).toString('base64url');
    const onChange = (workspaceId: string, method: string, params: unknown) => {
      if (workspaceId !== conn.workspaceId || method !== 'files.changed') return;
      const p = notifications['files.changed'].safeParse(params);
      if (p.success && p.data.watchId === watchId)
        socket.send(JSON.stringify({ type: 'changes', changes: p.data.changes }));
    };
    // The watch lives in the agent behind `conn`: when that connection goes (the agent reconnects,
    // here or to another replica, or a new connection replaces it), the watch went with it, and a
    // socket left open would never hear of a change again. It is sent away to watch again.
    const lost = () => {
      if (hub.connection(conn.workspaceId) !== conn) socket.close(1012, HOLDER_LOST_REASON);
    };
    const onDisconnected = (workspaceId: string) => {
      if (workspaceId === conn.workspaceId) lost();
    };
    const onConnected = (c: AgentConnection) => {
      if (c.workspaceId === conn.workspaceId) lost();
    };
    hub.on('notification', onChange);
    hub.on('disconnected', onDisconnected);
    hub.on('connected', onConnected);
    socket.on('close', () => {
      hub.off('notification', onChange);
      hub.off('disconnected', onDisconnected);
      hub.off('connected', onConnected);
      // Cannot matter: it fails only when the agent is gone, and its watches went with it.
      void conn.peer.request('files.unwatch', { watchId }).catch(() => {});
    });
    try {
      await conn.peer.request('files.watch', { watchId, path });
      if (hub.connection(conn.workspaceId) !== conn) return lost();
      socket.send(JSON.stringify({ type: 'ready' }));
    } catch (err) {
      sendWsError(socket, err, {
        log,
        context: { workspaceId: conn.workspaceId },
        close: { code: WS_INTERNAL_ERROR, reason: 'watch failed' },
      });
    }
  };
}
