import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { TaskId, taskNotifications } from '../../sdk/agentProtocol.js';
import { opError, type RpcPeer } from '../../sdk/rpcPeer.js';
import { log } from '../log.js';
import type { StartParams } from './claudeCommand.js';
import { EventQueue } from './eventQueue.js';
import { type AnswerParams, type TaskContext, TaskRunner } from './taskRunner.js';

export interface TaskServiceOptions extends TaskContext {
  /** `$HOME/.remote-claude/tasks`: one directory per task with its event queue. */
  tasksDir: string;
}

/**
 * The workspace's tasks. They belong to the agent, not to a connection: a process keeps running
 * and its events keep queueing while the control plane is away, and each new connection gets
 * every unacknowledged event again (`attach`). A task is forgotten, and its directory removed,
 * once it has no process and the server has acknowledged all its events.
 */
export class TaskService {
  private readonly runners = new Map<string, TaskRunner>();
  private readonly starting = new Set<string>();
  /** Directories being removed; a new start of the same task waits for that first. */
  private readonly removals = new Map<string, Promise<void>>();
  private peer: RpcPeer | undefined;

  constructor(private readonly options: TaskServiceOptions) {}

  /** Opens the queues a previous agent left with unacknowledged events (their processes are gone). */
  async load(): Promise<void> {
    const names = await readdir(this.options.tasksDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => TaskId.safeParse(n).success)) {
      try {
        const queue = await EventQueue.open(this.dirOf(name));
        if (!queue.hasUnacked) {
          await queue.remove();
          continue;
        }
        const runner = this.newRunner(name, queue);
        log('task.queue_loaded', { taskId: name, ackedSeq: queue.ackedSeq, lastSeq: queue.lastSeq });
        runner.attach(this.peer);
      } catch (err) {
        log('task.queue_load_failed', { taskId: name, error: (err as Error).message });
      }
    }
  }

  /** A connection is up: send every task's unacknowledged events on it, then new ones as they come. */
  attach(peer: RpcPeer): void {
    this.peer = peer;
    for (const runner of this.runners.values()) runner.attach(peer);
    peer.ws.once('close', () => {
      if (this.peer !== peer) return;
      this.peer = undefined;
      for (const runner of this.runners.values()) runner.attach(undefined);
    });
  }

  /** `task.ack` from the server; other notifications are not for tasks. */
  onNotification(method: string, params: unknown): void {
    if (method !== 'task.ack') return;
    const parsed = taskNotifications['task.ack'].safeParse(params);
    if (!parsed.success) {
      log('task.bad_ack', { error: parsed.error.issues[0]?.message });
      return;
    }
    const runner = this.runners.get(parsed.data.taskId);
    if (!runner) return;
    runner.queue
      .ack(parsed.data.seq)
      .then(() => this.settle(runner))
      .catch((err: Error) => log('task.ack_failed', { taskId: runner.taskId, error: err.message }));
  }

  /** @throws busy when the task runs (or is starting); spawn_failed. */
  async start(params: StartParams): Promise<{ pid: number }> {
    const { taskId } = params;
    if (this.starting.has(taskId) || this.runners.get(taskId)?.running) {
      throw opError('busy', `Task ${taskId} is already running.`);
    }
    this.starting.add(taskId);
    let runner: TaskRunner | undefined;
    try {
      runner = this.runners.get(taskId);
      if (!runner) {
        await this.removals.get(taskId);
        runner = this.newRunner(taskId, await EventQueue.open(this.dirOf(taskId), params.firstSeq));
        runner.attach(this.peer);
      }
      return { pid: await runner.start(params, this.options) };
    } finally {
      this.starting.delete(taskId);
      if (runner) this.settle(runner);
    }
  }

  send(taskId: string, text: string): void {
    this.get(taskId).send(text);
  }

  interrupt(taskId: string): void {
    this.get(taskId).interrupt();
  }

  answer(params: AnswerParams): void {
    this.get(params.taskId).answer(params);
  }

  /** Idempotent: a task without a process (or unknown) is already stopped. */
  async stop(taskId: string): Promise<void> {
    await this.runners.get(taskId)?.stop();
  }

  list(): { taskId: string; running: boolean; lastSeq: number }[] {
    return [...this.runners.values()].map((r) => ({
      taskId: r.taskId,
      running: r.running,
      lastSeq: r.queue.lastSeq,
    }));
  }

  /** SIGTERMs every process at once (the agent is stopping); their queues stay on disk. */
  terminateAll(): void {
    for (const runner of this.runners.values()) runner.terminate();
  }

  private newRunner(taskId: string, queue: EventQueue): TaskRunner {
    const runner: TaskRunner = new TaskRunner(taskId, queue, () => this.settle(runner));
    this.runners.set(taskId, runner);
    return runner;
  }

  private get(taskId: string): TaskRunner {
    const runner = this.runners.get(taskId);
    if (!runner?.running) throw opError('not_found', `Task ${taskId} has no running Claude Code process.`);
    return runner;
  }

  /** Forgets an idle task and removes its directory. */
  private settle(runner: TaskRunner): void {
    const { taskId } = runner;
    if (!runner.idle || this.starting.has(taskId) || this.runners.get(taskId) !== runner) return;
    this.runners.delete(taskId);
    runner.attach(undefined);
    const removal = runner.queue
      .remove()
      .catch((err: Error) => log('task.queue_remove_failed', { taskId, error: err.message }))
      .finally(() => {
        if (this.removals.get(taskId) === removal) this.removals.delete(taskId);
      });
    this.removals.set(taskId, removal);
  }

  private dirOf(taskId: string): string {
    return path.join(this.options.tasksDir, taskId);
  }
}
