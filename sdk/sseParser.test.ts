import { describe, expect, it } from 'vitest';
import { SseParser } from './sseParser.js';

const STREAM =
  ': remote-claude task events\n\n' +
  'id: 1\nevent: task_event\ndata: {"seq":1}\n\n' +
  ': keepalive\n\n' +
  'id: 2\r\nevent: task_event\r\ndata: {"seq":\r\ndata:2}\r\n\r\n' +
  'id: 3\revent: task_event\rdata: {"seq":3}\r\r' +
  'data: no event name\n\n' +
  'id: 4\nevent: task_event\ndata: {"seq":4}';

describe('SseParser', () => {
  it('reads ids, event names, multi-line data and comments, whatever the line ends', () => {
    const parser = new SseParser();
    expect(parser.push(STREAM)).toEqual([
      { id: '1', event: 'task_event', data: '{"seq":1}' },
      { id: '2', event: 'task_event', data: '{"seq":\n2}' },
      { id: '3', event: 'task_event', data: '{"seq":3}' },
      { id: '3', event: 'message', data: 'no event name' },
    ]);
    // The last message has no blank line yet: not dispatched, but its id is already known.
    expect(parser.lastEventId).toBe('4');
    expect(parser.push('\n\n')).toEqual([{ id: '4', event: 'task_event', data: '{"seq":4}' }]);
  });

  it('gives the same messages however the stream is cut into chunks', () => {
    const whole = new SseParser().push(`\uFEFF${STREAM}\n\n`);
    for (const size of [1, 2, 3, 7, 13]) {
      const parser = new SseParser();
      const got = [];
      const text = `\uFEFF${STREAM}\n\n`;
      for (let i = 0; i < text.length; i += size) got.push(...parser.push(text.slice(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('takes CR and LF split across chunks as one line end, and CR then LF LF as two', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ id: undefined, event: 'message', data: 'a' }]);
  });

  it('treats a field without a colon as empty and ignores retry and unknown fields', () => {
    const parser = new SseParser();
    expect(parser.push('retry: 10\nfoo: bar\ndata\ndata:x\n\nevent: lonely\n\n')).toEqual([
      { id: undefined, event: 'message', data: '\nx' },
    ]);
  });
});
