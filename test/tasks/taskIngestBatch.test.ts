// Ingest stores a burst of many tasks' events in a few transactions, not one per task: ten tasks
// of one workspace stream 50 events each at once; every event is stored once, each task's
// last_seq is its highest seq, every event is acked, and a resent burst stores nothing twice.
// A viewer on the ingesting replica gets them from ingest's hand-off, in order, each once.
// Real SQLite and real PostgreSQL, a scripted agent on the hub's unix socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../sdk/taskWire.js';
import { ScriptedAgent } from '../support/scriptedAgent.js';
import { createTaskRow } from '../support/taskRow.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

const TASKS = 10;
const EVENTS = 50;

const line = (task: number, n: number) =>
  JSON.stringify({
    type: 'assistant',
    message: { role: 'assistant', content: [{ type: 'text', text: `${task}:${n}` }] },
  });

describe.each(['sqlite', 'postgres'] as const)('task ingest batches across tasks on %s', (engine) => {
  let t: TestApp;
  let agent: ScriptedAgent;
  const taskIds: string[] = [];
  const acks: string[] = [];
  let transactions = 0;

  beforeAll(async () => {
    t = await createTestApp(engine);
    const owner = await t.user('member');
    taskIds.push(await createTaskRow(t, owner.id));
    const workspaceId = (await t.services.tasks.byId(taskIds[0] as string))?.workspace_id as string;
    while (taskIds.length < TASKS) {
      const task = await t.services.tasks.create({
        ownerId: owner.id,
        workspaceId,
        repository: 'https://example.test/repo',
        prompt: 'hello',
        permissionMode: 'default',
      });
      taskIds.push(task.id);
    }
    agent = await ScriptedAgent.connect(t, workspaceId);
    const peer = agent.conn.peer;
    const notify = peer.notify.bind(peer);
    peer.notify = (method: string, params: unknown) => {
      const p = params as { taskId: string; seq: number };
      if (method === 'task.ack') acks.push(`${p.taskId}/${p.seq}`);
      notify(method, params);
    };
    const store = t.services.tasks;
    const append = store.appendEventBatch.bind(store);
    store.appendEventBatch = (events) => {
      transactions++;
      return append(events);
    };
  });
  afterAll(async () => {
    agent?.close();
    await t?.close();
  });

  /** Acks are cumulative (the agent drops every event up to the seq): each task's highest. */
  const highestAck = (taskId: string) =>
    Math.max(0, ...acks.filter((a) => a.startsWith(`${taskId}/`)).map((a) => Number(a.split('/')[1])));
  const everyTaskAcked = () => taskIds.every((id) => highestAck(id) >= EVENTS);

  /** Every task's events 1..EVENTS, interleaved as parallel streams are, sent in one go. */
  async function burst(): Promise<void> {
    for (let n = 1; n <= EVENTS; n++) {
      taskIds.forEach((id, i) => {
        agent.peer.notify('task.event', { taskId: id, seq: n, line: line(i, n) });
      });
    }
    const end = performance.now() + 20_000;
    while (!everyTaskAcked() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
    await t.services.runtime.ingest.drained();
  }

  it('stores every event once in a few transactions, moves each last_seq, acks each task once a transaction', async () => {
    const viewed: TaskEvent[] = [];
    const stop = new AbortController();
    const first = taskIds[0] as string;
    await t.services.runtime.tasks.feed.follow(first, 0, (e) => viewed.push(e), stop.signal);
    const reads = t.services.tasks.events.bind(t.services.tasks);
    let readBack = 0;
    t.services.tasks.events = (...args) => {
      readBack++;
      return reads(...args);
    };
    try {
      await burst();
      // Every event acked, by one ack per task and transaction (the highest seq), not one per event.
      for (const id of taskIds) expect(highestAck(id)).toBe(EVENTS);
      expect(acks.length).toBeLessThanOrEqual(transactions * TASKS);
      // One per task would be TASKS; a burst from one socket arrives in a few reads.
      expect(transactions).toBeLessThanOrEqual(5);
      for (const [i, id] of taskIds.entries()) {
        const rows = await reads(id, 0, 1000);
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: EVENTS }, (_, k) => k + 1));
        expect(JSON.parse(rows[7]?.payload as string).message.content[0].text).toBe(`${i}:8`);
        expect((await t.services.tasks.byId(id))?.last_seq).toBe(EVENTS);
      }
      const end = performance.now() + 5000;
      while (viewed.length < EVENTS && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(viewed.map((e) => e.seq)).toEqual(Array.from({ length: EVENTS }, (_, k) => k + 1));
      expect(viewed[0]?.type).toBe('assistant');
      // The viewer's rows came from ingest, not from reading the store back.
      expect(readBack).toBe(0);
    } finally {
      stop.abort();
      t.services.tasks.events = reads;
    }
  });

  it('a hand-off with a gap before it is read from the store instead: nothing skipped', async () => {
    const viewed: number[] = [];
    const stop = new AbortController();
    const first = taskIds[0] as string;
    await t.services.runtime.tasks.feed.follow(first, EVENTS, (e) => viewed.push(e.seq), stop.signal);
    try {
      // Stored behind ingest's back (as another replica's ingest would), announced by nobody.
      expect(await t.services.tasks.appendEvent(first, EVENTS + 1, 'assistant', line(0, EVENTS + 1))).toBe(
        true,
      );
      await agent.notify('task.event', { taskId: first, seq: EVENTS + 2, line: line(0, EVENTS + 2) });
      await t.services.runtime.ingest.drained(first);
      const end = performance.now() + 5000;
      while (viewed.length < 2 && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(viewed).toEqual([EVENTS + 1, EVENTS + 2]);
    } finally {
      stop.abort();
    }
  });

  it('a resent burst is acked again and stores nothing twice', async () => {
    acks.length = 0;
    transactions = 0;
    await burst();
    for (const id of taskIds) expect(highestAck(id)).toBe(EVENTS);
    for (const id of taskIds) {
      const expected = id === taskIds[0] ? EVENTS + 2 : EVENTS; // the first has the gap test's two more
      expect(await t.services.tasks.events(id, 0, 1000)).toHaveLength(expected);
    }
  });

  it("the store's batch refuses another workspace's and a missing task's events, skips stored seqs, never moves last_seq back", async () => {
    const store = t.services.tasks;
    const [a, b] = taskIds as [string, string];
    const workspaceId = (await store.byId(a))?.workspace_id as string;
    const other = await createTaskRow(t, (await t.user('member')).id); // another workspace
    const before = (await store.byId(b))?.last_seq as number;
    const ev = (taskId: string, seq: number, ws = workspaceId) => ({
      taskId,
      workspaceId: ws,
      seq,
      type: 'assistant',
      payload: line(9, seq),
    });
    const batch = [
      ev(b, before + 2),
      ev(other, 1), // this workspace says it is its task: refused
      ev('00000000-0000-4000-8000-000000000000', 1), // no such task: refused
      ev(b, 1), // stored long ago: skipped
      ev(b, before + 1), // new, after a higher seq in the same batch: last_seq stays the highest
    ];
    const res = await store.appendEventBatch(batch);
    expect(res.stored.map((e) => e.seq)).toEqual([before + 2, before + 1]);
    expect(res.refused.map((e) => e.taskId)).toEqual([other, '00000000-0000-4000-8000-000000000000']);
    expect((await store.byId(b))?.last_seq).toBe(before + 2);
    expect(await store.events(other, 0, 10)).toEqual([]);
    // An older seq stored later does not move last_seq back either.
    await store.appendEventBatch([ev(b, before + 3), ev(b, before + 2)]);
    expect((await store.byId(b))?.last_seq).toBe(before + 3);
    expect((await store.events(b, before, 10)).map((r) => Number(r.seq))).toEqual([
      before + 1,
      before + 2,
      before + 3,
    ]);
  });

  it('reads a task with the count of its pending approvals only, in one query', async () => {
    const store = t.services.tasks;
    const [a, b] = taskIds as [string, string];
    const approval = (taskId: string, id: string, status: string) =>
      store.addApproval({ task_id: taskId, id, seq: 1, tool_name: 'Bash', input: '{}', status });
    await approval(a, 'p1', 'pending');
    await approval(a, 'p2', 'pending');
    await approval(a, 'd1', 'allowed');
    await approval(b, 'p3', 'pending');
    const found = await store.byIdWithPending(a);
    expect(found?.row).toEqual(await store.byId(a));
    expect(found?.pending).toBe(2);
    expect(found?.pending).toBe(await store.countPending(a));
    expect((await store.byIdWithPending(taskIds[2] as string))?.pending).toBe(0);
    expect(await store.byIdWithPending('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });
});
