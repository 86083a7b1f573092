// `kill -9` of the control plane with 20 tasks in the queue: the queue lives in the store, so the
// restarted server shows the same 20 tasks in the same order with the same reasons, and once the
// task holding them is cancelled each of them runs exactly once. A real `rclaude serve`, the local
// driver, the real claude CLI and the scripted stub upstream.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueList } from '../../sdk/schedulerWire.js';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { LocalDriver } from '../../server/drivers/local/localDriver.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { type GitHttpServer, startGitHttpServer } from '../support/gitHttpServer.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { type ServeChild, startServe } from '../support/rclaude.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { TEST_REPOS } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-queue-restart-key-0123456789';
const PASSWORD = 'a password that is long enough';
const QUEUED = 20;
// Two workspaces: the local node has room for two of 1 CPU on a 2-core test machine.
const REPOS = ['app', 'other'] as const;
const finished = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);

describe('control-plane kill -9 with 20 tasks queued', () => {
  let home: string;
  let git: GitHttpServer;
  let stub: ModelStub;
  let serve: ServeChild | undefined;
  let url: string;
  let token: string;

  const boot = async () => {
    serve = startServe(home, [], {
      RC_DATA_DIR: join(home, 'data'),
      RC_PORT: '0',
      RC_ADMIN_EMAIL: 'admin@example.test',
      RC_ADMIN_PASSWORD: PASSWORD,
      RC_EGRESS_ALLOW: `127.0.0.1:${git.port}`,
      RC_ANTHROPIC_UPSTREAM: stub.url,
      ANTHROPIC_API_KEY: ORG_KEY,
      RC_RUNTIME__LOCAL__CGROUP_PARENT: TEST_CGROUP_PARENT,
    });
    url = (await serve.until(/listening on (http:\/\/\S+)/))[1] as string;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : await res.json();
  };
  const api = <T>(method: string, path: string, body?: unknown) => call(method, path, body) as Promise<T>;
  /** Polls until `done` (real time; the server runs on the system clock). */
  async function poll<T>(get: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (done(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
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
    await ensureBuilt();
    home = mkdtempSync('/tmp/rc-qr-');
    git = await startGitHttpServer({ repos: TEST_REPOS });
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        // The task that holds the queue: its turn lasts until it is cancelled.
        hold: { turns: [{ delayMs: 180_000, content: [{ type: 'text', text: 'never reached' }] }] },
        hello: { turns: [{ content: [{ type: 'text', text: 'Hello.' }] }] },
      },
    });
    await boot();
    await serve?.until(/Created the first administrator/);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.test', password: PASSWORD }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const tok = await fetch(`${url}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'queue-restart' }),
    });
    token = ((await tok.json()) as { token: string }).token;
  }, 180_000);
  afterAll(async () => {
    serve?.child.kill('SIGKILL');
    if (!home) return;
    const d = new LocalDriver({
      dataDir: join(home, 'data'),
      nodePath: process.execPath,
      agentDir: defaultAgentDir(),
      cgroupParent: TEST_CGROUP_PARENT,
    });
    for (const ref of await d.list()) await d.remove(ref).catch(() => {});
    await git?.close();
    await stub?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('keeps the queue whole and in order, and runs each task once', async () => {
    const me = await api<{ user: { id: string } }>('GET', '/api/v1/me');
    await call('PUT', `/api/v1/quotas/users/${me.user.id}`, { maxConcurrentTasks: 1 });
    const hold = await api<Task>('POST', '/api/v1/tasks', {
      repository: git.url('app'),
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
          repository: git.url(REPOS[i % REPOS.length] as string),
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

    serve?.child.kill('SIGKILL');
    await new Promise((r) => serve?.child.once('exit', r));
    await boot();

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
    await call('DELETE', `/api/v1/quotas/users/${me.user.id}`);
    await call('POST', `/api/v1/tasks/${hold.id}/cancel`);
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
      const mains = stub.requests.filter(
        (r) => r.main && JSON.stringify(r.body).includes(`[scenario:hello] q${i}"`),
      );
      expect(mains, `q${i}`).toHaveLength(1);
    }
    expect((await queue()).entries).toEqual([]);
    await serve?.stop();
  }, 420_000);
});
