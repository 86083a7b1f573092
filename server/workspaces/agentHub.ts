// Where agents connect. Each workspace gets its own unix socket, `<dataDir>/run/<id>/agent.sock`;
// the driver binds that directory into the box, so the agent dials it with no network at all
// (DESIGN §4). The directory, not the socket file, is bound: a restarted control plane recreates
// the socket inside it and the running box sees the new one.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import {
  AGENT_SOCKET_NAME,
  agentToServer,
  MAX_AGENT_FRAME_BYTES,
  notifications,
  SUPPORTED_AGENT_PROTOCOL_VERSIONS,
} from '../../sdk/agentProtocol.js';
import { RpcPeer } from '../../sdk/rpcPeer.js';
import type { CancelTimer, Clock } from '../clock.js';
import type { AuditStore } from '../store/auditStore.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107;

export function hashAgentToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** One connected agent. */
export interface AgentConnection {
  workspaceId: string;
  peer: RpcPeer;
  connectedAt: number;
  lastHeartbeatAt: number;
}

export interface AgentHubEvents {
  connected: [AgentConnection];
  disconnected: [string, AgentConnection];
  heartbeat: [string, (typeof notifications)['agent.heartbeat']['_output']];
  unhealthy: [string];
  notification: [string, string, unknown];
}

export interface AgentHubOptions {
  runDir: string;
  workspaces: WorkspaceStore;
  audit: AuditStore;
  log: Logger;
  heartbeatMs: number;
  /** Heartbeat times and the watchdog that checks them run on this clock. */
  clock: Clock;
  /** Serves a tunnel the agent opened: egress (port 3128) or the model gateway (port 3129). */
  onTunnel(target: 'egress' | 'model', stream: Duplex, workspaceId: string): void;
}

export class AgentHub extends EventEmitter<AgentHubEvents> {
  private readonly servers = new Map<string, Server>();
  private readonly connections = new Map<string, AgentConnection>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  private readonly unhealthy = new Set<string>();
  /** When each workspace's agent last went quiet (listen or disconnect), for the watchdog. */
  private readonly silentSince = new Map<string, number>();
  private readonly stopWatchdog: CancelTimer;

  constructor(private readonly opts: AgentHubOptions) {
    super();
    // Three missed heartbeats make a workspace unhealthy (checked at the heartbeat period).
    this.stopWatchdog = opts.clock.every(opts.heartbeatMs, () => this.checkHeartbeats());
  }

  socketDir(workspaceId: string): string {
    return join(this.opts.runDir, workspaceId);
  }

  connection(workspaceId: string): AgentConnection | undefined {
    return this.connections.get(workspaceId);
  }

  /** Agents connected to this process now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  isListening(workspaceId: string): boolean {
    return this.servers.has(workspaceId);
  }

  /** Listens on the workspace's socket (idempotent) and returns the directory to bind. */
  async listen(workspaceId: string): Promise<string> {
    const dir = this.socketDir(workspaceId);
    if (this.servers.has(workspaceId)) return dir;
    const path = join(dir, AGENT_SOCKET_NAME);
    if (path.length > MAX_SOCKET_PATH) {
      throw new Error(
        `the agent socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter RC_DATA_DIR`,
      );
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await rm(path, { force: true });
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade to a WebSocket\n');
    });
    server.on('upgrade', (req, socket, head) => void this.onUpgrade(workspaceId, req, socket, head));
    this.servers.set(workspaceId, server);
    this.silentSince.set(workspaceId, this.now());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The box's uid differs from ours; the directory (visible only inside that box) guards it.
    await chmod(path, 0o666);
    return dir;
  }

  /** Stops listening and drops the connection (the box is going away). */
  async unlisten(workspaceId: string): Promise<void> {
    const server = this.servers.get(workspaceId);
    this.servers.delete(workspaceId);
    this.silentSince.delete(workspaceId);
    this.unhealthy.delete(workspaceId);
    this.connections.get(workspaceId)?.peer.close(1001, 'workspace stopping');
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await rm(this.socketDir(workspaceId), { recursive: true, force: true });
  }

  /** Resolves with the agent's connection once it is up, or rejects after `timeoutMs`/abort. */
  waitForAgent(workspaceId: string, timeoutMs: number, signal?: AbortSignal): Promise<AgentConnection> {
    const now = this.connections.get(workspaceId);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = (err?: Error, conn?: AgentConnection) => {
        clearTimeout(timer);
        this.off('connected', onConn);
        signal?.removeEventListener('abort', onAbort);
        if (conn) resolve(conn);
        else reject(err);
      };
      const onConn = (c: AgentConnection) => {
        if (c.workspaceId === workspaceId) done(undefined, c);
      };
      const onAbort = () => done(new Error('aborted'));
      // Real time, not the clock: this waits for a real agent process to dial in.
      const timer = setTimeout(
        () => done(new Error(`the agent did not connect within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      this.on('connected', onConn);
      signal?.addEventListener('abort', onAbort);
    });
  }

  async close(): Promise<void> {
    this.stopWatchdog();
    for (const c of this.connections.values()) c.peer.close(1001, 'control plane stopping');
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
    this.wss.close();
  }

  private async onUpgrade(
    workspaceId: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    socket.on('error', () => {});
    const refuse = async (status: number, reason: string, message: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Upgrade Required'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`,
      );
      this.opts.log.warn({ workspaceId, reason }, 'agent connection refused');
      await this.opts.audit
        .append({
          actorId: null,
          actorEmail: null,
          action: 'agent.connect',
          targetType: 'workspace',
          targetId: workspaceId,
          result: 'denied',
          statusCode: status,
          detail: { reason },
        })
        .catch((err) => this.opts.log.error({ err }, 'could not audit a refused agent'));
    };
    const url = new URL(req.url ?? '/', 'http://agent');
    const version = Number(url.searchParams.get('v'));
    if (!SUPPORTED_AGENT_PROTOCOL_VERSIONS.includes(version)) {
      return refuse(
        426,
        'protocol_version',
        `unsupported agent protocol version; this server speaks ${SUPPORTED_AGENT_PROTOCOL_VERSIONS.join(', ')}`,
      );
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const claimed = req.headers['x-rc-workspace'];
    const row = await this.opts.workspaces.byId(workspaceId);
    if (
      !token ||
      claimed !== workspaceId ||
      !row?.agent_token_hash ||
      !sameHash(hashAgentToken(token), row.agent_token_hash)
    ) {
      return refuse(401, 'bad_token', 'wrong agent token');
    }
    if (!this.servers.has(workspaceId)) return refuse(401, 'not_listening', 'workspace is not running');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(workspaceId, ws));
  }

  private accept(workspaceId: string, ws: import('ws').WebSocket): void {
    const previous = this.connections.get(workspaceId);
    const peer = new RpcPeer(ws, {
      parity: 'even',
      handlers: {
        'tunnel.open': {
          params: agentToServer['tunnel.open'].params,
          handle: async (p: { channel: number; target: 'egress' | 'model' }) => {
            this.opts.onTunnel(p.target, peer.channel(p.channel), workspaceId);
            return {};
          },
        },
      },
      onNotification: (method, params) => this.onNotification(conn, method, params),
      onProtocolError: (message) => {
        this.opts.log.warn({ workspaceId, message }, 'agent broke the protocol; closing its connection');
        void this.opts.audit
          .append({
            actorId: null,
            actorEmail: null,
            action: 'agent.protocol_error',
            targetType: 'workspace',
            targetId: workspaceId,
            result: 'failure',
            detail: { message },
          })
          .catch((err) =>
            this.opts.log.error({ err, workspaceId }, 'could not audit an agent protocol error'),
          );
      },
    });
    const now = this.now();
    const conn: AgentConnection = { workspaceId, peer, connectedAt: now, lastHeartbeatAt: now };
    this.connections.set(workspaceId, conn);
    previous?.peer.close(1000, 'replaced by a newer connection');
    ws.on('close', (code) => {
      if (this.connections.get(workspaceId) !== conn) return;
      this.connections.delete(workspaceId);
      this.silentSince.set(workspaceId, this.now());
      this.opts.log.info({ workspaceId, code }, 'agent disconnected');
      this.emit('disconnected', workspaceId, conn);
    });
    this.unhealthy.delete(workspaceId);
    this.opts.log.info({ workspaceId }, 'agent connected');
    this.emit('connected', conn);
  }

  private onNotification(conn: AgentConnection, method: string, params: unknown): void {
    if (method === 'agent.heartbeat') {
      const hb = notifications['agent.heartbeat'].safeParse(params);
      if (!hb.success) return;
      conn.lastHeartbeatAt = this.now();
      this.unhealthy.delete(conn.workspaceId);
      this.emit('heartbeat', conn.workspaceId, hb.data);
      return;
    }
    this.emit('notification', conn.workspaceId, method, params);
  }

  private now(): number {
    return this.opts.clock.now().getTime();
  }

  private checkHeartbeats(): void {
    const limit = this.now() - 3 * this.opts.heartbeatMs;
    for (const id of this.servers.keys()) {
      const last = this.connections.get(id)?.lastHeartbeatAt ?? this.silentSince.get(id) ?? 0;
      if (last >= limit || this.unhealthy.has(id)) continue;
      this.unhealthy.add(id);
      this.emit('unhealthy', id);
    }
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
