// A Docker host on another machine reached through its `rclaude node` daemon (config
// `docker: {node: <name>}`): what the docker driver needs of it. The control plane's side of the
// node channel (server/nodes/nodeHub.ts) implements it; the driver only sees this contract.
import type { NodeItem } from '../../../sdk/nodeWire.js';

export interface RemoteNodeLink {
  /**
   * A unix socket on this machine; each connection to it is tunnelled to the node's own Docker
   * socket (`docker.open`), so dockerode talks to the remote daemon as if it were local.
   */
  readonly socketPath: string;
  /**
   * Resolves when the node's daemon is connected to this replica (and its tunnel socket listens).
   * @throws DriverError `unavailable` with a sentence saying where the node is or what to do.
   */
  ensureConnected(): Promise<void>;
  /**
   * Has the node listen for the workspace's agent (idempotent) and returns the directory on the
   * node's host to bind into the container; the node relays the agent to `/api/v1/agent`.
   * @throws DriverError `unavailable`.
   */
  listen(workspaceId: string): Promise<string>;
  /** Has the node stop listening for the workspace (idempotent). @throws DriverError `unavailable`. */
  unlisten(workspaceId: string): Promise<void>;
  /** The node daemon's connection and last report, for GET /api/v1/nodes. Never throws. */
  daemon(): Promise<NonNullable<NodeItem['daemon']>>;
}

/** Where the driver finds the link of each `{node}` endpoint. */
export interface RemoteNodes {
  link(nodeName: string): RemoteNodeLink;
}
