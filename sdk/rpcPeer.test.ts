import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { opError, RpcError, RpcPeer } from './rpcPeer.js';

describe('RpcPeer', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  const connect = async (
    handlers: Record<string, { params: z.ZodType; handle(p: never): Promise<unknown> }> = {},
  ) => {
    const dir = mkdtempSync('/tmp/rc-rpc-');
    const path = join(dir, 's.sock');
    const { createServer } = await import('node:http');
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    await new Promise<void>((r) => http.listen(path, r));
    const serverPeer = new Promise<RpcPeer>((resolve) =>
      wss.on('connection', (ws) => resolve(new RpcPeer(ws, { parity: 'even', handlers }))),
    );
    const errors: string[] = [];
    const ws = new WebSocket(`ws+unix://${path}:/`);
    await new Promise((r) => ws.once('open', r));
    const client = new RpcPeer(ws, { parity: 'odd', onProtocolError: (m) => errors.push(m) });
    const server = await serverPeer;
    cleanups.push(() => {
      ws.terminate();
      wss.close();
      http.close();
    });
    return { client, server, ws, errors };
  };

  it('answers requests, validates params and carries error reasons', async () => {
    const { client } = await connect({
      add: {
        params: z.object({ a: z.number(), b: z.number() }),
        handle: async (p: { a: number; b: number }) => ({ sum: p.a + p.b }),
      },
      fail: {
        params: z.object({}),
        handle: async () => Promise.reject(opError('not_found', 'no such thing')),
      },
    });
    expect(await client.request('add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    await expect(client.request('add', { a: 'x' })).rejects.toThrow(/a: /);
    const err = (await client.request('fail', {}).catch((e) => e)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.reason).toBe('not_found');
    await expect(client.request('nope', {})).rejects.toThrow(/no method nope/);
  });

  it('sends what a corked burst sends in one write to the socket, each message intact and in order', async () => {
    const got: number[] = [];
    const { client, server } = await connect();
    const received = new Promise<void>((resolve) => {
      client.ws.on('message', (d: Buffer) => {
        got.push((JSON.parse(d.toString()) as { params: { n: number } }).params.n);
        if (got.length === 100) resolve();
      });
    });
    const socket = (server.ws as unknown as { _socket: { _writev: unknown; _write: unknown } })._socket;
    let writes = 0;
    for (const m of ['_writev', '_write'] as const) {
      const original = socket[m] as (...a: unknown[]) => unknown;
      socket[m] = (...a: unknown[]) => {
        writes++;
        return original.apply(socket, a);
      };
    }
    server.corked(() => {
      for (let n = 0; n < 100; n++) server.notify('burst', { n });
    });
    await received;
    expect(got).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(writes).toBe(1);
  });

  it('times out a request nobody answers, and fails pending ones when the socket closes', async () => {
    const { client, ws } = await connect({
      slow: { params: z.object({}), handle: () => new Promise(() => {}) },
    });
    const timed = (await client.request('slow', {}, { timeoutMs: 50 }).catch((e) => e)) as RpcError;
    expect(timed.reason).toBe('timeout');
    const pending = client.request('slow', {}, { timeoutMs: 0 });
    ws.terminate();
    await expect(pending).rejects.toThrow(/closed|failed/);
  });

  it('carries channel bytes both ways, half-closes, and passes a close error', async () => {
    const { client, server } = await connect();
    const ch = client.openChannel();
    expect(ch.id % 2).toBe(1);
    const far = server.channel(ch.id);
    const got: Buffer[] = [];
    far.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise((r) => far.on('end', r));
    ch.end(Buffer.alloc(200_000, 9));
    await ended;
    expect(Buffer.concat(got).equals(Buffer.alloc(200_000, 9))).toBe(true);
    const back = server.openChannel();
    expect(back.id % 2).toBe(0);
    const near = client.channel(back.id);
    const failed = new Promise<Error>((r) => near.once('error', r));
    back.destroy(new Error('disk full'));
    expect((await failed).message).toBe('disk full');
  });

  it('closes the connection on a frame that breaks the protocol', async () => {
    const { server, errors, ws } = await connect();
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    server.ws.send('{"jsonrpc":"1.0"}');
    expect(await closed).toBe(1008);
    expect(errors[0]).toMatch(/JSON-RPC/);
  });

  it.each([
    '{"jsonrpc":"2.0","method":"x","params":{},"extra":1}',
    '{"jsonrpc":"2.0","method":""}',
    `{"jsonrpc":"2.0","method":"${'m'.repeat(65)}"}`,
    '{"jsonrpc":"2.0","method":7}',
    '[{"jsonrpc":"2.0","method":"x"}]',
  ])('refuses a notification that is not one: %s', async (frame) => {
    const { server, errors, ws } = await connect();
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    server.ws.send(frame);
    expect(await closed).toBe(1008);
    expect(errors[0]).toMatch(/JSON-RPC/);
  });

  it('passes on a notification with or without params', async () => {
    const { client, server } = await connect();
    const got: [string, unknown][] = [];
    const peer = new RpcPeer(client.ws, { parity: 'odd', onNotification: (m, p) => got.push([m, p]) });
    server.ws.send('{"jsonrpc":"2.0","method":"a","params":{"n":1}}');
    server.ws.send('{"params":[2],"method":"b","jsonrpc":"2.0"}');
    server.ws.send('{"jsonrpc":"2.0","method":"c"}');
    await expect.poll(() => got.length).toBe(3);
    expect(got).toEqual([
      ['a', { n: 1 }],
      ['b', [2]],
      ['c', undefined],
    ]);
    peer.close(1000, 'done');
  });
});
