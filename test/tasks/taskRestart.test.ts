// `kill -9` of the control plane in the middle of a task: the workspace and its claude process
// keep running, the agent keeps the events it could not deliver, and after a restart the task
// completes with every seq from 1 to N in its log exactly once.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { LocalDriver } from '../../server/drivers/local/localDriver.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { type GitHttpServer, startGitHttpServer } from '../support/gitHttpServer.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { type ServeChild, startServe } from '../support/rclaude.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { TEST_REPOS } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-restart-key-0123456789';
const PASSWORD = 'a password that is long enough';

describe('control-plane kill -9 during a task', () => {
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
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    await ensureBuilt();
    home = mkdtempSync('/tmp/rc-tr-');
    git = await startGitHttpServer({ repos: TEST_REPOS });
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
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
      body: JSON.stringify({ name: 'restart' }),
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

  it('completes the task with every event exactly once', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: git.url('app'),
      prompt: '[scenario:long] write two files',
      permissionMode: 'acceptEdits',
    });
    const deadline = Date.now() + 60_000;
    while (!stub.requests.some((r) => r.scenario === 'long' && r.turn === 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stub.requests.some((r) => r.scenario === 'long' && r.turn === 1)).toBe(true);
    serve?.child.kill('SIGKILL');
    await new Promise((r) => serve?.child.once('exit', r));
    await boot();

    let t = await api<Task>('GET', `/api/v1/tasks/${task.id}`);
    const until = Date.now() + 90_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(t.status) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      t = await api<Task>('GET', `/api/v1/tasks/${task.id}`);
    }
    expect(t.status, t.statusReason ?? '').toBe('succeeded');
    const { items } = await api<{ items: TaskEvent[] }>('GET', `/api/v1/tasks/${task.id}/events?limit=1000`);
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: t.lastSeq }, (_, i) => i + 1));
    expect(items.filter((e) => e.type === 'result')).toHaveLength(1);
    const two = await fetch(`${url}/api/v1/workspaces/${task.workspaceId}/files/two.txt`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await two.text()).toBe('2\n');
    await serve?.stop();
  });
});
