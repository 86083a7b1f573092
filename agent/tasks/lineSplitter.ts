/** One line of a byte stream, without its "\n". */
export interface SplitLine {
  /** The line's first bytes (all of them unless `totalBytes` is larger), decoded as UTF-8. */
  text: string;
  /** The line's full length in bytes. */
  totalBytes: number;
  /** False when the line was longer than the splitter keeps, and `text` holds only its start. */
  complete: boolean;
}

/**
 * Splits a byte stream on "\n" with bounded memory: of a line longer than `keepBytes` only the
 * first `keepBytes` are kept and the rest is counted, so a runaway line cannot exhaust the agent.
 * Splitting bytes (not text) is safe for UTF-8, where 0x0a never occurs inside a character.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(
    private readonly keepBytes: number,
    private readonly onLine: (line: SplitLine) => void,
  ) {}

  push(data: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) {
        this.add(data.subarray(start));
        return;
      }
      this.add(data.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
  }

  /** Emits a last line that had no "\n" (the stream ended). */
  end(): void {
    if (this.total > 0) this.emit();
  }

  private add(part: Buffer): void {
    if (part.length === 0) return;
    this.total += part.length;
    const room = this.keepBytes - this.kept;
    if (room <= 0) return;
    const keep = part.length > room ? part.subarray(0, room) : part;
    // Copy: the stream may reuse its buffer, and a small slice would pin a big one.
    this.chunks.push(Buffer.from(keep));
    this.kept += keep.length;
  }

  private emit(): void {
    const line = {
      text: Buffer.concat(this.chunks, this.kept).toString('utf8'),
      totalBytes: this.total,
      complete: this.kept === this.total,
    };
    this.chunks = [];
    this.kept = 0;
    this.total = 0;
    this.onLine(line);
  }
}
