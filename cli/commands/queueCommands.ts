// `rclaude queue` (the scheduler's queue: where your tasks wait and why) and `rclaude quota` (your
// limits and what is left of them; admins set and clear per-user and per-team overrides).
import type { Command } from 'commander';
import { z } from 'zod';
import type { QuotaSubject } from '../../sdk/client/queueApi.js';
import { type Quota, QuotaOverrideBody } from '../../sdk/schedulerWire.js';
import { Id } from '../../sdk/wire.js';
import { usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, shortTime, table } from '../output.js';
import { shortId } from '../resolveRef.js';

type JsonFlag = ServerOptions & { json?: boolean };

/** The override fields as the user types them, for flagError. */
const FLAGS = {
  user: '--user',
  team: '--team',
  maxConcurrentTasks: '--max-concurrent-tasks',
  maxRunningWorkspaces: '--max-running-workspaces',
  maxMonthlyHours: '--max-monthly-hours',
  fairShareWeight: '--fair-share-weight',
  allowHighPriority: '--allow-high-priority',
};

/** `default` puts the field back to the configured default (null on the wire). */
const orDefault = <T extends z.ZodType>(value: T) =>
  z.preprocess((v) => (v === 'default' ? null : v), value.nullable()).optional();
const count = (max: number) =>
  orDefault(
    z
      .string()
      .regex(/^\d+$/, { error: `must be a whole number from 1 to ${max}, or default` })
      .transform(Number)
      .pipe(
        z
          .int()
          .min(1, { error: `must be from 1 to ${max}` })
          .max(max, { error: `must be from 1 to ${max}` }),
      ),
  );
const amount = (max: number) =>
  orDefault(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, { error: `must be a number above 0 and at most ${max}, or default` })
      .transform(Number)
      .pipe(
        z
          .number()
          .positive({ error: `must be above 0 and at most ${max}` })
          .max(max, { error: `must be above 0 and at most ${max}` }),
      ),
  );

/** The flags of `quota set`, checked before any request (the server checks the body again). */
const SetFlags = z.object({
  maxConcurrentTasks: count(10_000),
  maxRunningWorkspaces: count(10_000),
  maxMonthlyHours: amount(744_000),
  fairShareWeight: amount(1000),
  allowHighPriority: orDefault(
    z.enum(['true', 'false'], { error: 'must be true, false or default' }).transform((v) => v === 'true'),
  ),
});

type SubjectFlags = ServerOptions & { user?: string; team?: string };

/** The one user or team a `quota set` / `quota clear` is about. */
function subjectOf(o: SubjectFlags): QuotaSubject {
  if ((o.user === undefined) === (o.team === undefined))
    throw usageError('give one of --user <id> and --team <id>');
  const [kind, id, flag] = o.user !== undefined ? ['users', o.user, '--user'] : ['teams', o.team, '--team'];
  if (!Id.safeParse(id).success) throw usageError(`${flag} must be an id, got "${id}"`);
  return { kind: kind as QuotaSubject['kind'], id: id as string };
}

export function registerQueue(program: Command, ctx: CliContext): void {
  const queue = program
    .command('queue')
    .description('list queued tasks in the order they will start, with why each waits')
    .option('--all', "everyone's queued tasks (admins)")
    .option('--json', 'print JSON');
  addServerOptions(queue).action(async (o: JsonFlag & { all?: boolean }) => {
    const { entries } = await ctx.client(o).queue.list(o.all ? 'all' : 'me');
    if (o.json) return ctx.out(json(entries));
    if (!entries.length)
      return ctx.out(
        o.all ? 'The queue is empty.' : 'You have no queued tasks; the queue holds none of yours.',
      );
    ctx.out(
      table(entries, [
        ['#', (e) => e.position],
        ['task', (e) => shortId(e.taskId)],
        ['user', (e) => e.userName],
        ['priority', (e) => e.priority],
        ['estimated start', (e) => shortTime(e.estimatedStartAt)],
        ['reason', (e) => e.reason],
      ]),
    );
  });

  const quota = program
    .command('quota')
    .description('show your quotas and what is left of them; admins set and clear overrides');

  const show = quota
    .command('show', { isDefault: true })
    .description('show quotas, what is used of them and when the monthly hours reset (the default)')
    .option('--user <id>', "another user's (admins)")
    .option('--json', 'print JSON');
  // As the default command it also receives what a mistyped `quota sett` leaves over.
  show.allowExcessArguments(true);
  addServerOptions(show).action(async (o: JsonFlag & { user?: string }) => {
    if (show.args.length > 0)
      throw usageError(`unknown command 'quota ${show.args[0]}'; the commands are quota show, set and clear`);
    if (o.user !== undefined && !Id.safeParse(o.user).success)
      throw usageError(`--user must be a user id, got "${o.user}"`);
    const q = await ctx.client(o).queue.quota(o.user);
    ctx.out(o.json ? json(q) : describeQuota(q));
  });

  const set = quota
    .command('set')
    .description(
      'override quotas of a user or team (admins); flags not given keep their value, `default` puts one back to the configured default',
    )
    .option('--user <id>', 'the user')
    .option('--team <id>', 'the team (its members get the most generous of their teams’ overrides)')
    .option('--max-concurrent-tasks <n>', 'tasks running at once (quotas.maxConcurrentTasks)')
    .option('--max-running-workspaces <n>', 'workspaces starting or running at once (sessions.maxPerUser)')
    .option('--max-monthly-hours <h>', 'workspace-hours per calendar month, UTC (quotas.maxMonthlyHours)')
    .option('--fair-share-weight <w>', 'share of the machine against other users (default 1)')
    .option('--allow-high-priority <bool>', 'true or false: may submit `--priority high` tasks')
    .option('--json', 'print JSON');
  addServerOptions(set).action(async (o: JsonFlag & SubjectFlags & Record<string, string | undefined>) => {
    const subject = subjectOf(o);
    const parsed = SetFlags.safeParse({
      maxConcurrentTasks: o.maxConcurrentTasks,
      maxRunningWorkspaces: o.maxRunningWorkspaces,
      maxMonthlyHours: o.maxMonthlyHours,
      fairShareWeight: o.fairShareWeight,
      allowHighPriority: o.allowHighPriority,
    });
    if (!parsed.success) throw usageError(flagError(parsed.error, FLAGS).message);
    const body = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
    if (Object.keys(body).length === 0)
      throw usageError(`give at least one of ${Object.values(FLAGS).slice(2).join(', ')}`);
    const checked = QuotaOverrideBody.safeParse(body);
    if (!checked.success) throw usageError(flagError(checked.error, FLAGS).message);
    const row = await ctx.client(o).queue.setOverride(subject, checked.data);
    if (o.json) return ctx.out(json(row));
    const shown = (v: number | boolean | null) => (v === null ? 'default' : String(v));
    ctx.out(
      [
        `Override for ${row.subjectKind} ${row.subjectId}:`,
        `  max concurrent tasks     ${shown(row.maxConcurrentTasks)}`,
        `  max running workspaces   ${shown(row.maxRunningWorkspaces)}`,
        `  max monthly hours        ${shown(row.maxMonthlyHours)}`,
        `  fair-share weight        ${shown(row.fairShareWeight)}`,
        `  allow high priority      ${shown(row.allowHighPriority)}`,
      ].join('\n'),
    );
  });

  const clear = quota
    .command('clear')
    .description('remove the override of a user or team: the configured defaults apply again (admins)')
    .option('--user <id>', 'the user')
    .option('--team <id>', 'the team');
  addServerOptions(clear).action(async (o: SubjectFlags) => {
    const subject = subjectOf(o);
    await ctx.client(o).queue.clearOverride(subject);
    ctx.out(
      `Removed the override of ${subject.kind === 'users' ? 'user' : 'team'} ${subject.id}; the defaults apply.`,
    );
  });
}

function describeQuota(q: Quota): string {
  const hours = (h: number) => String(h);
  return [
    `Quotas of user ${q.userId}:`,
    `  concurrent tasks     ${q.use.concurrentTasks} of ${q.limits.maxConcurrentTasks} in use`,
    `  running workspaces   ${q.use.runningWorkspaces} of ${q.limits.maxRunningWorkspaces}`,
    `  workspace-hours      ${hours(q.use.monthlyHours)} of ${hours(q.limits.maxMonthlyHours)} used this month, ${hours(q.monthlyHoursLeft)} left`,
    `  resets               ${q.resetsAt.slice(0, 10)} (UTC)`,
    `  fair-share weight    ${q.fairShareWeight}`,
    `  high priority        ${q.allowHighPriority ? 'allowed' : 'not allowed (admins, or teams whose policy allows it)'}`,
  ].join('\n');
}
