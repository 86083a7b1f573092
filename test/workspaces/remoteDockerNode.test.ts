// A Docker host on "another machine": a second dockerd in a network namespace of its own (reached
// from the host only at a veth address this test creates), with its own data root and socket,
// and the control plane's data dir hidden from it and from its node daemon by a tmpfs. The
// control plane (`rclaude serve`, listening on the veth's host end) is configured with the node as
// `docker: {node: remote}` only: it reaches that dockerd through `rclaude node`, which runs in the
// namespace, dials out, tunnels the Docker API and relays each workspace's agent. The node daemon
// prepares the workspaces' parent cgroup on its host (this machine's cgroups, the namespace is a
// network one only), and the control plane puts the node's containers under it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeItem } from '../../sdk/nodeWire.js';
import type { Task } from '../../sdk/taskWire.js';
import type { AuditEntry } from '../../sdk/wire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { type ExtraDockerd, startExtraDockerd } from '../support/dockerDaemons.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { type GitHttpServer, startGitHttpServer } from '../support/gitHttpServer.js';
import { type ModelStub, startModelStub, writeFileScenario } from '../support/modelStub.js';
import { createNetns, type Netns } from '../support/netns.js';
import { BIN, childEnv, rclaude, type ServeChild, startServe } from '../support/rclaude.js';
import {
  adminToken,
  auth,
  connectNode,
  dialAgent,
  freePort,
  openTerminal,
  removeInstallations,
} from '../support/serveHelpers.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { TEST_REPOS } from '../support/workspaceKit.js';

const HOST_IP = '10.213.77.1';
const NODE_IP = '10.213.77.2';
const ORG_KEY = 'sk-ant-org-test-key-0123456789';
const ADMIN = { email: 'admin@example.test', password: 'a password that is long enough' };

describe('a remote Docker host through rclaude node', () => {
  let netns: Netns;
  let dockerd: ExtraDockerd;
  let remote: Docker;
  let git: GitHttpServer;
  let stub: ModelStub;
  let home: string;
  let nodeRunDir: string;
  let serve: ServeChild | undefined;
  let node: ReturnType<typeof spawn> | undefined;
  let nodeLog = '';
  let url: string;
  let token: string;
  let joinToken: string;
  const installation = `rn${process.pid}`;
  const ids: string[] = [];

  const api = async <T>(method: string, path: string, body?: unknown, auth = `Bearer ${token}`) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await probe().catch(() => undefined);
      if (got !== undefined) return got;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; node log:\n${nodeLog.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const workspace = (id: string) => api<Workspace>('GET', `/api/v1/workspaces/${id}`);
  const remoteNode = async () =>
    (await api<{ items: NodeItem[] }>('GET', '/api/v1/nodes')).items.find((n) => n.name === 'remote');
  const container = (id: string) => remote.getContainer(`rc-${installation}-${id}`).inspect();
  const audit = (action: string) =>
    api<{ items: AuditEntry[] }>('GET', `/api/v1/audit?action=${action}&limit=50`).then((p) => p.items);

  const boot = async () => {
    serve = startServe(home, [], {
      RC_DATA_DIR: join(home, 'data'),
      RC_CONFIG: join(home, 'config.yaml'),
      RC_ADMIN_EMAIL: ADMIN.email,
      RC_ADMIN_PASSWORD: ADMIN.password,
    });
    await serve.until(/listening on (http:\/\/\S+)/);
  };
  const startNode = (args: { token?: string; name?: string; runDir?: string; extra?: string[] } = {}) => {
    const argv = [
      ...netns.exec([home]),
      process.execPath,
      BIN,
      'node',
      '--url',
      url,
      '--join-token',
      args.token ?? joinToken,
      '--name',
      args.name ?? 'remote',
      '--docker',
      dockerd.socketPath,
      '--run-dir',
      args.runDir ?? nodeRunDir,
      // Not the control plane's runtime.docker.cgroupParent (remote-claude): the node's own is used.
      '--cgroup-parent',
      TEST_CGROUP_PARENT,
      ...(args.extra ?? []),
    ];
    const child = spawn(argv[0] as string, argv.slice(1), {
      env: childEnv(home),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      nodeLog += d;
    });
    return child;
  };
  const killNode = async () => {
    const child = node;
    node = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  };

  beforeAll(async () => {
    await ensureBuilt();
    netns = await createNetns('rcrnode', HOST_IP, NODE_IP);
    home = mkdtempSync('/tmp/rc-rn-cp-');
    // Outside the control plane's data dir, which is hidden from the node anyway.
    nodeRunDir = join(mkdtempSync('/tmp/rc-rn-nd-'), 'run');
    dockerd = await startExtraDockerd('remote-node', { prefix: netns.exec([home]) });
    remote = new Docker({ socketPath: dockerd.socketPath });
    await removeInstallations(remote);
    const image = await ensureWorkspaceImage({ docker: dockerd.socketPath });
    git = await startGitHttpServer({ repos: TEST_REPOS });
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        write: writeFileScenario('from-claude.txt', 'written on the remote node\n'),
      },
    });
    const port = await freePort(HOST_IP);
    url = `http://${HOST_IP}:${port}`;
    mkdirSync(join(home, 'data'));
    writeFileSync(
      join(home, 'config.yaml'),
      JSON.stringify({
        server: { host: HOST_IP, port },
        runtime: { driver: 'docker', docker: { image, installation } },
        nodes: [{ name: 'remote', docker: { node: 'remote' } }],
        egress: { allow: [`127.0.0.1:${git.port}`] },
        gateway: { upstream: stub.url },
        claude: { apiKey: ORG_KEY },
        workspaces: { heartbeatIntervalMs: 500, startTimeout: 90, reconcileInterval: 2 },
      }),
    );
    await boot();
    token = await adminToken(url, ADMIN);
    const created = await rclaude(home, ['node', 'token', 'create', '--node', 'remote', '--json'], {
      env: { RC_URL: url, RC_TOKEN: token },
    });
    expect(created.code, created.stderr).toBe(0);
    joinToken = (JSON.parse(created.stdout) as { token: string }).token;
    node = startNode();
    await until('the node to connect', async () =>
      (await remoteNode())?.daemon?.connected ? true : undefined,
    );
  }, 20 * 60_000);

  afterAll(async () => {
    await killNode();
    serve?.child.kill('SIGKILL');
    if (remote) await removeInstallations(remote).catch(() => {});
    await dockerd?.stop();
    await netns?.remove();
    await git?.close();
    await stub?.close();
    if (home) rmSync(home, { recursive: true, force: true });
    if (nodeRunDir) rmSync(join(nodeRunDir, '..'), { recursive: true, force: true });
  }, 180_000);

  it('runs workspaces there with no network; files, terminals and tasks go through the node', async () => {
    for (const repo of ['app', 'other']) {
      const ws = await api<Workspace>('POST', '/api/v1/workspaces', { repository: git.url(repo) });
      ids.push(ws.id);
    }
    for (const id of ids) {
      const ws = await until(
        `workspace ${id} to run`,
        async () => {
          const w = await workspace(id);
          if (w.status === 'failed') throw new Error(`workspace failed: ${w.statusReason}`);
          return w.status === 'running' && w.agentConnected ? w : undefined;
        },
        120_000,
      );
      expect(ws.status).toBe('running');
      const info = await container(id);
      expect(info.State.Running).toBe(true);
      expect(info.HostConfig.NetworkMode).toBe('none');
      const binds = (info.Mounts ?? []).filter((m) => m.Type === 'bind').map((m) => m.Source);
      expect(binds).toEqual([join(nodeRunDir, id)]);
      for (const source of binds) expect(source.startsWith(home)).toBe(false);
      // Under the parent cgroup the node daemon prepared: low weight, capped at the CPUs minus 0.5.
      expect(info.HostConfig.CgroupParent).toBe(`/${TEST_CGROUP_PARENT}`);
      const parent = join('/sys/fs/cgroup/cpu', TEST_CGROUP_PARENT);
      expect(existsSync(join(parent, info.Id))).toBe(true);
      const read = (f: string) => readFileSync(join(parent, f), 'utf8').trim();
      expect(read('cpu.shares')).toBe('256');
      expect(read('cpu.cfs_quota_us')).toBe(String((availableParallelism() - 0.5) * 100_000));
    }
    const [a] = ids as [string];
    expect(
      await (await fetch(`${url}/api/v1/workspaces/${a}/files/README.md`, { headers: auth(token) })).text(),
    ).toBe('# app\n');
    await api('PUT', `/api/v1/workspaces/${a}/files/note.txt`, 'through the node');
    const term = await openTerminal(
      `${url.replace('http', 'ws')}/api/v1/workspaces/${a}/terminals?cols=80&rows=24`,
      token,
    );
    term.ws.send(Buffer.from('cat /workspace/note.txt; echo; echo sum-$((40+2))\r'));
    await term.waitFor(/through the node[\s\S]*sum-42/);
    term.ws.close();

    const task = await api<Task>('POST', '/api/v1/tasks', {
      workspaceId: a,
      prompt: '[scenario:write] go',
      permissionMode: 'acceptEdits',
    });
    const done = await until(
      `task ${task.id} to finish`,
      async () => {
        const t = await api<Task>('GET', `/api/v1/tasks/${task.id}`);
        return ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status) ? t : undefined;
      },
      120_000,
    );
    expect(done.status, JSON.stringify(done)).not.toBe('failed');
    const written = await fetch(`${url}/api/v1/workspaces/${a}/files/from-claude.txt`, {
      headers: auth(token),
    });
    expect(await written.text()).toBe('written on the remote node\n');
    // The model key stayed on the control plane: the stub saw it, the container never had it.
    expect(stub.requests.some((r) => r.apiKey === ORG_KEY)).toBe(true);
    expect(JSON.stringify((await container(a)).Config.Env)).not.toContain(ORG_KEY);

    const report = await remoteNode();
    expect(report).toMatchObject({ healthy: true, used: { workspaces: 2, running: 2 } });
    expect(report?.daemon).toMatchObject({ connected: true, report: { healthy: true } });
    expect(report?.daemon?.report?.dockerVersion).toMatch(/^\d+\./);
    expect(report?.daemon?.report?.cgroupParent).toEqual({
      path: `/${TEST_CGROUP_PARENT}`,
      cpuCap: availableParallelism() - 0.5,
    });
  }, 300_000);

  it("refuses a wrong, revoked, other node's or unconfigured join token with 401/403, audited", async () => {
    expect(await connectNode(url, 'rcn_wrong', 'remote')).toBe(401);
    const make = async (name: string) => {
      const r = await rclaude(home, ['node', 'token', 'create', '--node', name, '--json'], {
        env: { RC_URL: url, RC_TOKEN: token },
      });
      return JSON.parse(r.stdout) as { id: string; token: string };
    };
    const revoked = await make('remote');
    const r = await rclaude(home, ['node', 'token', 'revoke', revoked.id], {
      env: { RC_URL: url, RC_TOKEN: token },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await connectNode(url, revoked.token, 'remote')).toBe(401);
    expect(await connectNode(url, joinToken, 'someone-else')).toBe(401);
    const ghost = await make('ghost');
    expect(await connectNode(url, ghost.token, 'ghost')).toBe(403);
    const bad = await rclaude(home, ['node', 'token', 'create', '--node', 'no spaces'], {
      env: { RC_URL: url, RC_TOKEN: token },
    });
    expect(bad.stderr).toMatch(/^rclaude: --node must be 1 to 63 letters/);
    // The daemon itself gives up with the control plane's sentence on a refused token.
    const refusedDaemon = startNode({ token: revoked.token, runDir: `${nodeRunDir}-refused` });
    const code = await new Promise<number | null>((res) => refusedDaemon.once('exit', res));
    expect(code).not.toBe(0);
    expect(nodeLog).toMatch(/The join token is not valid/);

    // A reserve that leaves the workspaces no CPU is refused before dialling.
    const cpus = availableParallelism();
    const greedy = startNode({ runDir: `${nodeRunDir}-greedy`, extra: ['--reserved-cpu', String(cpus)] });
    expect(await new Promise<number | null>((res) => greedy.once('exit', res))).not.toBe(0);
    expect(nodeLog).toContain(`--reserved-cpu must be below this host's ${cpus} CPUs, got "${cpus}"`);

    // A second daemon on the same run dir would take the agent sockets over: it is refused.
    const second = startNode();
    expect(await new Promise<number | null>((res) => second.once('exit', res))).not.toBe(0);
    expect(nodeLog).toMatch(/already uses --run-dir/);
    expect((await workspace(ids[0] as string)).agentConnected).toBe(true);

    const denied = (await audit('node.connect')).filter((e) => e.result === 'denied');
    expect(denied.map((e) => [e.statusCode, e.detail?.reason])).toEqual(
      expect.arrayContaining([
        [401, 'bad_token'],
        [401, 'wrong_node'],
        [403, 'not_configured'],
      ]),
    );
    expect(denied.filter((e) => e.detail?.reason === 'bad_token').length).toBeGreaterThanOrEqual(3);
    // Only its node sees it work; a plain request is told to upgrade, and a member may not mint tokens.
    expect((await fetch(`${url}/api/v1/nodes/connect`)).status).toBe(426);
    const list = await api<{ items: { id: string; revokedAt: string | null }[] }>(
      'GET',
      '/api/v1/nodes/join-tokens',
    );
    expect(list.items.find((t) => t.id === revoked.id)?.revokedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(joinToken);
  }, 120_000);

  it("refuses an agent with another workspace's token through the node, audited", async () => {
    const [a, b] = ids as [string, string];
    const tokenOf = async (id: string) =>
      ((await container(id)).Config.Env ?? [])
        .find((e) => e.startsWith('RC_AGENT_TOKEN='))
        ?.slice(15) as string;
    const socket = `ws+unix://${join(nodeRunDir, a, 'agent.sock')}:/agent?v=1`;
    expect(await dialAgent(socket, await tokenOf(b), b)).toBe(401);
    expect(await dialAgent(socket, 'not-the-token-of-anything-at-all', a)).toBe(401);
    const denied = (await audit('agent.connect')).filter((e) => e.result === 'denied' && e.targetId === a);
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect(denied[0]?.detail).toMatchObject({ reason: 'bad_token', transport: 'network' });
    // The real agent is still connected.
    expect((await workspace(a)).agentConnected).toBe(true);
  }, 60_000);

  it('a node daemon restart keeps the workspaces running; their agents reconnect', async () => {
    const started = await Promise.all(ids.map(async (id) => (await container(id)).State.StartedAt));
    await killNode();
    await until('the agents to drop', async () =>
      (await Promise.all(ids.map(workspace))).every((w) => !w.agentConnected) ? true : undefined,
    );
    const down = await until('the node to show as down', async () => {
      const n = await remoteNode();
      return n && !n.healthy ? n : undefined;
    });
    expect(down.error).toMatch(/reached through its rclaude node daemon, which is not connected/);
    // Meanwhile a new workspace cannot be placed there, and says why.
    const third = await api<Workspace>('POST', '/api/v1/workspaces', { repository: git.url('third') });
    const failed = await until('the third workspace to fail', async () => {
      const w = await workspace(third.id);
      return w.status === 'failed' ? w : undefined;
    });
    expect(failed.statusReason).toMatch(
      /^Docker node remote is reached through its rclaude node daemon, which is not connected: run `rclaude node --name remote/,
    );
    node = startNode();
    for (const id of ids) {
      await until(`the agent of ${id} to reconnect`, async () =>
        (await workspace(id)).agentConnected ? true : undefined,
      );
    }
    expect(await Promise.all(ids.map(async (id) => (await container(id)).State.StartedAt))).toEqual(started);
    const note = await fetch(`${url}/api/v1/workspaces/${ids[0]}/files/note.txt`, { headers: auth(token) });
    expect(await note.text()).toBe('through the node');
    expect(nodeLog).toMatch(/"restoredWorkspaces":2/);
  }, 120_000);

  it('a control-plane restart keeps the workspaces running; their agents reconnect through the node', async () => {
    serve?.child.kill('SIGKILL');
    await new Promise((r) => serve?.child.once('exit', r));
    for (const id of ids) expect((await container(id)).State.Running).toBe(true);
    await boot();
    for (const id of ids) {
      await until(
        `the agent of ${id} to reconnect`,
        async () => {
          const w = await workspace(id);
          return w.status === 'running' && w.agentConnected ? true : undefined;
        },
        60_000,
      );
    }
    const note = await fetch(`${url}/api/v1/workspaces/${ids[1]}/files/README.md`, { headers: auth(token) });
    expect(await note.text()).toBe('# other\n');
    await until('the node to report again', async () =>
      (await remoteNode())?.daemon?.connected ? true : undefined,
    );
  }, 120_000);
});
