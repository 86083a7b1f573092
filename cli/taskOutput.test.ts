import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../sdk/taskWire.js';
import { TaskRenderer } from './taskOutput.js';

const SESSION = 'd04434fb-32df-4632-917d-889e21f58117';
const APPROVAL = 'f78a8f3b-e14d-4c38-ad79-b1bf8f8713c3';

/**
 * Two turns recorded from Claude Code 2.1.330 (`-p --input-format stream-json --output-format
 * stream-json --verbose --permission-prompt-tool stdio`) against test/support/modelStub.ts, paths
 * moved to /workspace and long fields the renderer ignores (tool and skill lists, usage details)
 * cut; then the platform's own events and a few kinds the recording did not happen to contain.
 */
const RECORDED: [type: string, payload: unknown][] = [
  [
    'system',
    {
      type: 'system',
      subtype: 'init',
      cwd: '/workspace',
      session_id: SESSION,
      tools: ['Bash', 'Edit', 'Read', 'Write'],
      mcp_servers: [],
      model: 'claude-opus-5-5',
      permissionMode: 'default',
      apiKeySource: 'ANTHROPIC_API_KEY',
      claude_code_version: '2.1.330',
      output_style: 'default',
      uuid: '0d1c3d45-5fa2-4de7-80fd-5b1518230953',
    },
  ],
  [
    'assistant',
    assistant('msg_stub_1', [
      { type: 'thinking', thinking: 'The user wants a file.\nWrite it.', signature: 'c2ln' },
      { type: 'text', text: 'I will write the file.' },
    ]),
  ],
  [
    'assistant',
    assistant('msg_stub_1', [
      {
        type: 'tool_use',
        id: 'toolu_stub_1_1',
        name: 'Write',
        input: { file_path: '/workspace/hello.txt', content: 'hello\n' },
      },
    ]),
  ],
  [
    'control_request',
    {
      type: 'control_request',
      request_id: APPROVAL,
      request: {
        subtype: 'can_use_tool',
        tool_name: 'Write',
        display_name: 'Write',
        input: { file_path: '/workspace/hello.txt', content: 'hello\n' },
        description: 'hello.txt',
        permission_suggestions: [{ type: 'setMode', mode: 'acceptEdits', destination: 'session' }],
        tool_use_id: 'toolu_stub_1_1',
      },
    },
  ],
  [
    'user',
    toolResult(
      'toolu_stub_1_1',
      'File created successfully at: /workspace/hello.txt (file state is current in your context — no need to Read it back)',
    ),
  ],
  [
    'assistant',
    assistant('msg_stub_2', [
      {
        type: 'tool_use',
        id: 'toolu_stub_2_0',
        name: 'Bash',
        input: { command: 'cat hello.txt\necho done', description: 'show it' },
      },
    ]),
  ],
  ['user', toolResult('toolu_stub_2_0', 'hello\ndone', false)],
  [
    'assistant',
    assistant('msg_stub_3', [
      {
        type: 'tool_use',
        id: 'toolu_stub_3_0',
        name: 'Bash',
        input: { command: 'npm test', description: 'run the tests' },
      },
    ]),
  ],
  [
    'user',
    toolResult(
      'toolu_stub_3_0',
      [{ type: 'text', text: 'Exit code 1\n> app@1.0.0 test\n> node --test\n\nnot ok 1 - adds\n' }],
      true,
    ),
  ],
  ['assistant', assistant('msg_stub_4', [{ type: 'text', text: 'Both done.' }])],
  [
    'result',
    {
      type: 'result',
      subtype: 'success',
      is_error: false,
      duration_ms: 23_412,
      duration_api_ms: 71,
      num_turns: 3,
      result: 'Both done.',
      stop_reason: 'end_turn',
      session_id: SESSION,
      total_cost_usd: 0.16346,
      usage: { input_tokens: 40440, output_tokens: 85 },
      permission_denials: [],
      terminal_reason: 'completed',
      uuid: '472f9a4b-aa58-41a4-9c7e-0608ef578631',
    },
  ],
  ['raw', { raw: 'Warning: no stdin data received in 3s, proceeding without it.' }],
  [
    'system',
    {
      type: 'system',
      subtype: 'api_retry',
      attempt: 1,
      max_retries: 10,
      retry_delay_ms: 516,
      error_status: 529,
      error: 'overloaded',
      session_id: SESSION,
    },
  ],
  [
    'assistant',
    {
      ...assistant('6b951bf2-5fd1-4156-aa89-b6ed36d1f4fc', [
        {
          type: 'text',
          text: 'API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment.',
        },
      ]),
      error: 'server_error',
      is_api_error_message: true,
      api_error_status: 529,
    },
  ],
  [
    'result',
    {
      type: 'result',
      subtype: 'success',
      is_error: true,
      duration_ms: 1810,
      num_turns: 1,
      result:
        'API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment.',
      total_cost_usd: 0,
      terminal_reason: 'api_error',
      api_error_status: 529,
    },
  ],
  [
    'result',
    {
      type: 'result',
      subtype: 'error_max_turns',
      is_error: true,
      duration_ms: 125_000,
      num_turns: 1,
      total_cost_usd: 0.0042,
    },
  ],
  ['control_cancel_request', { type: 'control_cancel_request', request_id: 'a1b2' }],
  ['rc_oversized', { type: 'rc_oversized', bytes: 2_000_000, originalType: 'user', head: '{"type":"user"' }],
  ['unknown', { type: 'keep_alive' }],
  ['rc_exit', { type: 'rc_exit', exitCode: 1, signal: null, stderrTail: 'starting\nError: out of memory\n' }],
  ['rc_exit', { type: 'rc_exit', exitCode: null, signal: 'SIGTERM', stderrTail: '' }],
  ['control_response', { type: 'control_response', response: { subtype: 'success', request_id: 'x' } }],
];

const EXPECTED = `Claude Code 2.1.330 · model claude-opus-5-5 · permissions default
thinking: The user wants a file. …

I will write the file.

▸ Write hello.txt
approval needed: Write /workspace/hello.txt — rclaude task approve 1a2b3c4d ${APPROVAL} (or deny)
  ⎿ File created successfully at: /workspace/hello.txt (file state is current in your context — no need to Read it back)
▸ Bash: cat hello.txt …
  ⎿ hello
    done
▸ Bash: npm test
  ⎿ error: Exit code 1
    > app@1.0.0 test
    > node --test
    … +2 lines

Both done.

✓ succeeded · 3 turns · $0.16 · 23.4s

Warning: no stdin data received in 3s, proceeding without it.
API error 529 overloaded; retrying (attempt 1 of 10)
error: API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment.

✗ failed · 1 turn · $0.00 · 1.8s

✗ failed: reached the maximum number of turns · 1 turn · $0.0042 · 2m 5s

approval a1b2 withdrawn
(a user of 2000000 bytes was too large to keep)
(an event of type keep_alive)
Claude Code exited with code 1: Error: out of memory
Claude Code ended (signal SIGTERM)`;

function events(): TaskEvent[] {
  return RECORDED.map(([type, payload], i) => ({
    seq: i + 1,
    type,
    payload,
    createdAt: new Date(Date.UTC(2026, 0, 1, 10, 0, i)).toISOString(),
  }));
}

function renderAll(color: boolean): string {
  const r = new TaskRenderer({ color, taskRef: '1a2b3c4d' });
  return events()
    .flatMap((e) => r.render(e))
    .join('\n');
}

describe('TaskRenderer', () => {
  it('renders a recorded conversation readably, event by event', () => {
    expect(renderAll(false)).toBe(EXPECTED);
  });

  it('styles only when asked: tool output dim, approvals highlighted, failures red', () => {
    const text = renderAll(true);
    expect(text).toContain('\x1b[2m  ⎿ hello\x1b[0m');
    expect(text).toContain(`\x1b[1;33mapproval needed: Write /workspace/hello.txt — rclaude task approve`);
    expect(text).toContain('\x1b[31m  ⎿ error: Exit code 1\x1b[0m');
    expect(text).toContain('\x1b[32m✓ succeeded\x1b[0m · 3 turns');
    // Without the escapes it reads the same.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes
    expect(text.replace(/\x1b\[[0-9;]*m/g, '')).toBe(EXPECTED);
  });

  it('prints a final result that says more than the last paragraph, and an interrupted turn', () => {
    const r = new TaskRenderer({ color: false, taskRef: 't' });
    const at = '2026-01-01T10:00:00.000Z';
    const lines = [
      r.render({
        seq: 1,
        type: 'assistant',
        payload: assistant('m', [{ type: 'text', text: 'Working.' }]),
        createdAt: at,
      }),
      r.render({
        seq: 2,
        type: 'result',
        payload: {
          type: 'result',
          subtype: 'success',
          is_error: false,
          result: 'All 3 tests pass.',
          num_turns: 2,
        },
        createdAt: at,
      }),
      r.render({
        seq: 3,
        type: 'result',
        payload: { type: 'result', subtype: 'error_during_execution', is_error: true, num_turns: 1 },
        createdAt: at,
      }),
    ];
    expect(lines).toEqual([
      ['Working.'],
      ['', 'All 3 tests pass.', '', '✓ succeeded · 2 turns'],
      ['', '■ interrupted; waiting for a follow-up · 1 turn'],
    ]);
  });

  it('survives payloads of the wrong shape', () => {
    const r = new TaskRenderer({ color: false, taskRef: 't' });
    const at = '2026-01-01T10:00:00.000Z';
    for (const [type, payload] of [
      ['assistant', null],
      ['assistant', { message: { content: 'not blocks' } }],
      ['user', { message: { content: [null, 3, { type: 'tool_result' }] } }],
      ['control_request', { request: 'x' }],
      ['result', 'x'],
      ['rc_exit', {}],
    ] as [string, unknown][])
      expect(() => r.render({ seq: 1, type, payload, createdAt: at })).not.toThrow();
  });
});

function assistant(id: string, content: unknown[]) {
  return {
    type: 'assistant',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-5-5',
      content,
      stop_reason: null,
      usage: { input_tokens: 13391, output_tokens: 1 },
    },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: `${id}-uuid`,
  };
}

function toolResult(toolUseId: string, content: unknown, isError?: boolean) {
  return {
    type: 'user',
    message: {
      role: 'user',
      content: [
        {
          tool_use_id: toolUseId,
          type: 'tool_result',
          content,
          ...(isError !== undefined ? { is_error: isError } : {}),
        },
      ],
    },
    parent_tool_use_id: null,
    session_id: SESSION,
  };
}
