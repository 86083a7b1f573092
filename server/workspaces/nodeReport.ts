// GET /api/v1/nodes: the driver's own report when it places workspaces on several nodes
// (NodeReporter), else this machine as the one node, with the workspaces the store says run on it.
import { availableParallelism, totalmem } from 'node:os';
import type { NodeItem } from '../../sdk/nodeWire.js';
import { isNodeReporter } from '../drivers/nodeReporter.js';
import type { RuntimeDriver } from '../drivers/runtimeDriver.js';
import type { NodeInfo } from '../scheduler/schedulerCore.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';

export async function nodeReport(driver: RuntimeDriver, store: WorkspaceStore): Promise<NodeItem[]> {
  if (isNodeReporter(driver)) return driver.nodes();
  const active = await store.listActive();
  const running = active.filter((w) => w.status === 'starting' || w.status === 'running');
  const host = { cpu: availableParallelism(), memoryBytes: totalmem() };
  return [
    {
      name: driver.kind,
      driver: driver.kind,
      healthy: true,
      // One machine, no placement: what it has is all workspaces can get.
      capacity: { ...host, maxWorkspaces: null },
      host,
      used: {
        cpu: running.reduce((n, w) => n + Number(w.cpu), 0),
        memoryBytes: running.reduce((n, w) => n + Number(w.memory_bytes), 0),
        workspaces: running.length,
        running: running.length,
      },
    },
  ];
}

/** A reported node as the scheduler sees it: whether it takes workspaces, and the room left on it. */
export function toNodeInfo(n: NodeItem): NodeInfo {
  const left = (cap: number | null, used: number) => (cap === null ? Number.POSITIVE_INFINITY : cap - used);
  return {
    name: n.name,
    accepting: n.healthy && !n.cordoned,
    free: {
      cpu: left(n.capacity.cpu, n.used.cpu),
      memoryBytes: left(n.capacity.memoryBytes, n.used.memoryBytes),
      workspaces: left(n.capacity.maxWorkspaces, n.used.workspaces),
    },
  };
}
