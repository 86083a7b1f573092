// Following a task's events over Server-Sent Events (server/http/routes/taskEventRoutes.ts),
// resuming a dropped stream once from the last seq received. Web streams and fetch only, so it
// runs in Node and in a browser alike.

import { SSE_RESUME_EVENT } from '../limits.js';
import { SseParser } from '../sseParser.js';
import type { TaskEvent, TaskUsageFrame } from '../taskWire.js';
import { ApiError, refusalError, unreachableError } from './apiError.js';
import type { Transport } from './transport.js';

export interface FollowOptions {
  after?: number;
  signal?: AbortSignal;
  onUsage?: (frame: TaskUsageFrame) => void;
}

/** Wait before resuming a dropped event stream, so a server that is restarting has a moment. */
const RESUME_DELAY_MS = 250;

/**
 * The task's events after seq `after` as they happen: the stored history first, then live, each
 * once and in order. It never ends by itself (a task's log can always grow); stop it with
 * `signal` or by leaving the loop. A dropped connection is resumed once from the last seq
 * received (Last-Event-ID); if that fails too, or the resumed stream drops again before
 * delivering anything, it throws ApiError `stream_dropped`. Refusals (404, 401) throw ApiError
 * at once, and so does an `event: error` frame (the caller was signed out or lost access while
 * following: 401 `unauthorized`, 403 `forbidden`). A stream the server ends with `event:
 * task_resume` (this viewer read too slowly: sdk/limits.ts MAX_VIEWER_BACKLOG_BYTES) is reopened at
 * once from the last seq received, and that is not a drop. `onUsage` sees the live usage frames between the events (the task's totals each time
 * the gateway metered one of its model requests); one that does not parse is skipped.
 */
export async function* followTaskEvents(
  t: Transport,
  id: string,
  opts: FollowOptions = {},
): AsyncGenerator<TaskEvent, void, undefined> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  let last = opts.after ?? 0;
  let mayResume = true;
  try {
    while (!stop.signal.aborted) {
      const body = await openStream(t, id, last, stop.signal);
      if (!body) return;
      const reader = body.getReader();
      const parser = new SseParser();
      const decoder = new TextDecoder();
      let why = 'the server closed the stream';
      let resumeAsked = false;
      try {
        while (!resumeAsked) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const m of parser.push(decoder.decode(value, { stream: true }))) {
            if (m.event === 'error') throw streamRefusal(m.data);
            // The server cut this viewer off for reading too slowly: it has had every event up to
            // the resume point, so reconnecting from the last seq held is right, and not a drop.
            if (m.event === SSE_RESUME_EVENT) {
              resumeAsked = true;
              break;
            }
            if (m.event === 'task_usage') await deliverUsage(t, m.data, opts.onUsage);
            if (m.event !== 'task_event') continue;
            const event = await parseEvent(t, m.data);
            if (event.seq <= last) continue;
            last = event.seq;
            mayResume = true;
            yield event;
            if (stop.signal.aborted) return;
          }
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (err instanceof ApiError) throw err;
        why = (err as Error).message;
      } finally {
        // The stream may already have failed; cancelling it then has nothing left to report.
        // Releasing a stream that already failed or ended; its error was handled above.
        void reader.cancel().catch(() => {});
      }
      if (resumeAsked) continue;
      if (!mayResume)
        throw new ApiError(
          0,
          'stream_dropped',
          `The event stream of task ${id} dropped again after resuming (${why}).`,
        );
      mayResume = false;
      await pause(RESUME_DELAY_MS, stop.signal);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** The body of an SSE answer for the task's events after `after`; undefined once `signal` aborts. */
async function openStream(
  t: Transport,
  id: string,
  after: number,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array> | undefined> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (after > 0) headers['last-event-id'] = String(after);
  let res: Response;
  try {
    res = await t.send('GET', `/api/v1/tasks/${encodeURIComponent(id)}/events?after=${after}`, {
      headers,
      signal,
    });
  } catch (err) {
    if (signal.aborted) return undefined;
    if (err instanceof ApiError) throw err;
    throw unreachableError(t.baseUrl, err);
  }
  if (!res.ok) await t.expectOk(res);
  if (!res.headers.get('content-type')?.startsWith('text/event-stream') || !res.body) {
    await res.body?.cancel();
    throw new ApiError(res.status, 'bad_response', 'The server did not answer with an event stream.');
  }
  return res.body as ReadableStream<Uint8Array>;
}

/** The ApiError of an `event: error` frame, whose data is the error envelope. */
function streamRefusal(data: string): ApiError {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    json = undefined;
  }
  const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return refusalError(code === 'unauthorized' ? 401 : 403, json, 'The server ended the event stream.');
}

/** A usage frame that does not parse is dropped: the task's own totals stay right. */
async function deliverUsage(t: Transport, data: string, onUsage: FollowOptions['onUsage']): Promise<void> {
  if (!onUsage) return;
  let frame: TaskUsageFrame | undefined;
  try {
    frame = await t.check('TaskUsageFrame', JSON.parse(data));
  } catch {
    return;
  }
  if (typeof frame?.costUsd === 'number') onUsage(frame);
}

async function parseEvent(t: Transport, data: string): Promise<TaskEvent> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new ApiError(200, 'bad_response', 'The server sent a task event that is not JSON.');
  }
  const event = await t.check('TaskEvent', json);
  if (typeof (event as Partial<TaskEvent> | undefined)?.seq !== 'number')
    throw new ApiError(200, 'bad_response', 'The server sent a task event without a seq.');
  return event;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
