// A task whose workspace has no node with room waits in the queue with the placement's sentence,
// instead of failing, and starts once room frees. Real local driver (its one node takes part in
// placement like any other), real claude CLI, the scripted model stub; the node holds one
// workspace (pooling.maxTasksPerInstance 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { ROOM_RETRY_MS } from '../../server/scheduler/scheduler.js';
import { nodeReport } from '../../server/workspaces/nodeReport.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, kitTaskApi } from '../support/taskApi.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-room-key-0123456789';

describe('a task waiting for a node with room', () => {
  let k: WorkspaceKit;
  let stub: ModelStub;
  beforeAll(async () => {
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: { hello: { turns: [{ content: [{ type: 'text', text: 'Hello there.' }] }] } },
    });
    k = await startWorkspaceKit({
      flags: {
        'gateway.upstream': stub.url,
        'claude.apiKey': ORG_KEY,
        'pooling.maxTasksPerInstance': 1,
      },
    });
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });

  const { api, until } = kitTaskApi(() => k);

  it('waits with the sentence while the node is full, and runs once the other workspace stops', async () => {
    const first = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] one',
    });
    expect((await until(first.id, finished)).status).toBe('succeeded');

    const second = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('other'),
      prompt: '[scenario:hello] two',
    });
    await k.t.services.runtime.tasks.scheduler.runSoon();
    const waiting = await until(second.id, (t) => /room/.test(t.statusReason ?? ''), 30_000);
    expect(waiting.status).toBe('queued');
    const [node] = await nodeReport(k.t.services.runtime.driver, k.t.services.workspaces);
    expect(node?.used.workspaces).toBe(1);
    expect(node?.capacity.maxWorkspaces).toBe(1);
    expect(waiting.statusReason).toMatch(/^No node has room for a workspace of 1 CPU and \d+ MiB/);
    expect(waiting.queue?.reason).toBe(waiting.statusReason);
    const other = await api<Workspace>('GET', `/api/v1/workspaces/${second.workspaceId}`);
    expect(other.status).not.toBe('failed');

    await api('POST', `/api/v1/workspaces/${first.workspaceId}/stop`);
    // The kit's clock is a manual one: the pass's retry wait and safety-net timer move with it.
    k.t.clock.advance(ROOM_RETRY_MS);
    const done = await until(second.id, finished, 90_000);
    expect(done.status).toBe('succeeded');
  }, 180_000);
});
