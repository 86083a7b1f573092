// End-to-end tests of `rclaude task`: the real CLI (node bin/rclaude.js, see support/rclaude.ts)
// against a real control plane on loopback. Its driver "starts" workspaces whose agent never
// connects (fakeDrivers.ts), so tasks stay queued; the tests play Claude Code's part by storing
// events and moving the status themselves, as the ingest would (server/tasks/taskIngest.ts).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskEvent, TaskStatus } from '../sdk/taskWire.js';
import { NeverStartingDriver } from '../server/drivers/fakeDrivers.js';
import type { UserRow } from '../server/store/userStore.js';
import { ensureBuilt } from './support/ensureBuilt.js';
import { type ModelStub, startModelStub } from './support/modelStub.js';
import {
  BIN,
  captureOutput,
  childEnv,
  expectFailure,
  expectSuccess,
  parseJson,
  type Run,
  rclaude,
} from './support/rclaude.js';
import { createTestApp, type TestApp } from './support/testApp.js';
import { startWorkspaceKit, type WorkspaceKit } from './support/workspaceKit.js';

const REPO = 'https://git.example.test/acme/app';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let scratch: string;
let t: TestApp;
let owner: UserRow;
let env: Record<string, string>;
let otherEnv: Record<string, string>;
let adminEnv: Record<string, string>;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rclaude-task-test-'));
  await ensureBuilt();
  t = await createTestApp('sqlite', {
    // Workspaces "run" but their agent never connects; the start timeout must not fail them meanwhile.
    flags: { 'workspaces.startTimeout': 3600 },
    services: { driver: new NeverStartingDriver() },
  });
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const token = async (u: UserRow) => (await t.bearer(u)).slice('Bearer '.length);
  owner = await t.user('member');
  env = { RC_URL: url, RC_TOKEN: await token(owner) };
  otherEnv = { RC_URL: url, RC_TOKEN: await token(await t.user('member')) };
  adminEnv = { RC_URL: url, RC_TOKEN: await token(await t.user('admin')) };
}, 150_000);

afterAll(async () => {
  await t?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function newHome(): string {
  return mkdtempSync(join(scratch, 'home-'));
}
const task = (args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) =>
  rclaude(newHome(), ['task', ...args], {
    env: opts.env ?? env,
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
  });

/** An exit with this code, nothing on stdout and one "rclaude: …" line matching `message`. */
function expectExit(r: Run, code: number, message: RegExp): void {
  expectFailure(r, message);
  expect(r.code, r.stderr).toBe(code);
}

/** A queued task of `owner`, created through the API as the CLI would. */
async function newTask(prompt = 'fix the tests', repository = REPO): Promise<Task> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/tasks',
    headers: { authorization: `Bearer ${env.RC_TOKEN}` },
    payload: { repository, prompt },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as Task;
}

/** Stores an event and announces it to followers, as the ingest does for a line from the agent. */
async function addEvent(taskId: string, seq: number, payload: { type: string } & Record<string, unknown>) {
  expect(await t.services.tasks.appendEvent(taskId, seq, payload.type, JSON.stringify(payload))).toBe(true);
  t.services.runtime.tasks.feed.stored(taskId, seq);
}

async function finish(taskId: string, to: TaskStatus, reason: string | null = null): Promise<void> {
  const moved = await t.services.tasks.transition(taskId, ['queued'], to, {
    status_reason: reason,
    finished_at: new Date().toISOString(),
  });
  expect(moved).toBe(true);
  t.services.runtime.tasks.changed(taskId);
}

const INIT = { type: 'system', subtype: 'init', claude_code_version: '2.1.330', model: 'claude-opus-5-5' };
const say = (text: string) => ({
  type: 'assistant',
  message: { role: 'assistant', content: [{ type: 'text', text }] },
});
const RESULT = {
  type: 'result',
  subtype: 'success',
  is_error: false,
  num_turns: 2,
  total_cost_usd: 0.0312,
  duration_ms: 4200,
  result: 'Done.',
};

interface Live {
  /** The match once stdout matches `pattern`; rejects if the command exits first or takes half its time. */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  signal(name: NodeJS.Signals): void;
  exited: Promise<Run>;
}

/** `rclaude task args…` left running, so a test can act while it follows a task. */
function live(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Live {
  const home = newHome();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const child = spawn(process.execPath, [BIN, 'task', ...args], {
    cwd: home,
    env: childEnv(home, opts.env ?? env),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const output = captureOutput(child);
  const exited = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => {
      const { stdout, stderr } = output();
      resolve({ code: code ?? -1, stdout, stderr: stderr + (signal ?? '') });
    }),
  );
  return {
    exited,
    signal: (name) => child.kill(name),
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail('timed out'), timeoutMs / 2);
        const check = () => {
          const m = output().stdout.match(pattern);
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const onClose = () => fail('exited');
        const fail = (why: string) => {
          cleanup();
          reject(
            new Error(
              `rclaude ${why} before printing ${pattern}; stdout:\n${output().stdout}\nstderr:\n${output().stderr}`,
            ),
          );
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.off('close', onClose);
        };
        child.stdout.on('data', check);
        child.once('close', onClose);
        check();
      }),
  };
}

describe('rclaude task, with a server whose workspaces never start', () => {
  it('help lists every task command', async () => {
    const help = expectSuccess(await task(['--help']));
    for (const sub of ['run', 'list', 'show', 'logs', 'send', 'interrupt', 'cancel', 'approve', 'deny'])
      expect(help).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(expectSuccess(await task(['run', '--help']))).toContain('--permission-mode <mode>');
    expect(expectSuccess(await rclaude(newHome(), ['--help']))).toMatch(/^ {2}task\b/m);
  });

  it('list says how to start when there are no tasks', async () => {
    const r = await task(['list'], { env: otherEnv });
    expect(expectSuccess(r)).toBe(
      'No tasks yet; start one with `rclaude task run "<prompt>" --repo <url>`.\n',
    );
    expect(parseJson(await task(['list', '--json'], { env: otherEnv }))).toEqual([]);
  });

  const usageCases: { name: string; args: string[]; message: RegExp }[] = [
    {
      name: 'run without --repo or --workspace',
      args: ['run', 'hi'],
      message:
        /^rclaude: give the repository to work on with --repo <url>, or a workspace with --workspace <id>$/,
    },
    {
      name: 'run with both --repo and --workspace',
      args: ['run', 'hi', '--repo', REPO, '--workspace', 'abc'],
      message: /^rclaude: give one of --repo and --workspace, not both$/,
    },
    {
      name: 'run --budget abc',
      args: ['run', 'hi', '--repo', REPO, '--budget', 'abc'],
      message:
        /^rclaude: --budget must be an amount in US dollars above 0 and at most 10000, e\.g\. 5 or 0\.50, got "abc"$/,
    },
    {
      name: 'run --budget 0',
      args: ['run', 'hi', '--repo', REPO, '--budget', '0'],
      message: /--budget .*, got "0"$/,
    },
    {
      name: 'run --budget 20000',
      args: ['run', 'hi', '--repo', REPO, '--budget', '20000'],
      message: /--budget .*, got "20000"$/,
    },
    {
      name: 'run --max-turns 0',
      args: ['run', 'hi', '--repo', REPO, '--max-turns', '0'],
      message: /^rclaude: --max-turns must be a whole number from 1 to 1000, got "0"$/,
    },
    {
      name: 'run --max-turns 2.5',
      args: ['run', 'hi', '--repo', REPO, '--max-turns', '2.5'],
      message: /--max-turns must be a whole number from 1 to 1000, got "2\.5"$/,
    },
    {
      name: 'run --permission-mode yolo',
      args: ['run', 'hi', '--repo', REPO, '--permission-mode', 'yolo'],
      message:
        /^rclaude: --permission-mode must be one of default, acceptEdits, bypassPermissions, plan, got "yolo"$/,
    },
    {
      name: 'run with a blank prompt',
      args: ['run', '   ', '--repo', REPO],
      message: /^rclaude: <prompt> must not be empty$/,
    },
    {
      name: 'run --repo that is not a URL',
      args: ['run', 'hi', '--repo', 'acme/app'],
      message: /^rclaude: --repo must be an http\(s\) repository URL/,
    },
    {
      name: 'run --workspace that cannot be an id',
      args: ['run', 'hi', '--workspace', 'a/b'],
      message: /^rclaude: <id> must be a workspace id or the start of one/,
    },
    {
      name: 'list --status bogus',
      args: ['list', '--status', 'bogus'],
      message:
        /^rclaude: --status must be one of queued, starting, running, waiting_for_input, waiting_for_approval, succeeded, failed, cancelled, got "bogus"$/,
    },
    {
      name: 'list --limit 0',
      args: ['list', '--limit', '0'],
      message: /^rclaude: --limit must be a whole number from 1 to 200, got "0"$/,
    },
    {
      name: 'show with an id that cannot be one',
      args: ['show', 'a/b'],
      message:
        /^rclaude: <id> must be a task id or the start of one \(see `rclaude task list`\), got "a\/b"$/,
    },
    {
      name: 'send a blank message',
      args: ['send', 'abc', ' '],
      message: /^rclaude: <text> must not be empty$/,
    },
    {
      name: 'approve with an approval id that cannot be one',
      args: ['approve', 'abc', 'a b'],
      message: /^rclaude: \[approvalId\] must be an approval id or its start, got "a b"$/,
    },
  ];
  it.each(usageCases)('$name exits 2 before asking the server', async ({ args, message }) => {
    expectExit(await task(args, { env: { RC_URL: 'http://127.0.0.1:1', RC_TOKEN: 'x' } }), 2, message);
  });

  it('run queues a task, and list, show and logs find it by a short id', async () => {
    const out = expectSuccess(
      await task([
        'run',
        'make the tests pass\nthen commit',
        '--repo',
        REPO,
        '--max-turns',
        '5',
        '--budget',
        '2.5',
        '--permission-mode',
        'acceptEdits',
        '--model',
        'claude-test',
      ]),
    );
    const m = out.match(
      /^Started task (\S+) \(queued \(.+\)\)\.\nFollow it: rclaude task logs --follow ([0-9a-f]{8})\n$/,
    );
    expect(m, out).not.toBeNull();
    const id = m?.[1] as string;
    expect(id).toMatch(UUID);
    const short = m?.[2] as string;
    expect(id.startsWith(short)).toBe(true);

    const shown = parseJson<Task>(await task(['show', short.slice(0, 5), '--json']));
    expect(shown).toMatchObject({
      id,
      status: 'queued',
      repository: REPO,
      maxTurns: 5,
      maxBudgetUsd: 2.5,
      permissionMode: 'acceptEdits',
      model: 'claude-test',
    });
    const block = expectSuccess(await task(['show', id]));
    expect(block).toMatch(/^Status +queued \(.+\)$/m);
    expect(block).toMatch(/^Prompt +make the tests pass …$/m);
    expect(block).toMatch(/^Limits +at most 5 turns, at most \$2\.50$/m);

    const table = expectSuccess(await task(['list']));
    expect(table).toMatch(/^ID +STATUS +REPOSITORY +AGE +COST +PROMPT$/m);
    expect(table).toMatch(
      new RegExp(`^${short} +queued +${REPO} +\\d+s +\\$0\\.00 +make the tests pass …$`, 'm'),
    );
    expect(expectSuccess(await task(['list', '--status', 'running']))).toBe('No tasks match.\n');
    expect(parseJson<Task[]>(await task(['list', '--repo', REPO, '--json'])).map((x) => x.id)).toContain(id);

    expect(expectSuccess(await task(['logs', short]))).toMatch(
      new RegExp(`^No events yet; task ${short} is queued \\(.+\\)\\.\\n$`),
    );
    // Someone else's task does not exist for them, by id or by prefix; an admin finds it.
    expectExit(await task(['show', id], { env: otherEnv }), 1, new RegExp(`^rclaude: task ${id} not found`));
    expectExit(await task(['show', short], { env: otherEnv }), 1, new RegExp(`task ${short} not found`));
    expect(parseJson<Task>(await task(['show', short, '--json'], { env: adminEnv })).id).toBe(id);
    expect(
      parseJson<Task[]>(await task(['list', '--all', '--json'], { env: adminEnv })).map((x) => x.id),
    ).toContain(id);
  });

  it('run --workspace takes a workspace by its start, and --json prints the task', async () => {
    const first = await newTask('anything');
    const ws = first.workspaceId as string;
    const created = parseJson<Task>(
      await task(['run', 'in the same workspace', '--workspace', ws.slice(0, 6), '--json']),
    );
    expect(created).toMatchObject({ workspaceId: ws, status: 'queued', prompt: 'in the same workspace' });
    const fromStdin = parseJson<Task>(
      await task(['run', '-', '--repo', REPO, '--json'], { stdin: 'a prompt from a file\n' }),
    );
    expect(fromStdin.prompt).toBe('a prompt from a file\n');
    expectExit(
      await task(['run', 'x', '--workspace', 'deadbeef']),
      1,
      /^rclaude: workspace deadbeef not found/,
    );
  });

  it('send, interrupt and cancel pass on what the server says', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    expectExit(
      await task(['send', s, 'and also this']),
      1,
      /^rclaude: The task is waiting for its workspace; send the follow-up once it runs\.$/,
    );
    expectExit(
      await task(['interrupt', s]),
      1,
      /^rclaude: The task is queued; there is nothing to interrupt\.$/,
    );
    expect(expectSuccess(await task(['cancel', s]))).toBe(`Cancelled task ${s}.\n`);
    expectExit(
      await task(['send', s, 'and also this']),
      1,
      /^rclaude: The task was cancelled; start a new one\.$/,
    );
    expectExit(await task(['cancel', s]), 1, /^rclaude: The task is already cancelled\.$/);
    expect(parseJson<Task>(await task(['show', s, '--json'])).status).toBe('cancelled');
  });

  it('an unknown id is "not found" for every command', async () => {
    for (const args of [
      ['show', 'deadbeef'],
      ['logs', 'deadbeef'],
      ['logs', 'deadbeef', '--follow'],
      ['send', 'deadbeef', 'hi'],
      ['interrupt', 'deadbeef'],
      ['cancel', 'deadbeef'],
      ['approve', 'deadbeef'],
      ['deny', 'deadbeef', 'some-approval'],
    ])
      expectExit(await task(args), 1, /^rclaude: task deadbeef not found; see `rclaude task list`$/);
  });

  it('a prefix that starts several ids is ambiguous', async () => {
    // Ids are random UUIDs; among 17 tasks two must share a first hex digit.
    const seen = new Map<string, string>();
    let first = '';
    for (let i = 0; i < 17 && !first; i++) {
      const { id } = await newTask(`task ${i}`);
      if (seen.has(id[0] as string)) first = id[0] as string;
      seen.set(id[0] as string, id);
    }
    expectExit(
      await task(['show', first]),
      2,
      new RegExp(
        `^rclaude: task id ${first} is ambiguous: it starts \\d+ ids \\(.*\\); give more characters$`,
      ),
    );
  });

  it('approve and deny answer the only pending approval, or say which there are', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    expectExit(await task(['approve', s]), 1, new RegExp(`^rclaude: task ${s} has no pending approvals$`));
    const approval = (approvalId: string, seq: number, toolName: string, input: unknown) =>
      t.services.tasks.addApproval({
        task_id: id,
        id: approvalId,
        seq,
        tool_name: toolName,
        input: JSON.stringify(input),
        status: 'pending',
      });
    await approval('f78a8f3b-e14d-4c38-ad79-b1bf8f8713c3', 1, 'Write', { file_path: '/workspace/x' });
    // One pending: it is the one answered. This server has no agent to pass the answer to.
    expectExit(
      await task(['approve', s, '--remember']),
      1,
      /^rclaude: The workspace agent is reconnecting; try again shortly\.$/,
    );
    await approval('0c1d2e3f-0000-4000-8000-000000000000', 2, 'Bash', { command: 'rm -rf build\nls' });
    expectExit(
      await task(['deny', s, '--message', 'not now']),
      2,
      new RegExp(
        `^rclaude: task ${s} has 2 pending approvals; name one with \`rclaude task deny ${s} <approvalId>\`: ` +
          'f78a8f3b-e14d-4c38-ad79-b1bf8f8713c3 \\(Write /workspace/x\\), ' +
          '0c1d2e3f-0000-4000-8000-000000000000 \\(Bash: rm -rf build …\\)$',
      ),
    );
    expectExit(await task(['deny', s, '0c1d']), 1, /^rclaude: The workspace agent is reconnecting/);
    expectExit(await task(['approve', s, 'nope']), 1, /^rclaude: The approval was not found\.$/);
  });

  it('logs prints the conversation so far, or each event as JSON', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    await addEvent(id, 1, INIT);
    await addEvent(id, 2, say('Looking at the tests.'));
    await addEvent(id, 3, {
      type: 'assistant',
      message: { content: [{ type: 'tool_use', id: 'tu1', name: 'Bash', input: { command: 'npm test' } }] },
    });
    await addEvent(id, 4, {
      type: 'control_request',
      request_id: 'req-1',
      request: { subtype: 'can_use_tool', tool_name: 'Bash', input: { command: 'npm test' } },
    });
    expect(expectSuccess(await task(['logs', s]))).toBe(
      'Claude Code 2.1.330 · model claude-opus-5-5\n\n' +
        'Looking at the tests.\n\n' +
        '▸ Bash: npm test\n' +
        `approval needed: Bash: npm test — rclaude task approve ${s} req-1 (or deny)\n`,
    );
    const lines = expectSuccess(await task(['logs', s, '--json']))
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as TaskEvent).seq)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      type: 'assistant',
      payload: say('Looking at the tests.'),
    });
  });
});

describe('following a task', () => {
  it('logs --follow prints events as they arrive and exits 0 once the task succeeded', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    await addEvent(id, 1, INIT);
    const follow = live(['logs', '--follow', s]);
    await follow.until(/Claude Code 2\.1\.330/);
    await addEvent(id, 2, say('First live paragraph.'));
    await follow.until(/First live paragraph\./);
    await addEvent(id, 3, {
      type: 'assistant',
      message: {
        content: [{ type: 'tool_use', name: 'Write', input: { file_path: '/workspace/hello.txt' } }],
      },
    });
    await follow.until(/▸ Write hello\.txt/);
    await finish(id, 'succeeded');
    await addEvent(id, 4, RESULT);
    const r = await follow.exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Claude Code 2.1.330 · model claude-opus-5-5\n\n' +
        'First live paragraph.\n\n' +
        '▸ Write hello.txt\n\n' +
        'Done.\n\n' +
        '✓ succeeded · 2 turns · $0.03 · 4.2s\n',
    );
  });

  it('logs --follow says "signed out" and exits 1 when its token is revoked meanwhile', async () => {
    const { id } = await newTask();
    await addEvent(id, 1, INIT);
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${env.RC_TOKEN}` },
      payload: { name: 'follow' },
    });
    const token = made.json() as { id: string; token: string };
    const follow = live(['logs', '--follow', id.slice(0, 8)], { env: { ...env, RC_TOKEN: token.token } });
    await follow.until(/Claude Code 2\.1\.330/);
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${token.id}`,
      headers: { authorization: `Bearer ${env.RC_TOKEN}` },
    });
    expect(revoke.statusCode).toBe(204);
    const r = await follow.exited;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^rclaude: Signed out: .*revoked.*\n$/);
  });

  it('logs --follow --json exits 1 with the reason when the task fails', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    const follow = live(['logs', '--follow', '--json', s]);
    await addEvent(id, 1, INIT);
    await follow.until(/"seq":1/);
    // The status moves first, then the result event arrives, as the ingest does it.
    await finish(id, 'failed', 'API Error: 529 overloaded');
    await addEvent(id, 2, { ...RESULT, is_error: true, result: 'API Error: 529 overloaded' });
    const r = await follow.exited;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`rclaude: task ${s} failed: API Error: 529 overloaded\n`);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as TaskEvent).seq),
    ).toEqual([1, 2]);
  });

  it('run --follow exits 3 when the turn ends waiting for input', async () => {
    const follow = live(['run', 'a long job', '--repo', REPO, '--follow']);
    const short = (
      await follow.until(/^Task ([0-9a-f]{8}) started; Ctrl-C detaches and leaves it running\.\n/)
    )[1];
    const { rows } = await t.services.tasks.list({ ownerId: owner.id, limit: 200 });
    const id = rows.find((r) => r.id.startsWith(short as string))?.id as string;
    await addEvent(id, 1, say('Working on it.'));
    await follow.until(/Working on it\./);
    await addEvent(id, 2, {
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      num_turns: 1,
    });
    await finish(id, 'waiting_for_input', 'Interrupted; send a follow-up to continue.');
    const r = await follow.exited;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/■ interrupted; waiting for a follow-up · 1 turn\n$/);
    expect(r.stderr).toBe(
      `rclaude: task ${id.slice(0, 8)} is waiting for input; continue it with \`rclaude task send ${id.slice(0, 8)} "<text>"\`\n`,
    );
  });

  it('a task cancelled elsewhere ends the follow with exit 1, though no event says so', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    await addEvent(id, 1, say('Before the cancel.'));
    const follow = live(['logs', '--follow', s]);
    await follow.until(/Before the cancel\./);
    expectSuccess(await task(['cancel', s]));
    const r = await follow.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rclaude: task ${s} was cancelled\n`);
  });

  it('Ctrl-C detaches and leaves the task running', async () => {
    const { id } = await newTask();
    const s = id.slice(0, 8);
    await addEvent(id, 1, say('Still going.'));
    const follow = live(['logs', '--follow', s]);
    await follow.until(/Still going\./);
    follow.signal('SIGINT');
    const r = await follow.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toBe(`detached; the task keeps running: rclaude task logs --follow ${s}\n`);
    expect((await t.services.tasks.byId(id))?.status).toBe('queued');
  });
});

describe('rclaude task with the real claude CLI in a real workspace (local driver)', () => {
  const ORG_KEY = 'sk-ant-org-test-key-0123456789';
  let k: WorkspaceKit;
  let stub: ModelStub;
  let realEnv: Record<string, string>;
  beforeAll(async () => {
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        cli: {
          turns: [
            {
              content: [
                { type: 'text', text: 'I will write the file, then check it.' },
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/hello.txt', content: 'hello from the cli test\n' },
                },
              ],
            },
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Bash',
                  input: { command: 'cat /workspace/hello.txt', description: 'show it' },
                },
              ],
            },
            { content: [{ type: 'text', text: 'The file is written.' }] },
          ],
        },
      },
    });
    k = await startWorkspaceKit({ flags: { 'gateway.upstream': stub.url, 'claude.apiKey': ORG_KEY } });
    const url = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    realEnv = { RC_URL: url, RC_TOKEN: k.auth.slice('Bearer '.length) };
  }, 120_000);
  afterAll(async () => {
    await k?.close();
    await stub?.close();
  });

  it('run --follow shows the conversation as it happens, waits on an approval, and exits 0', async () => {
    const follow = live(['run', '[scenario:cli] write a file', '--repo', k.repo('app'), '--follow'], {
      env: realEnv,
      timeoutMs: 120_000,
    });
    const short = (await follow.until(/^Task ([0-9a-f]{8}) started/))[1] as string;
    // The default permission mode asks before Write: answer from another terminal, as a user would.
    await follow.until(
      /^approval needed: Write \/workspace\/hello\.txt — rclaude task approve [0-9a-f]{8} \S+ \(or deny\)$/m,
    );
    expect(expectSuccess(await task(['approve', short], { env: realEnv }))).toBe(
      `Allowed Write /workspace/hello.txt for task ${short}.\n`,
    );
    const r = await follow.exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Claude Code \S+ · model \S+ · permissions default$/m);
    expect(r.stdout).toContain(
      '\nI will write the file, then check it.\n\n▸ Write hello.txt\napproval needed:',
    );
    expect(r.stdout).toContain('\n  ⎿ File created successfully at: /workspace/hello.txt');
    expect(r.stdout).toContain('\n▸ Bash: cat /workspace/hello.txt\n  ⎿ hello from the cli test\n');
    expect(r.stdout).toMatch(/\nThe file is written\.\n\n✓ succeeded · 3 turns · \$[0-9.]+ · [0-9.]+m?s\n$/);
    // The stored log reads the same afterwards, bar the first line that only a live run prints.
    const logs = expectSuccess(await task(['logs', short], { env: realEnv }));
    expect(logs).toBe(r.stdout.slice(r.stdout.indexOf('\n') + 1));
  }, 150_000);
});
