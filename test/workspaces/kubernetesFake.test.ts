// End to end on the kubernetes driver, against a FAKE Kubernetes API (test/support/fakeKubernetes.ts):
// a real control plane with the real driver and client, the fake kubelet running the pod on the
// real Docker engine with the real workspace image (NetworkMode none, then a veth of the test's own
// pod network moved into it), the real agent dialling the control plane's network endpoint, a
// clone from the test's git server through the agent's channel, and a real Claude Code task
// against the model stub writing a file in the "pod".
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeItem } from '../../sdk/nodeWire.js';
import type { Task } from '../../sdk/taskWire.js';
import { objectName } from '../../server/drivers/kubernetes/podSpec.js';
import { FakeKubelet } from '../support/fakeKubelet.js';
import { FakeKubernetes } from '../support/fakeKubernetes.js';
import { createFakePodNetwork, type FakePodNetwork } from '../support/fakePodNetwork.js';
import { type ModelStub, startModelStub, writeFileScenario } from '../support/modelStub.js';
import { taskApi } from '../support/taskApi.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const run = promisify(execFile);

const ORG_KEY = 'sk-ant-org-key-for-the-fake-cluster';
const NS = 'remote-claude';

describe('kubernetes driver end to end (fake API, fake kubelet on Docker)', () => {
  const api = new FakeKubernetes();
  const prefix = `fke${process.pid}`;
  let kubelet: FakeKubelet;
  let net: FakePodNetwork;
  let stub: ModelStub;
  let k: WorkspaceKit;
  let dir: string;
  const installation = `e${process.pid % 100_000}`;

  beforeAll(async () => {
    const image = await ensureWorkspaceImage();
    net = await createFakePodNetwork(`k${process.pid % 10_000}`);
    kubelet = new FakeKubelet({ api, prefix, podPidsLimit: 512, network: net });
    await api.listen();
    dir = mkdtempSync(join(tmpdir(), 'rc-k8s-e2e-'));
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        write: writeFileScenario('from-claude.txt', 'written in a pod\n'),
      },
    });
    k = await startWorkspaceKit({
      flags: {
        'runtime.driver': 'kubernetes',
        'runtime.kubernetes': {
          kubeconfig: api.writeKubeconfig(dir),
          namespace: NS,
          installation,
          image,
          podStartTimeout: 60,
        },
        'gateway.upstream': stub.url,
        'claude.apiKey': ORG_KEY,
        'workspaces.startTimeout': 60,
        // Small enough for the memory probe below; room for Claude Code.
        'isolation.resourceLimits': { cpu: '1', memory: '768M', disk: '1G' },
      },
    });
    // The control plane listens on the pod network's host end: the only address a pod reaches.
    const base = await k.t.app.listen({ port: 0, host: net.hostAddress });
    k.t.services.publicUrl = base;
  }, 20 * 60_000);

  afterAll(async () => {
    await k?.close();
    await stub?.close();
    await api.close();
    await kubelet?.removeAll();
    await net?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('starts a workspace pod whose real agent dials back over the network and runs a Claude Code task', async () => {
    const created = await k.create(k.repo('app'));
    const ws = await k.settle(created.id, k.auth, 120_000);
    expect(ws.status, ws.statusReason ?? '').toBe('running');
    expect(k.t.services.runtime.hub.connection(ws.id)?.transport).toBe('network');

    // The pod is a real container with no network of its own but the veth, the profile applied.
    const pod = api.get('pods', NS, objectName(installation, ws.id)) as { status: { podIP: string } };
    expect(pod.status.podIP).toMatch(/^10\.213\.80\.\d+$/);
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const [c] = await docker.listContainers({ filters: { label: [`fake-kubelet=${prefix}`] } });
    const info = await docker.getContainer(c?.Id as string).inspect();
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      PidsLimit: 512,
    });
    expect(info.Config.User).toBe('1000:1000');
    expect(JSON.stringify(info.Config.Env)).not.toContain(ORG_KEY);

    // The clone came through the agent's channel; the agent runs as the workspace user.
    const id = await k.exec(ws.id, ['sh', '-c', 'id -u; cat /workspace/README.md']);
    expect(id.stdout).toBe('1000\n# app\n');

    const { api: call, until } = taskApi(k.t, k.auth);
    const task = await call<Task>('POST', '/api/v1/tasks', {
      workspaceId: ws.id,
      prompt: '[scenario:write] go',
      permissionMode: 'acceptEdits',
    });
    const done = await until(
      task.id,
      (t) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status),
      120_000,
    );
    expect(done.status, JSON.stringify(done)).not.toBe('failed');
    expect((await k.exec(ws.id, ['cat', '/workspace/from-claude.txt'])).stdout).toBe('written in a pod\n');
    expect(stub.requests.some((r) => r.apiKey === ORG_KEY)).toBe(true);

    // GET /api/v1/nodes shows the cluster's node with the pod's requests on it.
    const res = await k.t.app.inject({
      method: 'GET',
      url: '/api/v1/nodes',
      headers: { authorization: await k.t.bearer(await k.t.user('admin')) },
    });
    const nodes = res.json().items as NodeItem[];
    expect(nodes).toEqual([
      expect.objectContaining({
        name: 'fake-node-1',
        driver: 'kubernetes',
        healthy: true,
        used: expect.objectContaining({ workspaces: 1, running: 1 }),
      }),
    ]);
  }, 300_000);

  it('fails a workspace whose image cannot be pulled with Kubernetes’ reason, not after the start timeout', async () => {
    kubelet.failPulls.set(
      k.t.config.runtime.kubernetes.image,
      'rpc error: code = Unknown desc = pull access denied',
    );
    try {
      const t0 = Date.now();
      const created = await k.create(k.repo('other'));
      const ws = await k.settle(created.id, k.auth, 30_000);
      expect(ws.status).toBe('failed');
      expect(ws.statusReason).toMatch(
        /^Kubernetes cannot start the workspace pod: ErrImagePull \(rpc error: code = Unknown desc = pull access denied\)/,
      );
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      kubelet.failPulls.clear();
    }
  }, 60_000);

  // The isolation suite's probes (test/workspaces/isolation.test.ts) where they apply to a pod the
  // fake kubelet runs: a second workspace b of another user beside a, both in "pods".
  describe('isolation inside the pods', () => {
    let a: string;
    let b: string;
    let bIp: string;
    const sh = (id: string, script: string, timeoutMs = 20_000) =>
      k.exec(id, ['/bin/sh', '-c', script], timeoutMs);
    const podOf = (id: string) =>
      api.get('pods', NS, objectName(installation, id)) as { status: { podIP: string } };

    beforeAll(async () => {
      a = (await k.t.services.workspaces.list()).find((r) => r.status === 'running')?.id as string;
      const other = await k.t.bearer(await k.t.user('member'));
      const ws = await k.settle((await k.create(k.repo('app'), other)).id, other, 120_000);
      expect(ws.status, ws.statusReason ?? '').toBe('running');
      b = ws.id;
      bIp = podOf(b).status.podIP;
      await sh(b, 'echo secret-of-b > /workspace/secret.txt');
    }, 180_000);

    it('runs as a non-root uid with namespaces of its own and a read-only root', async () => {
      const probe = 'id -u; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt';
      const [ua, ...nsa] = (await sh(a, probe)).stdout.trim().split('\n');
      const [, ...nsb] = (await sh(b, probe)).stdout.trim().split('\n');
      expect(ua).toBe('1000');
      expect(nsa[0]).not.toBe(nsb[0]);
      expect(nsa[1]).not.toBe(nsb[1]);
      const r = await sh(
        a,
        'touch /x 2>&1; echo "root=$?"; touch /usr/x 2>&1; echo "usr=$?"; touch /workspace/x /tmp/x "$HOME/x" && echo rw-ok',
      );
      expect(r.stdout).toMatch(/root=[1-9]/);
      expect(r.stdout).toMatch(/usr=[1-9]/);
      expect(r.stdout).toMatch(/rw-ok/);
    });

    it("cannot read another workspace's files by host path or /proc, nor see host processes", async () => {
      const docker = new Docker({ socketPath: '/var/run/docker.sock' });
      const { Volumes } = await docker.listVolumes({ filters: { label: [`fake-kubelet=${prefix}`] } });
      const bVolume = (Volumes ?? []).find((v) => v.Name.includes(objectName(installation, b)));
      expect(bVolume).toBeDefined();
      const r = await sh(
        a,
        `cat ${bVolume?.Mountpoint}/workspace/secret.txt 2>&1; for p in /proc/[0-9]*; do cat $p/root/workspace/secret.txt 2>/dev/null; done; echo done`,
      );
      expect(r.stdout).not.toMatch(/secret-of-b/);
      expect(r.stdout).toMatch(/done/);
      const ps = await sh(a, 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done');
      expect(ps.stdout).not.toMatch(/vitest|postgres|dockerd/);
    });

    it("cannot connect to the host's loopback, cloud metadata, private addresses or another pod", async () => {
      const probe = (host: string, port: number) =>
        k.exec(a, [
          'node',
          '-e',
          `const s=require('net').connect(${port},'${host}');s.setTimeout(3000);s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('timeout',()=>{console.log('TIMEOUT');process.exit(0)})`,
        ]);
      for (const [host, port] of [
        ['127.0.0.1', 5432],
        ['169.254.169.254', 80],
        ['10.0.0.1', 80],
      ] as const) {
        expect((await probe(host, port)).stdout.trim(), `${host}:${port}`).toMatch(
          /^(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH)$/,
        );
      }
      // The bridge's ports are isolated: b's pod is not reachable from a's.
      expect((await probe(bIp, 8080)).stdout.trim()).toMatch(/^(EHOSTUNREACH|TIMEOUT)$/);
    });

    it('a fork bomb hits the node pids limit; a memory hog is OOM-killed alone', async () => {
      // Its own name, so that the host-side kill below touches no other test's processes.
      const bomb = await sh(a, 'kbomb() { kbomb | kbomb & }; kbomb; sleep 2; echo survived', 4000);
      expect(bomb.stdout + bomb.stderr).toMatch(/fork|resource|retry|survived|Cannot/i);
      // Killed from the host, whose forks the pod's pids limit does not hold (inside the pod even
      // pkill cannot start while the bomb fills the limit), until none of it is left: its
      // processes fork again while they live.
      const left = async () => {
        await run('pkill', ['-KILL', '-f', '^/bin/sh -c kbomb']).catch(() => undefined);
        return run('pgrep', ['-f', '^/bin/sh -c kbomb']).then(
          () => 'left',
          () => 'gone',
        );
      };
      await expect.poll(left, { timeout: 30_000, interval: 100 }).toBe('gone');
      await expect
        .poll(async () => (await sh(a, 'echo ok').catch(() => ({ stdout: '' }))).stdout.trim(), {
          timeout: 15_000,
        })
        .toBe('ok');
      const hog = await k.exec(
        a,
        ['/bin/sh', '-c', 'head -c 2147483648 /dev/zero | tail -c 2147483648 > /dev/null'],
        30_000,
      );
      expect(hog.exitCode === 137 || hog.signal === 'SIGKILL', JSON.stringify(hog)).toBe(true);
      expect((await sh(a, 'echo alive')).stdout).toBe('alive\n');
      expect((await sh(b, 'echo alive')).stdout).toBe('alive\n');
    }, 60_000);
  });

  it('reconcile: a pod deleted behind its back is started again with its files; an orphan is removed', async () => {
    const [row] = await k.t.services.workspaces.list({ status: 'running' });
    if (!row) throw new Error('no running workspace');
    await k.exec(row.id, ['sh', '-c', 'echo kept > /workspace/kept.txt']);
    const before = k.t.services.runtime.hub.connection(row.id);
    // `kubectl delete pod`, as an operator or a node drain would.
    const name = objectName(installation, row.id);
    const res = await fetch(`${api.url}/api/v1/namespaces/${NS}/pods/${name}?gracePeriodSeconds=0`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer fake-token' },
    });
    expect(res.status).toBe(200);
    await expect.poll(() => api.get('pods', NS, name), { timeout: 10_000 }).toBeUndefined();
    // An orphan: this installation's objects for a workspace the store does not know.
    const driver = k.t.services.runtime.driver;
    const orphan = await driver.create({
      workspaceId: 'orphan-0001',
      resources: { cpu: 0.5, memoryBytes: 256 * 2 ** 20, pids: 64 },
      env: { RC_AGENT_URL: `ws://${net.hostAddress}:9/api/v1/agent`, RC_AGENT_TOKEN: 'x'.repeat(43) },
    });
    expect((await driver.list()).map((r) => r.workspaceId)).toContain(orphan.workspaceId);

    const report = await k.t.services.runtime.reconciler.runOnce();
    expect(report.restarted).toContain(row.id);
    expect(report.orphansRemoved).toEqual([orphan.workspaceId]);
    expect(api.get('secrets', NS, objectName(installation, orphan.workspaceId))).toBeUndefined();
    expect(
      api.get('persistentvolumeclaims', NS, objectName(installation, orphan.workspaceId)),
    ).toBeUndefined();
    await expect
      .poll(
        () => {
          const conn = k.t.services.runtime.hub.connection(row.id);
          return conn !== undefined && conn !== before;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    expect((await k.exec(row.id, ['cat', '/workspace/kept.txt'])).stdout).toBe('kept\n');
  }, 90_000);
});
