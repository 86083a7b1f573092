// The pool simulator: replays a workload trace on a virtual clock through the very code the
// control plane runs — the scheduler's pure core (schedulerCore.schedule, which also places
// workspaces on nodes) and the autoscaler (autoscaler.ts) — with node boot delays drawn from a
// seeded distribution and instance prices from config. Deterministic: the same trace and options
// give the same result, to the byte. `rclaude sim` prints and reports it (simReport.ts).
//
// The model: a task arrives for (user, repository); that pair's workspace (its size from the
// first task that names it) is started on a node with room, takes `startDelayMs` to come up, runs
// the task's turn for its duration, then idles for the task's idle-after and stops (its room goes
// back) unless another task of it is queued. Users' quotas and fair share apply as configured.
import { decay } from '../scheduler/fairShare.js';
import {
  type Limits,
  type NodeInfo,
  type Priority,
  type QueuedTask,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from '../scheduler/schedulerCore.js';
import { autoscale, type PoolAction, type PoolLimits, type PoolNode, targetTracking } from './autoscaler.js';

export interface TraceTask {
  id: string;
  atMs: number;
  user: string;
  repository: string;
  cpu: number;
  memoryBytes: number;
  durationMs: number;
  idleAfterMs: number;
  priority?: Priority | undefined;
}

export interface NodeType {
  cpu: number;
  memoryBytes: number;
  maxWorkspaces: number;
  onDemandPerHour: number;
  spotPerHour: number;
}

/** Our autoscaler; ECS-style target tracking at 100 %; one instance per task (seed 000's "current"). */
export type PoolPolicy = 'autoscaler' | 'target-tracking' | 'per-task';
export const POLICIES: readonly PoolPolicy[] = ['autoscaler', 'target-tracking', 'per-task'];

export interface PoolSimOptions {
  tasks: readonly TraceTask[];
  policy: PoolPolicy;
  limits: PoolLimits;
  /** False: the autoscaler keeps the pool at minInstances and does nothing else (default true). */
  scaling?: boolean | undefined;
  node: NodeType;
  /** Node boot time, drawn uniformly from [min, max] with `seed`. */
  bootDelayMs: { min: number; max: number };
  seed: number;
  /** From a workspace start on a ready node to its agent connecting. */
  startDelayMs: number;
  /** Every user's quotas. */
  userLimits: Limits;
  halfLifeMs: number;
  /** target-tracking: the capacity reservation it holds (1: 100 %). */
  target?: number | undefined;
  /** How often the autoscaler looks (cluster-autoscaler: 10 s). */
  scanMs?: number | undefined;
  /** The timeline's resolution. */
  sampleMs?: number | undefined;
}

export interface PoolSimAction {
  atMs: number;
  kind: PoolAction['kind'];
  count?: number | undefined;
  node?: string | undefined;
  reason: string;
}

export interface PoolSimResult {
  policy: PoolPolicy;
  tasks: number;
  /** Seconds from arrival to the start of the task's turn. */
  waits: number[];
  nodeHours: number;
  /** What the node-hours cost at on-demand and at spot prices. */
  costOnDemand: number;
  costSpot: number;
  /** Reserved CPU-time over paid CPU-time (booting nodes are paid for). */
  utilisation: number;
  maxNodes: number;
  /** Tasks that waited at some point because of one of their user's quotas. */
  quotaWaits: number;
  actions: PoolSimAction[];
  timeline: { atMs: number; nodes: number; queued: number; utilisation: number }[];
  /** Scheduling passes run (calls of the scheduler core). */
  passes: number;
  /** Tasks that never started: bigger than a node, or held for a day with nothing else going on. */
  neverStarted: number;
  endMs: number;
}

interface SimNode extends PoolNode {
  launchedAtMs: number;
  readyAtMs: number;
}

interface SimWorkspace {
  id: string;
  userId: string;
  cpu: number;
  memoryBytes: number;
  status: 'stopped' | 'starting' | 'running';
  node?: string | undefined;
  busy: boolean;
  readyAtMs: number;
  stopAtMs: number;
  /** Since when a start of it has waited for room on a node; undefined when it does not. */
  waitingSinceMs?: number | undefined;
}

/** mulberry32: a small seeded generator, so a run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function simulatePool(o: PoolSimOptions): PoolSimResult {
  return o.policy === 'per-task' ? perTask(o) : pooled(o);
}

/** Seed 000's current architecture: every task boots its own instance and gives it back at the end. */
function perTask(o: PoolSimOptions): PoolSimResult {
  const random = seededRandom(o.seed);
  const waits: number[] = [];
  let nodeMs = 0;
  let cpuMs = 0;
  let endMs = 0;
  const events: { atMs: number; delta: number }[] = [];
  for (const t of [...o.tasks].sort(byArrival)) {
    const boot = bootDelay(o, random);
    waits.push((boot + o.startDelayMs) / 1000);
    const life = boot + o.startDelayMs + t.durationMs + t.idleAfterMs;
    nodeMs += life;
    cpuMs += t.cpu * (t.durationMs + t.idleAfterMs + o.startDelayMs);
    endMs = Math.max(endMs, t.atMs + life);
    events.push({ atMs: t.atMs, delta: 1 }, { atMs: t.atMs + life, delta: -1 });
  }
  events.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
  let live = 0;
  let maxNodes = 0;
  for (const e of events) {
    live += e.delta;
    maxNodes = Math.max(maxNodes, live);
  }
  const nodeHours = nodeMs / 3_600_000;
  return {
    policy: 'per-task',
    tasks: o.tasks.length,
    waits,
    nodeHours,
    costOnDemand: nodeHours * o.node.onDemandPerHour,
    costSpot: nodeHours * o.node.spotPerHour,
    utilisation: nodeMs === 0 ? 0 : cpuMs / (nodeMs * o.node.cpu),
    maxNodes,
    quotaWaits: 0,
    actions: [],
    timeline: [],
    passes: 0,
    neverStarted: 0,
    endMs,
  };
}

const byArrival = (a: TraceTask, b: TraceTask) => a.atMs - b.atMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function bootDelay(o: PoolSimOptions, random: () => number): number {
  return Math.round(o.bootDelayMs.min + random() * (o.bootDelayMs.max - o.bootDelayMs.min));
}

const STALL_MS = 86_400_000;
const QUOTA_REASON = /\((quotas\.\w+|sessions\.maxPerUser)\)/;
const ROOM_REASON = /has no room for|No node has room/;

/** The autoscaled pool, with our autoscaler or the target-tracking baseline. */
function pooled(o: PoolSimOptions): PoolSimResult {
  const random = seededRandom(o.seed);
  const scanMs = o.scanMs ?? 10_000;
  const sampleMs = o.sampleMs ?? 5 * 60_000;
  const fixed = (input: Parameters<typeof autoscale>[0]) =>
    autoscale({
      ...input,
      waiting: [],
      limits: { ...input.limits, maxInstances: input.limits.minInstances },
    }).filter((a) => a.kind === 'add');
  const policy =
    o.policy === 'autoscaler'
      ? o.scaling === false
        ? fixed
        : autoscale
      : (input: Parameters<typeof autoscale>[0]) => targetTracking(input, { target: o.target ?? 1 });
  const arrivals = [...o.tasks].sort(byArrival);
  const capacity = { cpu: o.node.cpu, memoryBytes: o.node.memoryBytes, workspaces: o.node.maxWorkspaces };

  const nodes = new Map<string, SimNode>();
  let nodeSeq = 0;
  const workspaces = new Map<string, SimWorkspace>();
  const queue: TraceTask[] = [];
  const workspaceOf = new Map<string, SimWorkspace>();
  const turns: { task: TraceTask; ws: SimWorkspace; endMs: number }[] = [];
  const activeByUser = new Map<string, number>();
  const runningByUser = new Map<string, number>();
  /** Per user: decayed usage as of `asOfMs`, and the CPU of their workspaces starting or running. */
  const usage = new Map<string, { value: number; asOfMs: number; cpu: number }>();
  const quotaWaited = new Set<string>();
  const result: PoolSimResult = {
    policy: o.policy,
    tasks: arrivals.length,
    waits: [],
    nodeHours: 0,
    costOnDemand: 0,
    costSpot: 0,
    utilisation: 0,
    maxNodes: 0,
    quotaWaits: 0,
    actions: [],
    timeline: [],
    passes: 0,
    neverStarted: 0,
    endMs: 0,
  };
  /** The last time a turn, a workspace or a node changed: a queue held a day past it has stalled. */
  let progressMs = 0;
  let paidCpuMs = 0;
  let reservedCpuMs = 0;
  let lastScaleMs: number | undefined;
  let now = 0;
  let lastMs = 0;
  let next = 0;
  let nextScan = 0;
  let nextSample = 0;
  let dirty = false;

  const bump = (m: Map<string, number>, key: string, by: number) => m.set(key, (m.get(key) ?? 0) + by);
  const usageOf = (userId: string) => {
    let u = usage.get(userId);
    if (!u) {
      u = { value: 0, asOfMs: now, cpu: 0 };
      usage.set(userId, u);
    }
    // Accrued at the rate of the user's workspaces since the last change, then decayed.
    u.value = decay(u.value, u.asOfMs, now, o.halfLifeMs) + (u.cpu * (now - u.asOfMs)) / 1000;
    u.asOfMs = now;
    return u;
  };
  const launch = (count: number, reason: string) => {
    for (let i = 0; i < count; i++) {
      const name = `n${++nodeSeq}`;
      nodes.set(name, {
        name,
        state: 'booting',
        capacity,
        reserved: { cpu: 0, memoryBytes: 0, workspaces: 0 },
        emptySinceMs: now,
        launchedAtMs: now,
        readyAtMs: now + bootDelay(o, random),
      });
    }
    result.actions.push({ atMs: now, kind: 'add', count, reason });
    lastScaleMs = now;
    progressMs = now;
  };
  const retire = (n: SimNode, reason: string) => {
    account(n, now);
    nodes.delete(n.name);
    result.actions.push({ atMs: now, kind: 'remove', node: n.name, reason });
    lastScaleMs = now;
  };
  const account = (n: SimNode, untilMs: number) => {
    const hours = (untilMs - n.launchedAtMs) / 3_600_000;
    result.nodeHours += hours;
  };
  const stopWorkspace = (ws: SimWorkspace) => {
    const node = ws.node === undefined ? undefined : nodes.get(ws.node);
    if (node) {
      node.reserved = {
        cpu: node.reserved.cpu - ws.cpu,
        memoryBytes: node.reserved.memoryBytes - ws.memoryBytes,
        workspaces: node.reserved.workspaces - 1,
      };
      if (node.reserved.workspaces === 0) node.emptySinceMs = now;
    }
    usageOf(ws.userId).cpu -= ws.cpu;
    bump(runningByUser, ws.userId, -1);
    ws.status = 'stopped';
    ws.node = undefined;
    ws.stopAtMs = Number.POSITIVE_INFINITY;
    dirty = true;
  };

  const pass = () => {
    result.passes++;
    const users = new Map<string, UserInfo>();
    const spaces = new Map<string, WorkspaceInfo>();
    const queued: QueuedTask[] = [];
    for (const t of queue) {
      const ws = workspaceOf.get(t.id) as SimWorkspace;
      queued.push({
        id: t.id,
        userId: t.user,
        workspaceId: ws.id,
        priority: t.priority ?? 'normal',
        queuedAtMs: t.atMs,
      });
      if (!spaces.has(ws.id)) {
        spaces.set(ws.id, {
          id: ws.id,
          ownerId: ws.userId,
          status: ws.status,
          reachable: ws.status === 'running',
          busy: ws.busy,
          cpu: ws.cpu,
          memoryBytes: ws.memoryBytes,
        });
      }
      if (!users.has(t.user)) {
        users.set(t.user, {
          id: t.user,
          name: t.user,
          activeTasks: activeByUser.get(t.user) ?? 0,
          runningWorkspaces: runningByUser.get(t.user) ?? 0,
          monthSeconds: 0,
          usage: usageOf(t.user).value,
          weight: 1,
          limits: o.userLimits,
        });
      }
    }
    const free: NodeInfo[] = [];
    for (const n of nodes.values()) {
      free.push({
        name: n.name,
        accepting: n.state === 'ready',
        free: {
          cpu: n.capacity.cpu - n.reserved.cpu,
          memoryBytes: n.capacity.memoryBytes - n.reserved.memoryBytes,
          workspaces: n.capacity.workspaces - n.reserved.workspaces,
        },
      });
    }
    const decisions = schedule(
      {
        nowMs: now,
        queue: queued,
        workspaces: spaces,
        users,
        nodes: free,
        expectedTaskSeconds: 600,
        monthResetsAt: 'next month',
      },
      { positions: false },
    );
    const started = new Set<string>();
    for (const d of decisions) {
      const ws = workspaces.get(d.workspaceId as string) as SimWorkspace;
      if (d.action === 'start') {
        const task = queue.find((t) => t.id === d.taskId) as TraceTask;
        started.add(task.id);
        ws.busy = true;
        ws.stopAtMs = Number.POSITIVE_INFINITY;
        turns.push({ task, ws, endMs: now + task.durationMs });
        progressMs = now;
        bump(activeByUser, task.user, 1);
        result.waits.push((now - task.atMs) / 1000);
      } else if (d.action === 'start_workspace' && d.node !== undefined) {
        const node = nodes.get(d.node) as SimNode;
        node.reserved = {
          cpu: node.reserved.cpu + ws.cpu,
          memoryBytes: node.reserved.memoryBytes + ws.memoryBytes,
          workspaces: node.reserved.workspaces + 1,
        };
        node.emptySinceMs = undefined;
        ws.status = 'starting';
        ws.node = d.node;
        ws.readyAtMs = now + o.startDelayMs;
        ws.waitingSinceMs = undefined;
        usageOf(ws.userId).cpu += ws.cpu;
        bump(runningByUser, ws.userId, 1);
      } else if (d.action === 'wait') {
        if (QUOTA_REASON.test(d.reason)) quotaWaited.add(d.taskId);
        else if (ROOM_REASON.test(d.reason)) ws.waitingSinceMs ??= now;
      }
    }
    if (started.size > 0) {
      for (let i = queue.length - 1; i >= 0; i--)
        if (started.has((queue[i] as TraceTask).id)) queue.splice(i, 1);
    }
  };

  const scan = () => {
    const waiting = [];
    for (const ws of workspaces.values()) {
      if (ws.status === 'stopped' && ws.waitingSinceMs !== undefined) {
        waiting.push({ sinceMs: ws.waitingSinceMs, cpu: ws.cpu, memoryBytes: ws.memoryBytes });
      }
    }
    const actions = policy({
      nowMs: now,
      nodes: [...nodes.values()],
      waiting,
      newNode: capacity,
      limits: o.limits,
      lastScaleMs,
    });
    for (const a of actions) {
      if (a.kind === 'add') launch(a.count, a.reason);
      else {
        const n = nodes.get(a.node) as SimNode;
        if (a.kind === 'remove') retire(n, a.reason);
        else {
          n.state = a.kind === 'cordon' ? 'cordoned' : now >= n.readyAtMs ? 'ready' : 'booting';
          result.actions.push({ atMs: now, kind: a.kind, node: a.node, reason: a.reason });
          if (a.kind === 'uncordon') dirty = true;
        }
      }
    }
    result.maxNodes = Math.max(result.maxNodes, nodes.size);
  };

  for (;;) {
    // Time passes: paid and reserved CPU-time since the last step.
    const dt = now - lastMs;
    if (dt > 0) {
      for (const n of nodes.values()) {
        paidCpuMs += n.capacity.cpu * dt;
        reservedCpuMs += n.reserved.cpu * dt;
      }
    }
    lastMs = now;
    // What is due now.
    while (next < arrivals.length && (arrivals[next] as TraceTask).atMs <= now) {
      const t = arrivals[next++] as TraceTask;
      if (t.cpu > o.node.cpu + 1e-9 || t.memoryBytes > o.node.memoryBytes) {
        result.neverStarted++;
        continue;
      }
      const key = `${t.user}\u0000${t.repository}`;
      let ws = workspaces.get(key);
      if (!ws) {
        ws = {
          id: key,
          userId: t.user,
          cpu: t.cpu,
          memoryBytes: t.memoryBytes,
          status: 'stopped',
          busy: false,
          readyAtMs: 0,
          stopAtMs: Number.POSITIVE_INFINITY,
        };
        workspaces.set(key, ws);
      }
      workspaceOf.set(t.id, ws);
      queue.push(t);
      dirty = true;
    }
    for (const n of nodes.values()) {
      if (n.state === 'booting' && n.readyAtMs <= now) {
        n.state = 'ready';
        dirty = true;
      }
    }
    for (let i = turns.length - 1; i >= 0; i--) {
      const turn = turns[i] as (typeof turns)[number];
      if (turn.endMs > now) continue;
      turns.splice(i, 1);
      turn.ws.busy = false;
      turn.ws.stopAtMs = now + turn.task.idleAfterMs;
      bump(activeByUser, turn.task.user, -1);
      dirty = true;
    }
    for (const ws of workspaces.values()) {
      if (ws.status === 'starting' && ws.readyAtMs <= now) {
        ws.status = 'running';
        dirty = true;
      }
      if (ws.status === 'running' && !ws.busy && ws.stopAtMs <= now) {
        if (queue.some((t) => workspaceOf.get(t.id) === ws)) ws.stopAtMs = Number.POSITIVE_INFINITY;
        else stopWorkspace(ws);
      }
    }
    if (dirty) {
      dirty = false;
      pass();
    }
    if (now >= nextScan) {
      scan();
      nextScan = now + scanMs;
    }
    if (now >= nextSample) {
      const taking = [...nodes.values()].filter((n) => n.state !== 'cordoned');
      const cpu = taking.reduce((a, n) => a + n.capacity.cpu, 0);
      result.timeline.push({
        atMs: now,
        nodes: nodes.size,
        queued: queue.length,
        utilisation: cpu === 0 ? 0 : taking.reduce((a, n) => a + n.reserved.cpu, 0) / cpu,
      });
      nextSample = now + sampleMs;
    }

    const done =
      next >= arrivals.length &&
      queue.length === 0 &&
      turns.length === 0 &&
      [...workspaces.values()].every((w) => w.status === 'stopped');
    if (done) break;
    if (next >= arrivals.length && now - progressMs > STALL_MS) {
      result.neverStarted += queue.length;
      break;
    }
    // The next moment something happens.
    let at = nextScan;
    if (next < arrivals.length) at = Math.min(at, (arrivals[next] as TraceTask).atMs);
    for (const t of turns) at = Math.min(at, t.endMs);
    for (const n of nodes.values()) if (n.state === 'booting') at = Math.min(at, n.readyAtMs);
    for (const ws of workspaces.values()) {
      if (ws.status === 'starting') at = Math.min(at, ws.readyAtMs);
      else if (ws.status === 'running' && !ws.busy) at = Math.min(at, ws.stopAtMs);
    }
    at = Math.min(at, nextSample);
    now = Math.max(now, at);
  }
  for (const n of nodes.values()) account(n, now);
  result.endMs = now;
  result.costOnDemand = result.nodeHours * o.node.onDemandPerHour;
  result.costSpot = result.nodeHours * o.node.spotPerHour;
  result.utilisation = paidCpuMs === 0 ? 0 : reservedCpuMs / paidCpuMs;
  result.quotaWaits = quotaWaited.size;
  return result;
}
