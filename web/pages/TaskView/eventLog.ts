// The events a viewer holds, each seq once and in order. History pages and the WebSocket overlap
// around reconnects (the server resends from the `after` we ask for, and a frame can arrive twice
// if a socket dies mid-batch), so everything goes through `add`, which drops seqs already held.
import type { TaskEvent } from '../../../sdk/taskWire.js';

export class EventLog {
  private readonly seqs = new Set<number>();
  private list: TaskEvent[] = [];

  /** Adds the events not held yet and returns those. Keeps seq order. */
  add(events: readonly TaskEvent[]): TaskEvent[] {
    const added: TaskEvent[] = [];
    let sorted = true;
    for (const e of events) {
      if (!Number.isInteger(e.seq) || this.seqs.has(e.seq)) continue;
      const last = this.list[this.list.length - 1];
      if (added.length === 0) this.list = this.list.slice();
      if (last && e.seq < last.seq) sorted = false;
      this.seqs.add(e.seq);
      this.list.push(e);
      added.push(e);
    }
    if (!sorted) this.list.sort((a, b) => a.seq - b.seq);
    return added;
  }

  /** The events, as a new array after each change (so React sees the change). */
  get events(): readonly TaskEvent[] {
    return this.list;
  }

  /** The highest seq held: where a reconnect resumes (`after`). */
  get lastSeq(): number {
    return this.list[this.list.length - 1]?.seq ?? 0;
  }

  get size(): number {
    return this.list.length;
  }
}
