// A task's events for one viewer: the history as JSON pages, then the live tail over a WebSocket
// that resumes after the last seq held whenever it drops (docs/tasks.md, "Live events"). Plain
// TypeScript with its I/O passed in, so the reconnect rules are tested without a browser
// (taskEventFeed.test.ts).
import { WS_FORBIDDEN, WS_TOO_SLOW, WS_UNAUTHORIZED } from '../../../sdk/limits.js';
import type { TaskEvent, TaskUsageFrame } from '../../../sdk/taskWire.js';
import { EventLog } from './eventLog.js';

/** `refused`: the server closed the socket because the viewer may no longer see the task (4403). */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'refused';

/** The part of a browser WebSocket the feed uses. */
export interface FeedSocket {
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev?: { code: number }) => void) | null;
  onerror: (() => void) | null;
  close(): void;
}

export interface FeedIo {
  fetchPage(after: number): Promise<{ items: TaskEvent[]; next: number | null }>;
  /** The whole history, when its download began before the feed did (historyPrefetch.ts). */
  takePrefetched?(): Promise<TaskEvent[]> | undefined;
  openSocket(after: number): FeedSocket;
  isOnline(): boolean;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export interface FeedListener {
  /** New events were added to `log` (after dropping seqs already held). */
  events(log: EventLog, added: TaskEvent[]): void;
  /** The whole history up to when the page was opened is in `log`. */
  historyLoaded(count: number): void;
  connection(state: Connection): void;
  /** The session ended (the socket closed with WS_UNAUTHORIZED); the feed has stopped. */
  signedOut?(): void;
  /** The task's cost and tokens moved (a live frame between the events; never replayed). */
  usage?(frame: TaskUsageFrame): void;
}

/** Live frames are applied together at most this often, so a burst renders once. */
const FLUSH_MS = 40;
/** After this many failed attempts in a row the viewer is shown as offline (still retrying). */
const OFFLINE_AFTER = 3;

export function reconnectDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** attempt);
}

export class TaskEventFeed {
  readonly log = new EventLog();
  private socket: FeedSocket | null = null;
  private pending: TaskEvent[] = [];
  private flushTimer: unknown = null;
  private retryTimer: unknown = null;
  private failures = 0;
  private stopped = false;
  private history = false;

  constructor(
    private readonly io: FeedIo,
    private readonly on: FeedListener,
  ) {}

  start(): void {
    this.on.connection('connecting');
    void this.loadHistory();
  }

  stop(): void {
    this.stopped = true;
    this.io.clearTimer(this.retryTimer);
    this.io.clearTimer(this.flushTimer);
    this.closeSocket();
  }

  /** Reconnect at once, e.g. when the browser comes back online. */
  retryNow(): void {
    if (this.stopped || this.socket) return;
    this.io.clearTimer(this.retryTimer);
    this.failures = 0;
    this.next();
  }

  private next(): void {
    if (this.history) this.connect();
    else void this.loadHistory();
  }

  private async loadHistory(): Promise<void> {
    // The pages are reported together at the end: rendering after each one would hold up the
    // next page's handling by a render of everything so far, which for thousands of events costs
    // more than the fetches.
    const added: TaskEvent[] = [];
    const prefetched = this.io.takePrefetched?.();
    if (prefetched) {
      try {
        added.push(...this.log.add(await prefetched));
        if (this.stopped) return;
        // It read up to the end of the log; the socket carries on after it.
        return this.historyDone(added);
      } catch {
        // Fetch it page by page below instead.
      }
    }
    try {
      let after: number | null = this.log.lastSeq;
      while (after !== null && !this.stopped) {
        const page = await this.io.fetchPage(after);
        if (this.stopped) return;
        added.push(...this.log.add(page.items));
        after = page.next;
      }
    } catch {
      if (added.length) this.on.events(this.log, added);
      this.failed();
      return;
    }
    if (!this.stopped) this.historyDone(added);
  }

  private historyDone(added: TaskEvent[]): void {
    if (added.length) this.on.events(this.log, added);
    this.history = true;
    this.on.historyLoaded(this.log.size);
    this.connect();
  }

  private connect(): void {
    const socket = this.io.openSocket(this.log.lastSeq);
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.on.connection('live');
    };
    socket.onmessage = (ev) => {
      const frame = parseFrame(ev.data);
      if (!frame) return;
      if (!('seq' in frame)) {
        this.on.usage?.(frame);
        return;
      }
      const event = frame;
      this.pending.push(event);
      if (this.flushTimer === null) this.flushTimer = this.io.setTimer(() => this.flush(), FLUSH_MS);
    };
    socket.onerror = () => socket.close();
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Apply what arrived before the drop, so the reconnect resumes after it.
      this.flush();
      if (this.stopped) return;
      // Reconnecting would be refused too: with 4401 the viewer signs in again, with 4403 stays out.
      if (ev?.code === WS_UNAUTHORIZED || ev?.code === WS_FORBIDDEN) {
        this.stop();
        if (ev.code === WS_UNAUTHORIZED) this.on.signedOut?.();
        else this.on.connection('refused');
        return;
      }
      // Cut off for reading too slowly (a background tab, a busy page): every event up to the
      // resume point has arrived, so it reconnects after the last seq held at once.
      if (ev?.code === WS_TOO_SLOW) {
        this.failures = 0;
        this.next();
        return;
      }
      this.failed();
    };
  }

  private flush(): void {
    this.io.clearTimer(this.flushTimer);
    this.flushTimer = null;
    const batch = this.pending;
    this.pending = [];
    const added = this.log.add(batch);
    if (added.length) this.on.events(this.log, added);
  }

  private failed(): void {
    if (this.stopped) return;
    this.failures += 1;
    this.on.connection(this.failures >= OFFLINE_AFTER || !this.io.isOnline() ? 'offline' : 'reconnecting');
    this.retryTimer = this.io.setTimer(() => this.next(), reconnectDelayMs(this.failures - 1));
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onclose = null;
    socket.onmessage = null;
    socket.close();
  }
}

/** An event (it has a seq), a usage frame, or null for anything else. */
function parseFrame(data: unknown): TaskEvent | TaskUsageFrame | null {
  if (typeof data !== 'string') return null;
  try {
    const f = JSON.parse(data) as Partial<TaskEvent> & Partial<TaskUsageFrame>;
    if (typeof f?.seq === 'number') return typeof f.type === 'string' ? (f as TaskEvent) : null;
    return f?.type === 'usage' && typeof f.costUsd === 'number' && typeof f.inputTokens === 'number'
      ? (f as TaskUsageFrame)
      : null;
  } catch {
    return null;
  }
}
