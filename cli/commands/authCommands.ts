import { hostname } from 'node:os';
import type { Command } from 'commander';
import { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import { Email, PASSWORD_MIN_LENGTH, Password } from '../../sdk/wire.js';
import { CliError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import {
  type Credentials,
  credentialsPath,
  readCredentials,
  removeCredentials,
  writeCredentials,
} from '../credentials.js';
import { json } from '../output.js';
import { ask, askHidden, readStdinLines } from '../prompt.js';

export function registerAuth(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('sign in with your email and password and save an API token for later commands')
    .option('--url <url>', 'server URL (default: RC_URL, else the last server, else http://127.0.0.1:8080)')
    .option('--email <email>', 'your email (asked for when not given)')
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .action(async (o: { url?: string; email?: string; passwordStdin?: boolean }) => {
      const url = ctx.serverUrl(o);
      if (o.email === undefined && !process.stdin.isTTY)
        throw new CliError('--email is required when there is no terminal to ask on');
      const emailRaw = o.email ?? (await ask('Email: '));
      const email = Email.safeParse(emailRaw);
      if (!email.success) throw new CliError(`--email must be a valid email address, got "${emailRaw}"`);
      const stdinLines = o.passwordStdin ? await readStdinLines() : [];
      const password = o.passwordStdin ? (stdinLines[0] ?? '') : await askHidden('Password: ');
      if (!password)
        throw new CliError(o.passwordStdin ? 'no password on standard input' : 'no password given');

      const anon = new NodeApiClient({ baseUrl: url });
      const { me, client: session } = await anon.loginSession(email.data, password);
      if (!me.csrfToken) throw new CliError('the server did not return a CSRF token for the session');
      if (me.passwordChangeRequired) {
        // A generated one-time password: choose the real one before anything else works.
        const next = o.passwordStdin ? (stdinLines[1] ?? '') : await askNewPassword();
        const rule = Password.safeParse(next);
        if (!rule.success) {
          throw new CliError(
            o.passwordStdin
              ? `this account has a one-time password: put a new password (at least ${PASSWORD_MIN_LENGTH} characters) on the second line of standard input`
              : `the new password must be at least ${PASSWORD_MIN_LENGTH} characters`,
          );
        }
        await session.users.update(me.user.id, { password: next, currentPassword: password });
        ctx.out('New password set; the one-time password no longer works.');
      }
      const created = await session.tokens.create({
        name: `rclaude on ${hostname()}`.slice(0, 100),
        expiresInDays: 90,
      });
      await session.auth.logout();
      const path = writeCredentials({ url, token: created.token, email: me.user.email }, ctx.env);
      ctx.out(`Logged in to ${url} as ${me.user.email} (${me.user.role}). Token saved to ${path}.`);
      if (ctx.env.RC_TOKEN)
        ctx.out('Note: RC_TOKEN is set in your environment and is used instead of the saved token.');
    });

  /** Ask twice for a new password, on the terminal. */
  async function askNewPassword(): Promise<string> {
    ctx.out('This account has a one-time password. Choose your own now.');
    const first = await askHidden('New password: ');
    if (first !== (await askHidden('New password again: ')))
      throw new CliError('the two new passwords differ');
    return first;
  }

  program
    .command('logout')
    .description('revoke the saved token and forget it')
    .action(async () => {
      let creds: Credentials | undefined;
      try {
        creds = readCredentials(ctx.env);
      } catch (err) {
        // A damaged file holds no usable token; removing it is all logout can do.
        if (!(err instanceof CliError)) throw err;
        removeCredentials(ctx.env);
        return ctx.out(`Removed the damaged ${credentialsPath(ctx.env)}.`);
      }
      if (!creds) return ctx.out('Not logged in.');
      const client = new NodeApiClient({ baseUrl: creds.url, token: creds.token });
      // Only to say which token this is; an unreachable server still lets the logout happen.
      const tokens = await client.tokens.list().catch(() => undefined);
      const mine = tokens?.items.find((t) => creds.token.startsWith(t.prefix) && !t.revokedAt);
      const revoked = mine
        ? await client.tokens.revoke(mine.id).then(
            () => true,
            () => false,
          )
        : false;
      removeCredentials(ctx.env);
      ctx.out(
        revoked
          ? `Logged out of ${creds.url}: revoked the token and removed ${credentialsPath(ctx.env)}.`
          : `Logged out: removed ${credentialsPath(ctx.env)}. The token was not revoked, because ${creds.url} could not be reached or no longer accepts it.`,
      );
    });

  const whoami = program
    .command('whoami')
    .description('show who you are signed in as, and where')
    .option('--json', 'print JSON');
  addServerOptions(whoami).action(async (o: ServerOptions & { json?: boolean }) => {
    const me = await ctx.client(o).auth.me();
    if (o.json) return ctx.out(json(me));
    const teams = me.teams.length ? me.teams.map((t) => `${t.name} (${t.role})`).join(', ') : 'none';
    ctx.out(
      `${me.user.email} — ${me.user.role}${me.user.name ? ` — ${me.user.name}` : ''}\nteams: ${teams}\nserver: ${ctx.serverUrl(o)}`,
    );
  });
}
