// Slow and stalled clients, over raw sockets against a listening app with small timeouts: each
// is answered (408) or cut off within its timeout, and streams are not.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../../test/support/rawHttp.js';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { serverTimeouts } from './serverTimeouts.js';

const expect408 = (res: Awaited<ReturnType<typeof rawExchange>>) => {
  expect(res.status, res.text).toBe(408);
  expect(res.json).toMatchObject({ error: { code: 'request_timeout' } });
  expect(res.closedByServer).toBe(true);
};

async function listen(flags: Record<string, unknown>): Promise<{ t: TestApp; port: number }> {
  const t = await createTestApp('sqlite', { flags });
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, port: Number(new URL(url).port) };
}

describe('server.headersTimeout and server.requestTimeout', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    ({ t, port } = await listen({ 'server.headersTimeout': 1, 'server.requestTimeout': 2 }));
  });
  afterAll(() => t.close());

  it('headers that never end → 408 after about headersTimeout', async () => {
    const res = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 10_000);
    expect408(res);
    expect(res.elapsedMs).toBeGreaterThan(900);
    expect(res.elapsedMs).toBeLessThan(5000);
  });

  it('a body promised and never sent → 408 after about requestTimeout', async () => {
    const res = await rawExchange(
      port,
      'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
      10_000,
    );
    expect408(res);
    expect(res.elapsedMs).toBeGreaterThan(1900);
    expect(res.elapsedMs).toBeLessThan(6000);
  });

  it('a body trickled a byte at a time, never idle, is still cut at requestTimeout', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.write(
      'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    const started = performance.now();
    let text = '';
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', () => undefined);
    await new Promise((r) => socket.on('close', r));
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(performance.now() - started).toBeLessThan(6000);
  });

  it('headersTimeout longer than requestTimeout is refused at load, naming the key', async () => {
    await expect(
      createTestApp('sqlite', { flags: { 'server.headersTimeout': 30, 'server.requestTimeout': 10 } }),
    ).rejects.toThrow(/server\.headersTimeout.*requestTimeout/s);
  });
});

describe('server.idleTimeout', () => {
  let t: TestApp;
  let port: number;
  let auth: string;
  let taskId: string;
  beforeAll(async () => {
    ({ t, port } = await listen({ 'server.idleTimeout': 1 }));
    const owner = await t.user('member');
    auth = await t.bearer(owner);
    taskId = await createTaskRow(t, owner.id);
  });
  afterAll(() => t.close());

  it('closes a connection idle mid-body after about idleTimeout, while an event stream stays open', async () => {
    // The stream first: if the idle timeout reached it, it would close during the stall below.
    const stream = net.connect(port, '127.0.0.1');
    stream.write(
      `GET /api/v1/tasks/${taskId}/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    let streamText = '';
    let streamClosed = false;
    stream.on('data', (d) => {
      streamText += d;
    });
    stream.on('close', () => {
      streamClosed = true;
    });
    const stalled = await rawExchange(
      port,
      'PUT /api/v1/teams/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      10_000,
    );
    expect(stalled.closedByServer).toBe(true);
    expect(stalled.elapsedMs).toBeGreaterThan(900);
    expect(stalled.elapsedMs).toBeLessThan(5000);
    // Twice the idle timeout again, measured from the stall's end: the quiet stream is still up.
    const second = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.slice(0, 20), 10_000);
    expect(second.closedByServer).toBe(true);
    expect(streamText).toMatch(/^HTTP\/1\.1 200 /);
    expect(streamText).toContain('text/event-stream');
    expect(streamClosed).toBe(false);
    stream.destroy();
  });
});

describe('serverTimeouts', () => {
  it('hands Node both timeouts and checks for late requests often enough', () => {
    expect(serverTimeouts({ headersTimeout: 60, requestTimeout: 300, idleTimeout: 120 })).toEqual({
      requestTimeout: 300_000,
      connectionTimeout: 120_000,
      http: { headersTimeout: 60_000, requestTimeout: 300_000, connectionsCheckingInterval: 15_000 },
    });
    expect(serverTimeouts({ headersTimeout: 1, requestTimeout: 2, idleTimeout: 1 }).http).toMatchObject({
      connectionsCheckingInterval: 250,
    });
  });
});
