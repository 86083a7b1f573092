// What the real CLI never does on purpose: lines that are not JSON, a line too big for one
// message, a last line without "\n", a process that ignores SIGTERM. A fake `claude` (a small Node
// script named by RC_CLAUDE_PATH) plays them; everything else about tasks is tested with the real
// CLI in taskRunner.test.ts and eventDelivery.test.ts.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_API_KEY_PLACEHOLDER } from '../../sdk/agentProtocol.js';
import type { RpcError } from '../../sdk/rpcPeer.js';
import { buildAgent, TestAgent, type TestConnection } from '../agentHarness.js';
import { eventsOf, nextEvent, parse, range, seqs } from './taskTestKit.js';

const FAKE = `
const out = (line) => process.stdout.write(line);
const env = process.env;
out(JSON.stringify({
  type: 'fake_start',
  argv: process.argv.slice(2),
  cwd: process.cwd(),
  env: {
    ANTHROPIC_BASE_URL: env.ANTHROPIC_BASE_URL,
    ANTHROPIC_API_KEY: env.ANTHROPIC_API_KEY,
    NO_PROXY: env.NO_PROXY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC,
    RC_AGENT_TOKEN: env.RC_AGENT_TOKEN ?? null,
  },
}) + '\\n');
if (process.argv.includes('stubborn')) {
  process.on('SIGTERM', () => out('{"type":"fake_ignored_sigterm"}\\n'));
  setInterval(() => {}, 1000);
} else {
  out('this is not JSON\\n');
  out('{"type":"user","big":"' + 'x'.repeat(2000000) + '"}\\n');
  process.stderr.write('warning: something\\nfatal: the end\\n');
  let buffered = '';
  process.stdin.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\\n')) >= 0) {
      const got = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      out(JSON.stringify({ type: 'fake_echo', got }) + '\\n');
      if (got.message && got.message.content === 'exit') {
        out('the last words, without a newline');
        process.exit(3);
      }
    }
  });
}
`;

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let fakeDir: string;
let agent: TestAgent;
let conn: TestConnection;
let modelPort: number;

beforeAll(async () => {
  bundle = await buildAgent();
  fakeDir = await mkdtemp(path.join(os.tmpdir(), 'rc-fake-claude-'));
  const fake = path.join(fakeDir, 'claude');
  await writeFile(fake, `#!${process.execPath}\n${FAKE}`);
  await chmod(fake, 0o755);
  agent = await TestAgent.start({
    entry: bundle.entry,
    env: { RC_CLAUDE_PATH: fake, RC_AGENT_MODEL_PORT: '0' },
  });
  conn = await agent.controlPlane.connection();
  modelPort = Number((await agent.log(/forwarder\.listening target=model/)).match(/port=(\d+)/)?.[1]);
});
afterAll(async () => {
  await agent?.stop();
  await bundle?.remove();
  if (fakeDir) await rm(fakeDir, { recursive: true, force: true });
});

describe('tasks with a fake claude', () => {
  it('runs claude with the protocol flags and an environment that only reaches the model forwarder', async () => {
    await conn.peer.request('task.start', {
      taskId: 'raw',
      prompt: 'hello',
      model: 'claude-test',
      permissionMode: 'plan',
      maxTurns: 3,
      resumeSessionId: 'session-1',
      firstSeq: 10,
    });
    const started = await nextEvent(conn, 'raw', (m) => m.type === 'fake_start');
    expect(started.seq).toBe(10);
    expect(parse(started)).toEqual({
      type: 'fake_start',
      argv: [
        '-p',
        '--input-format',
        'stream-json',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-prompt-tool',
        'stdio',
        '--replay-user-messages',
        '--model',
        'claude-test',
        '--permission-mode',
        'plan',
        '--max-turns',
        '3',
        '--resume',
        'session-1',
      ],
      cwd: agent.workspace,
      env: {
        ANTHROPIC_BASE_URL: `http://127.0.0.1:${modelPort}`,
        ANTHROPIC_API_KEY: WORKSPACE_API_KEY_PLACEHOLDER,
        NO_PROXY: '127.0.0.1,localhost',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        RC_AGENT_TOKEN: null,
      },
    });
  });

  it('keeps a non-JSON line raw, wraps an oversized one, and writes user turns as stream-json', async () => {
    const echo = await nextEvent(conn, 'raw', (m) => m.type === 'fake_echo');
    const events = eventsOf(conn, 'raw');
    expect(events[1]?.line).toBe('this is not JSON');
    const big = parse(events[2] as (typeof events)[number]);
    expect(big).toMatchObject({ type: 'rc_oversized', bytes: 2_000_000 + 24, originalType: 'user' });
    expect(big.head).toMatch(/^\{"type":"user","big":"x+$/);
    expect(parse(echo).got).toEqual({ type: 'user', message: { role: 'user', content: 'hello' } });
  });

  it('records the exit with the stderr tail after a last line without a newline', async () => {
    await conn.peer.request('task.send', { taskId: 'raw', text: 'exit' });
    const exit = await nextEvent(conn, 'raw', (m) => m.type === 'rc_exit');
    const events = eventsOf(conn, 'raw');
    expect(events.at(-2)?.line).toBe('the last words, without a newline');
    expect(parse(exit)).toEqual({
      type: 'rc_exit',
      exitCode: 3,
      signal: null,
      stderrTail: 'warning: something\nfatal: the end',
    });
    expect(seqs(events)).toEqual(range(10, exit.seq));
    await agent.log(/task\.stderr taskId=raw line="fatal: the end"/);
    const gone = (await conn.peer.request('task.interrupt', { taskId: 'raw' }).catch((e) => e)) as RpcError;
    expect(gone.reason).toBe('not_found');
  });

  it('stops a process that ignores stdin and SIGTERM with SIGKILL after 5 s', async () => {
    await conn.peer.request('task.start', { taskId: 'stubborn', model: 'stubborn' });
    await nextEvent(conn, 'stubborn', (m) => m.type === 'fake_start');
    const started = Date.now();
    await conn.peer.request('task.stop', { taskId: 'stubborn' }, { timeoutMs: 10_000 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(4900);
    expect(elapsed).toBeLessThan(8000);
    const exit = await nextEvent(conn, 'stubborn', (m) => m.type === 'rc_exit');
    expect(parse(exit)).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    expect(eventsOf(conn, 'stubborn').map((e) => parse(e).type)).toContain('fake_ignored_sigterm');
    // Stopping a stopped task is fine.
    await conn.peer.request('task.stop', { taskId: 'stubborn' });
  }, 15_000);

  it('answers spawn_failed when the binary is missing', async () => {
    const other = await TestAgent.start({
      entry: bundle.entry,
      env: { RC_CLAUDE_PATH: path.join(fakeDir, 'missing'), RC_AGENT_MODEL_PORT: '0' },
    });
    try {
      const c = await other.controlPlane.connection();
      const err = (await c.peer
        .request('task.start', { taskId: 't', prompt: 'x' })
        .catch((e) => e)) as RpcError;
      expect(err.reason).toBe('spawn_failed');
      expect(err.message).toContain('is missing');
      expect(await c.peer.request('task.list', {})).toEqual({ tasks: [] });
    } finally {
      await other.stop();
    }
  });
});
