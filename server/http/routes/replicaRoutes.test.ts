import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaList } from '../../../sdk/replicaWire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import { ManualClock } from '../../clock.js';
import { ReplicaRegistry } from '../../cluster/replicaRegistry.js';
import { SCHEMA_VERSION } from '../../cluster/schemaVersion.js';
import { packageVersion } from '../../packageVersion.js';
import { AgentConnectionStore } from '../../store/agentConnectionStore.js';

describe.each(engines)('GET /api/v1/replicas (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
    await t.services.replicas.start('http://10.0.0.1:8080');
  });
  afterAll(async () => {
    await t?.services.replicas.stop();
    await t?.close();
  });

  const get = async (role: 'admin' | 'member') =>
    t.app.inject({
      method: 'GET',
      url: '/api/v1/replicas',
      headers: { authorization: await t.bearer(await t.user(role)) },
    });

  it('is for admins: a member gets 403', async () => {
    const res = await get('member');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('lists this replica with its address, version, schema version, heartbeat and agents', async () => {
    const res = await get('admin');
    expect(res.statusCode).toBe(200);
    const now = t.clock.now().toISOString();
    expect((res.json() as ReplicaList).items).toEqual([
      {
        id: t.services.replicas.id,
        address: 'http://10.0.0.1:8080',
        version: packageVersion(),
        schemaVersion: SCHEMA_VERSION,
        startedAt: now,
        heartbeatAt: now,
        alive: true,
        agents: 0,
        self: true,
      },
    ]);
  });

  it.runIf(engine === 'postgres')(
    'shows the other replicas and the agents each holds; a dead one is gone after the next heartbeat',
    async () => {
      const other = new ReplicaRegistry({
        db: t.services.db,
        clock: new ManualClock(t.clock.now()),
        log: pino({ level: 'silent' }),
        version: '0.0.1',
        heartbeatMs: 5_000,
        agents: () => 7,
        agentConnections: new AgentConnectionStore(t.services.db, t.clock),
      });
      await other.start('http://10.0.0.2:8080');
      const both = (await get('admin')).json() as ReplicaList;
      expect(both.items.map((r) => [r.address, r.agents, r.alive, r.self])).toEqual([
        ['http://10.0.0.1:8080', 0, true, true],
        ['http://10.0.0.2:8080', 7, true, false],
      ]);

      // 16 s on, this replica has beaten and the other has not.
      t.clock.advance(16_000);
      await t.services.replicas.beat();
      const res = await get('admin');
      expect((res.json() as ReplicaList).items.map((r) => r.address)).toEqual(['http://10.0.0.1:8080']);
      await other.stop();
    },
  );
});
