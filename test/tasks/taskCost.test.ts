// A task's cost and tokens as the model gateway meters them: they move during the turn, reach
// viewers as live usage frames, and end as the sum of the task's usage rows with nothing counted
// twice, a cancelled task's included; and a cancel expires the approval the turn waited on.
// Real claude CLI, real local driver, the scripted stub upstream, on both stores.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MODEL_PORT } from '../../sdk/agentProtocol.js';
import { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import type { Approval, Task, TaskUsageFrame } from '../../sdk/taskWire.js';
import type { UsageItem } from '../../sdk/usageWire.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, kitTaskApi } from '../support/taskApi.js';
import { engines } from '../support/testDb.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-cost-key-0123456789';

/** A Write (which the default mode asks about) between two metered model requests. */
const writeThenAnswer = (file: string) => ({
  turns: [
    {
      content: [
        {
          type: 'tool_use' as const,
          name: 'Write',
          input: { file_path: `/workspace/${file}`, content: 'x\n' },
        },
      ],
      usage: { input_tokens: 1000, output_tokens: 100 },
    },
    {
      content: [{ type: 'text' as const, text: 'Written.' }],
      usage: { input_tokens: 2000, output_tokens: 200 },
    },
  ],
});

describe.each(engines)('task cost on %s', (engine) => {
  let k: WorkspaceKit;
  let stub: ModelStub;
  let base: string;
  beforeAll(async () => {
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        metered: writeThenAnswer('metered.txt'),
        cancelled: writeThenAnswer('cancelled.txt'),
        // Answers long after the cancel has stopped the task's process (which takes at most 5 s).
        late: {
          turns: [
            {
              delayMs: 8000,
              content: [{ type: 'text', text: 'late' }],
              usage: { input_tokens: 5000, output_tokens: 500 },
            },
          ],
        },
      },
    });
    k = await startWorkspaceKit({
      engine,
      flags: { 'gateway.upstream': stub.url, 'claude.apiKey': ORG_KEY },
    });
    base = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });

  const { api, until } = kitTaskApi(() => k);
  const usageRows = async (taskId: string) =>
    (await api<{ items: UsageItem[] }>('GET', '/api/v1/usage?groupBy=task')).items.find(
      (i) => i.key === taskId,
    );

  it('moves cost and tokens while the turn waits, sends them live, and ends at the sum of the usage rows', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:metered] write',
    });
    const client = new NodeApiClient({ baseUrl: base, token: k.auth.replace(/^Bearer /, '') });
    const frames: TaskUsageFrame[] = [];
    const stop = new AbortController();
    const following = (async () => {
      for await (const _ of client.tasks.follow(task.id, {
        signal: stop.signal,
        onUsage: (f) => frames.push(f),
      })) {
        // Only the usage frames matter here.
      }
    })().catch(() => {});

    // The first model request is over and metered; the turn is not.
    const waiting = await until(task.id, (t) => t.status === 'waiting_for_approval');
    expect(waiting.costUsd).toBeGreaterThan(0);
    expect(waiting.inputTokens).toBeGreaterThanOrEqual(1000);
    expect(waiting.outputTokens).toBeGreaterThanOrEqual(100);
    const deadline = Date.now() + 10_000;
    while (frames.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(frames.at(-1)).toMatchObject({ type: 'usage', taskId: task.id });
    expect(frames.at(-1)?.costUsd).toBeGreaterThan(0);

    const [pending] = (
      await api<{ items: { id: string }[] }>('GET', `/api/v1/tasks/${task.id}/approvals?status=pending`)
    ).items;
    await api('POST', `/api/v1/tasks/${task.id}/approvals/${pending?.id}`, { decision: 'allow' });
    const done = await until(task.id, finished);
    expect(done.status, done.statusReason ?? '').toBe('succeeded');
    stop.abort();
    await following;

    expect(done.costUsd).toBeGreaterThan(waiting.costUsd);
    expect(done.inputTokens).toBeGreaterThanOrEqual(waiting.inputTokens + 2000);
    const rows = await usageRows(task.id);
    expect(rows?.requests).toBeGreaterThanOrEqual(2);
    expect(done.costUsd).toBeCloseTo(rows?.costUsd ?? -1, 9);
    expect(done.inputTokens).toBe(rows?.inputTokens);
    expect(done.outputTokens).toBe(rows?.outputTokens);
    expect(frames.at(-1)).toMatchObject({
      inputTokens: done.inputTokens,
      outputTokens: done.outputTokens,
    });
    expect(frames.at(-1)?.costUsd).toBeCloseTo(done.costUsd, 9);
  });

  it('a cancel expires the pending approval, and usage metered after it still counts', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:cancelled] write',
    });
    await until(task.id, (t) => t.status === 'waiting_for_approval');
    const [pending] = (
      await api<{ items: Approval[] }>('GET', `/api/v1/tasks/${task.id}/approvals?status=pending`)
    ).items;
    // A model request of the workspace that is under way when the cancel comes, as the last one
    // of a turn would be; it ends after the task's process has been stopped.
    const late = k.exec(
      task.workspaceId as string,
      ['node', '-e', LATE_REQUEST, String(AGENT_MODEL_PORT)],
      60_000,
    );
    const deadline = Date.now() + 20_000;
    while (!stub.requests.some((r) => r.scenario === 'late') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancelled = await api<Task>('POST', `/api/v1/tasks/${task.id}/cancel`);
    expect(cancelled).toMatchObject({ status: 'cancelled', pendingApprovals: 0 });

    const approvals = (await api<{ items: Approval[] }>('GET', `/api/v1/tasks/${task.id}/approvals`)).items;
    expect(approvals).toEqual([
      expect.objectContaining({
        id: pending?.id,
        status: 'expired',
        message: 'Task cancelled.',
        decidedBy: null,
      }),
    ]);
    expect(approvals[0]?.decidedAt).not.toBeNull();
    const expired = await api<{ items: Approval[] }>(
      'GET',
      `/api/v1/tasks/${task.id}/approvals?status=expired`,
    );
    expect(expired.items.map((a) => a.id)).toEqual([pending?.id]);
    const answer = await k.t.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${task.id}/approvals/${pending?.id}`,
      headers: { authorization: k.auth },
      payload: { decision: 'allow' },
    });
    expect(answer.statusCode).toBe(409);
    expect(answer.json()).toMatchObject({
      error: { code: 'approval_expired', message: 'The approval expired: Task cancelled.' },
    });

    const answered = await late;
    expect(answered.stdout).toMatch(/^200 /);
    await k.t.services.runtime.ingest.drained(task.id);
    const done = await until(task.id, (t) => t.inputTokens >= cancelled.inputTokens + 5000, 20_000);
    expect(done.status).toBe('cancelled');
    expect(done.costUsd).toBeGreaterThan(cancelled.costUsd);
    const rows = await usageRows(task.id);
    expect(done.costUsd).toBeCloseTo(rows?.costUsd ?? -1, 9);
    expect(done.inputTokens).toBe(rows?.inputTokens);
    expect(done.outputTokens).toBe(rows?.outputTokens);
  }, 60_000);
});

/** A Messages request to the workspace's model port (argv[1]); prints the status and the body. */
const LATE_REQUEST = `
const body = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  tools: [{ name: 'noop', description: 'nothing', input_schema: { type: 'object' } }],
  messages: [{ role: 'user', content: '[scenario:late] finish' }],
});
const req = require('http').request(
  { host: '127.0.0.1', port: Number(process.argv[1]), path: '/v1/messages', method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'placeholder' } },
  (res) => { let d = ''; res.on('data', (c) => (d += c)); res.on('end', () => console.log(res.statusCode + ' ' + d)); },
);
req.end(body);
`;
