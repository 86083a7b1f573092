// Parsing stream-json lines into stored events, and live fan-out to viewers. A viewer that joins
// late gets the stored history and then the live tail with no gap and no duplicate: it starts
// listening before it reads the history, then drops live events it has already seen.
import { EventEmitter } from 'node:events';
import { type ClaudeMessage, parseClaudeLine } from '../../sdk/claudeMessages.js';
import type { TaskEvent } from '../../sdk/taskWire.js';
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

/** In-process fan-out of newly stored events and task changes. */
export class TaskFeed extends EventEmitter<{ event: [string, TaskEvent]; task: [string] }> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /**
   * Calls `deliver` with every event after `after`, history first, then live, in seq order and
   * each once, until the returned function is called.
   */
  async follow(
    store: TaskStore,
    taskId: string,
    after: number,
    deliver: (e: TaskEvent) => void,
  ): Promise<() => void> {
    let last = after;
    let replaying = true;
    const early: TaskEvent[] = [];
    const onEvent = (id: string, e: TaskEvent) => {
      if (id !== taskId) return;
      if (replaying) early.push(e);
      else if (e.seq > last) {
        last = e.seq;
        deliver(e);
      }
    };
    this.on('event', onEvent);
    try {
      for (;;) {
        const rows = await store.events(taskId, last, 500);
        for (const r of rows) {
          last = r.seq;
          deliver(toWireEvent(r));
        }
        if (rows.length < 500) break;
      }
      for (const e of early.sort((a, b) => a.seq - b.seq)) {
        if (e.seq > last) {
          last = e.seq;
          deliver(e);
        }
      }
    } finally {
      replaying = false;
    }
    return () => this.off('event', onEvent);
  }
}
