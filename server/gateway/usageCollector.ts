// Reads token usage out of a copy of a Messages API response while the original streams on to the
// client. Streaming responses are server-sent events: `message_start` carries the model and the
// input-side counts, and the last `message_delta` the final output count (its usage is cumulative,
// so any field it repeats replaces the earlier one). A plain JSON response has `model` and `usage`
// at the top level. https://docs.anthropic.com/en/api/messages-streaming
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import type { TokenUsage } from './pricing.js';

export interface ResponseUsage extends TokenUsage {
  model: string;
}

/** An SSE line or a JSON body longer than this is not usage; it is skipped rather than kept. */
const MAX_SSE_LINE = 1024 * 1024;
const MAX_JSON_BODY = 32 * 1024 * 1024;

type Sink = { write(text: string): void; result(): ResponseUsage | undefined };

export class UsageCollector {
  private readonly decoder = new StringDecoder('utf8');
  private readonly sink: Sink | undefined;
  private readonly unzip: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  private readonly unzipped: Promise<void> | undefined;
  private failed = false;

  /** `contentType` and `contentEncoding` are the response's headers; other bodies are ignored. */
  constructor(contentType: string | undefined, contentEncoding: string | undefined) {
    const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
    this.sink =
      type === 'text/event-stream' ? new SseSink() : type === 'application/json' ? new JsonSink() : undefined;
    const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
    if (!this.sink || encoding === 'identity') return;
    this.unzip =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? zlib.createGunzip()
        : encoding === 'deflate'
          ? zlib.createInflate()
          : encoding === 'br'
            ? zlib.createBrotliDecompress()
            : undefined;
    if (!this.unzip) {
      this.failed = true;
      return;
    }
    const unzip = this.unzip;
    unzip.on('data', (chunk: Buffer) => this.feed(chunk));
    this.unzipped = new Promise((resolve) => {
      unzip.on('end', resolve);
      unzip.on('error', () => {
        this.failed = true;
        resolve();
      });
    });
  }

  /** A chunk of the response body exactly as it came from the upstream. Never throws. */
  push(chunk: Buffer): void {
    if (!this.sink || this.failed) return;
    if (this.unzip) this.unzip.write(chunk);
    else this.feed(chunk);
  }

  /** The usage the body reported, once it has ended (or been cut off); undefined when it had none. */
  async finish(): Promise<ResponseUsage | undefined> {
    if (!this.sink) return undefined;
    if (this.unzip && !this.failed) {
      this.unzip.end();
      await this.unzipped;
    }
    if (this.failed && !this.unzip) return undefined;
    this.sink.write(this.decoder.end());
    return this.sink.result();
  }

  private feed(chunk: Buffer): void {
    this.sink?.write(this.decoder.write(chunk));
  }
}

class Counts {
  model: string | undefined;
  usage: Partial<Record<keyof TokenUsage, number>> = {};

  /** Takes the fields of an API `usage` object that are present; later values win. */
  merge(u: unknown): void {
    if (!u || typeof u !== 'object') return;
    const o = u as Record<string, unknown>;
    const set = (key: keyof TokenUsage, value: unknown) => {
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) this.usage[key] = value;
    };
    set('inputTokens', o.input_tokens);
    set('outputTokens', o.output_tokens);
    set('cacheCreationTokens', o.cache_creation_input_tokens);
    set('cacheReadTokens', o.cache_read_input_tokens);
    const split = o.cache_creation as Record<string, unknown> | undefined;
    if (split && typeof split === 'object') set('cacheCreation1hTokens', split.ephemeral_1h_input_tokens);
  }

  result(): ResponseUsage | undefined {
    const u = this.usage;
    if (this.model === undefined || (u.inputTokens === undefined && u.outputTokens === undefined)) {
      return undefined;
    }
    return {
      model: this.model,
      inputTokens: u.inputTokens ?? 0,
      outputTokens: u.outputTokens ?? 0,
      cacheCreationTokens: u.cacheCreationTokens ?? 0,
      cacheReadTokens: u.cacheReadTokens ?? 0,
      ...(u.cacheCreation1hTokens !== undefined ? { cacheCreation1hTokens: u.cacheCreation1hTokens } : {}),
    };
  }
}

/** Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html), line by line. */
class SseSink implements Sink {
  private readonly counts = new Counts();
  private pending = '';
  /** Dropping the rest of an over-long line. */
  private skipping = false;
  private event = '';
  private data: string[] = [];
  private dataBytes = 0;

  write(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.pending = '';
        continue;
      }
      const line = this.pending + piece;
      this.pending = '';
      this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (this.skipping) return;
    this.pending += text.slice(start);
    if (this.pending.length > MAX_SSE_LINE) {
      this.pending = '';
      this.skipping = true;
    }
  }

  result(): ResponseUsage | undefined {
    return this.counts.result();
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data' && this.wanted() && this.dataBytes + value.length <= MAX_SSE_LINE) {
      this.data.push(value);
      this.dataBytes += value.length;
    }
  }

  /** Only two event types carry usage; the many content deltas are never parsed. */
  private wanted(): boolean {
    return this.event === '' || this.event === 'message_start' || this.event === 'message_delta';
  }

  private dispatch(): void {
    const data = this.data.join('\n');
    this.event = '';
    this.data = [];
    this.dataBytes = 0;
    if (!data.includes('"message_start"') && !data.includes('"message_delta"')) return;
    let payload: { type?: unknown; message?: { model?: unknown; usage?: unknown }; usage?: unknown };
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    if (payload.type === 'message_start') {
      if (typeof payload.message?.model === 'string') this.counts.model = payload.message.model;
      this.counts.merge(payload.message?.usage);
    } else if (payload.type === 'message_delta') {
      this.counts.merge(payload.usage);
    }
  }
}

class JsonSink implements Sink {
  private readonly parts: string[] = [];
  private length = 0;
  private tooLong = false;

  write(text: string): void {
    if (this.tooLong || text === '') return;
    this.length += text.length;
    if (this.length > MAX_JSON_BODY) {
      this.tooLong = true;
      this.parts.length = 0;
      return;
    }
    this.parts.push(text);
  }

  result(): ResponseUsage | undefined {
    if (this.tooLong) return undefined;
    let body: { model?: unknown; usage?: unknown };
    try {
      body = JSON.parse(this.parts.join(''));
    } catch {
      return undefined;
    }
    const counts = new Counts();
    if (typeof body?.model === 'string') counts.model = body.model;
    counts.merge(body?.usage);
    return counts.result();
  }
}
