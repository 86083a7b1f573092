// The lifecycle against fake drivers (JupyterHub's SlowSpawner/NeverSpawner/BadSpawner idea):
// what a user sees when a box is slow, never comes up, or fails.
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { FailingDriver, NeverStartingDriver, SlowDriver } from '../drivers/fakeDrivers.js';
import type { RuntimeDriver } from '../drivers/runtimeDriver.js';
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

  it('refuses to start a workspace that is stopping', async () => {
    const id = await start(new SlowDriver({ delayMs: 60_000 }));
    await t?.services.workspaces.transition(id, ['starting'], 'stopping');
    await expect(t?.services.runtime.service.start(id)).rejects.toThrow(/stopping/);
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
