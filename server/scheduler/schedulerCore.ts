// The scheduler's decisions, as a pure function of what the store says now (DESIGN §8): which
// queued tasks start, which workspaces start for them, and why each of the others waits. No I/O
// and no clock of its own, so the scheduler pass (scheduler.ts) and a simulator on a virtual clock
// run the very same code.
//
// Order: priority (high, normal, low), then fair share between users, then arrival. Fair share is
// Slurm's classic factor (fairShare.ts); between two users the one with less decayed usage per
// unit of weight goes first. Within one pass every admission charges its user an expected usage,
// so when several places free at once they go round the users instead of all to one.
//
// A task that cannot start now does not hold up the ones behind it (no head-of-line blocking):
// another user's task, or a smaller workspace that fits, may pass it. Each waiting task gets the
// first reason that holds it, in words ("alice has 3 of 3 concurrent tasks").

export type Priority = 'low' | 'normal' | 'high';
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high'];
const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

export interface QueuedTask {
  id: string;
  userId: string;
  workspaceId: string | null;
  priority: Priority;
  /** When it (last) joined the queue: created, or resumed by a follow-up. */
  queuedAtMs: number;
}

export interface WorkspaceInfo {
  id: string;
  /** pending, starting, running, stopping, stopped or failed. */
  status: string;
  /** Whether its agent is connected (to some replica). */
  reachable: boolean;
  /** Whether a task's turn runs in it now (one at a time). */
  busy: boolean;
  cpu: number;
  memoryBytes: number;
  /** The node holding its files, when that pins where it starts. */
  node?: string | undefined;
  /** Its last start found no node with room: it is not started again before then. */
  heldUntilMs?: number | undefined;
  /** For a failed workspace: when it failed; tasks queued before then fail with it. */
  failedAtMs?: number | undefined;
  statusReason?: string | null | undefined;
}

export interface Limits {
  concurrentTasks: number;
  runningWorkspaces: number;
  /** Workspace-seconds per calendar month (UTC). */
  monthlySeconds: number;
}

export interface UserInfo {
  id: string;
  /** How reasons name the user. */
  name: string;
  /** Tasks whose turn runs, starts or waits for an approval. */
  activeTasks: number;
  /** Workspaces starting or running. */
  runningWorkspaces: number;
  /** Workspace-seconds used this month. */
  monthSeconds: number;
  /** Decayed workspace-CPU-seconds. */
  usage: number;
  /** Fair-share weight (teams carry weights), > 0. */
  weight: number;
  limits: Limits;
}

/** A node the scheduler may start workspaces on, with what is free on it now. */
export interface NodeInfo {
  name: string;
  /** False for a node that is drained, unhealthy or unreachable: it receives nothing. */
  accepting: boolean;
  free: { cpu: number; memoryBytes: number; workspaces: number };
}

export interface SchedulerInput {
  nowMs: number;
  queue: readonly QueuedTask[];
  workspaces: ReadonlyMap<string, WorkspaceInfo>;
  users: ReadonlyMap<string, UserInfo>;
  /** When known, starts are checked against the nodes' free capacity; else the driver decides. */
  nodes?: readonly NodeInfo[] | undefined;
  /** What one admission is expected to use, in seconds of its workspace's CPU (in-pass fair share). */
  expectedTaskSeconds: number;
  /** When this month's allowances reset, in the words of the reason. */
  monthResetsAt: string;
}

export type Action =
  /** Start the task's turn now: its workspace runs and is free. */
  | 'start'
  /** Start the task's workspace (on `node`, when the scheduler placed it); the task then waits for it. */
  | 'start_workspace'
  | 'wait'
  /** It can never start: its workspace is gone or failed after it was queued. */
  | 'fail';

export interface QueueDecision {
  taskId: string;
  /** 1 for the first in the queue's order. */
  position: number;
  action: Action;
  /** Why it waits (or fails); for `start_workspace`, what it then waits for. */
  reason: string;
  workspaceId: string | null;
  node?: string | undefined;
}

export const WAITING_FOR_START = 'Waiting for its workspace to start';

const hours = (seconds: number) => {
  const h = seconds / 3600;
  return Number.isInteger(h) ? String(h) : h.toFixed(1);
};

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

interface Lane {
  user: UserInfo;
  tasks: QueuedTask[];
  next: number;
  /** Usage plus what this pass admitted, over weight. */
  key: number;
  /** The head task's priority rank, arrival and id (the heap's order). */
  headRank: number;
  headAt: number;
  headId: string;
  /** Tasks admitted in this pass. */
  admitted: number;
  /** Tasks admitted earlier whose workspace is still starting (they count as running). */
  inFlight: number;
  workspacesStarted: number;
  /** Reason sentences already built in this pass. */
  reasons: Map<string, string>;
}

/** Lane a goes before lane b: its head's priority, then usage per weight, then its head's arrival. */
function before(a: Lane, b: Lane): boolean {
  if (a.headRank !== b.headRank) return a.headRank < b.headRank;
  if (a.key !== b.key) return a.key < b.key;
  if (a.headAt !== b.headAt) return a.headAt < b.headAt;
  return a.headId < b.headId;
}

/**
 * A binary heap of lanes, best first. Serving a lane changes only that lane, so the pass replaces
 * the top and sifts it down once, instead of a pop and a push.
 */
class LaneHeap {
  private readonly h: Lane[] = [];

  constructor(lanes: Iterable<Lane>) {
    for (const lane of lanes) this.h.push(lane);
    for (let i = (this.h.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get top(): Lane | undefined {
    return this.h[0];
  }

  /** The top lane changed: move it to its place. */
  topChanged(): void {
    this.down(0);
  }

  /** Removes the top lane. */
  dropTop(): void {
    const last = this.h.pop();
    if (this.h.length > 0 && last) {
      this.h[0] = last;
      this.down(0);
    }
  }

  private down(from: number): void {
    const h = this.h;
    const n = h.length;
    let i = from;
    const item = h[i] as Lane;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r] as Lane, h[l] as Lane) ? r : l;
      if (!before(h[c] as Lane, item)) break;
      h[i] = h[c] as Lane;
      i = c;
    }
    h[i] = item;
  }
}

/** Free capacity of the nodes during one pass, with a quick bound for "nothing fits anywhere". */
class Capacity {
  private readonly nodes: NodeInfo['free'][];
  private readonly names: string[];
  private maxCpu = 0;
  private maxMemory = 0;
  private readonly failed: { cpu: number; memoryBytes: number }[] = [];
  private readonly index: Map<string, number>;

  constructor(nodes: readonly NodeInfo[]) {
    const accepting = nodes.filter((n) => n.accepting);
    this.nodes = accepting.map((n) => ({ ...n.free }));
    this.names = accepting.map((n) => n.name);
    this.index = new Map(this.names.map((name, i) => [name, i]));
    this.bounds();
  }

  private bounds(): void {
    this.maxCpu = 0;
    this.maxMemory = 0;
    for (const f of this.nodes) {
      if (f.workspaces < 1) continue;
      if (f.cpu > this.maxCpu) this.maxCpu = f.cpu;
      if (f.memoryBytes > this.maxMemory) this.maxMemory = f.memoryBytes;
    }
  }

  /**
   * Reserves room for a workspace: on `pinned` only, when given; else on the fullest node it fits
   * (most-allocated first, so that whole nodes stay free). The node's name, or undefined.
   */
  take(cpu: number, memoryBytes: number, pinned: string | undefined): string | undefined {
    if (cpu > this.maxCpu + 1e-9 || memoryBytes > this.maxMemory) return undefined;
    // Room only shrinks during a pass: a size that found none still finds none, nor does a bigger one.
    if (pinned === undefined) {
      for (const f of this.failed) if (f.cpu <= cpu && f.memoryBytes <= memoryBytes) return undefined;
    }
    let best = -1;
    if (pinned !== undefined) {
      const i = this.index.get(pinned);
      const f = i === undefined ? undefined : this.nodes[i];
      if (i !== undefined && f && f.workspaces >= 1 && f.cpu + 1e-9 >= cpu && f.memoryBytes >= memoryBytes)
        best = i;
    } else {
      let bestCpu = Number.POSITIVE_INFINITY;
      for (let i = 0; i < this.nodes.length; i++) {
        const f = this.nodes[i] as NodeInfo['free'];
        // `best >= 0`: a node without a limit (Infinity free, Fargate) must still be taken.
        if (
          f.workspaces < 1 ||
          f.cpu + 1e-9 < cpu ||
          f.memoryBytes < memoryBytes ||
          (best >= 0 && f.cpu >= bestCpu)
        )
          continue;
        best = i;
        bestCpu = f.cpu;
        if (f.cpu <= cpu + 1e-9) break; // an exact fit: no node is fuller
      }
    }
    if (best < 0) {
      if (pinned === undefined) this.failed.push({ cpu, memoryBytes });
      return undefined;
    }
    const f = this.nodes[best] as NodeInfo['free'];
    const wasMax = f.cpu >= this.maxCpu || f.memoryBytes >= this.maxMemory;
    f.cpu -= cpu;
    f.memoryBytes -= memoryBytes;
    f.workspaces -= 1;
    if (wasMax || f.workspaces < 1) this.bounds();
    return this.names[best];
  }
}

/**
 * The queue in the order it is served, each task with what to do with it now. Pure: the same
 * input gives the same decisions. With `positions: false` (the pass, which needs only the
 * decisions) the order of waiting tasks is left rough and `position` is 0.
 */
export function schedule(input: SchedulerInput, opts: { positions?: boolean } = {}): QueueDecision[] {
  const lanes = new Map<string, Lane>();
  const entries = new Map<Lane, { task: QueuedTask; k: number }[]>();
  for (const task of input.queue) {
    let lane = lanes.get(task.userId);
    if (!lane) {
      const user = input.users.get(task.userId) ?? unknownUser(task.userId);
      lane = {
        user,
        tasks: [],
        next: 0,
        key: user.usage / user.weight,
        headRank: 0,
        headAt: 0,
        headId: '',
        admitted: 0,
        inFlight: 0,
        workspacesStarted: 0,
        reasons: new Map(),
      };
      lanes.set(task.userId, lane);
      entries.set(lane, []);
    }
    // One number orders a lane: priority rank, then arrival (ms since 1970 stay below 2^43).
    (entries.get(lane) as { task: QueuedTask; k: number }[]).push({
      task,
      k: RANK[task.priority] * 2 ** 43 + task.queuedAtMs,
    });
  }
  for (const [lane, list] of entries) {
    list.sort((a, b) => a.k - b.k || cmp(a.task.id, b.task.id));
    const starting = new Set<string>();
    for (const { task } of list) {
      lane.tasks.push(task);
      const ws = task.workspaceId ? input.workspaces.get(task.workspaceId) : undefined;
      if (ws && inFlight(ws)) starting.add(ws.id);
    }
    lane.inFlight = starting.size;
    setHead(lane);
  }
  const heap = new LaneHeap(lanes.values());
  const capacity = input.nodes ? new Capacity(input.nodes) : undefined;
  /** Workspaces given a start or a turn in this pass. */
  const claimed = new Set<string>();
  const served: Served[] = [];
  // Tasks of users who can start nothing more in this pass (at their concurrency or monthly
  // quota), decided without the heap: whatever is left of such a user's lane waits, whatever the
  // order, since nothing of theirs touches another user's workspaces or the nodes' room.
  const frozen: Served[] = [];

  const serve = (lane: Lane, into: Served[]) => {
    const task = lane.tasks[lane.next] as QueuedTask;
    const d = decide(task, lane, input, capacity, claimed);
    into.push({
      decision: {
        taskId: task.id,
        position: 0,
        action: d.action,
        reason: d.reason,
        workspaceId: task.workspaceId,
        node: d.node,
      },
      rank: lane.headRank,
      key: lane.key,
      at: lane.headAt,
      id: lane.headId,
    });
    if (d.action === 'start' || d.action === 'start_workspace') {
      const ws = task.workspaceId ? input.workspaces.get(task.workspaceId) : undefined;
      lane.key += ((ws?.cpu ?? 1) * input.expectedTaskSeconds) / lane.user.weight;
    }
    lane.next += 1;
    if (lane.next < lane.tasks.length) setHead(lane);
  };

  for (let lane = heap.top; lane; lane = heap.top) {
    serve(lane, served);
    if (lane.next >= lane.tasks.length) heap.dropTop();
    else if (blocked(lane)) {
      while (lane.next < lane.tasks.length) serve(lane, frozen);
      heap.dropTop();
    } else heap.topChanged();
  }
  if (frozen.length === 0) return numbered(served);
  if (opts.positions === false) return served.concat(frozen).map((x) => x.decision);
  // The heap serves lanes in non-decreasing (priority, usage, arrival) order, and a frozen lane's
  // order no longer changes: a merge gives every task its place in the one queue.
  frozen.sort(compareServed);
  const merged: Served[] = [];
  let i = 0;
  let j = 0;
  while (i < served.length || j < frozen.length) {
    const a = served[i];
    const b = frozen[j];
    if (b === undefined || (a !== undefined && compareServed(a, b) <= 0)) {
      merged.push(a as Served);
      i++;
    } else {
      merged.push(b);
      j++;
    }
  }
  return numbered(merged);
}

interface Served {
  decision: QueueDecision;
  rank: number;
  key: number;
  at: number;
  id: string;
}

function compareServed(a: Served, b: Served): number {
  return a.rank - b.rank || a.key - b.key || a.at - b.at || cmp(a.id, b.id);
}

function numbered(xs: Served[]): QueueDecision[] {
  return xs.map((x, i) => {
    x.decision.position = i + 1;
    return x.decision;
  });
}

/** Whether the lane's user can start nothing more in this pass. */
function blocked(lane: Lane): boolean {
  const { user } = lane;
  return (
    user.monthSeconds >= user.limits.monthlySeconds ||
    user.activeTasks + lane.inFlight + lane.admitted >= user.limits.concurrentTasks
  );
}

function setHead(lane: Lane): void {
  const head = lane.tasks[lane.next] as QueuedTask;
  lane.headRank = RANK[head.priority];
  lane.headAt = head.queuedAtMs;
  lane.headId = head.id;
}

/** A lane's reason sentence for `kind` at count `n`, built once per pass and count. */
function reasonOf(lane: Lane, kind: string, n: number, build: () => string): string {
  const key = `${kind}:${n}`;
  let reason = lane.reasons.get(key);
  if (reason === undefined) {
    reason = build();
    lane.reasons.set(key, reason);
  }
  return reason;
}

/** A workspace starting (or whose agent reconnects) for the first task queued on it. */
const inFlight = (ws: WorkspaceInfo) =>
  !ws.busy && (ws.status === 'starting' || (ws.status === 'running' && !ws.reachable));

function decide(
  task: QueuedTask,
  lane: Lane,
  input: SchedulerInput,
  capacity: Capacity | undefined,
  claimed: Set<string>,
): Pick<QueueDecision, 'action' | 'reason' | 'node'> {
  const { user } = lane;
  const ws = task.workspaceId ? input.workspaces.get(task.workspaceId) : undefined;
  if (!ws) return { action: 'fail', reason: 'The workspace of this task was deleted.' };
  if (ws.status === 'failed' && (ws.failedAtMs ?? 0) >= task.queuedAtMs) {
    return { action: 'fail', reason: `The workspace could not start: ${ws.statusReason ?? 'it failed'}` };
  }
  if (ws.busy || claimed.has(ws.id)) {
    return { action: 'wait', reason: 'Waiting for the task before it in this workspace' };
  }
  // Admitted in an earlier pass: it counts against the user's concurrency already. Only an
  // admitted task holds its workspace: one that waits for its user's quota lets the next one in.
  if (inFlight(ws)) {
    claimed.add(ws.id);
    return {
      action: 'wait',
      reason: ws.status === 'running' ? 'Waiting for the workspace agent' : WAITING_FOR_START,
    };
  }
  const limits = user.limits;
  if (user.monthSeconds >= limits.monthlySeconds) {
    return {
      action: 'wait',
      reason: reasonOf(
        lane,
        'month',
        0,
        () =>
          `${user.name} has used ${hours(user.monthSeconds)} of ${hours(limits.monthlySeconds)} workspace-hours this month (quotas.maxMonthlyHours); the allowance resets ${input.monthResetsAt}`,
      ),
    };
  }
  const active = user.activeTasks + lane.inFlight + lane.admitted;
  if (active >= limits.concurrentTasks) {
    return {
      action: 'wait',
      reason: reasonOf(
        lane,
        'tasks',
        active,
        () =>
          `${user.name} has ${active} of ${limits.concurrentTasks} concurrent tasks (quotas.maxConcurrentTasks)`,
      ),
    };
  }
  if (ws.status === 'running') {
    claimed.add(ws.id);
    lane.admitted += 1;
    return { action: 'start', reason: 'Starting Claude Code' };
  }
  if (ws.status === 'stopping') {
    return { action: 'wait', reason: 'Waiting for the workspace to finish stopping before it starts again' };
  }
  // Stopped, never started (pending), or failed before this task was queued: it needs a start.
  if (ws.heldUntilMs !== undefined && ws.heldUntilMs > input.nowMs) {
    return { action: 'wait', reason: ws.statusReason ?? 'Waiting for a node with room' };
  }
  const running = user.runningWorkspaces + lane.workspacesStarted;
  if (running >= limits.runningWorkspaces) {
    return {
      action: 'wait',
      reason: reasonOf(
        lane,
        'workspaces',
        running,
        () =>
          `${user.name} has ${running} of ${limits.runningWorkspaces} running workspaces (sessions.maxPerUser)`,
      ),
    };
  }
  let node: string | undefined;
  if (capacity) {
    node = capacity.take(ws.cpu, ws.memoryBytes, ws.node);
    if (!node) {
      const size = `a workspace of ${ws.cpu} CPU and ${mib(ws.memoryBytes)} MiB`;
      return {
        action: 'wait',
        reason: ws.node
          ? `Node ${ws.node}, which holds its files, has no room for ${size}`
          : `No node has room for ${size}`,
      };
    }
  }
  claimed.add(ws.id);
  lane.admitted += 1;
  lane.workspacesStarted += 1;
  return { action: 'start_workspace', reason: WAITING_FOR_START, node };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function unknownUser(id: string): UserInfo {
  return {
    id,
    name: id,
    activeTasks: 0,
    runningWorkspaces: 0,
    monthSeconds: 0,
    usage: 0,
    weight: 1,
    limits: { concurrentTasks: 0, runningWorkspaces: 0, monthlySeconds: 0 },
  };
}
