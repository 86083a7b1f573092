// Idle terminals on the services' clock: one nobody types into is closed once the idle timeout
// has passed, one in use is kept.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';

const IDLE_MS = 10_000;
/** How often the hub looks for idle terminals with this timeout (a quarter of it). */
const SWEEP_MS = IDLE_MS / 4;
const SIZE = { cols: 80, rows: 24 };

describe('idle terminals', () => {
  let t: TestApp;
  let id: string;
  let agent: ScriptedAgent;
  beforeEach(async () => {
    t = await createTestApp('sqlite', {
      services: { driver: new NeverStartingDriver() },
      flags: { 'workspaces.terminalIdleTimeout': IDLE_MS / 1000 },
    });
    const user = await t.user('member');
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/terminals',
      start: false,
    });
    id = row.id;
    agent = await ScriptedAgent.connect(t, id);
  });
  afterEach(async () => {
    agent.close();
    await t.close();
  });

  const terminals = () => t.services.runtime.terminals;
  const open = () => terminals().open(agent.conn, SIZE);
  const listed = () =>
    terminals()
      .list(id)
      .map((x) => x.id);
  /** Every pty.close the hub sent before this call has reached the agent once it resolves. */
  const closesDelivered = () => agent.conn.peer.request('pty.list', {});
  /** Moves the clock `ms` in one-second steps, typing into `busy` at each. */
  const typeFor = (ms: number, busy: string) => {
    for (let s = 0; s < ms; s += 1000) {
      t.clock.advance(1000);
      terminals().input(busy, Buffer.from('x'));
    }
  };

  it('closes a terminal nobody types into after the idle timeout, and keeps one in use', async () => {
    const idle = await open();
    const busy = await open();
    expect(terminals().list(id)[0]?.createdAt).toBe(t.clock.now().toISOString());

    typeFor(IDLE_MS - 1000, busy);
    await closesDelivered();
    expect(agent.closedTerminals).toEqual([]);
    expect(listed()).toEqual([idle, busy]);

    typeFor(IDLE_MS, busy);
    await expect.poll(() => listed()).toEqual([busy]);
    await closesDelivered();
    expect(agent.closedTerminals).toEqual([idle]);

    t.clock.advance(IDLE_MS + SWEEP_MS);
    await expect.poll(() => listed()).toEqual([]);
    expect(agent.closedTerminals).toEqual([idle, busy]);
  });

  it('measures idleness from the last keystroke', async () => {
    const term = await open();
    t.clock.advance(IDLE_MS - 1000);
    terminals().input(term, Buffer.from('x'));
    t.clock.advance(IDLE_MS - 1000);
    await closesDelivered();
    expect(listed()).toEqual([term]);
    t.clock.advance(1000 + SWEEP_MS);
    await expect.poll(() => listed()).toEqual([]);
    expect(agent.closedTerminals).toEqual([term]);
  });
});
