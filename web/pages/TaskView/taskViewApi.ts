// The task view's reads and writes of /api/v1/tasks/:id (stop and run-again are shared with the
// dashboard in ../Dashboard/taskActions.ts).
import { useQuery } from '@tanstack/react-query';
import type { Task } from '../../../sdk/taskWire.js';
import { api } from '../../api/client.js';
import { isTaskFinished } from '../../lib/status.js';

export const taskKey = (id: string) => ['tasks', 'detail', id] as const;
export const approvalsKey = (id: string) => ['tasks', 'approvals', id] as const;

export const fetchTask = (id: string) => api.tasks.get(id);

/** The task, polled every few seconds while it is active (events also trigger refetches). */
export function useTask(id: string) {
  return useQuery({
    queryKey: taskKey(id),
    queryFn: () => fetchTask(id),
    refetchInterval: (q) => (q.state.data && isTaskFinished(q.state.data.status) ? false : 3000),
  });
}

/** Pending approvals. A finished task's leftovers cannot be answered any more, so none are shown. */
export function usePendingApprovals(task: Task | undefined) {
  const enabled = !!task && !isTaskFinished(task.status);
  return useQuery({
    queryKey: approvalsKey(task?.id ?? ''),
    queryFn: () => api.tasks.approvals(task?.id ?? '', 'pending'),
    enabled,
    refetchInterval: task?.status === 'waiting_for_approval' ? 3000 : false,
    select: (d) => d.items,
  });
}

/** Approvals that expired unanswered, once the task's turn is over (a cancel, say). */
export function useExpiredApprovals(task: Task | undefined) {
  return useQuery({
    queryKey: [...approvalsKey(task?.id ?? ''), 'expired'],
    queryFn: () => api.tasks.approvals(task?.id ?? '', 'expired'),
    enabled: !!task && isTaskFinished(task.status),
    select: approvalIds,
  });
}

// Module-level, so the query keeps its result (and the set its identity) between renders.
const approvalIds = (d: { items: { id: string }[] }): ReadonlySet<string> =>
  new Set(d.items.map((a) => a.id));

export const interruptTask = (id: string) => api.tasks.interrupt(id);

export const sendMessage = (id: string, text: string) => api.tasks.sendMessage(id, text);

export const answerApproval = (
  taskId: string,
  approvalId: string,
  body: { decision: 'allow' | 'deny'; message?: string; remember?: boolean },
) => api.tasks.answerApproval(taskId, approvalId, body);
