// Turns the agent's `task.event` notifications into stored events (committed before the ack, so
// nothing acknowledged is lost), moves task status on the events that matter, and announces them
// to the viewers on every replica (TaskFeed).
import type { Logger } from 'pino';
import { taskNotifications } from '../../sdk/agentProtocol.js';
import type { ClaudeMessage, MessageOf } from '../../sdk/claudeMessages.js';
import { toolSummary } from '../../sdk/toolSummary.js';
import type { Clock } from '../clock.js';
import { ACTIVE, type TaskStore } from '../store/taskStore.js';
import type { UsageStore } from '../store/usageStore.js';
import type { AgentConnection, AgentHub } from '../workspaces/agentHub.js';
import { parseLine } from './taskEvents.js';
import { EXPIRED_BECAUSE, type TaskService } from './taskService.js';

/** The most events of one task stored in one transaction. */
const BATCH = 500;

interface QueuedEvent {
  conn: AgentConnection;
  seq: number;
  line: string;
}

export class TaskIngest {
  /** Each task's drain, while it has events queued or being stored. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, QueuedEvent[]>();

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

  /** Resolves once every event received so far for `taskId` is handled. */
  async drained(taskId?: string): Promise<void> {
    if (taskId) await this.chains.get(taskId);
    else await Promise.all([...this.chains.values()]);
  }

  /**
   * Queues the event behind the task's earlier ones. Events that arrive while a batch is being
   * stored wait and go in the next batch together (at most BATCH), so a fast stream costs one
   * transaction per burst, not per event; their order is kept.
   */
  private enqueue(conn: AgentConnection, taskId: string, seq: number, line: string): void {
    let queue = this.queued.get(taskId);
    if (!queue) {
      queue = [];
      this.queued.set(taskId, queue);
    }
    queue.push({ conn, seq, line });
    if (this.chains.has(taskId)) return;
    const next = this.drain(taskId);
    this.chains.set(taskId, next);
    void next.finally(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    });
  }

  private async drain(taskId: string): Promise<void> {
    for (;;) {
      const queue = this.queued.get(taskId);
      if (!queue || queue.length === 0) {
        this.queued.delete(taskId);
        return;
      }
      const batch = queue.splice(0, BATCH);
      await this.handle(taskId, batch).catch((err) =>
        this.o.log.error(
          { err, taskId, seqs: [batch[0]?.seq, batch.at(-1)?.seq] },
          'could not store task events',
        ),
      );
    }
  }

  private async handle(taskId: string, batch: QueuedEvent[]): Promise<void> {
    const { store, tasks } = this.o;
    const task = await store.byId(taskId);
    const ours = batch.filter((e) => task && task.workspace_id === e.conn.workspaceId);
    // Not ours (deleted, or another workspace's id): ack so the agent stops resending it.
    for (const e of batch) if (!ours.includes(e)) e.conn.peer.notify('task.ack', { taskId, seq: e.seq });
    if (!task || ours.length === 0) return;
    const parsed = ours.map((e) => ({ ...e, ...parseLine(e.line) }));
    const inserted = await store.appendEvents(
      taskId,
      parsed.map((e) => ({ seq: e.seq, type: e.type, payload: e.line })),
    );
    // Committed: now the agent may forget them.
    for (const e of ours) e.conn.peer.notify('task.ack', { taskId, seq: e.seq });
    for (const e of parsed) {
      if (!inserted.has(e.seq)) continue;
      if (e.type !== 'raw') await this.effects(task.id, e.conn.workspaceId, e.seq, e.message);
      tasks.feed.stored(taskId, e.seq);
    }
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
