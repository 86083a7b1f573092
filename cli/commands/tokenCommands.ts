import type { Command } from 'commander';
import { CreateTokenBody } from '../../sdk/wire.js';
import { type CliContext, CliError } from '../context.js';
import { json, shortTime, table } from '../output.js';

export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program.command('tokens').description('manage your API tokens');

  tokens
    .command('create')
    .description('create a token; it is printed once')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--expires-in-days <days>', 'lifetime in days, or "never"', '90')
    .option('--json', 'print JSON')
    .action(async (o: { name: string; expiresInDays: string; json?: boolean }) => {
      const days =
        o.expiresInDays === 'never'
          ? null
          : /^\d+$/.test(o.expiresInDays)
            ? Number(o.expiresInDays)
            : Number.NaN;
      const parsed = CreateTokenBody.safeParse({ name: o.name, expiresInDays: days });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const flag = issue?.path[0] === 'expiresInDays' ? 'expires-in-days' : 'name';
        throw new CliError(
          `--${flag} ${issue?.path[0] === 'expiresInDays' ? 'must be a whole number of days from 1 to 3650, or "never"' : issue?.message}`,
        );
      }
      const created = await ctx.client({}).createToken(parsed.data);
      if (o.json) return ctx.out(json(created));
      ctx.out(
        `${created.token}\n\nThis is the only time the token is shown. Expires: ${created.expiresAt ? shortTime(created.expiresAt) : 'never'}.`,
      );
    });

  tokens
    .command('list')
    .description('list your tokens')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { items } = await ctx.client({}).listTokens();
      if (o.json) return ctx.out(json(items));
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

  tokens
    .command('revoke')
    .description('revoke a token by id')
    .argument('<id>', 'token id (see `rclaude tokens list`)')
    .action(async (id: string) => {
      if (!/^[\w-]{1,64}$/.test(id))
        throw new CliError(`<id> must be a token id from \`rclaude tokens list\`, got "${id}"`);
      await ctx.client({}).revokeToken(id);
      ctx.out(`Revoked token ${id}.`);
    });
}
