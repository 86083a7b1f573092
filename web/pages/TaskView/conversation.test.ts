// The conversation builder on real event logs: taskEvents.fixture.jsonl holds what
// GET /api/v1/tasks/:id/events returned for tasks run on the UI stack (test/ui/uiStack.ts: the
// real claude CLI 2.1.330 and the model stub), with only init's long tool and command lists cut.
// "ui" had Write and Edit allowed and a follow-up; "denied" had its Write denied with a message;
// "interrupted" was interrupted at once; "budget" ran out of budget; "cancelled" was cancelled
// while its Write waited, and its process then exited.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../../sdk/taskWire.js';
import { buildConversation, ConversationBuilder } from './conversation.js';
import type { ConvItem } from './convItem.js';

const fixtures = new Map<string, TaskEvent[]>();
for (const line of readFileSync(new URL('./taskEvents.fixture.jsonl', import.meta.url), 'utf8').split('\n')) {
  if (!line) continue;
  const { fixture, ...event } = JSON.parse(line) as TaskEvent & { fixture: string };
  fixtures.set(fixture, [...(fixtures.get(fixture) ?? []), event]);
}
const log = (name: string) => fixtures.get(name) ?? [];
const ofKind = <K extends ConvItem['kind']>(items: ConvItem[], kind: K) =>
  items.filter((i): i is Extract<ConvItem, { kind: K }> => i.kind === kind);

/** Every seq of the log is in exactly one row, so the list can show each once. */
function expectEachSeqOnce(events: TaskEvent[], items: ConvItem[]) {
  const shown = items.flatMap((i) => i.seqs).sort((a, b) => a - b);
  expect(shown).toEqual(events.map((e) => e.seq));
}

describe('buildConversation', () => {
  it('joins each tool call with its approval question and its result', () => {
    const events = log('ui');
    const items = buildConversation(events);
    expectEachSeqOnce(events, items);
    const [write, edit, bash] = ofKind(items, 'tool');
    expect(write).toMatchObject({
      name: 'Write',
      seq: 3,
      seqs: [3, 4, 5],
      approvalId: '959496c9-c3f4-498a-aa5b-6089e8089c7e',
      input: { file_path: '/workspace/notes.md', content: '# Notes\n\nfirst line\n' },
      result: { seq: 5, isError: false, decision: 'accept' },
    });
    expect(write?.result?.text).toMatch(/^File created successfully/);
    expect(edit).toMatchObject({ name: 'Edit', seqs: [6, 7, 8], input: { old_string: 'first line' } });
    // Bash ran a read-only command without asking.
    expect(bash).toMatchObject({ name: 'Bash', approvalId: null, seqs: [9, 10] });
    expect(bash?.result?.text).toBe('3 /workspace/notes.md');
  });

  it('keeps the assistant text, the session starts and a summary per turn', () => {
    const items = buildConversation(log('ui'));
    expect(items.map((i) => i.kind)).toEqual([
      'init',
      'text',
      'tool',
      'tool',
      'tool',
      'text',
      'result',
      'init',
      'text',
      'result',
      // The process ended when the next task in the workspace started.
      'exit',
    ]);
    const [init] = ofKind(items, 'init');
    expect(init).toMatchObject({ model: 'claude-opus-5-5', cwd: '/workspace', permissionMode: 'default' });
    expect(init?.tools).toContain('Bash');
    const texts = ofKind(items, 'text').map((t) => t.text);
    expect(texts[1]).toContain('**notes.md**');
    expect(texts[2]).toBe('Follow-up answered: the notes are fine.');
    const [first, second] = ofKind(items, 'result');
    expect(first).toMatchObject({ isError: false, interrupted: false, numTurns: 4, error: null });
    expect(first?.turnCostUsd).toBeCloseTo(0.222116, 6);
    // total_cost_usd adds up over the session; a turn's cost is the difference.
    expect(second?.turnCostUsd).toBeCloseTo(0.277988 - 0.222116, 6);
    expect(second).toMatchObject({ inputTokens: 13883, outputTokens: 17 });
  });

  it('marks a denied call as an error with the reason given, and a failed edit too', () => {
    const events = log('denied');
    const items = buildConversation(events);
    expectEachSeqOnce(events, items);
    const [write, edit] = ofKind(items, 'tool');
    expect(write?.result).toMatchObject({ isError: true, text: 'Not this file.', decision: 'reject' });
    expect(edit?.result?.isError).toBe(true);
    expect(edit?.result?.decision).toBeNull();
    expect(edit?.result?.text).toContain('String to replace not found');
  });

  it('shows an interrupt as its receipt, the note in the user role, and an interrupted turn', () => {
    const events = log('interrupted');
    const items = buildConversation(events);
    expectEachSeqOnce(events, items);
    expect(items.map((i) => i.kind)).toEqual(['notice', 'init', 'text', 'result', 'exit']);
    expect(items[0]).toMatchObject({ label: 'Interrupt received' });
    expect(items[2]).toMatchObject({ role: 'user', text: '[Request interrupted by user]' });
    expect(items[3]).toMatchObject({ interrupted: true, isError: true, error: null, turnCostUsd: 0 });
    // Its last turn was an error, so the CLI exits with 1 when its stdin closes.
    expect(items[4]).toMatchObject({ kind: 'exit', exitCode: 1, midTurn: false });
  });

  it('folds the echo of an approval answer (--replay-user-messages) into its tool call', () => {
    const events = log('ui');
    const ask = events.find((e) => e.type === 'control_request');
    const requestId = (ask?.payload as { request_id: string } | undefined)?.request_id;
    const last = events[events.length - 1]?.seq ?? 0;
    const echo: TaskEvent = {
      seq: last + 1,
      type: 'control_response',
      payload: {
        type: 'control_response',
        response: {
          subtype: 'success',
          request_id: requestId,
          response: { behavior: 'allow', updatedInput: {} },
        },
      },
      createdAt: '2026-12-02T00:00:00.000Z',
    };
    const items = buildConversation([...events, echo]);
    expectEachSeqOnce([...events, echo], items);
    const write = ofKind(items, 'tool').find((t) => t.approvalId === requestId);
    expect(write?.seqs).toContain(echo.seq);
    expect(items.some((i) => i.kind === 'notice' && i.label === 'Interrupt received')).toBe(false);
  });

  it('carries an API error: the synthetic message and the failed turn with its sentence', () => {
    const items = buildConversation(log('budget'));
    const error = ofKind(items, 'text').find((t) => t.apiError);
    expect(error?.text).toMatch(/budget of \$0\.01 is spent/);
    const [result] = ofKind(items, 'result');
    expect(result).toMatchObject({ isError: true, interrupted: false, terminalReason: 'api_error' });
    // The result repeats the message's sentence; the row says it once.
    expect(result?.error).toBeNull();
    const alone = buildConversation(log('budget').filter((e) => e.type !== 'assistant' || e.seq !== 6));
    expect(ofKind(alone, 'result')[0]?.error).toMatch(/^API Error: 400 Remote Claude: this task's budget/);
  });

  it("shows the process's exit", () => {
    const events = log('cancelled');
    const items = buildConversation(events);
    expectEachSeqOnce(events, items);
    expect(items.at(-1)).toMatchObject({
      kind: 'exit',
      exitCode: 0,
      signal: null,
      stderrTail: '',
      midTurn: false,
    });
    expect(ofKind(items, 'tool')[0]?.result?.text).toContain('Tool permission stream closed');
  });

  it('gives raw, unknown and oddly shaped events a row each and never throws', () => {
    const odd: TaskEvent[] = [
      { seq: 1, type: 'raw', payload: { raw: 'not json at all' }, createdAt: '' },
      { seq: 2, type: 'unknown', payload: { type: 'future_thing', x: 1 }, createdAt: '' },
      { seq: 3, type: 'assistant', payload: null, createdAt: '' },
      {
        seq: 4,
        type: 'user',
        payload: { message: { content: [{ type: 'tool_result', tool_use_id: 'nope' }] } },
        createdAt: '',
      },
      { seq: 5, type: 'result', payload: 'a string', createdAt: '' },
      {
        seq: 6,
        type: 'system',
        payload: { subtype: 'api_retry', attempt: 1, max_retries: 10, error_status: 529 },
        createdAt: '',
      },
      {
        seq: 7,
        type: 'control_request',
        payload: { request: { subtype: 'can_use_tool', tool_name: 'Bash' } },
        createdAt: '',
      },
      {
        seq: 8,
        type: 'rc_oversized',
        payload: { type: 'rc_oversized', bytes: 2000024, originalType: 'user' },
        createdAt: '',
      },
      { seq: 9, type: 'assistant', payload: { message: { content: 'text, not blocks' } }, createdAt: '' },
    ];
    const items = buildConversation(odd);
    expectEachSeqOnce(odd, items);
    expect(items.map((i) => (i.kind === 'notice' ? i.label : i.kind))).toEqual([
      'Output',
      'future_thing',
      'Assistant',
      'Tool result',
      'result',
      'Retrying the model API',
      'Asked to use Bash',
      'Oversized line',
      'Assistant',
    ]);
    expect(items[0]).toMatchObject({ detail: 'not json at all' });
  });

  it('builds the same rows event by event, replacing only the rows that change', () => {
    const events = log('ui');
    const b = new ConversationBuilder();
    for (const e of events.slice(0, 4)) b.add(e);
    const before = b.snapshot();
    for (const e of events.slice(4)) b.add(e);
    const after = b.snapshot();
    expect(after).toEqual(buildConversation(events));
    expect(after[0]).toBe(before[0]); // init: untouched
    expect(after[2]).not.toBe(before[2]); // the Write got its result
    expect(before[2]).toMatchObject({ kind: 'tool', result: null, seqs: [3, 4] });
  });

  it('tells a process that died inside a turn from one that ended after it', () => {
    const crash: TaskEvent[] = [
      ...log('ui').slice(0, 3),
      {
        seq: 4,
        type: 'rc_exit',
        payload: { type: 'rc_exit', exitCode: null, signal: 'SIGKILL', stderrTail: 'oom' },
        createdAt: '',
      },
    ];
    expect(buildConversation(crash).at(-1)).toMatchObject({ kind: 'exit', signal: 'SIGKILL', midTurn: true });
  });

  it('gives two content blocks of one event two rows, the seq on the first', () => {
    const e: TaskEvent = {
      seq: 7,
      type: 'assistant',
      payload: {
        message: {
          content: [
            { type: 'text', text: 'a' },
            { type: 'tool_use', id: 't', name: 'Read', input: {} },
          ],
        },
      },
      createdAt: '',
    };
    const items = buildConversation([e]);
    expect(items.map((i) => [i.key, i.seq, i.seqs])).toEqual([
      ['7', 7, [7]],
      ['7.1', 7, []],
    ]);
  });
});
