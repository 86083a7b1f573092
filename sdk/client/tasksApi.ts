// Tasks, their event log and their approvals (server/http/routes/taskRoutes.ts, taskEventRoutes.ts).
import type { z } from 'zod';
import type { ApprovalBody, ApprovalStatus, CreateTaskBody, TaskEvent, TaskListQuery } from '../taskWire.js';
import { type FollowOptions, followTaskEvents } from './taskEventStream.js';
import { queryString, seg, type Transport } from './transport.js';

export function taskPath(id: string): string {
  return `/api/v1/tasks/${seg(id)}`;
}

export class TasksApi {
  constructor(private readonly t: Transport) {}

  /** Queues a task; it starts once its workspace runs (status `queued` until then). */
  create(body: CreateTaskBody) {
    return this.t.call('POST', '/api/v1/tasks', 'Task', body);
  }

  /** A page of tasks, newest first; pass `next` back as `cursor` for the following page. */
  list(query: Omit<Partial<z.input<typeof TaskListQuery>>, 'limit'> & { limit?: number } = {}) {
    return this.t.call('GET', `/api/v1/tasks${queryString(query)}`, 'TaskPage');
  }

  get(id: string) {
    return this.t.call('GET', taskPath(id), 'Task');
  }

  /** Stored events after seq `after` (default 0), oldest first; `next` is the `after` of the next page. */
  events(id: string, page: { after?: number; limit?: number } = {}) {
    return this.t.call('GET', `${taskPath(id)}/events${queryString(page)}`, 'TaskEventPage');
  }

  /** The events after `after` as they happen, over Server-Sent Events (see taskEventStream.ts). */
  follow(id: string, opts: FollowOptions = {}): AsyncGenerator<TaskEvent, void, undefined> {
    return followTaskEvents(this.t, id, opts);
  }

  /** The WebSocket URL of the same feed, which the browser uses (one socket per task view). */
  eventsSocketUrl(id: string, after: number): string {
    return this.t.socketUrl(`${taskPath(id)}/events${queryString({ after })}`);
  }

  /** A follow-up: to the running turn, or resuming a finished task. 409 for a cancelled or queued one. */
  sendMessage(id: string, text: string) {
    return this.t.call('POST', `${taskPath(id)}/messages`, 'Task', { text });
  }

  /** Ends the running turn; the task then waits for a follow-up (`waiting_for_input`). */
  interrupt(id: string) {
    return this.t.call('POST', `${taskPath(id)}/interrupt`, 'Task');
  }

  cancel(id: string) {
    return this.t.call('POST', `${taskPath(id)}/cancel`, 'Task');
  }

  approvals(id: string, status?: ApprovalStatus) {
    return this.t.call('GET', `${taskPath(id)}/approvals${queryString({ status })}`, 'ApprovalList');
  }

  answerApproval(id: string, approvalId: string, body: z.input<typeof ApprovalBody>) {
    return this.t.call('POST', `${taskPath(id)}/approvals/${seg(approvalId)}`, 'Task', body);
  }
}
