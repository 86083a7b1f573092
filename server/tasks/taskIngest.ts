// Turns the agent's `task.event` notifications into stored events (committed before the ack, so
// nothing acknowledged is lost), moves task status on the events that matter, and announces them
// to the viewers on every replica (TaskFeed).
import type { Logger } from 'pino';
import { taskNotifications } from '../../sdk/agentProtocol.js';
import type { ClaudeMessage, MessageOf } from '../../sdk/claudeMessages.js';
import { toolSummary } from '../../sdk/toolSummary.js';
import type { Clock } from '../clock.js';
import { ACTIVE, type NewTaskEvent, type TaskStore } from '../store/taskStore.js';
import type { UsageStore } from '../store/usageStore.js';
import type { AgentConnection, AgentHub } from '../workspaces/agentHub.js';
import { type ParsedLine, parseLine } from './taskEvents.js';
import { EXPIRED_BECAUSE, type TaskService } from './taskService.js';

/** The most events stored in one transaction, across all tasks. */
const BATCH = 2000;

/** The message kinds that move a task (status, approvals, results); the rest are only shown. */
const WITH_EFFECTS: ReadonlySet<string> = new Set(['init', 'approval_request', 'result', 'rc_exit']);

interface QueuedEvent extends NewTaskEvent {
  conn: AgentConnection;
  workspaceId: string;
  parsed: ParsedLine;
}

export class TaskIngest {
  /** Events received and not yet stored, of every task, in arrival order. */
  private queue: QueuedEvent[] = [];
  /** The loop storing `queue`, while it runs. */
  private storing: Promise<void> | undefined;
  /** Each task's effects and notices of stored events still running, in seq order. */
  private readonly after = new Map<string, Promise<void>>();

  constructor(
    private readonly o: {
      store: TaskStore;
      usage: UsageStore;
      /** Resolves once the gateway has recorded the usage of the workspace's finished responses. */
      meteringSettled(workspaceId: string): Promise<void>;
      hub: AgentHub;
      tasks: TaskService;
      clock: Clock;
      log: Logger;
    },
  ) {
    o.hub.on('notification', (workspaceId, method, params) => {
      if (method !== 'task.event') return;
      const p = taskNotifications['task.event'].safeParse(params);
      if (!p.success) {
        o.log.warn({ workspaceId }, 'agent sent a malformed task.event; ignored');
        return;
      }
      const conn = o.hub.connection(workspaceId);
      if (conn) this.enqueue(conn, p.data.taskId, p.data.seq, p.data.line);
    });
    o.hub.on('connected', (conn) => void this.onConnected(conn));
  }

  /** Resolves once every event received so far (for `taskId`, or for every task) is handled. */
  async drained(taskId?: string): Promise<void> {
    await this.storing;
    if (taskId) await this.after.get(taskId);
    else await Promise.all([...this.after.values()]);
  }

  /**
   * Queues the event. The store loop starts after the current turn of the event loop, so every
   * event that arrived in it — from any task and agent — goes into one transaction; events that
   * arrive while a transaction runs go in the next (at most BATCH each). A thousand streaming
   * tasks cost one commit per burst, not one per task; each task's order is kept.
   */
  private enqueue(conn: AgentConnection, taskId: string, seq: number, line: string): void {
    const parsed = parseLine(line);
    this.queue.push({
      conn,
      taskId,
      workspaceId: conn.workspaceId,
      seq,
      type: parsed.type,
      payload: line,
      parsed,
    });
    if (this.storing) return;
    this.storing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.storeQueued());
  }

  private async storeQueued(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        // Cleared here, in the same step as the check: an event queued from now on starts a loop.
        this.storing = undefined;
        return;
      }
      const batch = this.queue.length <= BATCH ? this.queue : this.queue.slice(0, BATCH);
      this.queue = this.queue.length <= BATCH ? [] : this.queue.slice(BATCH);
      await this.storeBatch(batch).catch((err) =>
        this.o.log.error(
          { err, events: batch.length, tasks: new Set(batch.map((e) => e.taskId)).size },
          'could not store task events',
        ),
      );
    }
  }

  private async storeBatch(batch: QueuedEvent[]): Promise<void> {
    const { stored, createdAt } = await this.o.store.appendEventBatch(batch);
    // Committed: now the agents may forget them — the new ones, the ones stored before (resent)
    // and the refused ones (a deleted task's, or another workspace's id), so they stop resending.
    this.ack(batch);
    const byTask = new Map<string, QueuedEvent[]>();
    for (const e of stored) {
      let events = byTask.get(e.taskId);
      if (!events) {
        events = [];
        byTask.set(e.taskId, events);
      }
      events.push(e);
    }
    for (const [taskId, events] of byTask)
      this.announce(
        taskId,
        events.sort((a, b) => a.seq - b.seq),
        createdAt,
      );
  }

  /**
   * An ack says "every event of the task up to this seq is handled" (the agent's queue drops them
   * all, agent/tasks/eventQueue.ts), so each connection gets one ack per task of the batch, its
   * highest seq, and all of a connection's acks leave in one write.
   */
  private ack(batch: readonly QueuedEvent[]): void {
    const highest = new Map<AgentConnection, Map<string, number>>();
    for (const e of batch) {
      let tasks = highest.get(e.conn);
      if (!tasks) {
        tasks = new Map();
        highest.set(e.conn, tasks);
      }
      tasks.set(e.taskId, Math.max(tasks.get(e.taskId) ?? 0, e.seq));
    }
    for (const [conn, tasks] of highest)
      conn.peer.corked(() => {
        for (const [taskId, seq] of tasks) conn.peer.notify('task.ack', { taskId, seq });
      });
  }

  /**
   * A task's newly stored events take effect and are announced to the viewers, in seq order: an
   * event's effects (a status change, an approval) come before the notice that includes it. Events
   * with no effects are announced at once unless an earlier event's effects are still running.
   */
  private announce(taskId: string, events: QueuedEvent[], createdAt: string): void {
    const prior = this.after.get(taskId);
    if (!prior && !events.some((e) => WITH_EFFECTS.has(e.parsed.message.kind))) {
      this.publish(taskId, events, createdAt);
      return;
    }
    const next = (prior ?? Promise.resolve()).then(async () => {
      let shown: QueuedEvent[] = [];
      for (const e of events) {
        if (!WITH_EFFECTS.has(e.parsed.message.kind)) {
          shown.push(e);
          continue;
        }
        if (shown.length > 0) this.publish(taskId, shown, createdAt);
        shown = [];
        await this.effects(taskId, e.workspaceId, e.seq, e.parsed.message).catch((err) =>
          this.o.log.error({ err, taskId, seq: e.seq }, 'could not apply a task event'),
        );
        this.publish(taskId, [e], createdAt, false); // effects() said the task changed
      }
      if (shown.length > 0) this.publish(taskId, shown, createdAt);
    });
    this.after.set(taskId, next);
    void next.finally(() => {
      if (this.after.get(taskId) === next) this.after.delete(taskId);
    });
  }

  /** Hands the rows to this replica's viewers of the task and tells every replica they exist. */
  private publish(taskId: string, events: QueuedEvent[], createdAt: string, changed = true): void {
    const rows = events.map((e) => ({ seq: e.seq, type: e.type, payload: e.payload, created_at: createdAt }));
    this.o.tasks.feed.stored(taskId, rows.at(-1)?.seq ?? 0, rows);
    if (changed) this.o.tasks.changed(taskId);
  }

  private async effects(taskId: string, workspaceId: string, seq: number, msg: ClaudeMessage): Promise<void> {
    const { store, tasks } = this.o;
    const now = this.o.clock.now().toISOString();
    if (msg.kind === 'init') {
      if (msg.data.session_id) await store.update(taskId, { session_id: msg.data.session_id });
    } else if (msg.kind === 'approval_request') {
      const { request_id: requestId, request: req } = msg.data;
      await store.addApproval({
        task_id: taskId,
        id: requestId,
        seq,
        tool_name: req.tool_name,
        input: JSON.stringify(req.input ?? {}),
        status: 'pending',
      });
      const remembered = (await store.approvals(taskId, 'allowed')).some(
        (a) => a.remember && a.tool_name === req.tool_name,
      );
      const task = await store.byId(taskId);
      if (!task || !(ACTIVE as readonly string[]).includes(task.status)) {
        // Asked after the turn was over (a cancel got there first): nobody will answer it.
        await tasks.expireApprovals(
          taskId,
          task?.status === 'cancelled' ? EXPIRED_BECAUSE.cancelled : EXPIRED_BECAUSE.turnEnded,
        );
        tasks.changed(taskId);
        return;
      }
      const answered =
        remembered &&
        (await tasks.answer(task, requestId, { decision: 'allow', remember: false }, 'remembered').then(
          () => true,
          (err) => {
            // The user is asked instead: the task waits for an approval it can see.
            this.o.log.warn({ err, taskId, approvalId: requestId }, 'could not apply a remembered approval');
            return false;
          },
        ));
      if (!answered) {
        await store.transition(taskId, ['running', 'starting'], 'waiting_for_approval', {
          status_reason: `Waiting for approval: ${toolSummary(req.tool_name, req.input)}`,
        });
      }
    } else if (msg.kind === 'result') {
      const r = msg.data;
      const usage = r.usage;
      await store.addResult({
        task_id: taskId,
        seq,
        subtype: r.subtype ?? null,
        is_error: r.is_error ? 1 : 0,
        total_cost_usd: r.total_cost_usd ?? null,
        num_turns: r.num_turns ?? null,
        duration_ms: r.duration_ms ?? null,
        terminal_reason: r.terminal_reason ?? null,
        usage: usage ? JSON.stringify(usage) : null,
        result: r.result?.slice(0, 10_000) ?? null,
      });
      const task = await store.byId(taskId);
      if (!task) return;
      const interrupted = r.terminal_reason === 'aborted_streaming' || r.subtype === 'error_during_execution';
      const failed = Boolean(r.is_error);
      const status = interrupted ? 'waiting_for_input' : failed ? 'failed' : 'succeeded';
      await store.transition(taskId, ACTIVE, status, {
        status_reason: interrupted
          ? 'Interrupted; send a follow-up to continue.'
          : failed
            ? resultError(r)
            : null,
        finished_at: now,
        turns: task.turns + (r.num_turns ?? 1),
        duration_ms: Number(task.duration_ms) + (r.duration_ms ?? 0),
      });
      await tasks.expireApprovals(taskId, EXPIRED_BECAUSE.turnEnded);
      await this.unmeteredResult(taskId, workspaceId, r);
      tasks.pump(workspaceId);
      tasks.pump(workspaceId);
    } else if (msg.kind === 'rc_exit') {
      const { signal, exitCode, stderrTail } = msg.data;
      const moved = await store.transition(taskId, ACTIVE, 'failed', {
        status_reason: `Claude Code exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${exitCode}`})${
          stderrTail ? `: ${stderrTail.slice(-500)}` : ''
        }`,
        finished_at: now,
      });
      await tasks.expireApprovals(taskId, EXPIRED_BECAUSE.processExited);
      if (moved) tasks.pump(workspaceId);
    }
    tasks.changed(taskId);
  }

  /**
   * A task's cost and tokens are what the gateway metered: each usage row is added to the task as
   * it is recorded (UsageStore.insert), so the result's own figures, which cover the same requests,
   * are not added as well. Only when the gateway metered nothing for the task (its responses
   * carried no usage it could read) do the result's figures stand in. Waiting for the gateway
   * first keeps a row still being recorded from being counted a second time that way.
   */
  private async unmeteredResult(taskId: string, workspaceId: string, r: MessageOf<'result'>): Promise<void> {
    await this.o.meteringSettled(workspaceId);
    if (await this.o.usage.hasTask(taskId)) return;
    const task = await this.o.store.byId(taskId);
    if (!task) return;
    await this.o.store.update(taskId, {
      input_tokens: Number(task.input_tokens) + (r.usage?.input_tokens ?? 0),
      output_tokens: Number(task.output_tokens) + (r.usage?.output_tokens ?? 0),
      cost_usd: Number(task.cost_usd) + (r.total_cost_usd ?? 0),
    });
  }

  /**
   * After an agent (re)connects: the events it resends arrive first; then a task this server
   * thinks is mid-turn but whose process is gone (the workspace restarted) is failed, and a
   * follow-up resumes its session.
   */
  private async onConnected(conn: AgentConnection): Promise<void> {
    const { store, tasks } = this.o;
    try {
      const listed = await conn.peer.request<{ tasks: { taskId: string; running: boolean }[] }>(
        'task.list',
        {},
      );
      await this.drained();
      const running = new Set(listed.tasks.filter((t) => t.running).map((t) => t.taskId));
      for (const task of await store.listByStatus(ACTIVE)) {
        if (task.workspace_id !== conn.workspaceId || running.has(task.id)) continue;
        if (task.status === 'starting') continue; // the pump is about to start it
        await store.transition(task.id, ACTIVE, 'failed', {
          status_reason:
            'The workspace restarted during this turn; send a follow-up to continue the session.',
          finished_at: this.o.clock.now().toISOString(),
        });
        await tasks.expireApprovals(task.id, EXPIRED_BECAUSE.workspaceGone);
        tasks.changed(task.id);
      }
    } catch (err) {
      this.o.log.warn({ err, workspaceId: conn.workspaceId }, 'could not reconcile tasks with the agent');
    }
    tasks.pump(conn.workspaceId);
  }
}

/** The sentence for a failed turn: the API error, or Claude Code's result text. */
function resultError(r: MessageOf<'result'>): string {
  return (r.result || `Claude Code ended the turn with ${r.subtype ?? 'error'}.`).slice(0, 2000);
}
