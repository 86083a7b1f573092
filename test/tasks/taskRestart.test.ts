// `kill -9` of the control plane in the middle of a task: the workspace and its claude process
// keep running, the agent keeps the events it could not deliver, and after a restart the task
// completes with every seq from 1 to N in its log exactly once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { type KillableServe, startKillableServe } from '../support/killableServe.js';

describe('control-plane kill -9 during a task', () => {
  let k: KillableServe;

  beforeAll(async () => {
    k = await startKillableServe({
      orgKey: 'sk-ant-org-restart-key-0123456789',
      scenarios: {
        long: {
          turns: [
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/one.txt', content: '1\n' },
                },
              ],
            },
            // Held by the stub while the control plane is killed and restarted.
            {
              delayMs: 2500,
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/two.txt', content: '2\n' },
                },
              ],
            },
            { content: [{ type: 'text', text: 'Both written after the restart.' }] },
          ],
        },
      },
    });
  }, 180_000);
  afterAll(async () => {
    await k?.close();
  });

  it('completes the task with every event exactly once', async () => {
    const task = await k.api<Task>('POST', '/api/v1/tasks', {
      repository: k.git.url('app'),
      prompt: '[scenario:long] write two files',
      permissionMode: 'acceptEdits',
    });
    const deadline = Date.now() + 60_000;
    while (!k.stub.requests.some((r) => r.scenario === 'long' && r.turn === 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(k.stub.requests.some((r) => r.scenario === 'long' && r.turn === 1)).toBe(true);
    await k.killAndBoot();

    let t = await k.api<Task>('GET', `/api/v1/tasks/${task.id}`);
    const until = Date.now() + 90_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(t.status) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      t = await k.api<Task>('GET', `/api/v1/tasks/${task.id}`);
    }
    expect(t.status, t.statusReason ?? '').toBe('succeeded');
    const { items } = await k.api<{ items: TaskEvent[] }>(
      'GET',
      `/api/v1/tasks/${task.id}/events?limit=1000`,
    );
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: t.lastSeq }, (_, i) => i + 1));
    expect(items.filter((e) => e.type === 'result')).toHaveLength(1);
    const two = await fetch(`${k.url}/api/v1/workspaces/${task.workspaceId}/files/two.txt`, {
      headers: { authorization: `Bearer ${k.token}` },
    });
    expect(await two.text()).toBe('2\n');
    await k.stop();
  });
});
