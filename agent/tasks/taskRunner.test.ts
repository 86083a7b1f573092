// Tasks end to end inside the agent: the real bundle, the real Claude Code CLI, and the scripted
// model stub reached through the agent's model forwarder and a `tunnel.open {target:'model'}`.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RpcError } from '../../sdk/rpcPeer.js';
import type { ModelStub } from '../../test/support/modelStub.js';
import { buildAgent, type TestAgent, type TestConnection } from '../agentHarness.js';
import { ackAll, eventsOf, nextEvent, parse, range, seqs, startStub, startTaskAgent } from './taskTestKit.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let stub: ModelStub;
let agent: TestAgent;
let conn: TestConnection;

const write = (file: string, content: string) => ({
  content: [{ type: 'tool_use' as const, name: 'Write', input: { file_path: file, content } }],
});
const say = (text: string) => ({ content: [{ type: 'text' as const, text }] });

beforeAll(async () => {
  [bundle, stub] = await Promise.all([
    buildAgent(),
    startStub({
      hello: { turns: [say('Hello from the stub')] },
      followUp: { turns: [say('first answer'), say('second answer')] },
      // Long enough to stream for seconds, so the interrupt lands mid-turn.
      slow: { turns: [{ ...say('word '.repeat(30)), chunkDelayMs: 1000 }] },
      allow: { turns: [write('allowed.txt', 'as proposed\n'), say('written')] },
      edit: { turns: [write('edited.txt', 'as proposed\n'), say('written')] },
      deny: { turns: [write('denied.txt', 'never\n'), say('understood')] },
    }),
  ]);
  agent = await startTaskAgent(bundle.entry, () => stub);
  conn = await agent.controlPlane.connection();
});
afterAll(async () => {
  await agent?.stop();
  await stub?.close();
  await bundle?.remove();
});

const request = <T = Record<string, never>>(method: string, params: unknown) =>
  conn.peer.request<T>(method, params, { timeoutMs: 20_000 });
const start = (taskId: string, scenario: string, extra: Record<string, unknown> = {}) =>
  request<{ pid: number }>('task.start', { taskId, prompt: `[scenario:${scenario}] go`, ...extra });

describe('tasks with the real Claude Code', () => {
  it('streams a turn as events 1..N, keeps the process for more, and adds rc_exit after task.stop', async () => {
    const { pid } = await start('hello', 'hello');
    expect(pid).toBeGreaterThan(0);
    const result = await nextEvent(conn, 'hello', (m) => m.type === 'result');
    const messages = eventsOf(conn, 'hello').map(parse);
    expect(messages[0]).toMatchObject({ type: 'system', subtype: 'init', cwd: agent.workspace });
    expect(messages.find((m) => m.type === 'assistant')?.message).toMatchObject({
      content: [{ type: 'text', text: 'Hello from the stub' }],
    });
    expect(parse(result)).toMatchObject({ type: 'result', subtype: 'success', is_error: false });
    // The model traffic went through the forwarder with the placeholder key (the stub checks it).
    expect(stub.requests.some((r) => r.scenario === 'hello' && r.apiKey?.startsWith('sk-ant-rc-'))).toBe(
      true,
    );

    expect(await request('task.list', {})).toEqual({
      tasks: [{ taskId: 'hello', running: true, lastSeq: result.seq }],
    });
    const busy = (await start('hello', 'hello').catch((e) => e)) as RpcError;
    expect(busy.reason).toBe('busy');

    await request('task.stop', { taskId: 'hello' });
    const exit = await nextEvent(conn, 'hello', (m) => m.type === 'rc_exit');
    expect(parse(exit)).toMatchObject({ type: 'rc_exit', exitCode: 0, signal: null });
    const events = eventsOf(conn, 'hello');
    expect(seqs(events)).toEqual(range(1, exit.seq));
    expect(exit.seq).toBe(result.seq + 1);

    // Acknowledged and without a process, the task is forgotten and its queue removed.
    expect(ackAll(conn, 'hello')).toBe(exit.seq);
    await expect.poll(() => request('task.list', {}), { timeout: 5000 }).toEqual({ tasks: [] });
    await expect(stat(path.join(agent.home, '.remote-claude/tasks/hello'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const gone = (await request('task.send', { taskId: 'hello', text: 'more' }).catch((e) => e)) as RpcError;
    expect(gone.reason).toBe('not_found');
  });

  it('takes a follow-up turn in the same process', async () => {
    const { pid } = await start('follow', 'followUp');
    await nextEvent(conn, 'follow', (m) => m.type === 'result');
    await request('task.send', { taskId: 'follow', text: 'and now?' });
    await nextEvent(conn, 'follow', (m) => m.type === 'result' && m.result === 'second answer');
    const messages = eventsOf(conn, 'follow').map(parse);
    expect(messages.filter((m) => m.type === 'system' && m.subtype === 'init').length).toBeLessThanOrEqual(2);
    expect(messages.filter((m) => m.type === 'result').map((m) => m.result)).toEqual([
      'first answer',
      'second answer',
    ]);
    // --replay-user-messages: the prompt and the follow-up come back as user events, in order.
    const typed = messages
      .filter((m) => m.type === 'user' && !JSON.stringify(m).includes('tool_result'))
      .map((m) => JSON.stringify(m));
    expect(typed.findIndex((t) => t.includes('[scenario:followUp] go'))).toBeGreaterThanOrEqual(0);
    expect(typed.findIndex((t) => t.includes('and now?'))).toBeGreaterThan(0);
    expect((await request<{ tasks: { running: boolean }[] }>('task.list', {})).tasks).toContainEqual(
      expect.objectContaining({ taskId: 'follow', running: true }),
    );
    expect(pid).toBeGreaterThan(0);
    await request('task.stop', { taskId: 'follow' });
    await nextEvent(conn, 'follow', (m) => m.type === 'rc_exit');
    expect(seqs(eventsOf(conn, 'follow'))).toEqual(range(1, eventsOf(conn, 'follow').length));
  });

  it('interrupts a turn; the process takes the next one', async () => {
    await start('slow', 'slow');
    // The stub has begun streaming the slow answer.
    await expect.poll(() => stub.requests.some((r) => r.scenario === 'slow'), { timeout: 20_000 }).toBe(true);
    await request('task.interrupt', { taskId: 'slow' });
    const aborted = await nextEvent(conn, 'slow', (m) => m.type === 'result');
    expect(parse(aborted)).toMatchObject({ is_error: true, subtype: 'error_during_execution' });
    // The stub picks a turn by counting assistant messages, and the interrupted turn leaves one
    // only if text had streamed already (docs/claudeCodeProtocol.md), so the follow-up may replay
    // turn 0: make both quick.
    stub.setScenario('slow', { turns: [say('after the interrupt'), say('after the interrupt')] });
    await request('task.send', { taskId: 'slow', text: 'carry on' });
    const next = await nextEvent(conn, 'slow', (m, e) => m.type === 'result' && e.seq > aborted.seq);
    expect(parse(next)).toMatchObject({ is_error: false, result: 'after the interrupt' });
    await request('task.stop', { taskId: 'slow' });
    await nextEvent(conn, 'slow', (m) => m.type === 'rc_exit');
  });

  it('asks before writing (default permission mode) and writes on allow', async () => {
    await start('allow', 'allow');
    const ask = parse(await nextEvent(conn, 'allow', (m) => m.type === 'control_request'));
    expect(ask.request).toMatchObject({ subtype: 'can_use_tool', tool_name: 'Write' });
    // Without updatedInput the agent passes the tool's own input back.
    await request('task.answer', { taskId: 'allow', requestId: ask.request_id, behavior: 'allow' });
    await nextEvent(conn, 'allow', (m) => m.type === 'result');
    expect(await readFile(path.join(agent.workspace, 'allowed.txt'), 'utf8')).toBe('as proposed\n');
    // A request is answered once.
    const again = (await request('task.answer', {
      taskId: 'allow',
      requestId: ask.request_id,
      behavior: 'allow',
    }).catch((e) => e)) as RpcError;
    expect(again.reason).toBe('not_found');
    await request('task.stop', { taskId: 'allow' });
  });

  it('passes an edited input on allow', async () => {
    await start('edit', 'edit');
    const ask = parse(await nextEvent(conn, 'edit', (m) => m.type === 'control_request'));
    const input = (ask.request as { input: Record<string, unknown> }).input;
    await request('task.answer', {
      taskId: 'edit',
      requestId: ask.request_id,
      behavior: 'allow',
      updatedInput: { ...input, content: 'as edited\n' },
    });
    await nextEvent(conn, 'edit', (m) => m.type === 'result');
    expect(await readFile(path.join(agent.workspace, 'edited.txt'), 'utf8')).toBe('as edited\n');
    await request('task.stop', { taskId: 'edit' });
  });

  it('denies with a message the model gets as the tool result', async () => {
    await start('deny', 'deny');
    const ask = parse(await nextEvent(conn, 'deny', (m) => m.type === 'control_request'));
    await request('task.answer', {
      taskId: 'deny',
      requestId: ask.request_id,
      behavior: 'deny',
      message: 'Not in this repository, please.',
    });
    const result = await nextEvent(conn, 'deny', (m) => m.type === 'result');
    expect(parse(result)).toMatchObject({ is_error: false, result: 'understood' });
    const toolResult = eventsOf(conn, 'deny')
      .map(parse)
      .find((m) => m.type === 'user' && JSON.stringify(m).includes('tool_result'));
    expect(JSON.stringify(toolResult)).toContain('Not in this repository, please.');
    await expect(stat(path.join(agent.workspace, 'denied.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await request('task.stop', { taskId: 'deny' });
  });
});
