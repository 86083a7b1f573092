// The scheduler's quotas end to end: concurrency, running workspaces and monthly hours hold tasks
// in the queue with the limit in the reason, and a task starts the moment the limit lets it (on a
// kick, not the safety-net pass); refuse mode answers 429 instead; bad input is refused with the
// field. Real claude CLI, real local driver, the scripted stub upstream. The kit's clock is manual
// and only the monthly-hours test moves it, so in the other tests the safety-net pass (PASS_MS on
// that clock) never runs: whatever starts, a kick started.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QueueList, Quota, QuotaOverride } from '../../sdk/schedulerWire.js';
import type { Task } from '../../sdk/taskWire.js';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import { hours } from '../../server/scheduler/schedulerCore.js';
import { nextMonthStart } from '../../server/store/schedulerStore.js';
import type { UserRow } from '../../server/store/userStore.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, taskApi } from '../support/taskApi.js';
import { createTestApp, type TestApp } from '../support/testApp.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

describe('quotas, end to end', () => {
  let k: WorkspaceKit;
  let stub: ModelStub;
  let admin: UserRow;
  let adminAuth: string;
  beforeAll(async () => {
    stub = await startModelStub({
      scenarios: {
        hello: { turns: [{ content: [{ type: 'text', text: 'Hello there.' }] }] },
        slow: { turns: [{ delayMs: 8_000, content: [{ type: 'text', text: 'Done, slowly.' }] }] },
      },
    });
    k = await startWorkspaceKit({
      flags: { 'gateway.upstream': stub.url, 'claude.apiKey': 'sk-ant-org-quotas-key-0123456789' },
    });
    admin = await k.t.user('admin');
    adminAuth = await k.t.bearer(admin);
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });
  // Each test's workspaces go with it: a node has room for only so many at once.
  afterEach(async () => {
    await k.removeAll();
  });

  /** A new member with their own API client (quotas are per user, so each test has its own). */
  async function member() {
    const user = await k.t.user('member');
    const auth = await k.t.bearer(user);
    return { user, auth, ...taskApi(k.t, auth) };
  }

  /** The status and JSON body of a request, whatever the status. */
  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    auth: string,
    payload?: object,
  ) {
    const res = await k.t.app.inject({
      method,
      url,
      headers: { authorization: auth },
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, unknown>) : {} };
  }

  async function override(userId: string, body: object): Promise<QuotaOverride> {
    const res = await call('PUT', `/api/v1/quotas/users/${userId}`, adminAuth, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as unknown as QuotaOverride;
  }

  /** Polls `get` every 20 ms (real time) until `done`; the real time it first held. */
  async function whenTrue<T>(get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (done(v)) return { at: performance.now(), value: v };
      if (performance.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('holds a task over maxConcurrentTasks with the limit in its reason, and starts it as soon as the first ends', async () => {
    const u = await member();
    const clockAtStart = k.t.clock.now().getTime();
    await override(u.user.id, { maxConcurrentTasks: 1 });
    const a = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:slow] a',
    });
    await u.until(a.id, (t) => t.status === 'running');
    const b = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('other'),
      prompt: '[scenario:hello] b',
    });
    expect(b.workspaceId).not.toBe(a.workspaceId);

    const reason = `${u.user.name} has 1 of 1 concurrent tasks (quotas.maxConcurrentTasks)`;
    const held = await u.until(b.id, (t) => t.statusReason === reason && t.queue?.reason === reason, 30_000);
    expect(held.status).toBe('queued');
    expect(held.queue?.position).toBe(1);
    const q = await u.api<Quota>('GET', '/api/v1/quota');
    expect(q.limits.maxConcurrentTasks).toBe(1);
    expect(q.use.concurrentTasks).toBe(1);

    // Watch both at once: B leaves the queue right after A's turn ends.
    const get = async () => ({
      a: await u.api<Task>('GET', `/api/v1/tasks/${a.id}`),
      b: await u.api<Task>('GET', `/api/v1/tasks/${b.id}`),
    });
    const aDone = await whenTrue(get, (v) => finished(v.a));
    expect(aDone.value.a.status).toBe('succeeded');
    const bStarted = await whenTrue(get, (v) => v.b.status !== 'queued', 10_000);
    expect(bStarted.at - aDone.at).toBeLessThan(1_500);
    const doneB = await u.until(b.id, finished);
    expect(doneB.status).toBe('succeeded');
    expect(Date.parse(doneB.startedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(aDone.value.a.finishedAt as string),
    );
    // Nothing moved the clock, so no safety-net pass ran: the turn's end kicked the scheduler.
    expect(k.t.clock.now().getTime()).toBe(clockAtStart);
  }, 150_000);

  it('holds a task whose workspace would exceed maxRunningWorkspaces until the running one stops', async () => {
    const u = await member();
    // A stopped workspace (for `other`), then, within the limit, a running one (for `app`).
    const second = await k.create(k.repo('other'), u.auth);
    expect((await k.settle(second.id, u.auth)).status).toBe('running');
    expect((await call('POST', `/api/v1/workspaces/${second.id}/stop`, u.auth)).status).toBe(200);
    await override(u.user.id, { maxRunningWorkspaces: 1 });
    const first = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] a',
    });
    expect((await u.until(first.id, finished)).status).toBe('succeeded');
    expect((await k.settle(first.workspaceId as string, u.auth)).status).toBe('running');

    const waiting = await u.api<Task>('POST', '/api/v1/tasks', {
      workspaceId: second.id,
      prompt: '[scenario:hello] b',
    });
    const reason = `${u.user.name} has 1 of 1 running workspaces (sessions.maxPerUser)`;
    const held = await u.until(
      waiting.id,
      (t) => t.statusReason === reason && t.queue?.reason === reason,
      20_000,
    );
    expect(held.status).toBe('queued');
    const queue = await u.api<QueueList>('GET', '/api/v1/queue');
    expect(queue.entries).toMatchObject([{ taskId: waiting.id, position: 1, action: 'wait', reason }]);
    expect((await k.settle(second.id, u.auth)).status).toBe('stopped');
    // A task for a repository with no workspace yet waits the same way: its new workspace is
    // created but not started.
    const fresh = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('never-started'),
      prompt: '[scenario:hello] c',
    });
    await u.until(fresh.id, (t) => t.statusReason === reason, 20_000);
    const pending = await call('GET', `/api/v1/workspaces/${fresh.workspaceId}`, u.auth);
    expect(pending.body.status).toBe('pending');
    expect((await call('POST', `/api/v1/tasks/${fresh.id}/cancel`, u.auth)).status).toBeLessThan(300);

    expect((await call('POST', `/api/v1/workspaces/${first.workspaceId}/stop`, u.auth)).status).toBe(200);
    const done = await u.until(waiting.id, finished);
    expect(done.status).toBe('succeeded');
    expect((await k.settle(second.id, u.auth)).status).toBe('running');
    expect((await k.settle(first.workspaceId as string, u.auth)).status).toBe('stopped');
  }, 150_000);

  it('holds a task once the month’s workspace-hours are used, and shows the use and the reset', async () => {
    const u = await member();
    await override(u.user.id, { maxMonthlyHours: 0.5 });
    const first = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] a',
    });
    expect((await u.until(first.id, finished)).status).toBe('succeeded');
    const before = await u.api<Quota>('GET', '/api/v1/quota');
    expect(before.monthlyHoursLeft).toBe(0.5);

    // The workspace runs on for 31 minutes of the kit's clock; the passes that fall due meter it.
    k.t.clock.advance(31 * 60_000);
    await k.t.services.runtime.tasks.scheduler.runSoon();
    const q = await u.api<Quota>('GET', '/api/v1/quota');
    expect(q.limits.maxMonthlyHours).toBe(0.5);
    expect(q.use.monthlyHours).toBeGreaterThanOrEqual(0.5);
    expect(q.use.runningWorkspaces).toBe(1);
    expect(q.monthlyHoursLeft).toBe(0);
    const resetsAt = nextMonthStart(k.t.clock.now()).toISOString();
    expect(q.resetsAt).toBe(resetsAt);

    await u.api<Task>('POST', `/api/v1/tasks/${first.id}/messages`, { text: 'more' });
    const reason = `${u.user.name} has used ${hours(q.use.monthlyHours * 3600)} of 0.5 workspace-hours this month (quotas.maxMonthlyHours); the allowance resets on ${resetsAt.slice(0, 10)} (UTC)`;
    const held = await u.until(first.id, (t) => t.status === 'queued' && t.statusReason === reason, 20_000);
    expect(held.queue?.reason).toBe(reason);
    // Arrival breaks the tie between equal priorities: let the clock tick between the two.
    k.t.clock.advance(10);
    const fresh = await u.api<Task>('POST', '/api/v1/tasks', {
      workspaceId: first.workspaceId,
      prompt: '[scenario:hello] b',
    });
    await k.t.services.runtime.tasks.scheduler.runSoon();
    const queue = await u.api<QueueList>('GET', '/api/v1/queue');
    expect(queue.entries.map((e) => [e.taskId, e.position])).toEqual([
      [first.id, 1],
      [fresh.id, 2],
    ]);
    expect(queue.entries[0]?.reason).toBe(reason);
    // Lifting the limit lets them run, one after the other in their workspace.
    await override(u.user.id, { maxMonthlyHours: null });
    expect((await u.until(first.id, (t) => t.status === 'succeeded' && t.turns > 1)).status).toBe(
      'succeeded',
    );
    expect((await u.until(fresh.id, finished)).status).toBe('succeeded');
  }, 150_000);

  it('refuses bad priorities and overrides with the field', async () => {
    const u = await member();
    const repository = k.repo('app');
    const bad = await call('POST', '/api/v1/tasks', u.auth, { repository, prompt: 'x', priority: 'urgent' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('priority');
    const high = await call('POST', '/api/v1/tasks', u.auth, { repository, prompt: 'x', priority: 'high' });
    expect(high.status).toBe(403);
    expect((high.body.error as { message: string }).message).toMatch(/^priority high is for admins/);
    expect((await u.api<{ items: Task[] }>('GET', '/api/v1/tasks')).items).toEqual([]);

    for (const [field, value] of [
      ['maxConcurrentTasks', -1],
      ['maxConcurrentTasks', 0],
      ['maxConcurrentTasks', 1.5],
      ['maxRunningWorkspaces', 1_000_000],
      ['maxMonthlyHours', 0],
      ['maxMonthlyHours', -3],
      ['maxMonthlyHours', 1e9],
      ['fairShareWeight', 0],
      ['fairShareWeight', 5000],
      ['allowHighPriority', 'yes'],
    ] as const) {
      const res = await call('PUT', `/api/v1/quotas/users/${u.user.id}`, adminAuth, { [field]: value });
      expect(res.status, `${field} ${value}`).toBe(400);
      expect(JSON.stringify(res.body), `${field} ${value}`).toContain(field);
    }
    const unknown = await call('PUT', `/api/v1/quotas/users/${u.user.id}`, adminAuth, { maxTasks: 2 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('maxTasks');
    expect(
      (await call('PUT', '/api/v1/quotas/users/no-such-user', adminAuth, { maxConcurrentTasks: 2 })).status,
    ).toBe(404);
    expect(
      (await call('PUT', '/api/v1/quotas/teams/no-such-team', adminAuth, { maxConcurrentTasks: 2 })).status,
    ).toBe(404);
    expect((await call('DELETE', `/api/v1/quotas/users/${u.user.id}`, adminAuth)).status).toBe(404);
    expect(
      (await call('PUT', `/api/v1/quotas/users/${u.user.id}`, u.auth, { maxConcurrentTasks: 50 })).status,
    ).toBe(403);
    expect((await call('GET', '/api/v1/quotas', u.auth)).status).toBe(403);
    expect((await call('GET', `/api/v1/quota?userId=${admin.id}`, u.auth)).status).toBe(403);
    expect((await call('GET', '/api/v1/queue?owner=all', u.auth)).status).toBe(403);
    expect((await call('GET', '/api/v1/queue?owner=everyone', u.auth)).status).toBe(400);
    expect(await k.t.services.scheduler.overrides()).not.toContainEqual(
      expect.objectContaining({ subject_id: u.user.id }),
    );
  }, 150_000);

  it('lists queued tasks in order, with positions 1..n and reasons', async () => {
    const u = await member();
    // Each task its own workspace; one at a time for this user, so the rest wait in order.
    await override(u.user.id, { maxConcurrentTasks: 1 });
    const first = await u.api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:slow] 1',
    });
    await u.until(first.id, (t) => t.status === 'running');
    // Arrival breaks ties between equal priorities: the clock ticks between the three.
    const add = async (prompt: string, priority?: 'low') => {
      k.t.clock.advance(10);
      const body = {
        workspaceId: first.workspaceId,
        prompt: `[scenario:hello] ${prompt}`,
        ...(priority ? { priority } : {}),
      };
      return u.api<Task>('POST', '/api/v1/tasks', body);
    };
    const low = await add('low', 'low');
    const normal = await add('normal');
    const later = await add('later');
    await k.t.services.runtime.tasks.scheduler.runSoon();
    const { entries } = await u.api<QueueList>('GET', '/api/v1/queue');
    expect(entries.map((e) => [e.taskId, e.position, e.priority])).toEqual([
      [normal.id, 1, 'normal'],
      [later.id, 2, 'normal'],
      [low.id, 3, 'low'],
    ]);
    for (const e of entries) expect(e.reason).toBe('Waiting for the task before it in this workspace');
    expect(entries.map((e) => e.userName)).toEqual([u.user.name, u.user.name, u.user.name]);
    const ids = [first.id, normal.id, later.id, low.id];
    const done = await Promise.all(ids.map((id) => u.until(id, finished, 90_000)));
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  }, 150_000);
});

describe('quotas with whenExceeded: refuse', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      // Workspaces "start" but their agent never connects, so tasks stay queued.
      flags: { 'quotas.whenExceeded': 'refuse', 'workspaces.startTimeout': 3600 },
      services: { driver: new NeverStartingDriver() },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 quota_exceeded with the limit, and creates no task', async () => {
    const u = await t.user('member');
    const auth = await t.bearer(u);
    const admin = await t.bearer(await t.user('admin'));
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/quotas/users/${u.id}`,
      headers: { authorization: admin },
      payload: { maxConcurrentTasks: 1, maxMonthlyHours: 2 },
    });
    expect(put.statusCode, put.body).toBe(200);
    // One task counts against the limit once it is active.
    const ws = await t.services.workspaces.createOrGet({
      id: 'ws-refuse-1',
      ownerId: u.id,
      repository: 'https://git.example.test/acme/app',
      name: 'app',
      driver: t.services.runtime.driver.kind,
      cpu: 1,
      memoryBytes: 2 ** 30,
      pids: 512,
    });
    const active = await t.services.tasks.create({
      ownerId: u.id,
      workspaceId: ws.row.id,
      repository: ws.row.repository,
      prompt: 'busy',
      model: 'm',
      permissionMode: 'default',
      priority: 'normal',
    });
    expect(await t.services.tasks.transition(active.id, ['queued'], 'running', {})).toBe(true);

    const post = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/tasks',
        headers: { authorization: auth },
        payload: { workspaceId: ws.row.id, prompt: 'one more' },
      });
    const res = await post();
    expect(res.statusCode, res.body).toBe(429);
    expect(res.json()).toMatchObject({
      error: {
        code: 'quota_exceeded',
        message: `${u.name} has 1 of 1 concurrent tasks (quotas.maxConcurrentTasks); the task was not queued.`,
      },
    });
    const list = async () =>
      (await t.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: auth } })).json()
        .items as Task[];
    expect((await list()).map((x) => x.id)).toEqual([active.id]);

    // The monthly hours are checked first: used up, the answer names that limit and its reset.
    await t.services.db.kysely
      .insertInto('usage_months')
      .values({ user_id: u.id, month: t.clock.now().toISOString().slice(0, 7), workspace_seconds: 7200 })
      .execute();
    const monthly = await post();
    expect(monthly.statusCode).toBe(429);
    expect(monthly.json().error.message).toBe(
      `${u.name} has used 2 of 2 workspace-hours this month (quotas.maxMonthlyHours); the allowance resets on ${nextMonthStart(t.clock.now()).toISOString().slice(0, 10)} (UTC); the task was not queued.`,
    );
    expect((await list()).map((x) => x.id)).toEqual([active.id]);
  });

  it('lets admins and owners ask for high priority, and shows a member only their own queue', async () => {
    const repository = 'https://git.example.test/acme/app';
    const post = async (auth: string, body: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/tasks', headers: { authorization: auth }, payload: body });
    const get = async <T>(auth: string, url: string) =>
      (await t.app.inject({ method: 'GET', url, headers: { authorization: auth } })).json() as T;
    const memberAuth = await t.bearer(await t.user('member'));
    const member = await post(memberAuth, { repository, prompt: 'mine' });
    expect(member.statusCode, member.body).toBe(201);
    const adminAuth = await t.bearer(await t.user('admin'));
    const byAdmin = await post(adminAuth, { repository, prompt: 'urgent', priority: 'high' });
    expect(byAdmin.statusCode, byAdmin.body).toBe(201);
    expect(byAdmin.json().priority).toBe('high');
    // So may an owner (the first administrator of an installation is one).
    const ownerAuth = await t.bearer(await t.user('owner'));
    expect((await get<Quota>(ownerAuth, '/api/v1/quota')).allowHighPriority).toBe(true);
    const byOwner = await post(ownerAuth, { repository, prompt: 'urgent too', priority: 'high' });
    expect(byOwner.statusCode, byOwner.body).toBe(201);

    await t.services.runtime.tasks.scheduler.runSoon();
    const mine = await get<QueueList>(memberAuth, '/api/v1/queue');
    expect(mine.entries.map((e) => e.taskId)).toEqual([member.json().id]);
    const all = await get<QueueList>(adminAuth, '/api/v1/queue?owner=all');
    const ids = all.entries.map((e) => e.taskId);
    expect(ids).toEqual(expect.arrayContaining([member.json().id, byAdmin.json().id, byOwner.json().id]));
    // The high ones first; positions count the whole queue.
    expect(all.entries.slice(0, 2).map((e) => e.priority)).toEqual(['high', 'high']);
    expect(all.entries.map((e) => e.position)).toEqual(all.entries.map((_, i) => i + 1));
  });
});
