import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { taskMethods } from '../../sdk/agentProtocol.js';
import { opError, type RpcPeer } from '../../sdk/rpcPeer.js';
import { log } from '../log.js';
import { claudeArgs, claudeEnv, type StartParams } from './claudeCommand.js';
import { ClaudeProcess } from './claudeProcess.js';
import { eventLine } from './eventLine.js';
import type { EventQueue } from './eventQueue.js';
import type { SplitLine } from './lineSplitter.js';
import { QueueSender } from './queueSender.js';

export type AnswerParams = z.output<(typeof taskMethods)['task.answer']['params']>;

/** What every task's process shares: where the binary is, where it runs, how it reaches the model. */
export interface TaskContext {
  claudePath: string;
  workspaceDir: string;
  /** The model forwarder's port once it listens; rejects when it could not be started. */
  modelPort: Promise<number>;
  env: NodeJS.ProcessEnv;
}

/** Stop reading Claude Code's stdout while this much waits for the disk; resume below a quarter. */
const BACKLOG_HIGH_CHARS = 8 * 1024 * 1024;

/**
 * One task: its event queue, its Claude Code process while one runs, and the permission requests
 * that process is waiting on. Every stdout line goes into the queue (numbered there), and from it
 * to the server through the current connection's sender.
 */
export class TaskRunner {
  private process: ClaudeProcess | undefined;
  private sender: QueueSender | undefined;
  /** Inputs of the `can_use_tool` requests not answered yet, by request id. */
  private readonly approvals = new Map<string, Record<string, unknown>>();
  private paused = false;

  constructor(
    readonly taskId: string,
    readonly queue: EventQueue,
    /** Called whenever the task may have become idle (no process, nothing unacknowledged). */
    private readonly onSettled: () => void,
  ) {
    queue.onDurable = () => {
      this.sender?.kick();
      if (this.paused && queue.backlogChars < BACKLOG_HIGH_CHARS / 4) {
        this.paused = false;
        this.process?.resume();
      }
    };
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Neither a process nor an unacknowledged event: nothing left to keep. */
  get idle(): boolean {
    return !this.process && !this.queue.hasUnacked;
  }

  /** Sends the queue on `peer` from the first unacknowledged event; undefined while disconnected. */
  attach(peer: RpcPeer | undefined): void {
    this.sender = peer && new QueueSender(this.taskId, this.queue, peer);
    this.sender?.kick();
  }

  /**
   * Starts Claude Code and writes the prompt, if any, as the first user turn.
   * @throws busy when a process already runs; spawn_failed when it cannot be started.
   */
  async start(params: StartParams, context: TaskContext): Promise<number> {
    if (this.process) throw opError('busy', `Task ${this.taskId} is already running.`);
    if (params.firstSeq <= this.queue.lastSeq) {
      // Events this agent still holds already use those numbers; reusing one would make the
      // server drop a line as a duplicate, so the new process continues after them instead.
      log('task.seq_continued', {
        taskId: this.taskId,
        firstSeq: params.firstSeq,
        lastSeq: this.queue.lastSeq,
      });
    }
    this.queue.skipTo(params.firstSeq);
    const modelPort = await context.modelPort.catch(() => {
      throw opError(
        'spawn_failed',
        'The agent could not start its model forwarder, so Claude Code cannot run.',
      );
    });
    let child: ClaudeProcess;
    try {
      child = await ClaudeProcess.start({
        taskId: this.taskId,
        file: context.claudePath,
        args: claudeArgs(params),
        cwd: context.workspaceDir,
        env: claudeEnv(context.env, modelPort),
        onLine: (line) => this.onLine(line),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw opError(
        'spawn_failed',
        code === 'ENOENT'
          ? `Claude Code is not installed in this workspace (${context.claudePath} is missing).`
          : `Claude Code could not be started (${code ?? (err as Error).message}).`,
      );
    }
    this.process = child;
    log('task.started', { taskId: this.taskId, pid: child.pid, nextSeq: this.queue.lastSeq + 1 });
    void child.exited.then((exit) => {
      this.process = undefined;
      this.approvals.clear();
      this.paused = false;
      this.queue.append(JSON.stringify({ type: 'rc_exit', ...exit }));
      log('task.exited', {
        taskId: this.taskId,
        exitCode: exit.exitCode ?? undefined,
        signal: exit.signal ?? undefined,
      });
      this.onSettled();
    });
    // A process that died at once has closed stdin; its rc_exit event says why.
    if (params.prompt !== undefined) child.write(userMessage(params.prompt));
    return child.pid;
  }

  /** A follow-up user turn. @throws not_found without a running process. */
  send(text: string): void {
    this.write(userMessage(text));
  }

  /** Asks Claude Code to end the current turn; the process stays for the next one. */
  interrupt(): void {
    this.write({
      type: 'control_request',
      request_id: `rc-interrupt-${randomUUID()}`,
      request: { subtype: 'interrupt' },
    });
  }

  /**
   * Answers a `can_use_tool` request. An allow without `updatedInput` passes the tool's input
   * unchanged (Claude Code requires the field).
   * @throws not_found for a request this process is not waiting on.
   */
  answer({ requestId, behavior, message, updatedInput }: AnswerParams): void {
    const input = this.approvals.get(requestId);
    if (!this.process || input === undefined) {
      throw opError('not_found', `Task ${this.taskId} has no pending permission request ${requestId}.`);
    }
    const response =
      behavior === 'allow'
        ? { behavior, updatedInput: updatedInput ?? input }
        : { behavior, message: message ?? 'The user denied this tool use.' };
    this.write({
      type: 'control_response',
      response: { subtype: 'success', request_id: requestId, response },
    });
    this.approvals.delete(requestId);
  }

  /** Ends the process, if one runs; resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  /** SIGTERMs the process without waiting (the agent is going away). */
  terminate(): void {
    this.process?.terminate();
  }

  private write(message: unknown): void {
    if (!this.process?.write(message)) {
      throw opError('not_found', `Task ${this.taskId} has no running Claude Code process.`);
    }
  }

  private onLine(line: SplitLine): void {
    this.watchApprovals(line.text);
    this.queue.append(eventLine(line));
    if (!this.paused && this.queue.backlogChars > BACKLOG_HIGH_CHARS) {
      this.paused = true;
      this.process?.pause();
    }
  }

  /** Remembers `can_use_tool` inputs (read before any cut for size) until answered or withdrawn. */
  private watchApprovals(text: string): void {
    if (!text.includes('"control_request"') && !text.includes('"control_cancel_request"')) return;
    let message: { type?: unknown; request_id?: unknown; request?: { subtype?: unknown; input?: unknown } };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message?.request_id !== 'string') return;
    if (message.type === 'control_cancel_request') this.approvals.delete(message.request_id);
    else if (message.type === 'control_request' && message.request?.subtype === 'can_use_tool') {
      const input = message.request.input;
      this.approvals.set(
        message.request_id,
        input && typeof input === 'object' ? (input as Record<string, unknown>) : {},
      );
    }
  }
}

/** A user turn as Claude Code's stream-json input takes it. */
function userMessage(text: string): unknown {
  return { type: 'user', message: { role: 'user', content: text } };
}
