import type { PermissionMode } from '../../sdk/agentProtocol.js';
import type { Approval, Priority, Task, TaskQueuePlace, TaskStatus } from '../../sdk/taskWire.js';
import { iso } from '../store/schema.js';
import type { ApprovalRow, TaskRow } from '../store/taskStore.js';

export function toWireTask(
  row: TaskRow,
  pendingApprovals: number,
  queue: TaskQueuePlace | null = null,
): Task {
  return {
    id: row.id,
    ownerId: row.owner_id,
    workspaceId: row.workspace_id,
    repository: row.repository,
    prompt: row.prompt,
    model: row.model,
    permissionMode: row.permission_mode as (typeof PermissionMode)['_output'],
    maxTurns: row.max_turns,
    maxBudgetUsd: row.max_budget_usd === null ? null : Number(row.max_budget_usd),
    status: row.status as TaskStatus,
    statusReason: row.status_reason,
    sessionId: row.session_id,
    lastSeq: row.last_seq,
    turns: row.turns,
    costUsd: Number(row.cost_usd),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    durationMs: Number(row.duration_ms),
    pendingApprovals,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    priority: row.priority as Priority,
    queue: row.status === 'queued' ? queue : null,
  };
}

export function toWireApproval(row: ApprovalRow): Approval {
  let input: unknown;
  try {
    input = JSON.parse(row.input);
  } catch {
    input = row.input;
  }
  return {
    id: row.id,
    taskId: row.task_id,
    seq: row.seq,
    toolName: row.tool_name,
    input,
    status: row.status as Approval['status'],
    message: row.message,
    decidedBy: row.decided_by,
    decidedAt: iso(row.decided_at),
    createdAt: iso(row.created_at),
  };
}
