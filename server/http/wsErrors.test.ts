// An error on an upgraded socket carries the HTTP envelope's code and message, over a real
// WebSocket on loopback.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RPC_APP_ERROR } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import { DriverError } from '../drivers/runtimeDriver.js';
import { toErrorResponse } from './errors.js';
import { sendWsError, WS_INTERNAL_ERROR } from './wsErrors.js';

describe('sendWsError', () => {
  let wss: WebSocketServer | undefined;
  afterEach(() => wss?.close());

  /** Connects a client and runs `serve` on the server's end; resolves with what the client saw. */
  const exchange = async (serve: (socket: WebSocket) => void) => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', serve);
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const frames: unknown[] = [];
    client.on('message', (data) => frames.push(JSON.parse(String(data))));
    const [code, reason] = (await once(client, 'close')) as [number, Buffer];
    return { frames, code, reason: reason.toString() };
  };

  it('sends the code and message of the HTTP envelope, then closes as asked', async () => {
    const err = new RpcError(RPC_APP_ERROR, 'no such directory: src', 'not_found');
    const seen = await exchange((socket) =>
      sendWsError(socket, err, { close: { code: WS_INTERNAL_ERROR, reason: 'watch failed' } }),
    );
    const http = toErrorResponse(err).body.error;
    expect(seen.frames).toEqual([{ type: 'error', code: http.code, message: http.message }]);
    expect(seen.frames).toEqual([{ type: 'error', code: 'not_found', message: 'No such directory: src.' }]);
    expect(seen).toMatchObject({ code: WS_INTERNAL_ERROR, reason: 'watch failed' });
  });

  it('a driver error keeps its user message; an unknown one says nothing of the insides and is logged', async () => {
    const logged: unknown[] = [];
    const log = { error: (o: unknown) => logged.push(o) } as never;
    const seen = await exchange((socket) => {
      sendWsError(
        socket,
        new DriverError({ reason: 'unavailable', userMessage: 'Docker is not answering.' }),
      );
      sendWsError(socket, new Error('ECONNREFUSED /var/run/secret.sock'), {
        log,
        context: { workspaceId: 'w1' },
        close: { code: WS_INTERNAL_ERROR, reason: 'failed' },
      });
    });
    expect(seen.frames).toEqual([
      { type: 'error', code: 'unavailable', message: 'Docker is not answering.' },
      {
        type: 'error',
        code: 'internal',
        message: 'Something went wrong on the server. The request id in the logs identifies it.',
      },
    ]);
    expect(logged).toEqual([expect.objectContaining({ workspaceId: 'w1' })]);
  });
});
