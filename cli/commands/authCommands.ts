import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ApiClient } from '../../sdk/client.js';
import { Email } from '../../sdk/wire.js';
import { type CliContext, CliError } from '../context.js';
import { credentialsPath, readCredentials, removeCredentials, writeCredentials } from '../credentials.js';
import { json } from '../output.js';
import { ask, askHidden, readStdinLine } from '../prompt.js';

export function registerAuth(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('sign in and store an API token for later commands')
    .option('--url <url>', 'server URL (default: RC_URL or http://127.0.0.1:8080)')
    .option('--email <email>', 'your email')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (o: { url?: string; email?: string; passwordStdin?: boolean }) => {
      const url = ctx.serverUrl(o);
      if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`--url must be an http(s) URL, got "${url}"`);
      const emailRaw = o.email ?? (await ask('Email: '));
      const email = Email.safeParse(emailRaw);
      if (!email.success) throw new CliError(`--email must be a valid email address, got "${emailRaw}"`);
      const password = o.passwordStdin ? await readStdinLine() : await askHidden('Password: ');
      if (!password) throw new CliError('no password given');

      const anon = new ApiClient({ baseUrl: url });
      const { me, cookie } = await anon.login(email.data, password);
      if (!me.csrfToken) throw new CliError('the server did not return a CSRF token for the session');
      const created = await anon.createTokenWithSession(cookie, me.csrfToken, {
        name: `rclaude on ${hostname()}`.slice(0, 100),
        expiresInDays: 90,
      });
      await anon.logoutSession(cookie, me.csrfToken);
      const path = writeCredentials({ url, token: created.token, email: me.user.email }, ctx.env);
      ctx.out(`Logged in to ${url} as ${me.user.email} (${me.user.role}). Token saved to ${path}.`);
    });

  program
    .command('logout')
    .description('revoke the stored token and forget it')
    .action(async () => {
      const creds = readCredentials(ctx.env);
      if (!creds) {
        ctx.out('Not logged in.');
        return;
      }
      const client = new ApiClient({ baseUrl: creds.url, token: creds.token });
      const tokens = await client.listTokens().catch(() => undefined);
      const mine = tokens?.items.find((t) => creds.token.startsWith(t.prefix) && !t.revokedAt);
      if (mine) await client.revokeToken(mine.id).catch(() => undefined);
      removeCredentials(ctx.env);
      ctx.out(`Logged out of ${creds.url}; removed ${credentialsPath(ctx.env)}.`);
    });

  program
    .command('whoami')
    .description('show the signed-in user')
    .option('--url <url>', 'server URL')
    .option('--token <token>', 'API token (default: RC_TOKEN or the stored one)')
    .option('--json', 'print JSON')
    .action(async (o: { url?: string; token?: string; json?: boolean }) => {
      const me = await ctx.client(o).me();
      if (o.json) return ctx.out(json(me));
      const teams = me.teams.length ? me.teams.map((t) => `${t.name} (${t.role})`).join(', ') : 'none';
      ctx.out(
        `${me.user.email} — ${me.user.role}${me.user.name ? ` — ${me.user.name}` : ''}\nteams: ${teams}\nserver: ${ctx.serverUrl(o)}`,
      );
    });
}
