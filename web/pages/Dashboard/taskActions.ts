// Quick actions on a task, shared by the dashboard and the task view.
import type { QueryClient } from '@tanstack/react-query';
import type { CreateTaskBody, Task } from '../../../sdk/taskWire.js';
import { api } from '../../api/client.js';

export const stopTask = (task: Task) => api.tasks.cancel(task.id);

/** Runs the same prompt again, with the same settings, in the same workspace. */
export function runAgain(task: Task): Promise<Task> {
  const body: CreateTaskBody = {
    prompt: task.prompt,
    permissionMode: task.permissionMode,
    ...(task.workspaceId ? { workspaceId: task.workspaceId } : { repository: task.repository }),
  };
  if (task.model) body.model = task.model;
  if (task.maxTurns) body.maxTurns = task.maxTurns;
  if (task.maxBudgetUsd) body.maxBudgetUsd = task.maxBudgetUsd;
  if (task.priority !== 'normal') body.priority = task.priority;
  return api.tasks.create(body);
}

/** Wall-clock time the task has run: from start to finish, or to now while it runs. */
export function taskElapsedMs(task: Task, now = Date.now()): number {
  if (!task.startedAt) return 0;
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return Math.max(0, end - Date.parse(task.startedAt));
}

/**
 * After a task is created, stopped or cancelled: the tasks, the queue (places move up at once
 * when a queued task leaves) and the quota's use.
 */
export function refreshAfterTaskChange(queryClient: QueryClient): Promise<unknown> {
  return Promise.all(
    ['tasks', 'queue', 'quota'].map((key) => queryClient.invalidateQueries({ queryKey: [key] })),
  );
}
