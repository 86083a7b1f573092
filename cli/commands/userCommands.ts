import type { Command } from 'commander';
import { CreateUserBody } from '../../sdk/wire.js';
import { type CliContext, CliError } from '../context.js';
import { json, shortTime, table } from '../output.js';
import { readStdinLine } from '../prompt.js';

export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('manage users (admins)');

  users
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { items } = await ctx.client({}).listUsers();
      if (o.json) return ctx.out(json(items));
      ctx.out(
        table(items, [
          ['id', (u) => u.id],
          ['email', (u) => u.email],
          ['name', (u) => u.name],
          ['role', (u) => u.role],
          ['status', (u) => (u.disabled ? 'disabled' : 'active')],
          ['last login', (u) => shortTime(u.lastLoginAt)],
        ]),
      );
    });

  users
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address')
    .option('--name <name>', 'display name')
    .option('--role <role>', 'owner, admin, member or viewer', 'member')
    .option('--password-stdin', 'read an initial password from standard input (else: OIDC sign-in only)')
    .option('--json', 'print JSON')
    .action(
      async (o: { email: string; name?: string; role: string; passwordStdin?: boolean; json?: boolean }) => {
        const input = {
          email: o.email,
          role: o.role,
          ...(o.name ? { name: o.name } : {}),
          ...(o.passwordStdin ? { password: await readStdinLine() } : {}),
        };
        const parsed = CreateUserBody.safeParse(input);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new CliError(`--${String(issue?.path[0] ?? 'input')} ${issue?.message ?? 'is not valid'}`);
        }
        const user = await ctx.client({}).createUser(parsed.data);
        ctx.out(o.json ? json(user) : `Created ${user.email} (${user.role}) with id ${user.id}.`);
      },
    );
}
