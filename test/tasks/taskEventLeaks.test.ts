// A viewer that leaves a task's event stream in the middle of replaying a long history leaves
// nothing behind: no feed listener (events or usage) or task tail, no keep-alive timer (SSE and WebSocket, real HTTP on loopback).
import { once } from 'node:events';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Task } from '../../sdk/taskWire.js';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import type { TaskStore } from '../../server/store/taskStore.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

const EVENTS = 1200; // three replay pages of 500

describe('task event streams after a viewer leaves mid-replay', () => {
  let t: TestApp;
  let auth: string;
  let task: Task;
  let base: string;
  /** Held closed, it stops the replay before its second page until the test opens it. */
  let gate: { open: () => void; wait: Promise<void> } | undefined;

  beforeAll(async () => {
    t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
    auth = await t.bearer(await t.user('member'));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { authorization: auth },
      payload: { repository: 'https://github.com/acme/long-history', prompt: 'hi' },
    });
    task = res.json() as Task;
    const store = t.services.tasks;
    for (let seq = 1; seq <= EVENTS; seq++)
      await store.appendEvent(task.id, seq, 'assistant', JSON.stringify({ type: 'assistant', n: seq }));
    // The real store, with a gate after the first page so "mid-replay" is certain, not a race.
    const events = store.events.bind(store);
    store.events = (async (...args: Parameters<TaskStore['events']>) => {
      if (args[1] > 0 && gate) await gate.wait;
      return events(...args);
    }) as TaskStore['events'];
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  const closeGate = () => {
    let open = () => {};
    const wait = new Promise<void>((r) => {
      open = r;
    });
    gate = { open, wait };
    return gate;
  };
  const feed = () => t.services.runtime.tasks.feed;

  it('SSE: the listener and the keep-alive timer go when the client does', async () => {
    const listeners = feed().followerCount();
    const usageListeners = feed().listenerCount('usage');
    const timers = t.clock.pendingTimers;
    const g = closeGate();
    const req = request(`http://${base}/api/v1/tasks/${task.id}/events`, {
      headers: { authorization: auth, accept: 'text/event-stream' },
    });
    req.end();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    // Read until the first page has arrived; the replay is now held at the gate.
    let text = '';
    for await (const chunk of res) {
      text += String(chunk);
      if (text.includes('id: 500\n')) break;
    }
    expect(feed().followerCount()).toBe(listeners + 1);
    expect(feed().listenerCount('usage')).toBe(usageListeners + 1);
    expect(feed().followedTasks).toBe(1);
    expect(t.clock.pendingTimers).toBe(timers + 1);
    const removed = once(feed(), 'removeListener');
    req.destroy();
    await removed;
    expect(feed().followerCount()).toBe(listeners);
    expect(feed().listenerCount('usage')).toBe(usageListeners);
    expect(feed().followedTasks).toBe(0);
    expect(t.clock.pendingTimers).toBe(timers);
    g.open();
  });

  it('WebSocket: the listener goes when the client does', async () => {
    const listeners = feed().followerCount();
    const usageListeners = feed().listenerCount('usage');
    const g = closeGate();
    const ws = new WebSocket(`ws://${base}/api/v1/tasks/${task.id}/events`, {
      headers: { authorization: auth },
    });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', () => {
        seen += 1;
        if (seen === 500) resolve();
      });
    });
    expect(feed().followerCount()).toBe(listeners + 1);
    expect(feed().listenerCount('usage')).toBe(usageListeners + 1);
    expect(feed().followedTasks).toBe(1);
    const removed = once(feed(), 'removeListener');
    ws.terminate();
    await removed;
    expect(feed().followerCount()).toBe(listeners);
    expect(feed().listenerCount('usage')).toBe(usageListeners);
    expect(feed().followedTasks).toBe(0);
    g.open();
  });

  it('a viewer that stays gets the whole history once, in order, and the live tail', async () => {
    gate = undefined;
    const ws = new WebSocket(`ws://${base}/api/v1/tasks/${task.id}/events?after=${EVENTS - 600}`, {
      headers: { authorization: auth },
    });
    const seqs: number[] = [];
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        seqs.push((JSON.parse(String(data)) as { seq: number }).seq);
        if (seqs.length === 600) {
          // History is through; a new event must arrive live, by the real path: stored, then
          // the feed's notice to the task's tail.
          void t.services.tasks
            .appendEvent(task.id, EVENTS + 1, 'assistant', '{"type":"assistant"}')
            .then(() => feed().stored(task.id, EVENTS + 1));
        }
        if (seqs.length === 601) resolve();
      });
    });
    await done;
    ws.close();
    expect(seqs).toEqual(Array.from({ length: 601 }, (_, i) => EVENTS - 599 + i));
  });
});
