// Wire types of GET /api/v1/replicas: the control-plane replicas sharing the database
// (DESIGN §9), as the replica registry (server/cluster/replicaRegistry.ts) holds them.
import { z } from 'zod';

export const ReplicaItem = z.object({
  id: z.string().describe('The replica id, new at every start.'),
  address: z
    .string()
    .describe('Where the other replicas reach it (server.replicaUrl or its listen address).'),
  version: z.string().describe('The rclaude version it runs.'),
  schemaVersion: z.string().describe('The newest database migration it knows.'),
  startedAt: z.string().describe('When it registered (ISO 8601).'),
  heartbeatAt: z.string().describe('Its last heartbeat (ISO 8601).'),
  alive: z
    .boolean()
    .describe(
      'It beat within the last three heartbeat periods; a dead one is removed once it has been seen.',
    ),
  agents: z.number().int().describe('Workspace agents connected to it, as of its last heartbeat.'),
  self: z.boolean().describe('It is the replica that answered this request.'),
});
export type ReplicaItem = z.infer<typeof ReplicaItem>;

export const ReplicaList = z.object({ items: z.array(ReplicaItem) });
export type ReplicaList = z.infer<typeof ReplicaList>;
