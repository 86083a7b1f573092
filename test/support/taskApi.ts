// Calling the task API of a test app and waiting on a task, for the end-to-end task tests.
import type { Task } from '../../sdk/taskWire.js';
import type { TestApp } from './testApp.js';

/** A turn is over: the task waits for a person or has ended. */
export const finished = (t: Task) =>
  ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);

export function taskApi(t: TestApp, defaultAuth: string) {
  const api = async <T>(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: unknown,
    auth = defaultAuth,
  ): Promise<T> => {
    const res = await t.app.inject({
      method,
      url,
      headers: { authorization: auth },
      ...(payload ? { payload: payload as object } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json() as T;
  };
  /** Polls the task until `done` says so; throws with the task's state after `timeoutMs`. */
  const until = async (id: string, done: (task: Task) => boolean, timeoutMs = 60_000): Promise<Task> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const task = await api<Task>('GET', `/api/v1/tasks/${id}`);
      if (done(task)) return task;
      if (Date.now() > deadline) throw new Error(`task ${id} stuck: ${JSON.stringify(task)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { api, until };
}

/**
 * `taskApi` for a kit that exists only once `beforeAll` has run: each call reads the kit then, so
 * the suite can declare `api` and `until` at the top of its `describe`.
 */
export function kitTaskApi(kit: () => { t: TestApp; auth: string }) {
  type Api = ReturnType<typeof taskApi>;
  const api: Api['api'] = (...a) => taskApi(kit().t, kit().auth).api(...a);
  const until: Api['until'] = (...a) => taskApi(kit().t, kit().auth).until(...a);
  return { api, until };
}
