import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { log } from '../log.js';
import { LineSplitter } from './lineSplitter.js';

/** One stdout line of Claude Code with its number. */
export interface QueuedEvent {
  seq: number;
  line: string;
}

/** Where a record of the events file ends (the byte after its "\n"). */
interface FileRecord {
  seq: number;
  end: number;
}

/** Unacknowledged events kept in memory too, so that live sending never reads the disk. */
const MEMORY_BUDGET_CHARS = 16 * 1024 * 1024;
/** Compact when acknowledged records take at least this much, and half the file or more. */
const COMPACT_MIN_BYTES = 1024 * 1024;
/** At most this much per `read` (one event more if a single one is bigger). */
const READ_BATCH_CHARS = 4 * 1024 * 1024;
/** After a failed write (a full disk), try again this much later; the events stay in memory. */
const RETRY_WRITE_MS = 1000;
/** A record of the events file is at most a 900,000-character line (3 bytes each) and its seq. */
const MAX_RECORD_BYTES = 3 * 900_000 + 32;

/**
 * The durable queue of one task's events: `events` holds one record per event, `<seq>\t<line>\n`
 * (the line never contains "\n", so no escaping), and `acked` the highest seq the server has
 * stored. Both live in the workspace home, so the queue survives an agent or box restart.
 *
 * - Appends are group-committed: `append` numbers the line at once, and one write + fdatasync
 *   carries every line that arrived while the previous one was in flight. An event becomes
 *   `durable` only after its fdatasync, and only durable events are read for sending, so whatever
 *   the server has seen is on disk: the server can never ack an event a crash then loses.
 * - `ack` moves the watermark (written with a rename, not synced: a lost watermark only means
 *   resending, which the server ignores). The file is truncated when nothing in it is unacked,
 *   or rewritten without the acknowledged prefix once that prefix is 1 MiB and half the file.
 * - A record cut short by a crash (no "\n") is dropped on open; it was never durable, so never sent.
 *
 * File operations run one at a time on `io`; numbering and the in-memory state are synchronous.
 */
export class EventQueue {
  /** Called after each batch became durable. */
  onDurable: () => void = () => {};

  private pending: QueuedEvent[] = [];
  private pendingChars = 0;
  private flushQueued = false;
  private ackQueued = false;
  private recent: QueuedEvent[] = [];
  private recentChars = 0;
  /** Events up to this seq may be missing from `recent` (evicted over budget); read the file. */
  private evictedThrough = 0;
  private records: FileRecord[] = [];
  private fileBytes = 0;
  private io: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    private fh: FileHandle,
    private nextSeq: number,
    private durable: number,
    private acked: number,
  ) {}

  /**
   * Opens (creating it if needed) the queue in `dir`. A new queue starts with everything before
   * `firstSeq` counted as acknowledged.
   */
  static async open(dir: string, firstSeq = 1): Promise<EventQueue> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ackedText = await readFile(path.join(dir, 'acked'), 'utf8').catch(() => undefined);
    const storedAck = ackedText === undefined ? undefined : Number.parseInt(ackedText, 10);
    const fh = await open(path.join(dir, 'events'), 'a+', 0o600);
    // The directory entry of a new file must survive a crash as well as its contents.
    await syncDir(dir);
    const { records, events, validBytes, size } = await scan(fh);
    if (validBytes < size) {
      log('task.queue_torn_tail', { dir, droppedBytes: size - validBytes });
      await fh.truncate(validBytes);
    }
    const acked =
      storedAck !== undefined && Number.isSafeInteger(storedAck) && storedAck >= 0
        ? storedAck
        : events.length > 0
          ? 0
          : firstSeq - 1;
    const last = Math.max(records.at(-1)?.seq ?? 0, acked);
    const queue = new EventQueue(dir, fh, last + 1, last, acked);
    queue.records = records;
    queue.fileBytes = validBytes;
    for (const event of events) if (event.seq > acked) queue.remember(event);
    return queue;
  }

  /** The seq of the last event appended. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The highest seq the server acknowledged. */
  get ackedSeq(): number {
    return this.acked;
  }

  /** Whether some event is not acknowledged yet. */
  get hasUnacked(): boolean {
    return this.pending.length > 0 || this.acked < this.durable;
  }

  /** Characters appended but not yet on disk; the producer pauses when this grows. */
  get backlogChars(): number {
    return this.pendingChars;
  }

  /** Numbers from `seq` on if that is past the last event (a task resumed with a later firstSeq). */
  skipTo(seq: number): void {
    if (seq <= this.nextSeq) return;
    this.nextSeq = seq;
    // With nothing outstanding, the numbers skipped count as acknowledged (there are no such events).
    if (!this.hasUnacked) this.acked = this.durable = seq - 1;
  }

  /** Numbers `line` and queues it for the disk; returns its seq. */
  append(line: string): number {
    if (this.closed) throw new Error('the event queue is closed');
    const seq = this.nextSeq++;
    this.pending.push({ seq, line });
    this.pendingChars += line.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.enqueue(() => this.flush());
    }
    return seq;
  }

  /**
   * Durable events after `afterSeq` (and after the watermark), in order, a batch at a time:
   * call again with the last seq returned until the answer is empty.
   */
  async read(afterSeq: number): Promise<QueuedEvent[]> {
    const from = Math.max(afterSeq, this.acked);
    if (from >= this.durable) return [];
    if (from >= this.evictedThrough) return takeBatch(this.recent, firstAfter(this.recent, from));
    return this.enqueue(() => this.readFile(from));
  }

  /** Drops every event up to `seq` (never past the last durable one). */
  ack(seq: number): Promise<void> {
    const upTo = Math.min(seq, this.durable);
    if (upTo <= this.acked || this.closed) return Promise.resolve();
    this.acked = upTo;
    const keep = firstAfter(this.recent, upTo);
    for (const dropped of this.recent.splice(0, keep)) this.recentChars -= dropped.line.length;
    if (this.ackQueued) return this.io.then(() => {});
    this.ackQueued = true;
    return this.enqueue(() => this.afterAck());
  }

  /** Writes what is pending and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.enqueue(() => this.flush());
    this.closed = true;
    await this.enqueue(() => this.fh.close());
  }

  /** Closes the queue and deletes its directory (every event acknowledged). */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.io.then(op);
    // The caller gets `run` and its failure; the chain only orders the next operation after it.
    this.io = run.catch(() => {});
    return run;
  }

  private remember(event: QueuedEvent): void {
    this.recent.push(event);
    this.recentChars += event.line.length;
    while (this.recentChars > MEMORY_BUDGET_CHARS && this.recent.length > 1) {
      const evicted = this.recent.shift() as QueuedEvent;
      this.recentChars -= evicted.line.length;
      this.evictedThrough = evicted.seq;
    }
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const batch = this.pending;
    if (batch.length === 0 || this.closed) return;
    this.pending = [];
    this.pendingChars = 0;
    const parts = batch.map((e) => Buffer.from(`${e.seq}\t${e.line}\n`));
    try {
      await this.fh.appendFile(Buffer.concat(parts));
      await this.fh.datasync();
    } catch (err) {
      log('task.queue_write_failed', { dir: this.dir, error: (err as Error).message });
      // Undo a partial write so the retry does not leave half a record in the middle.
      // If even the truncate fails the disk is failing: the write failure is logged above and
      // the batch is retried, which is all that is left to do.
      await this.fh.truncate(this.fileBytes).catch(() => {});
      this.pending = batch.concat(this.pending);
      this.pendingChars += batch.reduce((n, e) => n + e.line.length, 0);
      setTimeout(() => {
        if (this.flushQueued || this.closed) return;
        this.flushQueued = true;
        this.enqueue(() => this.flush());
      }, RETRY_WRITE_MS).unref();
      return;
    }
    batch.forEach((event, i) => {
      this.fileBytes += (parts[i] as Buffer).length;
      this.records.push({ seq: event.seq, end: this.fileBytes });
      this.remember(event);
    });
    this.durable = (batch.at(-1) as QueuedEvent).seq;
    this.onDurable();
  }

  private async readFile(from: number): Promise<QueuedEvent[]> {
    const first = firstAfter(this.records, from);
    if (first >= this.records.length) return [];
    const start = first > 0 ? (this.records[first - 1] as FileRecord).end : 0;
    let last = first;
    while (
      last + 1 < this.records.length &&
      (this.records[last + 1] as FileRecord).end - start <= READ_BATCH_CHARS
    ) {
      last++;
    }
    const length = (this.records[last] as FileRecord).end - start;
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(buffer, 0, length, start);
    const events: QueuedEvent[] = [];
    const splitter = new LineSplitter(MAX_RECORD_BYTES, ({ text }) => {
      const event = parseRecord(text);
      if (event && event.seq > from) events.push(event);
    });
    splitter.push(buffer.subarray(0, bytesRead));
    return events;
  }

  private async afterAck(): Promise<void> {
    this.ackQueued = false;
    if (this.closed) return;
    const acked = this.acked;
    const tmp = path.join(this.dir, 'acked.tmp');
    await writeFile(tmp, `${acked}\n`, { mode: 0o600 });
    await rename(tmp, path.join(this.dir, 'acked'));
    const keep = firstAfter(this.records, acked);
    if (keep === 0) return;
    if (keep === this.records.length) {
      await this.fh.truncate(0);
      this.records = [];
      this.fileBytes = 0;
      return;
    }
    const dropBytes = (this.records[keep - 1] as FileRecord).end;
    if (dropBytes >= COMPACT_MIN_BYTES && dropBytes * 2 >= this.fileBytes)
      await this.compact(keep, dropBytes);
  }

  /** Rewrites the events file without its first `dropBytes` (the records before `keep`). */
  private async compact(keep: number, dropBytes: number): Promise<void> {
    const file = path.join(this.dir, 'events');
    const tmp = path.join(this.dir, 'events.tmp');
    await pipeline(
      createReadStream(file, { start: dropBytes, end: this.fileBytes - 1 }),
      createWriteStream(tmp, { mode: 0o600 }),
    );
    const written = await open(tmp, 'r+');
    await written.datasync();
    await written.close();
    await rename(tmp, file);
    await this.fh.close();
    this.fh = await open(file, 'a+', 0o600);
    this.records = this.records.slice(keep).map((r) => ({ seq: r.seq, end: r.end - dropBytes }));
    this.fileBytes -= dropBytes;
  }
}

/** Reads the whole events file: its records, their offsets, and where the last whole one ends. */
async function scan(
  fh: FileHandle,
): Promise<{ records: FileRecord[]; events: QueuedEvent[]; validBytes: number; size: number }> {
  const records: FileRecord[] = [];
  const events: QueuedEvent[] = [];
  let offset = 0;
  let bad = false;
  const splitter = new LineSplitter(MAX_RECORD_BYTES, ({ text, totalBytes, complete }) => {
    if (bad) return;
    const event = parseRecord(text);
    // A malformed record or a seq out of order can only come from damage: stop trusting the rest.
    if (!event || event.seq <= (records.at(-1)?.seq ?? 0) || !complete) {
      bad = true;
      return;
    }
    offset += totalBytes + 1;
    records.push({ seq: event.seq, end: offset });
    events.push(event);
  });
  const { size } = await fh.stat();
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  for (let position = 0; position < size && !bad; ) {
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    splitter.push(chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { records, events, validBytes: offset, size };
}

function parseRecord(text: string): QueuedEvent | undefined {
  const tab = text.indexOf('\t');
  const seq = Number(text.slice(0, tab));
  if (tab < 1 || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { seq, line: text.slice(tab + 1) };
}

/** Index of the first item whose seq is greater than `seq` (items sorted by seq). */
function firstAfter(items: readonly { seq: number }[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as { seq: number }).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function takeBatch(events: readonly QueuedEvent[], start: number): QueuedEvent[] {
  const batch: QueuedEvent[] = [];
  let chars = 0;
  for (let i = start; i < events.length && (batch.length === 0 || chars < READ_BATCH_CHARS); i++) {
    const event = events[i] as QueuedEvent;
    batch.push(event);
    chars += event.line.length;
  }
  return batch;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
