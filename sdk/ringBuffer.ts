/**
 * The last `capacity` bytes written, oldest dropped first. A terminal keeps one so a viewer that
 * attaches later (or the control plane after a restart) can redraw the screen. The cut may fall
 * inside a UTF-8 sequence or an escape sequence; terminals recover from that within a line.
 */
/**
 * Past this many chunks they are merged into one. Interactive output arrives a few bytes at a
 * time, and a million one-byte Buffers would cost a hundred times their content in overhead;
 * merging every 1024 pushes costs at most one capacity-sized copy per 1024 pushes.
 */
const MAX_CHUNKS = 1024;

export class RingBuffer {
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.total;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    if (data.length >= this.capacity) {
      // Copy: the caller may reuse its buffer, and a slice would pin the whole original.
      this.chunks = [Buffer.from(data.subarray(data.length - this.capacity))];
      this.total = this.capacity;
      return;
    }
    this.chunks.push(data);
    this.total += data.length;
    if (this.chunks.length > MAX_CHUNKS) this.chunks = [Buffer.concat(this.chunks, this.total)];
    while (this.total > this.capacity) {
      const first = this.chunks[0] as Buffer;
      const excess = this.total - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        this.total -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.total -= excess;
      }
    }
  }

  /** Everything buffered, oldest first, as one Buffer. */
  snapshot(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.total)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}
