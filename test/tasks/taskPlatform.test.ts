// Tasks and the platform around them: keys (the user's own first, never inside the workspace),
// budgets, raw lines in the log, and live delivery over SSE and WebSocket with no gap and no
// duplicate. Real claude CLI, real local driver, the scripted stub upstream.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WORKSPACE_API_KEY_PLACEHOLDER } from '../../sdk/agentProtocol.js';
import type { Task, TaskEvent, TaskUsageFrame } from '../../sdk/taskWire.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, kitTaskApi } from '../support/taskApi.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-platform-key-0123456789';
const USER_KEY = 'sk-ant-user-own-key-9876543210abcdef';

describe('tasks and the platform', () => {
  let k: WorkspaceKit;
  let stub: ModelStub;
  let base: string;
  beforeAll(async () => {
    stub = await startModelStub({
      scenarios: {
        hello: { turns: [{ content: [{ type: 'text', text: 'Hello there.' }] }] },
        spend: {
          turns: [
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/spent.txt', content: 'x\n' },
                },
              ],
              usage: { input_tokens: 200_000, output_tokens: 50_000 },
            },
            { content: [{ type: 'text', text: 'never reached' }] },
          ],
        },
        hang: { turns: [{ delayMs: 60_000, content: [{ type: 'text', text: 'too late' }] }] },
        stream: {
          turns: [{ content: [{ type: 'text', text: 'streaming '.repeat(60) }], chunkDelayMs: 20 }],
        },
      },
    });
    k = await startWorkspaceKit({ flags: { 'gateway.upstream': stub.url, 'claude.apiKey': ORG_KEY } });
    base = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });

  const { api, until } = kitTaskApi(() => k);

  it('uses the organisation key, never lets it into the workspace, and prefers the user’s own key', async () => {
    const first = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] hi',
    });
    expect((await until(first.id, finished)).status).toBe('succeeded');
    expect(stub.requests.filter((r) => r.scenario === 'hello').map((r) => r.apiKey)).toEqual([ORG_KEY]);
    // Search the workspace's processes, environment and files for the key. The key is passed in
    // two halves so that the searching process's own command line does not contain it.
    const found = await k.exec(first.workspaceId as string, [
      'node',
      '-e',
      FIND_KEY,
      ORG_KEY.slice(0, 12),
      ORG_KEY.slice(12),
    ]);
    expect(found.stderr).toBe('');
    expect(found.stdout.trim()).toBe('hits: 0');
    // The same search does find the placeholder the workspace's claude process holds instead.
    const p = WORKSPACE_API_KEY_PLACEHOLDER;
    const control = await k.exec(first.workspaceId as string, [
      'node',
      '-e',
      FIND_KEY,
      p.slice(0, 12),
      p.slice(12),
    ]);
    expect(control.stdout.trim()).not.toBe('hits: 0');

    const saved = await api<{ last4: string }>('PUT', '/api/v1/me/secrets/anthropic-api-key', {
      value: USER_KEY,
    });
    expect(saved.last4).toBe(USER_KEY.slice(-4));
    expect(JSON.stringify(await api('GET', '/api/v1/me/secrets'))).not.toContain(USER_KEY.slice(0, 20));
    await api('POST', `/api/v1/tasks/${first.id}/messages`, { text: 'again' });
    await until(first.id, (t) => t.status === 'succeeded' && t.turns > 1);
    expect(stub.requests.filter((r) => r.scenario === 'hello').at(-1)?.apiKey).toBe(USER_KEY);
    await k.t.app.inject({
      method: 'DELETE',
      url: '/api/v1/me/secrets/anthropic-api-key',
      headers: { authorization: k.auth },
    });
  });

  it('runs one task at a time per workspace; the next waits visibly as queued', async () => {
    const a = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:stream] first',
    });
    const b = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] second',
    });
    expect(b.workspaceId).toBe(a.workspaceId);
    await until(a.id, (t) => t.status === 'running');
    const waiting = await api<Task>('GET', `/api/v1/tasks/${b.id}`);
    expect(waiting.status).toBe('queued');
    expect(waiting.statusReason).toMatch(/waiting/i);
    const doneA = await until(a.id, finished);
    const doneB = await until(b.id, finished);
    expect([doneA.status, doneB.status]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(doneB.startedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(doneA.finishedAt as string),
    );

    // B's start ended A's idle process; a follow-up to A resumes its session with --resume.
    const before = stub.requests.length;
    await api('POST', `/api/v1/tasks/${a.id}/messages`, { text: 'and after that?' });
    const resumed = await until(a.id, (t) => t.status === 'succeeded' && t.turns > doneA.turns);
    const call = stub.requests.slice(before).find((r) => r.main && r.scenario === 'stream');
    expect(JSON.stringify(call?.body)).toContain('[scenario:stream] first');
    const log = (await api<{ items: TaskEvent[] }>('GET', `/api/v1/tasks/${a.id}/events?limit=1000`)).items;
    expect(log.filter((e) => e.type === 'rc_exit')).toHaveLength(1);
    const sessions = new Set(
      log.filter((e) => e.type === 'system').map((e) => (e.payload as { session_id?: string }).session_id),
    );
    expect(sessions).toEqual(new Set([resumed.sessionId]));
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  });

  it('a workspace that dies mid-turn fails the turn with the reason', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('other'),
      prompt: '[scenario:hang] wait',
    });
    await until(task.id, (t) => t.status === 'running');
    const deadline = Date.now() + 30_000;
    while (!stub.requests.some((r) => r.scenario === 'hang') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const row = await k.t.services.workspaces.byId(task.workspaceId as string);
    await k.t.services.runtime.driver.stop(JSON.parse(row?.runtime_ref ?? '{}'), { graceSeconds: 0 });
    await k.t.services.runtime.reconciler.runOnce();
    const failed = await until(task.id, finished);
    expect(failed.status).toBe('failed');
    // Reconcile starts the stopped box again; the turn that was running in it is over.
    expect(failed.statusReason).toMatch(/workspace (failed|restarted) during this turn/i);
  });

  it('stops a task whose budget is spent, saying so plainly', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:spend] write',
      permissionMode: 'acceptEdits',
      maxBudgetUsd: 0.01,
    });
    const done = await until(task.id, finished, 90_000);
    expect(done.status).toBe('failed');
    expect(done.statusReason).toMatch(/budget/i);
    expect(done.costUsd).toBeGreaterThan(0.01);
    expect(stub.requests.filter((r) => r.scenario === 'spend' && r.main).length).toBe(1);
    const usage = await api<{ items: { key: string | null; costUsd: number }[] }>(
      'GET',
      '/api/v1/usage?groupBy=task',
    );
    expect(usage.items.find((i) => i.key === task.id)?.costUsd).toBeCloseTo(done.costUsd, 6);
  });

  it('keeps a line that is not JSON, or of an unknown type, raw in the log', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] hi',
    });
    const done = await until(task.id, finished);
    const ws = task.workspaceId as string;
    const hub = k.t.services.runtime.hub;
    hub.emit('notification', ws, 'task.event', {
      taskId: task.id,
      seq: done.lastSeq + 1,
      line: 'Segmentation fault (not JSON)',
    });
    hub.emit('notification', ws, 'task.event', {
      taskId: task.id,
      seq: done.lastSeq + 2,
      line: '{"type":"from_the_future","x":1}',
    });
    await k.t.services.runtime.ingest.drained(task.id);
    const page = await api<{ items: TaskEvent[] }>(
      'GET',
      `/api/v1/tasks/${task.id}/events?after=${done.lastSeq}`,
    );
    expect(page.items).toMatchObject([
      { seq: done.lastSeq + 1, type: 'raw', payload: { raw: 'Segmentation fault (not JSON)' } },
      { seq: done.lastSeq + 2, type: 'unknown', payload: { type: 'from_the_future', x: 1 } },
    ]);
  });

  it('a late viewer gets history then the live tail over SSE and WebSocket, each seq once', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:stream] go',
    });
    await until(task.id, (t) => t.lastSeq >= 1);
    const sse = collectSse(`${base}/api/v1/tasks/${task.id}/events`, k.auth);
    const ws = collectWs(`${base.replace('http', 'ws')}/api/v1/tasks/${task.id}/events?after=0`, k.auth);
    const done = await until(task.id, finished);
    const deadline = Date.now() + 10_000;
    while ((sse.seqs.at(-1) !== done.lastSeq || ws.seqs.at(-1) !== done.lastSeq) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    sse.stop();
    ws.stop();
    const expected = Array.from({ length: done.lastSeq }, (_, i) => i + 1);
    expect(sse.seqs).toEqual(expected);
    expect(ws.seqs).toEqual(expected);
    // Between the events, the task's cost as the gateway metered its requests.
    for (const viewer of [sse, ws]) {
      expect(viewer.usage.at(-1)).toMatchObject({ type: 'usage', taskId: task.id });
      expect(viewer.usage.at(-1)?.costUsd).toBeCloseTo(done.costUsd, 9);
    }
  });
});

/** Runs inside the workspace: counts places holding argv[1]+argv[2] in /proc and the writable dirs. */
const FIND_KEY = `
const fs = require('fs');
const key = process.argv[1] + process.argv[2];
let hits = 0;
for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
  for (const f of ['environ', 'cmdline']) {
    try { if (fs.readFileSync('/proc/' + pid + '/' + f).includes(key)) hits++; } catch {}
  }
}
const walk = (dir) => {
  let entries = [];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = dir + '/' + e.name;
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) { try { if (fs.readFileSync(p).includes(key)) hits++; } catch {} }
  }
};
for (const d of ['/workspace', '/home', '/tmp']) walk(d);
console.log('hits: ' + hits);
`;

function collectSse(url: string, auth: string) {
  const seqs: number[] = [];
  const usage: TaskUsageFrame[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, {
      headers: { authorization: auth, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += Buffer.from(value).toString('utf8');
      let i = buf.indexOf('\n\n');
      while (i >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data && block.includes('event: task_usage')) usage.push(JSON.parse(data.slice(6)));
        else if (data) seqs.push((JSON.parse(data.slice(6)) as TaskEvent).seq);
        i = buf.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  return { seqs, usage, stop: () => abort.abort() };
}

function collectWs(url: string, auth: string) {
  const seqs: number[] = [];
  const usage: TaskUsageFrame[] = [];
  const ws = new WebSocket(url, { headers: { authorization: auth } });
  ws.on('message', (d) => {
    const frame = JSON.parse(d.toString()) as TaskEvent | TaskUsageFrame;
    if ('seq' in frame) seqs.push(frame.seq);
    else usage.push(frame);
  });
  return { seqs, usage, stop: () => ws.close() };
}
