// Several Docker hosts: two daemons on this machine (the test daemon and one started here), each
// configured as a node with room for two small workspaces, beside a node whose daemon does not
// answer and a cordoned one. Placement packs node a to capacity, then b, gives the other two
// nothing and refuses the next workspace with the sentence naming every node's shortfall; GET
// /api/v1/nodes shows the capacity it enforces and what the workspaces reserve.
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeItem } from '../../sdk/nodeWire.js';
import { type ExtraDockerd, startExtraDockerd } from '../support/dockerDaemons.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const MAIN_SOCKET = '/var/run/docker.sock';
const MiB = 2 ** 20;

describe('docker driver on two nodes', () => {
  let second: ExtraDockerd;
  let k: WorkspaceKit;
  let adminAuth: string;
  let others: string[] = [];
  const placed: Array<{ id: string; node: string }> = [];
  const gone = join('/run', `rc-no-docker-${process.pid}.sock`);

  beforeAll(async () => {
    second = await startExtraDockerd('nodes-b');
    // The image is built on each daemon (the second keeps it in its data root between runs).
    const [image, imageOnB] = await Promise.all([
      ensureWorkspaceImage(),
      ensureWorkspaceImage({ docker: second.socketPath }),
    ]);
    expect(imageOnB).toBe(image);
    k = await startWorkspaceKit({
      flags: {
        'runtime.driver': 'docker',
        // Small workspaces and small nodes: two fit on each.
        'isolation.resourceLimits': { cpu: '0.5', memory: '256M', disk: '1G' },
        'pooling.maxTasksPerInstance': 5,
        nodes: [
          // Listed first and empty: were they eligible, config order would pick them. The
          // drained one is the test daemon again, under another name.
          { name: 'down', docker: { socketPath: gone } },
          { name: 'drained', docker: { socketPath: MAIN_SOCKET }, cordoned: true },
          { name: 'a', docker: { socketPath: MAIN_SOCKET }, capacity: { cpu: '1', memory: '1G' } },
          { name: 'b', docker: { socketPath: second.socketPath }, capacity: { cpu: '2', maxWorkspaces: 2 } },
        ],
      },
    });
    adminAuth = await k.t.bearer(await k.t.user('admin'));
    others = [await k.t.bearer(await k.t.user('member')), await k.t.bearer(await k.t.user('member'))];
  }, 20 * 60_000);

  afterAll(async () => {
    await k?.close();
    await second?.stop();
  }, 120_000);

  const nodes = async (): Promise<NodeItem[]> => {
    const res = await k.t.app.inject({
      method: 'GET',
      url: '/api/v1/nodes',
      headers: { authorization: adminAuth },
    });
    expect(res.statusCode).toBe(200);
    return res.json().items;
  };
  const nodeOf = async (id: string) =>
    JSON.parse((await k.t.services.workspaces.byId(id))?.runtime_ref ?? '{}').node as string;

  it('packs node a to capacity, then b, and refuses the next with the sentence', async () => {
    // One after another, as placement sees them: each start settles before the next create.
    const who = [k.auth, k.auth, others[0], others[0]] as string[];
    const repos = ['app', 'other', 'app', 'other'];
    for (let i = 0; i < 4; i++) {
      const ws = await k.settle((await k.create(k.repo(repos[i] as string), who[i])).id, who[i]);
      expect(ws.status, ws.statusReason ?? '').toBe('running');
      placed.push({ id: ws.id, node: await nodeOf(ws.id) });
    }
    expect(placed.map((p) => p.node)).toEqual(['a', 'a', 'b', 'b']);
    // Each really runs on its own daemon, with its agent connected through the bound socket.
    const onB = new Docker({ socketPath: second.socketPath });
    const installation = k.t.config.runtime.docker.installation;
    const bId = placed[2]?.id as string;
    expect((await onB.getContainer(`rc-${installation}-${bId}`).inspect()).State.Running).toBe(true);
    expect((await k.exec(bId, ['cat', '/workspace/README.md'])).exitCode).toBe(0);

    const fifth = await k.settle((await k.create(k.repo('app'), others[1])).id, others[1]);
    // No room is not a failure: it is stopped again with the sentence, for the queue to retry.
    expect(fifth.status).toBe('stopped');
    expect(fifth.statusReason).toBe(
      'No node has room for a workspace of 0.5 CPU and 256 MiB: ' +
        `down does not answer (The Docker daemon on node down does not answer at unix://${gone} (ENOENT)); ` +
        'drained is cordoned (nodes[].cordoned); a has 1 of 1 CPU reserved; b has 2 of 2 workspaces.',
    );
  });

  it('GET /api/v1/nodes shows the capacity placement enforces and what the workspaces reserve', async () => {
    const items = await nodes();
    expect(items.map((n) => n.name)).toEqual(['down', 'drained', 'a', 'b']);
    const [down, drained, a, b] = items as [NodeItem, NodeItem, NodeItem, NodeItem];
    expect(down).toMatchObject({ healthy: false, used: { workspaces: 0 } });
    // It is the test daemon again (a third dockerd costs minutes), so it shows a's containers.
    expect(drained).toMatchObject({ healthy: true, cordoned: true });
    expect(a).toMatchObject({
      healthy: true,
      cordoned: false,
      capacity: { cpu: 1, memoryBytes: 1024 * MiB, maxWorkspaces: 5 },
      used: { cpu: 1, memoryBytes: 512 * MiB, workspaces: 2, running: 2 },
    });
    // b sets no memory: the machine's own, as docker info reports it.
    expect(b.capacity).toEqual({ cpu: 2, memoryBytes: b.host?.memoryBytes, maxWorkspaces: 2 });
    expect(b.used).toEqual({ cpu: 1, memoryBytes: 512 * MiB, workspaces: 2, running: 2 });
    const member = await k.t.app.inject({
      method: 'GET',
      url: '/api/v1/nodes',
      headers: { authorization: k.auth },
    });
    expect(member.statusCode).toBe(403);
  });

  it('a stopped workspace frees its room, and its start is refused while another holds it', async () => {
    const [first] = placed as [{ id: string; node: string }];
    await k.t.services.runtime.service.stop(first.id);
    expect((await nodes())[2]?.used).toMatchObject({ cpu: 0.5, workspaces: 1, running: 1 });
    // The room on a goes to the next new workspace …
    const next = await k.settle((await k.create(k.repo('other'), others[1])).id, others[1]);
    expect(next.status, next.statusReason ?? '').toBe('running');
    expect(await nodeOf(next.id)).toBe('a');
    // … so the stopped one, whose files are on a, cannot start there now.
    const start = await k.t.app.inject({
      method: 'POST',
      url: `/api/v1/workspaces/${first.id}/start`,
      headers: { authorization: k.auth },
    });
    expect(start.statusCode, start.body).toBeLessThan(300);
    const again = await k.settle(first.id);
    expect(again.status).toBe('stopped');
    expect(again.statusReason).toBe(
      'Node a, which holds this workspace, has no room for a workspace of 0.5 CPU and 256 MiB: a has 1 of 1 CPU reserved.',
    );
    // Once the newcomer is deleted, it starts again on its node.
    await k.t.services.runtime.service.remove(next.id, { keepVolume: false });
    await k.t.app.inject({
      method: 'POST',
      url: `/api/v1/workspaces/${first.id}/start`,
      headers: { authorization: k.auth },
    });
    const back = await k.settle(first.id);
    expect(back.status, back.statusReason ?? '').toBe('running');
    expect(await nodeOf(first.id)).toBe('a');
  });
});
