// followTask against a scripted server: a status read that fails the way a replica dying behind
// the load balancer makes it fail (502, 503 from the load balancer) is tried again at the next
// poll instead of ending the follow; a refusal (404) still ends it at once, and so do failures
// that go on.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Task, TaskEvent } from '../sdk/taskWire.js';
import { followTask } from './taskFollow.js';

const ID = 'task-1';

function task(status: Task['status'], lastSeq: number): Task {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: ID,
    ownerId: 'user-1',
    workspaceId: 'ws-1',
    repository: 'https://git.example/app.git',
    prompt: 'go',
    model: null,
    permissionMode: 'default',
    maxTurns: null,
    maxBudgetUsd: null,
    status,
    statusReason: null,
    sessionId: null,
    lastSeq,
    turns: 1,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    durationMs: 0,
    pendingApprovals: 0,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: status === 'succeeded' ? at : null,
    priority: 'normal',
    queue: null,
  };
}

function frame(seq: number, type: string): string {
  const e: TaskEvent = { seq, type, payload: { n: seq }, createdAt: '2026-01-01T00:00:00.000Z' };
  return `id: ${seq}\nevent: task_event\ndata: ${JSON.stringify(e)}\n\n`;
}

let server: http.Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
});

/**
 * Answers the n-th status read (from 1) with `reads(n)`: a status code with the load balancer's
 * HTML, or the task. The event stream sends seq 1, then seq 2 (the turn's result), and stays open.
 */
async function serve(
  reads: (n: number) => number | Task,
): Promise<{ client: NodeApiClient; reads: () => number }> {
  let n = 0;
  server = http.createServer((req, res) => {
    if (req.url?.startsWith(`/api/v1/tasks/${ID}/events`)) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.write(frame(1, 'assistant'));
      setTimeout(() => res.write(frame(2, 'result')), 50);
      return;
    }
    n += 1;
    const answer = reads(n);
    if (typeof answer === 'number') {
      res.writeHead(answer, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>${answer} Bad Gateway</h1></body></html>`);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    }
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { client: new NodeApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't0k' }), reads: () => n };
}

describe('followTask', () => {
  it('reads the status again after a 502 and a 503 from the load balancer, and ends as the task did', async () => {
    const { client, reads } = await serve((n) =>
      n === 1 ? task('running', 1) : n === 2 ? 502 : n === 3 ? 503 : task('succeeded', 2),
    );
    const seen: number[] = [];
    const end = await followTask(client, ID, 0, { onEvent: (e) => seen.push(e.seq) });
    expect(end.status).toBe('succeeded');
    expect(seen).toEqual([1, 2]);
    expect(reads()).toBeGreaterThanOrEqual(4);
  }, 15_000);

  it('ends at once on a refusal, and after five failed reads in a row', async () => {
    const refused = await serve((n) => (n === 1 ? task('running', 1) : 404));
    await expect(followTask(refused.client, ID, 0, { onEvent: () => {} })).rejects.toMatchObject({
      status: 404,
    });
    expect(refused.reads()).toBe(2);
    server?.closeAllConnections();
    server?.close();
    const down = await serve((n) => (n === 1 ? task('running', 1) : 502));
    await expect(followTask(down.client, ID, 0, { onEvent: () => {} })).rejects.toMatchObject({
      status: 502,
    });
    // The read after the result fails too, but only the poller's own five in a row end it.
    expect(down.reads()).toBe(7);
  }, 20_000);
});
