// Relaying agent requests between replicas (DESIGN §9). An agent holds its connection to one
// replica; the `agent_connections` table says which. A request/response call for a workspace
// whose agent is connected elsewhere goes, signed (clusterAuth.ts), to the holder's
// `POST /internal/v1/agents/:workspaceId/request` (http/routes/internalRoutes.ts), which runs it
// on its connection and answers the result or the agent's error. The error is rebuilt here as the
// same RpcError a local call throws, so callers and the HTTP mapping (domainErrors.ts) cannot tell
// a relayed call from a local one.
//
// Streams go over a signed WebSocket to the holder (`openSocket`): a byte channel on the agent's
// connection (`GET …/channel`, for file contents: `openStream`), or a whole terminal or file
// watch (`GET …/terminals`, `GET …/watch`, bridged frame for frame by the route that the user
// reached). The replica the user reached has checked who they are and what they may do; the
// holder trusts the signature, so authorisation, audit and revocation stay in one place.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { createWebSocketStream } from 'ws';
import { AgentErrorReason } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import type { AgentConnectionStore, AgentHolder } from '../store/agentConnectionStore.js';
import {
  AgentNotConnectedError,
  type AgentRequestOptions,
  type AgentStream,
} from '../workspaces/agentHub.js';
import type { ClusterAuth } from './clusterAuth.js';
import type { RelayKind, RelayMetrics } from './clusterMetrics.js';
import type { Pubsub } from './pubsub.js';
import type { ReplicaRegistry } from './replicaRegistry.js';

export const relayPath = (workspaceId: string) =>
  `/internal/v1/agents/${encodeURIComponent(workspaceId)}/request`;

/** The holder's WebSocket routes: a byte channel, a terminal, a file watch. */
export type RelayedSocket = 'channel' | 'terminals' | 'watch';
export const relaySocketPath = (workspaceId: string, what: RelayedSocket) =>
  `/internal/v1/agents/${encodeURIComponent(workspaceId)}/${what}`;

/** The first (text) frame on a relayed channel socket: the channel's id on the holder's connection. */
export interface ChannelOpened {
  channel: number;
}

/** How long a relayed socket may take to open (the holder is on the same network). */
const OPEN_TIMEOUT_MS = 10_000;

/** The body of the internal route's error answers beyond the envelope: the agent's own error. */
export interface RelayedRpcError {
  code: number;
  message: string;
  reason?: AgentErrorReason;
}

/** How long past the agent call's own timeout the relay waits for the holder to answer. */
const RELAY_GRACE_MS = 10_000;
const DEFAULT_AGENT_TIMEOUT_MS = 30_000;

/** Pubsub channel: a workspace id, each time a replica claims that workspace's agent. */
export const AGENT_CLAIMS_CHANNEL = 'agent_claims';

export interface AgentRelayOptions {
  /** Relay counts and latencies for /metrics. */
  metrics: RelayMetrics;
  connections: AgentConnectionStore;
  pubsub: Pubsub;
  registry: ReplicaRegistry;
  auth: ClusterAuth;
  log: Logger;
}

export class AgentRelay {
  /** Starts waiting for an agent listen here; one subscription, made before pubsub starts. */
  private readonly claims = new EventEmitter<{ claimed: [string] }>();

  constructor(private readonly o: AgentRelayOptions) {
    this.claims.setMaxListeners(0);
    o.pubsub.subscribe(AGENT_CLAIMS_CHANNEL, (id) => this.claims.emit('claimed', id));
  }

  /** Records that this replica holds the workspace's agent, and tells the others. */
  async claim(workspaceId: string): Promise<void> {
    await this.o.connections.claim(workspaceId, this.o.registry.id);
    await this.o.pubsub
      .publish(AGENT_CLAIMS_CHANNEL, workspaceId)
      .catch((err) => this.o.log.warn({ err, workspaceId }, 'could not announce an agent claim'));
  }

  onClaimed(listener: (workspaceId: string) => void): () => void {
    this.claims.on('claimed', listener);
    return () => this.claims.off('claimed', listener);
  }

  /** Forgets this replica's row for the workspace (not a newer one of another replica). */
  release(workspaceId: string): Promise<void> {
    return this.o.connections.release(workspaceId, this.o.registry.id);
  }

  /** The live replica other than this one that holds the workspace's agent, if any. */
  async holder(workspaceId: string): Promise<AgentHolder | undefined> {
    const h = await this.o.connections.holder(workspaceId, this.o.registry.liveSince());
    return h && h.replicaId !== this.o.registry.id ? h : undefined;
  }

  /** Which of `workspaceIds` have their agent on a live replica (this one included). */
  connectedAmong(workspaceIds: readonly string[]): Promise<Set<string>> {
    return this.o.connections.heldAmong(workspaceIds, this.o.registry.liveSince());
  }

  /**
   * Runs `method` on the agent through the replica that holds it.
   * @throws AgentNotConnectedError when no live replica holds it (or the holder cannot be reached
   * or has lost it meanwhile); RpcError as the agent answered it; Error for anything else.
   */
  request(
    workspaceId: string,
    method: string,
    params: unknown,
    opts: AgentRequestOptions = {},
    at?: AgentHolder,
  ): Promise<unknown> {
    return this.timed('request', this.call(workspaceId, method, params, opts, at));
  }

  private async call(
    workspaceId: string,
    method: string,
    params: unknown,
    opts: AgentRequestOptions,
    at: AgentHolder | undefined,
  ): Promise<unknown> {
    const holder = at ?? (await this.holder(workspaceId));
    if (!holder) throw new AgentNotConnectedError(workspaceId);
    const path = relayPath(workspaceId);
    const body = JSON.stringify({
      method,
      params,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    const agentTimeout = opts.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
    let res: Response;
    try {
      res = await fetch(new URL(path, holder.address), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await this.o.auth.sign('POST', path, body)) },
        body,
        ...(agentTimeout > 0 ? { signal: AbortSignal.timeout(agentTimeout + RELAY_GRACE_MS) } : {}),
      });
    } catch (err) {
      this.o.log.warn(
        { err, workspaceId, replica: holder.replicaId },
        'could not reach the replica holding the agent',
      );
      throw new AgentNotConnectedError(workspaceId);
    }
    const answer = (await res.json().catch(() => ({}))) as {
      result?: unknown;
      error?: { code?: string; message?: string };
      rpc?: RelayedRpcError;
    };
    if (res.ok) return answer.result;
    if (answer.error?.code === 'agent_not_connected') throw new AgentNotConnectedError(workspaceId);
    if (answer.rpc) {
      const reason = AgentErrorReason.safeParse(answer.rpc.reason);
      throw new RpcError(answer.rpc.code, answer.rpc.message, reason.success ? reason.data : undefined);
    }
    this.o.log.warn(
      { workspaceId, replica: holder.replicaId, status: res.status, code: answer.error?.code },
      'the replica holding the agent refused a relayed request',
    );
    throw new Error(
      `the replica holding the agent answered ${res.status}: ${answer.error?.message ?? 'no message'}`,
    );
  }

  /**
   * The JSON a plain GET of the holder's `what` route answers (the terminal list).
   * @throws AgentNotConnectedError as `request`; Error when the holder answers another error.
   */
  get(workspaceId: string, what: RelayedSocket): Promise<unknown> {
    return this.timed('list', this.list(workspaceId, what));
  }

  private async list(workspaceId: string, what: RelayedSocket): Promise<unknown> {
    const holder = await this.holder(workspaceId);
    if (!holder) throw new AgentNotConnectedError(workspaceId);
    const path = relaySocketPath(workspaceId, what);
    let res: Response;
    try {
      res = await fetch(new URL(path, holder.address), {
        headers: await this.o.auth.sign('GET', path, ''),
        signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
      });
    } catch (err) {
      this.o.log.warn(
        { err, workspaceId, replica: holder.replicaId },
        'could not reach the replica holding the agent',
      );
      throw new AgentNotConnectedError(workspaceId);
    }
    const answer = (await res.json().catch(() => ({}))) as unknown;
    if (res.ok) return answer;
    if (res.status === 409) throw new AgentNotConnectedError(workspaceId);
    throw new Error(`the replica holding the agent answered ${res.status} to a relayed ${what} listing`);
  }

  /**
   * Opens a signed WebSocket to the holder's `what` route (`query` without its `?`), resolved
   * once it is open, with the holder it reached. The socket is paused: frames the holder sends
   * at once (a "ready", a channel id) wait until the caller has its listeners and resumes it.
   * @throws AgentNotConnectedError when no live replica holds the agent, the holder cannot be
   * reached, or it answers that it no longer holds it; Error when it refuses otherwise.
   */
  openSocket(
    workspaceId: string,
    what: RelayedSocket,
    query = '',
  ): Promise<{ ws: WebSocket; holder: AgentHolder }> {
    return this.timed('socket', this.connect(workspaceId, what, query));
  }

  private async connect(
    workspaceId: string,
    what: RelayedSocket,
    query: string,
  ): Promise<{ ws: WebSocket; holder: AgentHolder }> {
    const holder = await this.holder(workspaceId);
    if (!holder) throw new AgentNotConnectedError(workspaceId);
    const path = relaySocketPath(workspaceId, what) + (query ? `?${query}` : '');
    const url = new URL(path, holder.address);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, {
      headers: await this.o.auth.sign('GET', path, ''),
      handshakeTimeout: OPEN_TIMEOUT_MS,
      perMessageDeflate: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          ws.pause();
          resolve();
        });
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          reject(
            res.statusCode === 409
              ? new AgentNotConnectedError(workspaceId)
              : new Error(
                  `the replica holding the agent refused a relayed ${what} socket (${res.statusCode})`,
                ),
          );
        });
        ws.once('error', (err) => reject(err));
      });
    } catch (err) {
      ws.terminate();
      if (err instanceof AgentNotConnectedError) throw err;
      this.o.log.warn(
        { err, workspaceId, replica: holder.replicaId, what },
        'could not open a relayed socket to the replica holding the agent',
      );
      if ((err as Error).message.startsWith('the replica holding')) throw err;
      throw new AgentNotConnectedError(workspaceId);
    }
    return { ws, holder };
  }

  /**
   * A byte channel on the holder's connection to the agent, with calls that go to that same
   * holder (a channel id means nothing on another connection).
   */
  openStream(workspaceId: string): Promise<AgentStream> {
    return this.timed('stream', this.channel(workspaceId));
  }

  private async channel(workspaceId: string): Promise<AgentStream> {
    const { ws, holder } = await this.connect(workspaceId, 'channel', '');
    const opened = new Promise<ChannelOpened>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AgentNotConnectedError(workspaceId)), OPEN_TIMEOUT_MS);
      ws.once('message', (data) => {
        // Until the stream below listens: frames after this one must wait for it.
        ws.pause();
        clearTimeout(timer);
        try {
          const msg = JSON.parse(String(data)) as ChannelOpened;
          if (Number.isInteger(msg.channel)) return resolve(msg);
        } catch {}
        reject(new Error('the replica holding the agent sent a bad channel frame'));
      });
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new AgentNotConnectedError(workspaceId));
      });
    });
    ws.resume();
    await opened.catch((err) => {
      ws.terminate();
      throw err;
    });
    // The stream listens now; it pauses the socket itself while its reader lags. (Left paused, a
    // socket nobody reads — a write — would never see the holder's close frame.)
    const channel: Duplex = createWebSocketStream(ws);
    ws.resume();
    channel.on('error', () => {});
    return {
      channel,
      channelId: (await opened).channel,
      request: <T>(method: string, params: unknown, opts?: AgentRequestOptions) =>
        this.request(workspaceId, method, params, opts, holder) as Promise<T>,
    };
  }

  /** Records how long `work` took and how it ended (an agent's own error is an answer: ok). */
  private async timed<T>(kind: RelayKind, work: Promise<T>): Promise<T> {
    const end = this.o.metrics.start(kind);
    try {
      const result = await work;
      end('ok');
      return result;
    } catch (err) {
      end(err instanceof AgentNotConnectedError ? 'not_connected' : err instanceof RpcError ? 'ok' : 'error');
      throw err;
    }
  }
}
