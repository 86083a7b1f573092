// sessions.idleTimeout end to end on a real workspace (local driver): an attached terminal keeps
// it running, once the terminal is gone its owner is warned and then the workspace is stopped
// with the reason, and its files are there when it starts again. Time is the app's virtual clock;
// only the real box, agent and sockets are waited for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTerminal } from '../support/terminalClient.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const S = 1000;

describe('lifecycle limits on a real workspace (local driver)', () => {
  let k: WorkspaceKit;
  let base: string;
  beforeAll(async () => {
    k = await startWorkspaceKit({ flags: { 'runtime.driver': 'local', 'sessions.idleTimeout': '1m' } });
    base = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    k.t.services.runtime.lifecycle.start();
  });
  afterAll(async () => {
    await k?.close();
  });

  it('an idle workspace is warned, then stopped with the reason; its files are kept', async () => {
    const { lifecycle, terminals } = k.t.services.runtime;
    const id = (await k.create(k.repo('app'))).id;
    expect((await k.settle(id)).status).toBe('running');
    expect((await k.exec(id, ['sh', '-c', 'echo kept > /workspace/idle.txt'])).exitCode).toBe(0);

    // A terminal attached: activity, however long the clock runs.
    const viewer = await openTerminal(
      `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals`,
      k.auth,
    );
    k.t.clock.advance(120 * S);
    expect((await lifecycle.runOnce()).decisions).toEqual([]);
    expect(await k.settle(id)).toMatchObject({ status: 'running', idleStopAt: null });

    // Detached: warned 48 s later (a fifth of the minute before the stop), stopped at the minute.
    viewer.ws.close();
    await expect.poll(() => terminals.attachedWorkspaces()).toEqual([]);
    await expect
      .poll(async () => (await k.t.services.workspaces.byId(id))?.last_activity_at)
      .toBe(k.t.clock.now().toISOString());
    k.t.clock.advance(48 * S);
    await lifecycle.runOnce();
    const warned = await k.settle(id);
    expect(warned.status).toBe('running');
    expect(warned.idleStopAt).toBe(new Date(k.t.clock.now().getTime() + 12 * S).toISOString());
    k.t.clock.advance(12 * S);
    await lifecycle.runOnce();
    const stopped = await k.settle(id);
    expect(stopped).toMatchObject({
      status: 'stopped',
      agentConnected: false,
      statusReason: 'Stopped after 1 min without activity (sessions.idleTimeout)',
      idleStopAt: null,
    });

    const start = await k.t.app.inject({
      method: 'POST',
      url: `/api/v1/workspaces/${id}/start`,
      headers: { authorization: k.auth },
    });
    expect(start.statusCode).toBe(202);
    expect(await k.settle(id)).toMatchObject({ status: 'running', statusReason: null });
    expect((await k.exec(id, ['cat', '/workspace/idle.txt'])).stdout).toBe('kept\n');
  });
});
