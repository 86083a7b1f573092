// Bad input on the task API: precise statuses, the field and the rule named; another user's
// task is 404 (its existence is not leaked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import type { UserRow } from '../../server/store/userStore.js';
import { createTestApp, type TestApp } from '../support/testApp.js';
import { engines } from '../support/testDb.js';

describe.each(engines)('task API bad input on %s', (engine) => {
  let t: TestApp;
  let me: UserRow;
  let auth: string;
  let otherAuth: string;
  beforeAll(async () => {
    t = await createTestApp(engine, { services: { driver: new NeverStartingDriver() } });
    me = await t.user('member');
    auth = await t.bearer(me);
    otherAuth = await t.bearer(await t.user('member'));
  });
  afterAll(() => t.close());

  const call = (method: 'POST' | 'GET', url: string, payload?: unknown, who = auth) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: who },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const field = async (res: ReturnType<typeof call>) => {
    const r = await res;
    expect(r.statusCode, r.body).toBe(400);
    return (r.json() as { error: { fields: { path: string; rule: string }[] } }).error.fields[0];
  };
  const repo = () => `https://github.com/acme/${Math.random().toString(36).slice(2)}`;
  const newTask = async () =>
    (await call('POST', '/api/v1/tasks', { repository: repo(), prompt: 'hi' })).json() as Task;

  it('refuses an empty prompt, one over 100 KB, and a bad permission mode', async () => {
    expect(await field(call('POST', '/api/v1/tasks', { repository: repo(), prompt: '' }))).toMatchObject({
      path: 'body.prompt',
      rule: 'must not be empty',
    });
    expect(await field(call('POST', '/api/v1/tasks', { repository: repo(), prompt: '   \n' }))).toMatchObject(
      { path: 'body.prompt' },
    );
    expect(
      await field(call('POST', '/api/v1/tasks', { repository: repo(), prompt: 'x'.repeat(100 * 1024 + 1) })),
    ).toMatchObject({
      path: 'body.prompt',
      rule: 'must be at most 100 KB',
    });
    expect(
      await field(
        call('POST', '/api/v1/tasks', { repository: repo(), prompt: 'hi', permissionMode: 'yolo' }),
      ),
    ).toMatchObject({
      path: 'body.permissionMode',
    });
    expect(
      await field(call('POST', '/api/v1/tasks', { repository: repo(), prompt: 'hi', maxBudgetUsd: -1 })),
    ).toMatchObject({
      path: 'body.maxBudgetUsd',
    });
  });

  it('needs exactly one of repository and workspaceId', async () => {
    expect((await field(call('POST', '/api/v1/tasks', { prompt: 'hi' })))?.rule).toMatch(/exactly one/);
    const ws = (await call('POST', '/api/v1/workspaces', { repository: repo(), start: false })).json() as {
      id: string;
    };
    expect(
      (await field(call('POST', '/api/v1/tasks', { prompt: 'hi', repository: repo(), workspaceId: ws.id })))
        ?.rule,
    ).toMatch(/exactly one/);
    // Someone else's workspace does not exist for you.
    expect(
      (await call('POST', '/api/v1/tasks', { prompt: 'hi', workspaceId: ws.id }, otherAuth)).statusCode,
    ).toBe(404);
  });

  it('unknown and other users’ tasks are 404 everywhere', async () => {
    const task = await newTask();
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['GET', '/events', undefined],
      ['GET', '/approvals', undefined],
      ['POST', '/messages', { text: 'x' }],
      ['POST', '/interrupt', undefined],
      ['POST', '/cancel', undefined],
      ['POST', '/approvals/abc', { decision: 'allow' }],
    ] as const) {
      expect((await call(method, `/api/v1/tasks/nope${path}`, body)).statusCode, `nope${path}`).toBe(404);
      expect(
        (await call(method, `/api/v1/tasks/${task.id}${path}`, body, otherAuth)).statusCode,
        `other${path}`,
      ).toBe(404);
    }
  });

  it('a follow-up resumes a finished task but not a cancelled one', async () => {
    const done = await newTask();
    await t.services.tasks.transition(done.id, ['queued'], 'succeeded', {
      finished_at: new Date().toISOString(),
    });
    const resumed = await call('POST', `/api/v1/tasks/${done.id}/messages`, { text: 'more please' });
    expect(resumed.statusCode).toBe(202);
    expect((resumed.json() as Task).status).toBe('queued');
    const cancelled = await newTask();
    expect((await call('POST', `/api/v1/tasks/${cancelled.id}/cancel`)).statusCode).toBe(202);
    const refused = await call('POST', `/api/v1/tasks/${cancelled.id}/messages`, { text: 'more' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('task_cancelled');
    expect((await call('POST', `/api/v1/tasks/${cancelled.id}/cancel`)).statusCode).toBe(409);
    expect(await field(call('POST', `/api/v1/tasks/${done.id}/messages`, { text: '' }))).toMatchObject({
      path: 'body.text',
    });
  });

  it('an approval that does not exist is 404, one already answered is 409, a bad decision 400', async () => {
    const task = await newTask();
    expect(
      (await call('POST', `/api/v1/tasks/${task.id}/approvals/nope`, { decision: 'allow' })).statusCode,
    ).toBe(404);
    await t.services.tasks.addApproval({
      task_id: task.id,
      id: 'req-9',
      seq: 1,
      tool_name: 'Bash',
      input: '{}',
      status: 'pending',
    });
    await t.services.tasks.decide(task.id, 'req-9', {
      status: 'denied',
      message: null,
      remember: false,
      by: me.id,
    });
    const again = await call('POST', `/api/v1/tasks/${task.id}/approvals/req-9`, { decision: 'allow' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('approval_answered');
    expect(
      await field(call('POST', `/api/v1/tasks/${task.id}/approvals/req-9`, { decision: 'maybe' })),
    ).toMatchObject({ path: 'body.decision' });
  });

  it('validates list and event queries', async () => {
    expect((await field(call('GET', '/api/v1/tasks?status=sleeping')))?.path).toBe('querystring.status');
    expect((await field(call('GET', '/api/v1/tasks?limit=0')))?.path).toBe('querystring.limit');
    expect((await field(call('GET', '/api/v1/tasks?cursor=garbage')))?.path).toBe('querystring.cursor');
    const task = await newTask();
    expect((await field(call('GET', `/api/v1/tasks/${task.id}/events?after=-1`)))?.path).toBe(
      'querystring.after',
    );
  });

  it('pages through tasks with a cursor', async () => {
    const mine = await t.bearer(await t.user('member'));
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      await call('POST', '/api/v1/tasks', { repository: repo(), prompt: `p${i}` }, mine);
    }
    const first = (await call('GET', '/api/v1/tasks?limit=2', undefined, mine)).json() as {
      items: Task[];
      next: string;
    };
    const second = (
      await call('GET', `/api/v1/tasks?limit=2&cursor=${encodeURIComponent(first.next)}`, undefined, mine)
    ).json() as {
      items: Task[];
      next: string;
    };
    const third = (
      await call('GET', `/api/v1/tasks?limit=2&cursor=${encodeURIComponent(second.next)}`, undefined, mine)
    ).json() as {
      items: Task[];
      next: string | null;
    };
    const prompts = [...first.items, ...second.items, ...third.items].map((x) => x.prompt);
    expect(prompts).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
    expect(third.next).toBeNull();
  });
});
