// `rclaude node`: run this host's node daemon (cli/node/nodeDaemon.ts), and `rclaude node token
// create|list|revoke` to manage the join tokens the daemons join with (admins).
import type { Command } from 'commander';
import { CreateNodeJoinTokenBody } from '../../sdk/nodeWire.js';
import { CliError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { nodeCgroupFlags } from '../node/nodeCgroup.js';
import { NodeDaemon, NodeRefusedError } from '../node/nodeDaemon.js';
import { RunDirLockedError } from '../node/runDirLock.js';
import { json, shortTime, table } from '../output.js';

interface DaemonFlags {
  url?: string;
  joinToken?: string;
  name: string;
  docker: string;
  runDir: string;
  reservedCpu: string;
  cgroupParent: string;
}

export function registerNode(program: Command, ctx: CliContext): void {
  const node = program
    .command('node')
    .description("run this Docker host's node daemon: it dials the control plane and runs its workspaces")
    .option('--url <url>', 'control plane URL (default: RC_URL)')
    .option(
      '--join-token <token>',
      'join token from `rclaude node token create` (default: RC_NODE_JOIN_TOKEN)',
    )
    .option('--name <name>', "this node's name, as the join token and the `nodes` config name it", '')
    .option('--docker <socket>', "the local Docker daemon's socket", '/var/run/docker.sock')
    .option('--run-dir <dir>', 'where the agent sockets of workspaces live', '/var/lib/rclaude-node')
    .option(
      '--reserved-cpu <cores>',
      "CPU cores of this host kept from all workspace containers together (their parent cgroup's cap is the host's CPUs minus this; 0: no cap)",
      '0.5',
    )
    .option(
      '--cgroup-parent <path>',
      'the parent cgroup of workspace containers, relative to /sys/fs/cgroup (cgroupfs Docker daemons only)',
      'remote-claude',
    )
    .action(async (o: DaemonFlags) => {
      const joinToken = o.joinToken ?? ctx.env.RC_NODE_JOIN_TOKEN;
      // Typed alone, like every other group, it shows its help (the daemon needs a name anyway).
      if (!joinToken && !o.name && !o.url) return ctx.out(node.helpInformation().trimEnd());
      if (!joinToken) throw new CliError('--join-token (or RC_NODE_JOIN_TOKEN) is required');
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(o.name))
        throw new CliError(`--name must be 1 to 63 letters, digits, "_", "." or "-", got "${o.name}"`);
      if (!o.runDir.startsWith('/'))
        throw new CliError(`--run-dir must be an absolute path, got "${o.runDir}"`);
      const cgroup = nodeCgroupFlags().safeParse({
        reservedCpu: o.reservedCpu,
        cgroupParent: o.cgroupParent,
      });
      if (!cgroup.success) {
        const issue = cgroup.error.issues[0];
        const flag = issue?.path[0] === 'reservedCpu' ? '--reserved-cpu' : '--cgroup-parent';
        const given = issue?.path[0] === 'reservedCpu' ? o.reservedCpu : o.cgroupParent;
        throw new CliError(`${flag} ${issue?.message}, got "${given}"`);
      }
      const url = ctx.serverUrl(o.url ? { url: o.url } : {});
      const daemon = new NodeDaemon({
        url,
        joinToken,
        name: o.name,
        dockerSocket: o.docker,
        runDir: o.runDir,
        cgroup: {
          root: '/sys/fs/cgroup',
          parent: cgroup.data.cgroupParent,
          reservedCpu: cgroup.data.reservedCpu,
        },
        log: (event, fields = {}) =>
          ctx.err(JSON.stringify({ time: new Date().toISOString(), event, ...fields })),
      });
      const stop = () => void daemon.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        await daemon.run();
      } catch (err) {
        if (err instanceof NodeRefusedError || err instanceof RunDirLockedError)
          throw new CliError(err.message);
        throw err;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
    });

  const token = node.command('token').description('manage join tokens of node daemons (admins)');
  const create = token
    .command('create')
    .description('mint a join token for one node; the secret is printed once')
    .requiredOption('--node <name>', "the node name it admits (the daemon's --name)")
    .option('--expires-in-days <days>', 'lifetime in days (1-3650), or "never"', 'never')
    .option('--json', 'print JSON (includes the secret)');
  addServerOptions(create).action(
    async (o: ServerOptions & { node: string; expiresInDays: string; json?: boolean }) => {
      const days =
        o.expiresInDays === 'never'
          ? null
          : /^\d+$/.test(o.expiresInDays)
            ? Number(o.expiresInDays)
            : Number.NaN;
      const parsed = CreateNodeJoinTokenBody.safeParse({ node: o.node, expiresInDays: days });
      if (!parsed.success) {
        if (parsed.error.issues[0]?.path[0] === 'expiresInDays')
          throw new CliError(
            `--expires-in-days must be a whole number of days from 1 to 3650, or "never", got "${o.expiresInDays}"`,
          );
        throw flagError(parsed.error);
      }
      const created = await ctx.client(o).nodes.createJoinToken(parsed.data);
      if (o.json) return ctx.out(json(created));
      ctx.out(created.token);
      ctx.out(`\nSave it now; it is not shown again. Join token ${created.id} admits node ${created.node}.`);
    },
  );
  const list = token
    .command('list')
    .description('list join tokens (never their secrets)')
    .option('--json', 'print JSON');
  addServerOptions(list).action(async (o: ServerOptions & { json?: boolean }) => {
    const { items } = await ctx.client(o).nodes.joinTokens();
    if (o.json) return ctx.out(json(items));
    if (!items.length)
      return ctx.out('No join tokens yet; mint one with `rclaude node token create --node <name>`.');
    ctx.out(
      table(items, [
        ['id', (t) => t.id],
        ['node', (t) => t.node],
        ['prefix', (t) => `${t.prefix}…`],
        ['created', (t) => shortTime(t.createdAt)],
        ['expires', (t) => (t.expiresAt ? shortTime(t.expiresAt) : 'never')],
        ['last used', (t) => shortTime(t.lastUsedAt)],
        ['status', (t) => (t.revokedAt ? 'revoked' : 'active')],
      ]),
    );
  });
  const revoke = token
    .command('revoke')
    .description('revoke a join token by id; no node joins with it again')
    .argument('<id>', 'join token id (see `rclaude node token list`)');
  addServerOptions(revoke).action(async (id: string, o: ServerOptions) => {
    if (!/^[\w-]{1,64}$/.test(id))
      throw new CliError(`<id> must be a join token id from \`rclaude node token list\`, got "${id}"`);
    await ctx.client(o).nodes.revokeJoinToken(id);
    ctx.out(`Revoked join token ${id}.`);
  });
}
