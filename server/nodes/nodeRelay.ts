// Reaching a node daemon connected to another replica (DESIGN §9): `node_connections` says which
// replica holds it; Docker connections go to the holder's `GET /internal/v1/nodes/:node/docker`
// (a WebSocket whose binary frames are the Docker connection's bytes) and node requests to its
// `POST /internal/v1/nodes/:node/request`, both signed with the cluster secret (clusterAuth.ts)
// and served by http/routes/internalNodeRoutes.ts.
import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import type { ClusterAuth } from '../cluster/clusterAuth.js';
import type { NodeConnectionStore } from '../store/nodeConnectionStore.js';

export const nodeDockerPath = (node: string) => `/internal/v1/nodes/${encodeURIComponent(node)}/docker`;
export const nodeRequestPath = (node: string) => `/internal/v1/nodes/${encodeURIComponent(node)}/request`;

export interface NodeHolder {
  replicaId: string;
  address: string;
}

export interface NodeRelayOptions {
  connections: NodeConnectionStore;
  auth: ClusterAuth;
  replicaId: () => string;
  /** The registry's cut-off: replicas that beat since then are alive. */
  liveSince: () => string;
}

export class NodeRelay {
  constructor(private readonly o: NodeRelayOptions) {}

  /** The live replica other than this one that holds the node, if any. */
  async holder(node: string): Promise<NodeHolder | undefined> {
    const h = await this.o.connections.holder(node, this.o.liveSince());
    return h && h.replicaId !== this.o.replicaId() ? h : undefined;
  }

  /** A byte stream to the node's Docker socket through `holder`. */
  async openDocker(holder: NodeHolder, node: string): Promise<Duplex> {
    const path = nodeDockerPath(node);
    const url = new URL(path, holder.address);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, {
      headers: await this.o.auth.sign('GET', path, ''),
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        reject(new Error(`replica ${holder.replicaId} answered ${res.statusCode} for node ${node}`));
      });
      ws.once('error', reject);
    });
    return createWebSocketStream(ws);
  }

  /** Runs a node request on the holder's connection; resolves with its result. */
  async request(holder: NodeHolder, node: string, method: string, params: unknown): Promise<unknown> {
    const path = nodeRequestPath(node);
    const body = JSON.stringify({ method, params });
    const res = await fetch(new URL(path, holder.address), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await this.o.auth.sign('POST', path, body)) },
      body,
      signal: AbortSignal.timeout(40_000),
    });
    const answer = (await res.json().catch(() => ({}))) as { result?: unknown; error?: { message?: string } };
    if (!res.ok)
      throw new Error(answer.error?.message ?? `replica ${holder.replicaId} answered ${res.status}`);
    return answer.result;
  }
}
