// Parsing stream-json lines into stored events, and live fan-out to viewers on every replica. A
// viewer that joins late gets the stored history and then the live tail with no gap and no
// duplicate: it starts listening before it reads the history, then drops live events it has
// already seen.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type ClaudeMessage, parseClaudeLine } from '../../sdk/claudeMessages.js';
import type { TaskEvent, TaskUsageFrame } from '../../sdk/taskWire.js';
import type { Pubsub } from '../cluster/pubsub.js';
import { iso } from '../store/schema.js';
import type { TaskStore } from '../store/taskStore.js';
import { readNotices, TASK_FEED_CHANNEL, TaskFeedPublisher } from './taskFeedNotices.js';
import { type TaskEventRow, TaskTail } from './taskTail.js';

export interface ParsedLine {
  /** What the event log stores as the event's type: the message's, "raw" or "unknown". */
  type: string;
  message: ClaudeMessage;
}

/**
 * Never throws: a line that is not a JSON object is type "raw"; one of a type the message model
 * (sdk/claudeMessages.ts) does not know, or malformed, is "unknown" (its line kept whole).
 */
export function parseLine(line: string): ParsedLine {
  const message = parseClaudeLine(line);
  if (message.kind !== 'unknown') return { type: message.data.type, message };
  const raw = message.raw;
  return { type: raw && typeof raw === 'object' && !Array.isArray(raw) ? 'unknown' : 'raw', message };
}

/**
 * The event as the API shows it. Its JSON (eventJson) is put together from the stored line
 * itself, which ingest already parsed into a JSON object to find its type, instead of parsing it
 * again only to serialise it once more for every event a viewer is sent; the payload is parsed
 * when something reads it (the list route's serialiser), once.
 */
export function toWireEvent(row: {
  seq: number;
  type: string;
  payload: string;
  created_at: string | Date;
}): TaskEvent {
  const createdAt = iso(row.created_at);
  const text = row.payload;
  // Only ingest writes events, and it gives a line a type other than "raw" only when the line
  // parsed as a JSON object (parseLine). The braces are checked too, so that a row written some
  // other way (by hand, say) without them still goes the parsing way.
  if (row.type === 'raw' || !isObjectText(text))
    return { seq: row.seq, type: row.type, payload: parsedPayload(row.type, text), createdAt };
  const e = new StoredEvent(row.seq, row.type, text, createdAt);
  serialised.set(
    e,
    `{"seq":${row.seq},"type":${JSON.stringify(row.type)},"payload":${text},"createdAt":"${createdAt}"}`,
  );
  return e;
}

/** A TaskEvent whose payload is parsed from its stored line when first read (toWireEvent). */
class StoredEvent implements TaskEvent {
  private parsed: { payload: unknown } | undefined;
  constructor(
    readonly seq: number,
    readonly type: string,
    private readonly text: string,
    readonly createdAt: string,
  ) {}

  get payload(): unknown {
    this.parsed ??= { payload: parsedPayload(this.type, this.text) };
    return this.parsed.payload;
  }

  toJSON(): TaskEvent {
    return { seq: this.seq, type: this.type, payload: this.payload, createdAt: this.createdAt };
  }
}

function isObjectText(text: string): boolean {
  const last = text.length - 1;
  return text.charCodeAt(0) === 0x7b /* { */ && text.charCodeAt(last) === 0x7d /* } */;
}

function parsedPayload(type: string, text: string): unknown {
  if (type === 'raw') return { raw: text };
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

const serialised = new WeakMap<TaskEvent, string>();

/** The event as JSON, computed once however many viewers send it. */
export function eventJson(e: TaskEvent): string {
  let s = serialised.get(e);
  if (s === undefined) {
    s = JSON.stringify(e);
    serialised.set(e, s);
  }
  return s;
}

const encoded = new WeakMap<TaskEvent, Buffer>();

/** The event's JSON as UTF-8, encoded once however many WebSocket viewers send it. */
export function eventBytes(e: TaskEvent): Buffer {
  let b = encoded.get(e);
  if (b === undefined) {
    b = Buffer.from(eventJson(e));
    encoded.set(e, b);
  }
  return b;
}

const sseFrames = new WeakMap<TaskEvent, string>();

/** The event as one SSE frame (`id`, `event: task_event`, `data`), built once for all viewers. */
export function eventSseFrame(e: TaskEvent): string {
  let f = sseFrames.get(e);
  if (f === undefined) {
    f = `id: ${e.seq}\nevent: task_event\ndata: ${eventJson(e)}\n\n`;
    sseFrames.set(e, f);
  }
  return f;
}

/** Rows read per history page while a viewer catches up. */
const REPLAY_PAGE = 500;

/**
 * Fan-out of newly stored events, task changes and metered usage to this replica's viewers.
 *
 * Events and usage reach viewers one way only, on every replica alike, the one that ingested them
 * included: ingest commits the events and publishes a notice (`stored`, taskFeedNotices.ts); each
 * replica receives it from the pubsub (its own notices too) and, for a task it has viewers of, its
 * TaskTail reads the rows after the last one it passed on and emits them here. So nothing is
 * delivered twice by two paths, a replica needs no idea of who ingested what, and SQLite mode
 * (MemoryPubsub) runs the very same code. The ingesting replica skips the read: ingest hands the
 * rows it just committed to the task's tail (`stored(…, rows)`), which passes them on when they
 * follow the last row it passed on and otherwise reads as at a notice.
 */
export class TaskFeed extends EventEmitter<{
  task: [string];
  usage: [string, TaskUsageFrame];
}> {
  private readonly tails = new Map<string, TaskTail>();
  /**
   * Each task's followers on this replica. Keyed by task, so a new event costs a call per viewer
   * of its own task, not one per viewer of every task (10,000 viewers of 1,000 tasks).
   */
  private readonly followers = new Map<string, Set<(e: TaskEvent) => void>>();
  private readonly publisher: TaskFeedPublisher;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly o: {
      store: TaskStore;
      pubsub: Pubsub;
      log: Logger;
    },
  ) {
    super();
    this.setMaxListeners(0);
    this.publisher = new TaskFeedPublisher(o.pubsub, o.log);
    this.unsubscribe = o.pubsub.subscribe(TASK_FEED_CHANNEL, (payload) => this.received(payload), {
      onResync: () => {
        for (const tail of this.tails.values()) tail.notice(Number.POSITIVE_INFINITY);
      },
    });
  }

  /**
   * Events of `taskId` up to `seq` are committed: every replica's viewers get them. `rows`, when
   * the caller has them (this replica ingested them), go straight to this replica's viewers
   * without being read back; the other replicas read them at the notice.
   */
  stored(taskId: string, seq: number, rows?: readonly TaskEventRow[]): void {
    if (rows && rows.length > 0) this.tails.get(taskId)?.offer(rows);
    this.publisher.stored(taskId, seq);
  }

  /** A usage frame for every replica's viewers of the task. */
  metered(f: TaskUsageFrame): void {
    this.publisher.metered(f);
  }

  /** Live followers of `taskId` on this replica, or of every task when it is omitted. */
  followerCount(taskId?: string): number {
    if (taskId !== undefined) return this.followers.get(taskId)?.size ?? 0;
    let n = 0;
    for (const set of this.followers.values()) n += set.size;
    return n;
  }

  /** Tasks whose new events this replica reads, because it has viewers of them. */
  get followedTasks(): number {
    return this.tails.size;
  }

  close(): void {
    this.publisher.flush();
    this.unsubscribe();
    for (const tail of this.tails.values()) tail.end();
    this.tails.clear();
  }

  /**
   * Calls `deliver` with each usage frame of the task from now until `signal` aborts. Frames are
   * live only: a viewer reads the totals so far from the task itself.
   */
  watchUsage(taskId: string, deliver: (f: TaskUsageFrame) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    const onUsage = (id: string, f: TaskUsageFrame) => {
      if (id === taskId) deliver(f);
    };
    this.on('usage', onUsage);
    signal.addEventListener('abort', () => this.off('usage', onUsage), { once: true });
  }

  /**
   * Calls `deliver` with every event after `after`, history first, then live, in seq order and
   * each once, until `signal` aborts. The live listener is attached, and the task's tail has read
   * where the task stands, before the history is read: the history reaches at least as far as
   * the tail starts. The listener goes the moment `signal` aborts, even in the middle of a long
   * replay (a viewer that leaves early must not leave a listener behind); no event is delivered
   * after that. Resolves once the history has been delivered (or the replay was abandoned).
   */
  async follow(
    taskId: string,
    after: number,
    deliver: (e: TaskEvent) => void,
    signal: AbortSignal,
    /**
     * Awaited before each history page after the first: the viewer's connection takes in what it
     * was sent before more is read, so a long history is not all buffered for a slow reader.
     */
    beforePage?: () => Promise<void>,
  ): Promise<void> {
    if (signal.aborted) return;
    let last = after;
    let replaying = true;
    const early: TaskEvent[] = [];
    const onEvent = (e: TaskEvent) => {
      if (signal.aborted) return;
      if (replaying) early.push(e);
      else if (e.seq > last) {
        last = e.seq;
        deliver(e);
      }
    };
    let set = this.followers.get(taskId);
    if (!set) {
      set = new Set();
      this.followers.set(taskId, set);
    }
    const mine = set;
    mine.add(onEvent);
    const release = this.acquire(taskId);
    const leave = () => {
      mine.delete(onEvent);
      if (mine.size === 0 && this.followers.get(taskId) === mine) this.followers.delete(taskId);
      release.done();
    };
    signal.addEventListener('abort', leave, { once: true });
    try {
      await release.ready;
      for (let page = 0; !signal.aborted; page++) {
        if (page > 0 && beforePage) await beforePage();
        if (signal.aborted) return;
        const rows = await this.o.store.events(taskId, last, REPLAY_PAGE);
        for (const r of rows) {
          if (signal.aborted) return;
          last = r.seq;
          deliver(toWireEvent(r));
        }
        if (rows.length < REPLAY_PAGE) break;
      }
      for (const e of early.sort((a, b) => a.seq - b.seq)) {
        if (signal.aborted) return;
        if (e.seq > last) {
          last = e.seq;
          deliver(e);
        }
      }
    } catch (err) {
      // A failed read ends this viewer's feed; its route closes the stream.
      leave();
      throw err;
    } finally {
      replaying = false;
      early.length = 0;
    }
  }

  /** The task's tail, made on its first follower; `done` (idempotent) lets go of it. */
  private acquire(taskId: string): { ready: Promise<void>; done(): void } {
    let tail = this.tails.get(taskId);
    if (!tail) {
      const created = new TaskTail({
        store: this.o.store,
        taskId,
        log: this.o.log,
        deliver: (row) => {
          const e = toWireEvent(row);
          for (const f of this.followers.get(taskId) ?? []) f(e);
        },
      });
      created.ready.catch(() => {
        if (this.tails.get(taskId) === created) this.tails.delete(taskId);
      });
      tail = created;
      this.tails.set(taskId, tail);
    }
    const held = tail;
    held.refs += 1;
    let released = false;
    return {
      ready: held.ready,
      done: () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        if (held.refs === 0 && this.tails.get(taskId) === held) {
          held.end();
          this.tails.delete(taskId);
        }
      },
    };
  }

  private received(payload: string): void {
    const notices = readNotices(payload);
    if (!notices) {
      this.o.log.warn({ payload }, 'a task feed notice could not be read');
      for (const tail of this.tails.values()) tail.notice(Number.POSITIVE_INFINITY);
      return;
    }
    for (const n of notices) {
      if (n.usage) this.emit('usage', n.taskId, { type: 'usage', taskId: n.taskId, ...n.usage });
      if (n.lastSeq !== undefined) this.tails.get(n.taskId)?.notice(n.lastSeq);
    }
  }
}
