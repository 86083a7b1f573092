// Terminals while a workspace's agent connects again. A viewer that attaches by terminal id before
// the server has bound the terminal to the new connection (its `pty.list` has not answered yet)
// must end up on the new connection, with its output and exit, and not on the old, dead one nor
// with "not found" after a control-plane restart; a viewer of a connection that a new one replaced
// is sent away to attach again; a terminal the new agent no longer has ends. The scripted agent
// holds the listing back, which makes the window as long as the test needs.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { serverToAgent } from '../../sdk/agentProtocol.js';
import { WS_NOT_FOUND } from '../../sdk/limits.js';
import type { WorkspaceStatus } from '../../sdk/workspaceWire.js';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';

const SIZE = { cols: 80, rows: 24 };

describe('attaching to a terminal (or a file watch) while its agent reconnects', () => {
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

    // The agent comes back with the PTY still running.
    const { agent: second, v } = await viewWhileListing(terminalId, 'after the reconnect');
    await second.notify('pty.exit', { terminalId, exitCode: 3, signal: null });
    const [code] = await v.closed;
    expect(v.texts).toContainEqual({ type: 'exit', exitCode: 3, signal: null });
    expect(code).toBe(1000);
  });

  it('finds a terminal the agent still has after a control-plane restart', async () => {
    // This server never saw the terminal: it learns of it from the agent's listing.
    const { v } = await viewWhileListing('kept-across-restart', 'still here');
    v.ws.close();
  });

  it('sends a viewer away to attach again when a new connection replaces a live one', async () => {
    const hub = t.services.runtime.hub;
    const first = await ScriptedAgent.connect(t, id);
    agents.push(first);
    const terminalId = await t.services.runtime.terminals.open(first.conn, SIZE);
    const v = view(terminalId);
    await expect.poll(() => v.texts).toContainEqual(expect.objectContaining({ type: 'ready', terminalId }));
    // As an agent that gave up on a connection the server still holds: no 'disconnected' comes.
    const replaced = once(hub, 'connected');
    const handlers = {
      'pty.list': {
        params: serverToAgent['pty.list'].params,
        handle: async () => ({ terminals: [{ terminalId, ...SIZE, pid: 1 }] }),
      },
      'pty.attach': { params: serverToAgent['pty.attach'].params, handle: async () => ({}) },
    };
    agents.push(await ScriptedAgent.connect(t, id, { handlers }));
    await replaced;
    const [code] = await v.closed;
    expect(code).toBe(1012);
    const again = view(terminalId);
    await expect
      .poll(() => again.texts)
      .toContainEqual(expect.objectContaining({ type: 'ready', terminalId }));
    again.ws.close();
  });

  it('ends a terminal the reconnected agent no longer has', async () => {
    const hub = t.services.runtime.hub;
    const first = await ScriptedAgent.connect(t, id);
    agents.push(first);
    const terminalId = await t.services.runtime.terminals.open(first.conn, SIZE);
    const gone = once(hub, 'disconnected');
    first.close();
    await gone;
    // The agent restarted: its PTYs went with it, and it lists none.
    agents.push(await ScriptedAgent.connect(t, id));
    await expect.poll(() => t.services.runtime.terminals.list(id)).toEqual([]);
    const v = view(terminalId);
    const [code] = await v.closed;
    expect(code).toBe(WS_NOT_FOUND);
    expect(v.texts.filter((m) => (m as { type: string }).type === 'ready')).toEqual([]);
  });

  it('sends a file watch away to watch again when its agent connection goes, and the next one hears', async () => {
    const hub = t.services.runtime.hub;
    const watched: string[] = [];
    const watchHandlers = {
      'files.watch': {
        params: serverToAgent['files.watch'].params,
        handle: async (p: { watchId: string }) => {
          watched.push(p.watchId);
          return {};
        },
      },
    };
    const watch = () => {
      const ws = new WebSocket(`${base}/api/v1/workspaces/${id}/watch`, { headers: { authorization: auth } });
      const texts: { type: string; changes?: unknown }[] = [];
      ws.on('message', (d: Buffer) => texts.push(JSON.parse(d.toString('utf8'))));
      return { ws, texts, closed: once(ws, 'close') as Promise<[number, Buffer]> };
    };
    const first = await ScriptedAgent.connect(t, id, { handlers: watchHandlers });
    agents.push(first);
    const w1 = watch();
    await expect.poll(() => w1.texts).toContainEqual({ type: 'ready' });
    // A new connection of the agent replaces the first (the watch lived in the first).
    const second = await ScriptedAgent.connect(t, id, { handlers: watchHandlers });
    agents.push(second);
    const [code] = await w1.closed;
    expect(code).toBe(1012);
    // Watching again goes to the new connection, and hears its changes.
    const w2 = watch();
    await expect.poll(() => w2.texts).toContainEqual({ type: 'ready' });
    const changes = [{ path: 'after.txt', kind: 'rename' }];
    await second.notify('files.changed', { watchId: watched.at(-1), changes });
    await expect.poll(() => w2.texts).toContainEqual({ type: 'changes', changes });
    // And when the agent goes away altogether, the watcher is told as well.
    const gone = once(hub, 'disconnected');
    second.close();
    await gone;
    expect((await w2.closed)[0]).toBe(1012);
  });

  /**
   * Agent handlers whose `pty.list` lists `terminalId` once `answer` is called; `asked` resolves
   * when the server has asked, `attached` with the channel of its `pty.attach` of that terminal.
   */
  function slowListing(terminalId: string) {
    let answer = () => {};
    const answered = new Promise<void>((r) => {
      answer = r;
    });
    let ask = () => {};
    const asked = new Promise<void>((r) => {
      ask = r;
    });
    let bind: (channel: number) => void = () => {};
    const attached = new Promise<number>((r) => {
      bind = r;
    });
    const handlers = {
      'pty.list': {
        params: serverToAgent['pty.list'].params,
        handle: async () => {
          ask();
          await answered;
          return { terminals: [{ terminalId, ...SIZE, pid: 1 }] };
        },
      },
      'pty.attach': {
        params: serverToAgent['pty.attach'].params,
        handle: async (p: { terminalId: string; channel: number }) => {
          if (p.terminalId === terminalId) bind(p.channel);
          return {};
        },
      },
    };
    return { handlers, asked, attached, answer };
  }

  /**
   * The agent connects with `terminalId` running and holds its listing back while a viewer
   * attaches; the viewer gets "ready" and then `text`, written by the agent on the new channel.
   */
  async function viewWhileListing(terminalId: string, text: string) {
    const slow = slowListing(terminalId);
    const agent = await ScriptedAgent.connect(t, id, { handlers: slow.handlers });
    agents.push(agent);
    await slow.asked;
    const v = await viewDuring(slow, terminalId);
    const channel = agent.peer.channel(await slow.attached);
    await expect.poll(() => v.texts).toContainEqual(expect.objectContaining({ type: 'ready', terminalId }));
    channel.write(Buffer.from(`${text}\r\n`));
    await expect.poll(() => Buffer.concat(v.output).toString()).toContain(text);
    return { agent, v };
  }

  /** A viewer whose socket reaches the terminal route while `slow`'s listing is out; then it answers. */
  async function viewDuring(slow: { answer(): void }, terminalId: string) {
    const served = new Promise<void>((resolve) => {
      const onConnection = (_socket: WebSocket, req: IncomingMessage) => {
        if (!req.url?.includes(`terminalId=${terminalId}`)) return;
        t.app.websocketServer.off('connection', onConnection);
        // The route's handler runs right after this event, in the same turn.
        setImmediate(resolve);
      };
      t.app.websocketServer.on('connection', onConnection);
    });
    const v = view(terminalId);
    await served;
    slow.answer();
    return v;
  }

  /** A viewer attaching to `terminalId` through the real route, with what it receives. */
  function view(terminalId: string) {
    const ws = new WebSocket(`${base}/api/v1/workspaces/${id}/terminals?terminalId=${terminalId}`, {
      headers: { authorization: auth },
    });
    const texts: unknown[] = [];
    const output: Buffer[] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) output.push(data);
      else texts.push(JSON.parse(data.toString('utf8')));
    });
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    return { ws, texts, output, closed };
  }
});
