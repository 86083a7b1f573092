// The control plane's side of the node channel (sdk/nodeProtocol.ts): the `rclaude node` daemons
// connected to this replica, one per node name. It gives the docker driver each remote node's
// link (drivers/docker/remoteNode.ts): a Docker socket tunnelled over the channel, and the agent
// socket directories the node serves on its own host. Which replica holds a node, and the node's
// last report, go into `node_connections`, so every replica can show them. A join token revoked
// on any replica is announced (auth/accessChanges.ts); the replica holding its node drops it.
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { NODE_REFUSED_CLOSE, nodeNotifications, serverToNode } from '../../sdk/nodeProtocol.js';
import type { NodeItem } from '../../sdk/nodeWire.js';
import { RpcError, RpcPeer } from '../../sdk/rpcPeer.js';
import type { AccessChange, AccessChanges } from '../auth/accessChanges.js';
import type { RemoteNodeLink, RemoteNodes } from '../drivers/docker/remoteNode.js';
import { DriverError } from '../drivers/runtimeDriver.js';
import type { AuditStore } from '../store/auditStore.js';
import type { NodeConnectionStore } from '../store/nodeConnectionStore.js';
import type { NodeJoinTokenStore } from '../store/nodeJoinTokenStore.js';
import { DockerTunnel } from './dockerTunnel.js';
import { admitNode, type NodeAdmitted, type NodeHandshake, type NodeRefusal } from './nodeAdmission.js';
import type { NodeRelay } from './nodeRelay.js';

export interface NodeHubOptions {
  /** `<dataDir>/run/nodes`: where the Docker tunnel sockets live. */
  runDir: string;
  /** Node names the `nodes` config reaches through a node daemon (`docker: {node}`). */
  configured: string[];
  tokens: NodeJoinTokenStore;
  connections: NodeConnectionStore;
  audit: AuditStore;
  /** Join tokens revoked on any replica; without it a connected node stays until it redials. */
  accessChanges?: AccessChanges;
  log: Logger;
  replicaId: () => string;
  /** Reaches nodes held by other replicas; without it only nodes connected here are reachable. */
  relay?: NodeRelay;
  requestTimeoutMs?: number;
}

interface Connected {
  peer: RpcPeer;
  connectedAt: number;
  /** The join token that admitted it. */
  tokenId: string;
  ip?: string;
  /** Set once it is closed for its token, so two rechecks at once close and audit it once. */
  dropped?: boolean;
}

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

export class NodeHub implements RemoteNodes {
  private readonly connected = new Map<string, Connected>();
  private readonly tunnels = new Map<string, DockerTunnel>();
  private readonly configured: ReadonlySet<string>;
  private readonly unsubscribe: () => void;

  constructor(private readonly o: NodeHubOptions) {
    this.configured = new Set(o.configured);
    this.unsubscribe = o.accessChanges?.subscribe((change) => void this.recheck(change)) ?? (() => {});
  }

  isConnected(node: string): boolean {
    return this.connected.has(node);
  }

  admit(h: NodeHandshake): Promise<NodeAdmitted | NodeRefusal> {
    return admitNode(h, { ...this.o, configured: this.configured });
  }

  /** Takes an admitted node's WebSocket; an older connection of the same node is closed. */
  accept(admitted: NodeAdmitted, ws: WebSocket, ip?: string): void {
    const { node } = admitted;
    const previous = this.connected.get(node);
    const peer = new RpcPeer(ws, {
      parity: 'even',
      requestTimeoutMs: this.o.requestTimeoutMs ?? 30_000,
      onNotification: (method, params) => this.onNotification(node, method, params),
      onProtocolError: (message) => this.o.log.warn({ node, message }, 'node broke the protocol'),
    });
    const conn: Connected = {
      peer,
      connectedAt: Date.now(),
      tokenId: admitted.tokenId,
      ...(ip ? { ip } : {}),
    };
    this.connected.set(node, conn);
    previous?.peer.close(1000, 'replaced by a newer connection');
    ws.on('close', () => {
      if (this.connected.get(node) !== conn) return;
      this.connected.delete(node);
      this.o.log.info({ node }, 'node disconnected');
      void this.o.connections
        .release(node, this.o.replicaId())
        .catch((err) => this.o.log.error({ err, node }, 'could not release the node connection row'));
    });
    this.o.log.info({ node }, 'node connected');
    void this.o.connections
      .claim(node, this.o.replicaId())
      .catch((err) => this.o.log.error({ err, node }, 'could not claim the node connection row'));
    void this.auditConnect(node, ip, { result: 'success' }, { tokenId: admitted.tokenId });
    // A revocation announced between the admission's read of the token and now found no
    // connection to drop: read the token once more (a connection is rare, the read cheap).
    void this.recheckOne(node, conn);
  }

  /**
   * Drops the connected nodes whose join token `change` revoked (every node's token is read
   * again when changes may have been missed). Resolves once done; a failed read is logged and
   * leaves its node connected.
   */
  recheck(change: AccessChange | undefined): Promise<void> {
    if (change && change.kind !== 'node_join_token') return Promise.resolve();
    const concerned = [...this.connected].filter(([, c]) => !change || c.tokenId === change.id);
    return Promise.all(concerned.map(([node, c]) => this.recheckOne(node, c))).then(() => {});
  }

  private async recheckOne(node: string, conn: Connected): Promise<void> {
    const row = await this.o.tokens.byId(conn.tokenId).catch((err) => {
      this.o.log.error({ err, node }, "could not read a connected node's join token again");
      return null;
    });
    if (row === null || (row && this.o.tokens.isUsable(row))) return;
    if (this.connected.get(node) !== conn || conn.dropped) return;
    conn.dropped = true;
    const revoked = !row || row.revoked_at !== null;
    const message = revoked
      ? 'The join token of this node was revoked.'
      : 'The join token of this node expired.';
    this.o.log.warn({ node, tokenId: conn.tokenId }, 'node disconnected: its join token no longer admits it');
    conn.peer.close(NODE_REFUSED_CLOSE, message);
    await this.auditConnect(
      node,
      conn.ip,
      { result: 'denied', statusCode: 401 },
      { reason: revoked ? 'token_revoked' : 'token_expired', tokenId: conn.tokenId, connected: true },
    );
  }

  /** A `node.connect` audit row (this replica's id in its detail); a failed write is logged. */
  private auditConnect(
    node: string,
    ip: string | undefined,
    outcome: { result: 'success' } | { result: 'denied'; statusCode: number },
    detail: Record<string, unknown>,
  ): Promise<void> {
    return this.o.audit
      .append({
        actorId: null,
        actorEmail: null,
        action: 'node.connect',
        targetType: 'node',
        targetId: node,
        ...outcome,
        ...(ip ? { ip } : {}),
        detail: { ...detail, replicaId: this.o.replicaId() },
      })
      .then(
        () => undefined,
        (err) => this.o.log.error({ err, node }, 'could not audit a node connection'),
      );
  }

  link(node: string): RemoteNodeLink {
    const hub = this;
    const tunnel = this.tunnel(node);
    return {
      socketPath: tunnel.socketPath,
      async ensureConnected() {
        await hub.ensureConnected(node);
        await tunnel.ensureListening();
      },
      async listen(workspaceId) {
        const res = await hub.call(node, 'workspace.listen', { workspaceId });
        return serverToNode['workspace.listen'].result.parse(res).socketDir;
      },
      async unlisten(workspaceId) {
        await hub.call(node, 'workspace.unlisten', { workspaceId });
      },
      daemon: () => hub.daemon(node),
    };
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const [node, c] of this.connected) {
      c.peer.close(1001, 'control plane stopping');
      await this.o.connections.release(node, this.o.replicaId()).catch(() => {});
    }
    this.connected.clear();
    await Promise.all([...this.tunnels.values()].map((t) => t.close()));
  }

  private tunnel(node: string): DockerTunnel {
    let t = this.tunnels.get(node);
    if (!t) {
      const path = join(this.o.runDir, `${node}.sock`);
      if (path.length > MAX_SOCKET_PATH) {
        throw new Error(
          `The Docker tunnel socket of node ${node}, ${path}, would be longer than ${MAX_SOCKET_PATH} bytes; use a shorter RC_DATA_DIR or node name.`,
        );
      }
      t = new DockerTunnel(path, () => this.openDocker(node), this.o.log);
      this.tunnels.set(node, t);
    }
    return t;
  }

  /**
   * A fresh stream to the node's Docker socket over this replica's own connection (internal
   * routes serve other replicas with it). @throws Error when the node is not connected here.
   */
  async openLocalDocker(node: string): Promise<Duplex> {
    const c = this.connected.get(node);
    if (!c) throw new Error(`node ${node} is not connected to this replica`);
    const channel = c.peer.openChannel();
    try {
      await c.peer.request('docker.open', { channel: channel.id });
    } catch (err) {
      channel.destroy();
      throw err;
    }
    return channel;
  }

  /**
   * A node request on this replica's own connection. @throws Error when the node is not
   * connected here; RpcError as the node answered.
   */
  async requestLocal(node: string, method: keyof typeof serverToNode, params: unknown): Promise<unknown> {
    const c = this.connected.get(node);
    if (!c) throw new Error(`node ${node} is not connected to this replica`);
    return c.peer.request(method, params);
  }

  private async openDocker(node: string): Promise<Duplex> {
    if (this.connected.has(node)) return this.openLocalDocker(node);
    const holder = await this.o.relay?.holder(node);
    if (!holder) throw new Error(`node ${node} is not connected`);
    return (this.o.relay as NodeRelay).openDocker(holder, node);
  }

  private async call(node: string, method: keyof typeof serverToNode, params: unknown): Promise<unknown> {
    await this.ensureConnected(node);
    try {
      if (this.connected.has(node)) return await this.requestLocal(node, method, params);
      const holder = await this.o.relay?.holder(node);
      if (!holder) throw new Error('its daemon disconnected meanwhile');
      return await (this.o.relay as NodeRelay).request(holder, node, method, params);
    } catch (err) {
      const why = err instanceof RpcError ? err.message : (err as Error).message;
      throw new DriverError({
        reason: 'unavailable',
        userMessage: `Docker node ${node}'s rclaude node daemon could not do ${method}: ${why}`,
        cause: err,
      });
    }
  }

  /** @throws DriverError `unavailable` naming where the node is connected, or what to do. */
  private async ensureConnected(node: string): Promise<void> {
    if (this.connected.has(node)) return;
    // Held by another live replica: calls go there (nodeRelay.ts).
    if (this.o.relay && (await this.o.relay.holder(node).catch(() => undefined))) return;
    throw new DriverError({
      reason: 'unavailable',
      userMessage: `Docker node ${node} is reached through its rclaude node daemon, which is not connected: run \`rclaude node --name ${node} --url <this control plane> --join-token <token>\` on that host.`,
    });
  }

  private async daemon(node: string): Promise<NonNullable<NodeItem['daemon']>> {
    const row = await this.o.connections.get(node).catch(() => undefined);
    const here = this.connected.has(node);
    // Another replica's row counts while that replica is alive (its heartbeat), as for agents.
    const holder = here ? undefined : await this.o.relay?.holder(node).catch(() => undefined);
    return {
      connected: here || holder !== undefined,
      replicaId: here ? this.o.replicaId() : (holder?.replicaId ?? null),
      reportedAt: row?.reportedAt ?? null,
      report: row?.report ?? null,
    };
  }

  private onNotification(node: string, method: string, params: unknown): void {
    if (method !== 'node.report') return;
    const report = nodeNotifications['node.report'].safeParse(params);
    if (!report.success) {
      this.o.log.warn({ node }, 'node sent a malformed report');
      return;
    }
    void this.o.connections
      .report(node, this.o.replicaId(), report.data)
      .catch((err) => this.o.log.warn({ err, node }, 'could not store a node report'));
  }
}
