// The reconciler on the services' clock: a box that keeps stopping is started again at most three
// times in ten minutes, and the periodic pass runs when the clock says so.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';
import type { RuntimeRef } from '../drivers/runtimeDriver.js';

const MINUTE = 60_000;
const WINDOW_MS = 10 * MINUTE;
const INTERVAL_S = 30;

describe('reconciler restarts', () => {
  let t: TestApp;
  let driver: NeverStartingDriver;
  let id: string;
  let ref: RuntimeRef;
  beforeEach(async () => {
    driver = new NeverStartingDriver();
    t = await createTestApp('sqlite', {
      services: { driver },
      flags: { 'workspaces.reconcileInterval': INTERVAL_S },
    });
    const user = await t.user('member');
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/crashing',
      start: false,
    });
    id = row.id;
    // A running box, set up directly so no background start is in flight.
    ref = await driver.start(
      await driver.create({
        workspaceId: id,
        resources: { cpu: 1, memoryBytes: 64 * 1024 * 1024, pids: 64 },
        env: {},
        agentSocketDir: '/tmp/rc-fake-socket',
      }),
    );
    await t.services.workspaces.transition(id, ['pending'], 'running', { runtime_ref: JSON.stringify(ref) });
  });
  afterEach(() => t.close());

  /** The box stops on its own, then one reconcile pass runs. */
  const crashAndReconcile = async () => {
    await driver.stop(ref);
    return t.services.runtime.reconciler.runOnce();
  };
  const starts = () => driver.calls.filter((c) => c === `start ${id}`).length;

  it('starts a box that stopped again three times, and fails the workspace at the fourth within ten minutes', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await crashAndReconcile()).restarted).toEqual([id]);
      t.clock.advance(MINUTE);
    }
    t.clock.advance(WINDOW_MS - 3 * MINUTE - 1);
    const report = await crashAndReconcile();
    expect(report.restarted).toEqual([]);
    expect(report.failed).toEqual([id]);
    expect(await t.services.workspaces.byId(id)).toMatchObject({
      status: 'failed',
      status_reason: 'The workspace stopped unexpectedly.',
    });
  });

  it('forgets a restart once it is ten minutes old', async () => {
    expect((await crashAndReconcile()).restarted).toEqual([id]);
    t.clock.advance(5 * MINUTE);
    expect((await crashAndReconcile()).restarted).toEqual([id]);
    expect((await crashAndReconcile()).restarted).toEqual([id]);
    t.clock.advance(5 * MINUTE);
    expect((await crashAndReconcile()).restarted).toEqual([id]);
    // The three of the last ten minutes still count.
    expect((await crashAndReconcile()).failed).toEqual([id]);
  });

  it('finishes a stop cut short and keeps its reason', async () => {
    const reason = 'Stopped after 30 min without activity (sessions.idleTimeout)';
    await t.services.workspaces.transition(id, ['running'], 'stopping', { status_reason: reason });
    expect((await t.services.runtime.reconciler.runOnce()).stopped).toEqual([id]);
    expect(await t.services.workspaces.byId(id)).toMatchObject({ status: 'stopped', status_reason: reason });
  });

  it('runs a pass every reconcile interval of the clock', async () => {
    await t.services.runtime.start();
    await driver.stop(ref);
    const before = starts();
    t.clock.advance(INTERVAL_S * 1000);
    await expect.poll(starts).toBe(before + 1);
    // Joins the pass in flight, so the next crash is seen by the next pass.
    await t.services.runtime.reconciler.runOnce();
    await driver.stop(ref);
    t.clock.advance(INTERVAL_S * 1000);
    await expect.poll(starts).toBe(before + 2);
  });
});
