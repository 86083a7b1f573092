// Ingest acks what it will not store: an event for another workspace's task is acked and not
// stored, and so is one for a task deleted after its earlier events were stored (not retried for
// ever). Real SQLite, a scripted agent on the hub's unix socket.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../support/scriptedAgent.js';
import { createTaskRow } from '../support/taskRow.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

const line = (n: number) =>
  JSON.stringify({
    type: 'assistant',
    message: { role: 'assistant', content: [{ type: 'text', text: `e${n}` }] },
  });

describe('task ingest acks', () => {
  let t: TestApp;
  let agent: ScriptedAgent;
  let taskId: string;
  let otherTask: string;
  const acks: { taskId: string; seq: number }[] = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const owner = await t.user('member');
    taskId = await createTaskRow(t, owner.id);
    otherTask = await createTaskRow(t, (await t.user('member')).id); // another workspace
    const workspaceId = (await t.services.tasks.byId(taskId))?.workspace_id as string;
    agent = await ScriptedAgent.connect(t, workspaceId);
    const conn = agent.conn;
    // What the server acks to the agent, as it sends it.
    const notify = conn.peer.notify.bind(conn.peer);
    conn.peer.notify = (method: string, params: unknown) => {
      if (method === 'task.ack') acks.push(params as { taskId: string; seq: number });
      notify(method, params);
    };
  });
  afterAll(async () => {
    agent?.close();
    await t?.close();
  });

  async function ingest(id: string, seq: number): Promise<void> {
    await agent.notify('task.event', { taskId: id, seq, line: line(seq) });
    await t.services.runtime.ingest.drained(id);
  }

  it('stores its own task events and acks them; another workspace’s task is acked, not stored', async () => {
    await ingest(taskId, 1);
    await ingest(taskId, 2);
    await ingest(otherTask, 1);
    await ingest(otherTask, 2);
    expect((await t.services.tasks.events(taskId, 0, 10)).map((r) => r.seq)).toEqual([1, 2]);
    expect(await t.services.tasks.events(otherTask, 0, 10)).toEqual([]);
    expect(acks).toEqual([
      { taskId, seq: 1 },
      { taskId, seq: 2 },
      { taskId: otherTask, seq: 1 },
      { taskId: otherTask, seq: 2 },
    ]);
  });

  it('acks an event of a task deleted since its earlier events, and stores nothing', async () => {
    acks.length = 0;
    await sql`delete from tasks where id = ${taskId}`.execute(t.services.db.kysely);
    await ingest(taskId, 3);
    expect(acks).toEqual([{ taskId, seq: 3 }]);
    expect(await t.services.tasks.events(taskId, 0, 10)).toEqual([]);
  });
});
