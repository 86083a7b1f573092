// How each status looks: one entry per status, so the compiler catches a new one.
import type { TaskStatus } from '../../sdk/taskWire.js';
import type { WorkspaceStatus } from '../../sdk/workspaceWire.js';

interface Look {
  label: string;
  color: string;
}

export const taskStatusLook: Record<TaskStatus, Look> = {
  queued: { label: 'Queued', color: 'gray' },
  starting: { label: 'Starting', color: 'blue' },
  running: { label: 'Running', color: 'blue' },
  waiting_for_input: { label: 'Waiting for you', color: 'teal' },
  waiting_for_approval: { label: 'Needs approval', color: 'orange' },
  succeeded: { label: 'Succeeded', color: 'green' },
  failed: { label: 'Failed', color: 'red' },
  cancelled: { label: 'Cancelled', color: 'gray' },
};

/** Statuses in which a task is busy or waits for a person (not finished). */
export const activeTaskStatuses = (Object.keys(taskStatusLook) as TaskStatus[]).filter(
  (s) => !['succeeded', 'failed', 'cancelled'].includes(s),
);

export const isTaskFinished = (s: TaskStatus): boolean => !activeTaskStatuses.includes(s);

export const workspaceStatusLook: Record<WorkspaceStatus, Look> = {
  pending: { label: 'Pending', color: 'gray' },
  starting: { label: 'Starting', color: 'blue' },
  running: { label: 'Running', color: 'green' },
  stopping: { label: 'Stopping', color: 'yellow' },
  stopped: { label: 'Stopped', color: 'gray' },
  failed: { label: 'Failed', color: 'red' },
};
