// The ecs driver against the fake ECS + EFS endpoint (test/support/fakeEcs.ts), whose tasks run
// as containers on the real local Docker engine with the real workspace image: the driver
// contract, the task definition it registers, failure sentences, throttling, reconcile's view.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, FakeEcs } from '../../../test/support/fakeEcs.js';
import { ensureWorkspaceImage } from '../../../test/support/workspaceImage.js';
import { runDriverContract } from '../driverContract.js';
import { DriverError, type WorkspaceSpec } from '../runtimeDriver.js';
import { EcsDriver } from './ecsDriver.js';
import type { EcsDriverConfig } from './ecsDriverConfig.js';
import { familyName } from './taskDefinition.js';

const MiB = 2 ** 20;
let image = '';
let ec2: FakeEcs;
let fargate: FakeEcs;

beforeAll(async () => {
  image = await ensureWorkspaceImage();
  [ec2, fargate] = await Promise.all([
    FakeEcs.start({
      mode: 'ec2',
      network: false,
      instances: [
        { id: 'i-0aaaaaaaaaaaaaaa1', cpu: 32, memoryMiB: 8192 },
        { id: 'i-0aaaaaaaaaaaaaaa2', cpu: 2, memoryMiB: 1024 },
      ],
    }),
    FakeEcs.start({ mode: 'fargate', network: false }),
  ]);
}, 20 * 60_000);
afterAll(async () => {
  await ec2?.close();
  await fargate?.close();
});

function configFor(
  fake: FakeEcs,
  installation: string,
  extra: Partial<EcsDriverConfig> = {},
): EcsDriverConfig {
  return {
    region: fake.region,
    endpoint: fake.url,
    credentials: FAKE_CREDENTIALS,
    cluster: fake.cluster,
    capacityProviders: [{ name: fake.capacityProviders[0] as string }],
    subnets: ['subnet-0123456789abcdef0'],
    securityGroups: ['sg-0123456789abcdef0'],
    image,
    taskRoleArn: 'arn:aws:iam::123456789012:role/rc-workspace',
    efsFileSystemId: fake.fileSystemId,
    installation,
    pollMs: 25,
    stopTimeoutSeconds: 2,
    maxAttempts: 4,
    ...extra,
  };
}

const contractInstallation = `ct${randomBytes(3).toString('hex')}`;
runDriverContract('ecs (fake ECS, EC2 capacity)', () => new EcsDriver(configFor(ec2, contractInstallation)), {
  runsCommands: true,
  resources: { cpu: 1, memoryBytes: 256 * MiB, pids: 128 },
  waitMs: 20_000,
});

describe('ecs driver specifics (fake ECS)', () => {
  const installation = `et${randomBytes(3).toString('hex')}`;
  let n = 0;
  const spec = (extra: Partial<WorkspaceSpec> = {}): WorkspaceSpec => ({
    workspaceId: `w${++n}-${randomBytes(2).toString('hex')}`,
    resources: { cpu: 0.5, memoryBytes: 300 * MiB, pids: 256 },
    env: { RC_AGENT_URL: 'ws://127.0.0.1:9/api/v1/agent', RC_AGENT_TOKEN: 'secret-token-value' },
    command: ['/bin/sh', '-c', 'sleep 600'],
    ...extra,
  });
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as DriverError,
    );

  it('registers a task definition with the isolation profile, tags and EFS access points (EC2)', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    const s = spec();
    await driver.create(s);
    const td = ec2.taskDefinition(familyName(installation, s.workspaceId));
    expect(td).toBeDefined();
    const body = td?.body as unknown as {
      networkMode: string;
      requiresCompatibilities: string[];
      cpu: string;
      memory: string;
      taskRoleArn: string;
      containerDefinitions: Record<string, unknown>[];
      volumes: { name: string; efsVolumeConfiguration?: Record<string, unknown> }[];
    };
    expect(body).toMatchObject({
      networkMode: 'awsvpc',
      requiresCompatibilities: ['EC2'],
      cpu: '512',
      memory: '300',
      taskRoleArn: 'arn:aws:iam::123456789012:role/rc-workspace',
    });
    const c = body.containerDefinitions[0];
    expect(c).toMatchObject({
      user: '1000:1000',
      readonlyRootFilesystem: true,
      privileged: false,
      dockerSecurityOptions: ['no-new-privileges'],
      linuxParameters: { initProcessEnabled: true, capabilities: { drop: ['ALL'] }, maxSwap: 0 },
      cpu: 512,
      memory: 300,
      ulimits: [{ name: 'nproc', softLimit: 256, hardLimit: 256 }],
      mountPoints: [
        { sourceVolume: 'workspace', containerPath: '/workspace', readOnly: false },
        { sourceVolume: 'home', containerPath: '/home/user', readOnly: false },
        { sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false },
      ],
    });
    // The token is not in the task definition: it comes with each RunTask.
    expect(JSON.stringify(td)).not.toContain('secret-token-value');
    for (const name of ['workspace', 'home']) {
      const v = body.volumes.find((x) => x.name === name);
      expect(v?.efsVolumeConfiguration).toMatchObject({
        fileSystemId: ec2.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { iam: 'ENABLED', accessPointId: expect.stringMatching(/^fsap-/) },
      });
    }
    expect(td?.tags).toEqual(
      expect.arrayContaining([
        { key: 'remote-claude.installation', value: installation },
        { key: 'remote-claude.workspace', value: s.workspaceId },
      ]),
    );
    const aps = ec2.listAccessPoints().filter((a) => JSON.stringify(a.Tags).includes(s.workspaceId));
    expect(aps).toHaveLength(2);
    for (const ap of aps) {
      expect(ap).toMatchObject({
        PosixUser: { Uid: 1000, Gid: 1000 },
        RootDirectory: { CreationInfo: { OwnerUid: 1000, OwnerGid: 1000, Permissions: '0750' } },
      });
    }
    // Same spec: no new revision; new limits: one, and the old one is deregistered.
    await driver.create(s);
    expect(ec2.taskDefinition(familyName(installation, s.workspaceId))?.revision).toBe(1);
    await driver.create({ ...s, resources: { ...s.resources, cpu: 1 } });
    expect(ec2.taskDefinition(familyName(installation, s.workspaceId))?.revision).toBe(2);
    await driver.remove({ kind: 'ecs', workspaceId: s.workspaceId, data: {} });
    expect(ec2.listAccessPoints().filter((a) => JSON.stringify(a.Tags).includes(s.workspaceId))).toHaveLength(
      0,
    );
    await driver.close();
  });

  it('runs the task with the isolation fields on its container, the token in overrides, tags and startedBy', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    const s = spec({
      command: [
        '/bin/sh',
        '-c',
        'id -u; touch /x 2>/dev/null && echo rootfs-writable; touch /workspace/ok /tmp/ok && echo dirs-writable; sleep 600',
      ],
    });
    const ref = await driver.start(await driver.create(s));
    const [task] = ec2.describe(
      (t) =>
        String(t.group) === `family:${familyName(installation, s.workspaceId)}` && t.lastStatus === 'RUNNING',
    );
    expect(task).toMatchObject({
      startedBy: `rc-${installation}`,
      tags: expect.arrayContaining([{ key: 'remote-claude.workspace', value: s.workspaceId }]),
      overrides: {
        containerOverrides: [
          expect.objectContaining({
            environment: expect.arrayContaining([{ name: 'RC_AGENT_TOKEN', value: 'secret-token-value' }]),
          }),
        ],
      },
    });
    const docker = new (await import('dockerode')).default();
    const [container] = await docker
      .listContainers({ filters: { label: [] } })
      .then((cs) =>
        cs.filter((c) =>
          c.Names.some((name) => name.endsWith(String(task?.taskArn).split('/').pop() ?? '-')),
        ),
      );
    const info = await docker.getContainer(container?.Id as string).inspect();
    expect(info.Config.User).toBe('1000:1000');
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Privileged: false,
      CapDrop: ['ALL'],
      Init: true,
      SecurityOpt: ['no-new-privileges'],
      Memory: 300 * MiB,
      MemorySwap: 300 * MiB,
      PidsLimit: 256,
    });
    await expect
      .poll(
        async () =>
          (
            await docker.getContainer(container?.Id as string).logs({ stdout: true, stderr: true })
          ).toString(),
        { timeout: 10_000 },
      )
      .toMatch(/1000[\s\S]*dirs-writable/);
    const logs = (await docker.getContainer(container?.Id as string).logs({ stdout: true })).toString();
    expect(logs).not.toContain('rootfs-writable');
    await driver.remove(ref);
    await driver.close();
  });

  it('fits a Fargate task into a size Fargate sells and leaves out what Fargate refuses', async () => {
    const driver = new EcsDriver(configFor(fargate, installation));
    const s = spec({
      resources: { cpu: 0.5, memoryBytes: 300 * MiB, pids: 64 },
      command: ['/bin/sh', '-c', 'exit 0'],
    });
    const ref = await driver.create(s);
    const td = fargate.taskDefinition(familyName(installation, s.workspaceId));
    const body = td?.body as unknown as {
      cpu: string;
      memory: string;
      requiresCompatibilities: string[];
      containerDefinitions: Record<string, unknown>[];
    };
    expect(body).toMatchObject({ cpu: '512', memory: '1024', requiresCompatibilities: ['FARGATE'] });
    // The container keeps the workspace's own limits inside the larger task.
    expect(body.containerDefinitions[0]).toMatchObject({
      memory: 300,
      readonlyRootFilesystem: true,
      user: '1000:1000',
    });
    expect(body.containerDefinitions[0]).not.toHaveProperty('privileged');
    await driver.start(ref);
    await expect.poll(async () => (await driver.inspect(ref)).exitCode, { timeout: 10_000 }).toBe(0);
    expect(await driver.nodes()).toEqual([
      expect.objectContaining({
        name: 'fargate',
        driver: 'ecs',
        healthy: true,
        capacity: { cpu: null, memoryBytes: null, maxWorkspaces: null },
      }),
    ]);
    await driver.remove(ref);
    await driver.close();
  });

  it('turns a pull failure, an exit, an out-of-memory kill and a stop outside the platform into sentences', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    // The image is not there: the task stops with CannotPullContainerError, the start fails with it.
    const missing = new EcsDriver(configFor(ec2, installation, { image: 'remote-claude/no-such-image:1' }));
    const pull = await errorOf(missing.start(await missing.create(spec({ command: undefined }))));
    expect(pull).toBeInstanceOf(DriverError);
    expect(pull?.reason).toBe('start_failed');
    expect(pull?.userMessage).toMatch(
      /^failed to start: ECS could not pull the workspace image \(CannotPullContainerError: .*no-such-image.*\)\. Check runtime\.ecs\.image/,
    );
    await missing.close();

    const oom = await driver.start(
      await driver.create(
        spec({
          resources: { cpu: 0.5, memoryBytes: 32 * MiB, pids: 64 },
          command: ['node', '-e', 'const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))'],
        }),
      ),
    );
    await expect
      .poll(async () => (await driver.inspect(oom)).reason, { timeout: 20_000 })
      .toBe('killed: out of memory');

    const exit3 = await driver.start(await driver.create(spec({ command: ['/bin/sh', '-c', 'exit 3'] })));
    await expect
      .poll(async () => driver.inspect(exit3), { timeout: 10_000 })
      .toEqual({ status: 'stopped', exitCode: 3, reason: 'exit code 3' });

    const killed = await driver.start(await driver.create(spec()));
    const [task] = ec2.describe(
      (t) => String(t.group).endsWith(killed.workspaceId) && t.lastStatus === 'RUNNING',
    );
    await ec2.kill(String(task?.taskArn));
    expect(await driver.inspect(killed)).toMatchObject({
      status: 'stopped',
      exitCode: 137,
      reason: 'killed by signal SIGKILL',
    });
    await driver.close();
  });

  it('restarts a stopped task from another replica with the run parameters of its last task', async () => {
    const a = new EcsDriver(configFor(ec2, installation));
    const s = spec({
      env: { RC_AGENT_URL: 'ws://127.0.0.1:9/api/v1/agent', RC_AGENT_TOKEN: 'token-of-this-start' },
    });
    const ref = await a.start(await a.create(s));
    const family = `family:${familyName(installation, s.workspaceId)}`;
    const [first] = ec2.describe((t) => t.group === family && t.lastStatus === 'RUNNING');
    await ec2.kill(String(first?.taskArn));
    // A replica that never saw the spec: what it runs comes from the task ECS still remembers.
    const b = new EcsDriver(configFor(ec2, installation));
    expect((await b.inspect(ref)).status).toBe('stopped');
    await b.start(ref);
    const [second] = ec2.describe((t) => t.group === family && t.lastStatus === 'RUNNING');
    expect(second?.taskArn).not.toBe(first?.taskArn);
    expect(JSON.stringify(second?.overrides)).toContain('token-of-this-start');
    await b.remove(ref);
    await a.close();
    await b.close();
  });

  it('says when there is no room: RESOURCE:MEMORY from the cluster, capacity unavailable on Fargate', async () => {
    const small = new EcsDriver(configFor(ec2, installation));
    const tooBig = await errorOf(
      small.start(
        await small.create(spec({ resources: { cpu: 1, memoryBytes: 16 * 1024 * MiB, pids: 64 } })),
      ),
    );
    expect(tooBig?.reason).toBe('insufficient_resources');
    expect(tooBig?.userMessage).toBe(
      `No container instance in ECS cluster ${ec2.cluster} has enough memory free for this workspace right now (RESOURCE:MEMORY); it starts once there is room.`,
    );
    const f = new EcsDriver(configFor(fargate, installation));
    fargate.inject.runTaskFailures.push({
      reason:
        'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    });
    const noCapacity = await errorOf(f.start(await f.create(spec())));
    expect(noCapacity?.reason).toBe('insufficient_resources');
    expect(noCapacity?.userMessage).toMatch(
      /^AWS has no capacity for this workspace in cluster fake-cluster right now \("Capacity is unavailable at this time/,
    );
    await small.close();
    await f.close();
  });

  it('retries throttled calls, and says so when AWS keeps throttling', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    const s = spec();
    const before = ec2.calls.filter((c) => c.op === 'RegisterTaskDefinition').length;
    ec2.inject.throttle = { count: 2, op: 'RegisterTaskDefinition' };
    await driver.create(s);
    expect(ec2.calls.filter((c) => c.op === 'RegisterTaskDefinition').length - before).toBe(3);
    expect(ec2.taskDefinition(familyName(installation, s.workspaceId))).toBeDefined();
    ec2.inject.throttle = { count: 100, op: 'ListTaskDefinitionFamilies' };
    const err = await errorOf(driver.list());
    ec2.inject.throttle = { count: 0, op: undefined };
    expect(err?.reason).toBe('unavailable');
    expect(err?.userMessage).toBe(
      "AWS kept throttling the control plane's ECS ListTaskDefinitionFamilies calls after several tries; try again in a minute.",
    );
    await driver.remove({ kind: 'ecs', workspaceId: s.workspaceId, data: {} });
    await driver.close();
  });

  it('lists what reconcile needs: task definitions and live tasks of its installation only', async () => {
    const mine = new EcsDriver(configFor(ec2, installation));
    const other = new EcsDriver(configFor(ec2, `${installation}-x`));
    const stopped = await mine.create(spec());
    const running = await mine.start(await mine.create(spec()));
    const theirs = await other.create(spec());
    const ids = (await mine.list()).map((r) => r.workspaceId);
    expect(ids).toEqual(expect.arrayContaining([stopped.workspaceId, running.workspaceId]));
    expect(ids).not.toContain(theirs.workspaceId);
    // An orphan: its task definition deregistered by hand, its task still running — still listed, removable.
    const td = ec2.taskDefinition(familyName(installation, running.workspaceId));
    if (td) td.status = 'INACTIVE';
    expect((await mine.list()).map((r) => r.workspaceId)).toContain(running.workspaceId);
    expect((await mine.inspect(running)).status).toBe('running');
    await mine.remove(running);
    expect((await mine.inspect(running)).status).toBe('missing');
    expect((await mine.list()).map((r) => r.workspaceId)).not.toContain(running.workspaceId);
    await mine.remove(stopped);
    await other.remove(theirs);
    await mine.close();
    await other.close();
  });

  it('empties the files on EFS before deleting the access points, and keeps them with keepVolume', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    const s = spec({ command: ['/bin/sh', '-c', 'echo kept > /workspace/f; echo home > /home/user/h'] });
    const ref = await driver.start(await driver.create(s));
    await expect.poll(async () => (await driver.inspect(ref)).exitCode, { timeout: 10_000 }).toBe(0);
    const [ap] = ec2
      .listAccessPoints()
      .filter(
        (a) =>
          JSON.stringify(a.Tags).includes(s.workspaceId) && JSON.stringify(a.Tags).includes('"workspace"'),
      );
    const dir = ec2.accessPointDir(String(ap?.AccessPointId)) as string;
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('kept\n');
    await driver.remove(ref, { keepVolume: true });
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('kept\n');
    await driver.create(s);
    await driver.remove(ref);
    expect(await stat(join(dir, 'f')).catch(() => undefined)).toBeUndefined();
    expect(ec2.listAccessPoints().filter((a) => JSON.stringify(a.Tags).includes(s.workspaceId))).toHaveLength(
      0,
    );
    await driver.close();
  });

  it('reports the container instances as nodes, with what the tasks reserve on them', async () => {
    const driver = new EcsDriver(configFor(ec2, installation));
    const ref = await driver.start(await driver.create(spec()));
    const nodes = await driver.nodes();
    expect(nodes.map((x) => x.name)).toEqual(['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2']);
    expect(nodes[0]).toMatchObject({
      driver: 'ecs',
      healthy: true,
      cordoned: false,
      capacity: { cpu: 32, memoryBytes: 8192 * MiB },
    });
    expect(nodes[0]?.used.workspaces).toBeGreaterThanOrEqual(1);
    await driver.remove(ref);
    const broken = new EcsDriver(configFor(ec2, installation, { cluster: 'no-such-cluster' }));
    expect(await broken.nodes()).toEqual([
      expect.objectContaining({ healthy: false, error: expect.stringContaining('does not exist') }),
    ]);
    await expect(broken.preflight()).rejects.toThrow(
      /ECS cluster no-such-cluster \(runtime\.ecs\.cluster\) was not found/,
    );
    await expect(new EcsDriver(configFor(ec2, installation)).preflight()).resolves.toBeUndefined();
    await expect(
      new EcsDriver(configFor(ec2, installation, { capacityProviders: [{ name: 'FARGATE' }] })).preflight(),
    ).rejects.toThrow(
      `ECS cluster ${ec2.cluster} has no capacity provider FARGATE (runtime.ecs.capacityProviders)`,
    );
    await expect(
      new EcsDriver(configFor(ec2, installation, { efsFileSystemId: 'fs-0000000000000000' })).preflight(),
    ).rejects.toThrow(/EFS file system fs-0000000000000000 \(runtime\.ecs\.efsFileSystemId\) was not found/);
    await driver.close();
    await broken.close();
  });
});

describe('ecs driver configuration (fake ECS)', () => {
  it('reads no process.env: region, endpoint and credentials come from its typed config only', async () => {
    const sources = (await readdir(import.meta.dirname)).filter(
      (f) => f.endsWith('.ts') && !f.includes('.test.'),
    );
    for (const f of sources) {
      expect(await readFile(join(import.meta.dirname, f), 'utf8'), f).not.toMatch(/process\.env|process\[/);
    }
    const saved = process.env;
    const reads: { key: string; by: string }[] = [];
    const env: Record<string, string | undefined> = {
      ...saved,
      AWS_REGION: 'us-east-2',
      AWS_DEFAULT_REGION: 'us-east-2',
      AWS_ACCESS_KEY_ID: 'AKIAFROMTHEENVIRONMENT',
      AWS_SECRET_ACCESS_KEY: 'from-the-environment-0000',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_MAX_ATTEMPTS: '1',
    };
    process.env = new Proxy(env, {
      get(target, key) {
        // Frame 0 is this trap, frame 1 whoever read the variable.
        if (typeof key === 'string') reads.push({ key, by: new Error().stack?.split('\n')[2] ?? '' });
        return Reflect.get(target, key);
      },
    });
    const before = ec2.calls.length;
    const installation = `env${randomBytes(2).toString('hex')}`;
    try {
      expect(process.env.RC_PROBE).toBeUndefined();
      expect(reads.some((r) => r.key === 'RC_PROBE' && r.by.includes('ecsDriverFake.test.ts'))).toBe(true);
      const driver = new EcsDriver(configFor(ec2, installation));
      const s = {
        workspaceId: 'env-check',
        resources: { cpu: 0.25, memoryBytes: 64 * MiB, pids: 32 },
        env: { RC_AGENT_URL: 'ws://127.0.0.1:9/api/v1/agent' },
        command: ['/bin/sh', '-c', 'sleep 60'],
      };
      const ref = await driver.start(await driver.create(s));
      expect((await driver.inspect(ref)).status).toBe('running');
      expect((await driver.list()).map((r) => r.workspaceId)).toContain('env-check');
      await driver.nodes();
      await driver.remove(ref);
      await driver.close();
    } finally {
      process.env = saved;
    }
    const byDriver = reads.filter((r) => /\/server\/drivers\/ecs\/\w+\.ts/.test(r.by));
    expect(byDriver).toEqual([]);
    // Every call went to the configured endpoint, signed for the configured region with the configured key.
    const calls = ec2.calls.slice(before);
    expect(calls.length).toBeGreaterThan(5);
    for (const c of calls)
      expect(c).toMatchObject({ accessKeyId: FAKE_CREDENTIALS.accessKeyId, region: ec2.region });
  });
});
