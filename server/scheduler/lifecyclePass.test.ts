// The lifecycle limits carried out on a control plane with a fake driver, on the services' virtual
// clock (no sleeps): idle warning then stop, a warning withdrawn by activity, maximum run time,
// task timeout and auto-terminate, with the reasons shown by the API; on both engines.
import { afterEach, describe, expect, it } from 'vitest';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';
import { LIFECYCLE_CHANNEL, type LifecycleEvent } from './lifecyclePass.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** A member's workspace, running on the fake driver as if started (no background start). */
async function runningWorkspace(t: TestApp, driver: NeverStartingDriver, userId: string): Promise<string> {
  const { row } = await t.services.runtime.service.create(userId, {
    repository: 'https://git.example.test/a/app',
    start: false,
  });
  const ref = await driver.start(
    await driver.create({
      workspaceId: row.id,
      resources: { cpu: 1, memoryBytes: 64 * 1024 * 1024, pids: 64 },
      env: {},
      agentSocketDir: '/tmp/rc-fake-socket',
    }),
  );
  await t.services.workspaces.transition(row.id, ['pending'], 'running', {
    runtime_ref: JSON.stringify(ref),
  });
  return row.id;
}

describe.each(['sqlite', 'postgres'] as const)('lifecycle limits (%s)', (engine) => {
  let t: TestApp;
  let driver: NeverStartingDriver;
  let auth: string;
  let ownerId: string;
  let events: LifecycleEvent[];
  afterEach(() => t.close());

  /** A control plane with `flags`, and one running workspace of a member (no background start). */
  async function setUp(flags: Record<string, unknown> = {}): Promise<string> {
    driver = new NeverStartingDriver();
    t = await createTestApp(engine, { services: { driver }, flags });
    const user = await t.user('member');
    ownerId = user.id;
    auth = await t.bearer(user);
    events = [];
    t.services.pubsub.subscribe(LIFECYCLE_CHANNEL, (p) => events.push(JSON.parse(p) as LifecycleEvent));
    return runningWorkspace(t, driver, user.id);
  }

  const pass = () => t.services.runtime.lifecycle.runOnce();
  async function get(id: string): Promise<Workspace> {
    const res = await t.app.inject({ url: `/api/v1/workspaces/${id}`, headers: { authorization: auth } });
    expect(res.statusCode).toBe(200);
    return res.json() as Workspace;
  }
  async function getTask(id: string): Promise<{ status: string; statusReason: string | null }> {
    const res = await t.app.inject({ url: `/api/v1/tasks/${id}`, headers: { authorization: auth } });
    expect(res.statusCode).toBe(200);
    return res.json();
  }
  /** A task of the workspace whose turn runs (started now). */
  async function runningTask(workspaceId: string): Promise<string> {
    const store = t.services.tasks;
    const task = await store.create({
      ownerId,
      workspaceId,
      repository: 'https://git.example.test/a/app',
      prompt: 'work',
      permissionMode: 'default',
    });
    expect(await store.startTurn(task.id, workspaceId)).toBe(true);
    expect(await store.transition(task.id, ['starting'], 'running')).toBe(true);
    return task.id;
  }

  it('warns before an idle stop, then stops the workspace (files kept) with the reason', async () => {
    const id = await setUp();
    t.clock.advance(25 * MIN - S);
    expect((await pass()).decisions).toEqual([]);
    t.clock.advance(S);
    const warnedAt = t.clock.now().getTime();
    await pass();
    const stopAt = new Date(warnedAt + 5 * MIN).toISOString();
    expect(await get(id)).toMatchObject({ status: 'running', idleStopAt: stopAt });
    await expect.poll(() => events).toEqual([{ type: 'idle_warning', workspaceId: id, stopAt }]);
    // Another pass (or another replica taking the pass over) does not warn again.
    t.clock.advance(MIN);
    expect((await pass()).decisions).toEqual([]);
    t.clock.advance(4 * MIN);
    await pass();
    const reason = 'Stopped after 30 min without activity (sessions.idleTimeout)';
    expect(await get(id)).toMatchObject({ status: 'stopped', statusReason: reason, idleStopAt: null });
    expect(driver.calls).toContain(`stop ${id}`);
    expect(driver.calls).not.toContain(`remove ${id}`);
    await expect
      .poll(() => events.at(-1))
      .toEqual({ type: 'stopped', workspaceId: id, cause: 'idle', reason });
  });

  it('withdraws the warning when a terminal is attached after it, and counts idleness from then', async () => {
    const id = await setUp();
    t.services.runtime.lifecycle.start();
    t.clock.advance(25 * MIN);
    await pass();
    expect((await get(id)).idleStopAt).not.toBeNull();
    // A viewer attaches to one of its terminals on this replica (TerminalHub announces it).
    t.clock.advance(MIN);
    t.services.runtime.terminals.events.emit('viewers', id);
    await expect.poll(async () => (await t.services.workspaces.byId(id))?.last_activity_at).not.toBeNull();
    await pass();
    expect(await get(id)).toMatchObject({ status: 'running', idleStopAt: null });
    await expect.poll(() => events.map((e) => e.type)).toEqual(['idle_warning', 'idle_warning_cleared']);
    // The old stop time passes: still running; the new warning comes 25 min after the activity.
    t.clock.advance(25 * MIN - S);
    await pass();
    expect(await get(id)).toMatchObject({ status: 'running', idleStopAt: null });
    t.clock.advance(S);
    await pass();
    expect((await get(id)).idleStopAt).not.toBeNull();
  });

  it('a running or queued task keeps the workspace from idling', async () => {
    const id = await setUp({ 'pooling.taskTimeout': '10h' });
    await runningTask(id);
    t.clock.advance(2 * H);
    expect((await pass()).decisions).toEqual([]);
    expect(await get(id)).toMatchObject({ status: 'running', idleStopAt: null });
  });

  it('cancels a turn over pooling.taskTimeout with the reason, and leaves the workspace running', async () => {
    const id = await setUp({ 'pooling.taskTimeout': '1h', 'sessions.idleTimeout': '2h' });
    const taskId = await runningTask(id);
    t.clock.advance(H - S);
    await pass();
    expect((await getTask(taskId)).status).toBe('running');
    t.clock.advance(S);
    await pass();
    expect(await getTask(taskId)).toMatchObject({
      status: 'cancelled',
      statusReason: 'Cancelled: the turn ran longer than 1 h (pooling.taskTimeout)',
    });
    expect((await get(id)).status).toBe('running');
  });

  it('stops a busy workspace after sessions.maxDuration, cancelling its task with the reason', async () => {
    const id = await setUp({ 'sessions.maxDuration': '8h', 'pooling.taskTimeout': '10h' });
    t.clock.advance(7 * H + 59 * MIN);
    const taskId = await runningTask(id);
    await t.services.workspaces.touchActivity([id]);
    await pass();
    expect((await get(id)).status).toBe('running');
    t.clock.advance(MIN);
    await pass();
    expect(await get(id)).toMatchObject({
      status: 'stopped',
      statusReason: 'Stopped after running 8 h (sessions.maxDuration)',
    });
    expect(await getTask(taskId)).toMatchObject({
      status: 'cancelled',
      statusReason: 'Cancelled: the workspace was stopped after running 8 h (sessions.maxDuration)',
    });
  });

  it('auto-terminate stops the workspace when its last task ends, not before', async () => {
    const id = await setUp({ 'userDefaults.autoTerminate': true });
    const first = await runningTask(id);
    t.clock.advance(MIN);
    expect((await pass()).decisions).toEqual([]);
    const done = { finished_at: t.clock.now().toISOString() };
    expect(await t.services.tasks.transition(first, ['running'], 'succeeded', done)).toBe(true);
    // Another task still queued: not yet.
    const second = await t.services.tasks.create({
      ownerId,
      workspaceId: id,
      repository: 'https://git.example.test/a/app',
      prompt: 'more',
      permissionMode: 'default',
    });
    expect((await pass()).decisions).toEqual([]);
    expect(await t.services.tasks.transition(second.id, ['queued'], 'cancelled', done)).toBe(true);
    await pass();
    expect(await get(id)).toMatchObject({
      status: 'stopped',
      statusReason: 'Stopped when its last task ended (userDefaults.autoTerminate)',
    });
  });

  it('auto-terminate is off by default', async () => {
    const id = await setUp();
    const task = await runningTask(id);
    const done = { finished_at: t.clock.now().toISOString() };
    expect(await t.services.tasks.transition(task, ['running'], 'succeeded', done)).toBe(true);
    expect((await pass()).decisions).toEqual([]);
    expect((await get(id)).status).toBe('running');
  });

  it('runs its passes on the clock once started', async () => {
    const id = await setUp({ 'sessions.idleTimeout': '1m' });
    t.services.runtime.lifecycle.start();
    // A pass every 6 s (a tenth of the shortest limit): warned at 48 s, stopped at 60 s.
    t.clock.advance(48 * S);
    await expect.poll(async () => (await get(id)).idleStopAt).not.toBeNull();
    await pass();
    t.clock.advance(12 * S);
    await expect.poll(async () => (await get(id)).status).toBe('stopped');
    expect((await get(id)).statusReason).toBe('Stopped after 1 min without activity (sessions.idleTimeout)');
  });
});

describe('lifecycle limits across replicas (postgres)', () => {
  let a: TestApp;
  let b: TestApp;
  afterEach(async () => {
    await b?.close();
    await a?.close();
  });

  it('activity seen by one replica counts on the one running the pass; the one taking the pass over neither warns again nor forgets the warning', async () => {
    const driver = new NeverStartingDriver();
    a = await createTestApp('postgres', { services: { driver } });
    b = await createTestApp('postgres', { sameStoreAs: a, services: { driver } });
    const events: LifecycleEvent[] = [];
    b.services.pubsub.subscribe(LIFECYCLE_CHANNEL, (p) => events.push(JSON.parse(p) as LifecycleEvent));
    const user = await a.user('member');
    const row = { id: await runningWorkspace(a, driver, user.id) };
    // The replicas' clocks agree (each test app has its own virtual clock).
    const together = (ms: number) => {
      a.clock.advance(ms);
      b.clock.advance(a.clock.now().getTime() - b.clock.now().getTime());
    };
    // A terminal watched through replica b counts on a, which leads the pass.
    expect((await a.services.runtime.lifecycle.runOnce()).ran).toBe(true);
    b.services.runtime.lifecycle.start();
    together(20 * MIN);
    b.services.runtime.terminals.events.emit('viewers', row.id);
    await expect
      .poll(async () => (await a.services.workspaces.byId(row.id))?.last_activity_at)
      .not.toBeNull();
    together(5 * MIN);
    expect(await a.services.runtime.lifecycle.runOnce()).toEqual({ ran: true, decisions: [] });
    together(20 * MIN);
    expect((await a.services.runtime.lifecycle.runOnce()).decisions).toMatchObject([{ kind: 'warnIdle' }]);
    expect((await b.services.runtime.lifecycle.runOnce()).ran).toBe(false);
    await expect.poll(() => events.map((e) => e.type)).toEqual(['idle_warning']);

    // Replica a shuts down; b takes the pass over.
    await a.services.runtime.lifecycle.close();
    await a.services.leaders.leaderLock('lifecycle').release();
    together(MIN);
    expect(await b.services.runtime.lifecycle.runOnce()).toEqual({ ran: true, decisions: [] });
    together(4 * MIN);
    expect((await b.services.runtime.lifecycle.runOnce()).decisions).toMatchObject([
      { kind: 'stop', cause: 'idle' },
    ]);
    expect(await b.services.workspaces.byId(row.id)).toMatchObject({
      status: 'stopped',
      status_reason: 'Stopped after 30 min without activity (sessions.idleTimeout)',
    });
    await expect.poll(() => events.map((e) => e.type)).toEqual(['idle_warning', 'stopped']);
  });
});
