// What the scheduler reads and writes (server/scheduler/): the queue, who runs what, quota
// overrides, metered workspace time per month and decayed fair-share usage.
import type { Clock } from '../clock.js';
import { decay } from '../scheduler/fairShare.js';
import type { Db } from './db.js';
import { iso, type QuotaOverridesTable } from './schema.js';
import { ACTIVE } from './taskStore.js';

export type QuotaOverrideRow = QuotaOverridesTable;

/** The fields of an override an admin sets; null (or absent) keeps the configured default. */
export interface QuotaOverrideInput {
  maxConcurrentTasks?: number | null | undefined;
  maxRunningWorkspaces?: number | null | undefined;
  maxMonthlyHours?: number | null | undefined;
  fairShareWeight?: number | null | undefined;
  allowHighPriority?: boolean | null | undefined;
}

export interface QueuedTaskRow {
  id: string;
  owner_id: string;
  workspace_id: string | null;
  priority: string;
  queued_at: string;
  status_reason: string | null;
}

export interface SchedWorkspaceRow {
  id: string;
  owner_id: string;
  status: string;
  status_reason: string | null;
  cpu: number;
  memory_bytes: number;
  runtime_ref: string | null;
  updated_at: string;
}

export interface SchedUserRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
}

/** Everything one scheduling pass reads, in one go. */
export interface SchedulerSnapshot {
  queued: QueuedTaskRow[];
  /** Active tasks (a turn starts, runs or waits for an approval) per user, and the workspaces they hold. */
  activeByUser: Map<string, number>;
  busyWorkspaces: Set<string>;
  /** Workspaces of queued tasks, and every starting or running one. */
  workspaces: SchedWorkspaceRow[];
  users: SchedUserRow[];
  /** user id → team ids. */
  teams: Map<string, string[]>;
  overrides: QuotaOverrideRow[];
  /** user id → workspace-seconds this month. */
  monthSeconds: Map<string, number>;
  /** user id → decayed workspace-CPU-seconds as of now. */
  usage: Map<string, number>;
}

export interface UserUse {
  name: string;
  activeTasks: number;
  runningWorkspaces: number;
  monthSeconds: number;
}

/** YYYY-MM of `d`, UTC. */
export const monthOf = (d: Date): string => d.toISOString().slice(0, 7);

/** The first instant of the month after `d`'s, UTC. */
export function nextMonthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

const RUNNING = ['starting', 'running'];

export class SchedulerStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly halfLifeMs: number,
  ) {}

  async snapshot(): Promise<SchedulerSnapshot> {
    const k = this.db.kysely;
    const now = this.clock.now();
    const [queued, active, workspaces, overrides, months, shares] = await Promise.all([
      k
        .selectFrom('tasks')
        .select(['id', 'owner_id', 'workspace_id', 'priority', 'queued_at', 'created_at', 'status_reason'])
        .where('status', '=', 'queued')
        // Each user's tasks together and in arrival order: the core then neither groups by lookup
        // nor sorts (schedulerCore.ts checks the order and sorts only what is out of it).
        .orderBy('owner_id')
        .orderBy('queued_at')
        .orderBy('id')
        .execute(),
      k
        .selectFrom('tasks')
        .select(['owner_id', 'workspace_id'])
        .where('status', 'in', [...ACTIVE])
        .execute(),
      k
        .selectFrom('workspaces')
        .select([
          'id',
          'owner_id',
          'status',
          'status_reason',
          'cpu',
          'memory_bytes',
          'runtime_ref',
          'updated_at',
        ])
        .where((eb) =>
          eb.or([
            eb('status', 'in', ['pending', ...RUNNING, 'stopping']),
            eb(
              'id',
              'in',
              eb
                .selectFrom('tasks')
                .select('workspace_id')
                .where('status', '=', 'queued')
                .where('workspace_id', 'is not', null)
                .$castTo<string>(),
            ),
          ]),
        )
        .execute(),
      k.selectFrom('quota_overrides').selectAll().execute(),
      k
        .selectFrom('usage_months')
        .select(['user_id', 'workspace_seconds'])
        .where('month', '=', monthOf(now))
        .execute(),
      k.selectFrom('fair_share_usage').selectAll().execute(),
    ]);
    const userIds = new Set<string>();
    for (const t of queued) userIds.add(t.owner_id);
    for (const w of workspaces) userIds.add(w.owner_id);
    const ids = [...userIds];
    const [users, members] =
      ids.length === 0
        ? [[], []]
        : await Promise.all([
            k.selectFrom('users').select(['id', 'email', 'name', 'role']).where('id', 'in', ids).execute(),
            k.selectFrom('team_members').select(['user_id', 'team_id']).where('user_id', 'in', ids).execute(),
          ]);
    const activeByUser = new Map<string, number>();
    const busyWorkspaces = new Set<string>();
    for (const a of active) {
      activeByUser.set(a.owner_id, (activeByUser.get(a.owner_id) ?? 0) + 1);
      if (a.workspace_id) busyWorkspaces.add(a.workspace_id);
    }
    const teams = new Map<string, string[]>();
    for (const m of members) teams.set(m.user_id, [...(teams.get(m.user_id) ?? []), m.team_id]);
    const nowMs = now.getTime();
    return {
      queued: queued.map((t) => ({
        id: t.id,
        owner_id: t.owner_id,
        workspace_id: t.workspace_id,
        priority: t.priority,
        queued_at: iso(t.queued_at ?? t.created_at),
        status_reason: t.status_reason,
      })),
      activeByUser,
      busyWorkspaces,
      workspaces: workspaces.map((w) => ({
        ...w,
        memory_bytes: Number(w.memory_bytes),
        updated_at: iso(w.updated_at),
      })),
      users,
      teams,
      overrides,
      monthSeconds: new Map(months.map((m) => [m.user_id, Number(m.workspace_seconds)])),
      usage: new Map(
        shares.map((s) => [
          s.user_id,
          decay(Number(s.cpu_seconds), new Date(iso(s.as_of)).getTime(), nowMs, this.halfLifeMs),
        ]),
      ),
    };
  }

  /**
   * Meters workspace running time up to now: each starting or running workspace's time since it
   * was last metered goes to its owner's month (split at month boundaries) and, times its CPU, to
   * the owner's decayed fair-share usage; a workspace that stopped since is metered up to when it
   * stopped. One transaction, so a crash meters a stretch either whole or not at all. Run by one
   * replica at a time (the scheduler's leader).
   */
  async meter(): Promise<void> {
    const now = this.clock.now();
    const nowMs = now.getTime();
    await this.db.kysely.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('workspaces')
        .select(['id', 'owner_id', 'status', 'cpu', 'started_at', 'stopped_at', 'updated_at', 'metered_at'])
        .where((eb) => eb.or([eb('status', 'in', RUNNING), eb('metered_at', 'is not', null)]))
        .execute();
      const seconds = new Map<string, Map<string, number>>();
      const cpuSeconds = new Map<string, number>();
      for (const w of rows) {
        const running = RUNNING.includes(w.status);
        const endMs = running ? nowMs : new Date(iso(w.stopped_at ?? w.updated_at)).getTime();
        const fromIso = w.metered_at ?? w.started_at;
        const fromMs = fromIso ? Math.min(new Date(iso(fromIso)).getTime(), endMs) : endMs;
        for (const [month, s] of splitByMonth(fromMs, endMs)) {
          const byMonth = seconds.get(w.owner_id) ?? new Map<string, number>();
          byMonth.set(month, (byMonth.get(month) ?? 0) + s);
          seconds.set(w.owner_id, byMonth);
        }
        cpuSeconds.set(w.owner_id, (cpuSeconds.get(w.owner_id) ?? 0) + (w.cpu * (endMs - fromMs)) / 1000);
        await trx
          .updateTable('workspaces')
          .set({ metered_at: running ? now.toISOString() : null })
          .where('id', '=', w.id)
          .execute();
      }
      for (const [userId, byMonth] of seconds) {
        for (const [month, s] of byMonth) {
          if (s <= 0) continue;
          await trx
            .insertInto('usage_months')
            .values({ user_id: userId, month, workspace_seconds: s })
            .onConflict((oc) =>
              oc.columns(['user_id', 'month']).doUpdateSet((eb) => ({
                workspace_seconds: eb('usage_months.workspace_seconds', '+', s),
              })),
            )
            .execute();
        }
      }
      for (const [userId, add] of cpuSeconds) {
        if (add <= 0) continue;
        const prev = await trx
          .selectFrom('fair_share_usage')
          .selectAll()
          .where('user_id', '=', userId)
          .executeTakeFirst();
        const decayed = prev
          ? decay(Number(prev.cpu_seconds), new Date(iso(prev.as_of)).getTime(), nowMs, this.halfLifeMs)
          : 0;
        await trx
          .insertInto('fair_share_usage')
          .values({ user_id: userId, cpu_seconds: decayed + add, as_of: now.toISOString() })
          .onConflict((oc) =>
            oc.column('user_id').doUpdateSet({ cpu_seconds: decayed + add, as_of: now.toISOString() }),
          )
          .execute();
      }
    });
  }

  /** A typical turn's length: the mean over the last 100 finished tasks that ran one; undefined without any. */
  async meanTurnMs(): Promise<number | undefined> {
    const rows = await this.db.kysely
      .selectFrom('tasks')
      .select(['duration_ms', 'turns'])
      .where('status', 'in', ['succeeded', 'failed', 'waiting_for_input'])
      .where('turns', '>', 0)
      .orderBy('updated_at', 'desc')
      .limit(100)
      .execute();
    if (rows.length === 0) return undefined;
    const sum = rows.reduce((acc, r) => acc + Number(r.duration_ms) / Math.max(1, r.turns), 0);
    return sum / rows.length;
  }

  /** The teams `userId` belongs to. */
  async teamsOf(userId: string): Promise<string[]> {
    const rows = await this.db.kysely
      .selectFrom('team_members')
      .select('team_id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.team_id);
  }

  /**
   * What `userId` uses of the quotas now: tasks counting against concurrency (active, or queued
   * with their workspace starting for them), running workspaces, this month's workspace-seconds.
   */
  async usageOf(userId: string, at: Date): Promise<UserUse> {
    const k = this.db.kysely;
    const [user, active, admitted, running, monthSeconds] = await Promise.all([
      k.selectFrom('users').select(['email', 'name']).where('id', '=', userId).executeTakeFirst(),
      k
        .selectFrom('tasks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', '=', userId)
        .where('status', 'in', [...ACTIVE])
        .executeTakeFirst(),
      k
        .selectFrom('tasks')
        .innerJoin('workspaces', 'workspaces.id', 'tasks.workspace_id')
        .select((eb) => eb.fn.count<number>('tasks.workspace_id').distinct().as('n'))
        .where('tasks.owner_id', '=', userId)
        .where('tasks.status', '=', 'queued')
        .where('workspaces.status', '=', 'starting')
        .executeTakeFirst(),
      k
        .selectFrom('workspaces')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', '=', userId)
        .where('status', 'in', RUNNING)
        .executeTakeFirst(),
      this.monthSeconds(userId, at),
    ]);
    return {
      name: user?.name ?? user?.email ?? userId,
      activeTasks: Number(active?.n ?? 0) + Number(admitted?.n ?? 0),
      runningWorkspaces: Number(running?.n ?? 0),
      monthSeconds,
    };
  }

  /** Workspace-seconds `userId` used in the month of `at`. */
  async monthSeconds(userId: string, at: Date): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('usage_months')
      .select('workspace_seconds')
      .where('user_id', '=', userId)
      .where('month', '=', monthOf(at))
      .executeTakeFirst();
    return Number(row?.workspace_seconds ?? 0);
  }

  async overrides(): Promise<QuotaOverrideRow[]> {
    return this.db.kysely
      .selectFrom('quota_overrides')
      .selectAll()
      .orderBy('subject_kind')
      .orderBy('subject_id')
      .execute();
  }

  async override(kind: 'user' | 'team', id: string): Promise<QuotaOverrideRow | undefined> {
    return this.db.kysely
      .selectFrom('quota_overrides')
      .selectAll()
      .where('subject_kind', '=', kind)
      .where('subject_id', '=', id)
      .executeTakeFirst();
  }

  /** Sets the given fields of the override (absent ones keep their value), creating it if needed. */
  async setOverride(
    kind: 'user' | 'team',
    id: string,
    input: QuotaOverrideInput,
    by: string,
  ): Promise<QuotaOverrideRow> {
    const set: Partial<QuotaOverrideRow> = { updated_by: by, updated_at: this.clock.now().toISOString() };
    if (input.maxConcurrentTasks !== undefined) set.max_concurrent_tasks = input.maxConcurrentTasks;
    if (input.maxRunningWorkspaces !== undefined) set.max_running_workspaces = input.maxRunningWorkspaces;
    if (input.maxMonthlyHours !== undefined) set.max_monthly_hours = input.maxMonthlyHours;
    if (input.fairShareWeight !== undefined) set.fair_share_weight = input.fairShareWeight;
    if (input.allowHighPriority !== undefined)
      set.allow_high_priority = input.allowHighPriority === null ? null : input.allowHighPriority ? 1 : 0;
    await this.db.kysely
      .insertInto('quota_overrides')
      .values({
        subject_kind: kind,
        subject_id: id,
        max_concurrent_tasks: null,
        max_running_workspaces: null,
        max_monthly_hours: null,
        fair_share_weight: null,
        allow_high_priority: null,
        updated_by: by,
        updated_at: set.updated_at as string,
        ...set,
      })
      .onConflict((oc) => oc.columns(['subject_kind', 'subject_id']).doUpdateSet(set))
      .execute();
    return (await this.override(kind, id)) as QuotaOverrideRow;
  }

  async removeOverride(kind: 'user' | 'team', id: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom('quota_overrides')
      .where('subject_kind', '=', kind)
      .where('subject_id', '=', id)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}

/** [month, seconds] pieces of the span from `fromMs` to `toMs`, split at UTC month starts. */
export function splitByMonth(fromMs: number, toMs: number): [string, number][] {
  const out: [string, number][] = [];
  let at = fromMs;
  while (at < toMs) {
    const start = new Date(at);
    const end = Math.min(toMs, nextMonthStart(start).getTime());
    out.push([monthOf(start), (end - at) / 1000]);
    at = end;
  }
  return out;
}
