// Reading a Server-Sent Events stream, after the spec's "interpreting an event stream"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// Node has fetch but no EventSource, and EventSource cannot send an Authorization header anyway.

export interface SseMessage {
  /** The last `id:` seen so far (it carries over to later messages, as the spec says). */
  id: string | undefined;
  /** `event:`, or "message" when the server gave none. */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/**
 * Incremental parser: `push` text as it arrives, in chunks of any size, and get back the messages
 * those chunks completed. Lines may end in CRLF, LF or CR; `:` lines are comments (keepalives); a
 * message is complete at a blank line, and one cut off by the end of the stream is dropped.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private started = false;
  /** The previous chunk ended in CR, so an LF at the start of the next one ends no further line. */
  private afterCR = false;
  lastEventId: string | undefined;

  push(text: string): SseMessage[] {
    let chunk = text;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
    }
    if (this.afterCR && chunk.length > 0) {
      this.afterCR = false;
      if (chunk.startsWith('\n')) chunk = chunk.slice(1);
    }
    this.buffer += chunk;
    const out: SseMessage[] = [];
    const eol = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = eol.exec(this.buffer); m; m = eol.exec(this.buffer)) {
      // A CR that ends the buffer may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && eol.lastIndex === this.buffer.length) this.afterCR = true;
      const message = this.line(this.buffer.slice(start, m.index));
      if (message) out.push(message);
      start = eol.lastIndex;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    // `retry:` and unknown fields are ignored: reconnecting is the caller's business.
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message =
      this.data.length > 0
        ? { id: this.lastEventId, event: this.event || 'message', data: this.data.join('\n') }
        : undefined;
    this.data = [];
    this.event = '';
    return message;
  }
}
