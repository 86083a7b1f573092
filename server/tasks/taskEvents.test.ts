// The wire form of stored events: the JSON a viewer is sent is put together from the stored line
// (not parsed and serialised again), and must say exactly what parsing and serialising would.
import { describe, expect, it } from 'vitest';
import { eventBytes, eventJson, eventSseFrame, parseLine, toWireEvent } from './taskEvents.js';

const createdAt = '2026-12-04T10:00:00.000Z';
const row = (line: string, type = parseLine(line).type) => ({
  seq: 7,
  type,
  payload: line,
  created_at: createdAt,
});

/** What the event's JSON was before: the payload parsed, the whole serialised. */
function parsedThenSerialised(line: string, type: string): unknown {
  let payload: unknown;
  try {
    payload = type === 'raw' ? { raw: line } : JSON.parse(line);
  } catch {
    payload = { raw: line };
  }
  return JSON.parse(JSON.stringify({ seq: 7, type, payload, createdAt }));
}

describe('toWireEvent', () => {
  const lines = [
    '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"héllo \\u2028 \\"quoted\\" ✓"}]}}',
    '{"type":"stream_event","event":{"type":"content_block_delta","delta":{"text":"1.0e3"}},"n":1.0}',
    '{"type":"something_new","x":[1,2,{"y":null}]}',
    'plain text, not JSON',
    '[1,2,3]',
    '"a string"',
    '   {"type":"assistant"}   ',
  ];

  it.each(lines)('sends the same JSON as parsing and serialising would: %s', (line) => {
    const r = row(line);
    const e = toWireEvent(r);
    expect(JSON.parse(eventJson(e))).toEqual(parsedThenSerialised(line, r.type));
    expect(JSON.parse(eventBytes(e).toString('utf8'))).toEqual(parsedThenSerialised(line, r.type));
    const frame = eventSseFrame(e);
    expect(frame.startsWith('id: 7\nevent: task_event\ndata: ')).toBe(true);
    expect(JSON.parse(frame.split('data: ')[1]?.trim() as string)).toEqual(
      parsedThenSerialised(line, r.type),
    );
    // The object itself reads the same, payload included, and serialises the same.
    expect(JSON.parse(JSON.stringify(e))).toEqual(parsedThenSerialised(line, r.type));
    expect(e.payload).toEqual((parsedThenSerialised(line, r.type) as { payload: unknown }).payload);
  });

  it('does not trust a stored type when the line is not a JSON object after all', () => {
    const broken = toWireEvent(row('{"type":"assistant", truncated', 'assistant'));
    expect(JSON.parse(eventJson(broken))).toEqual({
      seq: 7,
      type: 'assistant',
      payload: { raw: '{"type":"assistant", truncated' },
      createdAt,
    });
  });
});
