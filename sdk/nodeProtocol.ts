// The node channel (DESIGN §4, §6): one WebSocket from each `rclaude node` daemon to the control
// plane, `GET /api/v1/nodes/connect?v=<version>` with `Authorization: Bearer <join token>` and
// `x-rc-node: <node name>`. The node dials out, so no inbound port is open on its host. It speaks
// the agent channel's framing (sdk/rpcPeer.ts): JSON-RPC text frames, binary channels. The server
// allocates even channel ids, the node odd ones.
import { z } from 'zod';
import { WS_UNAUTHORIZED } from './limits.js';

export const NODE_PROTOCOL_VERSION = 1;
export const SUPPORTED_NODE_PROTOCOL_VERSIONS: readonly number[] = [1];
export const NODE_CONNECT_PATH = '/api/v1/nodes/connect';
/** The header a node names itself in. */
export const NODE_NAME_HEADER = 'x-rc-node';
/**
 * The close code of an open node connection whose join token stopped working (it was revoked),
 * the reason a sentence. As after a refused dial (401), the daemon stops instead of redialling.
 */
export const NODE_REFUSED_CLOSE = WS_UNAUTHORIZED;
/** How often a node sends `node.report`. */
export const NODE_REPORT_INTERVAL_MS = 3000;

/** A node name as the `nodes` config spells it. */
export const NodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: 'must be 1 to 63 letters, digits, "_", "." or "-"' });

const ChannelId = z.int().min(1).max(0xffffffff);
/** As server/drivers/ensureValidSpec.ts's WORKSPACE_ID_PATTERN: it names a directory on the node. */
const WorkspaceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be a workspace id' });

/** Requests the server sends to a node. */
export const serverToNode = {
  /** Connects `channel` to the node's local Docker socket, byte for byte, until either side ends. */
  'docker.open': { params: z.strictObject({ channel: ChannelId }), result: z.object({}) },
  /**
   * Listens for the workspace's agent on `<runDir>/<id>/agent.sock` (idempotent); answers the
   * host directory the driver binds into the container.
   */
  'workspace.listen': {
    params: z.strictObject({ workspaceId: WorkspaceId }),
    result: z.object({ socketDir: z.string().startsWith('/') }),
  },
  /** Stops listening and removes the socket directory (idempotent). */
  'workspace.unlisten': { params: z.strictObject({ workspaceId: WorkspaceId }), result: z.object({}) },
} as const;

/** What a node says about its host, every NODE_REPORT_INTERVAL_MS. */
export const NodeReport = z.object({
  cpu: z.number().describe("The host's CPU count, as its Docker daemon reports it."),
  memoryBytes: z.number().describe("The host's memory in bytes, as its Docker daemon reports it."),
  dockerVersion: z.string().nullable().describe('The Docker engine version; null when it does not answer.'),
  containers: z.int().describe('Containers running on the host (all of them, not only workspaces).'),
  healthy: z.boolean().describe('The node daemon reached its Docker daemon just now.'),
  error: z.string().optional().describe('Why it is unhealthy, in a sentence.'),
  cgroupParent: z
    .object({
      path: z
        .string()
        .startsWith('/')
        .nullable()
        .describe(
          "The cgroup the daemon prepared for every workspace container (Docker's CgroupParent); null when it prepared none, and the control plane keeps Docker's default parent.",
        ),
      cpuCap: z
        .number()
        .nullable()
        .describe(
          "CPU cores all workspace containers together are capped at (the host's CPUs minus --reserved-cpu); null: no cap.",
        ),
      reason: z.string().optional().describe('Why it prepared none, in a sentence.'),
    })
    .optional()
    .describe(
      'The parent cgroup of the workspace containers on the host (cli/node/nodeCgroup.ts); absent from older daemons.',
    ),
});
export type NodeReport = z.infer<typeof NodeReport>;

/** Notifications a node sends. */
export const nodeNotifications = { 'node.report': NodeReport } as const;
