// TEST ONLY. Talking to one replica of a test cluster (cluster.ts) over real HTTP: JSON calls,
// and a task-event viewer on a WebSocket that records every seq it gets and when.
import WebSocket from 'ws';
import type { Task } from '../../sdk/taskWire.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} → ${status} ${body}`);
  }
}

/** One JSON call to `base` (a replica or the load balancer); throws ApiError unless 2xx. */
export async function call<T>(
  base: string,
  auth: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: auth,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text, `${method} ${path}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Polls the task through `base` until `done` says so; throws with its state after `timeoutMs`. */
export async function untilTask(
  base: string,
  auth: string,
  id: string,
  done: (t: Task) => boolean,
  timeoutMs = 60_000,
): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await call<Task>(base, auth, 'GET', `/api/v1/tasks/${id}`).catch(() => undefined);
    if (task && done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} stuck: ${JSON.stringify(task)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SeenEvent {
  seq: number;
  type: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface Viewer {
  events: SeenEvent[];
  /** Resolves when an event matching `pred` has arrived (bounded). */
  until(pred: (e: SeenEvent) => boolean, timeoutMs?: number): Promise<SeenEvent>;
  /** Set when the socket closed, with its code. */
  closed(): number | undefined;
  close(): void;
}

/** A WebSocket viewer of the task's events on `base`, from `after`. Resolves once it is open. */
export async function watchTask(base: string, auth: string, taskId: string, after = 0): Promise<Viewer> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/tasks/${taskId}/events?after=${after}`, {
    headers: { authorization: auth },
  });
  const events: SeenEvent[] = [];
  let closedWith: number | undefined;
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as { seq?: number; type: string };
    if (typeof frame.seq !== 'number') return; // a usage frame
    events.push({ seq: frame.seq, type: frame.type, at: Date.now() });
    for (const w of waiters) w();
  });
  ws.on('close', (code) => {
    closedWith = code;
    for (const w of waiters) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`viewer refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    events,
    closed: () => closedWith,
    close: () => ws.close(),
    until(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (closedWith !== undefined) {
            done();
            reject(
              new Error(`viewer closed (${closedWith}) after seqs ${events.map((e) => e.seq).join(',')}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`viewer waited ${timeoutMs} ms; got seqs ${events.map((e) => e.seq).join(',')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
