// The docker driver against the real daemon (test/setupHost.sh starts one) and the locally built
// workspace image: the driver contract, then what only Docker shows — the container's settings
// in `docker inspect`, the volumes, OOM kills and how failures read.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWorkspaceImage } from '../../../test/support/workspaceImage.js';
import { runDriverContract } from '../driverContract.js';
import { DriverError, type RuntimeRef, type WorkspaceSpec } from '../runtimeDriver.js';
import { LABEL } from './containerSpec.js';
import { DockerDriver, type DockerDriverConfig } from './dockerDriver.js';

const SOCKET = '/var/run/docker.sock';
const MiB = 2 ** 20;
// The global teardown sweeps this parent (test/globalSetup.ts).
const CGROUP_PARENT = process.env.RC_TEST_CGROUP_PARENT ?? 'rc-test';
let image = '';

const driverFor = (installation: string, extra: Partial<DockerDriverConfig> = {}) =>
  new DockerDriver({
    image,
    installation,
    // Room for every box these tests make at once (the contract creates several of 1 CPU on a
    // host that may have 2 cores): they are about containers; placement.test.ts and
    // test/workspaces/dockerNodes.test.ts are about where they go.
    nodes: [{ name: 'local', docker: { socketPath: SOCKET }, capacity: { cpu: 64 } }],
    cgroupParent: CGROUP_PARENT,
    ...extra,
  });

// The first build of the image on a machine takes minutes; every later run finds it by its hash.
beforeAll(async () => {
  image = await ensureWorkspaceImage();
}, 20 * 60_000);

const contractInstallation = `ct${randomBytes(3).toString('hex')}`;
runDriverContract('docker', () => driverFor(contractInstallation), {
  runsCommands: true,
  resources: { cpu: 1, memoryBytes: 256 * MiB, pids: 128 },
});

describe('docker driver specifics', () => {
  const installation = `dt${randomBytes(3).toString('hex')}`;
  const docker = new Docker({ socketPath: SOCKET });
  let driver: DockerDriver;
  let dataDir: string;
  let count = 0;
  const made: RuntimeRef[] = [];

  const spec = async (command?: string[], resources?: Partial<WorkspaceSpec['resources']>) => {
    const workspaceId = `w${++count}`;
    const agentSocketDir = join(dataDir, workspaceId);
    await mkdir(agentSocketDir, { recursive: true });
    return {
      workspaceId,
      resources: { cpu: 0.5, memoryBytes: 128 * MiB, pids: 64, ...resources },
      env: { RC_TEST: '1' },
      agentSocketDir,
      ...(command ? { command } : {}),
    } satisfies WorkspaceSpec;
  };
  const create = async (s: WorkspaceSpec, d = driver) => {
    const ref = await d.create(s);
    made.push(ref);
    return ref;
  };
  const stopped = async (ref: RuntimeRef, ms = 20_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const state = await driver.inspect(ref);
      if (state.status !== 'running' || Date.now() > deadline) return state;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a DriverError');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(DriverError);
        return e as DriverError;
      },
    );

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rc-dd-'));
    driver = driverFor(installation);
  });
  afterAll(async () => {
    for (const ref of made) await driver?.remove(ref).catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a labelled, hardened container with the spec limits, visible in docker inspect', async () => {
    const s = await spec(undefined, { cpu: 0.5, memoryBytes: 96 * MiB, pids: 50 });
    const ref = await create(s);
    expect(ref).toMatchObject({
      kind: 'docker',
      node: 'local',
      data: { container: `rc-${installation}-w1` },
    });
    const info = await docker.getContainer(`rc-${installation}-${s.workspaceId}`).inspect();
    expect(info.Config.Labels).toMatchObject({
      [LABEL.installation]: installation,
      [LABEL.workspace]: s.workspaceId,
    });
    expect(info.Config.User).toBe('1000:1000');
    expect(info.Config.Image).toBe(image);
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 96 * MiB,
      MemorySwap: 96 * MiB,
      NanoCpus: 0.5e9,
      PidsLimit: 50,
      RestartPolicy: { Name: 'unless-stopped' },
      Init: true,
    });
    for (const v of ['workspace', 'home']) {
      const volume = await docker.getVolume(`rc-${installation}-${s.workspaceId}-${v}`).inspect();
      expect(volume.Labels).toMatchObject({ [LABEL.installation]: installation });
    }
  });

  it('puts its containers under the parent cgroup of all workspaces, which keeps the reserve free', async () => {
    const cpus = (await docker.info()).NCPU as number;
    const capped = driverFor(installation, { reservedCpu: 0.5 });
    await capped.preflight();
    const ref = await capped.start(await create(await spec(['/bin/sleep', '30']), capped));
    const info = await docker.getContainer(`rc-${installation}-${ref.workspaceId}`).inspect();
    expect(info.HostConfig.CgroupParent).toBe(`/${CGROUP_PARENT}`);
    // cgroup v1 (this machine) and v2 keep the cpu files in different places.
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const parent = join('/sys/fs/cgroup', v2 ? '' : 'cpu', CGROUP_PARENT);
    expect(existsSync(join(parent, info.Id))).toBe(true);
    const read = (f: string) => readFileSync(join(parent, f), 'utf8').trim();
    if (v2) {
      expect(read('cpu.max')).toBe(`${(cpus - 0.5) * 100_000} 100000`);
      expect(read('cpu.weight')).toBe('25');
    } else {
      expect(read('cpu.cfs_quota_us')).toBe(String((cpus - 0.5) * 100_000));
      expect(read('cpu.shares')).toBe('256');
    }
    await capped.remove(ref);
  });

  it('refuses at startup a reserve that leaves no CPU for workspaces', async () => {
    const cpus = (await docker.info()).NCPU as number;
    const err = await failure(driverFor(installation, { reservedCpu: cpus }).preflight());
    expect(err.userMessage).toBe(
      `runtime.docker.reservedCpu (${cpus}) must be below node local's ${cpus} CPUs.`,
    );
  });

  it('runs as uid 1000 with writable volumes and /tmp, a read-only root and no network', async () => {
    const script = [
      'id -u',
      'touch /workspace/a "$HOME/b" /tmp/c && echo writable',
      'touch /etc/x 2>/dev/null || echo ro-root',
      'ls /sys/class/net',
      'grep -c . /proc/self/status >/dev/null; grep CapEff /proc/self/status',
      'grep NoNewPrivs /proc/self/status',
    ].join('; ');
    const ref = await driver.start(await create(await spec(['/bin/sh', '-c', script])));
    expect((await stopped(ref)).exitCode).toBe(0);
    const logs = (
      await docker.getContainer(`rc-${installation}-${ref.workspaceId}`).logs({ stdout: true, stderr: true })
    ).toString('latin1');
    expect(logs).toContain('1000\n');
    expect(logs).toContain('writable');
    expect(logs).toContain('ro-root');
    expect(logs).toMatch(/^.*lo\r?$/m);
    expect(logs).not.toMatch(/eth0/);
    expect(logs).toMatch(/CapEff:\s+0+\s/);
    expect(logs).toMatch(/NoNewPrivs:\s+1/);
  });

  it('keeps the volumes through remove({ keepVolume: true }) and deletes them otherwise', async () => {
    const s = await spec(['/bin/true']);
    const ref = await create(s);
    const volume = `rc-${installation}-${s.workspaceId}-workspace`;
    await driver.remove(ref, { keepVolume: true });
    expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
    expect((await create(s)).node).toBe('local');
    await driver.remove(ref);
    await expect(docker.getVolume(volume).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('replaces the container when the spec changes and keeps it when it does not', async () => {
    const s = await spec();
    await create(s);
    const id = async () => (await docker.getContainer(`rc-${installation}-${s.workspaceId}`).inspect()).Id;
    const first = await id();
    await create(s);
    expect(await id()).toBe(first);
    await create({ ...s, env: { RC_TEST: '2' } });
    expect(await id()).not.toBe(first);
  });

  it('says "killed: out of memory" for a container the kernel killed for memory', async () => {
    // `tail -c` keeps all it reads in anonymous memory. A small program, not node: under load a
    // node hog can thrash on its own evicted binary pages for a long time before the OOM killer acts.
    const hog = ['/bin/sh', '-c', 'head -c 2147483648 /dev/zero | tail -c 2147483648 > /dev/null'];
    const ref = await driver.start(await create(await spec(hog, { memoryBytes: 160 * MiB })));
    const state = await stopped(ref, 60_000);
    expect(state).toMatchObject({ status: 'stopped', reason: 'killed: out of memory' });
  });

  it('reports memory and process usage of a running container', async () => {
    const ref = await driver.start(await create(await spec(['/bin/sh', '-c', 'sleep 600'])));
    const state = await driver.inspect(ref);
    expect(state.status).toBe('running');
    expect(state.usage?.memoryBytes).toBeGreaterThan(0);
    expect(state.usage?.pids).toBeGreaterThanOrEqual(1);
    await driver.stop(ref, { graceSeconds: 0 });
  });

  it('reports an agent that dies at once as start_failed with its last log lines', async () => {
    // No RC_AGENT_TOKEN: the image's agent refuses to run. A long watch, so a busy machine's slow
    // node start cannot outlast it.
    const watching = driverFor(installation, { startWatchMs: 10_000 });
    const ref = await create(await spec());
    const err = await failure(watching.start(ref));
    expect(err.reason).toBe('start_failed');
    expect(err.userMessage).toMatch(/stopped right after it started .*RC_AGENT/s);
    expect((await driver.inspect(ref)).status).toBe('stopped');
  });

  it('says plainly when the image is missing', async () => {
    const d = driverFor(installation, { image: 'remote-claude/no-such-image:0' });
    const s = await spec();
    // The volumes are made before Docker looks for the image; removing the workspace takes them.
    made.push({ kind: 'docker', workspaceId: s.workspaceId, data: {} });
    const err = await failure(create(s, d));
    expect(err).toMatchObject({
      reason: 'unavailable',
      userMessage:
        'The workspace image remote-claude/no-such-image:0 is not on host local; build it there with `rclaude image build` or pull it.',
    });
  });

  it('refuses a runtime the daemon does not have, naming the ones it has', async () => {
    const d = driverFor(installation, { runtime: 'no-such-runtime' });
    const s = await spec();
    made.push({ kind: 'docker', workspaceId: s.workspaceId, data: {} });
    const err = await failure(create(s, d));
    expect(err.reason).toBe('invalid_spec');
    // test/setupHost.sh registers runsc beside the default runc.
    expect(err.userMessage).toMatch(
      /^Docker on node local has no runtime "no-such-runtime" \(runtime.docker.runtime\); it has (\S+, )*runc, runsc\. Register it in that daemon's daemon.json/,
    );
  });

  it('refuses limits Docker cannot apply as invalid_spec', async () => {
    const err = await failure(driver.create(await spec(undefined, { memoryBytes: 5 * MiB })));
    expect(err.reason).toBe('invalid_spec');
  });

  it('says plainly when the daemon is down, and never hangs on one that does not answer', async () => {
    const down = new DockerDriver({
      image,
      installation,
      nodes: [{ name: 'gone', docker: { socketPath: join(dataDir, 'no.sock') } }],
    });
    const err = await failure(down.create(await spec()));
    expect(err).toMatchObject({ reason: 'unavailable' });
    expect(err.userMessage).toBe(
      `The Docker daemon on node gone does not answer at unix://${join(dataDir, 'no.sock')} (ENOENT).`,
    );
    // Beside a node that answers, the one that does not receives nothing and the workspace goes
    // to the other; when the other is full, the refusal names both.
    const two = (capacity: { cpu: number }) =>
      new DockerDriver({
        image,
        // Its own installation: the other tests' boxes do not count against this node.
        installation: `${installation}-2`,
        cgroupParent: CGROUP_PARENT,
        nodes: [
          { name: 'gone', docker: { socketPath: join(dataDir, 'no.sock') } },
          { name: 'local', docker: { socketPath: SOCKET }, capacity },
        ],
      });
    const roomy = two({ cpu: 1 });
    const placed = await roomy.create(await spec());
    try {
      expect(placed.node).toBe('local');
      expect(placed.placement).toMatch(/^Placed on node local: 0\.5 of 1 CPU, .* reserved after this one\.$/);
      const full = await failure(two({ cpu: 0.75 }).create(await spec()));
      expect(full.reason).toBe('insufficient_resources');
      expect(full.userMessage).toBe(
        `No node has room for a workspace of 0.5 CPU and 128 MiB: gone does not answer (The Docker daemon on node gone does not answer at unix://${join(dataDir, 'no.sock')} (ENOENT)); local has 0.5 of 0.75 CPU reserved.`,
      );
    } finally {
      await roomy.remove(placed);
    }
    // A socket that accepts and then says nothing.
    const mute: Server = createServer(() => {});
    const mutePath = join(dataDir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(mutePath, r));
    try {
      const hung = new DockerDriver({
        image,
        installation,
        callTimeoutMs: 300,
        nodes: [{ name: 'mute', docker: { socketPath: mutePath } }],
      });
      const started = Date.now();
      const ghost = { kind: 'docker' as const, workspaceId: 'w1', node: 'mute', data: {} };
      expect((await failure(hung.inspect(ghost))).userMessage).toMatch(/node mute does not answer .*300 ms/);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await hung.list()).toEqual([]);
      expect((await hung.nodes())[0]).toMatchObject({ name: 'mute', healthy: false });
    } finally {
      mute.close();
    }
  });

  it('reports its node with what the workspaces there reserve', async () => {
    const [node] = await driver.nodes();
    expect(node).toMatchObject({ name: 'local', driver: 'docker', healthy: true });
    expect(node?.host?.cpu).toBeGreaterThan(0);
    // What placement enforces: no capacity but the cpu configured, so the machine's memory.
    expect(node?.capacity).toEqual({ cpu: 64, memoryBytes: node?.host?.memoryBytes, maxWorkspaces: null });
    // Running boxes, and ones created moments ago to be started, reserve; stopped ones do not.
    const label = { label: [`${LABEL.installation}=${installation}`] };
    const running = (await docker.listContainers({ filters: label })).length;
    const all = (await docker.listContainers({ all: true, filters: label })).length;
    expect(node?.used.running).toBe(running);
    expect(node?.used.workspaces).toBeGreaterThanOrEqual(running);
    expect(node?.used.workspaces).toBeLessThan(all);
  });
});
