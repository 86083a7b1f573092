// A viewer that stops reading (its TCP socket paused) while a task streams a lot through the real
// ingest: the server holds at most MAX_VIEWER_BACKLOG_BYTES (and a tick's frames) for it, then cuts
// it off with its resume point — WebSocket close 4408 `after=<seq>`, SSE `event: task_resume` —
// while the viewers that read get every event, in order, as it is ingested. Reconnecting with
// after=<seq> gets the rest, each event once. Real HTTP on loopback, SQLite, a scripted agent.
import { once } from 'node:events';
import { type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_VIEWER_BACKLOG_BYTES, resumePoint, WS_TOO_SLOW } from '../../sdk/limits.js';
import { SseParser } from '../../sdk/sseParser.js';
import { ScriptedAgent } from '../support/scriptedAgent.js';
import { createTaskRow } from '../support/taskRow.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

/** ~4 KiB an event, 4,000 of them: 16 MiB, far past the bound and loopback's socket buffers. */
const EVENTS = 4000;
const TEXT = 'y'.repeat(4000);
/** What a server socket may hold over the bound: the frames of one tick (cork) at most. */
const SLACK = 512 * 1024;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a task event viewer that stops reading', () => {
  let t: TestApp;
  let agent: ScriptedAgent;
  let auth: string;
  let base: string;
  let taskId: string;
  let workspaceId: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const owner = await t.user('member');
    auth = await t.bearer(owner);
    taskId = await createTaskRow(t, owner.id);
    workspaceId = (await t.services.tasks.byId(taskId))?.workspace_id as string;
    await t.services.tasks.transition(taskId, ['queued'], 'running', { status_reason: null });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    agent = await ScriptedAgent.connect(t, workspaceId);
  });
  afterAll(async () => {
    agent?.close();
    await t?.close();
  });

  /** The agent sends `n` events from seq `from`, as fast as the ingest takes them. */
  async function stream(from: number, n: number, sentAt: Map<number, number>): Promise<void> {
    for (let seq = from; seq < from + n; seq++) {
      const line = JSON.stringify({
        type: 'assistant',
        message: { role: 'assistant', content: [{ type: 'text', text: `${seq} ${TEXT}` }] },
      });
      sentAt.set(seq, performance.now());
      agent.peer.notify('task.event', { taskId, seq, line });
      // A breath now and then, so the stream is live rather than one burst.
      if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** A WebSocket viewer that reads; the time each seq arrived. */
  function reader(after = 0): { seqs: number[]; at: Map<number, number>; ws: WebSocket } {
    const seqs: number[] = [];
    const at = new Map<number, number>();
    const ws = new WebSocket(`ws://${base}/api/v1/tasks/${taskId}/events?after=${after}`, {
      headers: { authorization: auth },
    });
    ws.on('message', (d: Buffer) => {
      const seq = (JSON.parse(d.toString()) as { seq: number }).seq;
      seqs.push(seq);
      at.set(seq, performance.now());
    });
    return { seqs, at, ws };
  }

  /** The largest unsent backlog of any of the server's task-event WebSockets, sampled. */
  function watchServerBacklog(): { max: () => number; stop: () => void } {
    let max = 0;
    const timer = setInterval(() => {
      for (const c of t.app.websocketServer.clients) max = Math.max(max, c.bufferedAmount);
    }, 5);
    return { max: () => max, stop: () => clearInterval(timer) };
  }

  it('WebSocket: cut off with 4408 after=<seq>, bounded meanwhile; the others get everything on time', async () => {
    const before = (await t.services.tasks.byId(taskId))?.last_seq ?? 0;
    const stalled = new WebSocket(`ws://${base}/api/v1/tasks/${taskId}/events?after=${before}`, {
      headers: { authorization: auth },
    });
    const got: number[] = [];
    stalled.on('message', (d: Buffer) => got.push((JSON.parse(d.toString()) as { seq: number }).seq));
    const closed = once(stalled, 'close') as Promise<[number, Buffer]>;
    const others = [reader(before), reader(before)];
    await Promise.all([once(stalled, 'open'), ...others.map((o) => once(o.ws, 'open'))]);
    (stalled as unknown as { _socket: Socket })._socket.pause();
    const backlog = watchServerBacklog();
    const heapBefore = process.memoryUsage().heapUsed;
    const sentAt = new Map<number, number>();
    const last = before + EVENTS;
    await stream(before + 1, EVENTS, sentAt);
    await until(() => others.every((o) => o.seqs.at(-1) === last), 'the reading viewers to get every event');
    backlog.stop();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    // Bounded: 16 MiB went by; the stalled viewer's socket never held much more than the bound.
    expect(backlog.max()).toBeLessThanOrEqual(MAX_VIEWER_BACKLOG_BYTES + SLACK);
    expect(backlog.max()).toBeGreaterThan(MAX_VIEWER_BACKLOG_BYTES / 2);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    // The feed no longer delivers to it: only the two readers follow the task.
    expect(t.services.runtime.tasks.feed.followerCount(taskId)).toBe(2);

    // The others: every seq once, in order, none held up behind the stalled one.
    const lags: number[] = [];
    for (const o of others) {
      expect(o.seqs).toEqual(range(before + 1, last));
      for (const [seq, at] of o.at) lags.push(at - (sentAt.get(seq) as number));
    }
    lags.sort((a, b) => a - b);
    expect(lags[Math.floor(lags.length * 0.99)]).toBeLessThan(2000);

    // It reads again: what was written before the cut, then the close with its resume point.
    (stalled as unknown as { _socket: Socket })._socket.resume();
    const [code, reason] = await closed;
    expect(code).toBe(WS_TOO_SLOW);
    const resumeAt = resumePoint(reason.toString()) as number;
    expect(resumeAt).toBeGreaterThan(before);
    expect(resumeAt).toBeLessThan(last);
    expect(got).toEqual(range(before + 1, resumeAt));

    // Reconnecting from there: the rest, each once.
    const again = reader(resumeAt);
    await until(() => again.seqs.at(-1) === last, 'the resumed viewer to catch up');
    expect(again.seqs).toEqual(range(resumeAt + 1, last));
    for (const o of [...others, again]) o.ws.close();
  });

  it('SSE: ends with task_resume {after}, bounded meanwhile; Last-Event-ID from there gets the rest', async () => {
    const before = (await t.services.tasks.byId(taskId))?.last_seq ?? 0;
    // The server's side of the stream, to watch what it holds for the viewer.
    let serverRes: ServerResponse | undefined;
    const onRequest = (r: IncomingMessage, out: ServerResponse) => {
      if (r.headers.accept === 'text/event-stream') serverRes = out;
    };
    t.app.server.on('request', onRequest);
    const req = request(`http://${base}/api/v1/tasks/${taskId}/events?after=${before}`, {
      headers: { authorization: auth, accept: 'text/event-stream' },
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    const reading = reader(before);
    await once(reading.ws, 'open');
    const sentAt = new Map<number, number>();
    const last = before + EVENTS;
    const heapBefore = process.memoryUsage().heapUsed;
    let held = 0;
    const sampler = setInterval(() => {
      held = Math.max(held, serverRes?.writableLength ?? 0);
    }, 5);
    await stream(before + 1, EVENTS, sentAt);
    await until(() => reading.seqs.at(-1) === last, 'the reading viewer to get every event');
    clearInterval(sampler);
    t.app.server.off('request', onRequest);
    expect(held).toBeLessThanOrEqual(MAX_VIEWER_BACKLOG_BYTES + SLACK);
    expect(held).toBeGreaterThan(MAX_VIEWER_BACKLOG_BYTES / 2);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect(reading.seqs).toEqual(range(before + 1, last));
    expect(t.services.runtime.tasks.feed.followerCount(taskId)).toBe(1);

    const parser = new SseParser();
    const ids: number[] = [];
    let resume: { after: number } | undefined;
    res.setEncoding('utf8');
    res.resume();
    for await (const chunk of res) {
      for (const m of parser.push(chunk as string)) {
        if (m.event === 'task_event') ids.push((JSON.parse(m.data) as { seq: number }).seq);
        if (m.event === 'task_resume') resume = JSON.parse(m.data) as { after: number };
      }
    }
    expect(resume?.after).toBeGreaterThan(before);
    expect(resume?.after).toBeLessThan(last);
    expect(ids).toEqual(range(before + 1, resume?.after as number));

    const again = await fetch(`http://${base}/api/v1/tasks/${taskId}/events`, {
      headers: { authorization: auth, accept: 'text/event-stream', 'last-event-id': String(resume?.after) },
    });
    const rest: number[] = [];
    const p2 = new SseParser();
    const body = (again.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    while (rest.at(-1) !== last) {
      const { value, done } = await body.read();
      if (done) break;
      for (const m of p2.push(value))
        if (m.event === 'task_event') rest.push((JSON.parse(m.data) as { seq: number }).seq);
    }
    await body.cancel();
    expect(rest).toEqual(range((resume?.after as number) + 1, last));
    reading.ws.close();
  });

  it('a viewer that reads a long history slowly is not cut off: the replay waits for it', async () => {
    const last = (await t.services.tasks.byId(taskId))?.last_seq ?? 0;
    const ws = new WebSocket(`ws://${base}/api/v1/tasks/${taskId}/events?after=0`, {
      headers: { authorization: auth },
    });
    const seqs: number[] = [];
    let closedWith: number | undefined;
    ws.on('close', (code) => {
      closedWith = code;
    });
    ws.on('message', (d: Buffer) => seqs.push((JSON.parse(d.toString()) as { seq: number }).seq));
    await once(ws, 'open');
    const sock = (ws as unknown as { _socket: Socket })._socket;
    // Reads in spurts: paused 300 ms out of every 400, well past a megabyte behind each time.
    const spurts = setInterval(() => {
      sock.pause();
      setTimeout(() => sock.resume(), 300);
    }, 400);
    await until(() => seqs.at(-1) === last || closedWith !== undefined, 'the history', 60_000);
    clearInterval(spurts);
    sock.resume();
    expect(closedWith).toBeUndefined();
    expect(seqs).toEqual(range(1, last));
    ws.close();
  });
});
