// The message model on recorded real logs: test/fixtures/claudeLogs.jsonl (the claude CLI against
// the model stub, see test/fixtures/recordClaudeLogs.ts) and the task event logs the web UI's
// tests use (web/pages/TaskView/taskEvents.fixture.jsonl, recorded on the UI stack). Every line of
// them must parse to its known kind and lose nothing; bad input must never throw.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, parseClaudeLine, parseClaudeMessage } from './claudeMessages.js';

function jsonl(path: string): Record<string, unknown>[] {
  return readFileSync(new URL(path, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const cliLines = jsonl('../test/fixtures/claudeLogs.jsonl').map((r) => ({
  log: String(r.log),
  line: r.line as Record<string, unknown>,
}));
const uiLines = jsonl('../web/pages/TaskView/taskEvents.fixture.jsonl').map((r) => ({
  log: `ui:${String(r.fixture)}`,
  line: r.payload as Record<string, unknown>,
}));
const recorded = [...cliLines, ...uiLines];

function expectedKind(m: Record<string, unknown>): string {
  if (m.type === 'system' && m.subtype === 'init') return 'init';
  if (m.type === 'control_request' && (m.request as { subtype?: string } | null)?.subtype === 'can_use_tool')
    return 'approval_request';
  return String(m.type);
}

describe('parseClaudeMessage on recorded logs', () => {
  it('has the message types it is meant to cover', () => {
    const kinds = new Set(recorded.map((r) => expectedKind(r.line)));
    for (const k of [
      'init',
      'system',
      'assistant',
      'user',
      'result',
      'approval_request',
      'control_response',
      'control_cancel_request',
      'stream_event',
      'rc_exit',
    ])
      expect(kinds).toContain(k);
  });

  it('parses every line to its known kind and keeps every field as it was', () => {
    for (const { log, line } of recorded) {
      const m = parseClaudeMessage(line);
      expect({ log, kind: m.kind, reason: m.kind === 'unknown' ? m.reason : '' }).toEqual({
        log,
        kind: expectedKind(line),
        reason: '',
      });
      // Strict: an optional field dropped as malformed, or a block turned `unknown`, would show.
      if (m.kind !== 'unknown') expect(m.data).toStrictEqual(line);
    }
  });
});

describe('parseClaudeMessage on bad input', () => {
  it('makes anything that is not a message of a known type `unknown`, with the raw value', () => {
    for (const raw of [null, 3, 'text', [], [{ type: 'user' }]])
      expect(parseClaudeMessage(raw)).toEqual({ kind: 'unknown', raw, reason: 'not a JSON object' });
    expect(parseClaudeMessage({ type: 'telepathy', x: 1 })).toEqual({
      kind: 'unknown',
      raw: { type: 'telepathy', x: 1 },
      reason: 'unknown type "telepathy"',
    });
    expect(parseClaudeMessage({ subtype: 'init' })).toMatchObject({ kind: 'unknown' });
    expect(parseClaudeLine('not json {')).toEqual({ kind: 'unknown', raw: 'not json {', reason: 'not JSON' });
  });

  it('reads an init or a tool call without the ids the renderers do not need', () => {
    expect(parseClaudeMessage({ type: 'system', subtype: 'init', model: 'm' })).toMatchObject({
      kind: 'init',
      data: { model: 'm' },
    });
    const call = parseClaudeMessage({
      type: 'assistant',
      message: { content: [{ type: 'tool_use', name: 'Write', input: {} }] },
    });
    expect(call).toMatchObject({ kind: 'assistant', data: { message: { content: [{ type: 'tool_use' }] } } });
  });

  it('makes a message missing a field it cannot do without `unknown`, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ type: 'assistant', message: { content: 'not blocks' } }, 'assistant: message.content'],
      [{ type: 'user' }, 'user: message'],
      [
        { type: 'control_request', request_id: 'r', request: { subtype: 'can_use_tool' } },
        'approval_request: request.tool_name',
      ],
      [{ type: 'control_request', request: { subtype: 'interrupt' } }, 'control_request: request_id'],
      [{ type: 'control_cancel_request' }, 'control_cancel_request: request_id'],
      [{ type: 'stream_event', event: 'x' }, 'stream_event: event'],
    ];
    for (const [raw, reason] of cases) {
      const m = parseClaudeMessage(raw);
      expect(m).toMatchObject({ kind: 'unknown', raw });
      expect(m.kind === 'unknown' && m.reason).toContain(reason);
    }
  });

  it('drops a malformed optional field, keeps unknown fields and keeps unknown blocks raw', () => {
    const m = parseClaudeMessage({
      type: 'assistant',
      aborted: 'yes',
      newField: { a: 1 },
      message: {
        content: [
          { type: 'text', text: 'hi', citations: [] },
          { type: 'text', text: 42 },
          { type: 'hologram', data: 'x' },
          'not a block',
        ],
      },
    });
    expect(m).toEqual({
      kind: 'assistant',
      data: {
        type: 'assistant',
        aborted: undefined,
        newField: { a: 1 },
        message: {
          content: [
            { type: 'text', text: 'hi', citations: [] },
            { type: 'unknown', raw: { type: 'text', text: 42 } },
            { type: 'unknown', raw: { type: 'hologram', data: 'x' } },
            { type: 'unknown', raw: 'not a block' },
          ],
        },
      },
    });
    const r = parseClaudeMessage({ type: 'result', is_error: 'no', num_turns: '3', total_cost_usd: 0.5 });
    expect(r).toEqual({
      kind: 'result',
      data: { type: 'result', is_error: undefined, num_turns: undefined, total_cost_usd: 0.5 },
    });
  });

  it('never throws, whatever a field of a recorded message is replaced with', () => {
    const junk = [null, 0, -1, 'x', '', true, [], [null], {}, { type: 'text' }, Number.NaN];
    for (const { line } of recorded.filter((_, i) => i % 7 === 0))
      for (const key of Object.keys(line))
        for (const value of junk) {
          const m = parseClaudeMessage({ ...line, [key]: value });
          expect(['unknown', expectedKind({ ...line, [key]: value })]).toContain(m.kind);
        }
  });

  it('lists the types the event log stores as known', () => {
    expect([...MESSAGE_TYPES].sort()).toEqual(
      [
        'assistant',
        'control_cancel_request',
        'control_request',
        'control_response',
        'rc_exit',
        'rc_oversized',
        'result',
        'stream_event',
        'system',
        'user',
      ].sort(),
    );
  });
});
