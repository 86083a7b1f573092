// Wire types of the queue and quotas: GET /api/v1/queue, /api/v1/quota, /api/v1/quotas/….
import { z } from 'zod';
import { Priority } from './taskWire.js';
import { Id } from './wire.js';

export const QueueEntry = z.object({
  taskId: Id,
  workspaceId: Id.nullable(),
  userId: Id,
  userName: z.string(),
  priority: Priority,
  position: z.number().describe('1 for the next task the scheduler serves.'),
  action: z
    .enum(['start', 'start_workspace', 'wait', 'fail'])
    .describe(
      'What the next pass does with it: start its turn, start its workspace, leave it waiting, fail it.',
    ),
  reason: z.string().describe('Why it waits, in a sentence.'),
  queuedAt: z.string(),
  estimatedStartAt: z.string().nullable(),
});
export type QueueEntry = z.infer<typeof QueueEntry>;

export const QueueList = z.object({
  at: z.string().describe('When this view of the queue was computed.'),
  entries: z.array(QueueEntry),
});
export type QueueList = z.infer<typeof QueueList>;

export const QueueQuery = z.strictObject({
  owner: z
    .union([z.literal('me'), z.literal('all')])
    .default('me')
    .describe('all: every user (admins).'),
});

const Limits = z.object({
  maxConcurrentTasks: z.number(),
  maxRunningWorkspaces: z.number(),
  maxMonthlyHours: z.number(),
});

export const Quota = z.object({
  userId: Id,
  limits: Limits,
  use: z.object({ concurrentTasks: z.number(), runningWorkspaces: z.number(), monthlyHours: z.number() }),
  monthlyHoursLeft: z.number(),
  resetsAt: z.string().describe('When the monthly allowance starts again (UTC).'),
  fairShareWeight: z.number(),
  allowHighPriority: z.boolean(),
});
export type Quota = z.infer<typeof Quota>;

export const QuotaQuery = z.strictObject({ userId: Id.optional().describe('Another user (admins).') });

const limit = (max: number) => z.int().min(1).max(max).nullable().optional();

/** An admin's override; a field set to null goes back to the configured default, an absent one is kept. */
export const QuotaOverrideBody = z.strictObject({
  maxConcurrentTasks: limit(10_000),
  maxRunningWorkspaces: limit(10_000),
  maxMonthlyHours: z.number().positive().max(744_000).nullable().optional(),
  fairShareWeight: z.number().positive().max(1000).nullable().optional(),
  allowHighPriority: z.boolean().nullable().optional(),
});
export type QuotaOverrideBody = z.infer<typeof QuotaOverrideBody>;

export const QuotaOverride = z.object({
  subjectKind: z.enum(['user', 'team']),
  subjectId: Id,
  maxConcurrentTasks: z.number().nullable(),
  maxRunningWorkspaces: z.number().nullable(),
  maxMonthlyHours: z.number().nullable(),
  fairShareWeight: z.number().nullable(),
  allowHighPriority: z.boolean().nullable(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string(),
});
export type QuotaOverride = z.infer<typeof QuotaOverride>;

export const QuotaOverrideList = z.object({ items: z.array(QuotaOverride) });

export const QuotaSubjectParams = z.strictObject({ kind: z.enum(['users', 'teams']), id: Id });
