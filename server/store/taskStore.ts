// Tasks, their event log, approvals and turn results. The event log is append-only and
// idempotent on (task_id, seq): an agent resending after a reconnect inserts nothing twice.

import { randomUUID } from 'node:crypto';
import type SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import type { TaskStatus } from '../../sdk/taskWire.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import type { TaskApprovalsTable, TaskResultsTable, TasksTable } from './schema.js';

export type TaskRow = TasksTable;
export type ApprovalRow = TaskApprovalsTable;

/** A turn is in progress: the workspace is busy with this task. */
export const ACTIVE: readonly TaskStatus[] = ['starting', 'running', 'waiting_for_approval'];

export interface NewTask {
  ownerId: string;
  workspaceId: string;
  repository: string;
  prompt: string;
  model?: string | undefined;
  permissionMode: string;
  maxTurns?: number | undefined;
  maxBudgetUsd?: number | undefined;
  priority?: 'low' | 'normal' | 'high' | undefined;
}

/** An event as an agent sent it: the workspace is the sender's, checked against the task's. */
export interface NewTaskEvent {
  taskId: string;
  workspaceId: string | null;
  seq: number;
  type: string;
  payload: string;
}

export class TaskStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  async create(input: NewTask): Promise<TaskRow> {
    const now = this.now();
    const row: TaskRow = {
      id: randomUUID(),
      owner_id: input.ownerId,
      workspace_id: input.workspaceId,
      repository: input.repository,
      prompt: input.prompt,
      model: input.model ?? null,
      permission_mode: input.permissionMode,
      max_turns: input.maxTurns ?? null,
      max_budget_usd: input.maxBudgetUsd ?? null,
      status: 'queued',
      status_reason: null,
      session_id: null,
      last_seq: 0,
      pending_message: null,
      turns: 0,
      cost_usd: 0,
      input_tokens: 0,
      output_tokens: 0,
      duration_ms: 0,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
      priority: input.priority ?? 'normal',
      queued_at: now,
      turn_started_at: null,
    };
    await this.db.kysely.insertInto('tasks').values(row).execute();
    return row;
  }

  async byId(id: string): Promise<TaskRow | undefined> {
    return this.db.kysely.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The task and how many of its approvals wait for an answer, in one query (GET of a task). */
  async byIdWithPending(id: string): Promise<{ row: TaskRow; pending: number } | undefined> {
    const r = await this.db.kysely
      .selectFrom('tasks')
      .selectAll('tasks')
      .select((eb) =>
        eb
          .selectFrom('task_approvals')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('task_approvals.task_id', '=', 'tasks.id')
          .where('task_approvals.status', '=', 'pending')
          .as('rc_pending_approvals'),
      )
      .where('tasks.id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const { rc_pending_approvals, ...row } = r;
    return { row, pending: Number(rc_pending_approvals ?? 0) };
  }

  /** Newest first; `cursor` is "<created_at>|<id>" of the last row of the previous page. */
  async list(f: {
    ownerId?: string;
    status?: TaskStatus;
    repository?: string;
    limit: number;
    cursor?: string;
  }): Promise<{ rows: TaskRow[]; next: string | null }> {
    let q = this.db.kysely.selectFrom('tasks').selectAll();
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.repository) q = q.where('repository', '=', f.repository);
    if (f.cursor) {
      const [at, id] = f.cursor.split('|') as [string, string];
      q = q.where((eb) =>
        eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
      );
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit + 1)
      .execute();
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return {
      rows: page,
      next: more && last ? `${new Date(last.created_at).toISOString()}|${last.id}` : null,
    };
  }

  /** The task whose turn is in progress in this workspace, if any. */
  async activeIn(workspaceId: string): Promise<TaskRow | undefined> {
    return this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('status', 'in', [...ACTIVE])
      .orderBy('created_at')
      .executeTakeFirst();
  }

  /** The most recently started task of the workspace (for gateway attribution between turns). */
  async latestIn(workspaceId: string): Promise<TaskRow | undefined> {
    return this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('started_at', 'is not', null)
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
  }

  async oldestQueuedIn(workspaceId: string): Promise<TaskRow | undefined> {
    return this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('status', '=', 'queued')
      .orderBy('updated_at')
      .orderBy('created_at')
      .executeTakeFirst();
  }

  /**
   * What the lifecycle pass needs of the tasks of `workspaceIds`: the ones not finished (queued,
   * in a turn or waiting for input), and per workspace when a task last changed and last ended
   * during the workspace's current run.
   */
  async lifecycleOf(workspaceIds: readonly string[]): Promise<{
    open: TaskRow[];
    latest: {
      workspace_id: string | null;
      changed: TasksTable['updated_at'] | null;
      ended: TasksTable['finished_at'];
    }[];
  }> {
    if (workspaceIds.length === 0) return { open: [], latest: [] };
    const ids = [...workspaceIds];
    const open = await this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('workspace_id', 'in', ids)
      .where('status', 'in', ['queued', ...ACTIVE, 'waiting_for_input'])
      .execute();
    // Only what changed during the workspace's current run matters (anything older is before its
    // start), which keeps the rows read to the tasks of this run.
    const latest = await this.db.kysely
      .selectFrom('tasks')
      .innerJoin('workspaces', 'workspaces.id', 'tasks.workspace_id')
      .select((eb) => [
        'tasks.workspace_id',
        eb.fn.max('tasks.updated_at').as('changed'),
        eb.fn.max('tasks.finished_at').as('ended'),
      ])
      .where('tasks.workspace_id', 'in', ids)
      .whereRef('tasks.updated_at', '>=', 'workspaces.started_at')
      .groupBy('tasks.workspace_id')
      .execute();
    return { open, latest };
  }

  async listByStatus(statuses: readonly TaskStatus[]): Promise<TaskRow[]> {
    return this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('status', 'in', [...statuses])
      .execute();
  }

  /** Moves status only from the expected ones; false when another writer got there first. */
  async transition(
    id: string,
    from: readonly TaskStatus[],
    to: TaskStatus,
    set: Partial<Omit<TaskRow, 'id' | 'status'>> = {},
  ): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('tasks')
      .set({ ...set, status: to, updated_at: this.now() })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * Moves `id` from queued to starting only while no other task of the workspace is active: the
   * per-workspace queue's one-turn-at-a-time rule, kept across replicas. On PostgreSQL the
   * workspace's row is locked (FOR UPDATE) for the check and the move, so two replicas pumping
   * the same queue at once start one task, not two; SQLite has one writer at a time anyway.
   */
  async startTurn(
    id: string,
    workspaceId: string,
    set: Partial<Omit<TaskRow, 'id' | 'status'>> = {},
  ): Promise<boolean> {
    return this.db.kysely.transaction().execute(async (trx) => {
      if (this.db.dialect === 'postgres')
        await trx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute();
      const active = await trx
        .selectFrom('tasks')
        .select('id')
        .where('workspace_id', '=', workspaceId)
        .where('status', 'in', [...ACTIVE])
        .where('id', '!=', id)
        .executeTakeFirst();
      if (active) return false;
      const res = await trx
        .updateTable('tasks')
        // turn_started_at: what pooling.taskTimeout measures the turn from.
        .set({ ...set, status: 'starting', updated_at: this.now(), turn_started_at: this.now() })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    });
  }

  async update(id: string, set: Partial<Omit<TaskRow, 'id'>>): Promise<void> {
    await this.db.kysely
      .updateTable('tasks')
      .set({ ...set, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Inserts the event unless that seq is stored already; returns whether it was new. */
  async appendEvent(taskId: string, seq: number, type: string, payload: string): Promise<boolean> {
    const task = await this.byId(taskId);
    if (!task) return false;
    const { stored } = await this.appendEventBatch([
      { taskId, workspaceId: task.workspace_id, seq, type, payload },
    ]);
    return stored.length === 1;
  }

  /**
   * Stores the events of many tasks in one transaction: an event whose task does not exist or
   * belongs to another workspace than the one that sent it is refused (not stored); a seq already
   * stored is skipped; each task's `last_seq` moves to its highest new seq, all in one statement.
   * So a replica ingesting a thousand streaming tasks commits once per burst, not once per task.
   * Resolves with the events that were new (in the order given), the refused ones, and the
   * created_at they were stored with.
   */
  async appendEventBatch<E extends NewTaskEvent>(
    events: readonly E[],
  ): Promise<{ stored: E[]; refused: E[]; createdAt: string }> {
    const createdAt = this.now();
    if (events.length === 0) return { stored: [], refused: [], createdAt };
    const { onSqlite } = this.db;
    if (onSqlite) return onSqlite((raw) => appendOnSqlite(raw, events, createdAt));
    return this.db.kysely.transaction().execute(async (trx) => {
      const ids = [...new Set(events.map((e) => e.taskId))];
      // FOR KEY SHARE: a task deleted by another replica meanwhile would fail the whole insert.
      let owners = trx.selectFrom('tasks').select(['id', 'workspace_id']).where('id', 'in', ids);
      if (this.db.dialect === 'postgres') owners = owners.forKeyShare();
      const ownerOf = new Map((await owners.execute()).map((t) => [t.id, t.workspace_id]));
      const refused: E[] = [];
      const owned: E[] = [];
      for (const e of events) (ownerOf.get(e.taskId) === e.workspaceId ? owned : refused).push(e);
      if (owned.length === 0) return { stored: [], refused, createdAt };
      const rows = await trx
        .insertInto('task_events')
        .values(
          owned.map((e) => ({
            task_id: e.taskId,
            seq: e.seq,
            type: e.type,
            payload: e.payload,
            created_at: createdAt,
          })),
        )
        .onConflict((oc) => oc.columns(['task_id', 'seq']).doNothing())
        .returning(['task_id', 'seq'])
        .execute();
      const isNew = new Set(rows.map((r) => `${r.task_id}\n${Number(r.seq)}`));
      const stored = owned.filter((e) => isNew.has(`${e.taskId}\n${e.seq}`));
      const highest = new Map<string, number>();
      for (const e of stored) highest.set(e.taskId, Math.max(highest.get(e.taskId) ?? 0, e.seq));
      if (highest.size > 0) {
        const values = sql.join([...highest].map(([id, seq]) => sql`(${id}, CAST(${seq} AS INTEGER))`));
        // VALUES columns are column1, column2 in both SQLite and PostgreSQL.
        await sql`UPDATE tasks SET last_seq = v.column2 FROM (VALUES ${values}) AS v
          WHERE tasks.id = v.column1 AND tasks.last_seq < v.column2`.execute(trx);
      }
      return { stored, refused, createdAt };
    });
  }

  async events(taskId: string, after: number, limit: number) {
    return this.db.kysely
      .selectFrom('task_events')
      .selectAll()
      .where('task_id', '=', taskId)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  async addApproval(
    row: Omit<ApprovalRow, 'created_at' | 'decided_at' | 'decided_by' | 'message' | 'remember'>,
  ): Promise<void> {
    await this.db.kysely
      .insertInto('task_approvals')
      .values({
        ...row,
        message: null,
        remember: 0,
        decided_by: null,
        decided_at: null,
        created_at: this.now(),
      })
      .onConflict((oc) => oc.columns(['task_id', 'id']).doNothing())
      .execute();
  }

  async approval(taskId: string, id: string): Promise<ApprovalRow | undefined> {
    return this.db.kysely
      .selectFrom('task_approvals')
      .selectAll()
      .where('task_id', '=', taskId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async approvals(taskId: string, status?: string): Promise<ApprovalRow[]> {
    let q = this.db.kysely.selectFrom('task_approvals').selectAll().where('task_id', '=', taskId);
    if (status) q = q.where('status', '=', status);
    return q.orderBy('seq').execute();
  }

  /** Decides a pending approval; false when it was already answered. */
  async decide(
    taskId: string,
    id: string,
    d: { status: 'allowed' | 'denied'; message: string | null; remember: boolean; by: string },
  ): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('task_approvals')
      .set({
        status: d.status,
        message: d.message,
        remember: d.remember ? 1 : 0,
        decided_by: d.by,
        decided_at: this.now(),
      })
      .where('task_id', '=', taskId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Marks the task's pending approvals expired, saying why; returns how many there were. */
  async expirePending(taskId: string, message: string): Promise<number> {
    const res = await this.db.kysely
      .updateTable('task_approvals')
      .set({ status: 'expired', message, decided_at: this.now() })
      .where('task_id', '=', taskId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async countPending(taskId: string): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('task_approvals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('task_id', '=', taskId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async addResult(row: Omit<TaskResultsTable, 'created_at'>): Promise<boolean> {
    const res = await this.db.kysely
      .insertInto('task_results')
      .values({ ...row, created_at: this.now() })
      .onConflict((oc) => oc.columns(['task_id', 'seq']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

/** appendEventBatch's statements on one SQLite connection, prepared once. */
const sqliteStatements = new WeakMap<
  SqliteDatabase.Database,
  {
    owner: SqliteDatabase.Statement<[string], { workspace_id: string | null }>;
    insert: SqliteDatabase.Statement<[string, number, string, string, string]>;
    bump: SqliteDatabase.Statement<[number, string, number]>;
  }
>();

/**
 * appendEventBatch on SQLite: the same checks and writes as the PostgreSQL statements, as one
 * synchronous transaction of prepared single-row statements (a few µs each). Kysely would build
 * the multi-row SQL anew for every batch, and a text that varies with the batch's size is a new
 * statement for SQLite to compile each time: at 5,000 events a second that was most of ingest.
 */
function appendOnSqlite<E extends NewTaskEvent>(
  raw: SqliteDatabase.Database,
  events: readonly E[],
  createdAt: string,
): { stored: E[]; refused: E[]; createdAt: string } {
  let st = sqliteStatements.get(raw);
  if (!st) {
    st = {
      owner: raw.prepare('SELECT workspace_id FROM tasks WHERE id = ?'),
      insert: raw.prepare(
        'INSERT INTO task_events (task_id, seq, type, payload, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id, seq) DO NOTHING',
      ),
      bump: raw.prepare('UPDATE tasks SET last_seq = ? WHERE id = ? AND last_seq < ?'),
    };
    sqliteStatements.set(raw, st);
  }
  const { owner, insert, bump } = st;
  return raw.transaction(() => {
    const ownerOf = new Map<string, string | null | undefined>();
    const stored: E[] = [];
    const refused: E[] = [];
    const highest = new Map<string, number>();
    for (const e of events) {
      let ws = ownerOf.get(e.taskId);
      if (!ownerOf.has(e.taskId)) {
        ws = owner.get(e.taskId)?.workspace_id;
        ownerOf.set(e.taskId, ws);
      }
      if (ws !== e.workspaceId) {
        refused.push(e);
        continue;
      }
      if (insert.run(e.taskId, e.seq, e.type, e.payload, createdAt).changes === 0) continue;
      stored.push(e);
      highest.set(e.taskId, Math.max(highest.get(e.taskId) ?? 0, e.seq));
    }
    for (const [id, seq] of highest) bump.run(seq, id, seq);
    return { stored, refused, createdAt };
  })();
}
