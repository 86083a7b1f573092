// `rclaude ws`: create, list, show, start, stop and remove workspaces (`ssh` and `cp` have their own
// files). A workspace is named by its id or the start of it everywhere (see resolveWorkspace.ts).
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import type { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import { CreateWorkspaceBody, type Workspace, workspaceStatuses } from '../../sdk/workspaceWire.js';
import { CliError, usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, table } from '../output.js';
import { ask } from '../prompt.js';
import { shortId } from '../resolveRef.js';
import { resolveWorkspace } from '../resolveWorkspace.js';
import { age, cpuCell, describeWorkspace, memoryCell, statusText } from '../workspaceOutput.js';
import { registerCp } from './cpCommand.js';
import { registerSsh } from './sshCommand.js';

const CPU_RULE = 'must be a number of CPU cores above 0 and at most 64, e.g. 2 or 0.5';
const MEMORY_RULE = 'must be a whole number of MB from 64 to 262144, e.g. 4096';
/** How often --wait asks the server; a start takes seconds (a first clone can take minutes). */
const POLL_MS = 500;

type JsonFlag = ServerOptions & { json?: boolean };

export function registerWorkspaces(program: Command, ctx: CliContext): void {
  const ws = program
    .command('ws')
    .alias('workspace')
    .description('manage your workspaces: sandboxes with a clone of a repository');

  const create = ws
    .command('create')
    .description('create your workspace for a repository (or find the one you have) and start it')
    .argument('<repository>', 'http(s) URL of the git repository, e.g. https://github.com/acme/app')
    .option('--name <name>', 'a name to show (default: the repository name)')
    .option('--cpu <cores>', 'CPU cores, e.g. 2 or 0.5 (default: the server config)')
    .option('--memory <MB>', 'memory limit in MB, e.g. 4096 (default: the server config)')
    .option('--no-start', 'create it without starting it')
    .option('--wait', 'wait until it runs; exit 1 if it fails')
    .option('--json', 'print JSON');
  addServerOptions(create).action(
    async (
      repository: string,
      o: JsonFlag & { name?: string; cpu?: string; memory?: string; start: boolean; wait?: boolean },
    ) => {
      if (o.wait && !o.start) throw usageError('--wait needs the workspace to start; drop --no-start');
      const resources = {
        ...(o.cpu !== undefined ? { cpu: decimal(o.cpu) } : {}),
        ...(o.memory !== undefined ? { memoryMb: decimal(o.memory) } : {}),
      };
      const parsed = CreateWorkspaceBody.safeParse({
        repository,
        start: o.start,
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(Object.keys(resources).length ? { resources } : {}),
      });
      if (!parsed.success) {
        const path = parsed.error.issues[0]?.path ?? [];
        if (path[1] === 'cpu') throw usageError(`--cpu ${CPU_RULE}, got "${o.cpu}"`);
        if (path[1] === 'memoryMb') throw usageError(`--memory ${MEMORY_RULE}, got "${o.memory}"`);
        throw usageError(flagError(parsed.error, { repository: '<repository>' }).message);
      }
      const client = ctx.client(o);
      let { workspace: w, created } = await client.workspaces.create(parsed.data);
      // "create" means "I want this workspace": one you already have is started again too.
      if (!created && o.start && ['pending', 'stopped', 'failed'].includes(w.status))
        w = await client.workspaces.start(w.id);
      if (o.wait) w = await waitUntilRunning(client, w);
      if (o.json) return ctx.out(json(w));
      const what = created ? 'Created workspace' : 'You already have workspace';
      ctx.out(`${what} ${shortId(w.id)} for ${w.repository}.\n${describeWorkspace(w)}`);
      if (w.status === 'running') ctx.out(`\nOpen a shell in it: rclaude ws ssh ${shortId(w.id)}`);
    },
  );

  const list = ws
    .command('list')
    .alias('ls')
    .description('list your workspaces')
    .option('--all', "everyone's workspaces (admins)")
    .option('--status <status>', `only this status: ${workspaceStatuses.join(', ')}`)
    .option('--json', 'print JSON');
  addServerOptions(list).action(async (o: JsonFlag & { all?: boolean; status?: string }) => {
    const status = workspaceStatuses.find((s) => s === o.status);
    if (o.status !== undefined && !status)
      throw usageError(`--status must be one of ${workspaceStatuses.join(', ')}, got "${o.status}"`);
    const { items } = await ctx.client(o).workspaces.list({
      owner: o.all ? 'all' : 'me',
      ...(status ? { status } : {}),
    });
    if (o.json) return ctx.out(json(items));
    if (!items.length) {
      if (status) return ctx.out(`No ${status} workspaces.`);
      return ctx.out(
        o.all ? 'No workspaces.' : 'No workspaces yet; create one with `rclaude ws create <repository>`.',
      );
    }
    const now = Date.now();
    ctx.out(
      table(items, [
        ['id', (w) => shortId(w.id)],
        ['name', (w) => w.name],
        ['status', (w) => statusText(w, false)],
        ['repository', (w) => w.repository],
        ['cpu', cpuCell],
        ['mem', memoryCell],
        ['age', (w) => age(w.createdAt, now)],
      ]),
    );
  });

  const show = ws
    .command('show')
    .description('show a workspace')
    .argument('<id>', 'workspace id, or its start')
    .option('--json', 'print JSON');
  addServerOptions(show).action(async (ref: string, o: JsonFlag) => {
    const w = await resolveWorkspace(ctx.client(o), ref);
    ctx.out(o.json ? json(w) : describeWorkspace(w));
  });

  const start = ws
    .command('start')
    .description('start a stopped workspace')
    .argument('<id>', 'workspace id, or its start')
    .option('--wait', 'wait until it runs; exit 1 if it fails')
    .option('--json', 'print JSON');
  addServerOptions(start).action(async (ref: string, o: JsonFlag & { wait?: boolean }) => {
    const client = ctx.client(o);
    let w = await client.workspaces.start((await resolveWorkspace(client, ref)).id);
    if (o.wait) w = await waitUntilRunning(client, w);
    if (o.json) return ctx.out(json(w));
    ctx.out(
      w.status === 'running'
        ? `Workspace ${shortId(w.id)} (${w.name}) is running. Open a shell: rclaude ws ssh ${shortId(w.id)}`
        : `Starting workspace ${shortId(w.id)} (${w.name}); follow it with \`rclaude ws show ${shortId(w.id)}\`.`,
    );
  });

  const stop = ws
    .command('stop')
    .description('stop a workspace; its files are kept')
    .argument('<id>', 'workspace id, or its start')
    .option('--json', 'print JSON');
  addServerOptions(stop).action(async (ref: string, o: JsonFlag) => {
    const client = ctx.client(o);
    const w = await client.workspaces.stop((await resolveWorkspace(client, ref)).id);
    ctx.out(o.json ? json(w) : `Stopped workspace ${shortId(w.id)} (${w.name}).`);
  });

  const rm = ws
    .command('rm')
    .alias('delete')
    .description('delete a workspace (stopping it first) and, unless --keep-volume, its files')
    .argument('<id>', 'workspace id, or its start')
    .option('--keep-volume', 'keep the files for a later workspace for the same repository')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print JSON');
  addServerOptions(rm).action(async (ref: string, o: JsonFlag & { keepVolume?: boolean; yes?: boolean }) => {
    const client = ctx.client(o);
    const w = await resolveWorkspace(client, ref);
    const keepVolume = o.keepVolume === true;
    const what = `workspace ${shortId(w.id)} (${w.name})${keepVolume ? '' : ' and its files'}`;
    if (!o.yes) {
      if (!process.stdin.isTTY) throw usageError(`not deleting ${what} without --yes`);
      const answer = await ask(`Delete ${what}? [y/N] `);
      if (!/^y(es)?$/i.test(answer)) throw new CliError('nothing deleted');
    }
    await client.workspaces.delete(w.id, { keepVolume });
    if (o.json) return ctx.out(json({ id: w.id, deleted: true, keptVolume: keepVolume }));
    ctx.out(
      keepVolume
        ? `Deleted workspace ${shortId(w.id)} (${w.name}); its files are kept for the next workspace for ${w.repository}.`
        : `Deleted ${what}.`,
    );
  });

  registerSsh(ws, ctx);
  registerCp(ws, ctx);
}

/** A flag's number, or NaN when it is not plainly one ("2", "0.5"), so the schema refuses it. */
function decimal(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
}

/**
 * Polls until the workspace runs (returned) or fails or stops (CliError with the reason). Progress
 * (clone percentages) goes to stderr when that is a terminal. The server fails a start that takes
 * longer than workspaces.startTimeout / cloneTimeout, so this ends.
 */
async function waitUntilRunning(client: NodeApiClient, first: Workspace): Promise<Workspace> {
  let w = first;
  let shown = '';
  for (;;) {
    if (w.status === 'running') return w;
    if (w.status === 'failed')
      throw new CliError(`workspace ${shortId(w.id)} failed: ${w.statusReason ?? 'no reason was given'}`);
    if (w.status === 'stopping' || w.status === 'stopped')
      throw new CliError(`workspace ${shortId(w.id)} was stopped before it was running`);
    const line = statusText(w);
    if (process.stderr.isTTY && line !== shown) process.stderr.write(`${shortId(w.id)}: ${line}\n`);
    shown = line;
    await delay(POLL_MS);
    w = await client.workspaces.get(w.id);
  }
}
