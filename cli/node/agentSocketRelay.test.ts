// The node's agent relay against a real WebSocket server standing in for the control plane's
// /api/v1/agent: frames keep their kind both ways, close codes and reasons cross it, the socket's
// workspace id is what the control plane sees, and a refusal reaches the agent as its status.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { AgentSocketRelay } from './agentSocketRelay.js';

describe('AgentSocketRelay', () => {
  let dir: string;
  let server: Server;
  let relay: AgentSocketRelay;
  const seen: IncomingMessage[] = [];
  let onConnection: (ws: WebSocket) => void = () => {};

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/rc-asr-');
    const wss = new WebSocketServer({ noServer: true });
    server = createServer();
    server.on('upgrade', (req, socket, head) => {
      seen.push(req);
      if (req.headers.authorization !== 'Bearer good-token') {
        socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    relay = new AgentSocketRelay(join(dir, 'run'), `ws://127.0.0.1:${port}/api/v1/agent`, () => {});
  });
  afterAll(async () => {
    await relay.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const dial = (id: string, token: string, claimed = id) =>
    new WebSocket(`ws+unix://${join(dir, 'run', id, 'agent.sock')}:/agent?v=7`, {
      headers: { authorization: `Bearer ${token}`, 'x-rc-workspace': claimed },
    });

  it('relays text and binary frames both ways and forwards the close code and reason', async () => {
    expect(await relay.listen('ws-a')).toBe(join(dir, 'run', 'ws-a'));
    let serverSaw: [number, string] | undefined;
    onConnection = (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code, why) => {
        serverSaw = [code, why.toString()];
      });
      ws.send('hello');
    };
    const agent = dial('ws-a', 'good-token', 'ws-other');
    const got: [string, boolean][] = [];
    agent.on('message', (data: Buffer, isBinary) => got.push([data.toString('hex'), isBinary]));
    await new Promise((r) => agent.once('open', r));
    agent.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    agent.send('{"jsonrpc":"2.0"}');
    await until(() => got.length === 3);
    expect(got).toEqual([
      [Buffer.from('hello').toString('hex'), false],
      ['000102ff', true],
      [Buffer.from('{"jsonrpc":"2.0"}').toString('hex'), false],
    ]);
    const req = seen.at(-1) as IncomingMessage;
    expect(req.url).toBe('/api/v1/agent?v=7');
    // The socket names the workspace, whatever the agent claims.
    expect(req.headers['x-rc-workspace']).toBe('ws-a');
    const closed = new Promise<[number, string]>((r) =>
      agent.once('close', (c, why) => r([c, why.toString()])),
    );
    agent.close(4001, 'agent says bye');
    expect(await closed).toEqual([4001, 'agent says bye']);
    await until(() => serverSaw !== undefined);
    expect(serverSaw).toEqual([4001, 'agent says bye']);
  });

  it("passes the control plane's close code on to the agent", async () => {
    onConnection = (ws) => ws.close(4403, 'workspace stopping');
    const agent = dial('ws-a', 'good-token');
    const [code, why] = await new Promise<[number, string]>((r) =>
      agent.once('close', (c, w) => r([c, w.toString()])),
    );
    expect([code, why]).toEqual([4403, 'workspace stopping']);
  });

  it('answers a refused handshake with the same status', async () => {
    const agent = dial('ws-a', 'bad-token');
    const status = await new Promise<number>((r) =>
      agent.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it('refuses a bad workspace id and forgets a socket on unlisten', async () => {
    await expect(relay.listen('../etc')).rejects.toThrow(/bad workspace id/);
    await relay.unlisten('ws-a');
    const agent = dial('ws-a', 'good-token');
    const err = await new Promise<NodeJS.ErrnoException>((r) => agent.once('error', r));
    expect(err.code).toBe('ENOENT');
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
