// The feed's promise: every seq once, in order, across history pages, a live socket, drops and
// reconnects. Fake I/O with a manual clock, so each step is explicit.
import { describe, expect, it } from 'vitest';
import { WS_FORBIDDEN, WS_TOO_SLOW, WS_UNAUTHORIZED } from '../../../sdk/limits.js';
import type { TaskEvent, TaskUsageFrame } from '../../../sdk/taskWire.js';
import { EventLog } from './eventLog.js';
import {
  type Connection,
  type FeedIo,
  type FeedSocket,
  reconnectDelayMs,
  TaskEventFeed,
} from './taskEventFeed.js';

const ev = (seq: number): TaskEvent => ({ seq, type: 'assistant', payload: { n: seq }, createdAt: '' });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

class FakeSocket implements FeedSocket {
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev?: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(readonly after: number) {}
  send(...seqs: number[]) {
    for (const s of seqs) this.onmessage?.({ data: JSON.stringify(ev(s)) });
  }
  close(code?: number) {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(code === undefined ? undefined : { code });
  }
}

function harness(stored: number, pageSize = 2) {
  const timers: { fn: () => void; ms: number }[] = [];
  const sockets: FakeSocket[] = [];
  const states: Connection[] = [];
  let online = true;
  let failPages = 0;
  const io: FeedIo = {
    fetchPage: async (after) => {
      if (failPages > 0) {
        failPages -= 1;
        throw new Error('unreachable');
      }
      const items = range(after + 1, Math.min(stored, after + pageSize)).map(ev);
      return { items, next: items.length === pageSize ? after + pageSize : null };
    },
    openSocket: (after) => {
      const s = new FakeSocket(after);
      sockets.push(s);
      return s;
    },
    isOnline: () => online,
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      const i = timers.indexOf(t as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  let loaded: number | null = null;
  let signedOut = 0;
  const usage: TaskUsageFrame[] = [];
  const feed = new TaskEventFeed(io, {
    usage: (f) => usage.push(f),
    events: () => {},
    historyLoaded: (n) => {
      loaded = n;
    },
    connection: (c) => states.push(c),
    signedOut: () => {
      signedOut += 1;
    },
  });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  /** Runs the timers that are due now, as the browser would. */
  const tick = async () => {
    for (const t of timers.splice(0)) t.fn();
    await settle();
  };
  return {
    feed,
    sockets,
    states,
    tick,
    settle,
    seqs: () => feed.log.events.map((e) => e.seq),
    loaded: () => loaded,
    signedOut: () => signedOut,
    usage,
    goOffline: () => {
      online = false;
    },
    failNextPages: (n: number) => {
      failPages = n;
    },
    pendingDelays: () => timers.map((t) => t.ms),
  };
}

describe('TaskEventFeed', () => {
  it('reads the history page by page, then follows live after the last seq', async () => {
    const h = harness(5);
    h.feed.start();
    await h.settle();
    expect(h.seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(h.loaded()).toBe(5);
    expect(h.sockets[0]?.after).toBe(5);
    h.sockets[0]?.onopen?.();
    expect(h.states.at(-1)).toBe('live');
    h.sockets[0]?.send(6, 7);
    await h.tick();
    expect(h.seqs()).toEqual(range(1, 7));
  });

  it('hands usage frames to the listener at once and keeps them out of the log', async () => {
    const h = harness(2);
    h.feed.start();
    await h.settle();
    const s = h.sockets[0] as FakeSocket;
    s.onopen?.();
    const frame: TaskUsageFrame = {
      type: 'usage',
      taskId: 't1',
      costUsd: 0.5,
      inputTokens: 10,
      outputTokens: 3,
    };
    s.onmessage?.({ data: JSON.stringify(frame) });
    s.onmessage?.({ data: JSON.stringify({ type: 'usage' }) });
    s.send(3);
    expect(h.usage).toEqual([frame]);
    await h.tick();
    expect(h.seqs()).toEqual([1, 2, 3]);
    expect(s.after).toBe(2);
  });

  it('drops frames it already holds and resumes after the last seq on a drop', async () => {
    const h = harness(3);
    h.feed.start();
    await h.settle();
    const first = h.sockets[0] as FakeSocket;
    first.onopen?.();
    // The server resends around the history edge, and frames can come twice.
    first.send(3, 4, 4, 5);
    first.close(); // dropped before the flush timer: what arrived still counts
    expect(h.seqs()).toEqual(range(1, 5));
    expect(h.states.at(-1)).toBe('reconnecting');
    expect(h.pendingDelays()).toEqual([reconnectDelayMs(0)]);
    await h.tick();
    const second = h.sockets[1] as FakeSocket;
    expect(second.after).toBe(5);
    second.onopen?.();
    second.send(5, 6);
    await h.tick();
    expect(h.seqs()).toEqual(range(1, 6));
    expect(h.states.at(-1)).toBe('live');
  });

  it('backs off while it cannot connect, shows offline after a few tries, and retries at once when told', async () => {
    const h = harness(1);
    h.feed.start();
    await h.settle();
    for (let i = 0; i < 3; i += 1) {
      h.sockets.at(-1)?.onerror?.();
      if (i < 2) await h.tick();
    }
    expect(h.states.filter((s) => s === 'reconnecting')).toHaveLength(2);
    expect(h.states.at(-1)).toBe('offline');
    expect(h.pendingDelays()).toEqual([reconnectDelayMs(2)]);
    h.feed.retryNow();
    expect(h.sockets).toHaveLength(4);
    expect(h.pendingDelays()).toEqual([]);
    expect(reconnectDelayMs(20)).toBe(10_000);
  });

  it('retries a failed history read and says offline when the browser is', async () => {
    const h = harness(4);
    h.failNextPages(1);
    h.goOffline();
    h.feed.start();
    await h.settle();
    expect(h.states).toEqual(['connecting', 'offline']);
    expect(h.loaded()).toBeNull();
    await h.tick();
    expect(h.seqs()).toEqual(range(1, 4));
    expect(h.loaded()).toBe(4);
  });

  it('stops and reports signed out when the server closes with 4401, instead of reconnecting', async () => {
    const h = harness(2);
    h.feed.start();
    await h.settle();
    h.sockets[0]?.onopen?.();
    h.sockets[0]?.close(WS_UNAUTHORIZED);
    expect(h.signedOut()).toBe(1);
    expect(h.pendingDelays()).toEqual([]);
    h.feed.retryNow();
    expect(h.sockets).toHaveLength(1);
  });

  it('stops as refused when the server closes with 4403', async () => {
    const h = harness(2);
    h.feed.start();
    await h.settle();
    h.sockets[0]?.close(WS_FORBIDDEN);
    expect(h.states.at(-1)).toBe('refused');
    expect(h.signedOut()).toBe(0);
    expect(h.pendingDelays()).toEqual([]);
  });

  it('reconnects at once after the last seq held when cut off for reading too slowly (4408)', async () => {
    const h = harness(2);
    h.feed.start();
    await h.settle();
    h.sockets[0]?.onopen?.();
    h.sockets[0]?.send(3, 4);
    h.sockets[0]?.close(WS_TOO_SLOW);
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1]?.after).toBe(4);
    expect(h.pendingDelays()).toEqual([]);
    h.sockets[1]?.send(4, 5);
    await h.tick();
    expect(h.seqs()).toEqual(range(1, 5));
  });

  it('stops for good: no socket, no timer, nothing added', async () => {
    const h = harness(2);
    h.feed.start();
    await h.settle();
    const s = h.sockets[0] as FakeSocket;
    h.feed.stop();
    expect(s.closed).toBe(true);
    s.send(3);
    await h.tick();
    expect(h.seqs()).toEqual([1, 2]);
    expect(h.sockets).toHaveLength(1);
  });
});

describe('EventLog', () => {
  it('keeps each seq once and in order, and returns what it added', () => {
    const l = new EventLog();
    expect(l.add([ev(1), ev(2)]).map((e) => e.seq)).toEqual([1, 2]);
    const before = l.events;
    expect(l.add([ev(2)])).toEqual([]);
    expect(l.events).toBe(before); // unchanged: same array, so React does not re-render
    expect(l.add([ev(5), ev(3), ev(4), ev(3)]).map((e) => e.seq)).toEqual([5, 3, 4]);
    expect(l.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(l.lastSeq).toBe(5);
  });
});
