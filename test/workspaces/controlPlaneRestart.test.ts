// Workspaces outlive the control plane: `kill -9` of `rclaude serve`, then a new one on the same
// data dir re-adopts the live box (its agent reconnects), fails the one that died meanwhile, and
// removes a box no workspace owns.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { LocalDriver } from '../../server/drivers/local/localDriver.js';
import type { RuntimeRef } from '../../server/drivers/runtimeDriver.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { type GitHttpServer, startGitHttpServer } from '../support/gitHttpServer.js';
import { type ServeChild, startServe } from '../support/rclaude.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { TEST_REPOS } from '../support/workspaceKit.js';

describe('control-plane restart (local driver)', () => {
  let home: string;
  let git: GitHttpServer;
  let serve: ServeChild | undefined;
  let url: string;
  let token: string;
  const env = () => ({
    RC_DATA_DIR: join(home, 'data'),
    RC_PORT: '0',
    RC_ADMIN_EMAIL: 'admin@example.test',
    RC_ADMIN_PASSWORD: 'a password that is long enough',
    RC_EGRESS_ALLOW: `127.0.0.1:${git.port}`,
    RC_RUNTIME__LOCAL__CGROUP_PARENT: TEST_CGROUP_PARENT,
    RC_WORKSPACES__HEARTBEAT_INTERVAL_MS: '300',
  });
  const driver = () =>
    new LocalDriver({
      dataDir: join(home, 'data'),
      nodePath: process.execPath,
      agentDir: defaultAgentDir(),
      cgroupParent: TEST_CGROUP_PARENT,
    });
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  };
  const settle = async (id: string, want: (w: Workspace) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ws = await api<Workspace>('GET', `/api/v1/workspaces/${id}`);
      if (want(ws)) return ws;
      if (Date.now() > deadline) throw new Error(`workspace ${id} is ${JSON.stringify(ws)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const boot = async () => {
    serve = startServe(home, [], env());
    url = (await serve.until(/listening on (http:\/\/\S+)/))[1] as string;
  };

  beforeAll(async () => {
    await ensureBuilt();
    home = mkdtempSync('/tmp/rc-cp-');

    git = await startGitHttpServer({ repos: { ...TEST_REPOS, third: { 'README.md': '# third\n' } } });
    await boot();
    await serve?.until(/Created the first administrator/);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.test', password: 'a password that is long enough' }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const tok = await fetch(`${url}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'restart-test' }),
    });
    const created = (await tok.json()) as { token?: string };
    if (!created.token)
      throw new Error(`could not mint a token: ${JSON.stringify(created)} (login ${login.status})`);
    token = created.token;
  }, 120_000);
  afterAll(async () => {
    serve?.child.kill('SIGKILL');
    if (!home) return;
    const d = driver();
    for (const ref of await d.list()) await d.remove(ref).catch(() => {});
    await git?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('re-adopts a live workspace, starts a stopped one, fails a vanished one and removes an orphan', async () => {
    // Three at half a core each: the local node has this machine's cores (2) to place them on.
    const create = (repo: string) =>
      api<Workspace>('POST', '/api/v1/workspaces', { repository: git.url(repo), resources: { cpu: 0.5 } });
    const live = await create('app');
    const dead = await create('other');
    const gone = await create('third');
    for (const w of [live, dead, gone]) await settle(w.id, (x) => x.status === 'running');
    await fetch(`${url}/api/v1/workspaces/${live.id}/files/note.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: 'written before the crash',
    });

    serve?.child.kill('SIGKILL');
    await new Promise((r) => serve?.child.once('exit', r));
    const d = driver();
    const refs = await d.list();
    const liveRef = refs.find((r) => r.workspaceId === live.id) as RuntimeRef;
    expect((await d.inspect(liveRef)).status).toBe('running');
    await d.stop(refs.find((r) => r.workspaceId === dead.id) as RuntimeRef, { graceSeconds: 0 });
    await d.remove(refs.find((r) => r.workspaceId === gone.id) as RuntimeRef);
    const orphan = await d.create({
      workspaceId: 'orphan-box',
      resources: { cpu: 0.5, memoryBytes: 128 << 20, pids: 64 },
      env: {},
      agentSocketDir: join(home, 'data', 'run', 'orphan-box'),
      command: ['/bin/sh', '-c', 'sleep 600'],
    });
    await d.start(orphan);

    await boot();
    await serve?.until(/Re-adopted 1 running workspace/);
    const back = await settle(live.id, (w) => w.agentConnected);
    expect(back.status).toBe('running');
    const text = await fetch(`${url}/api/v1/workspaces/${live.id}/files/note.txt`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await text.text()).toBe('written before the crash');
    // The stopped box should run: it is started again and its agent reconnects.
    const restarted = await settle(dead.id, (w) => w.agentConnected);
    expect(restarted.status).toBe('running');
    const failed = await settle(gone.id, (w) => w.status !== 'running');
    expect(failed).toMatchObject({ status: 'failed', statusReason: 'The workspace sandbox disappeared.' });
    expect((await d.inspect(orphan)).status).toBe('missing');
    await serve?.stop();
  });
});
