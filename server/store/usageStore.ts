// One row per model request the gateway relayed: who it was for, the tokens the API reported and
// what they cost by the price table at the time. Budgets sum these rows; reports aggregate them.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';

export interface UsageRecordInput {
  userId: string;
  workspaceId: string;
  taskId?: string | undefined;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  costUsd: number;
  /** The upstream's `request-id` header, to match a row with Anthropic's console. */
  requestId?: string | undefined;
}

/** A task's totals after a usage row was added to them. */
export interface TaskUsageTotals {
  taskId: string;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

export type UsageGroupBy = 'user' | 'task' | 'repository';

export interface UsageTotals {
  /** User id, task id or repository URL; null for usage outside any task, or of a deleted workspace. */
  key: string | null;
  /** The user's email, for groupBy user. */
  label?: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  costUsd: number;
  requests: number;
}

export interface UsageQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  groupBy: UsageGroupBy;
  /** Only this user's usage. */
  userId?: string | undefined;
}

export class UsageStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * Stores one usage row and, when it is for a task, adds its cost and tokens to the task's totals
   * in the same transaction, so a task's totals are always the sum of its rows. Returns those new
   * totals; undefined for usage outside a task, or for a task that has since been deleted.
   */
  async insert(input: UsageRecordInput): Promise<TaskUsageTotals | undefined> {
    return this.db.kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('usage_records')
        .values({
          id: randomUUID(),
          created_at: this.clock.now().toISOString(),
          user_id: input.userId,
          workspace_id: input.workspaceId,
          task_id: input.taskId ?? null,
          model: input.model,
          input_tokens: input.inputTokens,
          output_tokens: input.outputTokens,
          cache_creation_tokens: input.cacheCreationTokens,
          cache_read_tokens: input.cacheReadTokens,
          cost_usd: input.costUsd,
          request_id: input.requestId ?? null,
        })
        .execute();
      if (!input.taskId) return undefined;
      // updated_at stays: it orders a workspace's queue, and a cost is not a change of the task's state.
      const row = await trx
        .updateTable('tasks')
        .set((eb) => ({
          cost_usd: eb('cost_usd', '+', input.costUsd),
          input_tokens: eb('input_tokens', '+', input.inputTokens),
          output_tokens: eb('output_tokens', '+', input.outputTokens),
        }))
        .where('id', '=', input.taskId)
        .returning(['cost_usd', 'input_tokens', 'output_tokens'])
        .executeTakeFirst();
      return row
        ? {
            taskId: input.taskId,
            costUsd: Number(row.cost_usd),
            inputTokens: Number(row.input_tokens),
            outputTokens: Number(row.output_tokens),
          }
        : undefined;
    });
  }

  /** Whether the gateway has metered any request of the task. */
  async hasTask(taskId: string): Promise<boolean> {
    const row = await this.db.kysely
      .selectFrom('usage_records')
      .select('id')
      .where('task_id', '=', taskId)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** What a task's model requests have cost so far, in USD. */
  async sumForTask(taskId: string): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('usage_records')
      .select((eb) => eb.fn.sum<number | string | null>('cost_usd').as('cost'))
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    return Number(row?.cost ?? 0);
  }

  /** What a user's model requests have cost since `since` (inclusive), in USD. */
  async sumForUserSince(userId: string, since: Date): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('usage_records')
      .select((eb) => eb.fn.sum<number | string | null>('cost_usd').as('cost'))
      .where('user_id', '=', userId)
      .where('created_at', '>=', since.toISOString())
      .executeTakeFirst();
    return Number(row?.cost ?? 0);
  }

  /** Totals per user, task or repository over [from, to), most expensive first. */
  async aggregate(q: UsageQuery): Promise<UsageTotals[]> {
    const key =
      q.groupBy === 'user'
        ? sql<string | null>`u.user_id`
        : q.groupBy === 'task'
          ? sql<string | null>`u.task_id`
          : sql<string | null>`w.repository`;
    let query = this.db.kysely
      .selectFrom('usage_records as u')
      .leftJoin('workspaces as w', 'w.id', 'u.workspace_id')
      .leftJoin('users as usr', 'usr.id', 'u.user_id')
      .select((eb) => [
        key.as('key'),
        // One email per user id, so max() only satisfies GROUP BY.
        eb.fn.max('usr.email').as('label'),
        eb.fn.sum<number | string>('u.input_tokens').as('input_tokens'),
        eb.fn.sum<number | string>('u.output_tokens').as('output_tokens'),
        eb.fn.sum<number | string>('u.cache_creation_tokens').as('cache_creation_tokens'),
        eb.fn.sum<number | string>('u.cache_read_tokens').as('cache_read_tokens'),
        eb.fn.sum<number | string>('u.cost_usd').as('cost_usd'),
        eb.fn.countAll<number | string>().as('requests'),
      ])
      .where('u.created_at', '>=', q.from.toISOString())
      .where('u.created_at', '<', q.to.toISOString())
      .groupBy(key);
    if (q.userId) query = query.where('u.user_id', '=', q.userId);
    const rows = await query.execute();
    return rows
      .map((r) => ({
        key: r.key,
        ...(q.groupBy === 'user' && r.label ? { label: r.label } : {}),
        inputTokens: Number(r.input_tokens),
        outputTokens: Number(r.output_tokens),
        cacheCreationTokens: Number(r.cache_creation_tokens),
        cacheReadTokens: Number(r.cache_read_tokens),
        costUsd: Number(r.cost_usd),
        requests: Number(r.requests),
      }))
      .sort((a, b) => b.costUsd - a.costUsd || String(a.key).localeCompare(String(b.key)));
  }
}
