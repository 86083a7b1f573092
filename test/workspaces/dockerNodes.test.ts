// Several Docker hosts: two daemons on this machine (the test daemon and one started here), each
// configured as a node with room for one workspace. Placement spreads workspaces over them,
// refuses a third with a sentence, and GET /api/v1/nodes shows both with their use.
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeItem } from '../../sdk/nodeWire.js';
import { type ExtraDockerd, startExtraDockerd } from '../support/dockerDaemons.js';
import { ensureWorkspaceImage } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const MAIN_SOCKET = '/var/run/docker.sock';

describe('docker driver on two nodes', () => {
  let second: ExtraDockerd;
  let k: WorkspaceKit;
  let adminAuth: string;
  let appId = '';

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
        nodes: [
          { name: 'a', docker: { socketPath: MAIN_SOCKET }, capacity: { maxWorkspaces: 1 } },
          { name: 'b', docker: { socketPath: second.socketPath }, capacity: { maxWorkspaces: 1 } },
        ],
      },
    });
    adminAuth = await k.t.bearer(await k.t.user('admin'));
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

  it('places two workspaces on different nodes, and refuses a third with a sentence', async () => {
    const first = await k.settle((await k.create(k.repo('app'))).id);
    appId = first.id;
    const other = await k.settle((await k.create(k.repo('other'))).id);
    expect(first.status, first.statusReason ?? '').toBe('running');
    expect(other.status, other.statusReason ?? '').toBe('running');
    const nodeOf = async (id: string) =>
      JSON.parse((await k.t.services.workspaces.byId(id))?.runtime_ref ?? '{}').node as string;
    expect([await nodeOf(first.id), await nodeOf(other.id)].sort()).toEqual(['a', 'b']);
    // Each really runs on its own daemon, with its agent connected through the bound socket.
    const onB = new Docker({ socketPath: second.socketPath });
    const installation = k.t.config.runtime.docker.installation;
    const bId = (await nodeOf(first.id)) === 'b' ? first.id : other.id;
    expect((await onB.getContainer(`rc-${installation}-${bId}`).inspect()).State.Running).toBe(true);
    expect((await k.exec(bId, ['cat', '/workspace/README.md'])).exitCode).toBe(0);

    const third = await k.settle((await k.create(k.repo('third'))).id);
    expect(third.status).toBe('failed');
    expect(third.statusReason).toMatch(
      /^No Docker node has room for a workspace of .*; stop a workspace or add a node\.$/,
    );
  });

  it('GET /api/v1/nodes shows both nodes, healthy, with one workspace each', async () => {
    const items = await nodes();
    expect(items.map((n) => n.name)).toEqual(['a', 'b']);
    for (const node of items) {
      expect(node).toMatchObject({
        driver: 'docker',
        healthy: true,
        capacity: { cpu: null, memoryBytes: null, maxWorkspaces: 1 },
        used: { workspaces: 1, running: 1 },
      });
      expect(node.used.memoryBytes).toBeGreaterThan(0);
      expect(node.host?.cpu).toBeGreaterThan(0);
    }
    const member = await k.t.app.inject({
      method: 'GET',
      url: '/api/v1/nodes',
      headers: { authorization: k.auth },
    });
    expect(member.statusCode).toBe(403);
  });

  it('a deleted workspace frees its node for the next one', async () => {
    await k.t.services.runtime.service.remove(appId, { keepVolume: false });
    expect((await nodes()).map((n) => n.used.workspaces).sort()).toEqual([0, 1]);
    const again = await k.settle((await k.create(k.repo('app'))).id);
    expect(again.status, again.statusReason ?? '').toBe('running');
    expect((await nodes()).map((n) => n.used.workspaces)).toEqual([1, 1]);
  });
});
