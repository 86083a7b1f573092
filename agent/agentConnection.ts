import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, MAX_AGENT_FRAME_BYTES, type NotificationOf } from '../sdk/agentProtocol.js';
import { type RpcHandler, RpcPeer } from '../sdk/rpcPeer.js';
import { log } from './log.js';

/** Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff And Jitter"). */
const RETRY_BASE_MS = 100;
/**
 * The longest wait between dials after a broken connection: short, because a replica that died
 * is replaced by a live one behind the load balancer within a second or two, and the task's
 * viewers wait for the agent to come back (failover p95 target 5 s).
 */
const RETRY_CAP_MS = 2000;
/** After a refusal (bad token, protocol version): nothing will change soon; 2.5–5 s. */
const REFUSED_RETRY_MS = 5000;
/** A connection that lasted this long was healthy: the next failure starts the backoff over. */
const HEALTHY_AFTER_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AgentConnectionOptions {
  /** `ws+unix:///path/agent.sock:/agent`, `ws://…` or `wss://…`; the version query is added here. */
  url: string;
  token: string;
  workspaceId: string;
  heartbeatMs: number;
  /** Request handlers for one connection (they may keep per-connection state, like watches). */
  handlers(peer: RpcPeer): Record<string, RpcHandler>;
  /** Notifications from the server (e.g. `task.ack`). */
  onNotification?(method: string, params: unknown): void;
  usage(): Promise<NotificationOf<'agent.heartbeat'>>;
  random?: () => number;
}

/**
 * The agent's one WebSocket to the control plane, kept up for as long as the agent runs: it
 * redials with backoff whenever the connection drops or fails, and sends heartbeats while up.
 */
export class AgentConnection {
  private peer: RpcPeer | undefined;
  private attempt = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;

  constructor(private readonly options: AgentConnectionOptions) {
    this.random = options.random ?? Math.random;
  }

  /** The open connection, if there is one right now. */
  get current(): RpcPeer | undefined {
    return this.peer?.isOpen ? this.peer : undefined;
  }

  start(): void {
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.peer?.close(1001, 'agent stopping');
  }

  private dial(): void {
    const url = new URL(this.options.url);
    url.searchParams.set('v', String(AGENT_PROTOCOL_VERSION));
    // Retries log their failure (with the delay) instead, so a long outage is one line per attempt.
    if (this.attempt === 0) log('agent.connecting', { url: `${url.protocol}//${url.host}${url.pathname}` });
    const ws = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${this.options.token}`,
        'x-rc-workspace': this.options.workspaceId,
      },
      maxPayload: MAX_AGENT_FRAME_BYTES,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Frames are mostly keystrokes and already-compressed archives; deflate would cost memory.
      perMessageDeflate: false,
    });
    let refusedWith: number | undefined;
    let failure: string | undefined;
    let openedAt: number | undefined;
    let stopHeartbeat = () => {};
    ws.once('unexpected-response', (_req, res) => {
      refusedWith = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      failure ??= (err as NodeJS.ErrnoException).code ?? err.message;
    });
    ws.once('open', () => {
      openedAt = Date.now();
      stopHeartbeat = this.onOpen(ws);
    });
    ws.once('close', (code, reason) => {
      stopHeartbeat();
      this.peer = undefined;
      if (this.stopped) return;
      const delay = this.nextDelay(refusedWith, openedAt);
      if (refusedWith === 401 || refusedWith === 426) {
        // The server may be mid-upgrade (426) or not yet know a new token (401): keep trying, slowly.
        log('agent.refused', {
          status: refusedWith,
          why:
            refusedWith === 401
              ? 'agent token not accepted'
              : `protocol version ${AGENT_PROTOCOL_VERSION} not supported`,
          retryInMs: delay,
        });
      } else if (openedAt !== undefined) {
        log('agent.disconnected', { code, reason: reason.toString() || undefined, retryInMs: delay });
      } else {
        log('agent.connect_failed', {
          error: refusedWith ? `HTTP ${refusedWith}` : failure,
          retryInMs: delay,
        });
      }
      this.retryTimer = setTimeout(() => this.dial(), delay);
    });
  }

  /** Sets up the peer and heartbeats for an open socket; returns the cleanup for its close. */
  private onOpen(ws: WebSocket): () => void {
    // RpcPeer reads `handlers` at call time, so the map can be filled once the peer exists.
    const handlers: Record<string, RpcHandler> = {};
    const peer = new RpcPeer(ws, {
      parity: 'odd',
      handlers,
      onNotification: (method, params) => this.options.onNotification?.(method, params),
      onProtocolError: (message) => log('agent.protocol_error', { message }),
    });
    Object.assign(handlers, this.options.handlers(peer));
    this.peer = peer;
    log('agent.connected');

    // Over wss a dead network path shows no close for minutes; a missing pong reveals it.
    let lastHeard = Date.now();
    const heard = () => {
      lastHeard = Date.now();
    };
    ws.on('pong', heard);
    ws.on('message', heard);
    const deadAfterMs = Math.max(3 * this.options.heartbeatMs, 30_000);
    let sampling = false;
    const beat = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - lastHeard > deadAfterMs) {
        log('agent.unresponsive', { silentMs: Date.now() - lastHeard });
        ws.terminate();
        return;
      }
      ws.ping();
      if (sampling) return;
      sampling = true;
      this.options
        .usage()
        .then((usage) => peer.notify('agent.heartbeat', usage))
        .catch((err: Error) => log('agent.heartbeat_failed', { error: err.message }))
        .finally(() => {
          sampling = false;
        });
    };
    beat();
    const timer = setInterval(beat, this.options.heartbeatMs);
    return () => clearInterval(timer);
  }

  private nextDelay(refusedWith: number | undefined, openedAt: number | undefined): number {
    if (refusedWith === 401 || refusedWith === 426)
      return REFUSED_RETRY_MS / 2 + this.random() * (REFUSED_RETRY_MS / 2);
    if (openedAt !== undefined && Date.now() - openedAt >= HEALTHY_AFTER_MS) this.attempt = 0;
    const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    return Math.round(this.random() * ceiling);
  }
}
