import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UsageCollector } from './usageCollector.js';

const sse = (events: [string, unknown][], eol = '\n') =>
  events.map(([name, data]) => `event: ${name}${eol}data: ${JSON.stringify(data)}${eol}${eol}`).join('');

const stream = sse([
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        model: 'claude-sonnet-4-5-20250929',
        usage: {
          input_tokens: 12,
          output_tokens: 1,
          cache_creation_input_tokens: 300,
          cache_read_input_tokens: 4000,
          cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 100 },
        },
      },
    },
  ],
  [
    'content_block_start',
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'héllo ✓' } },
  ],
  ['ping', { type: 'ping' }],
  [
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 57 } },
  ],
  ['message_stop', { type: 'message_stop' }],
]);

const expected = {
  model: 'claude-sonnet-4-5-20250929',
  inputTokens: 12,
  outputTokens: 57,
  cacheCreationTokens: 300,
  cacheCreation1hTokens: 100,
  cacheReadTokens: 4000,
};

describe('UsageCollector', () => {
  it('reads SSE usage fed one byte at a time, multi-byte characters split included', async () => {
    const c = new UsageCollector('text/event-stream; charset=utf-8', undefined);
    const bytes = Buffer.from(stream);
    for (let i = 0; i < bytes.length; i++) c.push(bytes.subarray(i, i + 1));
    expect(await c.finish()).toEqual(expected);
  });

  it('reads CRLF-delimited events and takes cumulative fields from message_delta', async () => {
    const text = sse(
      [
        [
          'message_start',
          { type: 'message_start', message: { model: 'm', usage: { input_tokens: 5, output_tokens: 1 } } },
        ],
        ['message_delta', { type: 'message_delta', usage: { input_tokens: 7, output_tokens: 9 } }],
      ],
      '\r\n',
    );
    const c = new UsageCollector('text/event-stream', undefined);
    c.push(Buffer.from(text));
    expect(await c.finish()).toEqual({
      model: 'm',
      inputTokens: 7,
      outputTokens: 9,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
    });
  });

  it('keeps what message_start said when the stream is cut off', async () => {
    const c = new UsageCollector('text/event-stream', undefined);
    c.push(Buffer.from(stream.slice(0, stream.indexOf('message_delta'))));
    expect(await c.finish()).toMatchObject({ inputTokens: 12, outputTokens: 1 });
  });

  it('skips an over-long line without keeping it and goes on', async () => {
    const c = new UsageCollector('text/event-stream', undefined);
    c.push(Buffer.from(`event: content_block_delta\ndata: ${'x'.repeat(3 * 1024 * 1024)}\n\n`));
    c.push(Buffer.from(stream));
    expect(await c.finish()).toEqual(expected);
  });

  it('reads a JSON body, gzip-compressed too', async () => {
    const body = JSON.stringify({
      type: 'message',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'hi' }],
      usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 5 },
    });
    const plain = new UsageCollector('application/json', undefined);
    plain.push(Buffer.from(body));
    const want = {
      model: 'claude-haiku-4-5',
      inputTokens: 3,
      outputTokens: 4,
      cacheCreationTokens: 0,
      cacheReadTokens: 5,
    };
    expect(await plain.finish()).toEqual(want);

    const zipped = zlib.gzipSync(body);
    const gz = new UsageCollector('application/json', 'gzip');
    gz.push(zipped.subarray(0, 10));
    gz.push(zipped.subarray(10));
    expect(await gz.finish()).toEqual(want);
  });

  it('reports nothing for bodies without usage', async () => {
    const error = new UsageCollector('application/json', undefined);
    error.push(Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"x"}}'));
    expect(await error.finish()).toBeUndefined();
    const count = new UsageCollector('application/json', undefined);
    count.push(Buffer.from('{"input_tokens":10}'));
    expect(await count.finish()).toBeUndefined();
    const html = new UsageCollector('text/html', undefined);
    html.push(Buffer.from('<p>'));
    expect(await html.finish()).toBeUndefined();
    const broken = new UsageCollector('application/json', 'gzip');
    broken.push(Buffer.from('not gzip'));
    expect(await broken.finish()).toBeUndefined();
  });
});
