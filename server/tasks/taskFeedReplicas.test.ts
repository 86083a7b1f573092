// Two replicas on one PostgreSQL: a task's events ingested on A (from the agent A holds) reach the
// viewers on B live, over WebSocket and SSE, every seq once and in order — in a burst, for a
// viewer that joins mid-stream with `after`, and after B's LISTEN connection is cut and comes back.
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { openSharedTestDb, type TestDb } from '../../test/support/testDb.js';
import { PgPubsub } from '../cluster/pgPubsub.js';
import { TASK_FEED_CHANNEL } from './taskFeedNotices.js';

const BURST = 2000;

/** Seqs (and usage frames) a viewer received, in arrival order. */
interface Viewer {
  seqs: number[];
  usage: unknown[];
  close(): void;
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the task event feed across two replicas on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  let bDb: TestDb;
  /** B's LISTEN connections, in the order its pubsub opened them. */
  const listenClients: pg.Client[] = [];
  let agent: ScriptedAgent;
  let auth: string;
  let bBase: string;
  let workspaceId: string;
  let seq = 0;
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    a = await createTestApp('postgres');
    bDb = await openSharedTestDb(a.schema as string);
    const newClient = bDb.db.dedicatedClient as (name: string) => pg.Client;
    // B's pubsub, with a slow reconnect: notices published while it is away are lost for sure.
    const pubsub = PgPubsub.forDb(bDb.db, pino({ level: 'silent' }), {
      newConnection: () => {
        const c = newClient('rclaude-listen');
        listenClients.push(c);
        return c;
      },
      backoff: { initialMs: 3000, maxMs: 3000 },
    });
    b = await createTestApp('postgres', { sameStoreAs: a, services: { pubsub } });
    const owner = await a.user('member');
    auth = await a.bearer(owner);
    await b.app.listen({ host: '127.0.0.1', port: 0 });
    bBase = `127.0.0.1:${(b.app.server.address() as AddressInfo).port}`;
    const taskId = await createTaskRow(a, owner.id);
    workspaceId = (await a.services.tasks.byId(taskId))?.workspace_id as string;
    agent = await ScriptedAgent.connect(a, workspaceId);
  });
  afterAll(async () => {
    for (const v of viewers) v.close();
    agent?.close();
    await b?.close();
    await bDb?.cleanup();
    await a?.close();
  });

  async function runningTask(): Promise<string> {
    const owner = (await a.services.workspaces.byId(workspaceId))?.owner_id as string;
    const task = await a.services.tasks.create({
      ownerId: owner,
      workspaceId,
      repository: 'https://example.test/repo',
      prompt: 'feed',
      permissionMode: 'default',
    });
    await a.services.tasks.transition(task.id, ['queued'], 'running', { status_reason: null });
    return task.id;
  }

  /** Has A's ingest take `n` more events of `taskId`, as the agent would send them. */
  function ingestOnA(taskId: string, n: number): number {
    for (let i = 0; i < n; i++) {
      seq += 1;
      const line = JSON.stringify({
        type: 'assistant',
        message: { role: 'assistant', content: [{ type: 'text', text: `event ${seq}` }] },
      });
      a.services.runtime.hub.emit('notification', workspaceId, 'task.event', { taskId, seq, line });
    }
    return seq;
  }

  function wsViewer(taskId: string, after = 0): Promise<Viewer> {
    const v: Viewer = { seqs: [], usage: [], close: () => ws.close() };
    viewers.push(v);
    const ws = new WebSocket(`ws://${bBase}/api/v1/tasks/${taskId}/events?after=${after}`, {
      headers: { authorization: auth },
    });
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { seq?: number; type: string };
      if (frame.seq === undefined) v.usage.push(frame);
      else v.seqs.push(frame.seq);
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(v));
      ws.once('error', reject);
    });
  }

  /** An EventSource-like viewer on B; `lastEventId` resumes as a reconnecting EventSource does. */
  async function sseViewer(taskId: string, lastEventId?: number): Promise<Viewer> {
    const ctl = new AbortController();
    const res = await fetch(`http://${bBase}/api/v1/tasks/${taskId}/events`, {
      headers: {
        authorization: auth,
        accept: 'text/event-stream',
        ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
      },
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    const v: Viewer = { seqs: [], usage: [], close: () => ctl.abort() };
    viewers.push(v);
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += value;
          let end = buf.indexOf('\n\n');
          while (end >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const id = /^id: (\d+)$/m.exec(frame);
            if (id) v.seqs.push(Number(id[1]));
            else if (frame.includes('event: task_usage')) v.usage.push(frame);
            end = buf.indexOf('\n\n');
          }
        }
      } catch {
        // aborted by close()
      }
    })();
    return v;
  }

  it(`a burst of ${BURST} events ingested on A reaches B's viewers live, each seq once, in order`, async () => {
    const taskId = await runningTask();
    const first = seq + 1;
    const ws = await wsViewer(taskId);
    const sse = await sseViewer(taskId);
    let notices = 0;
    const stop = a.services.pubsub.subscribe(TASK_FEED_CHANNEL, () => {
      notices += 1;
    });
    // Wait until B's tail for the task exists before the burst: the viewers are live, not replaying.
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const last = ingestOnA(taskId, BURST);
    const joinAt = first + 599;
    await until(() => ws.seqs.length >= 700, 'the first 700 events on B');
    const late = await wsViewer(taskId, joinAt);
    const lateSse = await sseViewer(taskId, joinAt);
    await until(() => ws.seqs.length >= BURST && sse.seqs.length >= BURST, `${BURST} events on B`);
    const elapsed = performance.now() - t0;
    await until(
      () => (late.seqs.at(-1) ?? 0) >= last && (lateSse.seqs.at(-1) ?? 0) >= last,
      'the late viewers to catch up',
    );
    await new Promise((r) => setTimeout(r, 100));
    stop();
    expect(ws.seqs).toEqual(range(first, last));
    expect(sse.seqs).toEqual(range(first, last));
    expect(late.seqs).toEqual(range(joinAt + 1, last));
    expect(lateSse.seqs).toEqual(range(joinAt + 1, last));
    // Notices are batched: at most one NOTIFY per 5 ms window, however fast the events come.
    expect(notices).toBeLessThanOrEqual(Math.ceil(elapsed / 5) + 1);
  });

  it('a usage frame metered on A reaches the viewer on B', async () => {
    const taskId = await runningTask();
    const ws = await wsViewer(taskId);
    await new Promise((r) => setTimeout(r, 100));
    a.services.runtime.tasks.metered({ taskId, costUsd: 0.25, inputTokens: 100, outputTokens: 10 });
    await until(() => ws.usage.length === 1, 'the usage frame on B');
    expect(ws.usage[0]).toEqual({ type: 'usage', taskId, costUsd: 0.25, inputTokens: 100, outputTokens: 10 });
  });

  it('events published while B is not listening reach its viewer once B listens again', async () => {
    const taskId = await runningTask();
    const ws = await wsViewer(taskId);
    await new Promise((r) => setTimeout(r, 100));
    const before = ingestOnA(taskId, 20);
    await until(() => ws.seqs.at(-1) === before, 'the events before the cut');

    const cut = listenClients.at(-1) as pg.Client;
    const ended = new Promise((r) => cut.once('end', r));
    const pid = (cut as unknown as { processID: number }).processID;
    await sql`select pg_terminate_backend(${pid})`.execute(a.services.db.kysely);
    await ended;
    const opened = listenClients.length;
    const last = ingestOnA(taskId, 50);
    await a.services.runtime.ingest.drained(taskId);
    await new Promise((r) => setTimeout(r, 50)); // A's notice window
    // The notices went out while B was away: only its resync can bring these events.
    expect(listenClients.length).toBe(opened);
    expect(ws.seqs.at(-1)).toBe(before);
    await until(() => ws.seqs.at(-1) === last, 'the events after B listens again');
    expect(ws.seqs).toEqual(range(before - 19, last));
  });
});
