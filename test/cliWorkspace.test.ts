// End-to-end tests of `rclaude ws`: the real CLI (node bin/rclaude.js, see support/rclaude.ts)
// against a real control plane on loopback. The first block needs no workspace to run: its server
// has a driver whose every start fails (fakeDrivers.ts). The second runs real workspaces on the
// local driver, cloning from a git server on loopback, and uses them through `ws cp` and `ws ssh`.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../sdk/workspaceWire.js';
import { FailingDriver } from '../server/drivers/fakeDrivers.js';
import { ensureBuilt } from './support/ensureBuilt.js';
import { expectFailure, expectSuccess, parseJson, type Run, rclaude } from './support/rclaude.js';
import { createTestApp, type TestApp } from './support/testApp.js';
import { startWorkspaceKit, type WorkspaceKit } from './support/workspaceKit.js';

const FAILURE = 'The workspace box failed to start: no room on this test node.';

let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rclaude-ws-test-'));
  // The tests run the compiled CLI, exactly what `npx rclaude` runs; a clean clone has no dist/ yet.
  await ensureBuilt();
}, 150_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A fresh HOME with nothing saved: the server and token come from RC_URL and RC_TOKEN. */
function newHome(name: string): string {
  const home = mkdtempSync(join(scratch, `${name}-`));
  return home;
}

/** An exit with this code, nothing on stdout and one "rclaude: …" line matching `message`. */
function expectExit(r: Run, code: number, message: RegExp): void {
  expectFailure(r, message);
  expect(r.code, r.stderr).toBe(code);
}

describe('rclaude ws, with a server whose workspaces never start', () => {
  let t: TestApp;
  let env: Record<string, string>;
  let home: string;
  const ws = (args: string[], opts: { stdin?: string } = {}) =>
    rclaude(home, ['ws', ...args], { env, ...opts });
  const repo = (name: string) => `https://git.example.test/acme/${name}`;

  beforeAll(async () => {
    t = await createTestApp('sqlite', { services: { driver: new FailingDriver({ userMessage: FAILURE }) } });
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    env = { RC_URL: url, RC_TOKEN: (await t.bearer(await t.user('member'))).slice('Bearer '.length) };
    home = newHome('failing');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('help lists every ws command, under ws and workspace alike', async () => {
    const help = expectSuccess(await ws(['--help']));
    for (const sub of ['create', 'list', 'show', 'start', 'stop', 'rm', 'ssh', 'cp'])
      expect(help).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(expectSuccess(await rclaude(home, ['workspace', '--help']))).toBe(help);
    expect(expectSuccess(await rclaude(home, ['--help']))).toMatch(/^ {2}ws\|workspace\b/m);
    expect(expectSuccess(await ws(['create', '--help']))).toContain('--memory <MB>');
  });

  it('list says how to start when there are no workspaces', async () => {
    expect(expectSuccess(await ws(['list']))).toBe(
      'No workspaces yet; create one with `rclaude ws create <repository>`.\n',
    );
    expect(parseJson(await ws(['list', '--json']))).toEqual([]);
    expect(expectSuccess(await ws(['list', '--status', 'running']))).toBe('No running workspaces.\n');
  });

  const usageCases: { name: string; args: string[]; message: RegExp }[] = [
    {
      name: 'create --cpu abc',
      args: ['create', repo('a'), '--cpu', 'abc'],
      message:
        /^rclaude: --cpu must be a number of CPU cores above 0 and at most 64, e\.g\. 2 or 0\.5, got "abc"$/,
    },
    {
      name: 'create --cpu 0',
      args: ['create', repo('a'), '--cpu', '0'],
      message: /--cpu must be .*, got "0"$/,
    },
    {
      name: 'create --cpu 65',
      args: ['create', repo('a'), '--cpu', '65'],
      message: /--cpu must be .*, got "65"$/,
    },
    {
      name: 'create --memory 12',
      args: ['create', repo('a'), '--memory', '12'],
      message: /^rclaude: --memory must be a whole number of MB from 64 to 262144, e\.g\. 4096, got "12"$/,
    },
    {
      name: 'create --memory 2G',
      args: ['create', repo('a'), '--memory', '2G'],
      message: /--memory must be a whole number of MB .*, got "2G"$/,
    },
    {
      name: 'create with a repository that is not a URL',
      args: ['create', 'acme/app'],
      message:
        /^rclaude: <repository> must be an http\(s\) repository URL, e\.g\. https:\/\/github\.com\/acme\/app$/,
    },
    {
      name: 'create with credentials in the URL',
      args: ['create', 'https://me:secret@git.example.test/app'],
      message: /^rclaude: <repository> must not contain credentials; the platform supplies them$/,
    },
    {
      name: 'create with a blank --name',
      args: ['create', repo('a'), '--name', '  '],
      message: /^rclaude: --name must not be empty$/,
    },
    {
      name: 'create --no-start --wait',
      args: ['create', repo('a'), '--no-start', '--wait'],
      message: /^rclaude: --wait needs the workspace to start; drop --no-start$/,
    },
    {
      name: 'list --status bogus',
      args: ['list', '--status', 'bogus'],
      message:
        /^rclaude: --status must be one of pending, starting, running, stopping, stopped, failed, got "bogus"$/,
    },
    {
      name: 'show with an id that cannot be one',
      args: ['show', 'a/b'],
      message:
        /^rclaude: <id> must be a workspace id or the start of one \(see `rclaude ws list`\), got "a\/b"$/,
    },
    {
      name: 'ssh --attach with a bad terminal id',
      args: ['ssh', 'abc', '--attach', 'no spaces'],
      message: /^rclaude: --attach must be a terminal id .*, got "no spaces"$/,
    },
    {
      name: 'cp between two local paths',
      args: ['cp', 'a.txt', 'b.txt'],
      message: /^rclaude: one of <src> and <dst> must be a workspace path like <id>:src\/app\.ts$/,
    },
    {
      name: 'cp between two workspaces',
      args: ['cp', 'abc:a.txt', 'def:b.txt'],
      message: /^rclaude: copying from one workspace to another is not supported/,
    },
    {
      name: 'cp to an absolute path outside /workspace',
      args: ['cp', 'a.txt', 'abc:/etc/passwd'],
      message: /^rclaude: workspace paths are relative to \/workspace .*, got "\/etc\/passwd"$/,
    },
    {
      name: 'cp to a path that climbs out',
      args: ['cp', 'abc:src/../../x', 'x'],
      message: /^rclaude: workspace paths must stay inside \/workspace, got "src\/\.\.\/\.\.\/x"$/,
    },
  ];
  it.each(usageCases)('$name exits 2 before asking the server', async ({ args, message }) => {
    expectExit(await ws(args), 2, message);
  });

  it('an unknown id is "not found" for every command', async () => {
    for (const args of [
      ['show', 'deadbeef'],
      ['start', 'deadbeef'],
      ['stop', 'deadbeef'],
      ['rm', 'deadbeef', '--yes'],
      ['ssh', 'deadbeef'],
      ['cp', 'deadbeef:README.md', 'x'],
      ['cp', 'x', 'deadbeef:x'],
    ])
      expectExit(await ws(args), 1, /^rclaude: workspace deadbeef not found; see `rclaude ws list`$/);
  });

  it('without a login it says how to sign in', async () => {
    expectExit(
      await rclaude(newHome('nobody'), ['ws', 'list']),
      1,
      /^rclaude: not logged in; run `rclaude login` first \(or set RC_TOKEN\)$/,
    );
  });

  it('create --wait reports the failure and exits 1', async () => {
    expectExit(
      await ws(['create', repo('fails'), '--wait']),
      1,
      new RegExp(`^rclaude: workspace [0-9a-f]{8} failed: ${FAILURE.replace(/\./g, '\\.')}$`),
    );
    const [w] = parseJson<Workspace[]>(await ws(['list', '--json']));
    expect(w).toMatchObject({ repository: repo('fails'), status: 'failed', statusReason: FAILURE });
    expectSuccess(await ws(['rm', w?.id as string, '--yes']));
  });

  it('create --no-start, then list, show, start, ssh, cp and rm by a short id', async () => {
    const out = expectSuccess(
      await ws(['create', repo('app'), '--no-start', '--name', 'My app', '--cpu', '0.5', '--memory', '1536']),
    );
    expect(out).toMatch(/^Created workspace [0-9a-f]{8} for https:\/\/git\.example\.test\/acme\/app\.\n/);
    expect(out).toMatch(/^Status +pending$/m);
    expect(out).toMatch(/^Resources +0\.5 CPUs, 1\.5G memory, 1024 processes$/m);
    const [w] = parseJson<Workspace[]>(await ws(['list', '--json']));
    const short = w?.id.slice(0, 8) as string;

    const table = expectSuccess(await ws(['list']));
    expect(table).toMatch(/^ID +NAME +STATUS +REPOSITORY +CPU +MEM +AGE$/m);
    expect(table).toMatch(new RegExp(`^${short} +My app +pending +${repo('app')} +- +-/1\\.5G +\\d+s$`, 'm'));
    expect(expectSuccess(await ws(['list', '--status', 'running']))).toBe('No running workspaces.\n');

    expect(parseJson<Workspace>(await ws(['show', short.slice(0, 4), '--json'])).id).toBe(w?.id);
    expect(expectSuccess(await ws(['show', w?.id as string]))).toMatch(/^Name +My app$/m);

    // Creating it again finds it (and, since it is not running, starts it).
    expectExit(await ws(['create', repo('app'), '--wait']), 1, /failed: .*no room on this test node/);

    const notRunning = new RegExp(
      `^rclaude: workspace ${short} failed; start it with \`rclaude ws start ${short} --wait\`$`,
    );
    expectExit(await ws(['ssh', short]), 1, notRunning);
    expectExit(await ws(['cp', 'x.txt', `${short}:x.txt`]), 1, notRunning);

    expectExit(
      await ws(['start', short, '--wait']),
      1,
      /^rclaude: workspace [0-9a-f]{8} failed: .*test node\.$/,
    );
    expect(expectSuccess(await ws(['stop', short]))).toBe(`Stopped workspace ${short} (My app).\n`);

    expectExit(
      await ws(['rm', short]),
      2,
      /^rclaude: not deleting workspace [0-9a-f]{8} \(My app\) and its files without --yes$/,
    );
    expect(expectSuccess(await ws(['rm', short, '--yes', '--keep-volume']))).toBe(
      `Deleted workspace ${short} (My app); its files are kept for the next workspace for ${repo('app')}.\n`,
    );
    expect(parseJson(await ws(['list', '--json']))).toEqual([]);
  });

  it('a prefix that starts several ids is ambiguous', async () => {
    // Ids are hashes; among 17 workspaces two must share a first hex digit.
    const seen = new Map<string, string>();
    let first = '';
    for (let i = 0; i < 17 && !first; i++) {
      const { id } = JSON.parse(
        (await ws(['create', repo(`many-${i}`), '--no-start', '--json'])).stdout,
      ) as Workspace;
      if (seen.has(id[0] as string)) first = id[0] as string;
      seen.set(id[0] as string, id);
    }
    expectExit(
      await ws(['show', first]),
      2,
      new RegExp(
        `^rclaude: workspace id ${first} is ambiguous: it starts 2 ids \\(.*\\); give more characters$`,
      ),
    );
    for (const id of seen.values()) expectSuccess(await ws(['rm', id, '--yes']));
  }, 60_000);
});

describe('rclaude ws with real workspaces (local driver)', () => {
  let k: WorkspaceKit;
  let env: Record<string, string>;
  let home: string;
  let id: string;
  let short: string;
  let name: string;
  const ws = (args: string[], opts: { stdin?: string } = {}) =>
    rclaude(home, ['ws', ...args], { env, ...opts });

  beforeAll(async () => {
    k = await startWorkspaceKit();
    const url = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    env = { RC_URL: url, RC_TOKEN: k.auth.slice('Bearer '.length) };
    home = newHome('real');
  });
  afterAll(async () => {
    await k?.close();
  });

  it('create --wait runs a workspace with the repository cloned', async () => {
    const w = parseJson<Workspace>(await ws(['create', k.repo('app'), '--wait', '--json']));
    expect(w.status).toBe('running');
    id = w.id;
    short = id.slice(0, 8);
    name = w.name;
    expect(expectSuccess(await ws(['list']))).toMatch(
      new RegExp(
        `^${short} +${name.replace(/\./g, '\\.')} +running +${w.repository} +(\\d+%|-) +\\S+/\\S+ +\\d+s$`,
        'm',
      ),
    );
    expect(expectSuccess(await ws(['cp', `${short}:README.md`, '-']))).toBe('# app\n');
  }, 60_000);

  it('cp copies a file in and out unchanged', async () => {
    const dir = newHome('cp-file');
    const data = randomBytes(300_000);
    writeFileSync(join(dir, 'data.bin'), data);
    expectSuccess(await ws(['cp', join(dir, 'data.bin'), `${short}:in/data.bin`]));
    expectSuccess(await ws(['cp', join(dir, 'data.bin'), `${short}:in/`])); // into a directory: same place
    expectSuccess(await ws(['cp', `${short}:in/data.bin`, join(dir, 'back.bin')]));
    expect(readFileSync(join(dir, 'back.bin')).equals(data)).toBe(true);
    mkdirSync(join(dir, 'into'));
    expectSuccess(await ws(['cp', `${id}:/workspace/in/data.bin`, join(dir, 'into')]));
    expect(readFileSync(join(dir, 'into', 'data.bin')).equals(data)).toBe(true);
    expectExit(
      await ws(['cp', `${short}:nope/x.txt`, join(dir, 'x.txt')]),
      1,
      /^rclaude: workspace path nope\/x\.txt not found$/,
    );
    expectExit(
      await ws(['cp', join(dir, 'missing.txt'), `${short}:x`]),
      1,
      /^rclaude: local path .*missing\.txt not found$/,
    );
  });

  it('cp copies a directory tree in and out', async () => {
    const dir = newHome('cp-tree');
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    mkdirSync(join(tree, 'empty'));
    writeFileSync(join(tree, 'top.txt'), 'top\n');
    writeFileSync(join(tree, 'a', 'b', 'deep.txt'), 'deep\n');
    writeFileSync(join(tree, 'a', 'bin.dat'), randomBytes(10_000));
    expectSuccess(await ws(['cp', tree, `${short}:`]));
    expectSuccess(await ws(['cp', `${short}:tree`, join(dir, 'back')]));
    expect(listTree(join(dir, 'back'))).toEqual(listTree(tree));
    for (const f of ['top.txt', 'a/b/deep.txt', 'a/bin.dat'])
      expect(readFileSync(join(dir, 'back', f)).equals(readFileSync(join(tree, f))), f).toBe(true);

    // Into an existing local directory, the copy is named after the workspace directory.
    expectSuccess(await ws(['cp', `${short}:src`, dir]));
    expect(readFileSync(join(dir, 'src', 'index.js'), 'utf8')).toBe('console.log("hi")\n');
  });

  it('ssh runs piped input in a shell and exits with its code', async () => {
    const r = await ws(['ssh', short], { stdin: 'echo hi-from-ssh; exit 3\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('hi-from-ssh');
    expect(r.code).toBe(3);
    const ok = await ws(['ssh', short], { stdin: 'test -f README.md && echo found-readme\n' });
    expect(ok.stdout).toContain('found-readme');
    expect(ok.code).toBe(0);
  });

  it('ssh --attach to a terminal that does not exist prints the server’s reason and fails', async () => {
    expectExit(
      await ws(['ssh', short, '--attach', 'nope']),
      1,
      /^rclaude: cannot attach to terminal nope: terminal not found or closed$/,
    );
  });

  it('stop, then start --wait, then rm', async () => {
    expect(expectSuccess(await ws(['stop', short]))).toBe(`Stopped workspace ${short} (${name}).\n`);
    expectExit(await ws(['ssh', short]), 1, new RegExp(`workspace ${short} is stopped; start it with`));
    expect(expectSuccess(await ws(['start', short, '--wait']))).toMatch(
      `Workspace ${short} (${name}) is running. Open a shell: rclaude ws ssh ${short}\n`,
    );
    expect(expectSuccess(await ws(['cp', `${short}:in/data.bin`, '-'])).length).toBeGreaterThan(0);
    expect(expectSuccess(await ws(['rm', short, '--yes']))).toBe(
      `Deleted workspace ${short} (${name}) and its files.\n`,
    );
    expect(expectSuccess(await ws(['list']))).toMatch(/^No workspaces yet/);
  }, 60_000);

  it('create --wait of a repository the workspace may not reach fails with the reason', async () => {
    expectExit(
      await ws(['create', 'http://127.0.0.1:1/nowhere.git', '--wait']),
      1,
      /^rclaude: workspace [0-9a-f]{8} failed: .+/,
    );
  }, 60_000);
});

/** Every path under `root`, directories with a trailing slash, sorted. */
function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const isDir = statSync(path).isDirectory();
      out.push(`${relative(root, path)}${isDir ? '/' : ''}`);
      if (isDir) walk(path);
    }
  };
  walk(root);
  return out.sort();
}
