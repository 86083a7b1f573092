// Carries out the lifecycle limits (lifecycle.ts) periodically: one pass at a time across
// replicas (leader lock `lifecycle`, like the reconciler's), which reads the running workspaces
// and their tasks, decides, and stops workspaces (files kept), cancels tasks and records and
// announces idle warnings.
//
// Activity crosses replicas through the store: a terminal is attached on whichever replica serves
// its socket, so every replica (leader or not) touches `last_activity_at` of the workspaces whose
// terminals it serves to a viewer, at once on attach and detach and then every pass interval;
// the leader's pass reads it. Running and queued tasks are activity of their own (their rows).
// App traffic does not exist yet: the apps proxy (a later issue) calls `touch(workspaceId)`.
import type { Logger } from 'pino';
import type { TaskStatus } from '../../sdk/taskWire.js';
import type { CancelTimer, Clock } from '../clock.js';
import type { Exclusive } from '../cluster/leaderLock.js';
import type { Pubsub } from '../cluster/pubsub.js';
import type { Config } from '../config/configSchema.js';
import { iso } from '../store/schema.js';
import type { TaskStore } from '../store/taskStore.js';
import type { WorkspaceRow, WorkspaceStore } from '../store/workspaceStore.js';
import { TaskError, type TaskService } from '../tasks/taskService.js';
import type { TerminalHub } from '../workspaces/terminalHub.js';
import type { WorkspaceService } from '../workspaces/workspaceService.js';
import {
  decideLifecycle,
  type LifecycleDecision,
  type LifecycleLimits,
  type StopCause,
} from './lifecycle.js';

/** Pubsub channel of the lifecycle's workspace events (LifecycleEvent), on every replica. */
export const LIFECYCLE_CHANNEL = 'workspace_lifecycle';

export type LifecycleEvent =
  | { type: 'idle_warning'; workspaceId: string; stopAt: string }
  | { type: 'idle_warning_cleared'; workspaceId: string }
  | { type: 'stopped'; workspaceId: string; cause: StopCause; reason: string };

export interface LifecycleReport {
  /** false: another replica leads the pass. */
  ran: boolean;
  decisions: LifecycleDecision[];
}

/** How often the pass runs: a tenth of the shortest limit, between 1 s and 30 s. */
export function lifecycleIntervalMs(config: Config): number {
  const shortest = Math.min(
    config.sessions.idleTimeout,
    config.sessions.maxDuration,
    config.pooling.taskTimeout,
  );
  return Math.min(30_000, Math.max(1000, (shortest * 1000) / 10));
}

export function lifecycleLimits(config: Config): LifecycleLimits {
  return {
    idleTimeoutMs: config.sessions.idleTimeout * 1000,
    maxDurationMs: config.sessions.maxDuration * 1000,
    taskTimeoutMs: config.pooling.taskTimeout * 1000,
    autoTerminate: config.userDefaults.autoTerminate,
    // Touched every interval while attached: three intervals of silence mean detached.
    attachedFreshMs: 3 * lifecycleIntervalMs(config),
  };
}

const ms = (v: Parameters<typeof iso>[0]): number | null => (v === null ? null : new Date(iso(v)).getTime());

export class LifecyclePass {
  private stopTimer: CancelTimer | undefined;
  private stopToucher: (() => void) | undefined;
  private running: Promise<LifecycleReport> | undefined;
  private readonly limits: LifecycleLimits;
  private readonly intervalMs: number;

  constructor(
    private readonly o: {
      config: Config;
      store: WorkspaceStore;
      taskStore: TaskStore;
      service: WorkspaceService;
      tasks: TaskService;
      terminals: TerminalHub;
      pubsub: Pubsub;
      clock: Clock;
      log: Logger;
      /** One pass at a time across replicas; without it every pass runs. */
      exclusive?: (pass: () => Promise<LifecycleReport>) => Promise<Exclusive<LifecycleReport>>;
    },
  ) {
    this.limits = lifecycleLimits(o.config);
    this.intervalMs = lifecycleIntervalMs(o.config);
  }

  /** Starts the periodic passes and the activity touches of this replica. */
  start(): void {
    this.stop();
    const { clock, terminals, log } = this.o;
    const onViewers = (id: string) => void this.touch(id);
    terminals.events.on('viewers', onViewers);
    const stopEvery = clock.every(this.intervalMs, () => {
      void this.touchAttached();
      void this.runOnce().catch((err) => log.error({ err }, 'lifecycle pass failed'));
    });
    this.stopTimer = stopEvery;
    this.stopToucher = () => terminals.events.off('viewers', onViewers);
  }

  /** Stops the passes and waits for one in flight. */
  async close(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
  }

  private stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.stopToucher?.();
    this.stopToucher = undefined;
  }

  /** A user is using the workspace now (a terminal; later app traffic). */
  async touch(workspaceId: string): Promise<void> {
    await this.o.store
      .touchActivity([workspaceId])
      .catch((err) => this.o.log.warn({ err, workspaceId }, 'could not record workspace activity'));
  }

  /** Touches every workspace with a terminal watched on this replica. */
  async touchAttached(): Promise<void> {
    await this.o.store
      .touchActivity(this.o.terminals.attachedWorkspaces())
      .catch((err) => this.o.log.warn({ err }, 'could not record terminal activity'));
  }

  /** One pass, or none when another replica leads; concurrent calls share the pass in flight. */
  runOnce(): Promise<LifecycleReport> {
    this.running ??= this.passIfLeading().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async passIfLeading(): Promise<LifecycleReport> {
    if (!this.o.exclusive) return this.pass();
    const outcome = await this.o.exclusive(() => this.pass());
    return outcome.ran ? outcome.value : { ran: false, decisions: [] };
  }

  private async pass(): Promise<LifecycleReport> {
    const { store, taskStore, service } = this.o;
    // This replica's own attached terminals count before it decides.
    await this.touchAttached();
    const rows = (await store.list({ status: 'running' })).filter((r) => !service.isBusy(r.id));
    const { open, latest } = await taskStore.lifecycleOf(rows.map((r) => r.id));
    const now = this.o.clock.now().getTime();
    const decisions = decideLifecycle({
      now,
      limits: this.limits,
      workspaces: rows.map((r) => ({
        id: r.id,
        startedAt: ms(r.started_at) ?? now,
        lastActivityAt: ms(r.last_activity_at),
        idleWarnedAt: ms(r.idle_warned_at),
        idleStopAt: ms(r.idle_stop_at),
      })),
      openTasks: open.flatMap((t) =>
        t.workspace_id
          ? [
              {
                id: t.id,
                workspaceId: t.workspace_id,
                status: t.status as TaskStatus,
                turnStartedAt: ms(t.turn_started_at) ?? ms(t.started_at),
              },
            ]
          : [],
      ),
      lastTaskChange: new Map(
        latest.flatMap((l) => (l.workspace_id && l.changed ? [[l.workspace_id, ms(l.changed) ?? 0]] : [])),
      ),
      lastTaskEnd: new Map(
        latest.flatMap((l) => (l.workspace_id && l.ended ? [[l.workspace_id, ms(l.ended) ?? 0]] : [])),
      ),
    });
    // Tasks first: a workspace stopped for its maximum run time cancels its tasks with the reason.
    for (const d of decisions) if (d.kind === 'cancelTask') await this.cancelTask(d);
    const stops: Promise<void>[] = [];
    for (const d of decisions) {
      if (d.kind === 'warnIdle') await this.warn(d.workspaceId, d.stopAt);
      else if (d.kind === 'clearWarning') await this.clearWarning(d.workspaceId);
      else if (d.kind === 'stop')
        stops.push(
          this.stopWorkspace(
            d,
            rows.find((r) => r.id === d.workspaceId),
          ),
        );
    }
    // Stops wait for their boxes' grace period: side by side, not one after another.
    await Promise.all(stops);
    if (decisions.length > 0) this.o.log.info({ decisions }, 'lifecycle limits applied');
    return { ran: true, decisions };
  }

  private async cancelTask(d: Extract<LifecycleDecision, { kind: 'cancelTask' }>): Promise<void> {
    const task = await this.o.taskStore.byId(d.taskId);
    if (!task || task.status === 'cancelled' || task.status === 'succeeded' || task.status === 'failed')
      return;
    try {
      await this.o.tasks.cancel(task, d.reason);
    } catch (err) {
      // It moved on meanwhile (its turn ended): the next pass sees it as it is now.
      if (err instanceof TaskError) return;
      this.o.log.warn({ err, taskId: d.taskId }, 'could not cancel a task over a lifecycle limit');
    }
  }

  private async warn(workspaceId: string, stopAt: number): Promise<void> {
    const at = new Date(stopAt).toISOString();
    if (!(await this.o.store.recordIdleWarning(workspaceId, this.o.clock.now().toISOString(), at))) return;
    await this.publish({ type: 'idle_warning', workspaceId, stopAt: at });
  }

  private async clearWarning(workspaceId: string): Promise<void> {
    if (await this.o.store.clearIdleWarning(workspaceId))
      await this.publish({ type: 'idle_warning_cleared', workspaceId });
  }

  private async stopWorkspace(
    d: Extract<LifecycleDecision, { kind: 'stop' }>,
    seen: WorkspaceRow | undefined,
  ): Promise<void> {
    const { store, taskStore, service, log } = this.o;
    const id = d.workspaceId;
    try {
      if (d.cause !== 'maxDuration') {
        // Someone came back between the read and now: not idle after all.
        const row = await store.byId(id);
        if (row?.status !== 'running' || ms(row.last_activity_at) !== ms(seen?.last_activity_at ?? null))
          return;
        if ((await taskStore.activeIn(id)) || (await taskStore.oldestQueuedIn(id))) return;
      }
      await service.stop(id, { reason: d.reason });
      await store.clearIdleWarning(id);
      await this.publish({ type: 'stopped', workspaceId: id, cause: d.cause, reason: d.reason });
    } catch (err) {
      log.warn({ err, workspaceId: id, cause: d.cause }, 'could not stop a workspace over a lifecycle limit');
    }
  }

  private async publish(event: LifecycleEvent): Promise<void> {
    await this.o.pubsub
      .publish(LIFECYCLE_CHANNEL, JSON.stringify(event))
      .catch((err) => this.o.log.warn({ err, event }, 'could not publish a lifecycle event'));
  }
}
