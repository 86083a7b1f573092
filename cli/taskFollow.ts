// Following a task (`task run --follow`, `task logs --follow`, `task send --follow`): its events
// printed as they happen until its turn is over, then an exit code that says how it ended.
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError } from '../sdk/client/apiError.js';
import type { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Task, TaskEvent, TaskStatus } from '../sdk/taskWire.js';
import { CliError } from './cliError.js';
import type { CliContext } from './context.js';
import { shortId } from './resolveRef.js';
import { taskStatusText } from './taskDetails.js';
import { TaskRenderer } from './taskOutput.js';

/** Statuses in which the turn is over: following stops there. */
const TURN_OVER: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'waiting_for_input'];
/** Exit code of a followed task that waits for a follow-up (0 succeeded, 1 failed or cancelled). */
export const WAITING_EXIT_CODE = 3;
/** Exit code after Ctrl-C, as a shell reports a process ended by SIGINT. */
const DETACH_EXIT_CODE = 130;
/**
 * How often the status is read while following. Events alone do not say when to stop: a task
 * cancelled elsewhere, or whose workspace failed to start, ends without a further event.
 */
const POLL_MS = 1000;
/**
 * Status reads in a row that may fail for want of a live replica before following gives up: the
 * one a read was on can die (the load balancer answers 502), or be unreachable for a moment.
 */
const TRANSIENT_POLLS = 5;

/** A failure of the kind a replica dying behind the load balancer causes, worth another try. */
function isTransient(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    ((err.status === 0 && err.code === 'unreachable') || [502, 503, 504].includes(err.status))
  );
}

export interface FollowCallbacks {
  onEvent(e: TaskEvent): void;
  /** Called when the status or its reason changes. */
  onStatus?(t: Task): void;
}

/**
 * Delivers the task's events after seq `after`, history then live, until its turn is over, and
 * returns the task as it was then. Every event up to the task's last seq at that moment is
 * delivered first. Throws ApiError when the server refuses or the stream cannot be resumed.
 */
export async function followTask(
  client: NodeApiClient,
  taskId: string,
  after: number,
  cb: FollowCallbacks,
): Promise<Task> {
  const stop = new AbortController();
  let seen = after;
  let final: Task | undefined;
  let failure: unknown;
  let shown = '';
  const check = async () => {
    const t = await client.tasks.get(taskId);
    const status = `${t.status} ${t.statusReason}`;
    if (status !== shown) cb.onStatus?.(t);
    shown = status;
    final = TURN_OVER.includes(t.status) ? t : undefined;
    if (final && seen >= final.lastSeq) stop.abort();
  };
  const poller = (async () => {
    let misses = 0;
    try {
      while (!stop.signal.aborted) {
        try {
          await check();
          misses = 0;
        } catch (err) {
          misses += 1;
          if (!isTransient(err) || misses >= TRANSIENT_POLLS) throw err;
        }
        // Rejects only when `stop` aborts, which ends the loop.
        await delay(POLL_MS, undefined, { signal: stop.signal }).catch(() => {});
      }
    } catch (err) {
      failure ??= err;
      stop.abort();
    }
  })();
  try {
    for await (const e of client.tasks.follow(taskId, { after, signal: stop.signal })) {
      seen = e.seq;
      cb.onEvent(e);
      if (final && seen >= final.lastSeq) break;
      // The status moves when these are stored: look now rather than at the next poll.
      // A read that fails here for a transient cause is left to the poller's next one.
      if (e.type === 'result' || e.type === 'rc_exit')
        await check().catch((err: unknown) => {
          if (!isTransient(err)) throw err;
        });
    }
  } catch (err) {
    failure ??= err;
  } finally {
    stop.abort();
    await poller;
  }
  if (failure !== undefined) throw failure;
  if (!final) throw new CliError(`stopped following task ${shortId(taskId)} before its turn was over`);
  return final;
}

/**
 * Follows the task, printing its conversation (or, with `json`, each event as one line of JSON),
 * then ends the command as the task did: returns when it succeeded, throws CliError when it
 * failed or was cancelled (exit 1) or waits for input (exit 3). Ctrl-C leaves it running.
 */
export async function printFollowing(
  ctx: CliContext,
  client: NodeApiClient,
  task: Task,
  opts: { after: number; json: boolean },
): Promise<void> {
  const s = shortId(task.id);
  const renderer = new TaskRenderer({ color: wantsColor(ctx), taskRef: s });
  const detach = () => {
    const newline = process.stderr.isTTY ? '\n' : '';
    process.stderr.write(`${newline}detached; the task keeps running: rclaude task logs --follow ${s}\n`);
    process.exit(DETACH_EXIT_CODE);
  };
  process.once('SIGINT', detach);
  let end: Task;
  try {
    end = await followTask(client, task.id, opts.after, {
      onEvent: (e) => {
        if (opts.json) ctx.out(JSON.stringify(e));
        else for (const line of renderer.render(e)) ctx.out(line);
      },
      // Progress before the first event (a workspace starting) is for a person watching only.
      onStatus: (t) => {
        if (process.stderr.isTTY && !opts.json) process.stderr.write(`${s}: ${taskStatusText(t)}\n`);
      },
    });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'stream_dropped')
      throw new CliError(`${err.message} The task keeps running: rclaude task logs --follow ${s}`);
    if (err instanceof ApiError && err.status === 401)
      throw new ApiError(401, err.code, `Signed out: ${err.message}`);
    throw err;
  } finally {
    process.off('SIGINT', detach);
  }
  ensureSucceeded(end);
}

/** Throws the CliError that ends a followed task's command unless it succeeded. */
export function ensureSucceeded(t: Task): void {
  const s = shortId(t.id);
  const reason = t.statusReason ? `: ${t.statusReason}` : '';
  if (t.status === 'succeeded') return;
  if (t.status === 'cancelled') throw new CliError(`task ${s} was cancelled`);
  if (t.status === 'waiting_for_input')
    throw new CliError(
      `task ${s} is waiting for input; continue it with \`rclaude task send ${s} "<text>"\``,
      WAITING_EXIT_CODE,
    );
  throw new CliError(`task ${s} ${t.status === 'failed' ? 'failed' : `is ${t.status}`}${reason}`);
}

/** Styles only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(ctx: CliContext): boolean {
  return process.stdout.isTTY === true && !ctx.env.NO_COLOR;
}
