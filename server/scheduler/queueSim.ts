// A discrete-event simulation of the queue on a virtual clock, driving the scheduler's pure core
// (schedulerCore.ts) exactly as the pass does: tasks arrive, the core decides, workspaces take a
// while to start, turns run for their duration, a workspace stops when its task ends (so its node
// room goes back to the pool) and usage accrues as workspace-CPU-seconds with a half-life. Used by
// the fairness tests and `npm run bench:scheduler`; the pool issue's simulator builds on it.
import { decay } from './fairShare.js';
import {
  type Limits,
  type NodeInfo,
  type Priority,
  type QueuedTask,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from './schedulerCore.js';

export interface SimUser {
  id: string;
  weight?: number;
  limits: Limits;
}

export interface SimTask {
  id: string;
  userId: string;
  /** Its own workspace unless several tasks name the same one. */
  workspaceId: string;
  atMs: number;
  durationMs: number;
  priority?: Priority;
}

export interface SimOptions {
  users: readonly SimUser[];
  tasks: readonly SimTask[];
  nodes: readonly { name: string; cpu: number; memoryBytes: number; maxWorkspaces: number }[];
  /** Every workspace's size. */
  workspace: { cpu: number; memoryBytes: number };
  /** From a workspace start to its agent connecting. */
  startDelayMs: number;
  halfLifeMs: number;
  /** Stop after this much virtual time even if tasks remain. */
  untilMs?: number;
}

export interface SimResult {
  /** Per task: when it was queued, started (its turn) and finished; undefined when it never did. */
  tasks: Map<string, { queuedAtMs: number; startedAtMs?: number; finishedAtMs?: number }>;
  passes: number;
}

interface SimWorkspace {
  id: string;
  userId: string;
  status: 'stopped' | 'starting' | 'running';
  node?: string;
  busy: boolean;
  readyAtMs?: number;
}

export function simulate(o: SimOptions): SimResult {
  const usage = new Map<string, { value: number; asOfMs: number }>();
  const workspaces = new Map<string, SimWorkspace>();
  for (const t of o.tasks) {
    if (!workspaces.has(t.workspaceId))
      workspaces.set(t.workspaceId, { id: t.workspaceId, userId: t.userId, status: 'stopped', busy: false });
  }
  const arrivals = [...o.tasks].sort((a, b) => a.atMs - b.atMs);
  const result: SimResult = { tasks: new Map(), passes: 0 };
  const queue: SimTask[] = [];
  const running: { task: SimTask; endMs: number }[] = [];
  let next = 0;
  let now = 0;
  const meanSeconds = o.tasks.reduce((a, t) => a + t.durationMs, 0) / Math.max(1, o.tasks.length) / 1000;

  const accrue = (userId: string, cpuSeconds: number) => {
    const prev = usage.get(userId) ?? { value: 0, asOfMs: now };
    usage.set(userId, { value: decay(prev.value, prev.asOfMs, now, o.halfLifeMs) + cpuSeconds, asOfMs: now });
  };

  let lastMs = 0;
  for (;;) {
    // Usage accrues for every workspace starting or running, as the pass's metering does.
    for (const w of workspaces.values()) {
      if (w.status !== 'stopped') accrue(w.userId, (o.workspace.cpu * (now - lastMs)) / 1000);
    }
    lastMs = now;
    // Events due now: arrivals, workspaces becoming ready, turns ending.
    while (next < arrivals.length && (arrivals[next] as SimTask).atMs <= now) {
      const t = arrivals[next++] as SimTask;
      queue.push(t);
      result.tasks.set(t.id, { queuedAtMs: t.atMs });
    }
    for (const w of workspaces.values()) {
      if (w.status === 'starting' && (w.readyAtMs ?? 0) <= now) w.status = 'running';
    }
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i] as { task: SimTask; endMs: number };
      if (r.endMs > now) continue;
      running.splice(i, 1);
      const rec = result.tasks.get(r.task.id);
      if (rec) rec.finishedAtMs = r.endMs;
      const w = workspaces.get(r.task.workspaceId) as SimWorkspace;
      w.busy = false;
      if (!queue.some((q) => q.workspaceId === w.id)) {
        w.status = 'stopped';
        delete w.node;
      }
    }

    // One pass of the core.
    result.passes++;
    const decisions = schedule({
      nowMs: now,
      queue: queue.map(
        (t): QueuedTask => ({
          id: t.id,
          userId: t.userId,
          workspaceId: t.workspaceId,
          priority: t.priority ?? 'normal',
          queuedAtMs: t.atMs,
        }),
      ),
      workspaces: new Map(
        [...workspaces.values()].map((w): [string, WorkspaceInfo] => [
          w.id,
          {
            id: w.id,
            ownerId: w.userId,
            status: w.status,
            reachable: w.status === 'running',
            busy: w.busy,
            cpu: o.workspace.cpu,
            memoryBytes: o.workspace.memoryBytes,
          },
        ]),
      ),
      users: new Map(
        o.users.map((u): [string, UserInfo] => {
          const mine = [...workspaces.values()].filter((w) => w.userId === u.id);
          const u0 = usage.get(u.id);
          return [
            u.id,
            {
              id: u.id,
              name: u.id,
              activeTasks: running.filter((r) => r.task.userId === u.id).length,
              runningWorkspaces: mine.filter((w) => w.status !== 'stopped').length,
              monthSeconds: 0,
              usage: u0 ? decay(u0.value, u0.asOfMs, now, o.halfLifeMs) : 0,
              weight: u.weight ?? 1,
              limits: u.limits,
            },
          ];
        }),
      ),
      nodes: o.nodes.map((n): NodeInfo => {
        const on = [...workspaces.values()].filter((w) => w.status !== 'stopped' && w.node === n.name).length;
        return {
          name: n.name,
          accepting: true,
          free: {
            cpu: n.cpu - on * o.workspace.cpu,
            memoryBytes: n.memoryBytes - on * o.workspace.memoryBytes,
            workspaces: n.maxWorkspaces - on,
          },
        };
      }),
      expectedTaskSeconds: meanSeconds,
      monthResetsAt: 'next month',
    });
    for (const d of decisions) {
      const w = d.workspaceId ? workspaces.get(d.workspaceId) : undefined;
      if (!w) continue;
      if (d.action === 'start_workspace') {
        w.status = 'starting';
        w.readyAtMs = now + o.startDelayMs;
        if (d.node) w.node = d.node;
      } else if (d.action === 'start') {
        const i = queue.findIndex((q) => q.id === d.taskId);
        const task = queue[i] as SimTask;
        queue.splice(i, 1);
        w.busy = true;
        running.push({ task, endMs: now + task.durationMs });
        const rec = result.tasks.get(task.id);
        if (rec) rec.startedAtMs = now;
      }
    }

    // The next event.
    const times = [
      next < arrivals.length ? (arrivals[next] as SimTask).atMs : Number.POSITIVE_INFINITY,
      ...running.map((r) => r.endMs),
      ...[...workspaces.values()].filter((w) => w.status === 'starting').map((w) => w.readyAtMs ?? now),
    ];
    const at = Math.min(...times);
    if (!Number.isFinite(at) || (o.untilMs !== undefined && at > o.untilMs)) break;
    now = Math.max(now, at);
  }
  return result;
}

/** `count` tasks of `userId`, each in its own workspace, all arriving at `atMs` and running `durationMs`. */
export function burst(userId: string, count: number, atMs: number, durationMs: number): SimTask[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${userId}${i}`,
    userId,
    workspaceId: `${userId}${i}`,
    atMs,
    durationMs,
  }));
}
