// ApiClient.followTaskEvents against a scripted SSE server: resuming a dropped stream from the
// last seq, giving up when the resumed one drops too, refusals, and stopping.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../taskWire.js';
import { ApiError } from './apiError.js';
import { NodeApiClient as ApiClient } from './nodeApiClient.js';

type Script = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

let server: http.Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
});

/** A server answering the n-th request (from 1) with `script`; returns a client for it. */
async function serve(script: Script): Promise<{ client: ApiClient; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  server = http.createServer((req, res) => {
    requests.push(req);
    script(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { client: new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't0k' }), requests };
}

function sse(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  res.write(': remote-claude task events\n\n');
}

function frame(seq: number): string {
  const e: TaskEvent = { seq, type: 'assistant', payload: { n: seq }, createdAt: '2026-01-01T00:00:00.000Z' };
  return `id: ${seq}\nevent: task_event\ndata: ${JSON.stringify(e)}\n\n`;
}

describe('ApiClient.followTaskEvents', () => {
  it('resumes a dropped stream from the last seq once, and throws when the resumed one drops bare', async () => {
    const { client, requests } = await serve((_req, res, n) => {
      sse(res);
      if (n === 1) {
        const two = frame(2);
        res.write(frame(1) + two.slice(0, 10));
        // The rest of seq 2 arrives in a later packet, and then the connection breaks mid-response.
        setTimeout(() => res.write(two.slice(10), () => res.socket?.destroy()), 20);
      } else if (n === 2) res.end(frame(2) + frame(3));
      else res.end(': nothing more\n\n');
    });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const e of client.tasks.follow('task-1', { after: 0 })) seen.push(e.seq);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 2, 3]);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'stream_dropped' });
    expect(requests.map((r) => [r.url, r.headers['last-event-id']])).toEqual([
      ['/api/v1/tasks/task-1/events?after=0', undefined],
      ['/api/v1/tasks/task-1/events?after=2', '2'],
      ['/api/v1/tasks/task-1/events?after=3', '3'],
    ]);
    expect(requests[0]?.headers).toMatchObject({ accept: 'text/event-stream', authorization: 'Bearer t0k' });
  });

  it('throws the server refusal as an ApiError at once', async () => {
    const { client, requests } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'The task was not found.' } }));
    });
    const iterator = client.tasks.follow('nope');
    await expect(iterator.next()).rejects.toMatchObject({ status: 404, message: 'The task was not found.' });
    expect(requests).toHaveLength(1);
  });

  it('throws an `event: error` frame (signed out while following) as an ApiError, without resuming', async () => {
    const message = 'You were signed out; sign in again.';
    const { client, requests } = await serve((_req, res) => {
      sse(res);
      res.end(
        `${frame(1)}event: error\ndata: ${JSON.stringify({ error: { code: 'unauthorized', message } })}\n\n`,
      );
    });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const e of client.tasks.follow('t')) seen.push(e.seq);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1]);
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', message });
    expect(requests).toHaveLength(1);
  });

  it('reopens at once from the last seq, however often, when the server ends with task_resume', async () => {
    const resume = (after: number) => `event: task_resume\ndata: {"after":${after}}\n\n`;
    const { client, requests } = await serve((_req, res, n) => {
      sse(res);
      // Cut off three times in a row: each would count as a drop after resuming, were it one.
      if (n <= 3) res.end(frame(n) + resume(n));
      else res.end(frame(4) + frame(5));
    });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const e of client.tasks.follow('t')) seen.push(e.seq);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(requests.map((r) => r.url)).toEqual([
      '/api/v1/tasks/t/events?after=0',
      '/api/v1/tasks/t/events?after=1',
      '/api/v1/tasks/t/events?after=2',
      '/api/v1/tasks/t/events?after=3',
      '/api/v1/tasks/t/events?after=5',
    ]);
    expect(err).toMatchObject({ code: 'stream_dropped' });
  });

  it('ends quietly on abort, and closes the connection when the loop is left', async () => {
    let closed = 0;
    const { client } = await serve((req, res) => {
      sse(res);
      res.write(frame(1));
      req.socket.on('close', () => {
        closed += 1;
      });
    });
    const stop = new AbortController();
    const seen: number[] = [];
    for await (const e of client.tasks.follow('t', { signal: stop.signal })) {
      seen.push(e.seq);
      stop.abort();
    }
    expect(seen).toEqual([1]);
    for await (const _ of client.tasks.follow('t')) break;
    await expect.poll(() => closed).toBe(2);
  });

  it('says so when the server cannot be reached', async () => {
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:1', token: 't' });
    await expect(client.tasks.follow('t').next()).rejects.toMatchObject({ code: 'unreachable' });
  });
});
