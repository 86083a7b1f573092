// The executable version of DESIGN.md §4: the real Claude Code CLI (the native binary from
// @anthropic-ai/claude-code) runs headless against the scripted model stub and these tests pin down
// the stream-json protocol the agent relies on. docs/claudeCodeProtocol.md describes the same facts
// with trimmed examples. test/support/modelStub.test.ts checks the stub's own HTTP contract.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { claudeBinary, claudeEnv } from './support/claudeBinary.js';
import { type ModelStub, type RecordedRequest, type Scenario, startModelStub } from './support/modelStub.js';

/** One line of the CLI's stream-json output. */
type Msg = { type: string; subtype?: string } & Record<string, unknown>;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stub(scenarios: Record<string, Scenario> = {}, expectedApiKey?: string): Promise<ModelStub> {
  const s = await startModelStub({ scenarios, expectedApiKey });
  cleanups.push(() => s.close());
  return s;
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const STREAM_JSON = ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose'];
// The CLI retries 429, 401 and 5xx up to 10 times with exponential backoff (minutes in all); this
// bounds an error test to three attempts, about two seconds.
const TWO_RETRIES = { CLAUDE_CODE_MAX_RETRIES: '2' };

interface Claude {
  lines: Msg[];
  send(msg: unknown): void;
  user(text: string): void;
  /** The nth (from 1) output line matching `match`, waiting up to `ms` for it. */
  waitFor(match: (m: Msg) => boolean, nth?: number, ms?: number): Promise<Msg>;
  /** Closes stdin and resolves with the exit code. */
  end(ms?: number): Promise<number | null>;
  stderr(): string;
}

interface ClaudeOptions {
  stub: ModelStub;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  apiKey?: string;
  home?: string;
  cwd?: string;
}

async function claude(opts: ClaudeOptions): Promise<Claude & { home: string; cwd: string }> {
  const home = opts.home ?? (await tempDir('rc-claude-home-'));
  const cwd = opts.cwd ?? (await tempDir('rc-claude-cwd-'));
  const env = {
    ...claudeEnv({ baseUrl: opts.stub.url, apiKey: opts.apiKey ?? 'sk-test', home }),
    ...opts.env,
  };
  const child: ChildProcessWithoutNullStreams = spawn(
    claudeBinary(),
    [...STREAM_JSON, ...(opts.args ?? [])],
    {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: false,
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const lines: Msg[] = [];
  const arrivals = new EventEmitter();
  let ended = false;
  createInterface({ input: child.stdout })
    .on('line', (line) => {
      lines.push(JSON.parse(line) as Msg);
      arrivals.emit('line');
    })
    .on('close', () => {
      ended = true;
      arrivals.emit('line');
    });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const send = (msg: unknown) => child.stdin.write(`${JSON.stringify(msg)}\n`);

  return {
    home,
    cwd,
    lines,
    send,
    user: (text) => send({ type: 'user', message: { role: 'user', content: text } }),
    stderr: () => stderr,
    waitFor(match, nth = 1, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.filter(match)[nth - 1];
          if (hit) finish(hit);
          else if (ended)
            finish(new Error(`claude closed its output first; stderr: ${stderr.slice(0, 500)}`));
        };
        const timer = setTimeout(() => {
          const seen = lines.map((m) => (m.subtype ? `${m.type}/${m.subtype}` : m.type)).join(', ');
          finish(new Error(`no matching line after ${ms} ms; saw: ${seen}; stderr: ${stderr.slice(0, 500)}`));
        }, ms);
        const finish = (outcome: Msg | Error) => {
          clearTimeout(timer);
          arrivals.off('line', check);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
        arrivals.on('line', check);
        check();
      });
    },
    async end(ms = 15_000) {
      child.stdin.end();
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`claude still running ${ms} ms after stdin closed`)), ms).unref(),
      );
      return Promise.race([exited, timeout]);
    },
  };
}

const isType = (type: string, subtype?: string) => (m: Msg) =>
  m.type === type && (subtype === undefined || m.subtype === subtype);

/** The text blocks of an `assistant` line, joined. */
function textOf(m: Msg): string {
  const content = (m.message as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

/** Every tool_result block in a request's conversation. */
function toolResults(r: RecordedRequest): Array<Record<string, unknown>> {
  const messages = (r.body as { messages: Array<{ content: unknown }> }).messages;
  return messages.flatMap((m) =>
    Array.isArray(m.content) ? m.content.filter((b: { type?: string }) => b.type === 'tool_result') : [],
  );
}

const mainRequests = (s: ModelStub) => s.requests.filter((r) => r.main);

describe('claude CLI against the model stub', { timeout: 60_000 }, () => {
  it('runs a turn (init, assistant, result), takes a follow-up and exits when stdin closes', async () => {
    const s = await stub({
      hello: {
        turns: [
          {
            content: [{ type: 'text', text: 'Hello from the stub' }],
            usage: { input_tokens: 100, output_tokens: 10 },
          },
          {
            content: [{ type: 'text', text: 'Second answer' }],
            usage: { input_tokens: 200, output_tokens: 20 },
          },
        ],
      },
    });
    const c = await claude({ stub: s });
    c.user('[scenario:hello] hi');
    const init = await c.waitFor(isType('system', 'init'));
    expect(init.session_id).toEqual(expect.any(String));
    expect(init).toMatchObject({
      cwd: c.cwd,
      apiKeySource: 'ANTHROPIC_API_KEY',
      claude_code_version: '2.1.330',
    });
    expect(textOf(await c.waitFor(isType('assistant')))).toBe('Hello from the stub');
    const first = await c.waitFor(isType('result'));
    expect(first).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: 'Hello from the stub',
      num_turns: 1,
      session_id: init.session_id,
      terminal_reason: 'completed',
      usage: { input_tokens: 100, output_tokens: 10 },
    });
    expect(first.total_cost_usd).toBeGreaterThan(0);
    expect(first.duration_ms).toEqual(expect.any(Number));

    c.user('and again');
    const second = await c.waitFor(isType('result'), 2);
    expect(second).toMatchObject({ is_error: false, result: 'Second answer', usage: { input_tokens: 200 } });
    // `usage` is the turn's own; total_cost_usd adds up over the whole session.
    expect(second.total_cost_usd).toBeGreaterThan(first.total_cost_usd as number);
    // system/init is printed again at the start of every user turn, with the same session id.
    expect(c.lines.filter(isType('system', 'init')).map((m) => m.session_id)).toEqual([
      init.session_id,
      init.session_id,
    ]);
    expect(await c.end()).toBe(0);
    expect(s.requests.map((r) => [r.method, r.path, r.main, r.scenario, r.turn])).toEqual([
      ['POST', '/v1/messages?beta=true', true, 'hello', 0],
      ['POST', '/v1/messages?beta=true', true, 'hello', 1],
    ]);
  });

  it('makes no network connection except to the stub', async () => {
    // Every HTTP(S) client in the CLI honours the proxy variables, so anything bound for the
    // internet (telemetry, feature flags, updates) would show up at this tripwire.
    const seen: string[] = [];
    const tripwire = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(502).end();
    });
    tripwire.on('connect', (req, socket) => {
      seen.push(`CONNECT ${req.url}`);
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    await new Promise<void>((resolve) => tripwire.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => tripwire.close(resolve)));
    const proxy = `http://127.0.0.1:${(tripwire.address() as AddressInfo).port}`;
    const s = await stub();
    const c = await claude({
      stub: s,
      env: {
        HTTPS_PROXY: proxy,
        HTTP_PROXY: proxy,
        https_proxy: proxy,
        http_proxy: proxy,
        NO_PROXY: '127.0.0.1',
        no_proxy: '127.0.0.1',
      },
    });
    c.user('hello');
    expect(await c.waitFor(isType('result'))).toMatchObject({ is_error: false, result: 'ok' });
    expect(await c.end()).toBe(0);
    expect(seen).toEqual([]);
    expect(s.requests.map((r) => `${r.method} ${r.path} ${r.main}`)).toEqual([
      'POST /v1/messages?beta=true true',
    ]);
  });

  it('runs Write and Bash under bypassPermissions and sends the Bash output back as a tool_result', async () => {
    const cwd = await tempDir('rc-claude-cwd-');
    const s = await stub({
      tools: {
        turns: [
          {
            content: [
              { type: 'text', text: 'Writing a file.' },
              {
                type: 'tool_use',
                id: 'toolu_write',
                name: 'Write',
                input: { file_path: join(cwd, 'notes.txt'), content: 'hello file\n' },
              },
            ],
          },
          {
            content: [
              {
                type: 'tool_use',
                id: 'toolu_bash',
                name: 'Bash',
                input: { command: 'cat notes.txt && echo bash-ran' },
              },
            ],
          },
          { content: [{ type: 'text', text: 'All done.' }] },
        ],
      },
    });
    // The tests run as root, and as root the CLI refuses to skip permission checks unless
    // IS_SANDBOX=1 says it is inside a sandbox (see the next test).
    const c = await claude({
      stub: s,
      cwd,
      args: ['--permission-mode', 'bypassPermissions'],
      env: { IS_SANDBOX: '1' },
    });
    c.user('[scenario:tools] make a file');
    expect(await c.waitFor(isType('result'))).toMatchObject({
      is_error: false,
      result: 'All done.',
      num_turns: 3,
    });
    expect(await readFile(join(cwd, 'notes.txt'), 'utf8')).toBe('hello file\n');
    // Each content block comes out as its own `assistant` line; tool results come out as `user` lines.
    const bashResult = await c.waitFor(
      (m) => m.type === 'user' && JSON.stringify(m.message).includes('"tool_use_id":"toolu_bash"'),
    );
    expect(bashResult.message).toMatchObject({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_bash', content: 'hello file\nbash-ran', is_error: false },
      ],
    });
    const third = mainRequests(s).find((r) => r.turn === 2);
    expect(third && toolResults(third)).toContainEqual(
      expect.objectContaining({ tool_use_id: 'toolu_bash', content: 'hello file\nbash-ran' }),
    );
  });

  it.runIf(process.getuid?.() === 0)('refuses bypassPermissions as root without IS_SANDBOX', async () => {
    const c = await claude({ stub: await stub(), args: ['--permission-mode', 'bypassPermissions'] });
    expect(await c.end()).toBe(1);
    expect(c.stderr()).toContain('cannot be used with root/sudo privileges');
  });

  it('asks for tool permission over stdio: allow runs the tool, deny sends the message back', async () => {
    const cwd = await tempDir('rc-claude-cwd-');
    const write = { file_path: join(cwd, 'allowed.txt'), content: 'allowed\n' };
    const s = await stub({
      perm: {
        turns: [
          { content: [{ type: 'tool_use', id: 'toolu_write', name: 'Write', input: write }] },
          {
            content: [
              { type: 'tool_use', id: 'toolu_bash', name: 'Bash', input: { command: 'touch denied.txt' } },
            ],
          },
          { content: [{ type: 'text', text: 'Finished.' }] },
        ],
      },
    });
    const c = await claude({ stub: s, cwd, args: ['--permission-prompt-tool', 'stdio'] });
    c.user('[scenario:perm] go');
    const ask = await c.waitFor(isType('control_request'));
    expect(ask).toMatchObject({
      request_id: expect.any(String),
      request: { subtype: 'can_use_tool', tool_name: 'Write', input: write, tool_use_id: 'toolu_write' },
    });
    expect((ask.request as { permission_suggestions: unknown }).permission_suggestions).toEqual(
      expect.any(Array),
    );
    c.send({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: ask.request_id,
        response: { behavior: 'allow', updatedInput: write },
      },
    });
    const ask2 = await c.waitFor(isType('control_request'), 2);
    expect(ask2).toMatchObject({
      request: { subtype: 'can_use_tool', tool_name: 'Bash', tool_use_id: 'toolu_bash' },
    });
    c.send({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: ask2.request_id,
        response: { behavior: 'deny', message: 'Denied by the test.' },
      },
    });
    const result = await c.waitFor(isType('result'));
    expect(result).toMatchObject({ is_error: false, result: 'Finished.' });
    expect(result.permission_denials).toEqual([
      expect.objectContaining({ tool_name: 'Bash', tool_use_id: 'toolu_bash' }),
    ]);
    expect(existsSync(join(cwd, 'allowed.txt'))).toBe(true);
    expect(existsSync(join(cwd, 'denied.txt'))).toBe(false);
    const third = mainRequests(s).find((r) => r.turn === 2);
    expect(third && toolResults(third)).toContainEqual(
      expect.objectContaining({ tool_use_id: 'toolu_bash', content: 'Denied by the test.', is_error: true }),
    );
  });

  it('interrupts a streaming turn, ends it with an error result and takes the next user line', async () => {
    const s = await stub({
      slow: {
        turns: [
          {
            chunkDelayMs: 300,
            content: [{ type: 'text', text: 'This is a long and slow answer in several pieces.' }],
          },
          { content: [{ type: 'text', text: 'After the interrupt.' }] },
        ],
      },
    });
    // Partial messages let the test interrupt exactly when text is streaming.
    const c = await claude({ stub: s, args: ['--include-partial-messages'] });
    c.user('[scenario:slow] take your time');
    await c.waitFor((m) => m.type === 'stream_event' && JSON.stringify(m.event).includes('"text_delta"'));
    c.send({ type: 'control_request', request_id: 'int-1', request: { subtype: 'interrupt' } });
    expect(await c.waitFor(isType('control_response'))).toMatchObject({
      response: { subtype: 'success', request_id: 'int-1' },
    });
    // The text streamed so far is kept as an assistant message marked `aborted`.
    expect(await c.waitFor((m) => m.type === 'assistant' && m.aborted === true)).toBeTruthy();
    expect(await c.waitFor(isType('result'))).toMatchObject({
      subtype: 'error_during_execution',
      is_error: true,
      terminal_reason: 'aborted_streaming',
    });

    c.user('next please');
    expect(await c.waitFor(isType('result'), 2)).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: 'After the interrupt.',
    });
    expect(await c.end()).toBe(0);
    // The partial answer stays in the conversation (so it counts as a turn), followed by a marker.
    const next = mainRequests(s)[1];
    expect(next?.turn).toBe(1);
    expect(JSON.stringify(next?.body)).toContain('[Request interrupted by user]');
  });

  it('resumes a session in a new process with --resume', async () => {
    const s = await stub({
      resume: {
        turns: [
          { content: [{ type: 'text', text: 'First process answer' }] },
          { content: [{ type: 'text', text: 'Resumed answer' }] },
        ],
      },
    });
    const first = await claude({ stub: s });
    first.user('[scenario:resume] remember 42');
    const { session_id } = await first.waitFor(isType('result'));
    expect(await first.end()).toBe(0);

    const second = await claude({
      stub: s,
      home: first.home,
      cwd: first.cwd,
      args: ['--resume', session_id as string],
    });
    second.user('what number?');
    const result = await second.waitFor(isType('result'));
    expect(result).toMatchObject({ is_error: false, result: 'Resumed answer', session_id });
    expect((await second.waitFor(isType('system', 'init'))).session_id).toBe(session_id);
    const resumed = mainRequests(s)[1];
    expect(resumed?.turn).toBe(1);
    expect(JSON.stringify(resumed?.body)).toContain('remember 42');
    expect(JSON.stringify(resumed?.body)).toContain('First process answer');
    expect(await second.end()).toBe(0);
  });

  it('gives up on 529 overloaded after three attempts although max_retries is 10', async () => {
    const s = await stub({
      busy: { turns: [{ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }] },
    });
    const c = await claude({ stub: s });
    c.user('[scenario:busy] hi');
    const result = await c.waitFor(isType('result'));
    expect(c.lines.filter(isType('system', 'api_retry'))).toEqual([
      expect.objectContaining({ attempt: 1, max_retries: 10, error_status: 529, error: 'overloaded' }),
      expect.objectContaining({ attempt: 2, max_retries: 10, error_status: 529, error: 'overloaded' }),
    ]);
    const assistant = await c.waitFor(isType('assistant'));
    expect(assistant).toMatchObject({ is_api_error_message: true, api_error_status: 529 });
    expect(textOf(assistant)).toContain('API Error: Repeated 529 Overloaded errors');
    // An API failure is `subtype: "success"` with `is_error: true`, not error_during_execution.
    expect(result).toMatchObject({
      subtype: 'success',
      is_error: true,
      terminal_reason: 'api_error',
      api_error_status: 529,
      api_error_type: 'overloaded_error',
      total_cost_usd: 0,
    });
    expect(mainRequests(s)).toHaveLength(3);
    // The exit code says whether the last turn failed.
    expect(await c.end()).toBe(1);
  });

  it('retries 429 up to CLAUDE_CODE_MAX_RETRIES; the failed turn consumes no stub turn', async () => {
    const s = await stub({
      limited: {
        turns: [
          {
            error: { status: 429, type: 'rate_limit_error', message: 'Slow down', times: 3 },
            content: [{ type: 'text', text: 'Finally.' }],
          },
        ],
      },
    });
    const c = await claude({ stub: s, env: TWO_RETRIES });
    c.user('[scenario:limited] hi');
    const failed = await c.waitFor(isType('result'));
    expect(failed).toMatchObject({ is_error: true, terminal_reason: 'api_error', api_error_status: 429 });
    expect(
      c.lines.filter(isType('system', 'api_retry')).map((m) => [m.attempt, m.max_retries, m.error]),
    ).toEqual([
      [1, 2, 'rate_limit'],
      [2, 2, 'rate_limit'],
    ]);
    expect(textOf(await c.waitFor(isType('assistant')))).toBe(
      'API Error: Request rejected (429) · Slow down',
    );

    // The error message is not sent back to the model: the next line is still turn 0.
    c.user('try again');
    expect(await c.waitFor(isType('result'), 2)).toMatchObject({ is_error: false, result: 'Finally.' });
    expect(mainRequests(s).map((r) => r.turn)).toEqual([0, 0, 0, 0]);
    expect(await c.end()).toBe(0);
  });

  it('retries a wrong key (401) like other errors, then says the key is invalid', async () => {
    const s = await stub({}, 'sk-right');
    const c = await claude({ stub: s, apiKey: 'sk-wrong', env: TWO_RETRIES });
    c.user('hi');
    const result = await c.waitFor(isType('result'));
    expect(result).toMatchObject({
      is_error: true,
      terminal_reason: 'api_error',
      api_error_status: 401,
      api_error_type: 'authentication_error',
      result: 'Invalid API key · Fix external API key',
    });
    expect(c.lines.filter(isType('system', 'api_retry')).map((m) => m.error)).toEqual([
      'authentication_failed',
      'authentication_failed',
    ]);
    expect(await c.waitFor(isType('assistant'))).toMatchObject({
      error: 'authentication_failed',
      api_error_status: 401,
    });
    expect(s.requests.map((r) => r.apiKey)).toEqual(['sk-wrong', 'sk-wrong', 'sk-wrong']);
    expect(await c.end()).toBe(1);
  });
});
