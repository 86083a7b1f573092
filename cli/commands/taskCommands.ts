// `rclaude task`: run Claude Code on a prompt in a workspace, follow what it does, talk to it and
// stop it (approve and deny are in taskApprovalCommands.ts). A task is named by its id or the
// start of it everywhere (see resolveTask.ts).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PermissionMode } from '../../sdk/agentProtocol.js';
import type { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import { CreateTaskBody, Priority, type Task, TaskMessageBody, taskStatuses } from '../../sdk/taskWire.js';
import { oneLine } from '../../sdk/toolSummary.js';
import { usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, table } from '../output.js';
import { shortId } from '../resolveRef.js';
import { resolveTask } from '../resolveTask.js';
import { ensureWorkspaceRef, resolveWorkspace } from '../resolveWorkspace.js';
import { describeTask, formatCost, taskStatusText } from '../taskDetails.js';
import { printFollowing, wantsColor } from '../taskFollow.js';
import { TaskRenderer } from '../taskOutput.js';
import { age } from '../workspaceOutput.js';
import { registerTaskApprovals } from './taskApprovalCommands.js';

const MAX_TURNS_RULE = 'must be a whole number from 1 to 1000';
const BUDGET_RULE = 'must be an amount in US dollars above 0 and at most 10000, e.g. 5 or 0.50';
const LIMIT_RULE = 'must be a whole number from 1 to 200';
/** How the request fields are given on the command line, for flagError. */
const FLAGS = {
  prompt: '<prompt>',
  text: '<text>',
  repository: '--repo',
  workspaceId: '--workspace',
  maxBudgetUsd: '--budget',
};
/** Events per request when reading a whole log. */
const LOG_PAGE = 1000;

type JsonFlag = ServerOptions & { json?: boolean };
type RunFlags = JsonFlag & {
  repo?: string;
  workspace?: string;
  model?: string;
  permissionMode?: string;
  maxTurns?: string;
  budget?: string;
  priority?: string;
  follow?: boolean;
};

export function registerTasks(program: Command, ctx: CliContext): void {
  const task = program
    .command('task')
    .description('run Claude Code on a prompt in a workspace and follow, answer or stop it');

  const run = task
    .command('run')
    .description('start a task: Claude Code works on the prompt in your workspace for the repository')
    .argument('<prompt>', 'what to do, in quotes; - reads it from standard input')
    .option('--repo <url>', 'repository to work on; your workspace for it is found or created')
    .option('--workspace <id>', 'run in this workspace instead (id or its start)')
    .option('--model <model>', 'Claude model (default: the server config)')
    .option('--permission-mode <mode>', `${PermissionMode.options.join(', ')} (default: default)`)
    .option('--max-turns <n>', 'stop after this many turns')
    .option('--budget <usd>', 'stop once it has cost this much, in US dollars')
    .option(
      '--priority <priority>',
      `queue priority: ${Priority.options.join(', ')} (default normal; high: admins and allowed teams)`,
    )
    .option('-f, --follow', 'print the conversation as it happens; exit 0 succeeded, 1 failed, 3 waiting')
    .option('--json', 'print JSON (with --follow: each event as a line of JSON)');
  addServerOptions(run).action(async (promptArg: string, o: RunFlags) => {
    const prompt = promptArg === '-' ? readFileSync(0, 'utf8') : promptArg;
    const body = runBody(prompt, o);
    const client = ctx.client(o);
    if (body.workspaceId) body.workspaceId = (await resolveWorkspace(client, body.workspaceId)).id;
    const t = await client.tasks.create(body);
    const s = shortId(t.id);
    if (!o.follow) {
      if (o.json) return ctx.out(json(t));
      return ctx.out(
        `Started task ${t.id} (${taskStatusText(t)}).\nFollow it: rclaude task logs --follow ${s}`,
      );
    }
    if (!o.json) ctx.out(`Task ${s} started; Ctrl-C detaches and leaves it running.`);
    await printFollowing(ctx, client, t, { after: 0, json: o.json === true });
  });

  const list = task
    .command('list')
    .alias('ls')
    .description('list your tasks, newest first')
    .option('--all', "everyone's tasks (admins)")
    .option('--status <status>', `only this status: ${taskStatuses.join(', ')}`)
    .option('--repo <url>', 'only tasks for this repository')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--json', 'print JSON');
  addServerOptions(list).action(
    async (o: JsonFlag & { all?: boolean; status?: string; repo?: string; limit?: string }) => {
      const status = taskStatuses.find((s) => s === o.status);
      if (o.status !== undefined && !status)
        throw usageError(`--status must be one of ${taskStatuses.join(', ')}, got "${o.status}"`);
      const limit = o.limit === undefined ? 50 : wholeNumber(o.limit);
      if (!(limit >= 1 && limit <= 200)) throw usageError(`--limit ${LIMIT_RULE}, got "${o.limit}"`);
      const { items } = await ctx.client(o).tasks.list({
        owner: o.all ? 'all' : 'me',
        limit,
        ...(status ? { status } : {}),
        ...(o.repo ? { repository: o.repo } : {}),
      });
      if (o.json) return ctx.out(json(items));
      if (!items.length) {
        if (status || o.repo) return ctx.out('No tasks match.');
        return ctx.out(
          o.all ? 'No tasks.' : 'No tasks yet; start one with `rclaude task run "<prompt>" --repo <url>`.',
        );
      }
      const now = Date.now();
      ctx.out(
        table(items, [
          ['id', (t) => shortId(t.id)],
          ['status', (t) => t.status],
          ['repository', (t) => t.repository],
          ['age', (t) => age(t.createdAt, now)],
          ['cost', (t) => formatCost(t.costUsd)],
          ['prompt', (t) => oneLine(t.prompt, 50)],
        ]),
      );
    },
  );

  const show = task
    .command('show')
    .description('show a task')
    .argument('<id>', 'task id, or its start')
    .option('--json', 'print JSON');
  addServerOptions(show).action(async (ref: string, o: JsonFlag) => {
    const t = await resolveTask(ctx.client(o), ref);
    ctx.out(o.json ? json(t) : describeTask(t));
  });

  const logs = task
    .command('logs')
    .description("print a task's conversation so far")
    .argument('<id>', 'task id, or its start')
    .option('-f, --follow', 'keep printing until its turn is over; exit 0 succeeded, 1 failed, 3 waiting')
    .option('--json', 'print each event as a line of JSON');
  addServerOptions(logs).action(async (ref: string, o: JsonFlag & { follow?: boolean }) => {
    const client = ctx.client(o);
    const t = await resolveTask(client, ref);
    if (o.follow) return printFollowing(ctx, client, t, { after: 0, json: o.json === true });
    await printLog(ctx, client, t, o.json === true);
  });

  const send = task
    .command('send')
    .description('send a follow-up; a finished or interrupted task resumes its conversation')
    .argument('<id>', 'task id, or its start')
    .argument('<text>', 'the message, in quotes; - reads it from standard input')
    .option('-f, --follow', 'print the conversation from here on, as with `task logs --follow`')
    .option('--json', 'print JSON');
  addServerOptions(send).action(async (ref: string, textArg: string, o: JsonFlag & { follow?: boolean }) => {
    const parsed = TaskMessageBody.safeParse({ text: textArg === '-' ? readFileSync(0, 'utf8') : textArg });
    if (!parsed.success) throw usageError(flagError(parsed.error, FLAGS).message);
    const client = ctx.client(o);
    const before = await resolveTask(client, ref);
    const t = await client.tasks.sendMessage(before.id, parsed.data.text);
    if (o.follow) return printFollowing(ctx, client, t, { after: before.lastSeq, json: o.json === true });
    ctx.out(o.json ? json(t) : `Sent to task ${shortId(t.id)}; it is ${taskStatusText(t)}.`);
  });

  const interrupt = task
    .command('interrupt')
    .description('stop the running turn; the task then waits for a follow-up')
    .argument('<id>', 'task id, or its start')
    .option('--json', 'print JSON');
  addServerOptions(interrupt).action(async (ref: string, o: JsonFlag) => {
    const client = ctx.client(o);
    const t = await client.tasks.interrupt((await resolveTask(client, ref)).id);
    const s = shortId(t.id);
    ctx.out(
      o.json ? json(t) : `Interrupting task ${s}; then continue it with \`rclaude task send ${s} "<text>"\`.`,
    );
  });

  const cancel = task
    .command('cancel')
    .description('cancel a task and end its Claude Code process (a cancelled task cannot resume)')
    .argument('<id>', 'task id, or its start')
    .option('--json', 'print JSON');
  addServerOptions(cancel).action(async (ref: string, o: JsonFlag) => {
    const client = ctx.client(o);
    const t = await client.tasks.cancel((await resolveTask(client, ref)).id);
    ctx.out(o.json ? json(t) : `Cancelled task ${shortId(t.id)}.`);
  });

  registerTaskApprovals(task, ctx);
}

/** The request body of `task run`, every flag checked (usage errors, exit 2) before any request. */
function runBody(prompt: string, o: RunFlags): CreateTaskBody & { workspaceId?: string } {
  if (o.repo === undefined && o.workspace === undefined)
    throw usageError(
      'give the repository to work on with --repo <url>, or a workspace with --workspace <id>',
    );
  if (o.repo !== undefined && o.workspace !== undefined)
    throw usageError('give one of --repo and --workspace, not both');
  if (o.workspace !== undefined) ensureWorkspaceRef(o.workspace);
  const mode = PermissionMode.options.find((m) => m === o.permissionMode);
  if (o.permissionMode !== undefined && !mode)
    throw usageError(
      `--permission-mode must be one of ${PermissionMode.options.join(', ')}, got "${o.permissionMode}"`,
    );
  const priority = Priority.options.find((p) => p === o.priority);
  if (o.priority !== undefined && !priority)
    throw usageError(`--priority must be one of ${Priority.options.join(', ')}, got "${o.priority}"`);
  const maxTurns = o.maxTurns === undefined ? undefined : wholeNumber(o.maxTurns);
  if (maxTurns !== undefined && !(maxTurns >= 1 && maxTurns <= 1000))
    throw usageError(`--max-turns ${MAX_TURNS_RULE}, got "${o.maxTurns}"`);
  const budget = o.budget === undefined ? undefined : decimal(o.budget);
  if (budget !== undefined && !(budget > 0 && budget <= 10_000))
    throw usageError(`--budget ${BUDGET_RULE}, got "${o.budget}"`);
  const parsed = CreateTaskBody.safeParse({
    prompt,
    ...(o.repo !== undefined ? { repository: o.repo } : { workspaceId: o.workspace }),
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(mode ? { permissionMode: mode } : {}),
    ...(maxTurns !== undefined ? { maxTurns } : {}),
    ...(budget !== undefined ? { maxBudgetUsd: budget } : {}),
    ...(priority ? { priority } : {}),
  });
  if (!parsed.success) throw usageError(flagError(parsed.error, FLAGS).message);
  return parsed.data;
}

/** Every stored event of the task, rendered (or as JSON lines), page by page. */
async function printLog(ctx: CliContext, client: NodeApiClient, t: Task, asJson: boolean): Promise<void> {
  const renderer = new TaskRenderer({ color: wantsColor(ctx), taskRef: shortId(t.id) });
  let after = 0;
  let any = false;
  for (;;) {
    const page = await client.tasks.events(t.id, { after, limit: LOG_PAGE });
    for (const e of page.items) {
      any = true;
      if (asJson) ctx.out(JSON.stringify(e));
      else for (const line of renderer.render(e)) ctx.out(line);
    }
    if (page.next === null) break;
    after = page.next;
  }
  if (!any && !asJson) ctx.out(`No events yet; task ${shortId(t.id)} is ${taskStatusText(t)}.`);
}

/** A flag's whole number, or NaN when it is not plainly one ("12"), so the range check refuses it. */
function wholeNumber(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/** A flag's number ("5", "0.50"), or NaN when it is not plainly one. */
function decimal(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
}
