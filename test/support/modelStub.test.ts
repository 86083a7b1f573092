// The model stub's own HTTP contract, without the CLI: test/modelStub.test.ts drives the real
// claude binary against it.
import { afterEach, describe, expect, it } from 'vitest';
import { type ModelStub, type Scenario, startModelStub } from './modelStub.js';

const stubs: ModelStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

async function stub(scenarios: Record<string, Scenario> = {}, expectedApiKey?: string): Promise<ModelStub> {
  const s = await startModelStub({ scenarios, expectedApiKey });
  stubs.push(s);
  return s;
}

describe('model stub over HTTP', () => {
  const tools = [{ name: 'Write', description: 'w', input_schema: { type: 'object' } }];
  const post = (s: ModelStub, body: unknown, headers: Record<string, string> = { 'x-api-key': 'k' }) =>
    fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('streams a turn as SSE with text and partial tool input, usage in message_start and message_delta', async () => {
    const s = await stub({
      sse: {
        turns: [
          {
            content: [
              { type: 'text', text: 'Writing the file now.' },
              {
                type: 'tool_use',
                name: 'Write',
                input: { file_path: '/w/a.txt', content: 'some content here' },
              },
            ],
            usage: { input_tokens: 50, output_tokens: 7, cache_read_input_tokens: 3 },
          },
        ],
      },
    });
    const res = await post(s, {
      stream: true,
      tools,
      messages: [{ role: 'user', content: '[scenario:sse] go' }],
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map((chunk) => JSON.parse(chunk.split('\n')[1]?.slice('data: '.length) ?? ''));
    const types = events.map((e) => (e.delta?.type ? `${e.type}:${e.delta.type}` : e.type));
    expect(types[0]).toBe('message_start');
    expect(types).toContain('ping');
    expect(types).toContain('content_block_delta:text_delta');
    expect(types.filter((t) => t === 'content_block_delta:input_json_delta').length).toBeGreaterThan(1);
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const json = events
      .filter((e) => e.delta?.type === 'input_json_delta')
      .map((e) => e.delta.partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ file_path: '/w/a.txt', content: 'some content here' });
    expect(events[0].message.usage).toMatchObject({ input_tokens: 50, cache_read_input_tokens: 3 });
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } });
    expect(s.requests[0]).toMatchObject({ main: true, scenario: 'sse', turn: 0, apiKey: 'k' });
  });

  it('picks the turn from the assistant messages, says "done" after the last and "ok" without a tag', async () => {
    const s = await stub();
    s.setScenario('two', { turns: [{ content: [{ type: 'text', text: 'one' }] }, { content: [] }] });
    const history = (assistants: number) => [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'x' },
          { type: 'text', text: 'go [scenario:two]' },
        ],
      },
      ...Array.from({ length: assistants }, () => [
        { role: 'assistant', content: 'a' },
        { role: 'user', content: 'u' },
      ]).flat(),
    ];
    const text = async (messages: unknown[]) =>
      (await (await post(s, { tools, messages })).json()) as { content: Array<{ text?: string }> };
    expect((await text(history(0))).content).toEqual([{ type: 'text', text: 'one' }]);
    expect((await text(history(1))).content).toEqual([]);
    expect((await text(history(2))).content[0]?.text).toBe('done');
    expect((await text([{ role: 'user', content: 'no tag' }])).content[0]?.text).toBe('ok');
    expect(s.requests.map((r) => [r.scenario, r.turn])).toEqual([
      ['two', 0],
      ['two', 1],
      ['two', 2],
      [undefined, 0],
    ]);
  });

  it('answers a request without tools with a canned text that consumes no turn', async () => {
    const s = await stub({ t: { turns: [{ content: [{ type: 'tool_use', name: 'Write', input: {} }] }] } });
    const res = await post(s, { messages: [{ role: 'user', content: '[scenario:t] title this' }] });
    expect(await res.json()).toMatchObject({
      content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn',
    });
    expect(s.requests[0]).toMatchObject({ main: false });
    expect(s.requests[0]?.turn).toBeUndefined();
  });

  it('answers errors in the Anthropic shape and counts tokens', async () => {
    const s = await stub(
      {
        busy: {
          turns: [{ error: { status: 529, type: 'overloaded_error', message: 'Overloaded', times: 1 } }],
        },
      },
      'sk-right',
    );
    const busy = { tools, messages: [{ role: 'user', content: '[scenario:busy]' }] };
    const first = await post(s, busy, { authorization: 'Bearer sk-right' });
    expect(first.status).toBe(529);
    expect(await first.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect((await post(s, busy, { 'x-api-key': 'sk-right' })).status).toBe(200);
    const denied = await post(s, busy, { 'x-api-key': 'sk-wrong' });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(s.requests.map((r) => r.apiKey)).toEqual(['sk-right', 'sk-right', 'sk-wrong']);
    const missing = await fetch(`${s.url}/v1/models`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const count = await fetch(`${s.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-right' },
      body: JSON.stringify(busy),
    });
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });
});
