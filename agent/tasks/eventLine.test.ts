import { describe, expect, it } from 'vitest';
import { MAX_AGENT_FRAME_BYTES, taskNotifications } from '../../sdk/agentProtocol.js';
import { eventLine, MAX_EVENT_LINE_CHARS, OVERSIZED_HEAD_CHARS } from './eventLine.js';
import { LineSplitter, type SplitLine } from './lineSplitter.js';

const whole = (text: string): SplitLine => ({ text, totalBytes: Buffer.byteLength(text), complete: true });

/** The frame the agent would send for this line. */
const frameBytes = (line: string) =>
  Buffer.byteLength(
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'task.event',
      params: { taskId: 'x'.repeat(64), seq: 1e9, line },
    }),
  );

describe('eventLine', () => {
  it('keeps a line that fits as it is, JSON or not', () => {
    expect(eventLine(whole('{"type":"assistant"}'))).toBe('{"type":"assistant"}');
    expect(eventLine(whole('not json \u0000 at all'))).toBe('not json \u0000 at all');
  });

  it('replaces a line over the limit with valid JSON that says so', () => {
    const line = JSON.stringify({ session_id: 's', type: 'user', text: 'y'.repeat(MAX_EVENT_LINE_CHARS) });
    const event = eventLine(whole(line));
    const parsed = JSON.parse(event);
    expect(parsed).toMatchObject({ type: 'rc_oversized', bytes: line.length, originalType: 'user' });
    expect(line.startsWith(parsed.head)).toBe(true);
    expect(parsed.head.length).toBe(OVERSIZED_HEAD_CHARS);
    expect(taskNotifications['task.event'].safeParse({ taskId: 't', seq: 1, line: event }).success).toBe(
      true,
    );
  });

  it('also replaces a line short in characters but over a frame once escaped', () => {
    const quotes = '"'.repeat(600_000); // 1.2 MB as a JSON string
    const event = eventLine(whole(quotes));
    expect(JSON.parse(event)).toMatchObject({ type: 'rc_oversized', bytes: 600_000 });
    expect(frameBytes(event)).toBeLessThan(MAX_AGENT_FRAME_BYTES);
    const controls = '\u0001'.repeat(OVERSIZED_HEAD_CHARS * 4); // six bytes each once escaped
    expect(frameBytes(eventLine(whole(controls)))).toBeLessThan(MAX_AGENT_FRAME_BYTES);
  });

  it('marks a line the splitter already cut, with its full size', () => {
    const lines: SplitLine[] = [];
    const splitter = new LineSplitter(10, (l) => lines.push(l));
    splitter.push(Buffer.from('0123456789abcdef\nshort\ntail'));
    splitter.end();
    expect(lines).toEqual([
      { text: '0123456789', totalBytes: 16, complete: false },
      { text: 'short', totalBytes: 5, complete: true },
      { text: 'tail', totalBytes: 4, complete: true },
    ]);
    expect(JSON.parse(eventLine(lines[0] as SplitLine))).toEqual({
      type: 'rc_oversized',
      bytes: 16,
      head: '0123456789',
    });
  });
});
