// Tasks: Claude Code conversations in workspaces. A task waits as `queued` in the one queue of the
// installation until the scheduler (server/scheduler/) starts its turn: in priority, fair-share
// and arrival order, within the user's quotas, one turn per workspace at a time, starting the
// workspace first when it is stopped. The agent runs one long-lived `claude` process per task;
// its stdout lines come back as events (taskIngest.ts), which also move the task's status.
import type { Logger } from 'pino';
import { RpcError } from '../../sdk/rpcPeer.js';
import type { CreateTaskBody, TaskStatus } from '../../sdk/taskWire.js';
import type { Clock } from '../clock.js';
import type { LeaderLocks } from '../cluster/leaderLock.js';
import type { Pubsub } from '../cluster/pubsub.js';
import type { Config } from '../config/configSchema.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { NodeInfo, Priority } from '../scheduler/schedulerCore.js';
import type { SchedulerStore } from '../store/schedulerStore.js';
import { ACTIVE, type TaskRow, type TaskStore } from '../store/taskStore.js';
import type { TaskUsageTotals } from '../store/usageStore.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';
import { type AgentHub, AgentNotConnectedError } from '../workspaces/agentHub.js';
import type { WorkspaceService } from '../workspaces/workspaceService.js';
import { TaskFeed } from './taskEvents.js';

/** Why approvals still pending when a turn ends expire (TaskService.expireApprovals). */
export const EXPIRED_BECAUSE = {
  cancelled: 'Task cancelled.',
  turnEnded: 'The turn ended before the approval was answered.',
  processExited: 'Claude Code exited before the approval was answered.',
  workspaceGone: 'The workspace failed or restarted before the approval was answered.',
} as const;

/** A follow-up to a task in one of these resumes it. */
const RESUMABLE: readonly TaskStatus[] = ['succeeded', 'failed', 'waiting_for_input'];

export class TaskError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 429,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TaskServiceOptions {
  config: Config;
  store: TaskStore;
  workspaces: WorkspaceStore;
  workspaceService: WorkspaceService;
  hub: AgentHub;
  /** Carries the task feed to the viewers on every replica. */
  pubsub: Pubsub;
  clock: Clock;
  log: Logger;
  /** The queue's store (scheduler). */
  schedulerStore: SchedulerStore;
  /** One scheduling pass at a time across replicas; absent: this process always leads. */
  leaders?: LeaderLocks | undefined;
  /** The nodes' free room, when the runtime can tell; else the driver places. */
  nodes?: () => Promise<NodeInfo[] | undefined>;
}

export class TaskService {
  readonly feed: TaskFeed;
  readonly scheduler: Scheduler;
  /** Turn starts in flight (their agent calls), awaited on close. */
  private readonly starting = new Set<Promise<void>>();

  constructor(readonly o: TaskServiceOptions) {
    this.feed = new TaskFeed({ store: o.store, pubsub: o.pubsub, log: o.log });
    this.scheduler = new Scheduler({
      store: o.schedulerStore,
      config: o.config,
      connectedAmong: (ids) => o.hub.connectedAmong(ids),
      leaders: o.leaders,
      pubsub: o.pubsub,
      clock: o.clock,
      log: o.log,
      ...(o.nodes ? { nodes: o.nodes } : {}),
      actions: {
        startTurn: (taskId, workspaceId) => this.beginTurn(taskId, workspaceId),
        startWorkspace: (workspaceId, taskId) => this.startWorkspaceFor(workspaceId, taskId),
        fail: async (taskId, reason) => {
          const moved = await o.store.transition(taskId, ['queued'], 'failed', {
            status_reason: reason,
            finished_at: o.clock.now().toISOString(),
          });
          if (moved) this.changed(taskId);
        },
        note: (taskId, reason) => this.note(taskId, reason),
      },
    });
    o.workspaceService.events.on('ready', () => this.scheduler.kick());
    o.workspaceService.events.on('no_room', (workspaceId) => this.scheduler.noRoom(workspaceId));
    o.workspaceService.events.on('failed', (workspaceId) => void this.workspaceFailed(workspaceId));
    o.workspaceService.events.on('stopped', () => this.scheduler.kick());
  }

  async create(owner: { id: string; role: string }, body: CreateTaskBody): Promise<TaskRow> {
    const { workspaces, workspaceService } = this.o;
    const ownerId = owner.id;
    const priority: Priority = body.priority ?? 'normal';
    const quota = await this.scheduler.quotaOf(owner);
    if (priority === 'high' && !quota.allowHighPriority) {
      throw new TaskError(
        403,
        'forbidden',
        'priority high is for admins, or for members of a team whose policy allows it; use normal or low.',
      );
    }
    if (this.o.config.quotas.whenExceeded === 'refuse') {
      const over = quota.exceeded();
      if (over) throw new TaskError(429, 'quota_exceeded', `${over}; the task was not queued.`);
    }
    let ws = body.workspaceId ? await workspaces.byId(body.workspaceId) : undefined;
    if (body.workspaceId && ws?.owner_id !== ownerId) {
      throw new TaskError(404, 'not_found', 'The workspace was not found.');
    }
    if (!ws && body.repository)
      // Created, not started: the scheduler starts it within the owner's quotas.
      ws = (await workspaceService.create(ownerId, { repository: body.repository, start: false })).row;
    if (!ws) throw new TaskError(400, 'validation_failed', 'Give a repository or a workspaceId.');
    const row = await this.o.store.create({
      ownerId,
      workspaceId: ws.id,
      repository: ws.repository,
      prompt: body.prompt,
      model: body.model ?? this.o.config.claude.model,
      permissionMode: body.permissionMode ?? 'default',
      maxTurns: body.maxTurns,
      maxBudgetUsd: body.maxBudgetUsd,
      priority,
    });
    await this.note(row.id, 'Queued');
    this.scheduler.kick();
    return (await this.o.store.byId(row.id)) ?? row;
  }

  /** A follow-up: to the live process when the turn runs, else it resumes the task. */
  async send(task: TaskRow, text: string): Promise<void> {
    const status = task.status as TaskStatus;
    if (status === 'cancelled')
      throw new TaskError(409, 'task_cancelled', 'The task was cancelled; start a new one.');
    if (status === 'queued') {
      throw new TaskError(
        409,
        'task_queued',
        'The task is waiting for its workspace; send the follow-up once it runs.',
      );
    }
    if ((ACTIVE as readonly string[]).includes(status)) {
      const workspaceId = await this.ensureReachable(task);
      await this.agent(workspaceId, 'task.send', { taskId: task.id, text });
      return;
    }
    // Finished: resume. It joins the queue again, behind what is already there.
    const moved = await this.o.store.transition(task.id, RESUMABLE, 'queued', {
      pending_message: text,
      status_reason: 'Queued',
      finished_at: null,
      queued_at: this.o.clock.now().toISOString(),
    });
    if (!moved) throw new TaskError(409, 'task_busy', 'The task changed meanwhile; reload it and try again.');
    this.changed(task.id);
    this.scheduler.kick();
  }

  /** The scheduler starts a stopped workspace for a queued task; a refusal is logged and the task told why. */
  private async startWorkspaceFor(workspaceId: string, taskId: string): Promise<void> {
    try {
      await this.o.workspaceService.start(workspaceId);
    } catch (err) {
      this.o.log.warn({ err, workspaceId, taskId }, 'could not start the workspace for a task');
      await this.note(
        taskId,
        `The workspace could not start yet: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  async interrupt(task: TaskRow): Promise<void> {
    if (!(ACTIVE as readonly string[]).includes(task.status)) {
      throw new TaskError(
        409,
        'task_not_running',
        `The task is ${task.status}; there is nothing to interrupt.`,
      );
    }
    const workspaceId = await this.ensureReachable(task);
    await this.agent(workspaceId, 'task.interrupt', { taskId: task.id });
  }

  /** `reason`: the statusReason to show (a lifecycle limit's); a user's cancel says "Cancelled". */
  async cancel(task: TaskRow, reason = 'Cancelled'): Promise<void> {
    if (task.status === 'cancelled')
      throw new TaskError(409, 'task_cancelled', 'The task is already cancelled.');
    const workspaceId = task.workspace_id;
    const reachable = workspaceId ? await this.o.hub.isReachable(workspaceId) : false;
    const moved = await this.o.store.transition(task.id, [task.status as TaskStatus], 'cancelled', {
      status_reason: reason,
      finished_at: this.o.clock.now().toISOString(),
      pending_message: null,
    });
    if (!moved) throw new TaskError(409, 'task_busy', 'The task changed meanwhile; reload it and try again.');
    // Nobody can answer them now. The process is stopped rather than sent a deny: a deny would
    // let Claude Code carry on, and spend, in a turn the user has just ended.
    await this.expireApprovals(task.id, EXPIRED_BECAUSE.cancelled);
    if (workspaceId && reachable) {
      await this.o.hub
        .request(workspaceId, 'task.stop', { taskId: task.id })
        .catch((err) =>
          this.o.log.warn(
            { err, taskId: task.id, workspaceId: task.workspace_id },
            'could not stop the process of a cancelled task; the next turn in its workspace stops it',
          ),
        );
    }
    this.changed(task.id);
    this.scheduler.kick();
  }

  /** Answers a pending tool approval. */
  async answer(
    task: TaskRow,
    approvalId: string,
    d: { decision: 'allow' | 'deny'; message?: string | undefined; remember: boolean },
    by: string,
  ): Promise<void> {
    const approval = await this.o.store.approval(task.id, approvalId);
    if (!approval) throw new TaskError(404, 'not_found', 'The approval was not found.');
    if (approval.status === 'expired') {
      throw new TaskError(
        409,
        'approval_expired',
        `The approval expired: ${approval.message ?? 'its turn is over.'}`,
      );
    }
    if (approval.status !== 'pending') {
      throw new TaskError(
        409,
        'approval_answered',
        `The approval was already answered (${approval.status}).`,
      );
    }
    const workspaceId = await this.ensureReachable(task);
    const ok = await this.o.store.decide(task.id, approvalId, {
      status: d.decision === 'allow' ? 'allowed' : 'denied',
      message: d.message ?? null,
      remember: d.remember,
      by,
    });
    if (!ok) throw new TaskError(409, 'approval_answered', 'The approval was already answered.');
    await this.agent(workspaceId, 'task.answer', {
      taskId: task.id,
      requestId: approvalId,
      behavior: d.decision,
      ...(d.decision === 'deny' ? { message: d.message ?? 'The user denied this tool call.' } : {}),
    });
    if ((await this.o.store.countPending(task.id)) === 0) {
      await this.o.store.transition(task.id, ['waiting_for_approval'], 'running', { status_reason: null });
    }
    this.changed(task.id);
  }

  /** Which task (and user) a workspace's model request is for: the running turn, else the latest. */
  async attribute(
    workspaceId: string,
  ): Promise<{ taskId?: string; taskBudgetUsd?: number; userId: string; workspaceId: string } | undefined> {
    const task = (await this.o.store.activeIn(workspaceId)) ?? (await this.o.store.latestIn(workspaceId));
    if (task) {
      return {
        taskId: task.id,
        userId: task.owner_id,
        workspaceId,
        ...(task.max_budget_usd !== null ? { taskBudgetUsd: Number(task.max_budget_usd) } : {}),
      };
    }
    const ws = await this.o.workspaces.byId(workspaceId);
    return ws ? { userId: ws.owner_id, workspaceId } : undefined;
  }

  /** Something changed in the workspace (a turn ended, its agent came back): the scheduler looks again. */
  pump(_workspaceId: string): void {
    this.scheduler.kick();
  }

  /** The workspace died under its tasks: the turn in progress fails with the reason, the queue follows. */
  private async workspaceFailed(workspaceId: string): Promise<void> {
    const ws = await this.o.workspaces.byId(workspaceId);
    const active = await this.o.store.activeIn(workspaceId);
    if (active) {
      await this.o.store.transition(active.id, ACTIVE, 'failed', {
        status_reason: `The workspace failed during this turn: ${ws?.status_reason ?? 'it is gone'} Send a follow-up to continue once it runs again.`,
        finished_at: this.o.clock.now().toISOString(),
      });
      await this.expireApprovals(active.id, EXPIRED_BECAUSE.workspaceGone);
      this.changed(active.id);
    }
    this.scheduler.kick();
  }

  /** Stops scheduling and waits for turn starts in flight (server shutdown). */
  async close(): Promise<void> {
    await this.scheduler.close();
    await Promise.all([...this.starting]);
  }

  /**
   * The task's turn is over: the approvals it was still waiting on can never be answered, so they
   * expire with `why` instead of staying pending for good.
   */
  async expireApprovals(taskId: string, why: string): Promise<void> {
    await this.o.store.expirePending(taskId, why);
  }

  changed(taskId: string): void {
    this.feed.emit('task', taskId);
  }

  /** The gateway metered a request of the task; `totals` are the task's totals now. */
  metered(totals: TaskUsageTotals): void {
    const { taskId, costUsd, inputTokens, outputTokens } = totals;
    this.feed.metered({ type: 'usage', taskId, costUsd, inputTokens, outputTokens });
    this.changed(taskId);
  }

  private async note(taskId: string, reason: string): Promise<void> {
    await this.o.store.update(taskId, { status_reason: reason });
    this.changed(taskId);
  }

  /**
   * The scheduler admitted the queued task: it moves to `starting` (only while no other turn runs
   * in the workspace, across replicas) and its agent is told to run it, in the background so the
   * pass goes on. False when it could not move (another replica or pass got there first).
   */
  private async beginTurn(taskId: string, workspaceId: string): Promise<boolean> {
    const { store } = this.o;
    const task = await store.byId(taskId);
    if (task?.status !== 'queued') return false;
    if (!(await store.startTurn(task.id, workspaceId, { status_reason: 'Starting Claude Code' })))
      return false;
    this.changed(task.id);
    const run = this.runTurn(task, workspaceId).catch((err) =>
      this.o.log.error({ err, taskId, workspaceId }, 'a turn start could not record its outcome'),
    );
    this.starting.add(run);
    void run.finally(() => this.starting.delete(run));
    return true;
  }

  private async runTurn(task: TaskRow, workspaceId: string): Promise<void> {
    const { store, hub } = this.o;
    try {
      const listed = await hub.request<{ tasks: { taskId: string; running: boolean }[] }>(
        workspaceId,
        'task.list',
        {},
      );
      // Only the task whose turn starts keeps a process: idle ones of finished tasks end here.
      for (const t of listed.tasks) {
        if (t.running && t.taskId !== task.id) {
          await hub
            .request(workspaceId, 'task.stop', { taskId: t.taskId })
            .catch((err) =>
              this.o.log.warn({ err, taskId: t.taskId, workspaceId }, 'could not stop an idle task process'),
            );
        }
      }
      const alive = listed.tasks.some((t) => t.taskId === task.id && t.running);
      if (task.pending_message !== null && alive) {
        await hub.request(workspaceId, 'task.send', { taskId: task.id, text: task.pending_message });
      } else {
        await hub.request(workspaceId, 'task.start', {
          taskId: task.id,
          prompt: task.pending_message ?? task.prompt,
          ...(task.model ? { model: task.model } : {}),
          permissionMode: task.permission_mode,
          ...(task.max_turns ? { maxTurns: task.max_turns } : {}),
          ...(task.pending_message !== null && task.session_id ? { resumeSessionId: task.session_id } : {}),
          firstSeq: task.last_seq + 1,
        });
      }
      await store.transition(task.id, ['starting'], 'running', {
        status_reason: null,
        pending_message: null,
        started_at: task.started_at ?? this.o.clock.now().toISOString(),
      });
    } catch (err) {
      const why = err instanceof RpcError ? `Claude Code could not start: ${err.message}` : String(err);
      await store.transition(task.id, ['starting'], 'failed', {
        status_reason: why,
        finished_at: this.o.clock.now().toISOString(),
      });
      this.scheduler.kick();
    }
    this.changed(task.id);
  }

  /** The task's workspace, when its agent is connected to some replica; else 409 workspace_not_running. */
  private async ensureReachable(task: TaskRow): Promise<string> {
    const workspaceId = task.workspace_id;
    if (!workspaceId || !(await this.o.hub.isReachable(workspaceId))) throw agentReconnecting();
    return workspaceId;
  }

  /** A call to the workspace's agent, on whichever replica holds it. */
  private async agent(workspaceId: string, method: string, params: unknown): Promise<void> {
    try {
      await this.o.hub.request(workspaceId, method, params);
    } catch (err) {
      if (err instanceof RpcError)
        throw new TaskError(409, 'agent_refused', `The workspace agent refused: ${err.message}`);
      // It went away between the check and the call.
      if (err instanceof AgentNotConnectedError) throw agentReconnecting();
      throw err;
    }
  }
}

const agentReconnecting = () =>
  new TaskError(409, 'workspace_not_running', 'The workspace agent is reconnecting; try again shortly.');
