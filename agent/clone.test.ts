import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RpcError } from '../sdk/rpcPeer.js';
import { buildAgent, TestAgent, type TestConnection } from './agentHarness.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let agent: TestAgent;
let conn: TestConnection;
let gitServer: http.Server;
let baseUrl: string;

/** A bare repository with one commit, served over git's "dumb HTTP" by a static file server. */
async function serveRepository(dir: string): Promise<void> {
  const git = (args: string[], cwd: string) =>
    execFileSync(
      'git',
      ['-c', 'user.name=Test', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args],
      {
        cwd,
        env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
      },
    );
  const repos = path.join(dir, 'repos');
  await mkdir(path.join(dir, 'src'), { recursive: true });
  await mkdir(repos);
  git(['init', '--bare', 'demo.git'], repos);
  await writeFile(path.join(dir, 'src', 'README.md'), '# demo\n');
  git(['init'], path.join(dir, 'src'));
  git(['add', '.'], path.join(dir, 'src'));
  git(['commit', '-m', 'first'], path.join(dir, 'src'));
  git(['push', path.join(repos, 'demo.git'), 'HEAD:refs/heads/main'], path.join(dir, 'src'));
  git(['--git-dir', path.join(repos, 'demo.git'), 'update-server-info'], dir);
  gitServer = http.createServer((req, res) => {
    const file = path.join(repos, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    stat(file).then(
      (st) => (st.isFile() ? createReadStream(file).pipe(res) : res.writeHead(404).end()),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => gitServer.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(gitServer.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  bundle = await buildAgent();
  // No proxy: the agent reaches the local git server directly.
  agent = await TestAgent.start({
    entry: bundle.entry,
    env: { HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined },
  });
  conn = await agent.controlPlane.connection();
  await serveRepository(path.join(agent.dir, 'git'));
});
afterAll(async () => {
  gitServer?.close();
  await agent?.stop();
  await bundle?.remove();
});

const clone = (params: Record<string, unknown>) =>
  conn.peer.request<{ cloned: boolean }>('repo.clone', params);

describe('repo.clone', () => {
  it("refuses non-http URLs and reports git's reason for a missing repository", async () => {
    const ssh = (await clone({ url: 'git@github.com:x/y.git' }).catch((e) => e)) as RpcError;
    expect(ssh.reason).toBe('git_failed');
    expect(ssh.message).toBe('only http(s) repository URLs are supported');
    const missing = (await clone({ url: `${baseUrl}/nope.git` }).catch((e) => e)) as RpcError;
    expect(missing.reason).toBe('git_failed');
    expect(missing.message).toContain('not found');
    expect(await readdir(agent.workspace)).toEqual([]);
  });

  it('clones into the workspace, keeping what is there, and only once', async () => {
    await writeFile(path.join(agent.workspace, '.keep'), '');
    expect(await clone({ url: `${baseUrl}/demo.git`, branch: 'main' })).toEqual({ cloned: true });
    expect(await readFile(path.join(agent.workspace, 'README.md'), 'utf8')).toBe('# demo\n');
    expect((await readdir(agent.workspace)).sort()).toEqual(['.git', '.keep', 'README.md']);
    expect(conn.notifications.some((n) => n.method === 'repo.progress')).toBe(true);
    expect(await clone({ url: `${baseUrl}/demo.git` })).toEqual({ cloned: false });
  });
});
