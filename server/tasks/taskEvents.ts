// Parsing stream-json lines into stored events, and live fan-out to viewers. A viewer that joins
// late gets the stored history and then the live tail with no gap and no duplicate: it starts
// listening before it reads the history, then drops live events it has already seen.
import { EventEmitter } from 'node:events';
import { type ClaudeMessage, parseClaudeLine } from '../../sdk/claudeMessages.js';
import type { TaskEvent, TaskUsageFrame } from '../../sdk/taskWire.js';
import { iso } from '../store/schema.js';
import type { TaskStore } from '../store/taskStore.js';

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

export function toWireEvent(row: {
  seq: number;
  type: string;
  payload: string;
  created_at: string | Date;
}): TaskEvent {
  let payload: unknown;
  if (row.type === 'raw') payload = { raw: row.payload };
  else {
    try {
      payload = JSON.parse(row.payload);
    } catch {
      payload = { raw: row.payload };
    }
  }
  return { seq: row.seq, type: row.type, payload, createdAt: iso(row.created_at) };
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

/** Rows read per history page while a viewer catches up. */
const REPLAY_PAGE = 500;

/** In-process fan-out of newly stored events, task changes and metered usage. */
export class TaskFeed extends EventEmitter<{
  event: [string, TaskEvent];
  task: [string];
  usage: [string, TaskUsageFrame];
}> {
  constructor() {
    super();
    this.setMaxListeners(0);
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
   * each once, until `signal` aborts. The live listener is attached before the history is read
   * and removed the moment `signal` aborts, even in the middle of a long replay (a viewer that
   * leaves early must not leave a listener behind); no event is delivered after that.
   * Resolves once the history has been delivered (or the replay was abandoned).
   */
  async follow(
    store: TaskStore,
    taskId: string,
    after: number,
    deliver: (e: TaskEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    let last = after;
    let replaying = true;
    const early: TaskEvent[] = [];
    const onEvent = (id: string, e: TaskEvent) => {
      if (id !== taskId || signal.aborted) return;
      if (replaying) early.push(e);
      else if (e.seq > last) {
        last = e.seq;
        deliver(e);
      }
    };
    this.on('event', onEvent);
    signal.addEventListener('abort', () => this.off('event', onEvent), { once: true });
    try {
      while (!signal.aborted) {
        const rows = await store.events(taskId, last, REPLAY_PAGE);
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
      // A failed history read ends this viewer's feed; its route closes the stream.
      this.off('event', onEvent);
      throw err;
    } finally {
      replaying = false;
      early.length = 0;
    }
  }
}
