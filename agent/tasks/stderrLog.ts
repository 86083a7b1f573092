import { log } from '../log.js';
import { LineSplitter } from './lineSplitter.js';

/** Lines logged from the start of Claude Code's stderr, and kept from its end. */
const HEAD_LINES = 20;
const TAIL_LINES = 20;
const LINE_KEEP_BYTES = 2048;
const TAIL_MAX_CHARS = 4096;

/**
 * Claude Code's stderr into the agent log, bounded: the first lines as they come (start-up
 * failures show there), then only the last ones, logged when the process ends with a count of
 * what was skipped. Stderr is diagnostics only; the conversation is on stdout.
 */
export class StderrLog {
  private logged = 0;
  private skipped = 0;
  private readonly tail: string[] = [];
  private readonly unlogged: string[] = [];
  private readonly splitter = new LineSplitter(LINE_KEEP_BYTES, ({ text }) => this.line(text));

  constructor(private readonly taskId: string) {}

  push(data: Buffer): void {
    this.splitter.push(data);
  }

  /** Logs what was held back; returns the last lines (at most 4 KiB) for the exit event. */
  end(): string {
    this.splitter.end();
    if (this.skipped > 0) log('task.stderr_skipped', { taskId: this.taskId, lines: this.skipped });
    for (const line of this.unlogged) log('task.stderr', { taskId: this.taskId, line });
    const tail = this.tail.join('\n');
    return tail.length > TAIL_MAX_CHARS ? tail.slice(-TAIL_MAX_CHARS) : tail;
  }

  private line(text: string): void {
    this.tail.push(text);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.logged < HEAD_LINES) {
      this.logged++;
      log('task.stderr', { taskId: this.taskId, line: text });
      return;
    }
    this.unlogged.push(text);
    if (this.unlogged.length > TAIL_LINES) {
      this.unlogged.shift();
      this.skipped++;
    }
  }
}
