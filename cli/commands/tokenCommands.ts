import type { Command } from 'commander';
import { CreateTokenBody } from '../../sdk/wire.js';
import { CliError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, shortTime, table } from '../output.js';

const DAYS_RULE = 'must be a whole number of days from 1 to 3650, or "never"';

export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program
    .command('tokens')
    .description('manage your API tokens (for scripts, CI and RC_TOKEN)');

  const create = tokens
    .command('create')
    .description('create a token; the secret is printed once')
    .requiredOption('--name <name>', 'what the token is for, e.g. "ci"')
    .option('--expires-in-days <days>', 'lifetime in days (1-3650), or "never"', '90')
    .option('--json', 'print JSON (includes the secret)');
  addServerOptions(create).action(
    async (o: ServerOptions & { name: string; expiresInDays: string; json?: boolean }) => {
      const days =
        o.expiresInDays === 'never'
          ? null
          : /^\d+$/.test(o.expiresInDays)
            ? Number(o.expiresInDays)
            : Number.NaN;
      const parsed = CreateTokenBody.safeParse({ name: o.name, expiresInDays: days });
      if (!parsed.success) {
        if (parsed.error.issues[0]?.path[0] === 'expiresInDays')
          throw new CliError(`--expires-in-days ${DAYS_RULE}, got "${o.expiresInDays}"`);
        throw flagError(parsed.error);
      }
      const created = await ctx.client(o).tokens.create(parsed.data);
      if (o.json) return ctx.out(json(created));
      ctx.out(created.token);
      const expiry = created.expiresAt ? `expires ${shortTime(created.expiresAt)} UTC` : 'never expires';
      ctx.out(`\nSave it now; it is not shown again. Token "${created.name}" (id ${created.id}) ${expiry}.`);
    },
  );

  const list = tokens
    .command('list')
    .description('list your tokens (never their secrets)')
    .option('--json', 'print JSON');
  addServerOptions(list).action(async (o: ServerOptions & { json?: boolean }) => {
    const { items } = await ctx.client(o).tokens.list();
    if (o.json) return ctx.out(json(items));
    if (!items.length)
      return ctx.out('No tokens yet; create one with `rclaude tokens create --name <name>`.');
    ctx.out(
      table(items, [
        ['id', (t) => t.id],
        ['name', (t) => t.name],
        ['prefix', (t) => `${t.prefix}…`],
        ['created', (t) => shortTime(t.createdAt)],
        ['expires', (t) => (t.expiresAt ? shortTime(t.expiresAt) : 'never')],
        ['last used', (t) => shortTime(t.lastUsedAt)],
        ['status', (t) => (t.revokedAt ? 'revoked' : 'active')],
      ]),
    );
  });

  const revoke = tokens
    .command('revoke')
    .description('revoke a token by id; anything using it stops working at once')
    .argument('<id>', 'token id (see `rclaude tokens list`)');
  addServerOptions(revoke).action(async (id: string, o: ServerOptions) => {
    if (!/^[\w-]{1,64}$/.test(id))
      throw new CliError(`<id> must be a token id from \`rclaude tokens list\`, got "${id}"`);
    await ctx.client(o).tokens.revoke(id);
    ctx.out(`Revoked token ${id}.`);
  });
}
