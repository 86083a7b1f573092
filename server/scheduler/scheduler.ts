// The scheduling pass: reads the queue and what runs (SchedulerStore), asks the pure core
// (schedulerCore.ts) what to do, and does it — start turns, start workspaces, fail what can never
// start, and write why the rest waits. One pass at a time across replicas: the replica leading
// the `scheduler` lock runs passes; the others, when something changes on them (a task created,
// a turn ended, an agent connected), publish a kick that the leader receives. On SQLite there is
// one process, which always leads. A pass also runs every few seconds as a safety net for lost
// kicks, and meters workspace running time (quotas, fair share) at most every METER_MS.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { LeaderLocks } from '../cluster/leaderLock.js';
import type { Pubsub } from '../cluster/pubsub.js';
import type { Config } from '../config/configSchema.js';
import {
  nextMonthStart,
  type SchedulerSnapshot,
  type SchedulerStore,
  type UserUse,
} from '../store/schedulerStore.js';
import { type EffectiveQuota, QuotaBook } from './quotas.js';
import {
  hours,
  type NodeInfo,
  type Priority,
  type QueueDecision,
  type QueuedTask,
  type SchedulerInput,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from './schedulerCore.js';

export const SCHEDULER_KICK_CHANNEL = 'scheduler_kick';
/** The safety-net pass period. */
export const PASS_MS = 5_000;
/** How often running time is metered into monthly hours and fair-share usage. */
export const METER_MS = 10_000;
/** What one admitted task is expected to use before any turn has finished (then: the mean turn). */
const DEFAULT_TASK_SECONDS = 600;
/** How long a workspace whose start found no room waits before the scheduler tries again. */
export const ROOM_RETRY_MS = 15_000;
/** How long a computed plan answers GET /queue and a task's queue position (per process: derived data). */
const PLAN_TTL_MS = 1_000;

/** What a pass does to tasks and workspaces (TaskService implements it). */
export interface SchedulerActions {
  /** Starts the queued task's turn; resolves once it is `starting` (or false when it no longer could). */
  startTurn(taskId: string, workspaceId: string): Promise<boolean>;
  startWorkspace(workspaceId: string, taskId: string): Promise<void>;
  fail(taskId: string, reason: string): Promise<void>;
  /** Records why the task waits (only called when the reason changed). */
  note(taskId: string, reason: string): Promise<void>;
}

export interface SchedulerOptions {
  store: SchedulerStore;
  config: Config;
  /** Which workspaces have their agent connected to some replica. */
  connectedAmong(workspaceIds: readonly string[]): Promise<Set<string>>;
  leaders?: LeaderLocks | undefined;
  pubsub: Pubsub;
  clock: Clock;
  log: Logger;
  actions: SchedulerActions;
  /** The nodes and their free room, when the runtime can tell; else the driver places. */
  nodes?: () => Promise<NodeInfo[] | undefined>;
}

/** One queued task as GET /api/v1/queue and the task show it. */
export interface QueueEntry extends QueueDecision {
  userId: string;
  userName: string;
  priority: Priority;
  queuedAt: string;
  estimatedStartAt: string | null;
}

export interface QueuePlan {
  at: string;
  entries: QueueEntry[];
  /** The entries by task id (a task's place, for the task's own answer). */
  byTask: ReadonlyMap<string, QueueEntry>;
}

export interface UserQuota extends EffectiveQuota {
  use: UserUse;
  /** When the monthly allowance starts again (ISO). */
  resetsAt: string;
  /** The first quota a new task would exceed, in words; undefined when none. */
  exceeded(): string | undefined;
}

/** A quota would be exceeded: the HTTP layer answers 429 with the sentence. */
export class QuotaExceeded extends Error {
  override name = 'QuotaExceeded';
}

export class Scheduler {
  private pass: Promise<void> | undefined;
  private again = false;
  private lastMeterMs = Number.NEGATIVE_INFINITY;
  private expectedTaskSeconds = DEFAULT_TASK_SECONDS;
  private leading = false;
  private closed = false;
  private readonly stopTimer: () => void;
  private readonly unsubscribe: () => void;
  private cached: { atMs: number; plan: Promise<QueuePlan> } | undefined;
  /**
   * Workspaces whose start found no node with room, and until when the pass leaves them: a start
   * refused for room is retried after ROOM_RETRY_MS, not on every kick. Per process on purpose:
   * the refused start was the leader's own (its pass started it), and a new leader simply tries
   * once more.
   */
  private readonly heldForRoom = new Map<string, number>();

  constructor(private readonly o: SchedulerOptions) {
    this.unsubscribe = o.pubsub.subscribe(SCHEDULER_KICK_CHANNEL, () => this.runSoon(), {
      onResync: () => this.runSoon(),
    });
    this.stopTimer = o.clock.every(PASS_MS, () => this.runSoon());
  }

  /** Something changed that may let a queued task start: run a pass now, here or on the leader. */
  kick(): void {
    this.cached = undefined;
    void this.runSoon();
    if (this.leading) return;
    this.o.pubsub
      .publish(SCHEDULER_KICK_CHANNEL, '1')
      .catch((err) => this.o.log.warn({ err }, 'could not publish a scheduler kick'));
  }

  /** A start of `workspaceId` found no node with room: the pass waits ROOM_RETRY_MS before the next. */
  noRoom(workspaceId: string): void {
    this.heldForRoom.set(workspaceId, this.o.clock.now().getTime() + ROOM_RETRY_MS);
    this.kick();
  }

  /** Runs a pass unless one runs; if one runs, runs another after it. Resolves when they are done. */
  runSoon(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.pass) {
      this.again = true;
      return this.pass;
    }
    this.pass = (async () => {
      do {
        this.again = false;
        try {
          await this.passOnce();
        } catch (err) {
          this.o.log.error({ err }, 'scheduler pass failed');
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  /** One pass, when this replica leads. */
  private async passOnce(): Promise<void> {
    const { leaders, store, actions, clock } = this.o;
    this.leading = leaders ? await leaders.leaderLock('scheduler').tryLead() : true;
    if (!this.leading) return;
    const nowMs = clock.now().getTime();
    if (nowMs - this.lastMeterMs >= METER_MS) {
      await store.meter();
      this.lastMeterMs = nowMs;
      const turnMs = await store.meanTurnMs();
      if (turnMs !== undefined && turnMs > 0) this.expectedTaskSeconds = turnMs / 1000;
    }
    const snapshot = await store.snapshot();
    const reasons = new Map(snapshot.queued.map((t) => [t.id, t.status_reason]));
    const decisions = await this.decide(await this.input(snapshot), false);
    this.cached = undefined;
    for (const d of decisions) {
      switch (d.action) {
        case 'start':
          if (d.workspaceId) await actions.startTurn(d.taskId, d.workspaceId);
          break;
        case 'start_workspace':
          if (reasons.get(d.taskId) !== d.reason) await actions.note(d.taskId, d.reason);
          if (d.workspaceId) await actions.startWorkspace(d.workspaceId, d.taskId);
          break;
        case 'fail':
          await actions.fail(d.taskId, d.reason);
          break;
        case 'wait':
          if (reasons.get(d.taskId) !== d.reason) await actions.note(d.taskId, d.reason);
          break;
      }
    }
  }

  /** The queue as the next pass would serve it, computed at most once a second per process. */
  plan(): Promise<QueuePlan> {
    const nowMs = this.o.clock.now().getTime();
    if (!this.cached || nowMs - this.cached.atMs > PLAN_TTL_MS) {
      const plan = this.computePlan();
      this.cached = { atMs: nowMs, plan };
      plan.catch(() => {
        if (this.cached?.plan === plan) this.cached = undefined;
      });
    }
    return this.cached.plan;
  }

  private async computePlan(): Promise<QueuePlan> {
    const snapshot = await this.o.store.snapshot();
    const input = await this.input(snapshot);
    const decisions = await this.decide(input, true);
    const byId = new Map(snapshot.queued.map((t) => [t.id, t]));
    const turnMs = await this.o.store.meanTurnMs();
    const now = this.o.clock.now();
    // A rough estimate: a task held by its user's concurrency starts after the user's tasks
    // ahead of it have each run a typical turn, `limit` at a time; one behind another task of its
    // workspace, after those ahead of it there. Other waits (capacity, a workspace starting,
    // monthly hours) have no estimate.
    const aheadByUser = new Map<string, number>();
    const aheadByWorkspace = new Map<string, number>();
    const entries = decisions.map((d): QueueEntry => {
      const t = byId.get(d.taskId);
      const userId = t?.owner_id ?? '';
      const user = input.users.get(userId);
      let estimate: number | undefined;
      if (d.action === 'start') estimate = now.getTime();
      else if (turnMs !== undefined && d.action === 'wait' && user) {
        if (d.reason.includes('concurrent tasks')) {
          const k = (aheadByUser.get(userId) ?? 0) + 1;
          aheadByUser.set(userId, k);
          estimate = now.getTime() + Math.ceil(k / Math.max(1, user.limits.concurrentTasks)) * turnMs;
        } else if (d.reason.startsWith('Waiting for the task before it') && d.workspaceId) {
          const k = (aheadByWorkspace.get(d.workspaceId) ?? 0) + 1;
          aheadByWorkspace.set(d.workspaceId, k);
          estimate = now.getTime() + k * turnMs;
        }
      }
      return {
        ...d,
        userId,
        userName: user?.name ?? userId,
        priority: (t?.priority ?? 'normal') as Priority,
        queuedAt: t?.queued_at ?? now.toISOString(),
        estimatedStartAt: estimate === undefined ? null : new Date(estimate).toISOString(),
      };
    });
    return { at: now.toISOString(), entries, byTask: new Map(entries.map((e) => [e.taskId, e])) };
  }

  /**
   * The core's decisions. Starting a workspace needs room on a node: only then are the nodes asked
   * (it costs a call to each), and the decisions taken again with their free room.
   */
  private async decide(input: SchedulerInput, positions: boolean): Promise<QueueDecision[]> {
    const decisions = schedule(input, { positions });
    if (!this.o.nodes || !decisions.some((d) => d.action === 'start_workspace')) return decisions;
    const nodes = await this.o.nodes().catch((err: unknown) => {
      this.o.log.warn({ err }, 'could not read the nodes’ free room; the driver places alone');
      return undefined;
    });
    return nodes ? schedule({ ...input, nodes }, { positions }) : decisions;
  }

  /** The pure core's input from a snapshot. */
  private async input(s: SchedulerSnapshot): Promise<SchedulerInput> {
    const { config, clock } = this.o;
    const now = clock.now();
    const book = new QuotaBook(config, s.overrides);
    const runningByUser = new Map<string, number>();
    for (const w of s.workspaces) {
      if (w.status === 'starting' || w.status === 'running')
        runningByUser.set(w.owner_id, (runningByUser.get(w.owner_id) ?? 0) + 1);
    }
    const connected = await this.o.connectedAmong(
      s.workspaces.filter((w) => w.status === 'running').map((w) => w.id),
    );
    const workspaces = new Map<string, WorkspaceInfo>();
    for (const w of s.workspaces) {
      workspaces.set(w.id, {
        id: w.id,
        ownerId: w.owner_id,
        status: w.status,
        reachable: connected.has(w.id),
        busy: s.busyWorkspaces.has(w.id),
        cpu: w.cpu,
        memoryBytes: w.memory_bytes,
        node: nodeOf(w.runtime_ref),
        failedAtMs: w.status === 'failed' ? new Date(w.updated_at).getTime() : undefined,
        heldUntilMs: this.heldUntil(w.id, now.getTime()),
        statusReason: w.status_reason,
      });
    }
    const users = new Map<string, UserInfo>();
    for (const u of s.users) {
      const q = book.of(u, s.teams.get(u.id) ?? []);
      users.set(u.id, {
        id: u.id,
        name: u.name ?? u.email,
        activeTasks: s.activeByUser.get(u.id) ?? 0,
        runningWorkspaces: runningByUser.get(u.id) ?? 0,
        monthSeconds: s.monthSeconds.get(u.id) ?? 0,
        usage: s.usage.get(u.id) ?? 0,
        weight: q.weight,
        limits: q.limits,
      });
    }
    const queue: QueuedTask[] = s.queued.map((t) => ({
      id: t.id,
      userId: t.owner_id,
      workspaceId: t.workspace_id,
      priority: (t.priority as Priority) ?? 'normal',
      queuedAtMs: new Date(t.queued_at).getTime(),
    }));
    return {
      nowMs: now.getTime(),
      queue,
      workspaces,
      users,
      // The nodes' free room costs a call to each: decide() asks only when a workspace is to start.
      expectedTaskSeconds: this.expectedTaskSeconds,
      monthResetsAt: `on ${nextMonthStart(now).toISOString().slice(0, 10)} (UTC)`,
    };
  }

  /** The caller's quotas, what of them is used now, and whether the next task would exceed one. */
  async quotaOf(user: { id: string; role: string }): Promise<UserQuota> {
    const { store, config, clock } = this.o;
    const now = clock.now();
    const [overrides, teams, use] = await Promise.all([
      store.overrides(),
      store.teamsOf(user.id),
      store.usageOf(user.id, now),
    ]);
    const q = new QuotaBook(config, overrides).of(user, teams);
    const name = use.name;
    const resetsAt = nextMonthStart(now).toISOString();
    return {
      ...q,
      use,
      resetsAt,
      exceeded() {
        if (use.monthSeconds >= q.limits.monthlySeconds)
          return `${name} has used ${hours(use.monthSeconds)} of ${hours(q.limits.monthlySeconds)} workspace-hours this month (quotas.maxMonthlyHours); the allowance resets on ${resetsAt.slice(0, 10)} (UTC)`;
        if (use.activeTasks >= q.limits.concurrentTasks)
          return `${name} has ${use.activeTasks} of ${q.limits.concurrentTasks} concurrent tasks (quotas.maxConcurrentTasks)`;
        return undefined;
      },
    };
  }

  /**
   * Throws 429 when `owner` already has as many workspaces starting or running as their quota
   * allows (sessions.maxPerUser or an override): a workspace started by hand counts like one the
   * queue starts.
   */
  async ensureWorkspaceRoom(owner: { id: string; role: string }): Promise<void> {
    const q = await this.quotaOf(owner);
    if (q.use.runningWorkspaces >= q.limits.runningWorkspaces) {
      throw new QuotaExceeded(
        `${q.use.name} has ${q.use.runningWorkspaces} of ${q.limits.runningWorkspaces} running workspaces (sessions.maxPerUser); stop one first.`,
      );
    }
  }

  private heldUntil(workspaceId: string, nowMs: number): number | undefined {
    const until = this.heldForRoom.get(workspaceId);
    if (until === undefined) return undefined;
    if (until <= nowMs) {
      this.heldForRoom.delete(workspaceId);
      return undefined;
    }
    return until;
  }

  /** Stops the timer and waits for a pass in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    this.unsubscribe();
    await this.pass;
    await this.o.leaders?.leaderLock('scheduler').release();
  }
}

/** The node a workspace's runtime ref names (where its files are), if any. */
function nodeOf(ref: string | null): string | undefined {
  if (!ref) return undefined;
  try {
    const node = (JSON.parse(ref) as { node?: unknown }).node;
    return typeof node === 'string' ? node : undefined;
  } catch {
    return undefined;
  }
}
