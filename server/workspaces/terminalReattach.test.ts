// A viewer that attaches to a terminal while the workspace's agent has just connected again, before
// the server has bound the terminal to the new connection (its `pty.list` has not answered yet):
// it must end up on the new connection, so it gets the output and the exit that come through it.
// The scripted agent holds the listing back, which makes the window as long as the test needs.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { serverToAgent } from '../../sdk/agentProtocol.js';
import type { WorkspaceStatus } from '../../sdk/workspaceWire.js';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';

const SIZE = { cols: 80, rows: 24 };

describe('attaching to a terminal while its agent reconnects', () => {
  let t: TestApp;
  let id: string;
  let auth: string;
  let base: string;
  const agents: ScriptedAgent[] = [];
  beforeEach(async () => {
    t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
    const user = await t.user('member');
    auth = await t.bearer(user);
    const { row } = await t.services.runtime.service.create(user.id, {
      repository: 'https://git.example.test/a/terminals',
      start: false,
    });
    id = row.id;
    await t.services.workspaces.transition(id, [row.status as WorkspaceStatus], 'running');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.close();
    await t.close();
  });

  it('gets the output and the exit that come through the new connection', async () => {
    const hub = t.services.runtime.hub;
    const first = await ScriptedAgent.connect(t, id);
    agents.push(first);
    const terminalId = await t.services.runtime.terminals.open(first.conn, SIZE);
    const gone = once(hub, 'disconnected');
    first.close();
    await gone;

    // The agent comes back with the PTY still running; its listing waits for `answerList`.
    let answerList = () => {};
    const listed = new Promise<void>((r) => {
      answerList = r;
    });
    let listAsked = () => {};
    const asked = new Promise<void>((r) => {
      listAsked = r;
    });
    let bound: (channel: number) => void = () => {};
    const attached = new Promise<number>((r) => {
      bound = r;
    });
    const handlers = {
      'pty.list': {
        params: serverToAgent['pty.list'].params,
        handle: async () => {
          listAsked();
          await listed;
          return { terminals: [{ terminalId, ...SIZE, pid: 1 }] };
        },
      },
      'pty.attach': {
        params: serverToAgent['pty.attach'].params,
        handle: async (p: { terminalId: string; channel: number }) => {
          if (p.terminalId === terminalId) bound(p.channel);
          return {};
        },
      },
    };
    const second = await ScriptedAgent.connect(t, id, { handlers });
    agents.push(second);
    await asked;

    // The viewer's socket reaches the terminal route while the listing is still out.
    const served = new Promise<void>((resolve) => {
      const onConnection = (_socket: WebSocket, req: IncomingMessage) => {
        if (!req.url?.includes(`terminalId=${terminalId}`)) return;
        t.app.websocketServer.off('connection', onConnection);
        // The route's handler runs right after this event, in the same turn.
        setImmediate(resolve);
      };
      t.app.websocketServer.on('connection', onConnection);
    });
    const viewer = new WebSocket(`${base}/api/v1/workspaces/${id}/terminals?terminalId=${terminalId}`, {
      headers: { authorization: auth },
    });
    const texts: unknown[] = [];
    const output: Buffer[] = [];
    viewer.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) output.push(data);
      else texts.push(JSON.parse(data.toString('utf8')));
    });
    const closed = once(viewer, 'close') as Promise<[number, Buffer]>;
    await served;
    answerList();

    const channel = second.peer.channel(await attached);
    await expect.poll(() => texts).toContainEqual(expect.objectContaining({ type: 'ready', terminalId }));
    channel.write(Buffer.from('after the reconnect\r\n'));
    await expect.poll(() => Buffer.concat(output).toString()).toContain('after the reconnect');
    await second.notify('pty.exit', { terminalId, exitCode: 3, signal: null });
    const [code] = await closed;
    expect(texts).toContainEqual({ type: 'exit', exitCode: 3, signal: null });
    expect(code).toBe(1000);
  });
});
