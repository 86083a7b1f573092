// A workspace's life on the real drivers: create (clone through the egress proxy), files, stop,
// start, delete — with the real agent inside a bubblewrap sandbox or a Docker container.
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/drivers/docker/containerSpec.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { RUNTIMES, startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

describe.each(RUNTIMES.map((r) => [r.name, r] as const))(
  'workspace lifecycle (%s)',
  (_name, { driver, flags }) => {
    let k: WorkspaceKit;
    beforeAll(async () => {
      k = await startWorkspaceKit({ flags });
    });

    /** Freezes (or thaws) every process of the workspace, as a hung box would be. */
    const freeze = async (id: string, frozen: boolean) => {
      if (driver === 'docker') {
        const container = new Docker({ socketPath: '/var/run/docker.sock' }).getContainer(
          containerName(k.t.config.runtime.docker.installation, id),
        );
        await (frozen ? container.pause() : container.unpause());
        return;
      }
      const procs = `/sys/fs/cgroup/pids/${TEST_CGROUP_PARENT}/${id}/cgroup.procs`;
      for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number)) {
        try {
          process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
        } catch {}
      }
    };
    afterAll(async () => {
      await k?.close();
    });

    it('creates, clones through the egress proxy and runs; a second POST returns the same workspace', async () => {
      const created = await k.create(k.repo('app'));
      expect(created.status).toBe('starting');
      const ws = await k.settle(created.id);
      expect(ws, ws.statusReason ?? '').toMatchObject({
        status: 'running',
        agentConnected: true,
        statusReason: null,
      });
      const again = await k.t.app.inject({
        method: 'POST',
        url: '/api/v1/workspaces',
        headers: { authorization: k.auth },
        payload: { repository: `${k.repo('app')}/` },
      });
      expect(again.statusCode).toBe(200);
      expect(again.json().id).toBe(created.id);
      const readme = await k.exec(ws.id, ['cat', '/workspace/README.md']);
      expect(readme.stdout).toBe('# app\n');
      const remote = await k.exec(ws.id, ['git', '-C', '/workspace', 'log', '--oneline']);
      expect(remote.exitCode).toBe(0);
    });

    it('a clone failure fails the workspace with git’s message', async () => {
      const created = await k.create(k.repo('missing'));
      const ws = await k.settle(created.id);
      expect(ws.status).toBe('failed');
      expect(ws.statusReason).toMatch(/clone failed/i);
      expect(ws.statusReason).toMatch(/not found|404/i);
    });

    it('a repository host not on the allowlist fails the clone with the proxy’s reason', async () => {
      const created = await k.create('https://example.invalid/acme/app');
      const ws = await k.settle(created.id);
      expect(ws.status).toBe('failed');
      expect(ws.statusReason).toMatch(/clone failed/i);
    });

    it('stops, keeps files, starts again without cloning, and reports heartbeats', async () => {
      const [ws] = (await k.t.services.workspaces.list({ status: 'running' })) as unknown as [{ id: string }];
      await k.exec(ws.id, ['sh', '-c', 'echo kept > /workspace/kept.txt']);
      const stop = await k.t.app.inject({
        method: 'POST',
        url: `/api/v1/workspaces/${ws.id}/stop`,
        headers: { authorization: k.auth },
      });
      expect(stop.statusCode).toBe(200);
      expect(stop.json()).toMatchObject({ status: 'stopped', agentConnected: false });
      const start = await k.t.app.inject({
        method: 'POST',
        url: `/api/v1/workspaces/${ws.id}/start`,
        headers: { authorization: k.auth },
      });
      expect(start.statusCode).toBe(202);
      const running = await k.settle(ws.id);
      expect(running.status).toBe('running');
      expect((await k.exec(ws.id, ['cat', '/workspace/kept.txt'])).stdout).toBe('kept\n');
      // Heartbeats every 500 ms in this test app.
      const deadline = Date.now() + 5000;
      let usage = running.usage;
      while (!usage && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        usage = (await k.settle(ws.id)).usage;
      }
      expect(usage?.memoryBytes).toBeGreaterThan(1_000_000);
      expect(usage?.processes).toBeGreaterThanOrEqual(1);
    });

    it('three missed heartbeats mark the workspace unhealthy; the next one heals it', async () => {
      const [ws] = (await k.t.services.workspaces.list({ status: 'running' })) as unknown as [{ id: string }];
      await freeze(ws.id, true);
      try {
        // Heartbeat silence is measured on the app's clock: a heartbeat period (500 ms here) of it
        // passes at every look, so a beat already on its way when the box froze cannot hide the
        // silence after it.
        const deadline = Date.now() + 10_000;
        let health = '';
        while (health !== 'unhealthy' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          k.t.clock.advance(k.t.config.workspaces.heartbeatIntervalMs);
          health = (await k.settle(ws.id)).health ?? '';
        }
        expect(health).toBe('unhealthy');
      } finally {
        await freeze(ws.id, false);
      }
      const deadline = Date.now() + 10_000;
      let health = '';
      while (health !== 'healthy' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        health = (await k.settle(ws.id)).health ?? '';
      }
      expect(health).toBe('healthy');
    });

    it('deleting a running workspace stops it first and removes its files; keepVolume keeps them', async () => {
      const [ws] = (await k.t.services.workspaces.list({ status: 'running' })) as unknown as [{ id: string }];
      const box = JSON.parse((await k.t.services.workspaces.byId(ws.id))?.runtime_ref ?? '{}');
      const del = await k.t.app.inject({
        method: 'DELETE',
        url: `/api/v1/workspaces/${ws.id}?keepVolume=true`,
        headers: { authorization: k.auth },
      });
      expect(del.statusCode).toBe(204);
      expect((await k.t.services.runtime.driver.inspect(box)).status).toBe('missing');
      expect(await k.t.services.workspaces.byId(ws.id)).toBeUndefined();
      // The same (owner, repository) gets the same id, so the kept files come back.
      const again = await k.create(k.repo('app'));
      expect(again.id).toBe(ws.id);
      expect((await k.settle(again.id)).status).toBe('running');
      expect((await k.exec(again.id, ['cat', '/workspace/kept.txt'])).stdout).toBe('kept\n');
      const gone = await k.t.app.inject({
        method: 'DELETE',
        url: `/api/v1/workspaces/${ws.id}`,
        headers: { authorization: k.auth },
      });
      expect(gone.statusCode).toBe(204);
    });

    it('lists only the caller’s workspaces; another member gets 404 for them; admins see all', async () => {
      const ws = await k.create(k.repo('other'));
      const stranger = await k.t.user('member');
      const strangerAuth = await k.t.bearer(stranger);
      const admin = await k.t.user('admin');
      const adminAuth = await k.t.bearer(admin);
      const get = (url: string, auth: string) =>
        k.t.app.inject({ method: 'GET', url, headers: { authorization: auth } });
      expect((await get(`/api/v1/workspaces/${ws.id}`, strangerAuth)).statusCode).toBe(404);
      expect((await get(`/api/v1/workspaces/${ws.id}/files/`, strangerAuth)).statusCode).toBe(404);
      expect((await get('/api/v1/workspaces', strangerAuth)).json().items).toEqual([]);
      expect((await get(`/api/v1/workspaces?owner=${k.owner.id}`, strangerAuth)).statusCode).toBe(403);
      expect((await get(`/api/v1/workspaces/${ws.id}`, adminAuth)).statusCode).toBe(200);
      const all = (await get('/api/v1/workspaces?owner=all', adminAuth)).json().items as { id: string }[];
      expect(all.map((w) => w.id)).toContain(ws.id);
      await k.settle(ws.id);
    });
  },
);
