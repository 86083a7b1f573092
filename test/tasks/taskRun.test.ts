// Tasks end to end: the real claude CLI in a real workspace (local driver), its model traffic
// through the agent's forwarder and the control plane's gateway to the scripted stub.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, kitTaskApi } from '../support/taskApi.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-test-key-0123456789';

describe('tasks on the local driver with the real claude CLI', () => {
  let k: WorkspaceKit;
  let stub: ModelStub;
  beforeAll(async () => {
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        files: {
          turns: [
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/hello.txt', content: 'hello from claude\n' },
                },
              ],
            },
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Bash',
                  input: { command: 'echo from-bash > /workspace/bash.txt', description: 'write a file' },
                },
              ],
            },
            { content: [{ type: 'text', text: 'Both files are written.' }] },
            { content: [{ type: 'text', text: 'Follow-up answered.' }] },
          ],
        },
        ask: {
          turns: [
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/approved.txt', content: 'yes\n' },
                },
              ],
            },
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/denied.txt', content: 'no\n' },
                },
              ],
            },
            { content: [{ type: 'text', text: 'Finished asking.' }] },
          ],
        },
        slow: {
          turns: [
            // About 4 s of stream, so the interrupt lands mid-stream even on a loaded machine.
            { content: [{ type: 'text', text: 'word '.repeat(200) }], chunkDelayMs: 500 },
            { content: [{ type: 'text', text: 'After the interrupt.' }] },
          ],
        },
        overloaded: { turns: [{ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }] },
      },
    });
    k = await startWorkspaceKit({
      flags: {
        'gateway.upstream': stub.url,
        'claude.apiKey': ORG_KEY,
        'workspaces.heartbeatIntervalMs': 1000,
      },
    });
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });

  const { api, until } = kitTaskApi(() => k);
  const events = async (id: string) =>
    (await api<{ items: TaskEvent[] }>('GET', `/api/v1/tasks/${id}/events?limit=1000`)).items;

  it('runs Write and Bash, leaves files the files API shows, and takes a follow-up in the same process', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:files] write two files',
      permissionMode: 'acceptEdits',
    });
    expect(task.status).toBe('queued');
    let done = await until(task.id, finished);
    // acceptEdits still asks for Bash: allow it.
    while (done.status === 'waiting_for_approval' || done.pendingApprovals > 0) {
      const [pending] = (
        await api<{ items: { id: string }[] }>('GET', `/api/v1/tasks/${task.id}/approvals?status=pending`)
      ).items;
      if (pending)
        await api('POST', `/api/v1/tasks/${task.id}/approvals/${pending.id}`, { decision: 'allow' });
      done = await until(task.id, (t) => finished(t) && t.pendingApprovals === 0);
    }
    expect(done, done.statusReason ?? '').toMatchObject({ status: 'succeeded' });
    const file = await k.t.app.inject({
      url: `/api/v1/workspaces/${task.workspaceId}/files/hello.txt`,
      headers: { authorization: k.auth },
    });
    expect(file.body).toBe('hello from claude\n');
    const bash = await k.t.app.inject({
      url: `/api/v1/workspaces/${task.workspaceId}/files/bash.txt`,
      headers: { authorization: k.auth },
    });
    expect(bash.body).toBe('from-bash\n');
    expect(stub.requests.filter((r) => r.main).every((r) => r.apiKey === ORG_KEY)).toBe(true);

    await api('POST', `/api/v1/tasks/${task.id}/messages`, { text: 'and one more thing' });
    const again = await until(task.id, (t) => t.status === 'succeeded' && t.turns > done.turns);
    expect(again.turns).toBeGreaterThan(done.turns);
    const log = await events(task.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.type === 'result').length).toBe(2);
    // Same process: no exit between the two turns, and one session.
    expect(log.some((e) => e.type === 'rc_exit')).toBe(false);
    const sessions = new Set(
      log.filter((e) => e.type === 'system').map((e) => (e.payload as { session_id?: string }).session_id),
    );
    expect(sessions.size).toBe(1);
  });

  it('asks before Write in the default mode; an allow runs it and a deny reaches Claude', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:ask] write',
    });
    const answer = async (decision: 'allow' | 'deny') => {
      const waiting = await until(task.id, (t) => t.status === 'waiting_for_approval');
      // What it asks about, in the summary the CLI and the web UI show too (sdk/toolSummary.ts).
      expect(waiting.statusReason).toBe(
        `Waiting for approval: Write ${decision === 'allow' ? 'approved' : 'denied'}.txt`,
      );
      const [pending] = (
        await api<{ items: { id: string; toolName: string }[] }>(
          'GET',
          `/api/v1/tasks/${task.id}/approvals?status=pending`,
        )
      ).items;
      expect(pending?.toolName).toBe('Write');
      await api('POST', `/api/v1/tasks/${task.id}/approvals/${pending?.id}`, {
        decision,
        message: decision === 'deny' ? 'not that file' : undefined,
      });
      const twice = await k.t.app.inject({
        method: 'POST',
        url: `/api/v1/tasks/${task.id}/approvals/${pending?.id}`,
        headers: { authorization: k.auth },
        payload: { decision },
      });
      expect(twice.statusCode).toBe(409);
    };
    await answer('allow');
    await answer('deny');
    const done = await until(task.id, finished);
    expect(done.status).toBe('succeeded');
    const ls = await k.t.app.inject({
      url: `/api/v1/workspaces/${task.workspaceId}/files/`,
      headers: { authorization: k.auth },
    });
    const names = (ls.json() as { entries: { name: string }[] }).entries.map((e) => e.name);
    expect(names).toContain('approved.txt');
    expect(names).not.toContain('denied.txt');
    expect(JSON.stringify(stub.requests.filter((r) => r.scenario === 'ask').at(-1)?.body)).toContain(
      'not that file',
    );
  });

  it('interrupts a turn mid-stream; the task waits for a follow-up and continues', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:slow] talk',
    });
    await until(task.id, (t) => t.status === 'running');
    const deadline = Date.now() + 30_000;
    while (!stub.requests.some((r) => r.scenario === 'slow' && r.main) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    await api('POST', `/api/v1/tasks/${task.id}/interrupt`);
    const waiting = await until(task.id, finished);
    expect(waiting.status).toBe('waiting_for_input');
    await api('POST', `/api/v1/tasks/${task.id}/messages`, { text: 'go on' });
    expect((await until(task.id, (t) => t.status === 'succeeded')).status).toBe('succeeded');
  });

  it('an overloaded model (529) ends the task with a clear error', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:overloaded] hi',
    });
    const done = await until(task.id, finished, 120_000);
    expect(done.status).toBe('failed');
    expect(done.statusReason).toMatch(/overload|529/i);
  });
});
