// A task whose workspace cannot start yet waits in the queue with the reason, and the scheduler
// starts the workspace for it once it can: a workspace still stopping is started again once
// stopped; a start that fails fails the task with the workspace's reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

describe('a task for a workspace that cannot start', () => {
  let t: TestApp;
  let auth: string;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
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

  const pass = () => t.services.runtime.tasks.scheduler.runSoon();
  const task = async (id: string) => (await call('GET', `/api/v1/tasks/${id}`)).json() as Task;

  it('a task created on a stopping workspace waits for the stop, then its workspace is started for it', async () => {
    const ws = await workspace('stopping-create');
    await t.services.workspaces.transition(ws.id, ['pending'], 'stopping');
    const res = await call('POST', '/api/v1/tasks', { workspaceId: ws.id, prompt: 'hi' });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as Task).id;
    await pass();
    const waiting = await task(id);
    expect(waiting.status).toBe('queued');
    expect(waiting.statusReason).toBe('Waiting for the workspace to finish stopping before it starts again');
    expect(waiting.queue).toEqual({
      position: 1,
      reason: 'Waiting for the workspace to finish stopping before it starts again',
      estimatedStartAt: null,
    });

    await t.services.workspaces.transition(ws.id, ['stopping'], 'stopped');
    await pass();
    expect((await t.services.workspaces.byId(ws.id))?.status).toBe('starting');
    expect((await task(id)).statusReason).toBe('Waiting for its workspace to start');
  });

  it('a follow-up to a finished task on a stopping workspace queues it again, with the reason', async () => {
    const ws = await workspace('stopping-send');
    await t.services.workspaces.transition(ws.id, ['pending'], 'stopping');
    const created = await call('POST', '/api/v1/tasks', { workspaceId: ws.id, prompt: 'hi' });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as Task;
    await t.services.tasks.transition(id, ['queued'], 'succeeded');
    const res = await call('POST', `/api/v1/tasks/${id}/messages`, { text: 'and then?' });
    expect(res.statusCode, res.body).toBe(202);
    await pass();
    const queued = await t.services.tasks.byId(id);
    expect(queued?.status).toBe('queued');
    expect(queued?.pending_message).toBe('and then?');
    expect(queued?.status_reason).toBe('Waiting for the workspace to finish stopping before it starts again');
  });
});
