// End-to-end tests of the real `rclaude`: every case runs `node bin/rclaude.js …` as a child process
// (see support/rclaude.ts) against a real server on loopback with a real SQLite store, each in a
// HOME of its own under a temporary directory.
//
// The cases in "signed in as the administrator" run in order and build on each other (log in, then
// use the token), the way a person would use the CLI; the other blocks' cases are independent.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultContext } from '../cli/context.js';
import { buildProgram } from '../cli/main.js';
import { loadConfig } from '../server/config/loadConfig.js';
import { type RunningServer, startServer } from '../server/serve.js';
import { ensureBuilt } from './support/ensureBuilt.js';
import {
  credentialsFile,
  expectFailure,
  expectSuccess,
  parseJson,
  ROOT,
  rclaude,
  type ServeChild,
  startServe,
} from './support/rclaude.js';

/** The path of every command that has commands of its own, e.g. ['ws'] or ['task']. */
function bareGroups(cmd: Command, path: string[] = []): string[][] {
  const found: string[][] = [];
  for (const sub of cmd.commands) {
    const at = [...path, sub.name()];
    // A group with a default command (`quota` runs `quota show`) is a command of its own.
    const hasDefault = (sub as unknown as { _defaultCommandName?: string })._defaultCommandName;
    if (sub.commands.length > 0 && !hasDefault) found.push(at);
    found.push(...bareGroups(sub, at));
  }
  return found;
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const ADMIN_EMAIL = 'root@example.test';
const ADMIN_PASSWORD = 'root-password-for-cli-tests';
/** Cheap argon2id for `rclaude serve` children, through the generic RC_A__B environment form. */
const FAST_ARGON2_ENV = { RC_AUTH__ARGON2__MEMORY_COST: '1024', RC_AUTH__ARGON2__TIME_COST: '1' };

let scratch: string;
let server: RunningServer;

/** A fresh HOME (with its own XDG_CONFIG_HOME): a user with nothing saved yet. */
function newHome(name: string): string {
  const home = join(scratch, name);
  mkdirSync(home, { recursive: true });
  return home;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rclaude-cli-test-'));
  // The tests run the compiled CLI, exactly what `npx rclaude` runs; a clean clone has no dist/ yet.
  await ensureBuilt();
  server = await startServer(
    loadConfig({
      env: {},
      flags: {
        'server.host': '127.0.0.1',
        'server.port': 0,
        dataDir: join(scratch, 'server-data'),
        'log.level': 'silent',
        'auth.argon2.memoryCost': 1024,
        'auth.argon2.timeCost': 1,
        'admin.email': ADMIN_EMAIL,
        'admin.password': ADMIN_PASSWORD,
      },
    }),
    { print: () => {} },
  );
}, 150_000);

afterAll(async () => {
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.concurrent('help and version, as a newcomer meets them', () => {
  it('--help lists every command and how to get started', async () => {
    const out = expectSuccess(await rclaude(newHome('help'), ['--help']));
    for (const command of [
      'serve',
      'login',
      'logout',
      'whoami',
      'users',
      'tokens',
      'audit',
      'replicas',
      'config',
      'version',
    ])
      expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(out).toContain('Getting started:');
    expect(out).toContain('rclaude login --url');
  });

  it('each group and command has its own help', async () => {
    const home = newHome('help');
    const tokens = expectSuccess(await rclaude(home, ['tokens', '--help']));
    for (const sub of ['create', 'list', 'revoke']) expect(tokens).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(expectSuccess(await rclaude(home, ['help', 'tokens']))).toBe(tokens);
    expect(expectSuccess(await rclaude(home, ['login', '--help']))).toContain('--password-stdin');
    expect(expectSuccess(await rclaude(home, ['audit', 'list', '--help']))).toContain('--action <action>');
    expect(expectSuccess(await rclaude(home, ['serve', '--help']))).toContain('RC_PORT');
  });

  it('every group typed alone prints its help on stdout and exits 0', async () => {
    const groups = bareGroups(buildProgram(defaultContext({})));
    expect(groups.map((g) => g.join(' '))).toEqual(expect.arrayContaining(['users', 'tokens', 'ws', 'task']));
    const home = newHome('help');
    for (const group of groups) {
      const r = await rclaude(home, group);
      expect({ group, code: r.code, stderr: r.stderr }).toEqual({ group, code: 0, stderr: '' });
      // `ws` has an alias, shown as `ws|workspace`.
      expect(r.stdout).toMatch(
        new RegExp(`^Usage: rclaude ${group.join(' ')}(\\|\\w+)? \\[options\\] \\[command\\]`),
      );
    }
  });

  it('a group given a word that is not its command still fails with a suggestion', async () => {
    const r = await rclaude(newHome('help'), ['users', 'lisst']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "rclaude: unknown command 'lisst' (did you mean list?); see `rclaude users --help`\n",
    );
  });

  it('version and --version print the package version', async () => {
    const home = newHome('help');
    expect(expectSuccess(await rclaude(home, ['version']))).toMatch(
      new RegExp(`^rclaude ${VERSION.replace(/\./g, '\\.')} \\(node v\\d+\\.\\d+\\.\\d+\\)\\n$`),
    );
    expect(expectSuccess(await rclaude(home, ['--version']))).toBe(`rclaude ${VERSION}\n`);
  });
});

describe('signed in as the administrator', () => {
  let home: string;
  let ciToken: { id: string; token: string };

  beforeAll(() => {
    home = newHome('admin');
  });

  it('login --password-stdin saves a token, not the password, readable by the user only', async () => {
    const out = expectSuccess(
      await rclaude(home, ['login', '--url', server.url, '--email', ADMIN_EMAIL, '--password-stdin'], {
        stdin: `${ADMIN_PASSWORD}\n`,
      }),
    );
    expect(out).toBe(
      `Logged in to ${server.url} as ${ADMIN_EMAIL} (owner). Token saved to ${credentialsFile(home)}.\n`,
    );
    const file = credentialsFile(home);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'config', 'remote-claude')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(ADMIN_PASSWORD);
    const saved = JSON.parse(text) as { url: string; token: string };
    expect(saved.url).toBe(server.url);
    expect(saved.token).toMatch(/^rc_/);
  });

  it('whoami shows the user in text and JSON', async () => {
    const text = expectSuccess(await rclaude(home, ['whoami']));
    expect(text).toBe(`${ADMIN_EMAIL} — owner — Administrator\nteams: none\nserver: ${server.url}\n`);
    const me = parseJson<{ user: { email: string; role: string }; authMethod: string }>(
      await rclaude(home, ['whoami', '--json']),
    );
    expect(me.user).toMatchObject({ email: ADMIN_EMAIL, role: 'owner' });
    expect(me.authMethod).toBe('token');
  });

  it('tokens create prints the secret once; list shows it without the secret', async () => {
    const out = expectSuccess(await rclaude(home, ['tokens', 'create', '--name', 'ci-bot']));
    const [secret, blank, note] = out.trimEnd().split('\n');
    expect(secret).toMatch(/^rc_[\w-]+$/);
    expect(blank).toBe('');
    expect(note).toMatch(/^Save it now; it is not shown again\. Token "ci-bot" \(id [\w-]+\) expires \d{4}-/);

    const list = await rclaude(home, ['tokens', 'list', '--json']);
    expect(list.stdout).not.toContain(secret);
    const items = parseJson<{ id: string; name: string; prefix: string; revokedAt: string | null }[]>(list);
    const ci = items.find((t) => t.name === 'ci-bot');
    expect(ci?.revokedAt).toBeNull();
    expect(secret?.startsWith(ci?.prefix as string)).toBe(true);
    ciToken = { id: ci?.id as string, token: secret as string };

    const table = expectSuccess(await rclaude(home, ['tokens', 'list']));
    expect(table).toMatch(/^ID +NAME +PREFIX +CREATED +EXPIRES +LAST USED +STATUS$/m);
    expect(table).toMatch(new RegExp(`^${ciToken.id} +ci-bot +.*active$`, 'm'));
  });

  it('the new token works as RC_TOKEN and as --token', async () => {
    const viaEnv = parseJson<{ user: { email: string } }>(
      await rclaude(newHome('ci'), ['whoami', '--json', '--url', server.url], {
        env: { RC_TOKEN: ciToken.token },
      }),
    );
    expect(viaEnv.user.email).toBe(ADMIN_EMAIL);
    const viaFlag = await rclaude(newHome('ci'), ['whoami', '--url', server.url, '--token', ciToken.token]);
    expect(expectSuccess(viaFlag)).toContain(ADMIN_EMAIL);
  });

  it('a token that never expires', async () => {
    const created = parseJson<{ expiresAt: string | null; token: string }>(
      await rclaude(home, ['tokens', 'create', '--name', 'forever', '--expires-in-days', 'never', '--json']),
    );
    expect(created.expiresAt).toBeNull();
    expect(created.token).toMatch(/^rc_/);
  });

  it('tokens revoke; the revoked token then fails with one line', async () => {
    expect(expectSuccess(await rclaude(home, ['tokens', 'revoke', ciToken.id]))).toBe(
      `Revoked token ${ciToken.id}.\n`,
    );
    const items = parseJson<{ id: string; revokedAt: string | null }[]>(
      await rclaude(home, ['tokens', 'list', '--json']),
    );
    expect(items.find((t) => t.id === ciToken.id)?.revokedAt).not.toBeNull();

    const r = await rclaude(newHome('ci'), ['whoami', '--url', server.url], {
      env: { RC_TOKEN: ciToken.token },
    });
    expect(r.code).toBe(1);
    expectFailure(r, /revoked.*RC_TOKEN/);
    expectFailure(
      await rclaude(newHome('ci'), ['tokens', 'list', '--url', server.url, '--token', ciToken.token]),
      /revoked.*--token/,
    );
  });

  it('users create --password-stdin, users list --json; the new user can sign in', async () => {
    const out = expectSuccess(
      await rclaude(
        home,
        [
          'users',
          'create',
          '--email',
          'Viewer@Example.test',
          '--name',
          'Vera Viewer',
          '--role',
          'viewer',
          '--password-stdin',
        ],
        { stdin: 'viewer-password-123\n' },
      ),
    );
    expect(out).toMatch(/^Created viewer@example\.test \(viewer\) with id [\w-]+\.\n$/);
    const users = parseJson<{ email: string; role: string; name: string | null }[]>(
      await rclaude(home, ['users', 'list', '--json']),
    );
    expect(users.map((u) => u.email).sort()).toEqual([ADMIN_EMAIL, 'viewer@example.test']);
    expect(users.find((u) => u.email === 'viewer@example.test')).toMatchObject({
      role: 'viewer',
      name: 'Vera Viewer',
    });
    expect(expectSuccess(await rclaude(home, ['users', 'list']))).toMatch(
      /^[\w-]+ +viewer@example\.test +Vera Viewer +viewer +active +-$/m,
    );

    const viewer = newHome('viewer');
    expectSuccess(
      await rclaude(
        viewer,
        ['login', '--url', server.url, '--email', 'viewer@example.test', '--password-stdin'],
        {
          stdin: 'viewer-password-123',
        },
      ),
    );
    expect(expectSuccess(await rclaude(viewer, ['whoami']))).toMatch(/^viewer@example\.test — viewer/);
    // A viewer may not manage users or read the audit log: one readable line, not a stack trace.
    expectFailure(await rclaude(viewer, ['users', 'create', '--email', 'x@example.test']));
    expectFailure(await rclaude(viewer, ['audit', 'list']));
  });

  it('users create refuses a duplicate with the server’s message', async () => {
    expectFailure(
      await rclaude(home, ['users', 'create', '--email', 'viewer@example.test']),
      /viewer@example\.test already exists/,
    );
  });

  it('audit list shows logins and token events, and respects --action and --limit', async () => {
    const text = expectSuccess(await rclaude(home, ['audit', 'list']));
    expect(text).toMatch(/^TIME +ACTOR +ACTION +TARGET +RESULT +IP$/m);
    for (const action of ['auth.login', 'auth.logout', 'token.created', 'token.revoked', 'user.create'])
      expect(text).toContain(action);

    type Page = { items: { id: number; action: string; result: string }[]; next: string | null };
    const auth = parseJson<Page>(await rclaude(home, ['audit', 'list', '--action', 'auth.', '--json']));
    expect(auth.items.length).toBeGreaterThanOrEqual(3);
    expect(auth.items.every((e) => e.action.startsWith('auth.'))).toBe(true);
    expect(auth.items.some((e) => e.action === 'auth.login' && e.result === 'success')).toBe(true);

    const revoked = parseJson<Page>(
      await rclaude(home, ['audit', 'list', '--action', 'token.revoked', '--json']),
    );
    expect(revoked.items.map((e) => e.action)).toEqual(['token.revoked']);

    const first = parseJson<Page>(await rclaude(home, ['audit', 'list', '--limit', '1', '--json']));
    expect(first.items).toHaveLength(1);
    expect(first.next).not.toBeNull();
    const second = parseJson<Page>(
      await rclaude(home, ['audit', 'list', '--limit', '1', '--cursor', first.next as string, '--json']),
    );
    expect(second.items).toHaveLength(1);
    expect(second.items[0]?.id).toBeLessThan(first.items[0]?.id as number);

    // The text form says how to get the next page, keeping the filters.
    const paged = expectSuccess(await rclaude(home, ['audit', 'list', '--action', 'auth.', '--limit', '2']));
    expect(paged.trimEnd().split('\n')).toHaveLength(1 + 2 + 2);
    expect(paged).toMatch(/\nMore: rclaude audit list --action auth\. --limit 2 --cursor \d+\n$/);
  });

  it('replicas lists this server, alive, marked as the one that answered', async () => {
    const text = expectSuccess(await rclaude(home, ['replicas']));
    expect(text).toMatch(/^ID +ADDRESS +VERSION +SCHEMA +STARTED +HEARTBEAT +ALIVE +AGENTS$/m);
    expect(text).toContain(`${server.services.replicas.id} *`);
    type Replica = { id: string; address: string; version: string; alive: boolean; self: boolean };
    const items = parseJson<Replica[]>(await rclaude(home, ['replicas', '--json']));
    expect(items).toEqual([
      expect.objectContaining({ id: server.services.replicas.id, version: VERSION, alive: true, self: true }),
    ]);
    expect(items[0]?.address).toBe(server.url);
  });

  it('logout revokes the saved token and forgets it', async () => {
    const saved = JSON.parse(readFileSync(credentialsFile(home), 'utf8')) as { token: string };
    expect(expectSuccess(await rclaude(home, ['logout']))).toBe(
      `Logged out of ${server.url}: revoked the token and removed ${credentialsFile(home)}.\n`,
    );
    expect(existsSync(credentialsFile(home))).toBe(false);
    expectFailure(await rclaude(home, ['whoami']), /not logged in; run `rclaude login`/);
    expectFailure(
      await rclaude(home, ['whoami', '--url', server.url], { env: { RC_TOKEN: saved.token } }),
      /revoked/,
    );
    expect(expectSuccess(await rclaude(home, ['logout']))).toBe('Not logged in.\n');
  });
});

describe('config print', () => {
  it('redacts the admin password and the password in DATABASE_URL', async () => {
    const home = newHome('config');
    const env = {
      DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:5432/x',
      RC_ADMIN_PASSWORD: 'admin-secret-in-env',
    };
    const yaml = expectSuccess(await rclaude(home, ['config', 'print'], { env }));
    expect(yaml).not.toContain('secretpw');
    expect(yaml).not.toContain('admin-secret-in-env');
    expect(yaml).toContain('postgres://u:redacted@127.0.0.1:5432/x');
    expect(yaml).toMatch(/password: "?\[redacted\]"?/);

    const config = parseJson<{ admin: { password: string }; database: { url: string } }>(
      await rclaude(home, ['config', 'print', '--json'], { env }),
    );
    expect(config.admin.password).toBe('[redacted]');
    expect(config.database.url).toBe('postgres://u:redacted@127.0.0.1:5432/x');

    // Without DATABASE_URL (it was set for the calls above only) there is no database URL at all.
    const plain = parseJson<{ database: { url?: string } }>(
      await rclaude(home, ['config', 'print', '--json']),
    );
    expect(plain.database.url).toBeUndefined();
  });
});

interface BadCase {
  name: string;
  args: string[];
  /** What the one stderr line must match. */
  message: RegExp;
  stdin?: string;
  env?: Record<string, string>;
  /** `saved` (default): a saved login pointing at a closed port, so anything refused here was
   *  refused before a request; `nobody`: no saved login at all. */
  home?: 'saved' | 'nobody';
}

const UNREACHABLE = 'http://127.0.0.1:1';

const badCases: BadCase[] = [
  // usage mistakes name the option and point at the help
  {
    name: 'an unknown option',
    args: ['whoami', '--bogus'],
    message: /^rclaude: unknown option '--bogus'; see `rclaude whoami --help`$/,
  },
  {
    name: 'a mistyped command gets a suggestion',
    args: ['tokens', 'lisst'],
    message: /^rclaude: unknown command 'lisst' \(did you mean list\?\); see `rclaude tokens --help`$/,
  },
  {
    name: 'an unknown command',
    args: ['frobnicate'],
    message: /unknown command 'frobnicate'; see `rclaude --help`$/,
  },
  {
    name: 'a missing required option',
    args: ['tokens', 'create'],
    message: /required option '--name <name>' not specified; see `rclaude tokens create --help`$/,
  },
  { name: 'a missing argument', args: ['tokens', 'revoke'], message: /missing required argument 'id'/ },
  { name: 'an extra argument', args: ['whoami', 'me'], message: /too many arguments for 'whoami'/ },
  // bad values are refused before anything is sent
  {
    name: 'audit list --limit 0',
    args: ['audit', 'list', '--limit', '0'],
    message: /^rclaude: --limit must be a whole number from 1 to 500, got "0"$/,
  },
  {
    name: 'audit list --from that is not a time',
    args: ['audit', 'list', '--from', 'yesterday'],
    message:
      /^rclaude: --from must be an ISO 8601 time with a zone, e.g. 2026-01-31T09:00:00Z, got "yesterday"$/,
  },
  {
    name: 'users create --email not-an-email',
    args: ['users', 'create', '--email', 'not-an-email'],
    message: /^rclaude: --email must be a valid email address$/,
  },
  {
    name: 'users create with a short password on stdin',
    args: ['users', 'create', '--email', 'a@example.test', '--password-stdin'],
    stdin: 'short\n',
    message: /^rclaude: the password on standard input must be at least 12 characters$/,
  },
  {
    name: 'users create --role that does not exist',
    args: ['users', 'create', '--email', 'a@example.test', '--role', 'god'],
    message: /--role must be one of "owner", "admin", "member", "viewer"$/,
  },
  {
    name: 'tokens create --expires-in-days abc',
    args: ['tokens', 'create', '--name', 'x', '--expires-in-days', 'abc'],
    message:
      /^rclaude: --expires-in-days must be a whole number of days from 1 to 3650, or "never", got "abc"$/,
  },
  {
    name: 'tokens create with a blank --name',
    args: ['tokens', 'create', '--name', '  '],
    message: /^rclaude: --name must not be empty$/,
  },
  {
    name: 'node without a join token',
    args: ['node', '--name', 'edge', '--url', 'http://127.0.0.1:1'],
    message: /^rclaude: --join-token \(or RC_NODE_JOIN_TOKEN\) is required$/,
  },
  {
    name: 'node with a bad --name',
    args: ['node', '--name', 'no spaces', '--join-token', 'rcn_x'],
    message: /^rclaude: --name must be 1 to 63 letters, digits, "_", "\." or "-", got "no spaces"$/,
  },
  {
    name: 'node with a relative --run-dir',
    args: ['node', '--name', 'edge', '--join-token', 'rcn_x', '--run-dir', 'run'],
    message: /^rclaude: --run-dir must be an absolute path, got "run"$/,
  },
  {
    name: 'node with a --reserved-cpu that is not a number',
    args: ['node', '--name', 'edge', '--join-token', 'rcn_x', '--reserved-cpu', 'half'],
    message: /^rclaude: --reserved-cpu must be a number of CPU cores, like 0\.5, got "half"$/,
  },
  {
    name: 'node with a negative --reserved-cpu',
    args: ['node', '--name', 'edge', '--join-token', 'rcn_x', '--reserved-cpu', '-1'],
    message: /^rclaude: --reserved-cpu must be 0 or more CPU cores, got "-1"$/,
  },
  {
    name: 'node with a --cgroup-parent that steps out',
    args: ['node', '--name', 'edge', '--join-token', 'rcn_x', '--cgroup-parent', '../x'],
    message: /^rclaude: --cgroup-parent must be a relative cgroup path without "\.\.", got "\.\.\/x"$/,
  },
  {
    name: 'node token create with a bad --expires-in-days',
    args: ['node', 'token', 'create', '--node', 'edge', '--expires-in-days', '0'],
    message:
      /^rclaude: --expires-in-days must be a whole number of days from 1 to 3650, or "never", got "0"$/,
  },
  {
    name: 'a --url that is not a URL',
    args: ['whoami', '--url', 'notaurl'],
    message: /--url must be an http\(s\) URL/,
  },
  {
    name: 'an RC_URL that is not http(s)',
    args: ['whoami'],
    env: { RC_URL: 'ftp://x' },
    message: /^rclaude: RC_URL must be an http\(s\) URL, got "ftp:\/\/x"$/,
  },
  // the server cannot be reached
  {
    name: 'an unreachable server',
    args: ['whoami', '--url', UNREACHABLE],
    message:
      /^rclaude: Cannot reach http:\/\/127\.0\.0\.1:1 \(.+\)\. Is the server running, and is the URL right\?$/,
  },
  {
    name: 'login to an unreachable server',
    args: ['login', '--url', UNREACHABLE, '--email', ADMIN_EMAIL, '--password-stdin'],
    stdin: 'whatever-password',
    message: /^rclaude: Cannot reach http:\/\/127\.0\.0\.1:1 /,
  },
  // not logged in
  ...[['whoami'], ['tokens', 'list'], ['users', 'list'], ['audit', 'list']].map(
    (args): BadCase => ({
      name: `${args.join(' ')} when not logged in`,
      args,
      home: 'nobody',
      message: /^rclaude: not logged in; run `rclaude login` first \(or set RC_TOKEN\)$/,
    }),
  ),
  {
    name: 'login without --email and without a terminal',
    args: ['login', '--url', UNREACHABLE, '--password-stdin'],
    stdin: 'x',
    home: 'nobody',
    message: /^rclaude: --email is required when there is no terminal to ask on$/,
  },
  {
    name: 'login without --password-stdin and without a terminal',
    args: ['login', '--url', UNREACHABLE, '--email', ADMIN_EMAIL],
    home: 'nobody',
    message: /no terminal to ask for the password on; pass --password-stdin$/,
  },
  // serve: a bad configuration names the key and the flag it came from
  {
    name: 'serve --port 99999',
    args: ['serve', '--port', '99999'],
    message: /^rclaude: invalid configuration: server\.port must be ≤ 65535 \(from --port\)$/,
  },
  {
    name: 'serve --log-level loud',
    args: ['serve', '--log-level', 'loud'],
    message: /^rclaude: invalid configuration: log\.level must be one of .* \(from --log-level\)$/,
  },
  {
    name: 'serve with a config file that does not exist',
    args: ['serve', '--config', 'missing.yaml'],
    message: /^rclaude: invalid configuration: cannot read config file: .*missing\.yaml/,
  },
];

describe.concurrent('failures: one "rclaude: …" line on stderr and a non-zero exit', () => {
  const homes = { saved: '', nobody: '' };
  beforeAll(() => {
    homes.nobody = newHome('nobody');
    homes.saved = newHome('saved-unreachable');
    mkdirSync(join(homes.saved, 'config', 'remote-claude'), { recursive: true });
    writeFileSync(credentialsFile(homes.saved), JSON.stringify({ url: UNREACHABLE, token: 'rc_unused' }));
  });

  it.each(badCases)('$name', async ({ args, message, stdin, env, home }) => {
    const cwd = homes[home ?? 'saved'];
    expectFailure(
      await rclaude(cwd, args, { ...(stdin ? { stdin } : {}), ...(env ? { env } : {}) }),
      message,
    );
    expect(readdirSync(cwd)).not.toContain('data');
  });

  it('a wrong password exits 1 and saves nothing', async () => {
    const home = newHome('wrong-password');
    const r = await rclaude(
      home,
      ['login', '--url', server.url, '--email', ADMIN_EMAIL, '--password-stdin'],
      {
        stdin: 'not-the-password\n',
      },
    );
    expect(r.code).toBe(1);
    expectFailure(r, /^rclaude: The email or password is not correct\.$/);
    expect(existsSync(credentialsFile(home))).toBe(false);
  });

  it('a damaged login file says so; logout removes it', async () => {
    const home = newHome('damaged');
    mkdirSync(join(home, 'config', 'remote-claude'), { recursive: true });
    writeFileSync(credentialsFile(home), '{not json');
    expectFailure(
      await rclaude(home, ['whoami']),
      /credentials\.json is damaged; run `rclaude logout` and `rclaude login` again$/,
    );
    expect(expectSuccess(await rclaude(home, ['logout']))).toBe(
      `Removed the damaged ${credentialsFile(home)}.\n`,
    );
    expectFailure(await rclaude(home, ['whoami']), /not logged in/);
  });

  it('serve on a port that is taken', async () => {
    const home = newHome('port-taken');
    const port = new URL(server.url).port;
    expectFailure(
      await rclaude(home, ['serve', '--port', port, '--data-dir', join(home, 'data')], {
        env: FAST_ARGON2_ENV,
      }),
      /^rclaude: the port is already in use .*; pick another with --port or RC_PORT$/,
    );
  });
});

describe('rclaude serve as a child process', () => {
  const started: ServeChild[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  const serve = (home: string, dataDir: string) => {
    const s = startServe(
      home,
      ['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
      FAST_ARGON2_ENV,
    );
    started.push(s);
    return s;
  };

  it('prints the URL first, the generated password only on the first start, and stops on SIGTERM', async () => {
    const home = newHome('serve');
    const dataDir = join(home, 'data');

    const first = serve(home, dataDir);
    const [, email] = await first.until(/rclaude login --url http:\/\/127\.0\.0\.1:\d+ --email (\S+)\n/);
    const lines = first.output().stdout.split('\n');
    const url = lines[0]?.match(
      /^Remote Claude is listening on (http:\/\/127\.0\.0\.1:\d+) \(store: SQLite /,
    )?.[1];
    expect(url, lines[0]).toBeDefined();
    const passwordLines = lines.filter((l) => l.startsWith('One-time password ('));
    expect(passwordLines).toHaveLength(1);
    const oneTime = passwordLines[0]?.split(': ')[1] as string;
    expect(oneTime.length).toBeGreaterThanOrEqual(12);
    const loginArgs = ['login', '--url', url as string, '--email', email as string, '--password-stdin'];

    // The printed password works once, through the CLI, which then needs a new password.
    const noNew = expectFailure(await rclaude(home, loginArgs, { stdin: oneTime }));
    expect(noNew).toContain('one-time password');
    const password = 'the owner chose this one';
    const out = expectSuccess(await rclaude(home, loginArgs, { stdin: `${oneTime}\n${password}\n` }));
    expect(out).toContain('New password set');
    expect(out).toContain(`as ${email} (owner)`);
    expectFailure(await rclaude(home, loginArgs, { stdin: `${oneTime}\n${password}\n` }));
    expect(await first.stop()).toBe(0);

    const second = serve(home, dataDir);
    const [, url2] = await second.until(/^Remote Claude is listening on (http:\/\/127\.0\.0\.1:\d+) /);
    // The chosen password still works after a restart.
    expectSuccess(
      await rclaude(
        home,
        ['login', '--url', url2 as string, '--email', email as string, '--password-stdin'],
        { stdin: password },
      ),
    );
    // A clean exit means the SIGTERM handler was installed, which happens only after startServer
    // returned, so the first-start check had run and its output (none) is all in `stdout`.
    expect(await second.stop()).toBe(0);
    const { stdout, stderr } = second.output();
    expect(stdout).not.toContain(oneTime);
    expect(stdout).not.toContain('Created the first administrator');
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toBe('');
  });
});
