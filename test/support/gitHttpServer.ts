// A git server for tests: bare repositories with one commit each, served over git's "dumb HTTP"
// protocol (plain files after `git update-server-info`, see gitprotocol-http(5)) by a static file
// server on 127.0.0.1. Dumb HTTP needs no git on the serving side, only GETs, which is all a test
// of clones through the egress proxy or a workspace needs.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

export interface GitHttpServer {
  /** Clone URL of a repository, e.g. `http://127.0.0.1:40123/app.git`. */
  url(name: string): string;
  port: number;
  /** Stops the server and deletes the repositories. */
  close(): Promise<void>;
}

/** Files of the one commit in each repository: path in the repository → content. */
export type RepoFiles = Record<string, string>;

const run = promisify(execFile);

// A fixed identity and date make commit ids the same on every run, and an empty HOME and no system
// config keep the developer's own git settings (signing, hooks, templates) out of it.
function gitEnv(home: string): NodeJS.ProcessEnv {
  const when = '2026-01-01T00:00:00Z';
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Remote Claude Test',
    GIT_AUTHOR_EMAIL: 'test@example.test',
    GIT_AUTHOR_DATE: when,
    GIT_COMMITTER_NAME: 'Remote Claude Test',
    GIT_COMMITTER_EMAIL: 'test@example.test',
    GIT_COMMITTER_DATE: when,
  };
}

async function createBareRepo(root: string, name: string, files: RepoFiles, env: NodeJS.ProcessEnv) {
  const work = join(root, 'work', name);
  await mkdir(work, { recursive: true });
  const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env, timeout: 30_000 });
  await git(work, 'init', '--quiet', '--initial-branch=main');
  for (const [path, content] of Object.entries(files)) {
    const file = join(work, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  await git(work, 'add', '--all');
  await git(work, 'commit', '--quiet', '--allow-empty', '--message', 'Initial commit');
  const bare = join(root, 'repos', `${name}.git`);
  await git(root, 'clone', '--quiet', '--bare', work, bare);
  await git(bare, 'update-server-info');
}

/** Creates the repositories and serves them on 127.0.0.1 at a free port; 404 for unknown paths. */
export async function startGitHttpServer(opts: { repos: Record<string, RepoFiles> }): Promise<GitHttpServer> {
  const root = await mkdtemp(join(tmpdir(), 'rc-git-http-'));
  const env = gitEnv(root);
  try {
    for (const [name, files] of Object.entries(opts.repos)) {
      if (!/^[\w.-]+$/.test(name)) throw new Error(`repository name "${name}" must be a single path segment`);
      await createBareRepo(root, name, files, env);
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const served = join(root, 'repos');
  const server = http.createServer((req, res) => {
    void serveFile(served, req, res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function serveFile(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const notFound = () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  let path: string;
  try {
    path = resolve(root, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
  } catch {
    notFound();
    return;
  }
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !path.startsWith(root + sep)) {
    notFound();
    return;
  }
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    notFound();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(path).pipe(res);
}
