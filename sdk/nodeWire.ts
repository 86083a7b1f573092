// Wire types of GET /api/v1/nodes: the hosts the runtime driver places workspaces on, with their
// health, capacity and what the workspaces on them reserve (DESIGN §2 "node").
import { z } from 'zod';

export const NodeCapacity = z.object({
  cpu: z
    .number()
    .nullable()
    .describe('CPU cores workspaces may reserve on the node; null: not limited (CPU is shared).'),
  memoryBytes: z
    .number()
    .nullable()
    .describe('Memory workspaces may reserve on the node, in bytes; null: not limited.'),
  maxWorkspaces: z.number().int().nullable().describe('Most workspaces on the node; null: not limited.'),
});
export type NodeCapacity = z.infer<typeof NodeCapacity>;

export const NodeItem = z.object({
  name: z.string().describe('The node name from the `nodes` config ("local" for the local driver).'),
  driver: z.string().describe('The runtime driver that owns the node: local, docker, kubernetes or ecs.'),
  healthy: z.boolean().describe('The node answered its health check just now.'),
  error: z.string().optional().describe('Why the node is unhealthy, in a sentence.'),
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
      workspaces: z.number().int().describe('Workspaces placed on the node, running or stopped.'),
      running: z.number().int().describe('Of those, the ones running now.'),
    })
    .describe('What the workspaces on the node reserve (their limits), not what they use at the moment.'),
});
export type NodeItem = z.infer<typeof NodeItem>;

export const NodeList = z.object({ items: z.array(NodeItem) });
export type NodeList = z.infer<typeof NodeList>;
