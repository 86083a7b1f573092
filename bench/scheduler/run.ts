// `npm run bench:scheduler`: the scheduler core's figures, each beside its baseline in the same run.
//
//   1. pass: one scheduling pass (schedulerCore.schedule) over Q queued tasks of U users with N
//      nodes, p50/p99 over R passes, beside sorting the same queue by arrival (target: p99 ≤ 2 ms
//      at 10,000 tasks, 500 users, 1,000 nodes);
//   2. burst: the fairness test's burst on the virtual clock (queueSim.ts) — user A submits 30
//      tasks, then B 3; B's mean wait beside A's (target: ≤ ⅕).
//
//   npm run bench:scheduler [-- --tasks 10000] [--users 500] [--nodes 1000] [--passes 200]
//
// Pure computation, no I/O: nothing to clean up.
import { parseArgs } from 'node:util';
import { simulate } from '../../server/scheduler/queueSim.js';
import {
  type NodeInfo,
  PRIORITIES,
  type QueuedTask,
  type SchedulerInput,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from '../../server/scheduler/schedulerCore.js';
import { intFlag, pct } from '../benchStats.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    users: { type: 'string', default: '500' },
    nodes: { type: 'string', default: '1000' },
    passes: { type: 'string', default: '200' },
  },
});
const Q = intFlag('tasks', values.tasks, 1_000_000);
const U = intFlag('users', values.users, 100_000);
const N = intFlag('nodes', values.nodes, 100_000);
const R = intFlag('passes', values.passes, 100_000);
const GiB = 2 ** 30;

/** A deterministic pseudo-random sequence, so every run measures the same queue. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function bigInput(): SchedulerInput {
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
    const workspaceId = `w${Math.floor(r() * Q * 0.6)}`;
    if (!workspaces.has(workspaceId)) {
      const status = statuses[Math.floor(r() * statuses.length)] as string;
      workspaces.set(workspaceId, {
        id: workspaceId,
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
  return {
    nowMs: 86_400_000,
    queue,
    users,
    workspaces,
    nodes,
    expectedTaskSeconds: 600,
    monthResetsAt: 'on 2027-01-01 (UTC)',
  };
}

function timeIt(fn: () => void): number[] {
  for (let i = 0; i < 10; i++) fn(); // warm up
  const out: number[] = [];
  for (let i = 0; i < R; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

const input = bigInput();
// Interleaved, so a noisy moment on the machine hits both alike.
const passes: number[] = [];
const sorts: number[] = [];
for (let round = 0; round < 4; round++) {
  const n = Math.ceil(R / 4);
  passes.push(...timeIt(() => schedule(input)).slice(0, n));
  sorts.push(...timeIt(() => [...input.queue].sort((a, b) => a.queuedAtMs - b.queuedAtMs)).slice(0, n));
}
const decisions = schedule(input);
const counts = new Map<string, number>();
for (const d of decisions) counts.set(d.action, (counts.get(d.action) ?? 0) + 1);
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms`;
console.log(
  `pass: ${Q} queued tasks, ${U} users, ${N} nodes (${[...counts].map(([a, n]) => `${n} ${a}`).join(', ')})`,
);
console.log(`  schedule():       ${fmt(passes)}`);
console.log(`  sort by arrival:  ${fmt(sorts)}  (baseline)`);
console.log(
  `  ratio p99: ${(pct(passes, 99) / pct(sorts, 99)).toFixed(2)}×; target p99 ≤ 2 ms: ${pct(passes, 99) <= 2 ? 'met' : 'MISSED'}`,
);

const limits = { concurrentTasks: 3, runningWorkspaces: 5, monthlySeconds: 100 * 3600 };
const burst = simulate({
  users: [
    { id: 'A', limits },
    { id: 'B', limits },
  ],
  tasks: [
    ...Array.from({ length: 30 }, (_, i) => ({
      id: `A${i}`,
      userId: 'A',
      workspaceId: `A${i}`,
      atMs: 0,
      durationMs: 60_000,
    })),
    ...Array.from({ length: 3 }, (_, i) => ({
      id: `B${i}`,
      userId: 'B',
      workspaceId: `B${i}`,
      atMs: 1_000,
      durationMs: 60_000,
    })),
  ],
  nodes: [{ name: 'n', cpu: 4, memoryBytes: 64 * GiB, maxWorkspaces: 4 }],
  workspace: { cpu: 1, memoryBytes: 2 * GiB },
  startDelayMs: 2_000,
  halfLifeMs: 7 * 86_400_000,
});
const meanWait = (prefix: string) => {
  const w = [...burst.tasks]
    .filter(([id]) => id.startsWith(prefix))
    .map(([, t]) => (t.startedAtMs ?? Number.NaN) - t.queuedAtMs);
  return w.reduce((a, b) => a + b, 0) / w.length / 1000;
};
const a = meanWait('A');
const b = meanWait('B');
console.log('burst: A submits 30 tasks of 60 s, then B 3; one node of 4 workspaces; default quotas');
console.log(
  `  B mean wait ${b.toFixed(1)} s beside A's ${a.toFixed(1)} s: ${(b / a).toFixed(2)} (target ≤ 0.20: ${b / a <= 0.2 ? 'met' : 'MISSED'})`,
);
