// `kill -9` of the control plane with 20 tasks in the queue: the queue lives in the store, so the
// restarted server shows the same 20 tasks in the same order with the same reasons, and once the
// task holding them is cancelled each of them runs exactly once. A real `rclaude serve`, the local
// driver, the real claude CLI and the scripted stub upstream.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueList } from '../../sdk/schedulerWire.js';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { type KillableServe, poll, startKillableServe } from '../support/killableServe.js';

const QUEUED = 20;
// Two workspaces: the local node has room for two of 1 CPU on a 2-core test machine.
const REPOS = ['app', 'other'] as const;
const finished = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);

describe('control-plane kill -9 with 20 tasks queued', () => {
  let k: KillableServe;
  const api = <T>(method: string, path: string, body?: unknown) => k.api<T>(method, path, body);
  const queue = () => api<QueueList>('GET', '/api/v1/queue?owner=all');
  /** The queue, once no entry waits for a workspace start or an agent (the settled picture). */
  const settledQueue = () =>
    poll(
      queue,
      (q) =>
        q.entries.length === QUEUED &&
        q.entries.every(
          (e) => e.reason.includes('concurrent tasks') || e.reason.includes('the task before it'),
        ),
      60_000,
    );

  beforeAll(async () => {
    k = await startKillableServe({
      orgKey: 'sk-ant-org-queue-restart-key-0123456789',
      scenarios: {
        // The task that holds the queue: its turn lasts until it is cancelled.
        hold: { turns: [{ delayMs: 180_000, content: [{ type: 'text', text: 'never reached' }] }] },
        hello: { turns: [{ content: [{ type: 'text', text: 'Hello.' }] }] },
      },
    });
  }, 180_000);
  afterAll(async () => {
    await k?.close();
  });

  it('keeps the queue whole and in order, and runs each task once', async () => {
    const me = await api<{ user: { id: string } }>('GET', '/api/v1/me');
    await api('PUT', `/api/v1/quotas/users/${me.user.id}`, { maxConcurrentTasks: 1 });
    const hold = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.git.url('app'),
      prompt: '[scenario:hold] hold the queue',
    });
    await poll(
      () => api<Task>('GET', `/api/v1/tasks/${hold.id}`),
      (t) => t.status === 'running',
      60_000,
    );

    // 20 tasks over two workspaces, of mixed priority (the admin may ask for high).
    const priorities = ['normal', 'low', 'high', 'normal'] as const;
    const created: Task[] = [];
    for (let i = 0; i < QUEUED; i++) {
      created.push(
        await api<Task>('POST', '/api/v1/tasks', {
          repository: k.git.url(REPOS[i % REPOS.length] as string),
          prompt: `[scenario:hello] q${i}`,
          priority: priorities[i % priorities.length],
        }),
      );
    }
    const before = await settledQueue();
    expect(new Set(before.entries.map((e) => e.taskId))).toEqual(new Set(created.map((t) => t.id)));
    expect(before.entries.map((e) => e.position)).toEqual(created.map((_, i) => i + 1));
    // high, then normal, then low.
    const rank = { high: 0, normal: 1, low: 2 };
    const ranks = before.entries.map((e) => rank[e.priority]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));

    await k.killAndBoot();

    const after = await settledQueue();
    const view = (q: QueueList) => q.entries.map((e) => [e.position, e.taskId, e.priority, e.reason]);
    expect(view(after)).toEqual(view(before));
    for (const t of created) {
      const now = await api<Task>('GET', `/api/v1/tasks/${t.id}`);
      expect(now.status).toBe('queued');
      expect(now.turns).toBe(0);
    }
    expect((await api<Task>('GET', `/api/v1/tasks/${hold.id}`)).status).toBe('running');

    // Lift the block: every queued task runs, once.
    await api('DELETE', `/api/v1/quotas/users/${me.user.id}`);
    await api('POST', `/api/v1/tasks/${hold.id}/cancel`);
    for (const t of created) {
      const done = await poll(() => api<Task>('GET', `/api/v1/tasks/${t.id}`), finished, 120_000);
      expect(done.status, done.statusReason ?? '').toBe('succeeded');
      expect(done.turns).toBe(1);
      const { items } = await api<{ items: TaskEvent[] }>('GET', `/api/v1/tasks/${t.id}/events?limit=1000`);
      const inits = items.filter(
        (e) => e.type === 'system' && (e.payload as { subtype?: string }).subtype === 'init',
      );
      expect(inits, `task ${t.id}`).toHaveLength(1);
      expect(
        items.filter((e) => e.type === 'result'),
        `task ${t.id}`,
      ).toHaveLength(1);
    }
    // Each prompt reached the model in one turn: one main request per task.
    for (let i = 0; i < QUEUED; i++) {
      const mains = k.stub.requests.filter(
        (r) => r.main && JSON.stringify(r.body).includes(`[scenario:hello] q${i}"`),
      );
      expect(mains, `q${i}`).toHaveLength(1);
    }
    expect((await queue()).entries).toEqual([]);
    await k.stop();
  }, 420_000);
});
