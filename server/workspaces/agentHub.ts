// The registry of agent connections (DESIGN §4): one per workspace, whichever transport it came
// over. Transports hand it authenticated `ws` connections: the unix listener
// (agentTransports/unixListener.ts) for boxes on this host, and the network endpoint
// `GET /api/v1/agent` (http/routes/agentRoutes.ts) for boxes elsewhere. Both authenticate the
// handshake with `admit`, so the version check, the token check and the audit of a refusal are one
// code path.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { agentToServer, notifications, SUPPORTED_AGENT_PROTOCOL_VERSIONS } from '../../sdk/agentProtocol.js';
import { RpcPeer } from '../../sdk/rpcPeer.js';
import { RefusalLimiter } from '../audit/refusalLimiter.js';
import type { CancelTimer, Clock } from '../clock.js';
import type { AgentTransport } from '../drivers/runtimeDriver.js';
import type { AuditStore } from '../store/auditStore.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';
import { UnixAgentListener } from './agentTransports/unixListener.js';

export function hashAgentToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** No replica holds the workspace's agent connection (domainErrors.ts: 409 workspace_not_running). */
export class AgentNotConnectedError extends Error {
  constructor(readonly workspaceId: string) {
    super(`no control-plane replica holds the agent connection of workspace ${workspaceId}`);
    this.name = 'AgentNotConnectedError';
  }
}

export interface AgentRequestOptions {
  /** As RpcPeer.request: 0 waits for ever; unset, the peer's default. */
  timeoutMs?: number;
}

/**
 * A byte channel to a workspace's agent, and calls on the same connection (a call naming the
 * channel must reach the connection the channel is on): local, or through the replica holding it.
 */
export interface AgentStream {
  channel: Duplex;
  /** The id to name in the agent call (`files.read`, `files.write`, …). */
  channelId: number;
  request<T = unknown>(method: string, params: unknown, opts?: AgentRequestOptions): Promise<T>;
}

/**
 * The rest of the cluster, for agents connected to other replicas (cluster/agentRelay.ts):
 * where the hub records which connections it holds, and how it reaches the others.
 */
export interface AgentRemote {
  claim(workspaceId: string): Promise<void>;
  release(workspaceId: string): Promise<void>;
  /** The other live replica holding the workspace's agent, if any. */
  holder(workspaceId: string): Promise<unknown>;
  /** @throws AgentNotConnectedError, RpcError as the agent answered, Error. */
  request(workspaceId: string, method: string, params: unknown, opts?: AgentRequestOptions): Promise<unknown>;
  /** @throws AgentNotConnectedError, Error. */
  openStream(workspaceId: string): Promise<AgentStream>;
  /** Which of `workspaceIds` have their agent on a live replica (this one included). */
  connectedAmong(workspaceIds: readonly string[]): Promise<Set<string>>;
  /** Calls `listener` with each workspace whose agent some replica (this one too) claims from now. */
  onClaimed(listener: (workspaceId: string) => void): () => void;
}

/** One connected agent. */
export interface AgentConnection {
  workspaceId: string;
  peer: RpcPeer;
  /** How it reached this control plane. */
  transport: AgentTransport;
  connectedAt: number;
  lastHeartbeatAt: number;
}

/** What a transport saw of an agent's WebSocket handshake. */
export interface AgentHandshake {
  transport: AgentTransport;
  /**
   * The workspace this connection is for: the socket's (unix), or the one the agent names in
   * `x-rc-workspace` (network; undefined when that header is missing or malformed).
   */
  workspaceId: string | undefined;
  /** Request target, with the `v` (protocol version) query. */
  url: string | undefined;
  headers: IncomingHttpHeaders;
  /** The peer's address, for the audit entry of a refusal. */
  ip?: string;
}

/** Why a handshake was refused, as the transport answers it (an HTTP status before the upgrade). */
export interface AgentRefusal {
  status: 401 | 426;
  reason: 'protocol_version' | 'bad_token' | 'not_running';
  message: string;
}

/** The part of the hub a transport uses. */
export interface AgentAdmission {
  /** Authenticates a handshake; resolves with a refusal (already logged and audited) or undefined. */
  admit(handshake: AgentHandshake): Promise<AgentRefusal | undefined>;
  /** Takes an admitted connection; a previous one of the same workspace is closed. */
  accept(workspaceId: string, ws: WebSocket, transport: AgentTransport): void;
}

export interface AgentHubEvents {
  connected: [AgentConnection];
  disconnected: [string, AgentConnection];
  heartbeat: [string, (typeof notifications)['agent.heartbeat']['_output']];
  unhealthy: [string];
  notification: [string, string, unknown];
}

export interface AgentHubOptions {
  /** How this installation's boxes reach it (the driver's `agentTransport`). */
  transport: AgentTransport;
  /** Where unix sockets live (`<dataDir>/run`); used with the unix transport. */
  runDir: string;
  workspaces: WorkspaceStore;
  audit: AuditStore;
  log: Logger;
  heartbeatMs: number;
  /** Heartbeat times and the watchdog that checks them run on this clock. */
  clock: Clock;
  /** Serves a tunnel the agent opened: egress (port 3128) or the model gateway (port 3129). */
  onTunnel(target: 'egress' | 'model', stream: Duplex, workspaceId: string): void;
  /** The other replicas; without it, only agents connected here are reachable. */
  remote?: AgentRemote;
}

/** How often a start waiting for an agent on another replica reads the store, besides pubsub. */
const POLL_MS = 2000;

/** Workspace statuses in which a box, and so its agent, should be up. */
const ACTIVE = new Set(['starting', 'running']);

export class AgentHub extends EventEmitter<AgentHubEvents> implements AgentAdmission {
  private readonly connections = new Map<string, AgentConnection>();
  /** Workspaces whose agent this control plane waits for, with when each last went quiet. */
  private readonly expected = new Map<string, number>();
  private readonly unhealthy = new Set<string>();
  private readonly unix: UnixAgentListener | undefined;
  private readonly stopWatchdog: CancelTimer;
  /** Each workspace's last claim of its `agent_connections` row, so the release runs after it. */
  private readonly claims = new Map<string, Promise<void>>();
  private closing = false;
  private readonly refusals: RefusalLimiter;

  constructor(private readonly opts: AgentHubOptions) {
    super();
    // Every workspace that is starting waits on 'connected' (waitForAgent); there is no fixed bound.
    this.setMaxListeners(0);
    this.unix = opts.transport === 'unix' ? new UnixAgentListener(opts.runDir, this) : undefined;
    this.refusals = new RefusalLimiter(opts.clock);
    // Three missed heartbeats make a workspace unhealthy (checked at the heartbeat period).
    this.stopWatchdog = opts.clock.every(opts.heartbeatMs, () => this.checkHeartbeats());
  }

  get transport(): AgentTransport {
    return this.opts.transport;
  }

  /** The unix socket path of a workspace, for the preflight length check (unix transport only). */
  socketPath(workspaceId: string): string | undefined {
    return this.unix?.socketPath(workspaceId);
  }

  connection(workspaceId: string): AgentConnection | undefined {
    return this.connections.get(workspaceId);
  }

  /**
   * A request/response call to the workspace's agent, wherever it is connected: on this replica's
   * connection when it holds one, else relayed to the replica that does. For byte streams use
   * `openStream`.
   * @throws AgentNotConnectedError when no replica holds the agent; RpcError as the agent
   * answered (or on timeout); Error when the connection or the relay broke.
   */
  request<T = unknown>(
    workspaceId: string,
    method: string,
    params: unknown,
    opts: AgentRequestOptions = {},
  ): Promise<T> {
    const conn = this.connections.get(workspaceId);
    if (conn) return conn.peer.request<T>(method, params, opts);
    if (!this.opts.remote) return Promise.reject(new AgentNotConnectedError(workspaceId));
    return this.opts.remote.request(workspaceId, method, params, opts) as Promise<T>;
  }

  /**
   * A byte channel to the workspace's agent wherever it is connected, with calls bound to the
   * same connection.
   * @throws AgentNotConnectedError when no replica holds the agent.
   */
  async openStream(workspaceId: string): Promise<AgentStream> {
    const conn = this.connections.get(workspaceId);
    if (conn) {
      const channel = conn.peer.openChannel();
      return {
        channel,
        channelId: channel.id,
        request: <T>(method: string, params: unknown, opts?: AgentRequestOptions) =>
          conn.peer.request<T>(method, params, opts),
      };
    }
    if (!this.opts.remote) throw new AgentNotConnectedError(workspaceId);
    return this.opts.remote.openStream(workspaceId);
  }

  /** Whether `request` has an agent to go to: connected here, or held by another live replica. */
  async isReachable(workspaceId: string): Promise<boolean> {
    if (this.connections.has(workspaceId)) return true;
    return (await this.opts.remote?.holder(workspaceId)) !== undefined;
  }

  /** Which of `workspaceIds` have their agent connected here or on another live replica. */
  async connectedAmong(workspaceIds: readonly string[]): Promise<Set<string>> {
    const here = new Set(workspaceIds.filter((id) => this.connections.has(id)));
    const rest = workspaceIds.filter((id) => !here.has(id));
    if (!this.opts.remote || rest.length === 0) return here;
    for (const id of await this.opts.remote.connectedAmong(rest)) here.add(id);
    return here;
  }

  /** Agents connected to this process now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  isListening(workspaceId: string): boolean {
    return this.expected.has(workspaceId);
  }

  /**
   * Starts waiting for the workspace's agent (idempotent): the watchdog counts its silence from
   * now. With the unix transport it also listens on the workspace's socket and returns the
   * directory the driver binds into the box; with the network transport it returns undefined.
   */
  async listen(workspaceId: string): Promise<string | undefined> {
    if (!this.expected.has(workspaceId)) this.expected.set(workspaceId, this.now());
    return this.unix?.listen(workspaceId);
  }

  /** Stops waiting for the agent and drops its connection (the box is going away). */
  async unlisten(workspaceId: string): Promise<void> {
    this.expected.delete(workspaceId);
    this.unhealthy.delete(workspaceId);
    this.connections.get(workspaceId)?.peer.close(1001, 'workspace stopping');
    await this.unix?.unlisten(workspaceId);
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

  /**
   * Resolves once the workspace's agent is connected to this replica or to another live one
   * (an agent on the network may dial any replica through the load balancer), or rejects after
   * `timeoutMs` or on abort. Another replica's claim arrives over pubsub; the store is read once
   * now and then every POLL_MS in case a message was missed.
   */
  waitForAgentAnywhere(workspaceId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const remote = this.opts.remote;
    if (!remote) return this.waitForAgent(workspaceId, timeoutMs, signal).then(() => {});
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        stopClaims();
        this.off('connected', onConn);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (this.connections.has(workspaceId)) return done();
        void remote.holder(workspaceId).then(
          (h) => h !== undefined && done(),
          () => {},
        );
      };
      const onConn = (c: AgentConnection) => c.workspaceId === workspaceId && done();
      const onAbort = () => done(new Error('aborted'));
      const stopClaims = remote.onClaimed((id) => id === workspaceId && check());
      // Real time, not the clock: this waits for a real agent process to dial in.
      const timer = setTimeout(
        () => done(new Error(`the agent did not connect within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      const poll = setInterval(check, POLL_MS);
      this.on('connected', onConn);
      signal?.addEventListener('abort', onAbort);
      check();
    });
  }

  async close(): Promise<void> {
    // The registry removes this replica's agent rows when it deregisters (replicaRegistry.ts).
    this.closing = true;
    this.stopWatchdog();
    for (const c of this.connections.values()) c.peer.close(1001, 'control plane stopping');
    await this.unix?.close();
  }

  async admit(h: AgentHandshake): Promise<AgentRefusal | undefined> {
    const url = new URL(h.url ?? '/', 'http://agent');
    const version = Number(url.searchParams.get('v'));
    if (!SUPPORTED_AGENT_PROTOCOL_VERSIONS.includes(version)) {
      return this.refuse(h, {
        status: 426,
        reason: 'protocol_version',
        message: `unsupported agent protocol version; this server speaks ${SUPPORTED_AGENT_PROTOCOL_VERSIONS.join(', ')}`,
      });
    }
    const token = /^Bearer (.+)$/.exec(h.headers.authorization ?? '')?.[1];
    const row = h.workspaceId === undefined ? undefined : await this.opts.workspaces.byId(h.workspaceId);
    if (
      !token ||
      !row ||
      h.headers['x-rc-workspace'] !== row.id ||
      !row.agent_token_hash ||
      !sameHash(hashAgentToken(token), row.agent_token_hash)
    ) {
      return this.refuse(h, { status: 401, reason: 'bad_token', message: 'wrong agent token' });
    }
    // Over the network the agent may reach any replica, not only the one that started its box:
    // the store says whether the box should run. A unix socket exists only while expected.
    const expected = this.expected.has(row.id) || (h.transport === 'network' && ACTIVE.has(row.status));
    if (!expected) {
      return this.refuse(h, { status: 401, reason: 'not_running', message: 'workspace is not running' });
    }
    return undefined;
  }

  accept(workspaceId: string, ws: WebSocket, transport: AgentTransport): void {
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
            detail: { message, transport },
          })
          .catch((err) =>
            this.opts.log.error({ err, workspaceId }, 'could not audit an agent protocol error'),
          );
      },
    });
    const now = this.now();
    const conn: AgentConnection = { workspaceId, peer, transport, connectedAt: now, lastHeartbeatAt: now };
    this.connections.set(workspaceId, conn);
    previous?.peer.close(1000, 'replaced by a newer connection');
    ws.on('close', (code) => {
      if (this.connections.get(workspaceId) !== conn) return;
      this.connections.delete(workspaceId);
      if (this.expected.has(workspaceId)) this.expected.set(workspaceId, this.now());
      this.opts.log.info({ workspaceId, code, transport }, 'agent disconnected');
      this.record(workspaceId, 'release');
      this.emit('disconnected', workspaceId, conn);
    });
    this.record(workspaceId, 'claim');
    this.unhealthy.delete(workspaceId);
    this.opts.log.info({ workspaceId, transport }, 'agent connected');
    this.emit('connected', conn);
  }

  /** Claims the row of every agent connected here again; resolves once they are written. */
  async claimAll(): Promise<void> {
    for (const id of this.connections.keys()) this.record(id, 'claim');
    await Promise.all([...this.claims.values()]);
  }

  /** Claims or releases the workspace's row, in the order the connections came and went. */
  private record(workspaceId: string, what: 'claim' | 'release'): void {
    const remote = this.opts.remote;
    if (!remote || (what === 'release' && this.closing)) return;
    const previous = this.claims.get(workspaceId) ?? Promise.resolve();
    const next = previous
      .then(() => remote[what](workspaceId))
      .catch((err) =>
        this.opts.log.error({ err, workspaceId }, `could not ${what} the agent connection row`),
      );
    this.claims.set(workspaceId, next);
    void next.finally(() => {
      if (this.claims.get(workspaceId) === next) this.claims.delete(workspaceId);
    });
  }

  private async refuse(h: AgentHandshake, refusal: AgentRefusal): Promise<AgentRefusal> {
    const workspaceId = h.workspaceId ?? null;
    // A flood of refusals from one source writes a bounded number of rows (refusalLimiter.ts).
    const admitted = this.refusals.admit('agent.connect', h.ip ?? workspaceId ?? undefined);
    if (!admitted.write) return refusal;
    this.opts.log.warn(
      { workspaceId, reason: refusal.reason, transport: h.transport },
      'agent connection refused',
    );
    await this.opts.audit
      .append({
        actorId: null,
        actorEmail: null,
        action: 'agent.connect',
        targetType: 'workspace',
        targetId: workspaceId,
        result: 'denied',
        statusCode: refusal.status,
        ...(h.ip ? { ip: h.ip } : {}),
        detail: {
          reason: refusal.reason,
          transport: h.transport,
          ...(admitted.suppressed ? { suppressed: admitted.suppressed } : {}),
        },
      })
      .catch((err) => this.opts.log.error({ err }, 'could not audit a refused agent'));
    return refusal;
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
    for (const [id, silentSince] of this.expected) {
      const last = this.connections.get(id)?.lastHeartbeatAt ?? silentSince;
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
