// A task whose workspace cannot be started is not left queued for a workspace nobody starts:
// the caller gets the workspace's 409 with its sentence, and the refusal is logged with context.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

describe('a task for a workspace that cannot start', () => {
  let t: TestApp;
  let auth: string;
  const logged: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(JSON.parse(String(chunk)));
        done();
      },
    });
    t = await createTestApp('sqlite', {
      services: { driver: new NeverStartingDriver(), log: pino({ level: 'warn' }, sink) },
    });
    auth = await t.bearer(await t.user('member'));
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
  const workspace = async (name: string) =>
    (
      await call('POST', '/api/v1/workspaces', {
        repository: `https://github.com/acme/${name}`,
        start: false,
      })
    ).json() as {
      id: string;
    };

  it('creating one on a stopping workspace answers 409 and creates no task', async () => {
    const ws = await workspace('stopping-create');
    await t.services.workspaces.transition(ws.id, ['pending'], 'stopping');
    const res = await call('POST', '/api/v1/tasks', { workspaceId: ws.id, prompt: 'hi' });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toEqual({
      error: { code: 'workspace_busy', message: 'The workspace is stopping; wait until it has stopped.' },
    });
    const { rows } = await t.services.tasks.list({ limit: 100 });
    expect(rows.filter((r) => r.workspace_id === ws.id)).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({ workspaceId: ws.id, msg: 'could not start the workspace for a task' }),
    );
  });

  it('a follow-up to a finished task on a stopping workspace answers 409 and leaves the task as it was', async () => {
    const ws = await workspace('stopping-send');
    const created = await call('POST', '/api/v1/tasks', { workspaceId: ws.id, prompt: 'hi' });
    expect(created.statusCode, created.body).toBe(201);
    const task = created.json() as Task;
    await t.services.tasks.transition(task.id, ['queued'], 'succeeded');
    await t.services.runtime.service.stop(ws.id);
    await t.services.workspaces.transition(ws.id, ['stopped'], 'stopping');
    const res = await call('POST', `/api/v1/tasks/${task.id}/messages`, { text: 'and then?' });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.code).toBe('workspace_busy');
    expect((await t.services.tasks.byId(task.id))?.status).toBe('succeeded');
    expect(logged).toContainEqual(
      expect.objectContaining({
        workspaceId: ws.id,
        taskId: task.id,
        msg: 'could not start the workspace for a task',
      }),
    );
  });
});
