// The heartbeat watchdog on the services' clock: an agent silent for more than three heartbeat
// periods makes its workspace unhealthy, one that keeps beating never does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';

const HEARTBEAT_MS = 1000;

describe('agent heartbeat watchdog', () => {
  let t: TestApp;
  let id: string;
  let unhealthy: string[];
  beforeEach(async () => {
    t = await createTestApp('sqlite', {
      services: { driver: new NeverStartingDriver() },
      flags: { 'workspaces.heartbeatIntervalMs': HEARTBEAT_MS },
    });
    const user = await t.user('member');
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/heartbeat',
      start: false,
    });
    id = row.id;
    unhealthy = [];
    t.services.runtime.hub.on('unhealthy', (w) => unhealthy.push(w));
  });
  afterEach(() => t.close());

  it('an agent that beats every period stays healthy', async () => {
    const agent = await ScriptedAgent.connect(t, id);
    for (let i = 0; i < 20; i++) {
      t.clock.advance(HEARTBEAT_MS);
      await agent.beat();
    }
    expect(unhealthy).toEqual([]);
    await expect.poll(async () => (await t.services.workspaces.byId(id))?.health).toBe('healthy');
    agent.close();
  });

  it('an agent silent for more than three heartbeats is unhealthy, and its next beat heals it', async () => {
    const agent = await ScriptedAgent.connect(t, id);
    t.clock.advance(HEARTBEAT_MS);
    await agent.beat();
    t.clock.advance(3 * HEARTBEAT_MS);
    expect(unhealthy).toEqual([]);
    t.clock.advance(HEARTBEAT_MS);
    expect(unhealthy).toEqual([id]);
    await expect.poll(async () => (await t.services.workspaces.byId(id))?.health).toBe('unhealthy');
    // Reported once, not at every check.
    t.clock.advance(5 * HEARTBEAT_MS);
    expect(unhealthy).toEqual([id]);
    await agent.beat();
    await expect.poll(async () => (await t.services.workspaces.byId(id))?.health).toBe('healthy');
    t.clock.advance(3 * HEARTBEAT_MS);
    expect(unhealthy).toEqual([id]);
    agent.close();
  });

  it('a workspace whose agent never connects is unhealthy after three heartbeats', async () => {
    await t.services.runtime.hub.listen(id);
    t.clock.advance(3 * HEARTBEAT_MS);
    await settled();
    expect(unhealthy).toEqual([]);
    t.clock.advance(HEARTBEAT_MS);
    // With no connection here, the hub first asks the store whether another replica holds it.
    await expect.poll(() => unhealthy).toEqual([id]);
  });

  it('an agent that disconnected counts as silent from the disconnect', async () => {
    const agent = await ScriptedAgent.connect(t, id);
    t.clock.advance(2 * HEARTBEAT_MS);
    await agent.beat();
    const gone = new Promise((r) => t.services.runtime.hub.once('disconnected', r));
    agent.close();
    await gone;
    t.clock.advance(3 * HEARTBEAT_MS);
    await settled();
    expect(unhealthy).toEqual([]);
    t.clock.advance(HEARTBEAT_MS);
    await expect.poll(() => unhealthy).toEqual([id]);
  });
});

/** Lets the store reads a watchdog pass started finish (a few event-loop turns). */
const settled = () => new Promise((r) => setTimeout(r, 100));
