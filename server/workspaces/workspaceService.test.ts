// The lifecycle against fake drivers (JupyterHub's SlowSpawner/NeverSpawner/BadSpawner idea):
// what a user sees when a box is slow, never comes up, or fails.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { FailingDriver, NeverStartingDriver, SlowDriver } from '../drivers/fakeDrivers.js';
import type { RuntimeDriver, RuntimeRef } from '../drivers/runtimeDriver.js';
import { normaliseRepository, workspaceIdFor } from './workspaceService.js';

describe('workspace lifecycle with fake drivers', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const start = async (driver: RuntimeDriver, flags: Record<string, unknown> = {}) => {
    t = await createTestApp('sqlite', { services: { driver }, flags });
    const user = await t.user('member');
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/b',
    });
    return row.id;
  };

  it('a network driver gets RC_AGENT_URL from the public URL (or server.agentUrl) and no socket dir', async () => {
    const driver = new NeverStartingDriver({ agentTransport: 'network' });
    const id = await start(driver, { 'server.publicUrl': 'https://rc.example.test/base/' });
    await vi.waitFor(() => expect(driver.specOf(id)).toBeDefined());
    const spec = driver.specOf(id);
    expect(spec?.agentSocketDir).toBeUndefined();
    expect(spec?.env.RC_AGENT_URL).toBe('wss://rc.example.test/base/api/v1/agent');
    expect(spec?.env.RC_AGENT_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await t?.close();

    const other = new NeverStartingDriver({ agentTransport: 'network' });
    const next = await start(other, { 'server.agentUrl': 'ws://10.0.0.5:8080/api/v1/agent' });
    await vi.waitFor(() => expect(other.specOf(next)).toBeDefined());
    expect(other.specOf(next)?.env.RC_AGENT_URL).toBe('ws://10.0.0.5:8080/api/v1/agent');
  });

  it('a unix driver gets the socket dir and the in-box socket URL', async () => {
    const driver = new NeverStartingDriver();
    const id = await start(driver);
    await vi.waitFor(() => expect(driver.specOf(id)).toBeDefined());
    expect(driver.specOf(id)?.agentSocketDir).toBe(
      t?.services.runtime.hub.socketPath(id)?.replace(/\/agent\.sock$/, ''),
    );
    expect(driver.specOf(id)?.env.RC_AGENT_URL).toBe('ws+unix:///run/remote-claude/agent.sock:/agent');
  });

  it('a failing driver fails the workspace with its message', async () => {
    const id = await start(new FailingDriver({ userMessage: 'No room on this host for 4 GB.' }));
    const row = await t?.services.runtime.service.settled(id);
    expect(row).toMatchObject({ status: 'failed', status_reason: 'No room on this host for 4 GB.' });
  });

  it('a box whose agent never connects fails after the start timeout, saying so', async () => {
    const id = await start(new NeverStartingDriver(), { 'workspaces.startTimeout': 1 });
    const row = await t?.services.runtime.service.settled(id, 5000);
    expect(row?.status).toBe('failed');
    expect(row?.status_reason).toMatch(/agent did not connect within 1 s/);
  });

  it('a slow box shows starting until it is up, and stop interrupts the start', async () => {
    const id = await start(new SlowDriver({ delayMs: 60_000 }));
    expect((await t?.services.workspaces.byId(id))?.status).toBe('starting');
    await t?.services.runtime.service.stop(id);
    expect((await t?.services.workspaces.byId(id))?.status).toBe('stopped');
  });

  it('a reconcile pass during a stop leaves the stop to finish on its own', async () => {
    // A fake whose first stop waits until the test lets it go, as a box in its grace period does.
    let entered = () => {};
    const inStop = new Promise<void>((r) => {
      entered = r;
    });
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    class SlowStoppingDriver extends NeverStartingDriver {
      override async stop(ref: RuntimeRef): Promise<void> {
        const first = !this.calls.includes(`stop ${ref.workspaceId}`);
        if (first) {
          this.calls.push(`stop ${ref.workspaceId} (held)`);
          entered();
          await held;
        }
        return super.stop(ref);
      }
    }
    const driver = new SlowStoppingDriver();
    t = await createTestApp('sqlite', { services: { driver } });
    const user = await t.user('member');
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/stop-race',
      start: false,
    });
    const id = row.id;
    // A running box, set up directly so no background start is still in flight.
    const ref = await driver.start(
      await driver.create({
        workspaceId: id,
        resources: { cpu: 1, memoryBytes: 64 * 1024 * 1024, pids: 64 },
        env: {},
        agentSocketDir: '/tmp/rc-fake-socket',
      }),
    );
    await t.services.workspaces.transition(id, ['pending'], 'running', { runtime_ref: JSON.stringify(ref) });
    const stopping = t?.services.runtime.service.stop(id);
    await inStop;
    expect((await t?.services.workspaces.byId(id))?.status).toBe('stopping');
    const report = await t?.services.runtime.reconciler.runOnce();
    expect(report?.stopped).not.toContain(id);
    expect(driver.calls.filter((c) => c === `stop ${id}`)).toEqual([]);
    expect((await t?.services.workspaces.byId(id))?.status).toBe('stopping');
    release();
    await stopping;
    expect((await t?.services.workspaces.byId(id))?.status).toBe('stopped');
    // Once the stop is over the workspace is the reconciler's again.
    expect(t?.services.runtime.service.isBusy(id)).toBe(false);
  });

  it('refuses to start a workspace that is stopping', async () => {
    const id = await start(new SlowDriver({ delayMs: 60_000 }));
    await t?.services.workspaces.transition(id, ['starting'], 'stopping');
    await expect(t?.services.runtime.service.start(id)).rejects.toThrow(/stopping/);
  });

  it('writes clone progress to the status reason at most once a second of the clock', async () => {
    t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
    const app = t;
    const user = await app.user('member');
    const { row } = await app.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/progress',
      start: false,
    });
    const agent = await ScriptedAgent.connect(app, row.id);
    const update = vi.spyOn(app.services.workspaces, 'update');
    const progress = (line: string) => agent.notify('repo.progress', { line });
    await progress('A');
    app.clock.advance(500);
    await progress('B');
    app.clock.advance(499);
    await progress('C');
    app.clock.advance(1);
    await progress('D');
    app.clock.advance(999);
    await progress('E');
    expect(update.mock.calls.map(([, set]) => set.status_reason)).toEqual(['Cloning: A', 'Cloning: D']);
    await expect
      .poll(async () => (await app.services.workspaces.byId(row.id))?.status_reason)
      .toBe('Cloning: D');
    agent.close();
  });

  it('names workspaces by (owner, repository) and compares repositories loosely', () => {
    expect(normaliseRepository('https://GitHub.com/acme/app/#readme')).toBe('https://github.com/acme/app');
    expect(workspaceIdFor('u1', 'https://github.com/acme/app')).toBe(
      workspaceIdFor('u1', 'https://github.com/acme/app'),
    );
    expect(workspaceIdFor('u1', 'https://github.com/acme/app')).not.toBe(
      workspaceIdFor('u2', 'https://github.com/acme/app'),
    );
  });
});
