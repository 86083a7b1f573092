// A large, deterministic scheduler input for the benchmark: Q queued tasks of U users, N nodes,
// the queue in the order the store hands it over.
import {
  type NodeInfo,
  PRIORITIES,
  type QueuedTask,
  type SchedulerInput,
  type UserInfo,
  type WorkspaceInfo,
} from '../../server/scheduler/schedulerCore.js';

const GiB = 2 ** 30;

/** A deterministic pseudo-random sequence, so every run measures the same queue. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

/** A new copy of the string (not the same object), as each row of a query result has its own. */
const fresh = (s: string) => Buffer.from(s).toString();

export function bigInput(Q: number, U: number, N: number): SchedulerInput {
  const r = rng(42);
  const users = new Map<string, UserInfo>();
  for (let i = 0; i < U; i++) {
    users.set(`u${i}`, {
      id: `u${i}`,
      name: `user ${i}`,
      activeTasks: Math.floor(r() * 3),
      runningWorkspaces: Math.floor(r() * 4),
      monthSeconds: r() * 90 * 3600,
      usage: r() * 1e6,
      weight: 1 + Math.floor(r() * 3),
      limits: { concurrentTasks: 3, runningWorkspaces: 5, monthlySeconds: 100 * 3600 },
    });
  }
  const workspaces = new Map<string, WorkspaceInfo>();
  const queue: QueuedTask[] = [];
  const statuses = ['running', 'stopped', 'starting', 'stopped', 'running'];
  for (let i = 0; i < Q; i++) {
    const userId = `u${Math.floor(r() * U)}`;
    // A workspace is its owner's: each user's tasks go to a handful of their repositories.
    const workspaceId = `w${userId}-${Math.floor(r() * Math.max(1, (Q * 0.6) / U))}`;
    if (!workspaces.has(workspaceId)) {
      const status = statuses[Math.floor(r() * statuses.length)] as string;
      workspaces.set(workspaceId, {
        id: workspaceId,
        ownerId: userId,
        status,
        reachable: status === 'running',
        busy: status === 'running' && r() < 0.5,
        cpu: [0.5, 1, 2][Math.floor(r() * 3)] as number,
        memoryBytes: ([1, 2, 4][Math.floor(r() * 3)] as number) * GiB,
      });
    }
    queue.push({
      id: `t${i}`,
      userId,
      workspaceId,
      priority: PRIORITIES[r() < 0.05 ? 2 : r() < 0.1 ? 0 : 1] as QueuedTask['priority'],
      queuedAtMs: Math.floor(r() * 86_400_000),
    });
  }
  const nodes: NodeInfo[] = Array.from({ length: N }, (_, i) => ({
    name: `n${i}`,
    accepting: r() > 0.02,
    free: {
      cpu: Math.floor(r() * 5) / 2,
      memoryBytes: Math.floor(r() * 9) * GiB,
      workspaces: Math.floor(r() * 4),
    },
  }));
  // The store's order (schedulerStore.snapshot): by owner, then arrival, then id.
  const byOwner = (a: QueuedTask, b: QueuedTask) =>
    a.userId < b.userId
      ? -1
      : a.userId > b.userId
        ? 1
        : a.queuedAtMs - b.queuedAtMs || (a.id < b.id ? -1 : 1);
  return {
    nowMs: 86_400_000,
    // Made in that order, strings and all, as the database driver makes its rows.
    queue: queue.sort(byOwner).map((t) => ({
      ...t,
      id: fresh(t.id),
      userId: fresh(t.userId),
      workspaceId: t.workspaceId === null ? null : fresh(t.workspaceId),
    })),
    users,
    workspaces,
    nodes,
    expectedTaskSeconds: 600,
    monthResetsAt: 'on 2027-01-01 (UTC)',
  };
}
