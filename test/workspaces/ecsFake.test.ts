// End to end on the ecs driver against the fake ECS + EFS endpoint (test/support/fakeEcs.ts): a
// real control plane, the real workspace image run as a "Fargate task" container on the local
// Docker engine with NetworkMode none plus a veth of the test's own, the real agent dialling the
// control plane's network endpoint from inside it, a real Claude Code task against the model stub,
// files that outlive a stop on the fake EFS, and a delete that empties them.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { EcsDriver } from '../../server/drivers/ecs/ecsDriver.js';
import { familyName } from '../../server/drivers/ecs/taskDefinition.js';
import { FAKE_CREDENTIALS, FakeEcs } from '../support/fakeEcs.js';
import { type ModelStub, startModelStub, writeFileScenario } from '../support/modelStub.js';
import { finished, kitTaskApi } from '../support/taskApi.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-test-key-0123456789';
const INSTALLATION = `e2e${Date.now().toString(36).slice(-5)}`;

describe('workspaces and tasks on the ecs driver (fake ECS, Fargate, real agent and claude)', () => {
  let fake: FakeEcs;
  let stub: ModelStub;
  let k: WorkspaceKit;
  let driver: EcsDriver;

  beforeAll(async () => {
    const image = await ensureWorkspaceImage();
    fake = await FakeEcs.start({ mode: 'fargate' });
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        write: writeFileScenario('from-claude.txt', 'written in an ECS task\n'),
      },
    });
    driver = new EcsDriver({
      region: fake.region,
      endpoint: fake.url,
      credentials: FAKE_CREDENTIALS,
      cluster: fake.cluster,
      capacityProviders: [{ name: 'FARGATE_SPOT', weight: 3 }, { name: 'FARGATE' }],
      subnets: ['subnet-0123456789abcdef0'],
      securityGroups: ['sg-0123456789abcdef0'],
      image,
      taskRoleArn: 'arn:aws:iam::123456789012:role/rc-workspace',
      efsFileSystemId: fake.fileSystemId,
      installation: INSTALLATION,
      pollMs: 50,
      stopTimeoutSeconds: 2,
    });
    k = await startWorkspaceKit({
      services: { driver },
      flags: {
        'gateway.upstream': stub.url,
        'claude.apiKey': ORG_KEY,
        'workspaces.heartbeatIntervalMs': 1000,
        'workspaces.startTimeout': 60,
      },
    });
    // The tasks reach the control plane at the host end of their network only.
    const base = await k.t.app.listen({ port: 0, host: fake.network?.hostAddress as string });
    k.t.services.publicUrl = base;
  }, 20 * 60_000);
  afterAll(async () => {
    await k?.close();
    await driver?.close();
    await fake?.close();
    await stub?.close();
  });

  const { api, until } = kitTaskApi(() => k);

  it('runs a Claude Code task in an ECS task whose agent dialled the network endpoint', async () => {
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:write] write a file',
      permissionMode: 'acceptEdits',
    });
    const done = await until(task.id, finished, 120_000);
    expect(done, done.statusReason ?? '').toMatchObject({ status: 'succeeded' });
    const id = task.workspaceId as string;
    expect(k.t.services.runtime.hub.connection(id)?.transport).toBe('network');
    const file = await k.t.app.inject({
      url: `/api/v1/workspaces/${id}/files/from-claude.txt`,
      headers: { authorization: k.auth },
    });
    expect(file.body).toBe('written in an ECS task\n');
    // The clone came through the agent's channel into the EFS access point.
    expect((await k.exec(id, ['cat', '/workspace/README.md'])).stdout).toBe('# app\n');
    // In the task: uid 1000, a read-only root, one interface besides loopback.
    const probe = await k.exec(id, [
      '/bin/sh',
      '-c',
      'id -u; touch /etc/x 2>/dev/null && echo root-writable; ls /sys/class/net | sort | tr "\\n" " "',
    ]);
    expect(probe.stdout).toBe('1000\neth0 lo ');
    const [running] = fake.describe(
      (t) => t.group === `family:${familyName(INSTALLATION, id)}` && t.lastStatus === 'RUNNING',
    );
    expect(running).toMatchObject({ launchType: 'FARGATE', startedBy: `rc-${INSTALLATION}` });
    // The agent token is in the task's overrides only, never in the task definition.
    const token = JSON.stringify(running?.overrides).match(/"RC_AGENT_TOKEN","value":"([^"]+)"/)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(fake.taskDefinition(familyName(INSTALLATION, id)))).not.toContain(token);
    expect(stub.requests.filter((r) => r.main).every((r) => r.apiKey === ORG_KEY)).toBe(true);
  }, 180_000);

  it('reconcile restarts a task stopped outside the platform and removes a task definition no workspace owns', async () => {
    const [row] = await k.t.services.workspaces.list();
    const id = row?.id as string;
    const family = `family:${familyName(INSTALLATION, id)}`;
    const [task] = fake.describe((t) => t.group === family && t.lastStatus === 'RUNNING');
    const hub = k.t.services.runtime.hub;
    const before = hub.connection(id);
    await fake.kill(String(task?.taskArn));
    const orphan = await driver.start(
      await driver.create({
        workspaceId: 'orphan-box',
        resources: { cpu: 0.25, memoryBytes: 64 * 2 ** 20, pids: 32 },
        env: { RC_AGENT_URL: 'ws://127.0.0.1:9/api/v1/agent' },
        command: ['/bin/sh', '-c', 'sleep 600'],
      }),
    );
    const report = await k.t.services.runtime.reconciler.runOnce();
    expect(report.restarted).toContain(id);
    expect(report.orphansRemoved).toContain('orphan-box');
    expect((await driver.inspect(orphan)).status).toBe('missing');
    expect(fake.listAccessPoints().filter((a) => JSON.stringify(a.Tags).includes('orphan-box'))).toEqual([]);
    await expect
      .poll(() => hub.connection(id) !== undefined && hub.connection(id) !== before, { timeout: 30_000 })
      .toBe(true);
    expect((await k.exec(id, ['cat', '/workspace/from-claude.txt'])).stdout).toBe('written in an ECS task\n');
  }, 120_000);

  it('keeps the files on EFS through a stop and start, and empties them when the workspace is deleted', async () => {
    const [row] = await k.t.services.workspaces.list();
    const id = row?.id as string;
    await api('POST', `/api/v1/workspaces/${id}/stop`);
    expect((await k.settle(id)).status).toBe('stopped');
    expect((await driver.inspect({ kind: 'ecs', workspaceId: id, data: {} })).status).toBe('stopped');
    expect(
      fake.describe(
        (t) =>
          t.group === `family:${familyName(INSTALLATION, id)}` &&
          !['STOPPED', 'DEPROVISIONING'].includes(String(t.lastStatus)),
      ),
    ).toEqual([]);
    await api('POST', `/api/v1/workspaces/${id}/start`);
    const ws = (await k.settle(id, undefined, 60_000)) as Workspace;
    expect(ws.status, ws.statusReason ?? '').toBe('running');
    expect((await k.exec(id, ['cat', '/workspace/from-claude.txt'])).stdout).toBe('written in an ECS task\n');
    const dir = fake
      .listAccessPoints()
      .filter((a) => JSON.stringify(a.Tags).includes(id) && JSON.stringify(a.Tags).includes('"workspace"'))
      .map((a) => fake.accessPointDir(a.AccessPointId))[0] as string;
    expect((await stat(join(dir, 'from-claude.txt'))).isFile()).toBe(true);
    await k.t.services.runtime.service.remove(id, { keepVolume: false });
    expect(await stat(join(dir, 'from-claude.txt')).catch(() => undefined)).toBeUndefined();
    expect(fake.listAccessPoints().filter((a) => JSON.stringify(a.Tags).includes(id))).toEqual([]);
    expect((await driver.list()).map((r) => r.workspaceId)).not.toContain(id);
  }, 120_000);
});
