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
  /**
   * Whose it is. Tasks of other users on it (a shared workspace) are decided strictly in the
   * queue's order; when unset, the pass finds out which workspaces are shared itself.
   */
  ownerId?: string | undefined;
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

/** Workspace-hours in a reason: whole hours as they are, else one decimal, or two digits below 10 h. */
export function hours(seconds: number): string {
  const h = seconds / 3600;
  if (Number.isInteger(h)) return String(h);
  return h >= 10 ? h.toFixed(1) : String(Number(h.toPrecision(2)));
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * One user's queued tasks in the order they are served, and what this pass has done for the user.
 * `tasks[i]`'s workspace is `spaces[i]` (looked up once).
 */
interface Lane {
  user: UserInfo;
  tasks: QueuedTask[];
  spaces: (WorkspaceInfo | undefined)[];
  next: number;
  /** Usage plus what this pass admitted, over weight. */
  key: number;
  /** The head task's priority rank, arrival and id: with `key`, the lane's place in the heap. */
  headRank: number;
  headAt: number;
  headId: string;
  /** Tasks admitted in this pass. */
  admitted: number;
  /** Tasks admitted earlier whose workspace is still starting (they count as running). */
  inFlight: number;
  /** Those workspaces, while the lane is built. */
  starting: Set<string> | undefined;
  /** While the lane is built: whether its tasks came in arrival order, and with any priority but normal. */
  arrivalOrder: boolean;
  priorities: boolean;
  workspacesStarted: number;
  /** The last wait of each kind, with the count it was built for: a lane's counts only grow. */
  monthWait: Decided | undefined;
  tasksAt: number;
  tasksWait: Decided;
  spacesAt: number;
  spacesWait: Decided;
}

/** Lane a goes before lane b: its head's priority, then usage per weight, then its head's arrival. */
function before(a: Lane, b: Lane): boolean {
  if (a.headRank !== b.headRank) return a.headRank < b.headRank;
  if (a.key !== b.key) return a.key < b.key;
  if (a.headAt !== b.headAt) return a.headAt < b.headAt;
  return a.headId < b.headId;
}

/** A binary heap of lanes, best first. */
class LaneHeap {
  private readonly h: Lane[] = [];

  push(lane: Lane): void {
    const h = this.h;
    let i = h.length;
    h.push(lane);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(lane, h[p] as Lane)) break;
      h[i] = h[p] as Lane;
      i = p;
    }
    h[i] = lane;
  }

  pop(): Lane | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r] as Lane, h[l] as Lane) ? r : l;
      if (!before(h[c] as Lane, last)) break;
      h[i] = h[c] as Lane;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

const EPSILON = 1e-9;

/**
 * Free room on the accepting nodes during one pass. Nodes with a workspace slot left are kept in
 * order of free CPU (then their place in the input), so the fullest node that fits is found by a
 * binary search instead of a scan of every node.
 */
export class NodeRoom {
  private readonly names: string[] = [];
  private readonly cpu: number[] = [];
  private readonly memory: number[] = [];
  private readonly slots: number[] = [];
  private readonly index = new Map<string, number>();
  /** Nodes with a slot left, by (free CPU, index). */
  private readonly order: number[] = [];
  /** Sizes that found no room: room only shrinks during a pass, so they and bigger ones never do. */
  private readonly failed: { cpu: number; memoryBytes: number }[] = [];

  private nodes: readonly NodeInfo[] | undefined;

  /** Read on the first take: most passes start no workspace and never look. */
  constructor(nodes: readonly NodeInfo[]) {
    this.nodes = nodes;
  }

  private build(nodes: readonly NodeInfo[]): void {
    this.nodes = undefined;
    for (const n of nodes) {
      if (!n.accepting) continue;
      const i = this.names.length;
      this.names.push(n.name);
      this.cpu.push(n.free.cpu);
      this.memory.push(n.free.memoryBytes);
      this.slots.push(n.free.workspaces);
      this.index.set(n.name, i);
      if (n.free.workspaces >= 1) this.order.push(i);
    }
    this.order.sort((a, b) => (this.cpu[a] as number) - (this.cpu[b] as number) || a - b);
  }

  /**
   * Reserves room for a workspace: on `pinned` only, when given; else on the fullest node it fits
   * (most-allocated first, so that whole nodes stay free; among nodes with as much CPU free, the
   * first). The node's name, or undefined.
   */
  take(cpu: number, memoryBytes: number, pinned: string | undefined): string | undefined {
    if (this.nodes) this.build(this.nodes);
    if (pinned !== undefined) {
      const i = this.index.get(pinned);
      if (i === undefined || !this.fits(i, cpu, memoryBytes)) return undefined;
      return this.reserve(i, this.order.indexOf(i), cpu, memoryBytes);
    }
    for (const f of this.failed) if (f.cpu <= cpu && f.memoryBytes <= memoryBytes) return undefined;
    const order = this.order;
    // The first node in order with enough CPU.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cpu[order[mid] as number] as number) + EPSILON < cpu) lo = mid + 1;
      else hi = mid;
    }
    // Nodes whose free CPU is the size itself (within rounding) all fit it exactly: of those the
    // first in the input; else the fullest with memory enough.
    let exact = -1;
    let j = lo;
    for (; j < order.length; j++) {
      const i = order[j] as number;
      if ((this.cpu[i] as number) > cpu + EPSILON) break;
      if ((this.memory[i] as number) >= memoryBytes && (exact < 0 || i < (order[exact] as number))) exact = j;
    }
    if (exact >= 0) return this.reserve(order[exact] as number, exact, cpu, memoryBytes);
    for (; j < order.length; j++) {
      const i = order[j] as number;
      if ((this.memory[i] as number) >= memoryBytes) return this.reserve(i, j, cpu, memoryBytes);
    }
    this.failed.push({ cpu, memoryBytes });
    return undefined;
  }

  private fits(i: number, cpu: number, memoryBytes: number): boolean {
    return (
      (this.slots[i] as number) >= 1 &&
      (this.cpu[i] as number) + EPSILON >= cpu &&
      (this.memory[i] as number) >= memoryBytes
    );
  }

  /** Takes the room on node i (at `at` in the order) and moves it to its new place there. */
  private reserve(i: number, at: number, cpu: number, memoryBytes: number): string {
    const order = this.order;
    order.splice(at, 1);
    this.cpu[i] = (this.cpu[i] as number) - cpu;
    this.memory[i] = (this.memory[i] as number) - memoryBytes;
    this.slots[i] = (this.slots[i] as number) - 1;
    if ((this.slots[i] as number) >= 1) {
      const c = this.cpu[i] as number;
      let lo = 0;
      let hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = order[mid] as number;
        const mc = this.cpu[m] as number;
        if (mc < c || (mc === c && m < i)) lo = mid + 1;
        else hi = mid;
      }
      order.splice(lo, 0, i);
    }
    return this.names[i] as string;
  }
}

/** What `decide` returns for a task that needs room on a node, when the pass is not yet at its turn. */
const NEEDS_ROOM = Symbol('needs room');
type Decided = Pick<QueueDecision, 'action' | 'reason' | 'node'>;

/** A decision with its lane's place when it was taken: the one queue's order. */
interface Served {
  decision: QueueDecision;
  rank: number;
  key: number;
  at: number;
  id: string;
}

/**
 * The queue in the order it is served, each task with what to do with it now. Pure: the same
 * input gives the same decisions.
 *
 * With `positions: false` (the pass, which needs only the decisions) `position` is 0 and the
 * decisions come starts first, in the queue's order, then the rest in no particular order.
 *
 * How it stays fast with 10,000 tasks: served in the one queue's order, each user's lane gives
 * decisions in its own order, and their order only matters where users compete — for room on the
 * nodes, and for a workspace that tasks of several users share. So each lane is decided on its own
 * up to its next such task; only those go through a heap of lanes, in the queue's order. The
 * result is the same as serving every task through the heap, which `strict: true` does: the
 * definition, which the tests compare this with.
 */
export function schedule(
  input: SchedulerInput,
  opts: { positions?: boolean; strict?: boolean } = {},
): QueueDecision[] {
  const positions = opts.positions !== false;
  const strict = opts.strict === true;
  const lanes: Lane[] = [];
  const byUser = new Map<string, Lane>();
  // Workspaces that tasks of more than one user wait for: deciding them in the queue's order
  // matters. Tasks on their owner's workspace need no check; others are looked up by workspace.
  const laneOf = new Map<string, Lane>();
  const shared = new Set<string>();
  let lane: Lane | undefined;
  for (const task of input.queue) {
    // The store hands each user's tasks together: the last lane is usually the task's.
    if (lane === undefined || lane.user.id !== task.userId) {
      lane = byUser.get(task.userId);
      if (lane === undefined) {
        lane = newLane(input.users.get(task.userId) ?? unknownUser(task.userId));
        byUser.set(task.userId, lane);
        lanes.push(lane);
      }
    }
    const ws = task.workspaceId === null ? undefined : input.workspaces.get(task.workspaceId);
    const last = lane.tasks[lane.tasks.length - 1];
    if (last !== undefined && lane.arrivalOrder && byArrival(last, task) > 0) lane.arrivalOrder = false;
    if (task.priority !== 'normal') lane.priorities = true;
    lane.tasks.push(task);
    lane.spaces.push(ws);
    if (ws === undefined) continue;
    if (inFlight(ws)) {
      lane.starting ??= new Set();
      lane.starting.add(ws.id);
    }
    if (ws.ownerId === task.userId) continue;
    if (ws.ownerId !== undefined) {
      shared.add(ws.id);
      continue;
    }
    const first = laneOf.get(ws.id);
    if (first === undefined) laneOf.set(ws.id, lane);
    else if (first !== lane) shared.add(ws.id);
  }
  for (const lane of lanes) {
    lane.inFlight = lane.starting?.size ?? 0;
    if (lane.arrivalOrder && !lane.priorities) continue;
    // In arrival order, as the store hands them, only priorities break the order: a stable split
    // by priority restores it. Else sort.
    const { tasks, spaces } = lane;
    const order = lane.arrivalOrder
      ? byRank(tasks)
      : tasks.map((_, i) => i).sort((a, b) => byPlace(tasks[a] as QueuedTask, tasks[b] as QueuedTask));
    lane.tasks = order.map((i) => tasks[i] as QueuedTask);
    lane.spaces = order.map((i) => spaces[i]);
  }

  const capacity = input.nodes ? new NodeRoom(input.nodes) : undefined;
  /** Workspaces given a start or a turn in this pass. */
  const claimed = new Set<string>();
  const out: QueueDecision[] = [];
  const served: Served[] = [];
  const heap = new LaneHeap();

  const record = (lane: Lane, task: QueuedTask, ws: WorkspaceInfo | undefined, d: Decided) => {
    const decision: QueueDecision = {
      taskId: task.id,
      position: 0,
      action: d.action,
      reason: d.reason,
      workspaceId: task.workspaceId,
      node: d.node,
    };
    const starts = d.action === 'start' || d.action === 'start_workspace';
    if (positions || starts) {
      served.push({ decision, rank: RANK[task.priority], key: lane.key, at: task.queuedAtMs, id: task.id });
    } else out.push(decision);
    if (starts) lane.key += ((ws?.cpu ?? 1) * input.expectedTaskSeconds) / lane.user.weight;
    lane.next += 1;
  };
  /** Decides the lane's tasks up to the next one whose turn in the one queue matters. */
  const run = (lane: Lane) => {
    const { tasks, spaces } = lane;
    while (lane.next < tasks.length) {
      const task = tasks[lane.next] as QueuedTask;
      const ws = spaces[lane.next];
      const d =
        strict || (shared.size > 0 && ws !== undefined && shared.has(ws.id))
          ? NEEDS_ROOM
          : decide(task, ws, lane, input, undefined, claimed, capacity !== undefined);
      if (d === NEEDS_ROOM) {
        lane.headRank = RANK[task.priority];
        lane.headAt = task.queuedAtMs;
        lane.headId = task.id;
        heap.push(lane);
        return;
      }
      record(lane, task, ws, d);
    }
  };

  for (const lane of lanes) run(lane);
  for (let lane = heap.pop(); lane; lane = heap.pop()) {
    const task = lane.tasks[lane.next] as QueuedTask;
    const ws = lane.spaces[lane.next];
    record(lane, task, ws, decide(task, ws, lane, input, capacity, claimed, false) as Decided);
    run(lane);
  }
  served.sort(compareServed);
  if (!positions) return served.map((x) => x.decision).concat(out);
  return served.map((x, i) => {
    x.decision.position = i + 1;
    return x.decision;
  });
}

function newLane(user: UserInfo): Lane {
  return {
    user,
    tasks: [],
    spaces: [],
    next: 0,
    key: user.usage / user.weight,
    headRank: 0,
    headAt: 0,
    headId: '',
    admitted: 0,
    inFlight: 0,
    starting: undefined,
    arrivalOrder: true,
    priorities: false,
    workspacesStarted: 0,
    monthWait: undefined,
    tasksAt: -1,
    tasksWait: STARTING,
    spacesAt: -1,
    spacesWait: STARTING,
  };
}

/** The indexes of `tasks` by priority, keeping their order within each priority. */
function byRank(tasks: readonly QueuedTask[]): number[] {
  const high: number[] = [];
  const normal: number[] = [];
  const low: number[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const p = (tasks[i] as QueuedTask).priority;
    (p === 'high' ? high : p === 'low' ? low : normal).push(i);
  }
  return high.concat(normal, low);
}

function byArrival(a: QueuedTask, b: QueuedTask): number {
  return a.queuedAtMs - b.queuedAtMs || cmp(a.id, b.id);
}

function byPlace(a: QueuedTask, b: QueuedTask): number {
  return RANK[a.priority] - RANK[b.priority] || byArrival(a, b);
}

function compareServed(a: Served, b: Served): number {
  return a.rank - b.rank || a.key - b.key || a.at - b.at || cmp(a.id, b.id);
}

// The decisions whose reason is always the same, made once: a pass makes thousands.
const BEHIND: Decided = { action: 'wait', reason: 'Waiting for the task before it in this workspace' };
const AGENT: Decided = { action: 'wait', reason: 'Waiting for the workspace agent' };
const STARTING: Decided = { action: 'wait', reason: WAITING_FOR_START };
const START: Decided = { action: 'start', reason: 'Starting Claude Code' };
const STOPPING: Decided = {
  action: 'wait',
  reason: 'Waiting for the workspace to finish stopping before it starts again',
};

/** A workspace starting (or whose agent reconnects) for the first task queued on it. */
const inFlight = (ws: WorkspaceInfo) =>
  !ws.busy && (ws.status === 'starting' || (ws.status === 'running' && !ws.reachable));

/**
 * What to do with the lane's head task. With `roomLater`, a task that needs room on a node is not
 * given any: NEEDS_ROOM says so, and the pass asks again, with `capacity`, at its turn.
 */
function decide(
  task: QueuedTask,
  ws: WorkspaceInfo | undefined,
  lane: Lane,
  input: SchedulerInput,
  capacity: NodeRoom | undefined,
  claimed: Set<string>,
  roomLater: boolean,
): Decided | typeof NEEDS_ROOM {
  const { user } = lane;
  if (!ws) return { action: 'fail', reason: 'The workspace of this task was deleted.' };
  if (ws.status === 'failed' && (ws.failedAtMs ?? 0) >= task.queuedAtMs) {
    return { action: 'fail', reason: `The workspace could not start: ${ws.statusReason ?? 'it failed'}` };
  }
  if (ws.busy || claimed.has(ws.id)) return BEHIND;
  // Admitted in an earlier pass: it counts against the user's concurrency already. Only an
  // admitted task holds its workspace: one that waits for its user's quota lets the next one in.
  if (inFlight(ws)) {
    claimed.add(ws.id);
    return ws.status === 'running' ? AGENT : STARTING;
  }
  const limits = user.limits;
  if (user.monthSeconds >= limits.monthlySeconds) {
    lane.monthWait ??= {
      action: 'wait',
      reason: `${user.name} has used ${hours(user.monthSeconds)} of ${hours(limits.monthlySeconds)} workspace-hours this month (quotas.maxMonthlyHours); the allowance resets ${input.monthResetsAt}`,
    };
    return lane.monthWait;
  }
  const active = user.activeTasks + lane.inFlight + lane.admitted;
  if (active >= limits.concurrentTasks) {
    if (lane.tasksAt !== active) {
      lane.tasksAt = active;
      lane.tasksWait = {
        action: 'wait',
        reason: `${user.name} has ${active} of ${limits.concurrentTasks} concurrent tasks (quotas.maxConcurrentTasks)`,
      };
    }
    return lane.tasksWait;
  }
  if (ws.status === 'running') {
    claimed.add(ws.id);
    lane.admitted += 1;
    return START;
  }
  if (ws.status === 'stopping') return STOPPING;
  // Stopped, never started (pending), or failed before this task was queued: it needs a start.
  if (ws.heldUntilMs !== undefined && ws.heldUntilMs > input.nowMs) {
    return { action: 'wait', reason: ws.statusReason ?? 'Waiting for a node with room' };
  }
  const running = user.runningWorkspaces + lane.workspacesStarted;
  if (running >= limits.runningWorkspaces) {
    if (lane.spacesAt !== running) {
      lane.spacesAt = running;
      lane.spacesWait = {
        action: 'wait',
        reason: `${user.name} has ${running} of ${limits.runningWorkspaces} running workspaces (sessions.maxPerUser)`,
      };
    }
    return lane.spacesWait;
  }
  if (roomLater) return NEEDS_ROOM;
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
