// Chaos on the docker driver, on a daemon of its own (so killing it harms no other test): a
// workspace container killed behind the platform's back, a workspace whose volume vanished while
// it was stopped, and the daemon itself killed and started again. Each ends with the workspace in
// a state that says what happened, within bounded time.
//
// What the platform does (docs/workspaces.md, "Docker"): the daemon does not restart a container
// that `docker kill` stopped, so reconcile starts it again (a workspace that should run, runs; at
// most 3 times in 10 minutes, then it fails with the reason), and the agent reconnects with the
// files intact. While a daemon is down, reconcile leaves its workspaces alone. A clean daemon
// restart brings the containers back (restart policy unless-stopped); a daemon coming back from a
// crash stops them (unless it runs with live-restore), and reconcile starts them again.
import { readFile, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { containerName, volumeNames } from '../../server/drivers/docker/containerSpec.js';
import { nodeReport } from '../../server/workspaces/nodeReport.js';
import { type ExtraDockerd, startExtraDockerd } from '../support/dockerDaemons.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const NAME = 'chaos';

describe('docker chaos', () => {
  let daemon: ExtraDockerd;
  let docker: Docker;
  let k: WorkspaceKit;
  let installation: string;

  beforeAll(async () => {
    daemon = await startExtraDockerd(NAME);
    docker = new Docker({ socketPath: daemon.socketPath });
    await ensureWorkspaceImage({ docker: daemon.socketPath });
    k = await startWorkspaceKit({
      flags: {
        'runtime.driver': 'docker',
        nodes: [{ name: NAME, docker: { socketPath: daemon.socketPath } }],
        // Reconcile runs when the test says so.
        'workspaces.reconcileInterval': 3600,
        'runtime.docker.callTimeout': 5,
      },
    });
    installation = k.t.config.runtime.docker.installation;
  }, 20 * 60_000);

  afterAll(async () => {
    await k?.close();
    await daemon?.stop();
  }, 120_000);

  const container = (id: string) => docker.getContainer(containerName(installation, id));
  const call = async (method: 'POST' | 'DELETE', url: string) => {
    const res = await k.t.app.inject({ method, url, headers: { authorization: k.auth } });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  const running = async (repo: string): Promise<Workspace> => {
    const ws = await k.settle((await k.create(k.repo(repo))).id);
    expect(ws.status, ws.statusReason ?? '').toBe('running');
    return ws;
  };
  /** Polls `check` every 100 ms until it returns something truthy, for at most `ms`. */
  const until = async <T>(what: string, ms: number, check: () => Promise<T>): Promise<NonNullable<T>> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check().catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('docker kill: reconcile starts the workspace again, with its files', async () => {
    const ws = await running('app');
    await k.exec(ws.id, ['sh', '-c', 'echo kept > /workspace/kept.txt']);
    await container(ws.id).kill();
    await until(
      'the container to stop',
      10_000,
      async () => !(await container(ws.id).inspect()).State.Running,
    );
    // The daemon left it alone: a killed container is not restarted by its policy.
    expect((await container(ws.id).inspect()).State.Running).toBe(false);
    const report = await k.t.services.runtime.reconciler.runOnce();
    expect(report.restarted).toContain(ws.id);
    await until('the agent to reconnect', 30_000, async () => (await k.settle(ws.id)).agentConnected);
    expect((await k.settle(ws.id)).status).toBe('running');
    expect((await k.exec(ws.id, ['cat', '/workspace/kept.txt'])).stdout).toBe('kept\n');
  });

  it('a volume removed while stopped: the start fails with a sentence, and delete still cleans up', async () => {
    const [ws] = await k.t.services.workspaces.list({ status: 'running' });
    if (!ws) throw new Error('no running workspace');
    await call('POST', `/api/v1/workspaces/${ws.id}/stop`);
    // A volume in use by a container cannot be removed through Docker, even a stopped one; its
    // files can be lost on disk all the same.
    const volume = volumeNames(installation, ws.id).workspace;
    await rm((await docker.getVolume(volume).inspect()).Mountpoint, { recursive: true, force: true });

    await call('POST', `/api/v1/workspaces/${ws.id}/start`);
    const failed = await k.settle(ws.id);
    expect(failed.status).toBe('failed');
    expect(failed.statusReason).toMatch(
      new RegExp(
        `^The workspace's files are missing on node ${NAME}: Docker cannot mount its volume ${volume}`,
      ),
    );
    await call('DELETE', `/api/v1/workspaces/${ws.id}`);
    await expect(docker.getVolume(volume).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(container(ws.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  /** Stops the test daemon (killed, or shut down cleanly) and checks what the platform makes of the gap. */
  const daemonGap = async (ws: Workspace, how: 'crash' | 'shutdown') => {
    if (how === 'crash') {
      process.kill(Number(await readFile(`/var/run/rc-test-dockerd-${NAME}.pid`, 'utf8')), 'SIGKILL');
    }
    await daemon.stop();
    // While the daemon is down the node is unhealthy, and reconcile does not call the workspace failed.
    const report = await k.t.services.runtime.reconciler.runOnce();
    expect(report.failed).not.toContain(ws.id);
    expect((await k.t.services.workspaces.byId(ws.id))?.status).toBe('running');
    const [node] = await nodeReport(k.t.services.runtime.driver, k.t.services.workspaces);
    expect(node).toMatchObject({ name: NAME, healthy: false });
    expect(node?.error).toMatch(new RegExp(`^The Docker daemon on node ${NAME} does not answer at unix://`));
    daemon = await startExtraDockerd(NAME);
  };

  it('the daemon shut down and started again: the restart policy brings the workspace back and its agent reconnects', async () => {
    const ws = await running('other');
    const before = k.t.services.runtime.hub.connection(ws.id);
    expect(before).toBeDefined();
    await daemonGap(ws, 'shutdown');
    await until(
      'the container to run again',
      60_000,
      async () => (await container(ws.id).inspect()).State.Running,
    );
    const after = await until('the agent to reconnect', 30_000, async () => {
      const conn = k.t.services.runtime.hub.connection(ws.id);
      return conn && conn !== before ? conn : undefined;
    });
    expect(after.workspaceId).toBe(ws.id);
    expect((await k.t.services.runtime.reconciler.runOnce()).failed).not.toContain(ws.id);
    expect((await k.settle(ws.id)).status).toBe('running');
    expect((await k.exec(ws.id, ['echo', 'alive'])).stdout).toBe('alive\n');
  }, 180_000);

  it('the daemon killed and started again: reconcile starts the workspace again', async () => {
    const [ws] = (await k.t.services.workspaces.list({ status: 'running' })) as unknown as [Workspace];
    await daemonGap(ws, 'crash');
    // Without live-restore a daemon that comes back from a crash stops the containers it finds
    // still running and does not restart them (docs/workspaces.md, "Docker").
    await until(
      'the container to stop',
      60_000,
      async () => !(await container(ws.id).inspect()).State.Running,
    );
    expect((await k.t.services.runtime.reconciler.runOnce()).restarted).toContain(ws.id);
    await until('the agent to reconnect', 30_000, async () => (await k.settle(ws.id)).agentConnected);
    expect((await k.settle(ws.id)).status).toBe('running');
    expect((await k.exec(ws.id, ['echo', 'alive'])).stdout).toBe('alive\n');
  }, 180_000);
});
