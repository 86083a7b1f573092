// One replica's reader of one task's new events while the replica has viewers of it: it starts at
// the task's last_seq, and whenever a notice says there is more (or the pubsub may have lost
// notices), reads the rows after the last one it passed on, in seq order. Notices may be
// coalesced, late or repeated: they only say "read again", the store says what is there.
import type { Logger } from 'pino';
import type { TaskStore } from '../store/taskStore.js';

/** What a viewer is sent of a stored event. */
export type TaskEventRow = Pick<
  Awaited<ReturnType<TaskStore['events']>>[number],
  'seq' | 'type' | 'payload' | 'created_at'
>;

const PAGE = 500;

export class TaskTail {
  /** Followers on this replica; the feed drops the tail when it reaches 0. */
  refs = 0;
  /** Resolves once `last` is the task's last_seq at creation: every event up to it is committed. */
  readonly ready: Promise<void>;
  private last = 0;
  private initialised = false;
  private dirty = false;
  private reading = false;
  private ended = false;

  constructor(
    private readonly o: {
      store: TaskStore;
      taskId: string;
      log: Logger;
      /** Called with each new row, in seq order, each once. */
      deliver(row: TaskEventRow): void;
    },
  ) {
    this.ready = o.store.byId(o.taskId).then((task) => {
      this.last = task?.last_seq ?? 0;
      this.initialised = true;
      void this.read();
    });
  }

  /** Events up to `seq` are committed; `Infinity` when any may have been missed. */
  notice(seq: number): void {
    if (seq <= this.last) return;
    this.dirty = true;
    void this.read();
  }

  /**
   * Rows just committed by this replica's ingest, in seq order: passed on as they are when they
   * follow the last row passed on and no read is running; otherwise read like at a notice.
   */
  offer(rows: readonly TaskEventRow[]): void {
    if (!this.initialised || this.ended) return;
    const top = rows.at(-1)?.seq ?? 0;
    let i = 0;
    while (i < rows.length && (rows[i] as TaskEventRow).seq <= this.last) i++;
    if (i === rows.length) return;
    if (this.reading || this.dirty) {
      this.notice(top);
      return;
    }
    for (; i < rows.length; i++) {
      const r = rows[i] as TaskEventRow;
      if (r.seq !== this.last + 1) {
        // A gap: the rows in between were stored apart (another replica's ingest, a resend).
        this.notice(top);
        return;
      }
      this.last = r.seq;
      this.o.deliver(r);
    }
  }

  end(): void {
    this.ended = true;
  }

  private async read(): Promise<void> {
    if (this.reading || !this.initialised || this.ended) return;
    this.reading = true;
    try {
      while (this.dirty && !this.ended) {
        this.dirty = false;
        let rows: TaskEventRow[];
        do {
          rows = await this.o.store.events(this.o.taskId, this.last, PAGE);
          for (const r of rows) {
            if (this.ended) return;
            this.last = r.seq;
            this.o.deliver(r);
          }
        } while (rows.length === PAGE);
      }
    } catch (err) {
      // Tried again at the next notice; the viewers wait until then.
      this.dirty = true;
      this.o.log.warn({ err, taskId: this.o.taskId }, 'could not read new task events');
    } finally {
      this.reading = false;
    }
  }
}
