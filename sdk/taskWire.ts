// Wire types of the task API: /api/v1/tasks, its events, messages, approvals.
import { z } from 'zod';
import { PermissionMode } from './agentProtocol.js';
import { MAX_PROMPT_BYTES } from './limits.js';
import { Id } from './wire.js';
import { RepositoryUrl } from './workspaceWire.js';

export const taskStatuses = [
  'queued',
  'starting',
  'running',
  'waiting_for_input',
  'waiting_for_approval',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export const TaskStatus = z.enum(taskStatuses);
export type TaskStatus = z.infer<typeof TaskStatus>;
/** Statuses in which the task's turn is over; a follow-up resumes it (cancelled excepted). */
export const FINISHED: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled'];

export { MAX_PROMPT_BYTES };

const Prompt = z
  .string()
  .refine((s) => s.trim().length > 0, { error: 'must not be empty' })
  .refine((s) => Buffer.byteLength(s) <= MAX_PROMPT_BYTES, { error: 'must be at most 100 KB' });

export const Priority = z.enum(['low', 'normal', 'high']);
export type Priority = z.infer<typeof Priority>;

/** Where a queued task stands (GET /api/v1/queue has the whole queue). */
export const TaskQueuePlace = z.object({
  position: z.number().describe('1 for the next task the scheduler serves.'),
  reason: z.string().describe('Why it waits, in a sentence.'),
  estimatedStartAt: z.string().nullable().describe('A rough estimate, when there is one.'),
});
export type TaskQueuePlace = z.infer<typeof TaskQueuePlace>;

export const CreateTaskBody = z
  .strictObject({
    repository: RepositoryUrl.optional().describe('Your workspace for it is found or created.'),
    workspaceId: Id.optional().describe('Run in this workspace instead.'),
    prompt: Prompt,
    model: z.string().min(1).max(100).optional(),
    permissionMode: PermissionMode.default('default').describe(
      'default asks before Bash, Write, Edit and network tools; acceptEdits, bypassPermissions, plan as in Claude Code.',
    ),
    maxTurns: z.int().min(1).max(1000).optional(),
    maxBudgetUsd: z.number().positive().max(10_000).optional(),
    priority: Priority.optional().describe(
      'Queue priority (default normal); high only for admins or members of a team whose policy allows it.',
    ),
  })
  .refine((b) => (b.repository === undefined) !== (b.workspaceId === undefined), {
    error: 'give exactly one of repository and workspaceId',
    path: ['repository'],
  });
export type CreateTaskBody = z.input<typeof CreateTaskBody>;

export const Task = z.object({
  id: Id,
  ownerId: Id,
  workspaceId: Id.nullable(),
  repository: z.string(),
  prompt: z.string(),
  model: z.string().nullable(),
  permissionMode: PermissionMode,
  maxTurns: z.number().nullable(),
  maxBudgetUsd: z.number().nullable(),
  status: TaskStatus,
  statusReason: z.string().nullable().describe('Why it failed or waits, in a sentence.'),
  sessionId: z.string().nullable(),
  lastSeq: z.number().describe('Seq of the newest stored event.'),
  turns: z.number(),
  costUsd: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  durationMs: z.number(),
  pendingApprovals: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  priority: Priority,
  queue: TaskQueuePlace.nullable().describe('Its place in the queue while queued; null otherwise.'),
});
export type Task = z.infer<typeof Task>;

export const TaskListQuery = z.strictObject({
  status: TaskStatus.optional(),
  owner: z.union([z.literal('me'), z.literal('all'), Id]).default('me'),
  repository: z.string().max(2048).optional(),
  limit: z.coerce.number().pipe(z.int().min(1).max(200)).default(50),
  cursor: z
    .string()
    .regex(/^[0-9T:.Z-]+\|[A-Za-z0-9-]+$/, { error: 'must be a cursor from a previous page' })
    .optional(),
});
export const TaskPage = z.object({ items: z.array(Task), next: z.string().nullable() });

export const TaskEvent = z.object({
  seq: z.number(),
  type: z
    .string()
    .describe(
      'The stream-json type (system, assistant, user, result, control_request, …), rc_exit, or raw for a line that was not JSON.',
    ),
  payload: z.unknown().describe('The line as JSON; {raw: "…"} when it was not JSON.'),
  createdAt: z.string(),
});
export type TaskEvent = z.infer<typeof TaskEvent>;

/**
 * A live frame of the event streams beside the events: the task's totals after the model gateway
 * metered one of its requests. Not stored and without a seq, so it is never replayed; the task
 * itself (GET /api/v1/tasks/:id) has the same totals. SSE sends it as `event: task_usage`, a
 * WebSocket as a text frame that has `type: "usage"` and no `seq`.
 */
export const TaskUsageFrame = z.object({
  type: z.literal('usage'),
  taskId: Id,
  costUsd: z.number().describe("The task's cost so far: the sum of its metered requests, in USD."),
  inputTokens: z.number(),
  outputTokens: z.number(),
});
export type TaskUsageFrame = z.infer<typeof TaskUsageFrame>;
export const TaskEventsQuery = z.strictObject({
  after: z.coerce.number().pipe(z.int().min(0)).default(0),
  limit: z.coerce.number().pipe(z.int().min(1).max(1000)).default(200),
});
export const TaskEventPage = z.object({ items: z.array(TaskEvent), next: z.number().nullable() });

export const TaskMessageBody = z.strictObject({ text: Prompt });

export const approvalStatuses = ['pending', 'allowed', 'denied', 'expired'] as const;
export const ApprovalStatus = z.enum(approvalStatuses);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const Approval = z.object({
  id: z.string(),
  taskId: Id,
  seq: z.number(),
  toolName: z.string(),
  input: z.unknown(),
  status: ApprovalStatus.describe(
    'expired: the turn ended (the task was cancelled, interrupted, or its process or workspace went) before anyone answered.',
  ),
  message: z.string().nullable().describe('The deny message, or why it expired ("Task cancelled.").'),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Approval = z.infer<typeof Approval>;
export const ApprovalList = z.object({ items: z.array(Approval) });
export const ApprovalParams = z.strictObject({ id: Id, approvalId: z.string().min(1).max(200) });
export const ApprovalBody = z.strictObject({
  decision: z.enum(['allow', 'deny']),
  message: z.string().max(10_000).optional(),
  remember: z.boolean().default(false).describe('Allow this tool for the rest of the task without asking.'),
});
