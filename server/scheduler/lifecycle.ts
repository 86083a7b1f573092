// The lifecycle limits as a pure function: from the running workspaces, their unfinished tasks,
// what was last seen of them and the limits, at `now`, which workspaces to warn, stop (files
// kept) or stop warning, and which tasks to cancel, each with the sentence shown to the user.
// lifecyclePass.ts reads the store, calls `decideLifecycle` and carries the decisions out.
import type { TaskStatus } from '../../sdk/taskWire.js';

export interface LifecycleLimits {
  /** sessions.idleTimeout */
  idleTimeoutMs: number;
  /** sessions.maxDuration */
  maxDurationMs: number;
  /** pooling.taskTimeout */
  taskTimeoutMs: number;
  /** userDefaults.autoTerminate */
  autoTerminate: boolean;
  /**
   * A last_activity_at this recent means a terminal is attached now: replicas touch it at least
   * this often while one is (lifecyclePass.ts).
   */
  attachedFreshMs: number;
}

export interface LifecycleWorkspace {
  id: string;
  /** When it last started running (epoch ms). */
  startedAt: number;
  /** When a user was last seen using it: a terminal attached (later: app traffic). */
  lastActivityAt: number | null;
  /** The idle warning recorded, if any (one older than startedAt is an earlier run's). */
  idleWarnedAt: number | null;
  idleStopAt: number | null;
}

export interface LifecycleTask {
  id: string;
  workspaceId: string;
  status: TaskStatus;
  /** When its current turn started (for the ACTIVE ones). */
  turnStartedAt: number | null;
}

export interface LifecycleInput {
  now: number;
  limits: LifecycleLimits;
  /** Running workspaces only. */
  workspaces: readonly LifecycleWorkspace[];
  /** The workspaces' tasks that are not finished: queued, in a turn, or waiting for input. */
  openTasks: readonly LifecycleTask[];
  /** Per workspace, when one of its tasks last changed (updated_at) and last ended (finished_at). */
  lastTaskChange: ReadonlyMap<string, number>;
  lastTaskEnd: ReadonlyMap<string, number>;
}

export type StopCause = 'idle' | 'maxDuration' | 'autoTerminate';

export type LifecycleDecision =
  | { kind: 'cancelTask'; taskId: string; workspaceId: string; reason: string }
  | { kind: 'stop'; workspaceId: string; cause: StopCause; reason: string }
  | { kind: 'warnIdle'; workspaceId: string; stopAt: number }
  | { kind: 'clearWarning'; workspaceId: string };

/** A turn is in progress (taskStore.ACTIVE). */
const IN_TURN: readonly TaskStatus[] = ['starting', 'running', 'waiting_for_approval'];
const FIVE_MINUTES = 5 * 60_000;

/** How long before an idle stop its warning comes: min(5 min, a fifth of the timeout). */
export function idleWarningLeadMs(idleTimeoutMs: number): number {
  return Math.min(FIVE_MINUTES, Math.floor(idleTimeoutMs / 5));
}

export function decideLifecycle(input: LifecycleInput): LifecycleDecision[] {
  const { now, limits } = input;
  const out: LifecycleDecision[] = [];
  const tasksOf = new Map<string, LifecycleTask[]>();
  for (const t of input.openTasks) {
    const list = tasksOf.get(t.workspaceId) ?? [];
    list.push(t);
    tasksOf.set(t.workspaceId, list);
  }
  for (const ws of input.workspaces) {
    const tasks = tasksOf.get(ws.id) ?? [];
    const warned =
      ws.idleWarnedAt !== null && ws.idleStopAt !== null && ws.idleWarnedAt >= ws.startedAt
        ? { at: ws.idleWarnedAt, stopAt: ws.idleStopAt }
        : undefined;
    // A warning left from an earlier run is only tidied away.
    const staleWarning = ws.idleWarnedAt !== null && !warned;

    // sessions.maxDuration: busy or not. Its queued and running tasks go with it, saying why;
    // one waiting for input stays resumable (a follow-up starts the workspace again).
    if (now - ws.startedAt >= limits.maxDurationMs) {
      const span = formatDuration(limits.maxDurationMs);
      for (const t of tasks) {
        if (t.status === 'waiting_for_input') continue;
        out.push({
          kind: 'cancelTask',
          taskId: t.id,
          workspaceId: ws.id,
          reason: `Cancelled: the workspace was stopped after running ${span} (sessions.maxDuration)`,
        });
      }
      out.push({
        kind: 'stop',
        workspaceId: ws.id,
        cause: 'maxDuration',
        reason: `Stopped after running ${span} (sessions.maxDuration)`,
      });
      continue;
    }

    // pooling.taskTimeout: measured from the start of the turn.
    for (const t of tasks) {
      if (!IN_TURN.includes(t.status) || t.turnStartedAt === null) continue;
      if (now - t.turnStartedAt >= limits.taskTimeoutMs) {
        out.push({
          kind: 'cancelTask',
          taskId: t.id,
          workspaceId: ws.id,
          reason: `Cancelled: the turn ran longer than ${formatDuration(limits.taskTimeoutMs)} (pooling.taskTimeout)`,
        });
      }
    }

    const busy = tasks.some((t) => t.status !== 'waiting_for_input');
    const attached = ws.lastActivityAt !== null && now - ws.lastActivityAt < limits.attachedFreshMs;
    if (busy || attached) {
      if (warned || staleWarning) out.push({ kind: 'clearWarning', workspaceId: ws.id });
      continue;
    }

    // userDefaults.autoTerminate: a task of this run has ended and nothing else is left to do.
    const lastEnd = input.lastTaskEnd.get(ws.id);
    if (limits.autoTerminate && tasks.length === 0 && lastEnd !== undefined && lastEnd >= ws.startedAt) {
      out.push({
        kind: 'stop',
        workspaceId: ws.id,
        cause: 'autoTerminate',
        reason: 'Stopped when its last task ended (userDefaults.autoTerminate)',
      });
      continue;
    }

    // sessions.idleTimeout, warned first. Any activity after the warning withdraws it.
    const lastActive = Math.max(ws.startedAt, ws.lastActivityAt ?? 0, input.lastTaskChange.get(ws.id) ?? 0);
    if (warned && lastActive > warned.at) {
      out.push({ kind: 'clearWarning', workspaceId: ws.id });
      continue;
    }
    if (warned) {
      if (now >= warned.stopAt) {
        out.push({
          kind: 'stop',
          workspaceId: ws.id,
          cause: 'idle',
          reason: `Stopped after ${formatDuration(limits.idleTimeoutMs)} without activity (sessions.idleTimeout)`,
        });
      }
      continue;
    }
    const lead = idleWarningLeadMs(limits.idleTimeoutMs);
    const stopAt = lastActive + limits.idleTimeoutMs;
    if (now >= stopAt - lead) {
      // A pass that comes late (no replica led for a while) still gives the whole notice.
      out.push({ kind: 'warnIdle', workspaceId: ws.id, stopAt: Math.max(stopAt, now + lead) });
    } else if (staleWarning) {
      out.push({ kind: 'clearWarning', workspaceId: ws.id });
    }
  }
  return out;
}

/** "30 min", "8 h", "1 h 30 min", "90 s": for the reasons shown to users. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60 || (s < 600 && s % 60 !== 0)) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest === 0 ? `${h} h` : `${h} h ${rest} min`;
}
