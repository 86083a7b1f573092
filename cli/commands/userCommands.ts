import type { Command } from 'commander';
import { CreateUserBody, orgRoles } from '../../sdk/wire.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, shortTime, table } from '../output.js';
import { readStdinLine } from '../prompt.js';

export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('manage users (admins)');

  const list = users.command('list').description('list users').option('--json', 'print JSON');
  addServerOptions(list).action(async (o: ServerOptions & { json?: boolean }) => {
    const { items } = await ctx.client(o).users.list();
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

  const create = users
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address')
    .option('--name <name>', 'display name')
    .option('--role <role>', `${orgRoles.slice(0, -1).join(', ')} or ${orgRoles.at(-1)}`, 'member')
    .option(
      '--password-stdin',
      'read an initial password (12+ characters) from standard input; without it the user signs in through OIDC only',
    )
    .option('--json', 'print JSON');
  addServerOptions(create).action(
    async (
      o: ServerOptions & {
        email: string;
        name?: string;
        role: string;
        passwordStdin?: boolean;
        json?: boolean;
      },
    ) => {
      const input = {
        email: o.email,
        role: o.role,
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.passwordStdin ? { password: await readStdinLine() } : {}),
      };
      const parsed = CreateUserBody.safeParse(input);
      if (!parsed.success) throw flagError(parsed.error, { password: 'the password on standard input' });
      const user = await ctx.client(o).users.create(parsed.data);
      ctx.out(o.json ? json(user) : `Created ${user.email} (${user.role}) with id ${user.id}.`);
    },
  );
}
