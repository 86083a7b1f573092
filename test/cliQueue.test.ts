// End-to-end tests of `rclaude queue`, `rclaude quota` and `rclaude task run --priority`: the real
// CLI (node bin/rclaude.js, see support/rclaude.ts) against a real control plane on loopback. Its
// driver "starts" workspaces whose agent never connects (fakeDrivers.ts), so tasks stay queued.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueEntry, Quota, QuotaOverride } from '../sdk/schedulerWire.js';
import type { Task } from '../sdk/taskWire.js';
import { NeverStartingDriver } from '../server/drivers/fakeDrivers.js';
import { nextMonthStart } from '../server/store/schedulerStore.js';
import type { UserRow } from '../server/store/userStore.js';
import { ensureBuilt } from './support/ensureBuilt.js';
import { expectFailure, expectSuccess, parseJson, type Run, rclaude } from './support/rclaude.js';
import { createTestApp, type TestApp } from './support/testApp.js';

const REPO = 'https://git.example.test/acme/app';

let scratch: string;
let t: TestApp;
let url: string;
let admin: UserRow;
let adminEnv: Record<string, string>;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rclaude-queue-test-'));
  await ensureBuilt();
  t = await createTestApp('sqlite', {
    // Workspaces "run" but their agent never connects; the start timeout must not fail them meanwhile.
    flags: { 'workspaces.startTimeout': 3600 },
    services: { driver: new NeverStartingDriver() },
  });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  admin = await t.user('admin');
  adminEnv = await envOf(admin);
}, 150_000);

afterAll(async () => {
  await t?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function envOf(u: UserRow): Promise<Record<string, string>> {
  return { RC_URL: url, RC_TOKEN: (await t.bearer(u)).slice('Bearer '.length) };
}

/** A new member and the environment the CLI runs with as them. */
async function member(): Promise<{ user: UserRow; env: Record<string, string> }> {
  const user = await t.user('member');
  return { user, env: await envOf(user) };
}

const run = (env: Record<string, string>, args: string[]) =>
  rclaude(mkdtempSync(join(scratch, 'home-')), args, { env });

/** An exit with this code, nothing on stdout and one "rclaude: …" line matching `message`. */
function expectExit(r: Run, code: number, message: RegExp): void {
  expectFailure(r, message);
  expect(r.code, r.stderr).toBe(code);
}

describe('rclaude queue and quota', () => {
  it('help lists queue and quota, and the subcommands of quota', async () => {
    const help = expectSuccess(await run(adminEnv, ['--help']));
    expect(help).toMatch(/^ {2}queue\b/m);
    expect(help).toMatch(/^ {2}quota\b/m);
    const quotaHelp = expectSuccess(await run(adminEnv, ['quota', '--help']));
    for (const sub of ['show', 'set', 'clear']) expect(quotaHelp).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(expectSuccess(await run(adminEnv, ['task', 'run', '--help']))).toContain('--priority <priority>');
  });

  it('an empty queue says so; queued tasks are listed in order with their reasons', async () => {
    const m = await member();
    expect(expectSuccess(await run(m.env, ['queue']))).toBe(
      'You have no queued tasks; the queue holds none of yours.\n',
    );
    expect(parseJson(await run(m.env, ['queue', '--json']))).toEqual([]);

    const first = parseJson<Task>(
      await run(m.env, ['task', 'run', 'first', '--repo', REPO, '--priority', 'low', '--json']),
    );
    expect(first).toMatchObject({ status: 'queued', priority: 'low' });
    const second = parseJson<Task>(await run(m.env, ['task', 'run', 'second', '--repo', REPO, '--json']));
    expect(second.priority).toBe('normal');
    await t.services.runtime.tasks.scheduler.runSoon();

    const entries = parseJson<QueueEntry[]>(await run(m.env, ['queue', '--json']));
    // normal goes before low; the low one waits for its workspace, which the normal one is behind.
    expect(entries.map((e) => [e.taskId, e.position, e.priority])).toEqual([
      [second.id, 1, 'normal'],
      [first.id, 2, 'low'],
    ]);
    expect(entries[0]?.reason).toBe('Waiting for its workspace to start');
    expect(entries[1]?.reason).toBe('Waiting for the task before it in this workspace');

    const text = expectSuccess(await run(m.env, ['queue']));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^#\s+TASK\s+USER\s+PRIORITY\s+ESTIMATED START\s+REASON$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^1\\s+${second.id.slice(0, 8)}\\s+${m.user.name}\\s+normal\\s+-\\s+Waiting for its workspace to start$`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^2\\s+${first.id.slice(0, 8)}\\s+.*low\\s+.*before it in this workspace$`),
    );
    expect(lines).toHaveLength(3);

    // The admin sees both in everyone's queue; a member may not ask for it.
    const all = parseJson<QueueEntry[]>(await run(adminEnv, ['queue', '--all', '--json']));
    expect(all.map((e) => e.taskId)).toEqual(expect.arrayContaining([first.id, second.id]));
    expectExit(await run(m.env, ['queue', '--all']), 1, /^rclaude: Only admins see every user’s queue\.?/);
  });

  it('quota shows limits, use, hours left and the reset date', async () => {
    const m = await member();
    const q = parseJson<Quota>(await run(m.env, ['quota', '--json']));
    const resetsAt = nextMonthStart(t.clock.now()).toISOString();
    expect(q).toEqual({
      userId: m.user.id,
      limits: {
        maxConcurrentTasks: t.config.quotas.maxConcurrentTasks,
        maxRunningWorkspaces: t.config.sessions.maxPerUser,
        maxMonthlyHours: t.config.quotas.maxMonthlyHours,
      },
      use: { concurrentTasks: 0, runningWorkspaces: 0, monthlyHours: 0 },
      monthlyHoursLeft: t.config.quotas.maxMonthlyHours,
      resetsAt,
      fairShareWeight: 1,
      allowHighPriority: false,
    });
    const text = expectSuccess(await run(m.env, ['quota']));
    expect(text).toContain(`Quotas of user ${m.user.id}:`);
    expect(text).toMatch(new RegExp(`concurrent tasks +0 of ${t.config.quotas.maxConcurrentTasks} in use`));
    expect(text).toMatch(
      new RegExp(
        `workspace-hours +0 of ${t.config.quotas.maxMonthlyHours} used this month, ${t.config.quotas.maxMonthlyHours} left`,
      ),
    );
    expect(text).toContain(`resets               ${resetsAt.slice(0, 10)} (UTC)`);
    // `quota show` is the same command; another user's quota is for admins.
    expect(parseJson<Quota>(await run(m.env, ['quota', 'show', '--json']))).toEqual(q);
    expect(parseJson<Quota>(await run(adminEnv, ['quota', '--user', m.user.id, '--json']))).toEqual(q);
    expectExit(
      await run(m.env, ['quota', '--user', admin.id]),
      1,
      /^rclaude: Only admins see another user’s quota/,
    );
  });

  it('quota set and clear change a user’s limits; high priority follows the override', async () => {
    const m = await member();
    expectExit(
      await run(m.env, ['task', 'run', 'urgent', '--repo', REPO, '--priority', 'high']),
      1,
      /^rclaude: priority high is for admins/,
    );
    const row = parseJson<QuotaOverride>(
      await run(adminEnv, [
        'quota',
        'set',
        '--user',
        m.user.id,
        '--max-concurrent-tasks',
        '2',
        '--max-monthly-hours',
        '1.5',
        '--allow-high-priority',
        'true',
        '--json',
      ]),
    );
    expect(row).toMatchObject({
      subjectKind: 'user',
      subjectId: m.user.id,
      maxConcurrentTasks: 2,
      maxRunningWorkspaces: null,
      maxMonthlyHours: 1.5,
      fairShareWeight: null,
      allowHighPriority: true,
      updatedBy: admin.id,
    });
    const q = parseJson<Quota>(await run(m.env, ['quota', '--json']));
    expect(q.limits).toMatchObject({ maxConcurrentTasks: 2, maxMonthlyHours: 1.5 });
    expect(q.allowHighPriority).toBe(true);
    const high = parseJson<Task>(
      await run(m.env, ['task', 'run', 'urgent', '--repo', REPO, '--priority', 'high', '--json']),
    );
    expect(high.priority).toBe('high');

    // Text output; `default` puts one field back and keeps the others.
    const text = expectSuccess(
      await run(adminEnv, ['quota', 'set', '--user', m.user.id, '--max-concurrent-tasks', 'default']),
    );
    expect(text).toContain(`Override for user ${m.user.id}:`);
    expect(text).toMatch(/max concurrent tasks +default\n/);
    expect(text).toMatch(/max monthly hours +1\.5\n/);

    expect(expectSuccess(await run(adminEnv, ['quota', 'clear', '--user', m.user.id]))).toBe(
      `Removed the override of user ${m.user.id}; the defaults apply.\n`,
    );
    expect(parseJson<Quota>(await run(m.env, ['quota', '--json'])).allowHighPriority).toBe(false);
    expectExit(
      await run(adminEnv, ['quota', 'clear', '--user', m.user.id]),
      1,
      /^rclaude: The override was not found/,
    );
  });

  it('a member may not set or clear quotas, and an unknown user or team is not found', async () => {
    const m = await member();
    expectExit(
      await run(m.env, ['quota', 'set', '--user', m.user.id, '--max-concurrent-tasks', '50']),
      1,
      /^rclaude: Your role does not allow this action\.$/,
    );
    expectExit(
      await run(m.env, ['quota', 'clear', '--user', m.user.id]),
      1,
      /^rclaude: Your role does not allow this action\.$/,
    );
    expectExit(
      await run(adminEnv, ['quota', 'set', '--team', 'no-such-team', '--fair-share-weight', '2']),
      1,
      /^rclaude: The team was not found/,
    );
    expectExit(
      await run(adminEnv, ['quota', 'set', '--user', 'no-such-user', '--fair-share-weight', '2']),
      1,
      /^rclaude: The user was not found/,
    );
  });

  const badFlags: { name: string; args: string[]; message: RegExp }[] = [
    {
      name: 'an unknown priority',
      args: ['task', 'run', 'x', '--repo', REPO, '--priority', 'urgent'],
      message: /^rclaude: --priority must be one of low, normal, high, got "urgent"$/,
    },
    {
      name: 'no subject',
      args: ['quota', 'set', '--max-concurrent-tasks', '2'],
      message: /^rclaude: give one of --user <id> and --team <id>$/,
    },
    {
      name: 'both subjects',
      args: ['quota', 'set', '--user', 'a', '--team', 'b', '--max-concurrent-tasks', '2'],
      message: /^rclaude: give one of --user <id> and --team <id>$/,
    },
    {
      name: 'no limit',
      args: ['quota', 'set', '--user', 'a'],
      message: /^rclaude: give at least one of --max-concurrent-tasks, /,
    },
    {
      name: 'zero tasks',
      args: ['quota', 'set', '--user', 'a', '--max-concurrent-tasks', '0'],
      message: /^rclaude: --max-concurrent-tasks must be from 1 to 10000$/,
    },
    {
      name: 'a word for a count',
      args: ['quota', 'set', '--user', 'a', '--max-running-workspaces', 'lots'],
      message: /^rclaude: --max-running-workspaces must be a whole number from 1 to 10000, or default$/,
    },
    {
      name: 'negative hours',
      args: ['quota', 'set', '--user', 'a', '--max-monthly-hours', '-1'],
      message: /^rclaude: --max-monthly-hours must be a number above 0 and at most 744000, or default$/,
    },
    {
      name: 'absurd hours',
      args: ['quota', 'set', '--user', 'a', '--max-monthly-hours', '1000000'],
      message: /^rclaude: --max-monthly-hours must be above 0 and at most 744000$/,
    },
    {
      name: 'a zero weight',
      args: ['quota', 'set', '--team', 'a', '--fair-share-weight', '0'],
      message: /^rclaude: --fair-share-weight must be above 0 and at most 1000$/,
    },
    {
      name: 'a bad boolean',
      args: ['quota', 'set', '--team', 'a', '--allow-high-priority', 'yes'],
      message: /^rclaude: --allow-high-priority must be true, false or default$/,
    },
    {
      name: 'an unknown flag',
      args: ['quota', 'set', '--user', 'a', '--max-tasks', '2'],
      message: /^rclaude: unknown option '--max-tasks'/,
    },
    {
      name: 'a mistyped quota command',
      args: ['quota', 'sett', '--user', 'a'],
      message: /^rclaude: unknown command 'quota sett'; the commands are quota show, set and clear$/,
    },
    {
      name: 'clear without a subject',
      args: ['quota', 'clear'],
      message: /^rclaude: give one of --user <id> and --team <id>$/,
    },
  ];
  // The command's own flag checks exit 2; commander's unknown-option error exits 1 (its exitCode).
  for (const c of badFlags) {
    it(`refuses ${c.name} before any request`, async () => {
      const before = await t.services.scheduler.overrides();
      expectExit(await run(adminEnv, c.args), c.name === 'an unknown flag' ? 1 : 2, c.message);
      expect(await t.services.scheduler.overrides()).toEqual(before);
    });
  }
});
