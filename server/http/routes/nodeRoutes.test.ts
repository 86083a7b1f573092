import { availableParallelism, totalmem } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeList } from '../../../sdk/nodeWire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';

describe.each(engines)('GET /api/v1/nodes on the local driver (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows this machine as the one node "local", with the capacity its placement enforces and what its running boxes reserve', async () => {
    const owner = await t.user('member');
    for (const [id, status] of [
      ['ws-run', 'running'],
      ['ws-stopped', 'stopped'],
    ] as const) {
      await t.services.workspaces.createOrGet({
        id,
        ownerId: owner.id,
        repository: `https://git.example.test/acme/${id}`,
        name: id,
        driver: 'local',
        cpu: 1.5,
        memoryBytes: 2 ** 30,
        pids: 64,
      });
      await t.services.workspaces.transition(id, ['pending'], status);
    }
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/nodes',
      headers: { authorization: await t.bearer(await t.user('admin')) },
    });
    expect(res.statusCode).toBe(200);
    const host = { cpu: availableParallelism(), memoryBytes: totalmem() };
    expect((res.json() as NodeList).items).toEqual([
      {
        name: 'local',
        driver: 'local',
        healthy: true,
        // The host's size, and pooling.maxTasksPerInstance workspaces.
        capacity: { ...host, maxWorkspaces: t.config.pooling.maxTasksPerInstance },
        host,
        // What runs is what the driver's boxes say, as placement counts it: rows whose status
        // says running without a box reserve nothing (localDriver.test.ts has boxes that do).
        used: { cpu: 0, memoryBytes: 0, workspaces: 0, running: 0 },
      },
    ]);
  });
});
