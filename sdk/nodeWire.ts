// Wire types of GET /api/v1/nodes: the hosts the runtime driver places workspaces on, with their
// health, capacity and what the workspaces on them reserve (DESIGN §2 "node").
import { z } from 'zod';
import { NodeReport } from './nodeProtocol.js';

export const NodeCapacity = z.object({
  cpu: z
    .number()
    .nullable()
    .describe(
      "CPU cores workspaces may reserve on the node (configured, else the machine's cores); null: not known, not limited.",
    ),
  memoryBytes: z
    .number()
    .nullable()
    .describe(
      "Memory workspaces may reserve on the node, in bytes (configured, else the machine's memory); null: not known, not limited.",
    ),
  maxWorkspaces: z
    .number()
    .int()
    .nullable()
    .describe(
      'Most workspaces on the node (configured, else pooling.maxTasksPerInstance); null: not limited.',
    ),
});
export type NodeCapacity = z.infer<typeof NodeCapacity>;

export const NodeItem = z.object({
  name: z.string().describe('The node name from the `nodes` config ("local" for the local driver).'),
  driver: z.string().describe('The runtime driver that owns the node: local, docker, kubernetes or ecs.'),
  healthy: z.boolean().describe('The node answered its health check just now.'),
  error: z.string().optional().describe('Why the node is unhealthy, in a sentence.'),
  cordoned: z
    .boolean()
    .optional()
    .describe('Drained (`nodes[].cordoned`): it keeps its workspaces but is given no new one.'),
  capacity: NodeCapacity,
  host: z
    .object({ cpu: z.number(), memoryBytes: z.number() })
    .nullable()
    .describe(
      "The machine's own CPU count and memory as its engine reports them; null when it does not answer.",
    ),
  used: z
    .object({
      cpu: z.number().describe('CPU cores reserved by the workspaces on the node.'),
      memoryBytes: z.number().describe('Memory reserved by the workspaces on the node, in bytes.'),
      workspaces: z
        .number()
        .int()
        .describe('Workspaces holding room on the node: running, or created and being started.'),
      running: z.number().int().describe('Of those, the ones running now.'),
    })
    .describe('What the workspaces on the node reserve (their limits), not what they use at the moment.'),
  daemon: z
    .object({
      connected: z.boolean().describe('Its `rclaude node` daemon is connected to a control-plane replica.'),
      replicaId: z.string().nullable().describe('The replica it is connected to; null when none.'),
      reportedAt: z.string().nullable().describe('When the daemon last reported.'),
      report: NodeReport.nullable().describe("The daemon's last report; null before the first."),
    })
    .optional()
    .describe('For a node reached through `rclaude node`: its daemon and what it last reported.'),
});
export type NodeItem = z.infer<typeof NodeItem>;

export const NodeList = z.object({ items: z.array(NodeItem) });
export type NodeList = z.infer<typeof NodeList>;

// ---- join tokens (server/http/routes/nodeJoinTokenRoutes.ts) ----

export const NodeJoinToken = z.object({
  id: z.string(),
  node: z.string().describe('The node name this token admits (`rclaude node --name`).'),
  prefix: z
    .string()
    .describe('First characters of the token, to recognise it; the rest is never shown again.'),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('When a node last joined with it.'),
  revokedAt: z.string().nullable(),
});
export type NodeJoinToken = z.infer<typeof NodeJoinToken>;

export const CreateNodeJoinTokenBody = z.strictObject({
  node: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: 'must be 1 to 63 letters, digits, "_", "." or "-"' })
    .describe('The node name the token admits; a node joining with it must use this --name.'),
  expiresInDays: z
    .int()
    .min(1)
    .max(3650)
    .nullable()
    .default(null)
    .describe('Lifetime in days; null (the default) for a token that never expires.'),
});
export type CreateNodeJoinTokenBody = z.input<typeof CreateNodeJoinTokenBody>;

export const CreatedNodeJoinToken = NodeJoinToken.extend({
  token: z.string().describe('The secret. Shown once, in this response only.'),
});
export type CreatedNodeJoinToken = z.infer<typeof CreatedNodeJoinToken>;

export const NodeJoinTokenList = z.object({ items: z.array(NodeJoinToken) });
