// Relaying agent requests between replicas (DESIGN §9). An agent holds its connection to one
// replica; the `agent_connections` table says which. A request/response call for a workspace
// whose agent is connected elsewhere goes, signed (clusterAuth.ts), to the holder's
// `POST /internal/v1/agents/:workspaceId/request` (http/routes/internalRoutes.ts), which runs it
// on its connection and answers the result or the agent's error. The error is rebuilt here as the
// same RpcError a local call throws, so callers and the HTTP mapping (domainErrors.ts) cannot tell
// a relayed call from a local one. Binary streams (terminals, file bytes) are not relayed.
import type { Logger } from 'pino';
import { AgentErrorReason } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import type { AgentConnectionStore, AgentHolder } from '../store/agentConnectionStore.js';
import { AgentNotConnectedError, type AgentRequestOptions } from '../workspaces/agentHub.js';
import type { ClusterAuth } from './clusterAuth.js';
import type { ReplicaRegistry } from './replicaRegistry.js';

export const relayPath = (workspaceId: string) =>
  `/internal/v1/agents/${encodeURIComponent(workspaceId)}/request`;

/** The body of the internal route's error answers beyond the envelope: the agent's own error. */
export interface RelayedRpcError {
  code: number;
  message: string;
  reason?: AgentErrorReason;
}

/** How long past the agent call's own timeout the relay waits for the holder to answer. */
const RELAY_GRACE_MS = 10_000;
const DEFAULT_AGENT_TIMEOUT_MS = 30_000;

export interface AgentRelayOptions {
  connections: AgentConnectionStore;
  registry: ReplicaRegistry;
  auth: ClusterAuth;
  log: Logger;
}

export class AgentRelay {
  constructor(private readonly o: AgentRelayOptions) {}

  /** Records that this replica holds the workspace's agent. */
  claim(workspaceId: string): Promise<void> {
    return this.o.connections.claim(workspaceId, this.o.registry.id);
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

  /**
   * Runs `method` on the agent through the replica that holds it.
   * @throws AgentNotConnectedError when no live replica holds it (or the holder cannot be reached
   * or has lost it meanwhile); RpcError as the agent answered it; Error for anything else.
   */
  async request(
    workspaceId: string,
    method: string,
    params: unknown,
    opts: AgentRequestOptions = {},
  ): Promise<unknown> {
    const holder = await this.holder(workspaceId);
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
}
